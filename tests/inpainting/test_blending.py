"""Poisson / alpha blending and the harmonic fill: exactness on harmonic functions, known pixels untouched."""

import numpy as np
import pytest
import torch

from ganprior.blending import alpha_blend, blend, harmonic_fill, poisson_blend
from ganprior.masks import center_mask, random_mask

H, W = 16, 14


def harmonic(a=0.3, b=0.02, c=-0.03, d=0.004):
    """x = a + b*col + c*row + d*(col^2 - row^2): its 5-point Laplacian is exactly zero."""
    r, q = np.meshgrid(np.arange(H, dtype=float), np.arange(W, dtype=float), indexing="ij")
    return a + b * q + c * r + d * (q**2 - r**2)


def interior_mask():
    m = np.ones((H, W))
    m[3:11, 4:9] = 0
    m[12, 2] = 0
    return m


def test_harmonic_fill_reproduces_harmonic_function():
    h = harmonic()[None]
    np.testing.assert_allclose(harmonic_fill(h, interior_mask()), h, atol=1e-12)


def test_poisson_blend_with_harmonic_source_reproduces_harmonic_function():
    h = harmonic()[None]
    g = harmonic(a=5.0, b=-0.1, c=0.2, d=-0.01)[None]   # any harmonic source: its Laplacian is zero too
    y = h.copy()
    y[:, interior_mask() == 0] = np.nan                  # hole values are never read
    np.testing.assert_allclose(poisson_blend(y, g, interior_mask()), h, atol=1e-12)


@pytest.mark.parametrize("mask_kind", ["interior", "border", "random"])
def test_poisson_source_term_constant_offset(mask_kind):
    rng = np.random.default_rng(0)
    g = rng.random((2, 3, H, W))
    if mask_kind == "interior":
        mask = interior_mask()
    elif mask_kind == "border":                           # the hole touches the image border
        mask = np.ones((2, 1, H, W))
        mask[0, :, :7] = 0
        mask[1, :, :, 9:] = 0
    else:
        mask = random_mask((2, 3, H, W), missing=0.8, seed=0).numpy()
        mask[:, 1] = np.roll(mask[:, 1], 1, axis=-1)      # different masks per channel
    x = poisson_blend(g - 0.25, g, mask)
    np.testing.assert_allclose(x, g - 0.25, atol=1e-12)


def test_poisson_matches_dense_least_squares():
    """The blend is argmin sum over neighbour pairs touching the hole of ((x_p - x_q) - (g_p - g_q))^2."""
    rng = np.random.default_rng(1)
    h, w = 5, 6
    y, g = rng.random((1, h, w)), rng.random((1, h, w))
    known = np.ones((h, w), bool)
    known[1:4, 0:3] = False
    known[0, 5] = False
    hole = np.flatnonzero(~known)
    rows, rhs = [], []
    for p in range(h * w):
        for q in (p + 1 if (p + 1) % w else None, p + w if p + w < h * w else None):
            if q is None or (known.flat[p] and known.flat[q]):
                continue
            row = np.zeros(hole.size)
            target = g.flat[p] - g.flat[q]
            for node, sign in ((p, 1.0), (q, -1.0)):
                if known.flat[node]:
                    target -= sign * y.flat[node]
                else:
                    row[np.searchsorted(hole, node)] = sign
            rows.append(row)
            rhs.append(target)
    sol = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    x = poisson_blend(y, g, known.astype(float))
    np.testing.assert_allclose(x[0].flat[hole], sol, atol=1e-10)


@pytest.mark.parametrize("method", ["poisson", "alpha"])
def test_known_pixels_never_change(method):
    y = torch.rand(3, 2, H, W)
    mask = random_mask((3, 1, H, W), missing=0.5, seed=2)
    x = blend(y, torch.rand(3, 2, H, W), mask, method=method)
    known = mask.expand_as(y).bool()
    assert torch.equal(x[known], y[known])
    assert torch.equal(harmonic_fill(y, mask)[known], y[known])


def test_alpha_and_none():
    y, g = np.zeros((1, H, W)), np.ones((1, H, W))
    mask = center_mask((H, W)).numpy()
    np.testing.assert_array_equal(alpha_blend(y, g, mask), 1 - mask[None])
    np.testing.assert_array_equal(blend(y, g, mask, method="none"), g)


def test_types_dtypes_and_single_vs_batch():
    mask = interior_mask()
    y32 = np.random.default_rng(0).random((2, 1, H, W)).astype(np.float32)
    out = harmonic_fill(y32, mask)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == y32.shape
    np.testing.assert_array_equal(harmonic_fill(y32[1], mask), out[1])
    t = torch.from_numpy(y32).double()
    out_t = poisson_blend(t, t.flip(-1), torch.from_numpy(mask))
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float64


def test_all_missing_channel():
    g = np.random.default_rng(0).random((1, H, W))
    np.testing.assert_array_equal(poisson_blend(np.zeros((1, H, W)), g, np.zeros((H, W))), g)
    with pytest.raises(ValueError, match="must leave at least one known pixel in every image and channel"):
        harmonic_fill(np.zeros((1, H, W)), np.zeros((H, W)))


def test_blending_errors():
    y = np.zeros((1, H, W))
    with pytest.raises(ValueError, match=r"'method' parameter of blend must be one of \['alpha', 'none', 'poisson'\]"):
        blend(y, y, np.ones((H, W)), method="seamless")
    with pytest.raises(ValueError, match=r"Shape mismatch: the 'mask' parameter of harmonic_fill must have one of"):
        harmonic_fill(y, np.ones((H, W + 1)))
    with pytest.raises(ValueError, match=r"must hold only 0 \(missing\) and 1 \(known\). Got 14 other values, e.g. 0.5"):
        poisson_blend(y, y, np.where(np.eye(H, W) > 0, 0.5, 1.0))
    with pytest.raises(ValueError, match=r"Shape mismatch: the 'generated' parameter of poisson_blend"):
        poisson_blend(y, np.zeros((1, H, H)), np.ones((H, W)))
    with pytest.raises(TypeError, match=r"'image' parameter of harmonic_fill must be a floating-point image"):
        harmonic_fill(np.zeros((1, H, W), dtype=np.uint8), np.ones((H, W)))
    with pytest.raises(ValueError, match=r"'image' parameter of alpha_blend must be finite on the known pixels"):
        alpha_blend(np.full((1, H, W), np.nan), y, np.ones((H, W)))
