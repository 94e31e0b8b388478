"""Contract tests over every operator: adjointness, batching, dense equivalence, dtype, device."""

import math

import numpy as np
import pytest
import scipy.fft
import torch

from ganprior import operators as ops


def make_operators(dtype=torch.float64, device="cpu"):
    mask = torch.rand(1, 6, 6, generator=torch.Generator().manual_seed(3)) > 0.4
    return {
        "gaussian": ops.Gaussian(20, in_shape=(1, 6, 6), seed=0, dtype=dtype),
        "matrix": ops.Matrix(np.random.default_rng(0).standard_normal((7, 36)), in_shape=(1, 6, 6), dtype=dtype),
        "identity": ops.Identity((1, 6, 6)),
        "mask": ops.Mask(mask),
        "downsample": ops.Downsample((1, 6, 6), 2),
        "subsampled_dct": ops.SubsampledDCT(17, in_shape=(1, 6, 6), seed=1),
        "composed": ops.Gaussian(5, n=36, seed=2, dtype=dtype) @ ops.SubsampledDCT(36, in_shape=(1, 6, 6), seed=4),
        "adjoint_of": ops.Gaussian(36, n=9, seed=5, dtype=dtype).H,
        "scaled": 3.0 * ops.Downsample((1, 6, 6), 3),
    }


OPERATOR_NAMES = list(make_operators())


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_dottest_passes(name):
    A = make_operators()[name]
    lhs, rhs = ops.dottest(A, seed=7)
    assert lhs == pytest.approx(rhs, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_batch_matches_single_and_dense(name):
    A = make_operators()[name]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, *A.in_shape, generator=gen, dtype=torch.float64)
    y = A(x)
    assert y.shape == (2, 3, A.m)
    dense = A.to_dense()
    assert dense.shape == (A.m, A.n)
    for i in range(2):
        for j in range(3):
            single = A(x[i, j])
            assert single.shape == (A.m,)
            torch.testing.assert_close(y[i, j], single, rtol=1e-6, atol=1e-9)
            torch.testing.assert_close(single.double(), dense @ x[i, j].reshape(-1), rtol=1e-6, atol=1e-9)
    # flat input is accepted too, and the adjoint batches
    torch.testing.assert_close(A(x.reshape(2, 3, A.n)), y)
    back = A.adjoint(y)
    assert back.shape == (2, 3, *A.in_shape)
    torch.testing.assert_close(back.reshape(6, -1), (y.reshape(6, -1).double() @ dense).to(back.dtype),
                               rtol=1e-6, atol=1e-9)


def test_dottest_catches_a_wrong_adjoint():
    class Broken(ops.Matrix):
        def _adjoint(self, y):
            return 1.01 * y @ self.matrix

    with pytest.raises(AssertionError, match="Dot test failed"):
        ops.dottest(Broken(torch.randn(5, 8, dtype=torch.float64)))


def test_gaussian_scaling_and_seed():
    A = ops.Gaussian(400, n=300, seed=0, dtype=torch.float64)
    # entries N(0, 1/m): the empirical variance over 120k entries is within a few percent of 1/m
    assert A.matrix.var().item() * 400 == pytest.approx(1.0, rel=0.02)
    assert A.matrix.mean().abs().item() < 3 / math.sqrt(120000) / math.sqrt(400) * 3
    torch.testing.assert_close(A.matrix, ops.Gaussian(400, n=300, seed=0, dtype=torch.float64).matrix)
    assert not torch.equal(A.matrix, ops.Gaussian(400, n=300, seed=1, dtype=torch.float64).matrix)


@pytest.mark.parametrize("n", [1, 2, 7, 64, 785])
def test_dct_matches_scipy(n):
    x = np.random.default_rng(n).standard_normal((3, n))
    np.testing.assert_allclose(ops.dct(torch.from_numpy(x)).numpy(), scipy.fft.dct(x, norm="ortho"), atol=1e-12)
    np.testing.assert_allclose(ops.idct(torch.from_numpy(x)).numpy(), scipy.fft.idct(x, norm="ortho"), atol=1e-12)
    # float32 stays float32 (the twiddle factors are cached per dtype: a float64 call first must not leak into it)
    x32 = torch.from_numpy(x).float()
    for f, ref in ((ops.dct, scipy.fft.dct), (ops.idct, scipy.fft.idct)):
        out = f(x32)
        assert out.dtype == torch.float32
        np.testing.assert_allclose(out.numpy(), ref(x32.numpy().astype(np.float64), norm="ortho"), atol=1e-5)
    # the gradients through the cached factors (the first row; 785 inputs x 3 rows took 5 s on an AVX2 CPU)
    t = torch.from_numpy(x[:1]).requires_grad_(True)
    assert torch.autograd.gradcheck(ops.dct, (t,)) and torch.autograd.gradcheck(ops.idct, (t,))


def test_subsampled_dct_structure():
    A = ops.SubsampledDCT(50, n=256, seed=0)
    dense = A.to_dense()
    # rows orthogonal with A A^T = (n/m) I
    torch.testing.assert_close(dense @ dense.T, torch.eye(50, dtype=torch.float64) * 256 / 50, atol=1e-5, rtol=0)
    # equals sqrt(n/m) * S C D with the explicit DCT matrix
    C = torch.from_numpy(scipy.fft.dct(np.eye(256), norm="ortho", axis=0))
    expected = math.sqrt(256 / 50) * C[A.rows] * A.signs.double()
    torch.testing.assert_close(dense, expected, atol=1e-5, rtol=0)


def test_subsampled_dct_is_n_log_n_in_memory():
    # n = 2**20 would need 8 TB as a dense Gaussian at m = n / 2; the structured operator stores O(n)
    A = ops.SubsampledDCT(2**19, n=2**20, seed=0)
    nbytes = sum(b.numel() * b.element_size() for b in A.buffers())
    assert nbytes < 20 * 2**20
    y = A(torch.randn(2**20))
    assert y.shape == (2**19,)


def test_mask_keeps_known_pixels():
    mask = torch.tensor([[1, 0], [0, 1]])
    A = ops.Mask(mask)
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    torch.testing.assert_close(A(x), torch.tensor([1.0, 4.0]))
    torch.testing.assert_close(A.adjoint(A(x)), torch.tensor([[1.0, 0.0], [0.0, 4.0]]))
    assert torch.equal(A.mask, mask.bool())


def test_downsample_averages_blocks():
    x = torch.arange(16.0).reshape(1, 4, 4)
    A = ops.Downsample((1, 4, 4), 2)
    torch.testing.assert_close(A(x), torch.tensor([2.5, 4.5, 10.5, 12.5]))


def test_composition_and_shapes():
    A = ops.Gaussian(5, n=8, seed=0, dtype=torch.float64)
    B = ops.Gaussian(8, n=12, seed=1, dtype=torch.float64)
    C = A @ B
    assert C.shape == (5, 12)
    torch.testing.assert_close(C.to_dense(), A.matrix @ B.matrix)
    torch.testing.assert_close(A.H.to_dense(), A.matrix.T)
    with pytest.raises(ValueError, match="Cannot compose"):
        B @ A


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_float32_stays_float32(name):
    A = make_operators(dtype=torch.float32)[name]
    x = torch.randn(2, *A.in_shape)
    assert A(x).dtype == torch.float32
    assert A.adjoint(A(x)).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_operators_on_cuda(name):
    A = make_operators(dtype=torch.float32)[name].to("cuda")
    x = torch.randn(2, *A.in_shape)
    torch.testing.assert_close(A(x.cuda()).cpu(), make_operators(dtype=torch.float32)[name](x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "build, exc, message",
    [
        (lambda: ops.Gaussian(0, n=5), ValueError, r"'m' parameter of Gaussian must be an int >= 1. Got 0"),
        (lambda: ops.Gaussian(5), ValueError, r"give 'n' or 'in_shape'"),
        (lambda: ops.Matrix([[1.0, 2.0]]), TypeError, r"'matrix' parameter must be a numpy.ndarray or torch.Tensor"),
        (lambda: ops.Matrix(np.ones(3)), ValueError, r"must be 2-D"),
        (lambda: ops.Matrix(np.array([[np.nan, 1.0]])), ValueError, r"'matrix' parameter must hold only finite"),
        (lambda: ops.Matrix(np.ones((2, 6)), in_shape=(1, 2, 2)), ValueError, r"holds 4 pixels but the matrix has n=6"),
        (lambda: ops.Mask(torch.zeros(3, 3)), ValueError, r"marks no known pixel"),
        (lambda: ops.Mask(torch.full((2, 2), 2)), ValueError, r"only 0 and 1"),
        (lambda: ops.Downsample((1, 5, 5), 2), ValueError, r"divisible by factor=2"),
        (lambda: ops.SubsampledDCT(10, n=5), ValueError, r"must be <= n=5"),
    ],
)
def test_operator_construction_errors(build, exc, message):
    with pytest.raises(exc, match=message):
        build()


def test_operator_input_shape_error():
    A = ops.Gaussian(3, in_shape=(1, 4, 4), seed=0)
    with pytest.raises(ValueError, match=r"expects input of shape \(\*batch, 1, 4, 4\) or \(\*batch, 16\). Got shape \(2, 15\)"):
        A(torch.zeros(2, 15))
    with pytest.raises(ValueError, match=r"adjoint expects input of shape \(\*batch, 3\)"):
        A.adjoint(torch.zeros(4))
