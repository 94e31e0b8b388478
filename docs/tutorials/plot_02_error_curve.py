"""
The error-vs-measurements curve
===============================

The central figure of [Bora2017]_: reconstruction error against the number of measurements
:math:`m`, for the GAN prior and for the sparse baselines.  We draw a reduced version (ten digits,
four values of :math:`m`, few optimiser steps) and read it.
"""

# %%
# The experiment
# --------------
# For every :math:`m` a fresh Gaussian matrix measures the ten digits, with noise of norm 0.1.
# Each method recovers all ten in one call; we keep the mean per-pixel error and a 95% confidence
# half-width :math:`1.96\,\sigma / \sqrt{N}` over the images.  CSGM runs 4 restarts of 300 Adam
# steps whose size decays from 0.3 to 0 along a cosine (``schedule="cosine"``: large early steps
# escape poor starts, small late steps settle), with ``lam=0.1`` on :math:`\|z\|^2` and the generator
# in bfloat16 -- settings chosen on validation digits from the training split, which help most at
# small :math:`m`.

import math
import warnings

import torch
from sklearn.exceptions import ConvergenceWarning

import ganprior
from ganprior.data import load_sample
from ganprior.plotting import error_curves

# At small m scikit-learn may stop its coordinate descent a little short of its tolerance; the
# result is still the Lasso's, so we silence that warning.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

G = ganprior.load_prior("mnist")
x = load_sample("mnist_test300")[:10]
N = x.shape[0]


def summarise(method, m, x_hat):
    err = ganprior.metrics.mse(x_hat, x)
    return {"method": method, "m": m, "mean": float(err.mean()), "ci95": float(1.96 * err.std() / math.sqrt(N))}


summary = []
for m in (25, 50, 100, 200):
    A = ganprior.operators.Gaussian(m, in_shape=G.image_shape, seed=m)
    noise = 0.1 / math.sqrt(m) * torch.randn(N, m, generator=torch.Generator().manual_seed(1000 + m))
    y = A(x) + noise
    x_csgm = ganprior.recover(y, A, G, lam=0.1, restarts=4, steps=300, lr=0.3, schedule="cosine", seed=0,
                              precision="auto")
    summary.append(summarise("CSGM (mnist prior)", m, x_csgm))
    for method in ("lasso", "lasso-dct"):
        summary.append(summarise(method, m, ganprior.recover(y, A, method=method)))

for row in summary:
    print(f"{row['method']:>20}  m={row['m']:>3}  MSE {row['mean']:.4f} +- {row['ci95']:.4f}")

# %%
# The prior's floor
# -----------------
# A generator cannot make every digit exactly.  Its *representation error*
# :math:`\min_z \frac1n\|G(z) - x\|^2` is what CSGM would reach with perfect measurements; the
# same search with the identity operator (:math:`m = n`, no noise) gives an estimate of it (an
# upper bound: the search may miss the best latent).

I = ganprior.operators.Identity(G.image_shape)
x_rep = ganprior.recover(I(x), I, G, restarts=4, steps=300, lr=0.3, schedule="cosine", seed=0, precision="auto")
floor = float(ganprior.metrics.mse(x_rep, x).mean())
print(f"representation error of the prior on these digits: {floor:.4f}")

fig = error_curves(summary, title="MNIST, 10 test digits, noise 0.1")
ax = fig.axes[0]
ax.axhline(floor, color="gray", ls="--", lw=1)
ax.text(26, floor * 1.08, "representation error of the prior", color="gray", fontsize=8)

# %%
# Reading the curve
# -----------------
# - **Small m: the prior wins.**  From about 50 measurements on, the GAN prior's error is a
#   fraction of the Lasso's: the prior only has to find a :math:`k`-dimensional latent, while the
#   Lasso needs :math:`m` to grow with the number of non-zero pixels or DCT coefficients.  Read
#   horizontally, the curves say how many measurements each method needs for a given error: the
#   paper reports 5 to 10 times fewer for CSGM.  At the very smallest :math:`m` every method is poor.
# - **Large m: the prior stalls.**  CSGM's error approaches the dashed line, the error of the best
#   image the generator can make, and cannot go below it: more measurements do not fix what the
#   prior cannot represent.  The Lasso keeps improving and, with enough measurements
#   (:math:`m \gtrsim 500` on MNIST, beyond this grid), overtakes it.
# - **Error bars** are 95% confidence intervals of the *mean* over only ten digits; the full
#   benchmark (``benchmarks/error_vs_measurements.py``) uses 300 digits, nine values of :math:`m`,
#   more restarts, and chooses each method's hyperparameters on separate validation images.
