"""The torch DCT2 / Wavelet operators: equal to scipy / PyWavelets, orthonormal, adjoint-checked, differentiable."""

import numpy as np
import pytest
import pywt
import scipy.fft
import torch

from ganprior import bases
from ganprior.operators import DCT2, Wavelet, dottest

CASES = [("db1", (3, 16, 16)), ("db1", (1, 28, 28)), ("db2", (2, 8, 32)), ("db4", (1, 28, 28)),
         ("sym3", (3, 16, 16)), ("coif1", (1, 24, 24))]


@pytest.mark.parametrize("wavelet, shape", CASES)
def test_wavelet_equals_pywavelets_and_is_orthonormal(wavelet, shape):
    W = Wavelet(shape, wavelet)
    x = torch.randn(3, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    coeffs = pywt.wavedec2(x.numpy(), wavelet, mode="periodization", level=W.level, axes=(-2, -1))
    ref = [coeffs[0].reshape(3, shape[0], -1)] + [d.reshape(3, shape[0], -1) for lvl in coeffs[1:] for d in lvl]
    np.testing.assert_allclose(W(x).numpy(), np.concatenate(ref, axis=-1).reshape(3, -1), atol=1e-12)
    torch.testing.assert_close(W.adjoint(W(x)), x, rtol=0, atol=1e-10)
    dottest(W)


def test_dct2_equals_scipy_and_is_orthonormal():
    D = DCT2((3, 8, 12))
    x = torch.randn(2, 3, 8, 12, dtype=torch.float64)
    ref = scipy.fft.dctn(x.numpy(), type=2, axes=(-2, -1), norm="ortho").reshape(2, -1)
    np.testing.assert_allclose(D(x).numpy(), ref, atol=1e-12)
    torch.testing.assert_close(D.adjoint(D(x)), x, rtol=0, atol=1e-12)
    dottest(D)


@pytest.mark.parametrize("op", [DCT2((1, 8, 8)), Wavelet((1, 8, 8), "db2")], ids=["dct", "wavelet"])
def test_gradients_flow_and_float32_stays_float32(op):
    # the gradient of <c, Psi x> in x is Psi^T c: the adjoint, computed by autograd
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 64, dtype=torch.float64)
    (op(x) * c).sum().backward()
    torch.testing.assert_close(x.grad, op.adjoint(c), rtol=0, atol=1e-12)
    assert op(torch.randn(1, 1, 8, 8)).dtype == torch.float32


def test_bases_and_basis_operator_use_the_torch_transforms():
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16))
    for basis, op in ((bases.DCT2((3, 16, 16)), DCT2((3, 16, 16))),
                      (bases.Wavelet("db2", image_shape=(3, 16, 16)), Wavelet((3, 16, 16), "db2"))):
        np.testing.assert_allclose(basis.analysis(x), op(torch.from_numpy(x)).numpy(), atol=1e-12)
        P = bases.BasisOperator(basis, (3, 16, 16))
        t = torch.from_numpy(x).requires_grad_(True)
        P(t).sum().backward()  # differentiable (the old BasisOperator detached its input)
        assert t.grad is not None and float(t.grad.abs().sum()) > 0


@pytest.mark.parametrize("op", [DCT2((1, 8, 8)), Wavelet((1, 8, 8))], ids=["dct", "wavelet"])
def test_integer_images_are_transformed_complex_rejected(op):
    x = torch.randint(0, 255, (2, 1, 8, 8), dtype=torch.uint8)
    torch.testing.assert_close(op(x), op(x.to(torch.get_default_dtype())))
    with pytest.raises(TypeError):
        op(torch.zeros(1, 1, 8, 8, dtype=torch.complex64))


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"'in_shape' parameter of DCT2 must be \(H, W\) or \(C, H, W\)"):
        DCT2((4,))
    with pytest.raises(ValueError, match="orthogonal wavelets"):
        Wavelet((1, 8, 8), "bior2.2")
    with pytest.raises(ValueError, match="'level' parameter of Wavelet must be at most 3"):
        Wavelet((1, 8, 8), "db1", level=4)
