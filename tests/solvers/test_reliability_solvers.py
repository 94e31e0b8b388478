"""Reliability of the solvers' newer paths (issue 39): a posterior sampler that cannot diverge and always ends at the
posterior's sigma, a discrepancy principle that runs the right way for every argument, TV only on images, and errors
that name the caller's own arguments (never an internal function's)."""

import inspect

import pytest
import torch
from conftest import relu_generator

import ganprior
from ganprior import operators as ops
from ganprior.solvers.posterior import PosteriorObjective

SHAPE = (1, 6, 6)


@pytest.fixture
def last_sigma(monkeypatch):
    """The sigma of the last Langevin step each call ran, recorded from the objective as the engine steps it."""
    seen = []
    on_step = PosteriorObjective.on_step

    def record(self, t, steps):
        on_step(self, t, steps)
        if t == steps - 1:
            seen.append(self.sigma)

    monkeypatch.setattr(PosteriorObjective, "on_step", record)
    return seen


def small_posterior_problem(noise_std):
    G = relu_generator(k=2, hidden=16, n=16, seed=0).to(torch.float64)
    A = ops.Gaussian(8, n=16, seed=1, dtype=torch.float64)
    x = G.generate(torch.randn(1, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)).detach()[0]
    y = A(x) + noise_std * torch.randn(8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    return y, A, G, x


# class 4 and 5: over eight decades of noise and every kind of schedule, samples stay within 100x the data range and
# the last step is at the posterior's own sigma -- or the call refuses, naming the argument.
@pytest.mark.parametrize("noise_std", [10.0 ** e for e in range(-4, 4)])
def test_sample_posterior_stays_bounded_and_ends_at_noise_std(noise_std, last_sigma):
    y, A, G, x = small_posterior_problem(noise_std)
    bound = 100 * float(x.abs().max())
    for levels, steps in [(1, 20), (5, 20), (10, 20), (20, 20), (10, 5), (3, 3), (2, 1), (None, 3)]:
        if levels is not None and levels > steps:
            with pytest.raises(ValueError, match=f"'levels' parameter of sample_posterior must be <= steps = {steps} "):
                ganprior.sample_posterior(y, A, G, noise_std, restarts=4, steps=steps, levels=levels, seed=0)
            continue
        del last_sigma[:]
        res = ganprior.sample_posterior(y, A, G, noise_std, restarts=4, steps=steps, levels=levels, seed=0)
        assert float(res.samples.abs().max()) < bound, (noise_std, levels, steps)
        assert last_sigma == [noise_std], (levels, steps)


def test_sample_posterior_with_a_huge_noise_std_samples_the_prior():
    # sigma = 1e30: the measurements say nothing; the posterior is the prior, z ~ N(0, I), x = G(z)
    y, A, G, x = small_posterior_problem(0.0)
    res = ganprior.sample_posterior(y, A, G, 1e30, restarts=200, steps=200, seed=0)
    prior = G.generate(torch.randn(20000, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64))
    assert bool(torch.isfinite(res.samples).all())
    # the prior's mean per pixel, within the Monte Carlo error of 200 samples (about 3 / sqrt(200) of its std)
    err = (res.mean - prior.mean(dim=0)).abs() / prior.std(dim=0)
    assert float(err.max()) < 0.35, err


def test_a_diverging_chain_names_the_step_size_argument_as_given(last_sigma):
    y, A, G, x = small_posterior_problem(0.3)
    with pytest.raises(FloatingPointError, match="lower 'lr'") as err:
        ganprior.sample_posterior(y, A, G, 0.3, restarts=2, steps=50, lr=1e3, levels=1, seed=0)
    assert "'step'" not in str(err.value)  # sample_posterior's own name, as the caller spelled it


def test_recover_langevin_refuses_a_schedule_that_ends_before_the_posterior(last_sigma):
    y, A, G, x = small_posterior_problem(0.1)
    with pytest.raises(ValueError, match=r"'levels' parameter of recover must be <= steps = 5 .*Got 10"):
        ganprior.recover(y, A, G, method="langevin", noise_std=0.1, steps=5, levels=10, restarts=2, seed=0)
    for levels in (None, 5, 2):  # the default, min(10, steps), and any levels <= steps end at noise_std
        ganprior.recover(y, A, G, method="langevin", noise_std=0.1, steps=5, levels=levels, restarts=2, seed=0)
    assert last_sigma == [0.1] * 3


def test_recover_langevin_needs_noise_std_and_refuses_settings_it_does_not_use():
    y, A, G, x = small_posterior_problem(0.1)
    with pytest.raises(ValueError, match="method='langevin' of recover needs 'noise_std'"):
        ganprior.recover(y, A, G, method="langevin", steps=20, restarts=2, seed=0)
    for given in ({"optimizer": "adam"}, {"schedule": "cosine"}, {"select": "total"}):
        (key, value), = given.items()
        with pytest.raises(ValueError, match=f"The '{key}' parameter of recover cannot be {value!r} with "
                                             "method='langevin'"):
            ganprior.recover(y, A, G, method="langevin", noise_std=0.1, steps=20, restarts=2, seed=0, **given)
    # the method's own values are accepted (and are what info reports)
    res = ganprior.recover(y, A, G, method="langevin", noise_std=0.1, steps=20, restarts=2, seed=0,
                           optimizer="langevin", schedule="constant", return_result=True)
    assert res.info["settings"]["optimizer"] == "langevin"


def test_sample_posterior_refuses_one_sample_whose_std_is_undefined():
    y, A, G, x = small_posterior_problem(0.1)
    with pytest.raises(ValueError, match="'restarts' parameter of sample_posterior must be an int >= 2"):
        ganprior.sample_posterior(y, A, G, 0.1, restarts=1, steps=5, levels=1)


# class 6: the discrepancy principle takes the most regularising admissible value, whichever way an argument runs
def test_discrepancy_for_ilo_takes_the_smallest_admissible_radius():
    # truth in the range of G, m < n and noise: radius 0 (CSGM) fits within the noise, as do the larger radii, whose
    # extra freedom fits the noise too.  The principle must take the smallest admissible radius, not the largest.
    G = relu_generator(k=2, hidden=24, n=36, seed=0)
    G = G.to(torch.float64)
    A = ops.Gaussian(18, n=36, seed=1, dtype=torch.float64)
    z = torch.randn(2, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x = G.generate(z).detach()
    sigma = 0.05
    y = A(x) + sigma * torch.randn(2, 18, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    kw = dict(restarts=2, steps=200, lr=0.05, schedule="constant", seed=0)
    res = ganprior.recover(y, A, G, method="ilo", radius="discrepancy", noise_std=sigma, choice="per-problem",
                           return_result=True, **kw)
    grid = res.info["selection"]["candidates"]
    assert grid == sorted(grid) and grid[0] == 0.0
    # the reference: each radius solved on its own, the smallest with ||y - A x||^2 <= 1.5 m sigma^2
    fits, errors = [], []
    for r in grid:
        xr = ganprior.recover(y, A, G, method="ilo", radius=r, **kw)
        fits.append((y - A(xr)).pow(2).sum(-1))
        errors.append((xr - x).pow(2).sum(-1))
    fits, errors = torch.stack(fits, 1), torch.stack(errors, 1)
    ok = fits <= 1.5 * 18 * sigma ** 2
    assert bool(ok.all(dim=1).all())  # every radius is admissible here: the direction alone decides
    assert res.info["selection"]["chosen"] == [grid[int(row.nonzero()[0])] for row in ok] == [0.0, 0.0]
    assert bool((errors[:, 0] < errors[:, -1]).all())  # and the direction matters: the largest radius is worse


# class 7: TV only where the prior makes images
def test_csgm_tv_refuses_a_generator_of_flat_outputs():
    G = relu_generator(k=2, hidden=16, n=36, seed=0)
    A = ops.Gaussian(18, n=36, seed=1)
    y = A(G.generate(torch.randn(1, 2)).detach())
    with pytest.raises(ValueError, match=r"method='csgm-tv' of recover needs a prior that makes images .* \(36,\)"):
        ganprior.recover(y, A, G, method="csgm-tv", tv=1e6, steps=5, restarts=1)
    from ganprior.solvers.tv import TVObjective

    with pytest.raises(ValueError, match=r"TVObjective needs images of shape \(H, W\) or \(C, H, W\)"):
        TVObjective(y, A, tv=1.0)(torch.zeros(1, 36), torch.zeros(1, 2), torch.zeros(1, dtype=torch.long))


# class 10: errors name recover's own arguments; auto drops the candidates that cannot apply
@pytest.mark.parametrize("kwargs", [dict(lam="cv"), dict(method="auto")])
def test_cross_validation_with_one_measurement_names_recovers_y(kwargs):
    G = relu_generator(k=2, hidden=16, n=36, seed=0, image_shape=SHAPE)
    A = ops.Gaussian(1, in_shape=SHAPE, seed=1)
    message = r"The 'y' parameter of recover must have at least 2 measurements .*Got 1 instead"
    with pytest.raises(ValueError, match=message) as err:
        ganprior.recover(torch.zeros(1, 1), A, G, steps=5, restarts=1, **kwargs)
    assert "holdout" not in str(err.value)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.5, -0.1])
def test_a_bad_cv_fraction_names_recovers_argument(fraction):
    G = relu_generator(k=2, hidden=16, n=36, seed=0, image_shape=SHAPE)
    A = ops.Gaussian(10, in_shape=SHAPE, seed=1)
    with pytest.raises(ValueError, match="The 'cv_fraction' parameter of recover must be") as err:
        ganprior.recover(torch.zeros(1, 10), A, G, lam="cv", cv_fraction=fraction, steps=5, restarts=1)
    assert "holdout" not in str(err.value)


def test_auto_with_flat_images_drops_the_candidates_that_need_2d_images():
    G = relu_generator(k=2, hidden=16, n=36, seed=0)  # flat outputs (36,)
    A = ops.Gaussian(18, n=36, seed=1)
    y = A(G.generate(torch.randn(1, 2, generator=torch.Generator().manual_seed(2))).detach())
    res = ganprior.recover(y, A, G, method="auto", steps=20, restarts=1, seed=0, return_result=True)
    assert res.info["selection"]["candidates"] == ["csgm", "ilo", "lasso"]
    with pytest.raises(ValueError, match=r"Candidate 'lasso-dct' of recover needs images of shape \(H, W\)"):
        ganprior.recover(y, A, G, method="auto", candidates=["csgm", "lasso-dct"], steps=5, restarts=1)
    with pytest.raises(ValueError, match=r"Candidate 'sparse-gen' of recover needs images of shape \(H, W\)"):
        ganprior.recover(y, A, G, method="auto", candidates={"sparse-gen": {"basis": "wavelet"}}, steps=5, restarts=1)


# low items
def test_history_with_a_chosen_argument_is_refused_not_dropped():
    G = relu_generator(k=2, hidden=16, n=36, seed=0, image_shape=SHAPE)
    A = ops.Gaussian(10, in_shape=SHAPE, seed=1)
    with pytest.raises(ValueError, match="The 'history' parameter of recover"):
        ganprior.recover(torch.zeros(1, 10), A, G, lam="cv", history=True, steps=5, restarts=1)


def test_discrepancy_refuses_cv_fraction_as_it_refuses_cv_folds():
    G = relu_generator(k=2, hidden=16, n=36, seed=0, image_shape=SHAPE)
    A = ops.Gaussian(10, in_shape=SHAPE, seed=1)
    with pytest.raises(ValueError, match="'cv_fraction' is for 'cv'"):
        ganprior.recover(torch.zeros(1, 10), A, G, lam="discrepancy", noise_std=0.1, cv_fraction=0.2, steps=5,
                         restarts=1)


def test_register_method_refuses_reserved_names_and_hyperparameters_named_like_recovers_arguments():
    from ganprior.solvers.registry import RESERVED_ARGUMENTS

    # every keyword of recover but noise_std (which recover passes on to the methods that take it)
    params = set(inspect.signature(ganprior.recover).parameters) - {"options", "noise_std"}
    assert set(RESERVED_ARGUMENTS) == params
    build = lambda y, A, G: None  # noqa: E731
    for name in ("auto", "cv", "discrepancy"):
        with pytest.raises(ValueError, match=f"The 'name' parameter of register_method cannot be {name!r}"):
            ganprior.register_method(name, build, summary="x")
    for hp in ("steps", "seed", "lr"):
        with pytest.raises(ValueError, match=f"hyperparameter {hp!r}, which is recover's own argument"):
            ganprior.register_method("my-method", build, summary="x", hyperparameters={hp: 1})
    assert "my-method" not in ganprior.method_names()


@pytest.mark.parametrize("method", ["sparse-gen", "ilo"])
@pytest.mark.parametrize("warmup", [0.96, 1.0])  # round(0.96 * 10) = 10 steps of 10
def test_a_warmup_that_leaves_no_second_stage_is_refused(method, warmup):
    G = relu_generator(k=2, hidden=16, n=36, seed=0, image_shape=SHAPE)
    A = ops.Gaussian(18, in_shape=SHAPE, seed=1)
    y = torch.zeros(1, 18)
    with pytest.raises(ValueError, match=r"The 'warmup' parameter of recover\(method='[a-z-]+'\) must leave steps for "
                                         r"the second stage: it is 10 of steps = 10"):
        ganprior.recover(y, A, G, method=method, warmup=warmup, steps=10, restarts=1, seed=0)


def test_inpainting_with_no_known_pixel_warns_naming_the_image():
    """Issue 39 (low): an all-zero mask used to be inpainted without a word."""
    G = ganprior.load_prior("mnist")
    x = ganprior.data.load_sample("mnist_test300")[:2]
    mask = torch.ones(2, 1, 28, 28)
    mask[1] = 0
    with pytest.warns(UserWarning, match=r"the mask of image\(s\) \[1\] has no known pixel"):
        ganprior.inpaint(x, mask, G, steps=2, restarts=1, seed=0)
