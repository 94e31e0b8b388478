"""Metrics against closed forms."""

import math

import numpy as np
import pytest
import torch

from ganprior import metrics


def test_mse_and_psnr_closed_form():
    x = np.zeros((2, 1, 4, 4))
    ref = np.full((2, 1, 4, 4), 0.1)
    ref[1] = 0.5
    np.testing.assert_allclose(metrics.mse(x, ref), [0.01, 0.25])
    np.testing.assert_allclose(metrics.psnr(x, ref), [20.0, 10 * math.log10(4)])
    np.testing.assert_allclose(metrics.psnr(x, ref, data_range=2.0), [20.0 + 20 * math.log10(2), 10 * math.log10(16)])
    t = metrics.mse(torch.zeros(3, 5, dtype=torch.float32), torch.ones(3, 5))
    assert t.dtype == torch.float32 and t.tolist() == [1.0, 1.0, 1.0]
    assert float(metrics.mse(np.zeros(4), np.ones(4), batched=False)) == 1.0


def test_ssim_identity_and_constant_images():
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 16, 16))
    np.testing.assert_allclose(metrics.ssim(x, x), [1.0, 1.0], atol=1e-12)
    # constant images a and b: variances and covariance vanish, SSIM = (2ab + C1) / (a^2 + b^2 + C1)
    a, b = 0.3, 0.7
    c1 = (0.01) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    got = metrics.ssim(np.full((1, 1, 12, 12), a), np.full((1, 1, 12, 12), b))
    np.testing.assert_allclose(got, [expected], rtol=1e-10)


def test_ssim_of_negated_zero_mean_pattern():
    """For y = -x with zero local mean structure far above C1, C2 the SSIM tends to -1."""
    pattern = np.indices((32, 32)).sum(0) % 2 * 2.0 - 1.0  # checkerboard +-1: local means ~0
    got = metrics.ssim(pattern[None, None], -pattern[None, None], data_range=2.0)
    assert got[0] == pytest.approx(-1.0, abs=2e-2)


def test_metric_errors():
    with pytest.raises(ValueError, match="same shape"):
        metrics.mse(np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError, match="two numpy arrays or two torch tensors"):
        metrics.psnr(np.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="win_size' parameter of ssim must be odd"):
        metrics.ssim(np.zeros((1, 16, 16)), np.zeros((1, 16, 16)), win_size=4)


@pytest.mark.parametrize("fn", [metrics.mse, metrics.psnr, metrics.ssim])
def test_complex_images_are_a_type_error(fn):
    """The imaginary part used to be dropped silently."""
    x = np.ones((1, 1, 12, 12))
    for a, b in ((x + 1j, x), (x, x * 1j), (torch.from_numpy(x + 1j), torch.from_numpy(x))):
        with pytest.raises(TypeError, match=f"{fn.__name__} expects real images.*complex"):
            fn(a, b)
    with pytest.raises(TypeError, match=f"{fn.__name__} expects numeric images"):
        fn(x.astype(object), x)


def test_integer_images_are_accepted():
    x = np.zeros((2, 1, 12, 12), dtype=np.uint8)
    ref = np.full((2, 1, 12, 12), 2, dtype=np.uint8)
    np.testing.assert_allclose(metrics.mse(x, ref), [4.0, 4.0])  # no uint8 wrap-around (0 - 2 = 254)
    np.testing.assert_allclose(metrics.psnr(x, ref, data_range=255.0), [10 * math.log10(255.0**2 / 4)] * 2)
