"""Sparse baselines: agreement with a dense reference, exact sparse recovery, batching, errors."""

import warnings

import numpy as np
import pytest
import torch
from conftest import dct_matrix
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso

from ganprior.operators.bases import DCT2, Wavelet
from ganprior.operators import Gaussian, SubsampledDCT
from ganprior.solvers.lasso import DEFAULT_ALPHA, select_alpha, solve_sparse

torch.set_num_threads(1)

TIGHT = {"tol": 1e-12, "max_iter": 200_000}


def haar_matrix_8x8():
    """Max-level 2-D Haar on 8 x 8 from averages and differences of 2 x 2 blocks."""
    def transform(x):
        details, a = [], x
        while a.shape[0] > 1:
            tl, tr, bl, br = a[0::2, 0::2], a[0::2, 1::2], a[1::2, 0::2], a[1::2, 1::2]
            details.insert(0, ((tl + tr - bl - br) / 2, (tl - tr + bl - br) / 2, (tl - tr - bl + br) / 2))
            a = (tl + tr + bl + br) / 2
        return np.concatenate([a.ravel()] + [c.ravel() for level in details for c in level])

    return np.stack([transform(e.reshape(8, 8)) for e in np.eye(64)], axis=1)


DENSE_BASES = {"pixel": lambda: np.eye(64), "dct": lambda: np.kron(dct_matrix(8), dct_matrix(8)),
               "wavelet": haar_matrix_8x8}


def smooth_images(P, shape, seed):
    """Smooth images in [0, 1]: a few low-frequency cosines."""
    rng = np.random.default_rng(seed)
    h, w = shape[-2:]
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    out = np.empty((P, *shape))
    for p in range(P):
        img = sum(rng.uniform(-1, 1) * np.cos(np.pi * (a * yy + b * xx)) for a in range(3) for b in range(3))
        out[p] = (0.5 + 0.15 * img) * np.ones(shape)
    return np.clip(out, 0, 1)


def measure(A, x):
    return A(torch.from_numpy(np.ascontiguousarray(x)).to(A.matrix.dtype)).double().numpy()


def _reference_problem():
    shape, m = (1, 8, 8), 32
    A = Gaussian(m, in_shape=shape, seed=1, dtype=torch.float64)
    x = smooth_images(2, shape, seed=2)
    y = measure(A, x) + 0.01 / np.sqrt(m) * np.random.default_rng(3).standard_normal((2, m))
    return shape, m, A, y


def _dense_reference(A, y, m, psi, lam, **kw):
    """scikit-learn Lasso on the explicitly scaled problem sqrt(2m) (A Psi^T, y)."""
    scale = np.sqrt(2 * m)  # makes scikit-learn's alpha the lambda of ||y - Xw||^2 + lambda ||w||_1
    X = scale * A.to_dense().numpy() @ psi.T
    return np.stack([psi.T @ Lasso(alpha=lam, fit_intercept=False, **kw).fit(X, scale * yp).coef_ for yp in y])


# The paper's 1e-5 for Haar is nearly basis pursuit, which coordinate descent does not finish on this
# underdetermined problem even in 2e5 sweeps; 1e-3 does converge, so it is the one compared at optimum.
@pytest.mark.parametrize("basis,lam", [("pixel", 0.1), ("dct", 0.1), ("wavelet", 1e-3)])
def test_matches_dense_reference(basis, lam):
    shape, m, A, y = _reference_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # both must reach the optimum
        ref = _dense_reference(A, y, m, DENSE_BASES[basis](), lam, **TIGHT).reshape(2, *shape)
        got = solve_sparse(y, A, basis=basis, alpha=lam, data_range=None, **TIGHT)
        clipped = solve_sparse(y, A, basis=basis, alpha=lam, **TIGHT)
    assert got.shape == (2, *shape) and got.dtype == np.float64
    assert np.linalg.norm(got - ref) <= 1e-6 * np.linalg.norm(ref)
    np.testing.assert_allclose(clipped, np.clip(ref, 0, 1), rtol=0, atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("basis", ["pixel", "dct", "wavelet"])
def test_default_alpha_is_the_papers(basis):
    """alpha=None uses DEFAULT_ALPHA (0.1, 0.1, 1e-5): same iterates as the scaled reference at that lambda."""
    assert DEFAULT_ALPHA == {"pixel": 0.1, "dct": 0.1, "wavelet": 1e-5}
    shape, m, A, y = _reference_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = _dense_reference(A, y, m, DENSE_BASES[basis](), DEFAULT_ALPHA[basis], max_iter=300)
        got = solve_sparse(y, A, basis=basis, data_range=None, max_iter=300)
    np.testing.assert_allclose(got.reshape(2, -1), ref, rtol=0, atol=1e-9 * np.abs(ref).max())


@pytest.mark.parametrize("basis,psi", [("dct", DCT2((1, 28, 28))), ("wavelet", Wavelet("db1", image_shape=(1, 28, 28)))])
def test_exact_sparse_recovery(basis, psi):
    rng = np.random.default_rng(4)
    n, s, m = 784, 10, 100
    w = np.zeros((1, n))
    w[0, rng.choice(n, s, replace=False)] = rng.choice([-1, 1], s) * (1 + rng.exponential(size=s))
    x = psi.synthesis(w)
    A = Gaussian(m, in_shape=(1, 28, 28), seed=5, dtype=torch.float64)
    x_hat = solve_sparse(measure(A, x), A, basis=basis, alpha=1e-3, data_range=None, tol=1e-10, max_iter=10_000)
    assert np.linalg.norm(x_hat - x) <= 1e-2 * np.linalg.norm(x)


def test_omp_exact_sparse_recovery():
    rng = np.random.default_rng(6)
    w = np.zeros((2, 256))
    for p in range(2):
        w[p, rng.choice(256, 6, replace=False)] = rng.choice([-1, 1], 6) * (1 + rng.exponential(size=6))
    psi = DCT2((1, 16, 16))
    x = psi.synthesis(w)
    A = Gaussian(60, in_shape=(1, 16, 16), seed=7, dtype=torch.float64)
    x_hat = solve_sparse(measure(A, x), A, basis="dct", solver="omp", n_nonzero_coefs=6, data_range=None)
    np.testing.assert_allclose(x_hat, x, atol=1e-10)
    with pytest.warns(RuntimeWarning, match="linear dependence"):  # 15 = m // 4 atoms > 6: residual hits 0
        default = solve_sparse(measure(A, x), A, basis="dct", solver="omp", data_range=None)
    assert default.shape == x.shape


def test_batched_equals_single_problems():
    shape, m, P = (1, 8, 8), 24, 4
    x = smooth_images(P, shape, seed=8)
    A = Gaussian(m, in_shape=shape, seed=9, dtype=torch.float64)
    y = measure(A, x)
    for basis in ("dct", "wavelet"):
        batched = solve_sparse(y, A, basis=basis, alpha=1e-3)
        single = np.concatenate([solve_sparse(y[p:p + 1], A, basis=basis, alpha=1e-3) for p in range(P)])
        np.testing.assert_allclose(batched, single, rtol=0, atol=1e-12)
    ops = [Gaussian(m, in_shape=shape, seed=10 + p, dtype=torch.float64) for p in range(P)]
    y_list = np.stack([measure(op, x[p]) for p, op in enumerate(ops)])
    batched = solve_sparse(y_list, ops, basis="dct", alpha=1e-3)
    single = np.concatenate([solve_sparse(y_list[p:p + 1], ops[p], basis="dct", alpha=1e-3) for p in range(P)])
    np.testing.assert_allclose(batched, single, rtol=0, atol=1e-12)
    omp = solve_sparse(y_list, ops, basis="dct", solver="omp", n_nonzero_coefs=5)
    omp_single = np.concatenate([solve_sparse(y_list[p:p + 1], ops[p], basis="dct", solver="omp",
                                              n_nonzero_coefs=5) for p in range(P)])
    np.testing.assert_allclose(omp, omp_single, rtol=0, atol=1e-12)


def test_float32_and_non_matrix_operator():
    shape = (1, 16, 16)
    x = smooth_images(2, shape, seed=11)
    A = Gaussian(80, in_shape=shape, seed=12)  # float32 operator
    y = measure(A, x)
    x64 = solve_sparse(y, A, basis="dct", alpha=1e-2)
    x32 = solve_sparse(y, A, basis="dct", alpha=1e-2, dtype=np.float32)
    assert x32.dtype == np.float32
    np.testing.assert_allclose(x32, x64, atol=1e-3)
    # an operator without a matrix: rows come from its adjoint
    S = SubsampledDCT(100, in_shape=shape, seed=13)
    y_s = S(torch.from_numpy(x).float()).double().numpy()
    x_s = solve_sparse(y_s, S, basis="wavelet", alpha=1e-4)
    assert x_s.shape == (2, *shape) and np.mean((x_s - x) ** 2) < 1e-2


def test_select_alpha():
    shape = (1, 8, 8)
    x_val = smooth_images(3, shape, seed=14)
    A = Gaussian(32, in_shape=shape, seed=15, dtype=torch.float64)
    alphas = (1e-4, 1e-2, 1.0, 100.0)
    best, table = select_alpha(x_val, A, "dct", alphas=alphas, noise_std=0.01, seed=0)
    assert [row["alpha"] for row in table] == list(alphas)
    assert best == min(table, key=lambda r: r["mse"])["alpha"]
    assert table[-1]["mse"] > table[0]["mse"]  # a huge weight shrinks everything to zero
    assert select_alpha(x_val, A, "dct", alphas=alphas, noise_std=0.01, seed=0) == (best, table)
    with pytest.raises(ValueError, match=r"select_alpha does not take 'alpha'"):
        select_alpha(x_val, A, "dct", alpha=0.1)
    with pytest.raises(ValueError, match=r"'alphas\[1\]' parameter of select_alpha must be a real number > 0.0"):
        select_alpha(x_val, A, "dct", alphas=(0.1, -1.0))
    with pytest.raises(TypeError, match=r"'alphas' parameter of select_alpha must be a non-empty sequence"):
        select_alpha(x_val, A, "dct", alphas=())


def test_errors():
    shape = (1, 8, 8)
    A = Gaussian(16, in_shape=shape, seed=0, dtype=torch.float64)
    flat = Gaussian(16, n=64, seed=0, dtype=torch.float64)
    y = np.zeros((2, 16))
    cases = [
        (ValueError, r"'basis' parameter of solve_sparse must be one of \['dct', 'pixel', 'wavelet'\]. Got 'fft'",
         dict(basis="fft")),
        (ValueError, r"'solver' parameter of solve_sparse must be one of \['lasso', 'omp'\]. Got 'ista'",
         dict(solver="ista")),
        (ValueError, r"'wavelet' parameter of solve_sparse must be one of the orthogonal wavelets \['coif1'.*'bior2.2'",
         dict(basis="wavelet", wavelet="bior2.2")),
        (ValueError, r"'wavelet' and 'level' parameters of solve_sparse are for basis='wavelet'",
         dict(basis="dct", level=2)),
        (ValueError, r"'level' parameter of Wavelet must be at most 3", dict(basis="wavelet", level=4)),
        (ValueError, r"'image_shape' \(1, 9, 9\) holds 81 pixels but the operator 'A' takes n=64",
         dict(image_shape=(1, 9, 9))),
        (ValueError, r"'image_shape' is \(8, 8\) but the operator 'A' acts on images of shape \(1, 8, 8\)",
         dict(image_shape=(8, 8))),
        (ValueError, r"'alpha' parameter of solve_sparse must be a real number > 0.0. Got 0.0", dict(alpha=0.0)),
        (TypeError, r"'alpha' parameter of solve_sparse must be a real number > 0.0. Got '0.1' \(str\)",
         dict(alpha="0.1")),
        (ValueError, r"'alpha' parameter of solve_sparse must be finite", dict(alpha=float("nan"))),
        (ValueError, r"'alpha' parameter of solve_sparse is for solver='lasso'", dict(solver="omp", alpha=0.1)),
        (ValueError, r"'n_nonzero_coefs' parameter of solve_sparse is for solver='omp'", dict(n_nonzero_coefs=3)),
        (ValueError, r"'n_nonzero_coefs' parameter of solve_sparse must be at most min\(m, n\) = 16. Got 17",
         dict(solver="omp", n_nonzero_coefs=17)),
        (ValueError, r"'max_iter' parameter of solve_sparse must be an int >= 1. Got 0", dict(max_iter=0)),
        (ValueError, r"'data_range' parameter of solve_sparse must satisfy low < high", dict(data_range=(1, 0))),
        (TypeError, r"'data_range' parameter of solve_sparse must be None or a pair", dict(data_range=1.0)),
        (ValueError, r"'dtype' parameter of solve_sparse must be numpy.float32 or numpy.float64",
         dict(dtype=np.float16)),
    ]
    for err, match, kw in cases:
        with pytest.raises(err, match=match):
            solve_sparse(y, A, **kw)
    with pytest.raises(ValueError, match=r"basis='dct' transforms 2-D images.*Give 'image_shape', e.g. \(1, 28, 28\)"):
        solve_sparse(y, flat, basis="dct")
    assert solve_sparse(y, flat, basis="dct", image_shape=(1, 8, 8)).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match=r"'y' holds m=15 measurements per problem but the operator 'A' has m=16"):
        solve_sparse(np.zeros((2, 15)), A)
    with pytest.raises(ValueError, match=r"'y' parameter must hold only finite values. Got 1 NaN or Inf"):
        solve_sparse(np.array([[np.nan] + [0.0] * 15]), A)
    with pytest.raises(ValueError, match=r"'y' parameter of solve_sparse must have shape \(P, m\)"):
        solve_sparse(np.zeros(16), A)
    with pytest.raises(TypeError, match=r"'y' parameter of solve_sparse must be a numpy.ndarray of shape \(P, m\)"):
        solve_sparse(torch.zeros(2, 16), A)
    with pytest.raises(ValueError, match=r"one operator per problem \(P = 2\). Got a list of length 3"):
        solve_sparse(y, [A, A, A])
    with pytest.raises(ValueError, match=r"'A\[1\]' has m=20 rows"):
        solve_sparse(y, [A, Gaussian(20, in_shape=shape, seed=1)])
    with pytest.raises(TypeError, match=r"'A' parameter must be a ganprior LinearOperator"):
        solve_sparse(y, "gaussian")


def test_recover_wiring():
    import ganprior

    shape = (1, 8, 8)
    x = smooth_images(2, shape, seed=16)
    A = Gaussian(40, in_shape=shape, seed=17, dtype=torch.float64)
    y = measure(A, x)
    for method, basis in (("lasso", "pixel"), ("lasso-dct", "dct"), ("lasso-wavelet", "wavelet")):
        np.testing.assert_allclose(ganprior.recover(y, A, method=method), solve_sparse(y, A, basis=basis), atol=1e-12)
