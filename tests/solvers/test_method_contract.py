"""The contract every registered method keeps, run over the registry: a new method gets these tests for free.

For each entry of ``ganprior.method_names()``: it recovers a signal in the range of a random ReLU generator; a
batch equals separate calls with the same per-problem seeds; the caller's type, dtype and device come back; the
same seed gives the same result; bad input is rejected before any work; a generator that returns NaN gives a clear
error (never a NaN result), and NaN restarts are never chosen over finite ones.  A method's ``contract`` entry in
the registry may set its own options for these problems (e.g. a tiny ``alpha``, or all measurements for the
sparse baselines, whose signals are not sparse).  The latent methods keep the contract under each latent law
(:mod:`ganprior.latent`: normal, uniform, truncated normal), with the true latents drawn from the law.  A method
that takes other measurement models (:attr:`ganprior.solvers.registry.Method.likelihoods`: phase retrieval,
1-bit, Poisson counts) keeps it under each of them too (the tests at the end).
"""

import numpy as np
import pytest
import torch
from conftest import relu_generator

import ganprior
from ganprior import operators as ops

SHAPE = (1, 6, 6)
N = 36
# the methods of the least-squares data term (the others are the last tests' business)
ALL = [n for n in ganprior.method_names() if "gaussian" in ganprior.get_method(n).likelihoods]
LATENT = [n for n in ALL if ganprior.get_method(n).kind == "latent"]
ENGINE = dict(restarts=4, steps=400, lr=0.05, schedule="constant")
LAWS = ("normal", "uniform", "truncated-normal")
# every method, and each latent method under every latent law (a sparse baseline has no latent)
WITH_LAWS = [(n, law) for n in ALL for law in (LAWS if ganprior.get_method(n).kind == "latent" else ("normal",))]
LATENT_LAWS = [(n, law) for n, law in WITH_LAWS if n in LATENT]


def problem(name, P=3, dtype=torch.float64, seed=0, law="normal"):
    """(y, A, G, x_true) for a method: m = 20 Gaussian measurements, or all n (orthonormal) for a sparse baseline;
    the generator's latent law is ``law``, and the true latents are drawn from it."""
    entry = ganprior.get_method(name)
    G = relu_generator(k=4, hidden=32, n=N, seed=seed, image_shape=SHAPE)
    if law != "normal":
        G = ganprior.Generator(G.module, latent_shape=4, output_range=(0, 1), latent=law)
    G = G.to(dtype)
    if entry.contract.get("full_measurements"):  # an orthonormal A: the sparse solvers' iterations converge fast
        A = ops.Matrix(ops.SubsampledDCT(N, in_shape=SHAPE, seed=seed + 1).to_dense(dtype), in_shape=SHAPE)
    else:
        A = ops.Gaussian(20, in_shape=SHAPE, seed=seed + 1, dtype=dtype)
    z = G.latent.sample((P, 4), torch.Generator().manual_seed(seed + 2)).to(dtype)  # normal: torch.randn's draw
    x = G.generate(z).detach()
    return A(x), A, G, x


def run(name, y, A, G, **kw):
    entry = ganprior.get_method(name)
    options = {k: v for k, v in entry.contract.items() if k in entry.hyperparameters}
    if entry.kind == "sparse":
        options.setdefault("data_range", None)  # the test signals are not in [0, 1]
        options.setdefault("image_shape", SHAPE)  # a NumPy matrix A takes flat inputs
        return ganprior.recover(y, A, method=name, **(options | kw))
    engine = ENGINE | {k: v for k, v in entry.contract.items() if k in ENGINE}  # e.g. a sampler's own step size
    # the method's own settings under a model (e.g. no Gaussian noise level for counts; None: left unset)
    under = entry.contract.get("options_under", {}).get(getattr(kw.get("likelihood"), "name", None), {})
    given = {k: v for k, v in (engine | options | under | kw).items() if v is not None or k in kw}
    return ganprior.recover(y, A, G, method=name, **given)


@pytest.mark.parametrize("name, law", WITH_LAWS)
def test_recovers_a_signal_in_the_range_of_a_relu_generator(name, law):
    y, A, G, x = problem(name, law=law)
    kw = {} if ganprior.get_method(name).kind == "sparse" else {"seed": 0}
    x_hat = run(name, y, A, G, **kw)
    rel = (x_hat - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
    assert float(rel.max()) < ganprior.get_method(name).contract.get("tol", 1e-2), rel


@pytest.mark.parametrize("name, law", WITH_LAWS)
def test_a_batch_equals_separate_calls(name, law):
    y, A, G, _ = problem(name, P=3, law=law)
    latent = ganprior.get_method(name).kind == "latent"
    seeds = [5, 6, 7]
    # a short run, as the rounding of a batched matrix product (1e-16) grows along a long non-convex fit; an
    # iterative method without a generator names its own in its contract's "short" (e.g. fewer iterations)
    short = {"steps": 60} if latent else dict(ganprior.get_method(name).contract.get("short", {}))
    batch = run(name, y, A, G, **({"seed": seeds} if latent else {}), **short)
    for p in range(3):
        alone = run(name, y[p], A, G, **({"seed": seeds[p]} if latent else {}), **short)
        torch.testing.assert_close(batch[p], alone, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("kind", ["numpy32", "numpy64", "torch32", "torch64"])
def test_the_callers_type_dtype_and_device_come_back(name, kind, device):
    y, A, G, _ = problem(name, P=2, dtype=torch.float32)
    latent = ganprior.get_method(name).kind == "latent"
    if kind.startswith("numpy"):
        y_in = y.numpy().astype(np.float32 if kind == "numpy32" else np.float64)
        A_in = A.matrix.numpy()
    else:
        y_in, A_in = y.to(device, torch.float32 if kind == "torch32" else torch.float64), A.to(device)
    G = G.to(device)
    out = run(name, y_in, A_in, G if latent else None, **({"seed": 0, "steps": 5} if latent else {}))
    if kind.startswith("numpy"):
        assert isinstance(out, np.ndarray) and out.dtype == y_in.dtype and out.shape == (2, *SHAPE)
    else:
        assert isinstance(out, torch.Tensor) and out.dtype == y_in.dtype and out.device == y_in.device
        assert tuple(out.shape) == (2, *SHAPE)
    one = run(name, y_in[0], A_in, G if latent else None, **({"seed": 0, "steps": 5} if latent else {}))
    assert tuple(one.shape) == SHAPE


@pytest.mark.parametrize("name, law", WITH_LAWS)
def test_the_same_seed_gives_the_same_result(name, law):
    y, A, G, _ = problem(name, P=2, law=law)
    if ganprior.get_method(name).kind == "sparse":
        assert torch.equal(run(name, y, A, None), run(name, y, A, None))
        return
    a, b = run(name, y, A, G, seed=3, steps=40), run(name, y, A, G, seed=3, steps=40)
    assert torch.equal(a, b)
    assert not torch.equal(a, run(name, y, A, G, seed=4, steps=40))


@pytest.mark.parametrize("name", ALL)
def test_bad_input_is_rejected_before_any_work(name, monkeypatch):
    import ganprior.solvers.recovery as recovery

    entry = ganprior.get_method(name)
    y, A, G, _ = problem(name, P=2)
    monkeypatch.setattr(recovery, "optimize_latents", lambda *a, **k: pytest.fail("the engine started"))
    G_arg = G if entry.kind == "latent" else None
    with pytest.raises(ValueError, match=r"'y' holds m=\d+ measurements per problem but the operator 'A' has"):
        run(name, torch.zeros(2, A.m + 1, dtype=y.dtype), A, G_arg)
    with pytest.raises(ValueError, match="'y' parameter must hold only finite values"):
        run(name, torch.full_like(y, float("nan")), A, G_arg)
    with pytest.raises(ValueError, match=rf"Unknown argument\(s\) \['nonsense'\] for method='{name}'"):
        run(name, y, A, G_arg, nonsense=1)
    if entry.kind == "latent":
        with pytest.raises(ValueError, match="'restarts' parameter of recover must be an int >= 1"):
            run(name, y, A, G, restarts=0)
    else:
        with pytest.raises(ValueError, match="are for latent methods"):
            run(name, y, A, None, restarts=0)


class _NaNWhere(torch.nn.Module):
    """A last layer that makes the image NaN where its first pixel is above the median of the test images
    (about half of the latent space), or everywhere."""

    def __init__(self, everywhere=False, threshold=0.3):
        super().__init__()
        self.everywhere, self.threshold = everywhere, threshold

    def forward(self, x):
        bad = torch.ones_like(x[:, 0, 0, 0], dtype=torch.bool) if self.everywhere else x[:, 0, 0, 0] > self.threshold
        return torch.where(bad.view(-1, 1, 1, 1), torch.full_like(x, float("nan")), x)


@pytest.mark.parametrize("name, law", LATENT_LAWS)
def test_a_nan_generator_gives_a_clear_error_never_a_nan_result(name, law):
    y, A, G, x = problem(name, P=2, law=law)
    # Sequential, so that methods that cut the generator (intermediate layers) can use it too
    G_all = ganprior.Generator(torch.nn.Sequential(G.module, _NaNWhere(everywhere=True)), latent_shape=4, latent=law)
    with pytest.raises(FloatingPointError, match=r"problem\(s\) \[0(, 1)?\] produced a non-finite loss"):
        run(name, y, A, G_all, seed=0, steps=20)
    # NaN on about half of the latent law's draws (0.3: the normal law's median first pixel), away from the truths
    first = G.generate(G.sample_latent(256, seed=9)).flatten(1)[:, 0]
    threshold = 0.3 if law == "normal" else max(float(first.median()), float(x.flatten(1)[:, 0].max()) + 0.05)
    G_half = ganprior.Generator(torch.nn.Sequential(G.module, _NaNWhere(threshold=threshold)), latent_shape=4,
                                latent=law)
    if ganprior.get_method(name).engine.get("reduce") == "samples":
        # a sampler cannot drop a chain without biasing the samples: a chain that meets NaN is an error
        with pytest.raises(FloatingPointError, match="produced a non-finite loss"):
            run(name, y, A, G_half, seed=0, steps=20, restarts=8)
        return
    # NaN on part of the latent space: the NaN restarts leave the batch and a finite one is chosen
    res = run(name, y, A, G_half, seed=0, steps=20, restarts=8, return_result=True)
    assert torch.isfinite(res.x).all() and torch.isfinite(res.measurement_error).all()
    assert res.failed.any() and not res.failed.all(dim=1).any()  # some restarts failed, none of the chosen
    assert not res.failed[torch.arange(2), res.restart].any()


# ------------------------------------------------------------------ the contract under each measurement model
MODELS = [(n, lik) for n in ganprior.method_names() for lik in ganprior.get_method(n).likelihoods
          if lik != "gaussian"]


def model_problem(name, lik, P=3, dtype=torch.float64, seed=0):
    """(y, A, G, x_true, model, error) for a method under a non-Gaussian model, noiseless: magnitudes of 30 real
    Gaussian measurements (x up to its sign), signs of 200 (x up to its scale), counts of a non-negative image
    (the generator ends in a sigmoid) at 10^4 photons through 30 non-negative measurements.  The model takes the
    method's contract arguments for it (``contract["models"][lik]``, e.g. the sign model's logistic link)."""
    from ganprior.likelihoods import Magnitude, Poisson, Sign
    from ganprior.metrics import mse_up_to_sign, normalized_mse

    G = relu_generator(k=4, hidden=32, n=N, seed=seed, image_shape=SHAPE)
    if lik == "poisson":
        G = ganprior.Generator(torch.nn.Sequential(G.module, torch.nn.Sigmoid()), latent_shape=4)
    G = G.to(dtype)
    z = torch.randn(P, 4, generator=torch.Generator().manual_seed(seed + 2), dtype=dtype)
    x = G.generate(z).detach()
    own = ganprior.get_method(name).contract.get("models", {}).get(lik, {})
    if lik == "magnitude":
        A, model = ops.Gaussian(30, in_shape=SHAPE, seed=seed + 1, dtype=dtype), Magnitude(**own)
        y, error = model.forward(A(x)), mse_up_to_sign
    elif lik == "sign":
        A, model = ops.Gaussian(200, in_shape=SHAPE, seed=seed + 1, dtype=dtype), Sign(**own)
        y, error = model.forward(A(x)), normalized_mse
    else:
        A, model = ops.NonNegative(30, in_shape=SHAPE, seed=seed + 1, dtype=dtype), Poisson(**{"photons": 1e4, **own})
        y, error = model.forward(A(x)).round(), ganprior.metrics.mse
    return y, A, G, x, model, error


@pytest.mark.parametrize("name, lik", [c for c in MODELS if ganprior.get_method(c[0]).kind == "latent"])
def test_recovers_a_signal_in_the_range_under_each_model(name, lik):
    y, A, G, x, model, error = model_problem(name, lik)
    x_hat = run(name, y, A, G, seed=0, likelihood=model, restarts=8)
    # relative to the signal's own scale (for signs: of the unit image, whose per-pixel energy is 1/n), within the
    # square of the method's relative tolerance (default 0.1; a sampler's posterior mean is no point estimate)
    scale = 1.0 / N if lik == "sign" else x.flatten(1).pow(2).mean(1)
    tol = ganprior.get_method(name).contract.get("tol", 0.1) ** 2
    assert float((error(x_hat, x) / scale).max()) < tol, error(x_hat, x) / scale


@pytest.mark.parametrize("name, lik", MODELS)
def test_a_batch_equals_separate_calls_under_each_model(name, lik):
    y, A, G, _, model, _ = model_problem(name, lik)
    latent = ganprior.get_method(name).kind == "latent"
    seeds = [5, 6, 7]
    batch = run(name, y, A, G if latent else None, likelihood=model, **({"seed": seeds, "steps": 60} if latent else {}))
    for p in range(3):
        alone = run(name, y[p], A, G if latent else None, likelihood=model,
                    **({"seed": seeds[p], "steps": 60} if latent else {}))
        torch.testing.assert_close(batch[p], alone, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name, lik", MODELS)
@pytest.mark.parametrize("kind", ["numpy32", "torch64"])
def test_the_callers_type_dtype_and_device_come_back_under_each_model(name, lik, kind, device):
    y, A, G, _, model, _ = model_problem(name, lik, P=2, dtype=torch.float32)
    latent = ganprior.get_method(name).kind == "latent"
    if kind == "numpy32":
        y_in, A_in = y.numpy().astype(np.float32), A.matrix.numpy()
    else:
        y_in, A_in = y.to(device, torch.float64), A.to(device)
    out = run(name, y_in, A_in, G.to(device) if latent else None, likelihood=model,
              **({"seed": 0, "steps": 5} if latent else {}))
    if kind == "numpy32":
        assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (2, *SHAPE)
    else:
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float64 and out.device == y_in.device
        assert tuple(out.shape) == (2, *SHAPE)


@pytest.mark.parametrize("name, lik", MODELS)
def test_measurements_the_model_cannot_produce_are_rejected_before_any_work(name, lik, monkeypatch):
    import ganprior.solvers.recovery as recovery

    y, A, G, _, model, _ = model_problem(name, lik, P=2)
    latent = ganprior.get_method(name).kind == "latent"
    monkeypatch.setattr(recovery, "optimize_latents", lambda *a, **k: pytest.fail("the engine started"))
    bad = {"magnitude": None, "sign": torch.full_like(y, 0.5), "poisson": torch.full_like(y, -1.0)}[lik]
    if bad is not None:
        with pytest.raises(ValueError, match=f"likelihood='{lik}'"):
            run(name, bad, A, G if latent else None, likelihood=model)
    with pytest.raises(ValueError, match="'y' parameter must hold only finite values"):
        run(name, torch.full_like(y, float("nan")), A, G if latent else None, likelihood=model)


@pytest.mark.parametrize("name, lik", [c for c in MODELS if ganprior.get_method(c[0]).kind == "latent"])
def test_a_nan_generator_gives_a_clear_error_under_each_model(name, lik):
    y, A, G, _, model, _ = model_problem(name, lik, P=2)
    G_all = ganprior.Generator(torch.nn.Sequential(G.module, _NaNWhere(everywhere=True)), latent_shape=4)
    with pytest.raises(FloatingPointError, match=r"problem\(s\) \[0(, 1)?\] produced a non-finite loss"):
        run(name, y, A, G_all, seed=0, steps=20, likelihood=model)


def test_a_method_refuses_a_model_it_does_not_take():
    y, A, G, _ = problem("sparse-gen", P=1)
    with pytest.raises(ValueError, match="method='sparse-gen' does not take"):
        ganprior.recover(y, A, G, method="sparse-gen", likelihood="magnitude")
    with pytest.raises(ValueError, match="must be one of"):
        ganprior.recover(y, A, G, likelihood="laplace")
