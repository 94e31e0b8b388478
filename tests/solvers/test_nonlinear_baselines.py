"""The classical baselines of the non-Gaussian models (ganprior.solvers.nonlinear) against independent references:
numpy.linalg.eigh for the spectral initialisation, torch.autograd for the amplitude-flow and BIHT (sub)gradients,
exact recovery where theory promises it, scipy's L-BFGS-B for Poisson-TV; and each through recover."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

import ganprior
from ganprior import operators as ops
from ganprior.likelihoods import Magnitude, Poisson, Sign
from ganprior.solvers.nonlinear import (
    _amplitude_gradient,
    _hinge_subgradient,
    _poisson_tv,
    amplitude_flow,
    biht,
    poisson_tv,
    spectral_init,
)

torch.set_num_threads(1)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def sparse_vectors(P, n, s, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.zeros(P, n, dtype=torch.float64)
    for p in range(P):
        x[p, torch.randperm(n, generator=gen)[:s]] = torch.randn(s, generator=gen, dtype=torch.float64)
    return x


def up_to_sign(x_hat, x):
    """Relative error of x_hat as an estimate of +x or -x, per problem."""
    x_hat, x = x_hat.reshape(x.shape[0], -1), x.reshape(x.shape[0], -1)
    return torch.minimum((x_hat - x).norm(dim=1), (x_hat + x).norm(dim=1)) / x.norm(dim=1)


# -- spectral initialisation -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["real", "complex"])
def test_spectral_init_is_the_leading_eigenvector_of_the_dense_matrix(kind):
    n, m, P = 12, 80, 3
    A = (ops.Gaussian if kind == "real" else ops.ComplexGaussian)(m=m, n=n, seed=1, dtype=torch.float64)
    y = A(randn(P, n, seed=2)).abs()
    x0 = spectral_init(y, A, iterations=500)
    assert x0.shape == (P, n) and x0.dtype == torch.float64
    dense = A.to_dense(torch.complex128).numpy() if kind == "complex" else A.to_dense().numpy()
    for p in range(P):
        w = y[p].numpy() ** 2
        M = np.real((dense.T.conj() * w) @ dense) / m  # (1/m) sum_i y_i^2 Re(a_i a_i^H) -- a_i^H is row i
        vals, vecs = np.linalg.eigh(M)
        assert vals[-1] > 1.1 * vals[-2]  # a gap: 500 power iterations have converged (1.1^-500 < 1e-20)
        v = x0[p].numpy()
        assert np.linalg.norm(v) == pytest.approx(np.sqrt(w.sum()), rel=1e-12)
        assert abs(v @ vecs[:, -1]) / np.linalg.norm(v) == pytest.approx(1.0, abs=1e-10)


def test_spectral_init_batch_equals_separate_calls_and_checks_its_arguments():
    A = ops.Gaussian(m=60, n=10, seed=0, dtype=torch.float64)
    y = A(randn(3, 10)).abs()
    batch = spectral_init(y, A)
    for p in range(3):
        torch.testing.assert_close(batch[p], spectral_init(y[p], A)[0], rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="'iterations'"):
        spectral_init(y, A, iterations=0)
    with pytest.raises(ValueError, match="'y' holds m=9 measurements"):
        spectral_init(y[:, :9], A)


# -- amplitude flow ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["real", "complex"])
def test_amplitude_flow_recovers_a_vector_exactly_from_8n_noiseless_magnitudes(kind):
    n, P = 40, 4
    A = (ops.Gaussian if kind == "real" else ops.ComplexGaussian)(m=8 * n, n=n, seed=3, dtype=torch.float64)
    x = randn(P, n, seed=4)
    x_hat = amplitude_flow(A(x).abs(), A)
    assert x_hat.shape == (P, n) and x_hat.dtype == torch.float64
    assert float(up_to_sign(x_hat, x).max()) < 1e-9
    assert float(up_to_sign(spectral_init(A(x).abs(), A), x).min()) > 0.1  # the start was not already the answer


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("truncation", [None, 0.7])
def test_the_amplitude_flow_gradient_is_autograds(kind, truncation):
    n, m, P = 15, 60, 3
    A = (ops.Gaussian if kind == "real" else ops.ComplexGaussian)(m=m, n=n, seed=5, dtype=torch.float64)
    y = A(randn(P, n, seed=6)).abs() + 0.05 * randn(P, m, seed=7).abs()
    x = randn(P, n, seed=8).requires_grad_(True)
    u = A(x)
    keep = torch.ones_like(y, dtype=torch.bool) if truncation is None else (u.abs() >= y / (1 + truncation)).detach()
    assert truncation is None or 0 < int(keep.sum()) < keep.numel()  # the truncation drops some rows, not all
    loss = 0.5 * ((u.abs() - y).pow(2) * keep).sum()
    (expected,) = torch.autograd.grad(loss, x)
    with torch.no_grad():
        got = _amplitude_gradient(y, A, x.detach(), truncation)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    # the untruncated loss is the Magnitude model's data term, halved
    torch.testing.assert_close(0.5 * Magnitude().data_term(u, y).sum(), 0.5 * (u.abs() - y).pow(2).sum())


def test_sparse_amplitude_flow_recovers_dct_sparse_images_from_fewer_magnitudes_than_pixels():
    shape, s, P = (1, 16, 16), 3, 8
    n = int(np.prod(shape))
    w = sparse_vectors(P, n, s, seed=9)
    x = ops.DCT2(shape).adjoint(w).reshape(P, n)
    A = ops.Gaussian(m=200, in_shape=shape, seed=10, dtype=torch.float64)
    y = A(x).abs()
    x_hat = amplitude_flow(y, A, sparsity=s, basis="dct")
    assert x_hat.shape == (P, *shape)
    # SPARTA succeeds with high probability, not always: 37 of 40 such problems (8 of these 8)
    assert int((up_to_sign(x_hat, x) < 1e-6).sum()) >= 6
    assert float(up_to_sign(amplitude_flow(y, A), x).min()) > 0.5  # the dense method cannot, at m < n


def test_amplitude_flow_with_a_data_range_chooses_the_sign_in_the_range():
    A = ops.Gaussian(m=320, n=40, seed=11, dtype=torch.float64)
    x = torch.rand(3, 40, generator=torch.Generator().manual_seed(12), dtype=torch.float64)
    x_hat = amplitude_flow(A(x).abs(), A, data_range=(0.0, 1.0))
    torch.testing.assert_close(x_hat, x, rtol=0, atol=1e-9)


# -- BIHT ------------------------------------------------------------------------------------------------------------
def test_biht_recovers_the_direction_of_a_sparse_vector_from_many_signs():
    n, s, P = 128, 5, 4
    x = sparse_vectors(P, n, s, seed=13)
    A = ops.Gaussian(m=2000, n=n, seed=14, dtype=torch.float64)
    y = torch.where(A(x) >= 0, 1.0, -1.0)
    x_hat = biht(y, A, sparsity=s)
    torch.testing.assert_close(x_hat.norm(dim=1), torch.ones(P, dtype=torch.float64))
    assert float((x_hat - x / x.norm(dim=1, keepdim=True)).norm(dim=1).max()) < 0.05
    assert int((x_hat != 0).sum(1).max()) <= s
    # the same direction at any scale of x: only the signs are used
    torch.testing.assert_close(biht(torch.where(A(7.5 * x) >= 0, 1.0, -1.0), A, sparsity=s), x_hat)


def test_the_hinge_biht_descends_is_the_sign_models_and_ends_consistent():
    n, m, P = 64, 600, 3
    A = ops.Gaussian(m=m, n=n, seed=15, dtype=torch.float64)
    x = sparse_vectors(P, n, 4, seed=16)
    y = torch.where(A(x) >= 0, 1.0, -1.0)
    hinge = Sign(loss="hinge")
    # its step direction is the gradient of the one-sided hinge, sum_i max(0, -y_i a_i^T x), by autograd
    v = randn(P, n, seed=17).requires_grad_(True)
    (expected,) = torch.autograd.grad(hinge.data_term(A(v), y).sum(), v)
    torch.testing.assert_close(_hinge_subgradient(y, A, v.detach()), expected, rtol=1e-12, atol=1e-12)
    # and the hinge at its answer is far below that at its start (A^T y thresholded) and at a random direction
    x_hat = biht(y, A, sparsity=4)
    start = biht(y, A, sparsity=4, iterations=1, step=1e-12)
    J = lambda v: hinge.data_term(A(v.reshape(P, n)), y)
    random = randn(P, n, seed=18)
    random = random / random.norm(dim=1, keepdim=True)
    assert bool((J(x_hat) < 0.2 * J(start)).all()) and bool((J(x_hat) < 0.01 * J(random)).all())
    assert float((torch.where(A(x_hat) >= 0, 1.0, -1.0) == y).double().mean(1).min()) > 0.99


def test_biht_in_the_wavelet_basis_keeps_s_coefficients():
    shape, P, s = (1, 8, 8), 2, 3
    w = sparse_vectors(P, 64, s, seed=19)
    x = ops.Wavelet(shape).adjoint(w).reshape(P, 64)
    A = ops.Gaussian(m=1000, in_shape=shape, seed=20, dtype=torch.float64)
    x_hat = biht(torch.where(A(x) >= 0, 1.0, -1.0), A, sparsity=s, basis="wavelet")
    coefficients = ops.Wavelet(shape)(x_hat)
    assert int((coefficients.abs() > 1e-12).sum(1).max()) <= s
    assert float((x_hat.reshape(P, -1) - x / x.norm(dim=1, keepdim=True)).norm(dim=1).max()) < 0.1


# -- Poisson-TV ------------------------------------------------------------------------------------------------------
def reference_objective(x, A, y, photons, weight, eps, shape):
    """sum_i (lam_i - y_i log lam_i) + weight * sum_j (sqrt(|grad x|_j^2 + eps^2) - eps), lam = photons * A x,
    with its gradient: numpy, written from the formula."""
    lam = photons * (A @ x)
    X = x.reshape(shape)
    dh, dw = np.zeros(shape), np.zeros(shape)
    dh[:-1, :] = X[1:, :] - X[:-1, :]
    dw[:, :-1] = X[:, 1:] - X[:, :-1]
    r = np.sqrt(dh**2 + dw**2 + eps**2)
    value = np.sum(lam - y * np.log(lam)) + weight * np.sum(r - eps)
    gh, gw = dh / r, dw / r
    G = np.zeros(shape)
    G[1:, :] += gh[:-1, :]
    G[:-1, :] -= gh[:-1, :]
    G[:, 1:] += gw[:, :-1]
    G[:, :-1] -= gw[:, :-1]
    return value, photons * A.T @ (1 - y / lam) + weight * G.ravel()


def test_poisson_tv_decreases_its_objective_and_matches_lbfgsb():
    shape, photons, weight, eps = (4, 4), 200.0, 0.5, 0.05
    A = ops.NonNegative(m=24, in_shape=shape, seed=21, dtype=torch.float64)
    x = 0.2 + 0.8 * torch.rand(2, *shape, generator=torch.Generator().manual_seed(22), dtype=torch.float64)
    x[:, :2, :2] = 0.0  # a dark corner: the bound x >= 0 is active at the minimum
    y = A.measure(x, Poisson(photons=photons), seed=23)
    assert bool((y > 0).all())  # lam > 0 along L-BFGS-B's path: its log is finite
    history = []
    x_hat = _poisson_tv(y, A, photons=photons, weight=weight, smoothing=eps, iterations=500, floor=1e-3,
                        data_range=None, image_shape=None, history=history)
    F = torch.stack(history)
    assert bool((F[1:] <= F[:-1]).all()) and bool((F[-1] < 0.5 * F[0]).all())
    M = A.matrix.numpy()
    for p in range(2):
        yp = y[p].numpy()
        fun = lambda v, yp=yp: reference_objective(v, M, yp, photons, weight, eps, shape)
        ref = minimize(fun, np.full(16, 0.5), jac=True, method="L-BFGS-B", bounds=[(0, None)] * 16,
                       options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 20000, "maxcor": 30})
        ours = x_hat[p].reshape(-1).numpy()
        assert ref.success and int((ref.x == 0).sum()) >= 1 and int((ours == 0).sum()) >= 1
        assert fun(ours)[0] <= ref.fun + 1e-10 * abs(ref.fun)
        np.testing.assert_allclose(ours, ref.x, rtol=0, atol=1e-5)
    # the objective recorded is the reference one up to a term in y alone (the deviance's)
    reference = torch.tensor([reference_objective(x_hat[p].reshape(-1).numpy(), M, y[p].numpy(), photons, weight,
                                                  eps, shape)[0] for p in range(2)], dtype=torch.float64)
    in_y_alone = (-y + torch.where(y > 0, y * torch.log(y.clamp_min(1)), 0)).sum(1)
    torch.testing.assert_close(F[-1], reference + in_y_alone, rtol=1e-10, atol=0)


def test_poisson_tvs_data_term_is_the_poisson_models_and_it_ends_where_f_stops_resolving():
    from ganprior.solvers.nonlinear import _poisson_objective

    A = ops.NonNegative(m=30, in_shape=(1, 6, 6), seed=29, dtype=torch.float64)
    x = torch.rand(3, 36, generator=torch.Generator().manual_seed(30), dtype=torch.float64)
    model = Poisson(photons=1e4)
    y = A.measure(x, model, seed=31)
    y[0, :3] = 0.0  # zero counts: the exact deviance (the rate), within floor / 2 of the model's continuation
    F = _poisson_objective(model, y, A, (1, 6, 6), 0.0, 0.01)
    for v in (x, 1e-9 * x, 3.0 * x):
        gap = F(v) - model.data_term(A(v), y)
        assert float(gap.abs().max()) < 1e-9 * float(model.data_term(A(v), y).abs().max()) + 3 * model.floor / 2
    # high counts, no total variation, a rank-deficient A (30 rows, 36 pixels): F stops improving in float64 long
    # before the step limit, and the solver ends there (its L-doubling once spun forever at such a point)
    history = []
    _poisson_tv(y, A, photons=1e4, weight=0.0, smoothing=0.01, iterations=2000, floor=1e-3, data_range=None,
                image_shape=None, history=history)
    assert len(history) < 2000


def test_poisson_tv_is_non_negative_and_the_weight_flattens():
    shape = (1, 8, 8)
    A = ops.Identity(shape)
    x = torch.zeros(1, *shape, dtype=torch.float64)
    x[..., 2:6, 2:6] = 1.0
    y = A.measure(x, Poisson(photons=5.0), seed=24)
    TV = lambda v: (v[..., 1:, :] - v[..., :-1, :]).abs().sum() + (v[..., 1:] - v[..., :-1]).abs().sum()
    loose, tight = (poisson_tv(y, A, photons=5.0, weight=w, iterations=300) for w in (0.01, 3.0))
    assert float(loose.min()) >= 0.0 and float(tight.min()) >= 0.0 and float((loose == 0).sum()) > 0
    assert float(TV(tight)) < 0.5 * float(TV(loose))
    box = poisson_tv(y, A, photons=5.0, weight=0.01, iterations=300, data_range=(0.0, 1.0))
    assert float(box.max()) <= 1.0 and float(loose.max()) > 1.0


# -- through recover ---------------------------------------------------------------------------------------------
SHAPE = (1, 6, 6)


def problems():
    """(method, likelihood, y, A, options) for each baseline: 3 problems of shape SHAPE."""
    gen = torch.Generator().manual_seed(25)
    x = torch.rand(3, *SHAPE, generator=gen, dtype=torch.float64)
    G, Nn = ops.Gaussian(m=288, in_shape=SHAPE, seed=26), ops.NonNegative(m=36, in_shape=SHAPE, seed=27)
    return [("amplitude-flow", "magnitude", G.measure(x, "magnitude"), G, {}),
            ("biht", "sign", G.measure(x - 0.5, "sign"), G, {"sparsity": 10}),
            # smoothing 1: well conditioned, so that the solutions are accurate
            ("poisson-tv", Poisson(photons=50.0), Nn.measure(x, Poisson(photons=50.0), seed=28), Nn,
             {"smoothing": 1.0})]


@pytest.mark.parametrize("index", range(3))
def test_through_recover_the_shape_and_type(index):
    name, likelihood, y, A, options = problems()[index]
    model = ganprior.likelihoods.get_likelihood(likelihood)
    assert ganprior.get_method(name).likelihoods == (model.name,)
    y32 = y.float()
    out = ganprior.recover(y32, A, method=name, likelihood=likelihood, **options)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and tuple(out.shape) == (3, *SHAPE)
    arr = ganprior.recover(y.numpy(), A.matrix.numpy(), method=name, likelihood=likelihood, image_shape=SHAPE,
                           **options)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.shape == (3, *SHAPE)
    result = ganprior.recover(y, A, method=name, likelihood=likelihood, return_result=True, **options)
    assert result.method == name and bool(torch.isfinite(result.measurement_error).all())
    # one problem comes back as one image (that a batch equals separate calls, to rtol 1e-9, is the method contract's
    # test_a_batch_equals_separate_calls_under_each_model, for every method of a non-Gaussian model)
    assert tuple(ganprior.recover(y[0], A, method=name, likelihood=likelihood, **options).shape) == SHAPE


@pytest.mark.parametrize("index, bad, name", [
    (0, {"sparsity": 0}, "sparsity"), (0, {"step": 0.0}, "step"), (0, {"basis": "fourier", "sparsity": 3}, "basis"),
    (0, {"truncation": -1.0}, "truncation"), (0, {"data_range": (1.0, 0.0)}, "data_range"),
    (1, {"iterations": 0}, "iterations"), (1, {"sparsity": -2}, "sparsity"), (1, {"step": -1.0}, "step"),
    (2, {"weight": -1.0}, "weight"), (2, {"smoothing": 0.0}, "smoothing"), (2, {"image_shape": (5, 5)}, "image_shape"),
])
def test_through_recover_a_bad_argument_is_a_value_error_naming_it(index, bad, name):
    method, likelihood, y, A, options = problems()[index]
    with pytest.raises(ValueError, match=f"'{name}'"):
        ganprior.recover(y, A, method=method, likelihood=likelihood, **{**options, **bad})


def test_the_models_a_baseline_takes_and_its_grid():
    assert ganprior.get_method("amplitude-flow").likelihoods == ("magnitude",)
    assert ganprior.get_method("biht").likelihoods == ("sign",)
    assert ganprior.get_method("poisson-tv").likelihoods == ("poisson",)
    A = ops.Gaussian(m=288, in_shape=SHAPE, seed=0)
    with pytest.raises(ValueError, match="does not take"):
        ganprior.recover(torch.ones(1, 288), A, method="biht")  # Gaussian measurements
    y = A.measure(torch.rand(2, *SHAPE, generator=torch.Generator().manual_seed(1)), "magnitude")
    result = ganprior.recover(y, A, method="amplitude-flow", likelihood="magnitude", sparsity="cv",
                              return_result=True)
    assert result.info["settings"]["sparsity"] in ganprior.get_method("amplitude-flow").cv_grids["sparsity"]


def test_amplitude_flow_converges_below_the_papers_regime():
    """m < n: the paper's step (for m >> n) would diverge; the step is capped by ||A||^2 and the answer is finite
    (a NaN image would be silently wrong)."""
    import ganprior

    x = ganprior.data.load_sample("mnist_test300")[:4]
    A = ganprior.operators.Gaussian(50, in_shape=(1, 28, 28), seed=0)
    y = A.measure(x, "magnitude")
    x_hat = ganprior.recover(y, A, method="amplitude-flow", likelihood="magnitude", image_shape=(1, 28, 28))
    assert bool(torch.isfinite(x_hat).all())
    # and a step the iteration cannot take is a clear error, not NaN
    with pytest.raises(FloatingPointError, match="diverged; give a smaller 'step'"):
        ganprior.recover(y, A, method="amplitude-flow", likelihood="magnitude", image_shape=(1, 28, 28), step=1e4)
