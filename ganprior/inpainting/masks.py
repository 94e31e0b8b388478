r"""Known-pixel masks for inpainting: the four mask types of Yeh et al. (2017).

Every function returns a float32 :class:`torch.Tensor` on the CPU with
**1 = known pixel, 0 = missing pixel**, of the requested ``shape``:

- ``(H, W)`` -- one mask;
- ``(C, H, W)`` -- one pixel mask repeated over the ``C`` channels;
- ``(N, C, H, W)`` -- ``N`` masks, each drawn independently (in order, from
  one random stream), each repeated over its channels.

The mask types are :func:`center_mask` (a centred block covering 25% of the
area), :func:`random_mask` (a given fraction of pixels missing, default 80%),
:func:`half_mask` (the left, right, top or bottom half missing) and
:func:`pattern_mask` (random blobs, at least 25% missing); :func:`make_mask`
picks one by name.  Randomness is seeded through
:func:`ganprior._validation.check_seed`.  :func:`weighted_mask` turns a mask
into the contextual-loss weights of semantic inpainting.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import check_choice, check_float, check_seed, describe
from .blending import check_mask
from .options import check_window

__all__ = ["HALF_SIDES", "MASK_TYPES", "center_mask", "half_mask", "make_mask", "pattern_mask", "random_mask",
           "weighted_mask"]

MASK_TYPES = ("center", "half", "pattern", "random")
HALF_SIDES = ("bottom", "left", "right", "top")


def _check_shape(shape, owner):
    """``shape`` as a tuple of 2 to 4 positive ints; returns (shape, number of masks or None, H, W)."""
    ok = isinstance(shape, (tuple, list, torch.Size)) and 2 <= len(shape) <= 4 and all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in shape)
    if not ok:
        raise ValueError(f"The 'shape' parameter of {owner} must be (H, W), (C, H, W) or (N, C, H, W) with "
                         f"positive int sizes. Got {describe(shape)} instead.")
    shape = tuple(int(s) for s in shape)
    return shape, (shape[0] if len(shape) == 4 else None), shape[-2], shape[-1]


def _expand(pixel_masks, shape):
    """Stack (N, H, W) pixel masks to ``shape`` (channels repeated)."""
    if len(shape) == 2:
        return pixel_masks[0].contiguous()
    if len(shape) == 3:
        return pixel_masks[0][None].expand(shape).contiguous()
    return pixel_masks[:, None].expand(shape).contiguous()


def center_mask(shape, *, area=0.25):
    r"""A centred block of missing pixels covering a fraction ``area`` of the image.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
    area : float
        Fraction of the image area to remove, in (0, 1] (default 0.25).

    Returns
    -------
    torch.Tensor
        float32 mask of shape ``shape``, 1 = known.

    Raises
    ------
    ValueError
        If ``shape`` or ``area`` is invalid.

    Notes
    -----
    The block has sides :math:`h = \mathrm{round}(\sqrt{a}\,H)` and
    :math:`w = \mathrm{round}(\sqrt{a}\,W)` and starts at
    :math:`(\lfloor (H-h)/2 \rfloor, \lfloor (W-w)/2 \rfloor)`; for a
    64x64 image and :math:`a = 0.25` it is the central 32x32 square.

    Examples
    --------
    >>> from ganprior.inpainting import center_mask
    >>> m = center_mask((8, 8))
    >>> float(1 - m.mean())
    0.25
    >>> m[2:6, 2:6].sum().item()
    0.0
    """
    shape, _, H, W = _check_shape(shape, "center_mask")
    area = check_float(area, "area", minimum=0.0, strict=True, owner="center_mask")
    if area > 1.0:
        raise ValueError(f"The 'area' parameter of center_mask must be in (0, 1]. Got {area} instead.")
    h = min(H, max(1, round(math.sqrt(area) * H)))
    w = min(W, max(1, round(math.sqrt(area) * W)))
    m = torch.ones(1, H, W)
    top, left = (H - h) // 2, (W - w) // 2
    m[:, top:top + h, left:left + w] = 0.0
    n = shape[0] if len(shape) == 4 else 1
    return _expand(m.expand(n, H, W), shape)


def random_mask(shape, *, missing=0.8, seed=None):
    r"""Missing pixels drawn uniformly at random, exactly a fraction ``missing`` of them.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
    missing : float
        Fraction of pixels to remove, in [0, 1] (default 0.8, the paper's value).
    seed : None, int or torch.Generator
        Seed of the draw.

    Returns
    -------
    torch.Tensor
        float32 mask of shape ``shape``, 1 = known.

    Raises
    ------
    TypeError, ValueError
        If ``shape``, ``missing`` or ``seed`` is invalid.

    Notes
    -----
    Each mask removes :math:`\mathrm{round}(m HW)` pixels chosen by a random
    permutation, the same pixels in every channel.

    Examples
    --------
    >>> from ganprior.inpainting import random_mask
    >>> m = random_mask((10, 10), missing=0.8, seed=0)
    >>> int((m == 0).sum())
    80
    """
    shape, n, H, W = _check_shape(shape, "random_mask")
    missing = check_float(missing, "missing", minimum=0.0, owner="random_mask")
    if missing > 1.0:
        raise ValueError(f"The 'missing' parameter of random_mask must be in [0, 1]. Got {missing} instead.")
    gen = check_seed(seed)
    count = round(missing * H * W)
    masks = torch.ones(n or 1, H * W)
    for i in range(n or 1):
        masks[i, torch.randperm(H * W, generator=gen)[:count]] = 0.0
    return _expand(masks.view(-1, H, W), shape)


def half_mask(shape, *, side=None, seed=None):
    r"""One half of the image missing: the left, right, top or bottom half.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
    side : {"bottom", "left", "right", "top"}, optional
        The missing half.  By default each mask's side is drawn uniformly
        from the four with ``seed``.
    seed : None, int or torch.Generator
        Seed of the side draw (unused when ``side`` is given).

    Returns
    -------
    torch.Tensor
        float32 mask of shape ``shape``, 1 = known.

    Raises
    ------
    TypeError, ValueError
        If ``shape``, ``side`` or ``seed`` is invalid.

    Notes
    -----
    "Left" removes columns :math:`0 \dots \lceil W/2 \rceil - 1`, "right"
    the remaining :math:`\lfloor W/2 \rfloor` columns; "top" and "bottom"
    split the rows the same way.

    Examples
    --------
    >>> from ganprior.inpainting import half_mask
    >>> half_mask((2, 4), side="left")
    tensor([[0., 0., 1., 1.],
            [0., 0., 1., 1.]])
    """
    shape, n, H, W = _check_shape(shape, "half_mask")
    if side is not None:
        check_choice(side, "side", HALF_SIDES, owner="half_mask")
    gen = check_seed(seed)
    masks = torch.ones(n or 1, H, W)
    for i in range(n or 1):
        s = side if side is not None else HALF_SIDES[int(torch.randint(4, (1,), generator=gen))]
        rows, cols = slice(None), slice(None)
        if s in ("left", "right"):
            cols = slice(0, (W + 1) // 2) if s == "left" else slice((W + 1) // 2, W)
        else:
            rows = slice(0, (H + 1) // 2) if s == "top" else slice((H + 1) // 2, H)
        masks[i, rows, cols] = 0.0
    return _expand(masks, shape)


def _smooth_noise(n, H, W, scale, gen):
    """White noise smoothed by a separable Gaussian of std ``scale`` pixels (zero-padded), shape (n, H, W)."""
    noise = torch.randn(n, 1, H, W, generator=gen, dtype=torch.float64)
    radius = max(1, math.ceil(3 * scale))
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-0.5 * (t / scale) ** 2)
    g = g / g.sum()
    out = torch.nn.functional.conv2d(noise, g.view(1, 1, 1, -1), padding=(0, radius))
    out = torch.nn.functional.conv2d(out, g.view(1, 1, -1, 1), padding=(radius, 0))
    return out[:, 0]


def pattern_mask(shape, *, missing=0.3, scale=None, seed=None):
    r"""Random blob-shaped holes: a smooth random field thresholded at its ``missing`` quantile.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
    missing : float
        Fraction of pixels to remove, in [0.25, 1) (default 0.3).
    scale : float, optional
        Blob size: the standard deviation in pixels of the Gaussian that
        smooths the noise (default ``min(H, W) / 10``).
    seed : None, int or torch.Generator
        Seed of the draw.

    Returns
    -------
    torch.Tensor
        float32 mask of shape ``shape``, 1 = known.

    Raises
    ------
    TypeError, ValueError
        If an argument is invalid.

    Notes
    -----
    White noise :math:`\xi` is smoothed, :math:`f = g_s * \xi`, and the
    :math:`\mathrm{round}(m HW)` pixels with the lowest :math:`f` are
    removed, so the missing fraction is exact and the holes are the
    connected low regions of a smooth field: blobs of size about :math:`s`.

    Examples
    --------
    >>> from ganprior.inpainting import pattern_mask
    >>> m = pattern_mask((3, 32, 32), missing=0.3, seed=0)
    >>> m.shape, round(float(1 - m.mean()), 3)
    (torch.Size([3, 32, 32]), 0.3)
    """
    shape, n, H, W = _check_shape(shape, "pattern_mask")
    missing = check_float(missing, "missing", minimum=0.25, owner="pattern_mask")
    if missing >= 1.0:
        raise ValueError(f"The 'missing' parameter of pattern_mask must be in [0.25, 1). Got {missing} instead.")
    scale = min(H, W) / 10.0 if scale is None else check_float(scale, "scale", minimum=0.0, strict=True,
                                                                 owner="pattern_mask")
    gen = check_seed(seed)
    count = round(missing * H * W)
    masks = torch.ones(n or 1, H * W)
    for i in range(n or 1):
        field = _smooth_noise(1, H, W, scale, gen).reshape(-1)
        masks[i, torch.argsort(field)[:count]] = 0.0
    return _expand(masks.view(-1, H, W), shape)


def make_mask(kind, shape, *, seed=None, **kwargs):
    """A mask of type ``kind``: ``"center"``, ``"half"``, ``"pattern"`` or ``"random"``.

    Parameters
    ----------
    kind : {"center", "half", "pattern", "random"}
        Which of :func:`center_mask`, :func:`half_mask`, :func:`pattern_mask`
        and :func:`random_mask` to call.
    shape : tuple of int
        ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
    seed : None, int or torch.Generator
        Seed of the random types (ignored by ``"center"``).
    **kwargs
        Passed on (``area``, ``missing``, ``side``, ``scale``).

    Returns
    -------
    torch.Tensor
        float32 mask of shape ``shape``, 1 = known.

    Raises
    ------
    ValueError
        If ``kind`` is unknown (the message lists the valid ones).

    Examples
    --------
    >>> from ganprior.inpainting import make_mask
    >>> make_mask("random", (1, 4, 5), missing=0.5, seed=1).shape
    torch.Size([1, 4, 5])
    """
    check_choice(kind, "kind", MASK_TYPES, owner="make_mask")
    if kind == "center":
        check_seed(seed)
        return center_mask(shape, **kwargs)
    return {"half": half_mask, "pattern": pattern_mask, "random": random_mask}[kind](shape, seed=seed, **kwargs)


def rim_weights(known: torch.Tensor, window: int) -> torch.Tensor:
    """:math:`W = M \\cdot \\mathrm{mean}_{window}(1 - M)` of a float (P, C, H, W) mask, channel by channel.

    The unchecked core of :func:`weighted_mask` (known pixels weighted by the hole density around them), on a
    tensor of any float dtype and device.

    Parameters
    ----------
    known : torch.Tensor
        Known-pixel mask ``(P, C, H, W)``, float, 1 = known.
    window : int
        Side of the square window, odd (:func:`check_window`).

    Returns
    -------
    torch.Tensor
        The weights, shape, dtype and device of ``known``.
    """
    C = known.shape[1]
    kernel = torch.full((C, 1, window, window), 1.0 / window**2, dtype=known.dtype, device=known.device)
    hole_density = F.conv2d(1.0 - known, kernel, padding=window // 2, groups=C)
    return known * hole_density


def weighted_mask(mask, window=7):
    r"""The contextual-loss weights of Yeh et al.: known pixels near the hole weigh most.

    Parameters
    ----------
    mask : numpy.ndarray or torch.Tensor
        Known-pixel mask (1 = known, 0 = missing) of shape ``(H, W)``,
        ``(C, H, W)`` or ``(P, C, H, W)``; booleans are accepted.
    window : int
        Side :math:`n` of the square window, odd (default 7, the paper's).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        :math:`W` of the shape of ``mask``; a floating mask keeps its dtype
        (and device), a boolean or integer one gives float32.

    Raises
    ------
    TypeError, ValueError
        If ``mask`` is not a 0/1 array of 2 to 4 dimensions, or ``window`` is
        not an odd int >= 1.

    Notes
    -----
    .. math:: W_i = M_i \, \frac{1}{n^2} \sum_{j \in N_n(i)} (1 - M_j),

    with :math:`N_n(i)` the :math:`n \times n` window centred on pixel
    :math:`i`; pixels outside the image count as known (zero padding, as in
    the original convolution).  Missing pixels get weight 0 and a known
    pixel's weight is the fraction of its window that is missing.  (Convolving
    :math:`M` instead of :math:`1 - M`, as a popular port did, inverts this.)

    Examples
    --------
    >>> import numpy as np
    >>> from ganprior.inpainting import weighted_mask
    >>> m = np.ones((3, 3)); m[1, 1] = 0
    >>> weighted_mask(m, window=3) * 9
    array([[1., 1., 1.],
           [1., 0., 1.],
           [1., 1., 1.]])
    """
    window = check_window(window, "weighted_mask")
    if not isinstance(mask, (np.ndarray, torch.Tensor)):
        raise TypeError(f"The 'mask' parameter of weighted_mask must be a numpy.ndarray or torch.Tensor. "
                        f"Got {describe(mask)} instead.")
    if mask.ndim not in (2, 3, 4) or 0 in tuple(mask.shape):
        raise ValueError(f"The 'mask' parameter of weighted_mask must have shape (H, W), (C, H, W) or "
                         f"(P, C, H, W). Got {describe(mask)} instead.")
    shape4 = (1,) * (4 - mask.ndim) + tuple(mask.shape)
    known = check_mask(mask.reshape(shape4), shape4, "weighted_mask")
    if isinstance(mask, torch.Tensor):
        dtype = mask.dtype if mask.is_floating_point() else torch.float32
        w = rim_weights(torch.from_numpy(known).to(device=mask.device, dtype=dtype), window)
        return w.reshape(mask.shape)
    dtype = mask.dtype if np.issubdtype(mask.dtype, np.floating) else np.float32
    w = rim_weights(torch.from_numpy(known).double(), window).numpy()
    return w.reshape(mask.shape).astype(dtype, copy=False)
