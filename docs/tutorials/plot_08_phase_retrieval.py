"""
Phase retrieval: measurements without their signs
==================================================

In phase retrieval the detector records only the **magnitude** of each linear measurement,

.. math:: y_i = |a_i^T x| + \\eta_i, \\qquad i = 1, \\dots, m,

as in X-ray crystallography and coherent diffraction imaging, where the phase of a wave is lost.  The
problem is no longer linear, and the amplitude loss :math:`\\sum_i (|a_i^T x| - y_i)^2` is not convex.  We
recover eight MNIST test digits from :math:`m = 200` magnitudes -- a quarter of the :math:`n = 784` pixels --
with a generative prior (CSGM and ILO minimising that loss over the prior's range) and with the classical
baseline, truncated amplitude flow from a spectral initialisation [WangGE2018]_.
"""

# %%
# The measurements
# ----------------
# :class:`~ganprior.likelihoods.Magnitude` is the measurement model: ``A.measure(x, model, seed=...)``
# computes :math:`|Ax|` and adds Gaussian noise, here of norm about 0.1 per digit
# (``Magnitude.from_norm(0.1, m)``, the protocol of the least-squares tutorials).  Passing the same model
# to :func:`ganprior.recover` makes the method minimise its data term,
# :math:`\sum_i (|a_i^T G(z)| - y_i)^2 + \lambda \|z\|^2`, in place of :math:`\|y - AG(z)\|^2`.
#
# The prior is the bundled :math:`\beta`-VAE ``"mnist-bvae"``, whose latent space has :math:`k = 20`
# dimensions; :math:`\lambda = 0.1`.  Its recipe supplies the engine settings (10 restarts x 300 Adam steps).

import math
import time

import torch

import ganprior
from ganprior.data import load_sample
from ganprior.likelihoods import Magnitude
from ganprior.metrics import mse, mse_up_to_sign
from ganprior.plotting import recovery_grid

G = ganprior.load_prior("mnist-bvae")
x = load_sample("mnist_test300")[:8]  # (8, 1, 28, 28), digits the prior never saw
m, n = 200, x[0].numel()
A = ganprior.operators.Gaussian(m, in_shape=G.image_shape, seed=0)  # A_ij ~ N(0, 1/m)
model = Magnitude.from_norm(0.1, m)
y = A.measure(x, model, seed=1)  # (8, 200), y = |Ax| + eta

results, seconds = {}, {}
for name in ("csgm", "ilo"):
    start = time.perf_counter()
    results[name.upper()] = ganprior.recover(y, A, G, method=name, likelihood=model, lam=0.1, seed=0)
    seconds[name.upper()] = time.perf_counter() - start

# %%
# The classical baseline
# ----------------------
# ``method="amplitude-flow"`` starts from the spectral initialisation -- the leading eigenvector of
# :math:`\frac1m \sum_i y_i^2 a_i a_i^T`, whose expectation has :math:`\pm x / \|x\|` as its leading
# eigenvector -- and takes truncated gradient steps on the amplitude loss.  With ``sparsity`` each step keeps
# only the :math:`s` largest coefficients in a basis (SPARTA, [Wang2018]_).  Digits are sparse in the Haar
# wavelets; we take for :math:`s` the number of wavelet coefficients that hold 95% of the digits' energy on
# average (measured on the true digits, which a real experiment would not have: a generous choice).
# ``data_range=(0, 1)`` picks, of :math:`\hat x` and :math:`-\hat x`, the one closer to the pixel range, and
# clips to it.  The paper's step, 0.6, is made for :math:`m \gtrsim 2n`; at :math:`m = n/4` the largest
# squared singular value of :math:`A` is about :math:`(1 + \sqrt{n/m})^2`, and the library caps the step at
# :math:`2 \cdot 0.6 / \|A\|_2^2` so that the iteration cannot diverge.

haar = ganprior.operators.bases.get_basis("wavelet", G.image_shape).operator()
energy = haar(x.flatten(1)).pow(2).sort(dim=1, descending=True).values.cumsum(1)
s = int((energy < 0.95 * energy[:, -1:]).sum(1).float().mean().round()) + 1
print(f"wavelet coefficients holding 95% of a digit's energy: s = {s} (of n = {n})")

for label, options in (("amplitude flow", {}), (f"amplitude flow, s={s} wavelet", {"sparsity": s, "basis": "wavelet"})):
    start = time.perf_counter()
    results[label] = ganprior.recover(y, A, method="amplitude-flow", likelihood=model, image_shape=G.image_shape,
                                      data_range=(0.0, 1.0), **options)
    seconds[label] = time.perf_counter() - start

# %%
# Errors up to sign
# -----------------
# :math:`x` and :math:`-x` give exactly the same magnitudes, so no method can tell them apart from
# :math:`y`: the error of phase retrieval is measured up to a global sign,
# :func:`ganprior.metrics.mse_up_to_sign`, :math:`\min_{\pm} \frac1n \|\pm\hat x - x\|^2`.  A generative
# prior resolves the ambiguity by itself when its range is not symmetric: every image of ``mnist-bvae`` lies
# in :math:`[0, 1]`, so :math:`-x` is not in its range, and the plain errors of CSGM and ILO (whose images
# pass through the same last layer) equal their errors up to sign.  An all-black guess is printed as a
# yardstick.

print(f"{'method':>32}  {'MSE up to sign':>14}  {'plain MSE':>10}  {'seconds':>7}")
print(f"{'(all black)':>32}  {float(mse(torch.zeros_like(x), x).mean()):14.5f}")
for label, x_hat in results.items():
    x_hat = torch.as_tensor(x_hat, dtype=x.dtype)
    print(f"{label:>32}  {float(mse_up_to_sign(x_hat, x).mean()):14.5f}  {float(mse(x_hat, x).mean()):10.5f}"
          f"  {seconds[label]:7.1f}")

recovery_grid([("truth", x), *((label, torch.as_tensor(v).clamp(0, 1)) for label, v in results.items())])

# %%
# Why the prior needs far fewer measurements
# ------------------------------------------
# At :math:`m = 200` amplitude flow does little better than the all-black guess, with or without sparsity.
# Without a prior, real Gaussian phase retrieval needs :math:`m` of the order of :math:`n`: amplitude flow
# succeeds with high probability from about :math:`2n` to :math:`4n` measurements.  Sparsity helps less than
# in linear compressed sensing: no efficient algorithm for :math:`s`-sparse phase retrieval (SPARTA among them)
# is known to succeed with fewer than :math:`m \sim s^2 \log n` generic measurements, quadratic in :math:`s` (the
# spectral initialisation must find the support from second moments), although :math:`s \log n` would be
# enough information.  Hand, Leong & Voroninski [Hand2018]_ sidestep this with a generative prior: for a
# :math:`d`-layer ReLU network with :math:`k`-dimensional latents (and random weights, in their analysis), the
# amplitude loss over the latents has, from :math:`m \sim k d^2 \log n` Gaussian measurements on, a descent
# direction everywhere outside small neighbourhoods of the true latent and of a negative multiple of it --
# linear in :math:`k`, and gradient descent from a random start needs no spectral initialisation.  Ignoring
# constants and depth:

print(f"s^2 log n = {s**2 * math.log(n):.0f}   k log n = {math.prod(G.latent_shape) * math.log(n):.0f}   (m = {m})")

# %%
# The baseline's side of the crossing: amplitude flow without sparsity, with its default step, at larger
# :math:`m` (same protocol, one operator and noise draw per :math:`m`).  Once it succeeds it is limited only by
# the noise, not by a prior's representation error, and passes CSGM -- as the Lasso passes CSGM at large
# :math:`m` in linear compressed sensing.

for m_big in (800, 1600, 3200):
    A_big = ganprior.operators.Gaussian(m_big, in_shape=G.image_shape, seed=m_big)
    model_big = Magnitude.from_norm(0.1, m_big)
    y_big = A_big.measure(x, model_big, seed=m_big + 1)
    x_af = ganprior.recover(y_big, A_big, method="amplitude-flow", likelihood=model_big, image_shape=G.image_shape)
    err = float(mse_up_to_sign(x_af, x).mean())
    print(f"amplitude flow, m = {m_big:>4} = {m_big / n:.1f} n:  MSE up to sign {err:.2e}")

# %%
# Complex measurements
# --------------------
# In optics the measurements are complex, :math:`y_i = |a_i^H x|` with complex :math:`a_i`.
# :class:`~ganprior.operators.ComplexGaussian` draws :math:`A = (B + iC)/\sqrt{2m}`;
# :class:`~ganprior.likelihoods.Magnitude`, CSGM and ILO take it as they are (amplitude flow too).  For a
# real image only a global phase is lost, which for real :math:`x` is again its sign.

A_c = ganprior.operators.ComplexGaussian(m, in_shape=G.image_shape, seed=0)
y_c = A_c.measure(x, model, seed=1)
x_c = ganprior.recover(y_c, A_c, G, method="csgm", likelihood=model, lam=0.1, seed=0)
print(f"complex Gaussian A, m = {m}: CSGM MSE up to sign {float(mse_up_to_sign(x_c, x).mean()):.5f}")
