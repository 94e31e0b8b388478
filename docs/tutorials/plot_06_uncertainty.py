"""
How sure is the reconstruction?
===============================

A MAP estimate such as CSGM returns one image, even when the measurements are too few to pin the
image down.  :func:`ganprior.sample_posterior` samples the posterior of the latent given the
measurements (annealed Langevin dynamics, [Jalal2021]_) and returns the samples, their mean and
their per-pixel standard deviation: an **uncertainty map**.  We compare it at 25 and at 200
Gaussian measurements of four MNIST test digits.
"""

# %%
# Sampling the posterior
# ----------------------
# The noise has norm 0.1, i.e. standard deviation :math:`\sigma = 0.1/\sqrt m` per measurement,
# which is what ``noise_std`` takes.  Sixteen chains per digit run as one batch with the engine's
# Langevin rule; each chain contributes its last iterate.

import torch

import ganprior
from ganprior.data import load_sample
from ganprior.plotting import recovery_grid

G = ganprior.load_prior("mnist")
x = load_sample("mnist_test300")[:4]
results = {}
for m in (25, 200):
    A = ganprior.operators.Gaussian(m, in_shape=G.image_shape, seed=m)
    y = A(x) + 0.1 / m**0.5 * torch.randn(4, m, generator=torch.Generator().manual_seed(m))
    post = ganprior.sample_posterior(y, A, G, noise_std=0.1 / m**0.5, restarts=16, steps=1000, seed=0,
                                     precision="auto")
    lo, hi = post.samples.quantile(0.05, dim=1), post.samples.quantile(0.95, dim=1)
    coverage = float(((x >= lo) & (x <= hi)).float().mean())
    results[m] = post
    print(f"m = {m:>3}: posterior-mean MSE {float(ganprior.metrics.mse(post.mean, x).mean()):.4f}, "
          f"mean predicted std {float(post.std.mean()):.3f}, "
          f"true pixels inside the central 90% interval: {coverage:.0%}")

# %%
# The uncertainty maps
# --------------------
# Each column is a digit: the truth, the posterior mean, the per-pixel standard deviation (scaled
# to the brightest pixel of the row) and three samples.  With 25 measurements the samples disagree
# about the strokes -- they are different digits that explain the same measurements -- and the map
# lights up where they disagree; with 200 they agree, and so does the map.

for m, post in results.items():
    recovery_grid([("truth", x), (f"mean, m={m}", post.mean),
                   ("std (scaled)", post.std / post.std.amax()),
                   *[(f"sample {s}", post.samples[:, s]) for s in range(3)]])

# %%
# What the map says, and what it does not
# ---------------------------------------
# The standard deviation is the uncertainty *under the prior*: it is large where the images the
# generator can make disagree given the measurements.  It cannot see what the prior cannot make:
# where every sample agrees on a wrong stroke, the map is dark.  The step size, the annealing and the
# number of steps are documented in :class:`~ganprior.solvers.posterior.PosteriorObjective`; the
# tests check the sampler against the closed-form posterior of a linear generator.
