"""Reliability of the operators (issue 15): integer, mixed-precision and complex inputs, bad dtypes, dottest's rtol."""

import numpy as np
import pytest
import scipy.fft
import torch
from tests.operators.test_operators import OPERATOR_NAMES, make_operators

from ganprior import operators as ops


@pytest.mark.parametrize("name", OPERATOR_NAMES)
@pytest.mark.parametrize("int_dtype", [torch.uint8, torch.int64, torch.bool])
def test_integer_input_is_computed_in_floating_point(name, int_dtype):
    A = make_operators(dtype=torch.float32)[name]
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 2 if int_dtype == torch.bool else 256, (3, *A.in_shape), generator=gen).to(int_dtype)
    y = A(x)
    assert y.dtype == torch.float32  # the operator's dtype, or the default dtype for buffer-free operators
    expected = A(x.to(torch.float32))
    assert float(expected.abs().max()) > 0
    torch.testing.assert_close(y, expected)
    yi = torch.randint(0, 256, (3, A.m), generator=gen).to(int_dtype)
    torch.testing.assert_close(A.adjoint(yi), A.adjoint(yi.to(torch.float32)))


def test_subsampled_dct_of_a_uint8_image_is_not_zero():
    """The reproducer of the issue: the scale sqrt(2/n) was built in uint8 and the result was all zeros."""
    img = torch.randint(0, 256, (1, 28, 28), generator=torch.Generator().manual_seed(1)).to(torch.uint8)
    A = ops.SubsampledDCT(100, in_shape=(1, 28, 28), seed=0)
    y = A(img)
    assert y.dtype == torch.get_default_dtype() and float(y.abs().max()) > 1.0
    torch.testing.assert_close(y.double(), A(img.double()), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(ops.dct(torch.arange(8)).numpy(), scipy.fft.dct(np.arange(8.0), norm="ortho"),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ops.idct(torch.arange(8)).numpy(), scipy.fft.idct(np.arange(8.0), norm="ortho"),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool, torch.complex64, "float32",
                                   np.float32])
def test_non_floating_dtypes_are_rejected(dtype):
    with pytest.raises(TypeError, match="'dtype' parameter of Gaussian must be a real floating-point torch.dtype"):
        ops.Gaussian(20, n=64, seed=0, dtype=dtype)
    with pytest.raises(TypeError, match="'dtype' parameter of Matrix must be a real floating-point torch.dtype"):
        ops.Matrix(np.ones((2, 3)), dtype=dtype)


def test_integer_matrix_becomes_float32():
    A = ops.Matrix(np.arange(6).reshape(2, 3))
    assert A.matrix.dtype == torch.float32
    torch.testing.assert_close(A(torch.ones(3)), torch.tensor([3.0, 12.0]))


@pytest.mark.parametrize("op_dtype, x_dtype, out_dtype", [
    (torch.float64, torch.float32, torch.float64),
    (torch.float32, torch.float64, torch.float64),
    (torch.float32, torch.float32, torch.float32),
    (torch.float64, torch.int64, torch.float64),
])
def test_matrix_computes_in_the_promoted_dtype(op_dtype, x_dtype, out_dtype):
    A = ops.Gaussian(20, n=64, seed=0, dtype=op_dtype)
    x = torch.randn(4, 64, generator=torch.Generator().manual_seed(0)).mul(10).to(x_dtype)
    y = A(x)
    assert y.dtype == out_dtype
    exact = x.double() @ A.matrix.double().T
    tol = 1e-12 if out_dtype == torch.float64 else 1e-4
    torch.testing.assert_close(y.double(), exact, rtol=tol, atol=tol)
    back = A.adjoint(y.to(x_dtype))
    assert back.dtype == out_dtype
    torch.testing.assert_close(back.double(), y.to(x_dtype).double() @ A.matrix.double(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_complex_input_is_a_type_error(name):
    A = make_operators()[name]
    x = torch.randn(2, *A.in_shape, dtype=torch.complex128)
    with pytest.raises(TypeError, match="expects real input.*complex128"):
        A(x)
    with pytest.raises(TypeError, match="expects real input"):
        A.adjoint(torch.randn(2, A.m, dtype=torch.complex64))


def test_dct_input_errors():
    with pytest.raises(TypeError, match="dct expects real input"):
        ops.dct(torch.randn(4, dtype=torch.complex64))
    with pytest.raises(TypeError, match="idct expects a torch.Tensor"):
        ops.idct(np.ones(4))


@pytest.mark.parametrize("rtol, exc, match", [
    (-1, ValueError, r"'rtol' parameter of dottest must be a real number >= 0.0. Got -1.0"),
    (float("nan"), ValueError, r"'rtol' parameter of dottest must be finite"),
    ("1e-5", TypeError, r"'rtol' parameter of dottest must be a real number"),
])
def test_dottest_rejects_bad_rtol(rtol, exc, match):
    with pytest.raises(exc, match=match):
        ops.dottest(ops.Identity(4), rtol=rtol)


def test_dottest_rtol_zero_is_allowed():
    lhs, rhs = ops.dottest(ops.Identity(4), rtol=0.0)  # the identity is exactly self-adjoint
    assert lhs == rhs
