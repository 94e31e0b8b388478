"""Every deprecated name, in one place: the old name still works, gives the same answer as the new one, and warns
(once per process, naming the new name).  Renamed arguments of the solvers warn with a FutureWarning (setup.cfg
turns DeprecationWarnings raised from ganprior into errors in the tests); the trainer's ``bf16`` keeps its
DeprecationWarning."""

import math
import warnings

import numpy as np
import pytest
import torch

import ganprior
from ganprior import _validation
from ganprior import operators as ops
from conftest import linear_prior


@pytest.fixture
def fresh(monkeypatch):
    """A process in which no old name has warned yet."""
    monkeypatch.setattr(_validation, "_WARNED", set())


def posterior_problem():
    A, G, gen = linear_prior()
    return torch.randn(6, generator=gen, dtype=torch.float64), A, G


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
    # a diverging chain's advice names the step size as it was given
    with pytest.warns(FutureWarning), pytest.raises(FloatingPointError, match="lower 'step'"):
        ganprior.sample_posterior(y, A, G, 0.3, restarts=2, steps=50, step=1e3, levels=1, seed=0)


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


def image_problem():
    """A linear prior making 1 x 4 x 4 images (so inpaint takes it too) and 10 measurements of one of them."""
    gen = torch.Generator().manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Unflatten(1, (1, 4, 4))).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) / 2)
    G = ganprior.Generator(net, latent_shape=3)
    A = ops.Gaussian(10, in_shape=(1, 4, 4), seed=3, dtype=torch.float64)
    x = G(torch.randn(2, 3, generator=gen, dtype=torch.float64)).detach()
    return x, A, G


def _optimize(x, A, G, **kw):
    objective = ganprior.get_method("csgm").build(A(x), A, G)
    return ganprior.optimize_latents(objective, G, 2, restarts=3, steps=5, seed=0, **kw).x


def _inpaint(x, A, G, **kw):
    mask = torch.ones(4, 4, dtype=torch.float64)
    mask[1:3, 1:3] = 0
    return ganprior.inpaint(x, mask, G, restarts=3, steps=5, lr=0.05, seed=0, **kw)


# every function with the engine's row chunk: the old name chunk_size counted rows beside the jobs' chunk (images)
ROW_CHUNK = {
    "recover": lambda x, A, G, **kw: ganprior.recover(A(x), A, G, restarts=3, steps=5, seed=0, **kw),
    "optimize_latents": _optimize,
    "inpaint": _inpaint,
    "sample_posterior": lambda x, A, G, **kw: ganprior.sample_posterior(A(x), A, G, 0.3, restarts=3, steps=5,
                                                                        levels=2, seed=0, **kw).samples,
    "generate": lambda x, A, G, **kw: G.generate(torch.linspace(-1, 1, 21, dtype=torch.float64).reshape(7, 3), **kw),
    "sample": lambda x, A, G, **kw: G.sample(7, seed=0, **kw),
}


@pytest.mark.parametrize("owner", list(ROW_CHUNK))
def test_chunk_size_is_row_chunk_warns_once_and_answers_bitwise_alike(fresh, owner):
    x, A, G = image_problem()
    call = ROW_CHUNK[owner]
    with pytest.warns(FutureWarning, match=f"The 'chunk_size' parameter of {owner} is now called 'row_chunk'"):
        old = call(x, A, G, chunk_size=2)  # 2 rows a pass: the rows (6 or 7) span several chunks
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process; the new name never warns
        again = call(x, A, G, chunk_size=2)
        new = call(x, A, G, row_chunk=2)
    assert torch.equal(old, new) and torch.equal(again, new)
    with pytest.raises(TypeError, match=f"{owner}\\(\\) got 'row_chunk' and its old name 'chunk_size'"):
        call(x, A, G, row_chunk=2, chunk_size=2)
    for given in ({"row_chunk": 0}, {"chunk_size": 0}):  # the old name's value reaches the engine's check
        with pytest.raises(ValueError, match="'row_chunk' parameter"):
            call(x, A, G, **given)


# noise, the norm ||eta|| per image, beside recover's noise_std (per entry): now noise_norm / --noise-norm

def test_measure_and_image_noise_take_noise_as_noise_norm(fresh):
    from ganprior.benchmark import measure
    from ganprior.jobs import image_noise

    x = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    with pytest.warns(FutureWarning, match="The 'noise' parameter of measure is now called 'noise_norm'"):
        A_old, y_old = measure(x, 6, noise=0.1, seed=1)
    A_new, y_new = measure(x, 6, noise_norm=0.1, seed=1)
    assert torch.equal(y_old, y_new) and torch.equal(y_new, measure(x, 6, 0.1, 1)[1])
    eta = torch.randn(3, 6, generator=torch.Generator().manual_seed(7919 + 6)) * 0.1 / math.sqrt(6)  # norm 0.1
    torch.testing.assert_close(y_new - A_new(x), eta, rtol=0, atol=1e-6)
    with pytest.warns(FutureWarning, match="The 'noise' parameter of image_noise is now called 'noise_norm'"):
        old = image_noise([0, 5], 6, noise=0.1, seed=2)
    new = image_noise([0, 5], 6, noise_norm=0.1, seed=2)
    assert torch.equal(old, new)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process
        assert torch.equal(measure(x, 6, noise=0.1, seed=1)[1], y_new)
        assert torch.equal(image_noise([0, 5], 6, noise=0.1, seed=2), new)
    with pytest.raises(TypeError, match=r"measure\(\) got 'noise_norm' and its old name 'noise'"):
        measure(x, 6, 0.1, seed=1, noise=0.1)
    with pytest.raises(TypeError, match=r"image_noise\(\) got 'noise_norm' and its old name 'noise'"):
        image_noise([0], 6, noise_norm=0.1, seed=2, noise=0.1)


def test_recover_dataset_takes_noise_as_noise_norm(fresh, tmp_path):
    from ganprior.jobs import recover_dataset

    x = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    kw = dict(m=10, method="lasso", chunk=2, seed=1, image_shape=(1, 4, 4), alpha=0.1)

    def x_hat(out):
        return [np.load(out / "parts" / f"{c:06d}.npz")["x_hat"] for c in (0, 1)]

    with pytest.warns(FutureWarning, match="The 'noise' parameter of recover_dataset is now called 'noise_norm'"):
        recover_dataset(x, None, out=tmp_path / "old", noise=0.5, **kw)
    recover_dataset(x, None, out=tmp_path / "new", noise_norm=0.5, **kw)
    recover_dataset(x, None, out=tmp_path / "none", **kw)
    old, new = x_hat(tmp_path / "old"), x_hat(tmp_path / "new")
    assert all(np.array_equal(a, b) for a, b in zip(old, new))
    assert not all(np.array_equal(a, b) for a, b in zip(new, x_hat(tmp_path / "none")))  # the noise was added
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process; the old folder resumes (same settings, nothing to do)
        assert recover_dataset(x, None, out=tmp_path / "old", noise=0.5, **kw) == []
        assert recover_dataset(x, None, out=tmp_path / "old", noise_norm=0.5, **kw) == []
    with pytest.raises(TypeError, match=r"recover_dataset\(\) got 'noise_norm' and its old name 'noise'"):
        recover_dataset(x, None, out=tmp_path / "both", noise_norm=0.5, noise=0.5, **kw)


@pytest.mark.parametrize("command, extra", [
    ("recover", ["--y", "y.npy", "--A", "A.npy", "--out", "o"]),
    ("benchmark", ["--prior", "mnist", "--images", "i", "--m", "10", "--out", "o"]),
    ("demo", []),
])
def test_the_noise_flag_is_noise_norm_on_every_command(fresh, command, extra, capsys):
    from ganprior.cli import build_parser
    from ganprior.cli._args import renamed_flags

    def parsed(*flags):
        args = build_parser().parse_args([command, *extra, *flags])
        renamed_flags(args)
        return args

    default = {"recover": 0.0, "benchmark": 0.1, "demo": 0.1}[command]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parsed().noise_norm == default and parsed("--noise-norm", "0.25").noise_norm == 0.25
    with pytest.warns(FutureWarning, match="--noise is now --noise-norm"):
        args = parsed("--noise", "0.25")
    assert args.noise_norm == 0.25 and not hasattr(args, "noise")
    with pytest.raises(SystemExit, match=f"ganprior {command}: error: --noise-norm and its old name --noise given "
                                         "together; give --noise-norm only"):
        parsed("--noise", "0.25", "--noise-norm", "0.25")


def test_recover_command_with_the_old_noise_flag_writes_the_same_images(fresh, tmp_path):
    from ganprior.cli import main

    np.save(tmp_path / "x.npy", torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0)).numpy())
    base = ["recover", "--images", str(tmp_path / "x.npy"), "--measurements", "20", "--method", "lasso",
            "--image-shape", "1", "8", "8", "--chunk", "2", "--no-png"]
    with pytest.warns(FutureWarning, match="--noise is now --noise-norm"):
        assert main([*base, "--noise", "0.3", "--out", str(tmp_path / "old")]) == 0
    assert main([*base, "--noise-norm", "0.3", "--out", str(tmp_path / "new")]) == 0
    assert np.array_equal(np.load(tmp_path / "old" / "x_hat.npy"), np.load(tmp_path / "new" / "x_hat.npy"))
    with pytest.raises(SystemExit) as err:
        main([*base, "--noise", "0.3", "--noise-norm", "0.3", "--out", str(tmp_path / "both")])
    assert err.value.code == 2 and not (tmp_path / "both").exists()


# warmup: the fraction of the steps (warmup=1.0 is every step); an int still counts steps (warmup=1: one step)

def staged_problem():
    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 64),
                              torch.nn.Unflatten(1, (1, 8, 8))).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) / p.shape[-1] ** 0.5)
    G = ganprior.Generator(net, latent_shape=4)
    A = ops.Gaussian(24, in_shape=(1, 8, 8), seed=0, dtype=torch.float64)
    return A(G(torch.randn(2, 4, generator=gen, dtype=torch.float64)).detach()), A, G


@pytest.mark.parametrize("method, extra", [("ilo", dict(radius=0.3)), ("sparse-gen", dict(alpha=0.01, basis="pixel"))])
def test_an_int_warmup_counts_steps_warns_once_naming_the_fraction(fresh, method, extra):
    y, A, G = staged_problem()
    kw = dict(restarts=2, steps=40, lr=0.05, schedule="constant", seed=0, **extra)
    with pytest.warns(FutureWarning, match=rf"'warmup' parameter of recover\(method='{method}'\) is the fraction of "
                                           r"the steps, .* the int warmup=30 counts steps \(30 of 40\), which is "
                                           r"deprecated: give warmup=0.75 instead"):
        old = ganprior.recover(y, A, G, method=method, warmup=30, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process; a fraction, and an int 0 (no warm-up either way), never
        again = ganprior.recover(y, A, G, method=method, warmup=30, **kw)
        new = ganprior.recover(y, A, G, method=method, warmup=0.75, **kw)
        assert torch.equal(ganprior.recover(y, A, G, method=method, warmup=0, **kw),
                           ganprior.recover(y, A, G, method=method, warmup=0.0, **kw))
    assert torch.equal(old, new) and torch.equal(again, new)
    assert not torch.equal(ganprior.recover(y, A, G, method=method, warmup=1, **kw),  # one step, not all of them
                           ganprior.recover(y, A, G, method=method, warmup=0.0, **kw))
    with pytest.raises(ValueError, match="it is 40 of steps = 40"):  # 1.0 is every step: nothing left for stage 2
        ganprior.recover(y, A, G, method=method, warmup=1.0, **kw)


def test_dgp_reads_an_int_warmup_or_adapt_as_steps_and_warns_once_naming_the_fraction(fresh):
    # dgp's docstring promised the warning for an int; its stages read the ints silently before
    y, A, G = staged_problem()
    kw = dict(restarts=1, steps=40, lr=0.05, schedule="constant", seed=0, cut=1, lr_weights=1e-3, stop="none")
    new = ganprior.recover(y, A, G, method="dgp", warmup=0.25, adapt=0.5, **kw)
    with pytest.warns(FutureWarning, match=r"'adapt' parameter of recover\(method='dgp'\) is the fraction of the "
                                           r"steps, .* the int adapt=20 counts steps \(20 of 40\), which is "
                                           r"deprecated: give adapt=0.5 instead"):
        old = ganprior.recover(y, A, G, method="dgp", warmup=0.25, adapt=20, **kw)
    with pytest.warns(FutureWarning, match=r"'warmup' parameter of recover\(method='dgp'\) .* give warmup=0.25"):
        both = ganprior.recover(y, A, G, method="dgp", warmup=10, adapt=20, **kw)
    assert torch.equal(old, new) and torch.equal(both, new)


@pytest.mark.parametrize("dataset", ["mnist", "celeba"])
def test_the_benchmark_gives_its_step_counts_as_fractions_starting_stage_two_at_the_same_step(fresh, dataset):
    # selection.json records warm-ups in steps; run_method / solve_options give recover w / steps, which must start
    # the second stage at exactly step w (so committed rows are solved as they were), without a warning
    import json
    from pathlib import Path

    from ganprior.benchmark.protocol import PROTOCOLS, beyond_defaults, warmup_fraction
    from ganprior.solvers.csgm import warmup_steps
    from ganprior.solvers.sparse_gen import second_stage_start

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / dataset / "selection.json"
    steps = PROTOCOLS[dataset].steps
    recorded = {w for rec in json.loads(path.read_text()).values() if isinstance(rec, dict)
                for k, c in rec.get("choice", {}).items() if k == "warmup"
                for w in [*c["candidates"], c["chosen"], c["default"]]}
    assert recorded == {0, 75, 150, 225} and steps == 300  # what the committed grids hold
    recorded |= {beyond_defaults("sparse-gen", dict(steps=steps), None)["warmup"], *range(steps + 1)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for w in sorted(recorded):
            given = warmup_fraction({"warmup": w, "cut": 3}, steps)
            assert isinstance(given["warmup"], float) and given["cut"] == 3
            assert warmup_steps(given["warmup"], steps) == w == warmup_steps(w, steps)
            if w < steps:
                assert second_stage_start(given["warmup"], steps, "recover", "h") == w
    assert warmup_fraction({"warmup": 0.5}, steps) == {"warmup": 0.5} and warmup_fraction({}, steps) == {}
