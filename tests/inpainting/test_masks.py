"""Masks of Yeh et al.: area fractions, seeding, shapes and error messages."""

import numpy as np
import pytest
import torch

from ganprior.masks import (
    MASK_TYPES,
    center_mask,
    half_mask,
    make_mask,
    pattern_mask,
    random_mask,
)


@pytest.mark.parametrize("shape", [(64, 64), (3, 64, 64), (1, 28, 28), (5, 3, 64, 64)])
def test_center_mask_is_a_centred_quarter(shape):
    m = center_mask(shape)
    assert m.shape == shape and m.dtype == torch.float32
    H, W = shape[-2:]
    assert float((m == 0).float().mean()) == pytest.approx(0.25)
    # centred: the missing block is symmetric about the image centre (up to the odd-size floor)
    rows = torch.nonzero((m.reshape(-1, H, W)[0] == 0).any(1))[:, 0]
    assert rows.min() + rows.max() in (H - 1, H - 2)


def test_center_mask_area():
    m = center_mask((10, 10), area=0.16)
    assert int((m == 0).sum()) == 16
    with pytest.raises(ValueError, match=r"'area' parameter of center_mask must be in \(0, 1\]. Got 1.5"):
        center_mask((10, 10), area=1.5)


@pytest.mark.parametrize("missing", [0.0, 0.5, 0.8, 1.0])
def test_random_mask_fraction_is_exact(missing):
    m = random_mask((3, 20, 20), missing=missing, seed=0)
    assert int((m[0] == 0).sum()) == round(missing * 400)
    assert torch.equal(m[0], m[1]) and torch.equal(m[0], m[2])   # one pixel mask for every channel


def test_random_mask_default_is_80_percent_and_seeded():
    a, b, c = random_mask((64, 64), seed=3), random_mask((64, 64), seed=3), random_mask((64, 64), seed=4)
    assert float((a == 0).float().mean()) == pytest.approx(0.8, abs=1e-3)
    assert torch.equal(a, b) and not torch.equal(a, c)
    g = torch.Generator().manual_seed(3)
    assert torch.equal(random_mask((64, 64), seed=g), a)


def test_batched_masks_draw_one_per_image_in_order():
    batch = random_mask((4, 1, 16, 16), seed=1)
    assert not torch.equal(batch[0], batch[1])
    assert torch.equal(batch[0], random_mask((1, 16, 16), seed=1))


@pytest.mark.parametrize("side,missing_cols,missing_rows", [("left", slice(0, 4), slice(None)),
                                                             ("right", slice(4, 8), slice(None)),
                                                             ("top", slice(None), slice(0, 3)),
                                                             ("bottom", slice(None), slice(3, 6))])
def test_half_mask_sides(side, missing_cols, missing_rows):
    m = half_mask((6, 8), side=side)
    expected = torch.ones(6, 8)
    expected[missing_rows, missing_cols] = 0
    assert torch.equal(m, expected)


def test_half_mask_random_side_is_seeded_and_covers_all_four():
    masks = half_mask((40, 1, 8, 8), seed=0)
    assert torch.equal(masks, half_mask((40, 1, 8, 8), seed=0))
    assert {float(m.mean()) for m in masks} == {0.5}
    patterns = {tuple(m.flatten().tolist()) for m in masks}
    assert len(patterns) == 4


def test_pattern_mask_is_blobby_and_at_least_a_quarter_missing():
    from scipy import ndimage

    m = pattern_mask((64, 64), seed=0)
    hole = (m == 0).numpy()
    assert hole.mean() >= 0.25 and hole.mean() == pytest.approx(0.3, abs=1e-3)
    _, n_blobs = ndimage.label(hole)
    assert n_blobs <= hole.sum() / 50   # a few large blobs, not scattered pixels
    assert torch.equal(m, pattern_mask((64, 64), seed=0))
    assert not torch.equal(m, pattern_mask((64, 64), seed=1))


def test_make_mask_dispatch_and_values():
    for kind in MASK_TYPES:
        m = make_mask(kind, (2, 3, 16, 16), seed=0)
        assert m.shape == (2, 3, 16, 16) and m.dtype == torch.float32
        assert set(np.unique(m.numpy())) <= {0.0, 1.0}
    assert torch.equal(make_mask("random", (8, 8), seed=2, missing=0.5), random_mask((8, 8), seed=2, missing=0.5))


def test_mask_errors():
    with pytest.raises(ValueError, match=r"'kind' parameter of make_mask must be one of "
                                         r"\['center', 'half', 'pattern', 'random'\]. Got 'box'"):
        make_mask("box", (8, 8))
    with pytest.raises(ValueError, match=r"'shape' parameter of random_mask must be \(H, W\), \(C, H, W\) or"):
        random_mask((8,))
    with pytest.raises(ValueError, match=r"'missing' parameter of random_mask must be in \[0, 1\]. Got 1.2"):
        random_mask((8, 8), missing=1.2)
    with pytest.raises(ValueError, match=r"'missing' parameter of pattern_mask must be a real number >= 0.25"):
        pattern_mask((8, 8), missing=0.1)
    with pytest.raises(ValueError, match=r"'side' parameter of half_mask must be one of \['bottom', 'left'"):
        half_mask((8, 8), side="middle")
    with pytest.raises(TypeError, match=r"'seed' parameter must be None, an int >= 0 or a torch.Generator"):
        random_mask((8, 8), seed="zero")
