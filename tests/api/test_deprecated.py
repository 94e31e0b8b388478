"""Every deprecated name, in one place: the old name still works, gives the same answer as the new one, and warns
(once per process, naming the new name).  Renamed arguments of the solvers warn with a FutureWarning (setup.cfg
turns DeprecationWarnings raised from ganprior into errors in the tests); the trainer's ``bf16`` keeps its
DeprecationWarning."""

import warnings

import pytest
import torch

import ganprior
from ganprior import _validation
from ganprior import operators as ops


@pytest.fixture
def fresh(monkeypatch):
    """A process in which no old name has warned yet."""
    monkeypatch.setattr(_validation, "_WARNED", set())


def posterior_problem():
    gen = torch.Generator().manual_seed(0)
    lin = torch.nn.Linear(3, 16, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(16, 3, generator=gen, dtype=torch.float64) / 2)
    G = ganprior.Generator(lin, latent_shape=3)
    A = ops.Gaussian(6, n=16, seed=1, dtype=torch.float64)
    y = torch.randn(6, generator=gen, dtype=torch.float64)
    return y, A, G


@pytest.mark.parametrize("old, new, value", [("num_samples", "restarts", 3), ("step", "lr", 1e-3)])
def test_sample_posterior_old_names_warn_once_and_mean_the_new_ones(fresh, old, new, value):
    y, A, G = posterior_problem()
    kw = {"steps": 20, "levels": 2, "seed": 0}
    with pytest.warns(FutureWarning, match=f"The '{old}' parameter of sample_posterior is now called '{new}'"):
        before = ganprior.sample_posterior(y, A, G, 0.3, **kw, **{old: value})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # once per process: the second use is silent
        again = ganprior.sample_posterior(y, A, G, 0.3, **kw, **{old: value})
    now = ganprior.sample_posterior(y, A, G, 0.3, **kw, **{new: value})
    assert torch.equal(before.samples, now.samples) and torch.equal(again.samples, now.samples)
    assert now.info["settings"][new] == value and now.info["source"][new] == "caller"


def test_sample_posterior_refuses_a_name_and_its_old_name_together(fresh):
    y, A, G = posterior_problem()
    with pytest.warns(FutureWarning), pytest.raises(TypeError, match="got 'restarts' and its old name 'num_samples'"):
        ganprior.sample_posterior(y, A, G, 0.3, restarts=2, num_samples=2)
    with pytest.raises(TypeError, match=r"sample_posterior\(\) got an unexpected keyword argument 'chains'"):
        ganprior.sample_posterior(y, A, G, 0.3, chains=2)


def test_sample_posterior_errors_name_the_argument_as_spelled(fresh):
    y, A, G = posterior_problem()
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="'num_samples' parameter of sample_posterior"):
        ganprior.sample_posterior(y, A, G, 0.3, num_samples=1)
    with pytest.raises(ValueError, match="'restarts' parameter of sample_posterior must be an int >= 2"):
        ganprior.sample_posterior(y, A, G, 0.3, restarts=1)


def test_trainer_bf16_is_deprecated_for_precision():
    from ganprior.models import MLPDiscriminator, MLPGenerator
    from ganprior.training import Trainer

    G = MLPGenerator(latent_dim=2, width=8, image_shape=(1, 4, 4), seed=0)
    D = MLPDiscriminator(width=8, image_shape=(1, 4, 4), seed=1)
    data = torch.rand(8, 1, 4, 4)
    with pytest.warns(DeprecationWarning, match=r"Trainer\(bf16=...\) is deprecated: use precision='bf16'"):
        trainer = Trainer(G, D, data, batch_size=4, bf16=False, sample_every=0, checkpoint_every=0)
    assert trainer.precision == "fp32"


@pytest.mark.parametrize("old, new", [("measurement", "fit"), ("loss", "total")])
def test_the_old_select_names_warn_once_and_answer_like_the_new(old, new, fresh, small_prior):
    A = ops.Gaussian(20, n=784, seed=0)
    y = A(small_prior.generate(torch.randn(2, 10, generator=torch.Generator().manual_seed(1))))
    kw = dict(restarts=3, steps=10, lr=0.05, seed=0, lam=5.0)
    with pytest.warns(FutureWarning, match=f"select='{old}' is now select='{new}'") as record:
        old_x = ganprior.recover(y, A, small_prior, select=old, **kw)
        ganprior.recover(y, A, small_prior, select=old, **kw)
    assert len([w for w in record if issubclass(w.category, FutureWarning)]) == 1  # once per process
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.equal(old_x, ganprior.recover(y, A, small_prior, select=new, **kw))


def test_latent_result_measurement_error_is_fit_and_warns(fresh, small_prior):
    A = ops.Gaussian(20, n=784, seed=0)
    y = A(small_prior.generate(torch.randn(2, 10, generator=torch.Generator().manual_seed(1))))
    res = ganprior.optimize_latents(ganprior.get_method("csgm").build(y, A, small_prior), small_prior, 2,
                                    restarts=2, steps=5, seed=0)
    with pytest.warns(FutureWarning, match="LatentResult.measurement_error is now LatentResult.fit"):
        assert torch.equal(res.measurement_error, res.fit)
