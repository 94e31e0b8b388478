"""
1-bit compressed sensing: one sign per measurement
==================================================

Quantise every measurement to a single bit, its sign:

.. math:: y_i = \\operatorname{sign}(a_i^T x) \\in \\{-1, +1\\}, \\qquad i = 1, \\dots, m.

One bit per measurement is the extreme of cheap analogue-to-digital conversion (a comparator against zero),
and it is robust to any gain of the sensor.  Each sign says on which side of the hyperplane
:math:`a_i^T v = 0` the image lies, so :math:`m` signs cut the space into cells and locate the **direction**
of :math:`x`, never its length.  We recover eight MNIST test digits from :math:`m = 500` signs with the
bundled MNIST prior (CSGM and ILO) and with binary iterative hard thresholding (BIHT, [Jacques2013]_) in the
Haar wavelet basis.
"""

# %%
# The measurements
# ----------------
# :class:`~ganprior.likelihoods.Sign` is the model: ``A.measure(x, Sign())`` returns the signs of
# :math:`Ax` (``Sign(flip=0.05)`` would flip 5% of them at random, a model of comparator errors).  Its data
# term is, by default, the one-sided hinge of BIHT,
#
# .. math:: \sum_{i=1}^m \max\big(0, -y_i\, a_i^T G(z)\big),
#
# zero for every image whose signs agree with :math:`y`, positive for each disagreeing sign in proportion to
# how far it is on the wrong side.  CSGM minimises it plus :math:`\lambda\|z\|^2` over the latents
# (``Sign(loss="logistic")`` is the smooth alternative).  The prior is the bundled DCGAN ``"mnist"``,
# :math:`\lambda = 0.1`, with its recipe's engine settings.

import time

import torch

import ganprior
from ganprior.data import load_sample
from ganprior.likelihoods import Sign
from ganprior.metrics import normalized_mse
from ganprior.plotting import recovery_grid

G = ganprior.load_prior("mnist")
x = load_sample("mnist_test300")[:8]  # (8, 1, 28, 28)
m, n = 500, x[0].numel()
A = ganprior.operators.Gaussian(m, in_shape=G.image_shape, seed=0)
model = Sign()
y = A.measure(x, model, seed=1)  # (8, 500) of +-1 (noiseless: the seed would draw the flips)

results, seconds = {}, {}
for name in ("csgm", "ilo"):
    start = time.perf_counter()
    results[name.upper()] = ganprior.recover(y, A, G, method=name, likelihood=model, lam=0.1, seed=0)
    seconds[name.upper()] = time.perf_counter() - start

# %%
# BIHT
# ----
# BIHT is projected subgradient descent on the same hinge: from :math:`x_0 \propto H_s(A^T y)` it steps
# along :math:`\tfrac12 A^T(y - \operatorname{sign}(Ax))` (a sum of the rows :math:`a_i` whose signs
# disagree), keeps the :math:`s` largest coefficients in the basis (:math:`H_s`), and rescales to unit norm.
# We give it the number of Haar wavelet coefficients that hold 95% of the digits' energy on average (measured
# on the true digits: a generous choice).  With :math:`m \gtrsim s \log(n/s)/\epsilon` signs BIHT finds the
# direction of an :math:`s`-sparse :math:`x` to within about :math:`\epsilon`; a generative prior with
# :math:`k`-dimensional latents replaces :math:`s \log(n/s)` by about :math:`k \log(\cdot)` of the generator's
# Lipschitz constant [Liu2020]_ [Qiu2020]_.

haar = ganprior.operators.bases.get_basis("wavelet", G.image_shape).operator()
energy = haar(x.flatten(1)).pow(2).sort(dim=1, descending=True).values.cumsum(1)
s = int((energy < 0.95 * energy[:, -1:]).sum(1).float().mean().round()) + 1

start = time.perf_counter()
results[f"BIHT, s={s} wavelet"] = ganprior.recover(y, A, method="biht", likelihood=model, image_shape=G.image_shape,
                                                   sparsity=s, basis="wavelet")
seconds[f"BIHT, s={s} wavelet"] = time.perf_counter() - start

# %%
# The scale is not identifiable
# -----------------------------
# :math:`\operatorname{sign}(A(cx)) = \operatorname{sign}(Ax)` for every :math:`c > 0`: the measurements
# are the same for a digit and for the same digit at half the brightness.  BIHT therefore returns unit-norm
# images, and the error is measured on images scaled to unit norm,
# :func:`ganprior.metrics.normalized_mse`: :math:`\frac1n \|\hat x/\|\hat x\| - x/\|x\|\|^2`, which is
# :math:`\frac2n (1 - \cos\theta)` for the angle :math:`\theta` between them.  Two yardsticks: an image
# orthogonal to the digit scores :math:`2/n`, and the one-step estimate :math:`A^T y` (BIHT's start without
# thresholding; Plan & Vershynin) is printed too.
#
# Nor do the latent methods estimate the brightness: the hinge is zero for every consistent image, so among
# the images of the prior's range that fit the signs nothing in :math:`y` prefers the right norm; the range
# (digits with strokes near 1 on black) and :math:`\lambda`, which pulls :math:`z` towards 0, decide it.  The
# column :math:`\|\hat x\| / \|x\|` shows what each method ended with (for BIHT :math:`1/\|x\|` by
# construction, for :math:`A^T y` an arbitrary scale).

results[r"one step A^T y"] = A.adjoint(y).reshape(x.shape)
seconds[r"one step A^T y"] = 0.0
norm_x = x.flatten(1).norm(dim=1)
print(f"{'method':>22}  {'normalised MSE':>14}  {'cos angle':>9}  {'|x_hat|/|x|':>11}  {'seconds':>7}")
print(f"{'(orthogonal image)':>22}  {2 / n:14.2e}  {0.0:9.3f}")
for label, x_hat in results.items():
    x_hat = torch.as_tensor(x_hat, dtype=x.dtype)
    err = normalized_mse(x_hat, x)
    cos = 1 - n * err / 2
    ratio = x_hat.flatten(1).norm(dim=1) / norm_x
    print(f"{label:>22}  {float(err.mean()):14.2e}  {float(cos.mean()):9.3f}  {float(ratio.mean()):11.2f}"
          f"  {seconds[label]:7.1f}")

# %%
# The pictures show each image divided by its largest pixel (the direction, at a common display scale);
# negative pixels are black.


def direction(v):
    v = torch.as_tensor(v, dtype=torch.float32)
    return (v / v.flatten(1).amax(1).clamp_min(1e-12)[:, None, None, None]).clamp(0, 1)


recovery_grid([("truth", direction(x)), *((label, direction(v)) for label, v in results.items())])

# %%
# 500 signs carry at most 500 bits, fewer than the 784 pixels of a digit; the prior turns them into a
# recognisable digit because it only has to choose among digits, and ILO, which may leave the prior's range
# within its box, sharpens the strokes.  BIHT, which only knows that the image is sparse in wavelets, improves
# on the linear estimate's direction but keeps the blocky artefacts of the Haar basis.  The hinge loss never
# rewards a larger :math:`\|G(z)\|` (it is zero on any consistent image), which is why it is the default of
# :class:`~ganprior.likelihoods.Sign`: the logistic loss keeps decreasing as a consistent image grows, and
# a generator whose range contains brighter images drifts towards them.
