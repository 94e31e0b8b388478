"""Posterior sampling: against the closed-form Gaussian posterior of a linear generator."""

import pytest
import torch

import ganprior
from ganprior import operators as ops


def linear_prior(k=3, n=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    lin = torch.nn.Linear(k, n, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(n, k, generator=gen, dtype=torch.float64) / 2)
    return ganprior.Generator(lin, latent_shape=k), lin.weight.detach()


def test_samples_match_the_closed_form_posterior_of_a_linear_prior():
    # x = W z, z ~ N(0, I), y = A x + N(0, s^2 I): z | y ~ N(mu, S), S = (I + M^T M / s^2)^-1, mu = S M^T y / s^2
    G, W = linear_prior()
    A = ops.Gaussian(6, n=16, seed=1, dtype=torch.float64)
    s = 0.3
    y = A(W @ torch.tensor([0.5, -1.0, 0.8], dtype=torch.float64)) + s * torch.randn(
        6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    M = A.matrix @ W
    S = torch.linalg.inv(torch.eye(3, dtype=torch.float64) + M.T @ M / s**2)
    mu = S @ M.T @ y / s**2
    # the default step is 0.2 / L; the slowest direction (the prior's, curvature 1) needs about 3 / step steps
    res = ganprior.sample_posterior(y, A, G, s, restarts=1000, steps=10000, levels=2, seed=0)
    assert res.info["lr"] < 2e-3 and res.info["settings"]["lr"] == res.info["lr"]
    assert res.samples.shape == (1000, 16) and res.mean.shape == (16,) and res.std.shape == (16,)
    x_cov = W @ S @ W.T
    # Monte Carlo error of the mean: std / sqrt(1000) ~ 3% of the std; the Langevin bias is O(step)
    sd = x_cov.diagonal().sqrt()
    assert float(((res.mean - W @ mu).abs() / sd).max()) < 0.15
    assert float((res.mean - W @ mu).norm() / (W @ mu).norm()) < 0.05
    torch.testing.assert_close(res.std, sd, rtol=0.1, atol=0)
    # negative control: the same check fails when the Langevin noise is twice too large (temperature 4)
    from ganprior.solvers.latent import Samples, UpdateRule, optimize_latents
    from ganprior.solvers.posterior import PosteriorObjective

    obj = PosteriorObjective(y[None], A, G, s, levels=2)
    # (2000 steps: the hot chain's spread is already 1.96-2.09x the posterior's, as after 10000)
    hot = optimize_latents(obj, G, 1, restarts=1000, steps=2000, optimizer=UpdateRule("langevin", temperature=4.0),
                           lr=1.0, seed=0, reduce=Samples(burn_in=2000))
    ratio = hot.samples[0].std(dim=0) / sd
    assert float(ratio.min()) > 1.5  # about 2x: the 10% tolerance above would catch it


def test_batch_equals_separate_calls_and_errors():
    G, W = linear_prior()
    A = ops.Gaussian(6, n=16, seed=1, dtype=torch.float64)
    y = torch.randn(2, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    both = ganprior.sample_posterior(y, A, G, 0.3, restarts=4, steps=50, seed=[7, 8])
    for p in range(2):
        alone = ganprior.sample_posterior(y[p], A, G, 0.3, restarts=4, steps=50, seed=7 + p)
        torch.testing.assert_close(both.samples[p], alone.samples, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="'noise_std' parameter of PosteriorObjective must be a real number > 0.0"):
        ganprior.sample_posterior(y, A, G, 0.0)
    with pytest.raises(ValueError, match="'restarts' parameter of sample_posterior must be an int >= 2"):
        ganprior.sample_posterior(y, A, G, 0.3, restarts=0)
    with pytest.raises(FloatingPointError, match="non-finite loss"):
        ganprior.sample_posterior(y, A, G, 0.3, restarts=2, steps=50, lr=1e3, levels=1, seed=0)
