"""A latent law per generator (issue 43, item 1) and quiet solver warnings (item 3).

The law (normal, uniform on a box, truncated normal) sets where every latent method starts, what it penalises
and where it may go; it is recorded in prior folders and training runs.  The normal law is the default and gives
the results of before, bitwise.
"""

import json
import warnings

import pytest
import torch

import ganprior
from ganprior import operators as ops
from ganprior.latent import (
    LATENT_LAWS,
    LatentLaw,
    NormalLaw,
    TruncatedNormalLaw,
    UniformLaw,
    as_latent_law,
    latent_law_of,
)
from ganprior.models.dcgan import DCGANGenerator28
from ganprior.solvers.objective import latent_state, normal_state


def _dcgan(latent, width=8, k=20):
    """A small random DCGAN whose batch norm holds the statistics of its own latent law (as a trained one does)."""
    net = DCGANGenerator28(latent_dim=k, width=width, seed=0)
    for mod in net.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None  # a cumulative average: one pass sets the statistics
    law = as_latent_law(latent)
    net.train()
    with torch.no_grad():
        net(law.sample((512, k), torch.Generator().manual_seed(1)))
    net.eval()
    return net


def _psnr(x_hat, x):
    """Mean PSNR on the [-1, 1] scale, 10 log10(4 / MSE)."""
    mse = (x_hat - x).pow(2).flatten(1).mean(dim=1)
    return float((10 * torch.log10(4.0 / mse)).mean())


# -- the laws ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(LATENT_LAWS))
def test_each_law_samples_within_its_support_and_projects_onto_it(name):
    law = as_latent_law(name)
    z = law.sample((4000, 3), torch.Generator().manual_seed(0))
    assert z.dtype == torch.float32 and z.shape == (4000, 3)
    if law.bound is None:
        assert abs(float(z.std()) - 1.0) < 0.05
    else:
        assert float(z.abs().max()) <= law.bound and float(z.abs().max()) > 0.9 * law.bound
        far = torch.full((2, 3), 10.0)
        assert torch.equal(law.project(far), torch.full((2, 3), law.bound))
    assert law.log_density(z).shape == (4000,)
    assert as_latent_law(law.spec()) == law


def test_uniform_and_truncated_normal_draws_follow_their_laws():
    u = UniformLaw().sample((20000,), torch.Generator().manual_seed(0))
    assert abs(float(u.mean())) < 0.02 and abs(float(u.var()) - 1 / 3) < 0.01
    t = TruncatedNormalLaw(1.0).sample((20000,), torch.Generator().manual_seed(0))
    # Var of N(0, 1) truncated to [-1, 1]: 1 - 2 phi(1) / (2 Phi(1) - 1) = 0.2911
    assert abs(float(t.var()) - 0.2911) < 0.01 and float(t.abs().max()) <= 1.0


def test_the_normal_law_draws_what_randn_draws():
    gen = torch.Generator().manual_seed(3)
    assert torch.equal(NormalLaw().sample((5, 4), gen), torch.randn(5, 4, generator=torch.Generator().manual_seed(3)))
    seeds = [torch.Generator().manual_seed(s) for s in (1, 2)]
    again = [torch.Generator().manual_seed(s) for s in (1, 2)]
    assert torch.equal(latent_state(NormalLaw(), (4,), 2, 3, seeds), normal_state((4,), 2, 3, again))


def test_a_bad_law_is_refused_with_what_is_accepted():
    with pytest.raises(ValueError, match=r"The 'latent' parameter of Generator must be one of 'normal', 'uniform', "
                                         r"'truncated-normal'.*Got 'gaussian' instead"):
        ganprior.Generator(torch.nn.Linear(2, 3), latent_shape=2, latent="gaussian")
    with pytest.raises(TypeError, match=r"'latent' parameter of Trainer.*Got 3 \(int\) instead"):
        as_latent_law(3, owner="Trainer")
    with pytest.raises(ValueError, match=r"'bound' parameter of UniformLaw must be a finite float > 0"):
        UniformLaw(bound=0.0)


def test_generator_holds_its_law_and_samples_from_it():
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh())
    G = ganprior.Generator(net, latent_shape=6)
    assert isinstance(G.latent, NormalLaw) and latent_law_of(G) == NormalLaw()
    assert torch.equal(G.sample_latent(4, seed=0), torch.randn(4, 6, generator=torch.Generator().manual_seed(0)))
    Gu = ganprior.Generator(net, latent_shape=6, latent="uniform")
    z = Gu.sample_latent(100, seed=0)
    assert float(z.abs().max()) <= 1.0 and float(z.min()) < -0.9
    assert "latent='uniform'" in repr(Gu) and "latent=" not in repr(G)
    assert Gu.for_solving("channels_last").latent == Gu.latent
    assert latent_law_of(net) == NormalLaw()  # a bare module: the normal law


# -- every latent method takes from the law ---------------------------------------------------------------------------
def test_uniform_law_recovers_a_uniform_dcgan_far_better_than_the_normal_law():
    """Issue 43's must-show: m = 200, 300 Adam steps at lr 0.01, lam 0, one restart, 16 problems; the truth is
    G(z*) with z* ~ Unif[-1, 1].  Measured: 84.4 dB with latent="uniform", 46.0 dB with the normal law."""
    net = _dcgan("uniform")
    G_unif = ganprior.Generator(net, data_range=(-1, 1), latent="uniform")
    G_norm = ganprior.Generator(net, data_range=(-1, 1))
    x = G_unif.generate(G_unif.sample_latent(16, seed=2))
    A = ops.Gaussian(200, in_shape=G_unif.image_shape, seed=3)
    y = A(x)
    budget = dict(method="csgm", restarts=1, steps=300, lr=0.01, lam=0.0, optimizer="adam", schedule="constant",
                  seed=0)
    res = ganprior.recover(y, A, G_unif, return_result=True, **budget)
    uniform = _psnr(res.x, x)
    normal = _psnr(ganprior.recover(y, A, G_norm, **budget), x)
    assert uniform >= 55.0, (uniform, normal)
    assert normal < 50.0 and uniform > normal + 10.0, (uniform, normal)
    assert float(res.z.abs().max()) <= 1.0  # the latents never left the box


@pytest.mark.parametrize("method", ["csgm", "ilo", "sparse-gen", "langevin"])
@pytest.mark.parametrize("law", ["uniform", "truncated-normal"])
def test_every_latent_method_starts_and_stays_in_a_box_law(method, law):
    net = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 36), torch.nn.Tanh(),
                              torch.nn.Unflatten(1, (1, 6, 6)))
    G = ganprior.Generator(net, latent_shape=4, output_range=(-1, 1), latent=law).double()
    bound = G.latent.bound
    A = ops.Gaussian(20, in_shape=(1, 6, 6), seed=1, dtype=torch.float64)
    x = G.generate(G.sample_latent(2, seed=0).double())
    y = A(x) + 0.5 * torch.randn(2, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    kw = {"noise_std": 0.5} if method == "langevin" else {"lam": 1.0}
    res = ganprior.recover(y, A, G, method=method, restarts=3, steps=30, lr=0.5, seed=0, return_result=True, **kw)
    if method == "langevin":  # a sampler returns the posterior mean, no latent (the reflection: test below)
        assert res.z is None and torch.isfinite(torch.as_tensor(res.x)).all()
    else:
        assert float(torch.as_tensor(res.z).abs().max()) <= bound
    # where the latents start: the law's draws, seeded as the normal law's
    obj = ganprior.solvers.csgm.CSGMObjective(y, A)
    z0 = obj.init_state(G, 2, 3, [torch.Generator().manual_seed(s) for s in (5, 6)])["z"]
    ref = torch.cat([G.latent.sample((3, 4), torch.Generator().manual_seed(s)) for s in (5, 6)]).double()
    assert torch.equal(z0, ref) and obj.latent_law == G.latent


def test_the_penalty_follows_the_law():
    """lam weighs -2 log p(z): ||z||^2 for the normal and truncated normal laws, nothing for the uniform law."""
    y, A = torch.ones(1, 4), ops.Identity(4)
    x, z, rows = torch.zeros(1, 4), torch.full((1, 2), 0.5), torch.tensor([0])
    for law, total in (("normal", 4.5), ("truncated-normal", 4.5), ("uniform", 4.0)):
        obj = ganprior.solvers.csgm.CSGMObjective(y, A, lam=1.0)
        obj.latent_law = as_latent_law(law)
        assert float(obj(x, z, rows)[1]) == total, law


def test_langevin_reflects_into_the_box_and_keeps_the_uniform_law():
    """With no data (a huge noise level) reflected Langevin chains stay uniform on the box: no atoms on the faces,
    which clamping would put there."""
    from ganprior.solvers.posterior import PosteriorObjective

    net = torch.nn.Sequential(torch.nn.Linear(2, 4))
    G = ganprior.Generator(net, latent_shape=2, latent="uniform")
    A = ops.Gaussian(3, in_shape=(4,), seed=0)
    obj = PosteriorObjective(torch.zeros(1, 3), A, G, noise_std=1e6, step=0.3, levels=1)
    state = obj.init_state(G, 1, 4000, torch.Generator().manual_seed(0))
    z = state["z"]
    for _ in range(20):
        z.add_(0.3 ** 0.5 * 2 ** 0.5 * torch.randn(z.shape, generator=torch.Generator().manual_seed(_)))
        obj.project_state(state)
    assert float(z.abs().max()) <= 1.0
    assert float((z.abs() == 1.0).float().mean()) < 1e-3  # no mass piled on the faces
    assert abs(float(z.var()) - 1 / 3) < 0.02


# -- recorded in prior folders and runs -------------------------------------------------------------------------------
def test_the_trainer_records_its_law_and_load_prior_reads_it_back(tmp_path):
    from ganprior.models import build_discriminator, build_generator
    from ganprior.training import Trainer

    data = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    Gm = build_generator("dcgan28", latent_dim=4, width=4, channels=1, seed=0)
    Dm = build_discriminator("dcgan28", width=4, channels=1, seed=1)
    trainer = Trainer(Gm, Dm, data, batch_size=16, seed=5, out_dir=tmp_path, sample_every=0, checkpoint_every=0,
                      latent="uniform")
    assert float(trainer.fixed_noise.abs().max()) <= 1.0 and float(trainer._draw_noise().abs().max()) <= 1.0
    trainer.fit(steps=2)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["latent"] == "uniform" and config["hyperparameters"]["latent"] == "uniform"
    G = ganprior.load_prior(tmp_path)  # a run folder
    assert isinstance(G.latent, UniformLaw)
    # an old folder, written before the law was recorded, loads as normal
    del config["latent"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert isinstance(ganprior.load_prior(tmp_path).latent, NormalLaw)
    # a Generator handed to the trainer gives its own law
    wrapped = ganprior.Generator(build_generator("dcgan28", latent_dim=4, width=4, seed=0), latent="truncated-normal")
    assert Trainer(wrapped.module, Dm, data, batch_size=16).latent == NormalLaw()
    assert Trainer(wrapped, Dm, data, batch_size=16).latent == TruncatedNormalLaw()


def test_the_bundled_priors_keep_the_normal_law():
    for name in ("mnist", "celeba64"):
        assert type(ganprior.load_prior(name).latent) is NormalLaw


def test_a_custom_law_is_a_latent_law_subclass():
    class Box3(LatentLaw):
        name, bound = "box3", 3.0

        def sample(self, shape, generator=None):
            return torch.rand(tuple(shape), generator=generator) * 6.0 - 3.0

        def log_density(self, z):
            return z.new_zeros(z.shape[0])

    G = ganprior.Generator(torch.nn.Linear(2, 4), latent_shape=2, latent=Box3())
    assert G.latent.spec() == "box3" and float(G.sample_latent(50, seed=0).abs().max()) <= 3.0


# -- quiet by default -------------------------------------------------------------------------------------------------
def test_auto_on_noisy_mnist_shows_no_solver_warning_and_lists_what_it_silenced():
    """recover(y, A, "mnist", method="auto") on 8 noisy digits at m = 25: the Lasso candidates' ConvergenceWarnings
    are counted in info, not printed."""
    x = ganprior.data.load_sample("mnist_test300")[:8]
    m = 25
    A = ops.Gaussian(m, in_shape=tuple(x.shape[1:]), seed=m)
    y = A(x) + 0.1 / m ** 0.5 * torch.randn(8, m, generator=torch.Generator().manual_seed(1000 + m))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ganprior.recover(y, A, "mnist", method="auto", seed=0, return_result=True)
    assert [str(w.message) for w in caught] == []
    silenced = res.info["warnings"]
    assert silenced == res.info["selection"]["warnings"] and silenced.get("ConvergenceWarning: Objective did not converge", 0) >= 1, silenced


def test_quiet_solver_warnings_counts_internal_ones_and_shows_the_others_once():
    from sklearn.exceptions import ConvergenceWarning

    from ganprior.solvers.selection import quiet_solver_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_solver_warnings() as silenced:
            for gap in (0.1, 0.2, 0.3):
                warnings.warn(f"Objective did not converge. Duality gap: {gap}", ConvergenceWarning)
                warnings.warn("lam is deprecated", FutureWarning)
    assert silenced == {"ConvergenceWarning: Objective did not converge": 3}
    assert [(w.category, str(w.message)) for w in caught] == [(FutureWarning, "lam is deprecated")]
