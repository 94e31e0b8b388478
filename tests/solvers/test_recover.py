"""CSGM through ganprior.recover on the batched latent engine: accuracy, batching, types, determinism."""

import math

import numpy as np
import pytest
import torch
from conftest import relu_generator

import ganprior
from ganprior import operators as ops
from ganprior.solvers.csgm import CSGMObjective


def test_recovers_signals_in_the_range_of_G():
    """Issue 2: k=10 -> 256 -> 784 random ReLU G, 20 signals, m=60 noiseless Gaussian: median rel. error <= 1e-3."""
    G = relu_generator(k=10, hidden=256, n=784, seed=0)
    z_true = torch.randn(20, 10, generator=torch.Generator().manual_seed(1))
    x_true = G.generate(z_true)
    A = ops.Gaussian(60, n=784, seed=2)
    x_hat = ganprior.recover(A(x_true), A, G, restarts=5, steps=1000, lr=0.05, seed=0)
    rel = (x_hat - x_true).flatten(1).norm(dim=1) / x_true.flatten(1).norm(dim=1)
    assert rel.median().item() <= 1e-3
    # and a too-small m cannot do it (the test can fail): m=3 < k
    A3 = ops.Gaussian(3, n=784, seed=2)
    x3 = ganprior.recover(A3(x_true[:4]), A3, G, restarts=2, steps=300, lr=0.05, seed=0)
    rel3 = (x3 - x_true[:4]).flatten(1).norm(dim=1) / x_true[:4].flatten(1).norm(dim=1)
    assert rel3.median().item() > 1e-2


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-9), (torch.float32, 1e-3)], ids=["f64", "f32"])
def test_batch_equals_separate_calls_with_per_problem_seeds(dtype, tol):
    """Rows never interact: in float64 a batch reproduces separate calls to 1e-9; float32 differs only by
    BLAS rounding (kernels depend on the batch size), which the tolerance allows."""
    G = relu_generator(k=6, hidden=64, n=100, seed=3).to(dtype)
    A = ops.Gaussian(30, n=100, seed=4, dtype=dtype)
    x_true = G.generate(torch.randn(5, 6, generator=torch.Generator().manual_seed(5)).to(dtype))
    y = A(x_true) + 0.01 * torch.randn(5, 30, generator=torch.Generator().manual_seed(6)).to(dtype)
    seeds = [11, 12, 13, 14, 15]
    kw = dict(restarts=3, steps=200, lr=0.03, lam=0.01, history=True)
    batched = ganprior.recover(y, A, G, seed=seeds, return_result=True, **kw)
    for p in range(5):
        single = ganprior.recover(y[p], A, G, seed=seeds[p], return_result=True, **kw)
        torch.testing.assert_close(batched.x[p], single.x, rtol=tol, atol=tol)
        torch.testing.assert_close(batched.z[p], single.z, rtol=tol, atol=tol)
        assert int(batched.restart[p]) == int(single.restart)
        torch.testing.assert_close(batched.history[p], single.history, rtol=tol, atol=tol)


def test_chunking_and_seed_determinism():
    G = relu_generator(k=6, hidden=64, n=100, seed=3)
    A = ops.Gaussian(30, n=100, seed=4)
    y = A(G.generate(torch.randn(6, 6, generator=torch.Generator().manual_seed(5))))
    kw = dict(restarts=2, steps=100, lr=0.03, seed=7)
    full = ganprior.recover(y, A, G, **kw)
    chunked = ganprior.recover(y, A, G, row_chunk=4, **kw)
    torch.testing.assert_close(full, chunked, rtol=1e-4, atol=1e-5)
    assert torch.equal(full, ganprior.recover(y, A, G, **kw))
    other = ganprior.recover(y, A, G, restarts=2, steps=100, lr=0.03, seed=8)
    assert not torch.equal(full, other)


def linear_problem(k, n, m, P, seed, op_seed):
    """A linear prior G(z) = W z (float64), a Gaussian A, P random targets y, and M = A W."""
    gen = torch.Generator().manual_seed(seed)
    lin = torch.nn.Linear(k, n, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(n, k, generator=gen, dtype=torch.float64) / 3)
    G = ganprior.Generator(lin, latent_shape=k, output_range=(0, 1))
    A = ops.Gaussian(m, n=n, seed=op_seed, dtype=torch.float64)
    y = torch.randn(P, m, generator=gen, dtype=torch.float64)
    return G, A, y, (A.matrix @ lin.weight).detach()


def test_lam_matches_ridge_closed_form():
    """With a linear G(z) = W z the CSGM objective is ridge regression: z = (M^T M + lam I)^-1 M^T y, M = A W."""
    k, n, m, lam = 5, 40, 12, 0.3
    G, A, y, M = linear_problem(k, n, m, P=3, seed=0, op_seed=1)
    z_ref = torch.linalg.solve(M.T @ M + lam * torch.eye(k, dtype=torch.float64), M.T @ y.T).T
    res = ganprior.recover(y, A, G, lam=lam, restarts=2, steps=3000, lr=0.02, seed=0, return_result=True)
    torch.testing.assert_close(res.z, z_ref, rtol=1e-5, atol=1e-6)
    expected_fit = (y - (M @ z_ref.T).T).pow(2).sum(1)
    torch.testing.assert_close(res.measurement_error, expected_fit, rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(res.loss, expected_fit + lam * z_ref.pow(2).sum(1), rtol=1e-5, atol=1e-8)


def test_cosine_schedule_matches_hand_written_gradient_descent():
    """SGD (heavy ball, mu = 0.9) under the cosine schedule: b = mu b + grad, z -= lr_t b, lr_t = lr (1 + cos(pi t/T))/2."""
    k, n, m, lam, lr, T = 4, 30, 10, 0.1, 0.02, 40
    G, A, y, M = linear_problem(k, n, m, P=1, seed=3, op_seed=2)
    z = torch.randn(1, k, generator=torch.Generator().manual_seed(0)).double()[0]  # the engine draws in float32
    buf = torch.zeros(k, dtype=torch.float64)
    for t in range(T):
        buf = 0.9 * buf + 2 * M.T @ (M @ z - y[0]) + 2 * lam * z
        z = z - lr * 0.5 * (1 + math.cos(math.pi * t / T)) * buf
    res = ganprior.recover(y, A, G, lam=lam, restarts=1, steps=T, lr=lr, optimizer="sgd", seed=0,
                           schedule="cosine", return_result=True)
    torch.testing.assert_close(res.z[0], z, rtol=1e-10, atol=1e-12)
    const = ganprior.recover(y, A, G, lam=lam, restarts=1, steps=T, lr=lr, optimizer="sgd", seed=0,
                             schedule="constant", return_result=True)
    assert float((const.z[0] - z).abs().max()) > 1e-4  # the schedule is really applied
    with pytest.raises(ValueError, match=r"'schedule' parameter of recover must be one of"):
        ganprior.recover(y, A, G, schedule="linear")


def test_best_restart_is_chosen_and_history_recorded(small_prior):
    A = ops.Gaussian(40, n=784, seed=0)
    x = small_prior.generate(torch.randn(3, 10, generator=torch.Generator().manual_seed(1)))
    res = ganprior.recover(A(x), A, small_prior, restarts=4, steps=50, lr=0.05, seed=0, return_result=True,
                           history=True)
    assert res.history.shape == (3, 4, 50)
    assert res.steps.tolist() == [[50] * 4] * 3
    # the chosen restart's measurement error is the smallest of the restarts' best iterates (lam = 0: loss = fit)
    best_per_restart = res.history.min(dim=2).values
    for p in range(3):
        assert res.measurement_error[p] <= best_per_restart[p].min() + 1e-6
        assert int(res.restart[p]) == int(best_per_restart[p].argmin()) or \
            res.measurement_error[p] <= best_per_restart[p].min()
    np.testing.assert_allclose(res.measurement_error.numpy(), (A(x) - A(res.x)).pow(2).sum(1).numpy(), rtol=1e-4)


def test_select_by_loss_differs_from_measurement_when_lam_large(small_prior):
    A = ops.Gaussian(40, n=784, seed=0)
    y = A(small_prior.generate(torch.randn(4, 10, generator=torch.Generator().manual_seed(1))))
    kw = dict(restarts=6, steps=30, lr=0.05, seed=0, lam=5.0, return_result=True)
    by_fit = ganprior.recover(y, A, small_prior, select="fit", **kw)
    by_loss = ganprior.recover(y, A, small_prior, select="total", **kw)
    assert (by_fit.measurement_error <= by_loss.measurement_error + 1e-6).all()
    assert (by_loss.loss <= by_fit.loss + 1e-6).all()


def test_early_stop_stops_rows_and_keeps_their_best(small_prior):
    A = ops.Gaussian(60, n=784, seed=0)
    y = A(small_prior.generate(torch.randn(2, 10, generator=torch.Generator().manual_seed(1))))
    res = ganprior.recover(y, A, small_prior, restarts=3, steps=2000, lr=0.05, seed=0, patience=20, tol=1e-3,
                           schedule="constant", history=True, return_result=True)
    assert (res.steps < 2000).all()
    assert torch.isnan(res.history[0, 0, int(res.steps[0, 0]):]).all()


def test_bf16_autocast_runs_and_recovers(small_prior):
    A = ops.Gaussian(60, n=784, seed=0)
    x = small_prior.generate(torch.randn(3, 10, generator=torch.Generator().manual_seed(1)))
    x_hat = ganprior.recover(A(x), A, small_prior, restarts=3, steps=400, lr=0.05, seed=0, precision="bf16")
    rel = (x_hat - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
    assert rel.median() < 0.05  # bf16 limits accuracy to about 1e-2


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("kind", ["numpy64", "numpy32", "torch32", "torch64"])
def test_type_dtype_device_in_equals_out(kind, batched, device):
    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=(1, 6, 6)).to(device)
    A = ops.Gaussian(12, in_shape=(1, 6, 6), seed=0).to(device)
    y = torch.randn(3, 12) if batched else torch.randn(12)
    if kind.startswith("numpy"):
        y_in = y.numpy().astype(np.float64 if kind == "numpy64" else np.float32)
        A_in = A.matrix.cpu().numpy()
    else:
        y_in = y.to(device=device, dtype=torch.float64 if kind == "torch64" else torch.float32)
        A_in = A
    res = ganprior.recover(y_in, A_in, G, restarts=2, steps=5, seed=0, return_result=True)
    shape = ((3,) if batched else ()) + (1, 6, 6)
    assert tuple(res.x.shape) == shape
    assert tuple(res.z.shape) == ((3,) if batched else ()) + (4,)
    assert tuple(res.measurement_error.shape) == ((3,) if batched else ())
    if kind.startswith("numpy"):
        assert isinstance(res.x, np.ndarray) and res.x.dtype == y_in.dtype
    else:
        assert isinstance(res.x, torch.Tensor) and res.x.dtype == y_in.dtype and res.x.device == y_in.device


def test_caller_operator_is_not_mutated():
    G = relu_generator(k=4, hidden=32, n=36, seed=0).double()
    A = ops.Gaussian(12, n=36, seed=0)  # float32 operator, float64 prior
    ganprior.recover(torch.randn(12, dtype=torch.float64), A, G, restarts=1, steps=2, seed=0)
    assert A.matrix.dtype == torch.float32


def test_bare_module_and_objective_directly():
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh())
    A = ops.Gaussian(8, n=16, seed=0)
    x = ganprior.recover(torch.zeros(8), A, net, latent_shape=3, restarts=1, steps=3, seed=0)
    assert x.shape == (16,)
    G = ganprior.Generator(net, latent_shape=3)
    res = ganprior.optimize_latents(CSGMObjective(torch.zeros(2, 8), A, 0.0), G, 2, restarts=2, steps=3, seed=0)
    assert res.x.shape == (2, 16) and res.z.shape == (2, 3)


class _CountingModule(torch.nn.Module):
    """Wraps a module and records the batch size of every forward call."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.batches = []

    def forward(self, z):
        self.batches.append(z.shape[0])
        return self.inner(z)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_early_stopped_rows_leave_the_batch_without_changing_the_others(small_prior, optimizer):
    # Each problem alone (its own seed) is the reference: dropping the rows of problems that stopped, with their
    # optimiser state, must leave the trajectories of the rows still running unchanged.  float64 and noisy
    # measurements (a loss floor well above rounding) keep the stopping decisions robust to summation order.
    G = small_prior.to(torch.float64)
    A = ops.Gaussian(60, n=784, seed=0).to(torch.float64)
    y = A(G.generate(torch.randn(3, 10, generator=torch.Generator().manual_seed(1), dtype=torch.float64)))
    y = y + 0.1 * torch.randn(y.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    lr = 0.05 if optimizer == "adam" else 0.01
    kw = dict(restarts=2, steps=2000, lr=lr, patience=20, tol=1e-4, optimizer=optimizer, return_result=True,
              schedule="constant", history=True)
    both = ganprior.recover(y, A, G, seed=[5, 6, 7], **kw)
    assert len(set(both.steps.flatten().tolist())) > 1  # rows stopped at different steps
    for p in range(3):
        alone = ganprior.recover(y[p : p + 1], A, G, seed=[5 + p], **kw)
        assert torch.equal(both.steps[p], alone.steps[0])
        torch.testing.assert_close(both.z[p], alone.z[0], rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(both.history[p], alone.history[0], rtol=1e-10, atol=1e-12, equal_nan=True)


def test_early_stop_saves_generator_work(small_prior):
    # the generator only sees the rows still running: the rows it evaluates add up to the steps the rows ran
    counted = ganprior.Generator(_CountingModule(small_prior.module), small_prior.latent_shape, output_range=(0, 1))
    A = ops.Gaussian(60, n=784, seed=0)
    y = A(small_prior.generate(torch.randn(4, 10, generator=torch.Generator().manual_seed(1))))
    counted.module.batches.clear()  # the wrapper probed the module once to find the image shape
    res = ganprior.recover(y, A, counted, restarts=3, steps=2000, lr=0.05, seed=0, patience=20, tol=1e-3,
                           schedule="constant", return_result=True)
    # the engine runs Generator.for_solving() (a cached copy for conv nets; this MLP runs as given)
    batches = counted.for_solving().module.batches
    assert batches[0] == 12 and min(batches) < 12
    # one forward per row and step it ran, the final iterate of rows that never stopped, then every row's best
    # iterate (12) and the chosen latents (4) scored once
    unstopped = int((res.steps == 2000).sum())
    assert sum(batches) == int(res.steps.sum()) + unstopped + 12 + 4
    assert sum(batches) < 0.9 * 12 * int(res.steps.max())
