"""
Compressed sensing of MNIST digits in ten lines
===============================================

A digit has :math:`n = 784` pixels.  We measure each one with only :math:`m = 100` random linear
combinations of its pixels, plus a little noise, and recover it with the bundled MNIST prior
(CSGM, [Bora2017]_) and with the Lasso in the pixel basis.
"""

# %%
# The ten lines
# -------------
# ``load_prior`` returns a :class:`~ganprior.Generator` that makes ``(1, 28, 28)`` images in
# :math:`[0, 1]`; ``load_sample`` the first 300 MNIST test digits, which the prior never saw.
# :class:`~ganprior.operators.Gaussian` draws :math:`A_{ij} \sim \mathcal{N}(0, 1/m)` and the noise has
# norm about 0.1, as in the paper.

import torch

import ganprior
from ganprior.data import load_sample
from ganprior.plotting import recovery_grid

G = ganprior.load_prior("mnist")
x = load_sample("mnist_test300")[:8]  # (8, 1, 28, 28)
A = ganprior.operators.Gaussian(m=100, in_shape=G.image_shape, seed=0)
y = A(x) + 0.1 / 100**0.5 * torch.randn(8, 100, generator=torch.Generator().manual_seed(1))
x_csgm = ganprior.recover(y, A, G, seed=0)  # the prior's validated recipe (see ganprior.priors.recipe_for)
x_lasso = ganprior.recover(y, A, method="lasso")
recovery_grid([("truth", x), ("CSGM", x_csgm), ("Lasso", x_lasso)])

# %%
# ``y`` holds eight problems, one per row, and ``recover`` solved them together: all eight digits
# and their five random restarts were one batch of 40 latents for the optimiser, with the generator
# run in bfloat16 where the CPU computes it natively (the recipe's ``precision``, "bf16 where native":
# about twice as fast there; float32 on a CPU without it, e.g. AVX2).  ``y`` was a torch
# tensor, so the results are tensors too (a NumPy ``y`` gives NumPy results).
#
# With 100 measurements of 784 pixels the Lasso cannot tell a digit from the many sparse images
# that explain the measurements as well; the prior knows what digits look like.  The per-pixel
# mean squared error, the paper's metric (an all-black image scores about 0.118):

err_csgm = ganprior.metrics.mse(x_csgm, x)
err_lasso = ganprior.metrics.mse(x_lasso, x)
print(f"per-pixel MSE   CSGM {err_csgm.mean():.4f}   Lasso {err_lasso.mean():.4f}")

# %%
# What the solver did
# -------------------
# ``return_result=True`` returns a :class:`~ganprior.RecoveryResult` with the chosen latents, each
# problem's measurement error :math:`\|y - AG(\hat z)\|^2`, the restart it came from, and the loss
# of every restart at every step.  We solve the first two digits again, asking for the details;
# with the same seed their restarts start from the same latents as in the batch above.

res = ganprior.recover(y[:2], A, G, restarts=5, seed=0, history=True, return_result=True)
print("settings used:", res.info["settings"])
print("where each came from:", res.info["source"])
print("chosen restart per digit:", res.restart.tolist())
print("measurement error per digit:", [round(v, 3) for v in res.measurement_error.tolist()])

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
for r in range(res.history.shape[1]):
    ax.semilogy(res.history[0, r], label=f"restart {r}" + (" (chosen)" if r == res.restart[0] else ""))
ax.set_xlabel("Adam step")
ax.set_ylabel(r"$\|y - AG(z)\|^2$")
ax.set_title("the five restarts of the first digit")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The restarts end at different losses: the objective is not convex in :math:`z`, and some starts
# get stuck.  Keeping the restart with the lowest measurement error is what makes restarts pay.
# The paper's MNIST settings (10 restarts x 1000 Adam steps, lr 0.01) are available as
# ``preset="bora2017"``; the bundled prior's recipe (10 x 300 steps, cosine step size from 0.3,
# bf16, :math:`\lambda` chosen per :math:`m` on validation digits) is both faster and more accurate
# with our priors, so it is what ``recover`` uses for every setting the caller leaves unset.
