"""
Photon counts: Poisson noise at low light
=========================================

A camera in low light, a fluorescence microscope or a PET scanner counts photons.  The count of a
measurement with expected intensity :math:`(Ax)_i` is Poisson,

.. math:: y_i \\sim \\mathrm{Poisson}(\\phi\\, (Ax)_i), \\qquad A \\ge 0,

with :math:`\\phi` the expected count of a white pixel: the noise is not additive, its variance equals the
mean, and at a few photons per pixel most counts are 0, 1 or 2.  We denoise eight MNIST test digits imaged at
:math:`\\phi = 10` photons per pixel (:math:`A` the identity), then at other light levels, with CSGM under
the Poisson likelihood, with CSGM under least squares on the rescaled counts :math:`y / \\phi` (the Gaussian
approximation), and with the classical baseline, the Poisson likelihood plus total variation over
:math:`x \\ge 0` (``"poisson-tv"``, in the spirit of SPIRAL-TAP [Harmany2012]_).
"""

# %%
# The Poisson deviance
# --------------------
# :class:`~ganprior.likelihoods.Poisson` is the model: ``A.measure(x, Poisson(photons=10), seed=...)`` draws
# the counts, and its data term, which CSGM minimises over :math:`\lambda = \phi\, A G(z)`, is the Poisson
# **deviance**
#
# .. math:: d(\lambda, y) = \lambda - y + y \log\frac{y}{\lambda} \quad (0 \log 0 = 0),
#
# the negative log-likelihood :math:`\lambda - y\log\lambda + \log y!` minus its minimum (at
# :math:`\lambda = y`): zero for a perfect fit, and free of the constant :math:`\log y!`.  Near that minimum
#
# .. math:: d(\lambda, y) \approx \frac{(y - \lambda)^2}{2y},
#
# a least-squares term weighted by the inverse variance of each count.  The Gaussian approximation goes one
# step further and gives every pixel the same variance: least squares on :math:`y/\phi`.  With the latents'
# prior :math:`z \sim \mathcal N(0, I)`, the MAP estimate under the Poisson model weighs :math:`\|z\|^2` by
# ``lam = 1/2``; a pixel of intensity :math:`u` has deviance about :math:`\phi/(2u)` times its squared error
# in :math:`y/\phi`, which is :math:`\phi` at :math:`u = 1/2`, so least squares gets ``lam = 1/(2 photons)``
# for the same balance.  The prior is the bundled :math:`\beta`-VAE ``"mnist-bvae"`` with its recipe's engine
# settings; Poisson-TV runs with its default weight.

import time

import torch

import ganprior
from ganprior.data import load_sample
from ganprior.likelihoods import Poisson
from ganprior.metrics import mse
from ganprior.plotting import recovery_grid

G = ganprior.load_prior("mnist-bvae")
x = load_sample("mnist_test300")[:8]  # (8, 1, 28, 28) in [0, 1]
A = ganprior.operators.Identity(G.image_shape)  # every pixel measured once


def solve_all(photons):
    """The counts at this light level and each method's images, with their run times."""
    model = Poisson(photons=photons)
    y = A.measure(x, model, seed=photons)  # (8, 784) integer counts
    calls = {
        "CSGM, Poisson": lambda: ganprior.recover(y, A, G, likelihood=model, lam=0.5, seed=0),
        "CSGM, least squares": lambda: ganprior.recover(y / photons, A, G, method="csgm", lam=0.5 / photons, seed=0),
        "Poisson-TV": lambda: ganprior.recover(y, A, method="poisson-tv", likelihood=model, image_shape=G.image_shape),
    }
    images, seconds = {"counts / photons": (y / photons).reshape(x.shape)}, {"counts / photons": 0.0}
    for label, call in calls.items():
        start = time.perf_counter()
        images[label] = torch.as_tensor(call(), dtype=x.dtype)
        seconds[label] = time.perf_counter() - start
    return y, images, seconds


y, images, seconds = solve_all(10)
zero = float((y == 0).float().mean())
print(f"10 photons per pixel: {zero:.0%} of the counts are 0, the largest is {int(y.max())}")
print(f"{'method':>20}  {'per-pixel MSE':>13}  {'seconds':>7}")
for label, x_hat in images.items():
    print(f"{label:>20}  {float(mse(x_hat, x).mean()):13.5f}  {seconds[label]:7.1f}")

recovery_grid([("truth", x), *((label, v.clamp(0, 1)) for label, v in images.items())])

# %%
# When the Gaussian approximation fails
# -------------------------------------
# The expansion above needs many counts per measurement: it is the central limit theorem for one Poisson
# variable, whose skewness is :math:`1/\sqrt\lambda`.  At low counts it fails in two ways that matter here.
# A zero count is the most common measurement of a dark background, and its deviance is :math:`d(\lambda, 0)
# = \lambda`: linear, not quadratic, and steep in units of :math:`y/\phi` -- any light the estimate puts where
# nothing was counted costs :math:`\phi` per unit of intensity, while least squares charges only the square
# of a small number.  And the variance of a count is its mean, so a bright stroke is noisier than the dark
# background; least squares gives both the same weight and lets the noise of the strokes pull at the
# background.  At high counts the two objectives agree up to that weighting, and both are then limited by how
# well the prior represents the digit (its representation error), where a prior-free method can pass them.
# The same three methods at other light levels (one draw of counts each):

print(f"{'photons':>7}  " + "  ".join(f"{label:>20}" for label in images))
for photons in (1, 3, 10, 100):
    at_level = images if photons == 10 else solve_all(photons)[1]
    print(f"{photons:>7}  " + "  ".join(f"{float(mse(v, x).mean()):20.5f}" for v in at_level.values()))

# %%
# With this prior and these fixed weights the Poisson likelihood comes out ahead at low light, where zero
# counts dominate.  As the light grows the two data terms agree up to their weights (at the highest level
# least squares, whose equal weights are those of the per-pixel error, may come out ahead), and the prior's
# own limits take over: the total-variation baseline, which has no range to stay in, keeps improving with the
# counts, as the Lasso overtakes CSGM at large :math:`m` in
# :ref:`the error curve <sphx_glr_auto_tutorials_plot_02_error_curve.py>`.  On 300 digits with each method's
# prior and :math:`\lambda` validated (:doc:`/user_guide/measurements`), least squares on :math:`y/\phi` is
# the better loss for CSGM at 10 and at 100 photons: on the prior's range the deviance's steep price on light in
# the dark background is paid in stroke error.  ILO (``method="ilo"``), the remedy of
# :ref:`sphx_glr_auto_tutorials_plot_07_beyond_range.py`, takes the Poisson likelihood too and is the best
# method there at both levels.
