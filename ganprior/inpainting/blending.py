r"""Blending an inpainted image into its known pixels, and the classical harmonic fill.

- :func:`poisson_blend` -- gradient-domain (Poisson) blending: inside the hole
  the result has the Laplacian of the generated image, on the known pixels it
  equals the input (the post-processing step of Yeh et al., 2017).
- :func:`alpha_blend` -- paste the generated pixels into the hole.
- :func:`harmonic_fill` -- Laplace inpainting, :math:`\nabla^2 x = 0` in the
  hole: the classical baseline that needs no prior.
- :func:`blend` -- one of ``"alpha"``, ``"none"``, ``"poisson"`` by name.

Images are ``(C, H, W)`` or a batch ``(P, C, H, W)`` (NumPy or torch; the
result has the input image's type, dtype and device); masks hold
**1 = known, 0 = missing** and may be ``(H, W)``, ``(1, H, W)``,
``(C, H, W)``, or per image ``(P, 1, H, W)`` / ``(P, C, H, W)``.  Values of
the image under the hole are ignored (they may be NaN).  The sparse systems
are solved in float64 on the CPU with SciPy, imported on first use.
"""

from __future__ import annotations

import numpy as np
import torch

from .._convert import to_caller
from .._validation import check_choice, describe
from .options import BLEND_METHODS

__all__ = ["BLEND_METHODS", "alpha_blend", "blend", "harmonic_fill", "poisson_blend"]


def _as_float64(value, name, owner):
    """A real-valued floating array or tensor as a float64 NumPy copy (type checks only)."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            raise TypeError(f"The '{name}' parameter of {owner} must be a floating-point image. "
                            f"Got {describe(value)} instead.")
        return value.detach().cpu().double().numpy()
    if isinstance(value, np.ndarray):
        if not np.issubdtype(value.dtype, np.floating):
            raise TypeError(f"The '{name}' parameter of {owner} must be a floating-point image. "
                            f"Got {describe(value)} instead.")
        return np.array(value, dtype=np.float64)
    raise TypeError(f"The '{name}' parameter of {owner} must be a numpy.ndarray or torch.Tensor. "
                    f"Got {describe(value)} instead.")


def check_image(image, name, owner):
    """Validate ``image`` of shape ``(C, H, W)`` or ``(P, C, H, W)``; return a float64 ``(P, C, H, W)`` copy."""
    arr = _as_float64(image, name, owner)
    if arr.ndim not in (3, 4) or 0 in arr.shape:
        raise ValueError(f"The '{name}' parameter of {owner} must have shape (C, H, W) or (P, C, H, W) with "
                         f"nonzero sizes. Got {describe(image)} instead.")
    return arr if arr.ndim == 4 else arr[None]


def check_mask(mask, image_shape, owner, name="mask"):
    """Validate a binary known-pixel mask against a ``(P, C, H, W)`` image shape.

    Returns a boolean ``(P, C, H, W)`` NumPy array (True = known).  Accepted
    shapes: ``(H, W)``, ``(1, H, W)``, ``(C, H, W)`` (shared by all images),
    and ``(P, 1, H, W)``, ``(P, C, H, W)`` (one per image).
    """
    P, C, H, W = image_shape
    if isinstance(mask, torch.Tensor):
        if mask.is_complex():
            raise TypeError(f"The '{name}' parameter of {owner} must be real. Got {describe(mask)} instead.")
        arr = mask.detach().cpu().numpy()
    elif isinstance(mask, np.ndarray):
        if not (mask.dtype == bool or np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)):
            raise TypeError(f"The '{name}' parameter of {owner} must hold 0/1 or booleans. "
                            f"Got {describe(mask)} instead.")
        arr = mask
    else:
        raise TypeError(f"The '{name}' parameter of {owner} must be a numpy.ndarray or torch.Tensor. "
                        f"Got {describe(mask)} instead.")
    shape = tuple(arr.shape)
    valid = {(H, W), (1, H, W), (C, H, W), (P, 1, H, W), (P, C, H, W)}
    if shape not in valid:
        options = sorted({str(s) for s in valid})
        raise ValueError(f"Shape mismatch: the '{name}' parameter of {owner} must have one of the shapes "
                         f"{', '.join(options)} for images of shape {(P, C, H, W)}. Got shape {shape} instead.")
    if arr.dtype != bool:
        bad = ~((arr == 0) | (arr == 1))
        if bad.any():
            example = arr[bad].reshape(-1)[0].item()
            raise ValueError(f"The '{name}' parameter of {owner} must hold only 0 (missing) and 1 (known). "
                             f"Got {int(bad.sum())} other values, e.g. {example!r}.")
    known = arr.astype(bool)
    while known.ndim < 4:
        known = known[None]
    return np.array(np.broadcast_to(known, (P, C, H, W)))


_SHIFTS = ((slice(0, -1), slice(None), slice(1, None), slice(None)),   # neighbour below
           (slice(1, None), slice(None), slice(0, -1), slice(None)),   # neighbour above
           (slice(None), slice(0, -1), slice(None), slice(1, None)),   # neighbour to the right
           (slice(None), slice(1, None), slice(None), slice(0, -1)))   # neighbour to the left


def _laplacian_system(known):
    """Sparse matrix of the 5-point Laplacian restricted to the hole (Neumann at the image border).

    Row p (a hole pixel): deg(p) on the diagonal, -1 for each 4-neighbour q in
    the hole, where deg(p) counts p's neighbours inside the image.
    """
    import scipy.sparse as sp

    H, W = known.shape
    hole = ~known
    index = np.full((H, W), -1, dtype=np.int64)
    index[hole] = np.arange(int(hole.sum()))
    rows, cols = [], []
    degree = np.zeros((H, W))
    for pr, pc, qr, qc in _SHIFTS:
        degree[pr, pc] += 1.0
        both = hole[pr, pc] & hole[qr, qc]
        rows.append(index[pr, pc][both])
        cols.append(index[qr, qc][both])
    n = int(hole.sum())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    A = sp.coo_matrix((np.concatenate([degree[hole], -np.ones(rows.size)]),
                       (np.concatenate([np.arange(n), rows]), np.concatenate([np.arange(n), cols]))), shape=(n, n))
    return A.tocsc()


def _rhs(y, g, known):
    r"""Right-hand sides ``(C, n_hole)``: :math:`\sum_q (g_p - g_q) + \sum_{q\ \mathrm{known}} y_q` per hole pixel p."""
    b = np.zeros_like(y)
    for pr, pc, qr, qc in _SHIFTS:
        b[:, pr, pc] += np.where(known[qr, qc], y[:, qr, qc], 0.0)
        if g is not None:
            b[:, pr, pc] += g[:, pr, pc] - g[:, qr, qc]
    return b[:, ~known]


def _solve_groups(y, g, known, out):
    """Solve the hole of each channel group that shares a mask; write into ``out`` (C, H, W) in place."""
    from scipy.sparse.linalg import splu

    C = known.shape[0]
    groups = [list(range(C))] if all((known[c] == known[0]).all() for c in range(C)) else [[c] for c in range(C)]
    for chans in groups:
        k = known[chans[0]]
        if k.all():
            continue
        if not k.any():  # nothing to anchor the solution: keep the source (poisson) as is
            continue
        lu = splu(_laplacian_system(k))
        b = _rhs(y[chans], None if g is None else g[chans], k)
        sol = lu.solve(np.ascontiguousarray(b.T))
        for j, c in enumerate(chans):
            out[c][~k] = sol[:, j] if sol.ndim == 2 else sol


def _prepare(image, mask, generated, owner):
    squeeze = getattr(image, "ndim", None) == 3
    y = check_image(image, "image", owner)
    g = None
    if generated is not None:
        g = check_image(generated, "generated", owner)
        if g.shape != y.shape:
            raise ValueError(f"Shape mismatch: the 'generated' parameter of {owner} must have the shape of 'image' "
                             f"{tuple(image.shape)}. Got {describe(generated)} instead.")
        if not np.isfinite(g).all():
            raise ValueError(f"The 'generated' parameter of {owner} must hold only finite values.")
    known = check_mask(mask, y.shape, owner)
    if not np.isfinite(y[known]).all():
        raise ValueError(f"The 'image' parameter of {owner} must be finite on the known pixels (mask == 1). "
                         f"Got {int((~np.isfinite(y[known])).sum())} NaN or Inf entries there.")
    y = np.where(known, y, 0.0)
    return y, g, known, squeeze


def poisson_blend(image, generated, mask):
    r"""Gradient-domain blending: keep the known pixels, take the hole's gradients from ``generated``.

    Parameters
    ----------
    image : numpy.ndarray or torch.Tensor
        Observed image(s) ``(C, H, W)`` or ``(P, C, H, W)``; only the known
        pixels are read.
    generated : numpy.ndarray or torch.Tensor
        The source, e.g. :math:`G(\hat z)`, of the same shape.
    mask : numpy.ndarray or torch.Tensor
        Known-pixel mask, 1 = known (see the module docstring for shapes).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The blended image(s), in the type, dtype and device of ``image``;
        equal to ``image`` on every known pixel.

    Raises
    ------
    TypeError, ValueError
        On a bad type, shape or mask value.

    Notes
    -----
    Per image and channel, with :math:`\Omega` the hole, :math:`g` the source
    and :math:`y` the known pixels, the result solves

    .. math:: \min_x \sum_{(p,q):\ p \in \Omega} \big((x_p - x_q) - (g_p - g_q)\big)^2
              \quad \text{s.t. } x_q = y_q,\ q \notin \Omega,

    over 4-neighbour pairs inside the image: the discrete Poisson equation
    :math:`\nabla^2 x = \nabla^2 g` in :math:`\Omega` with Dirichlet values
    :math:`y` on the known pixels (and a zero normal derivative of
    :math:`x - g` where the hole meets the image border).  The sparse 5-point
    system is factorised once per mask (SciPy ``splu``) and solved for all
    channels sharing it.  If :math:`y = g + c` on the known pixels for a
    constant :math:`c`, the result is exactly :math:`g + c`.  A channel with
    no known pixel at all returns :math:`g`.

    Examples
    --------
    >>> import numpy as np
    >>> from ganprior.inpainting import poisson_blend
    >>> g = np.random.default_rng(0).random((1, 6, 6))
    >>> mask = np.ones((6, 6)); mask[2:4, 2:4] = 0
    >>> x = poisson_blend(g + 0.5, g, mask)   # the source shifted by a constant
    >>> bool(np.allclose(x, g + 0.5))
    True
    """
    y, g, known, squeeze = _prepare(image, mask, generated, "poisson_blend")
    out = np.where(known, y, g)
    for p in range(y.shape[0]):
        _solve_groups(y[p], g[p], known[p], out[p])
    return to_caller(out, image, squeeze)


def alpha_blend(image, generated, mask):
    r"""Paste the generated pixels into the hole: :math:`x = M \odot y + (1 - M) \odot g`.

    Parameters
    ----------
    image : numpy.ndarray or torch.Tensor
        Observed image(s) ``(C, H, W)`` or ``(P, C, H, W)``.
    generated : numpy.ndarray or torch.Tensor
        The source of the same shape.
    mask : numpy.ndarray or torch.Tensor
        Known-pixel mask, 1 = known.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        In the type, dtype and device of ``image``.

    Raises
    ------
    TypeError, ValueError
        On a bad type, shape or mask value.

    Notes
    -----
    The binary mask is the alpha channel, so the seams between known and
    generated pixels stay visible; :func:`poisson_blend` removes them.

    Examples
    --------
    >>> import numpy as np
    >>> from ganprior.inpainting import alpha_blend
    >>> alpha_blend(np.zeros((1, 1, 3)), np.ones((1, 1, 3)), np.array([[1, 0, 1]]))
    array([[[0., 1., 0.]]])
    """
    y, g, known, squeeze = _prepare(image, mask, generated, "alpha_blend")
    return to_caller(np.where(known, y, g), image, squeeze)


def harmonic_fill(image, mask):
    r"""Laplace inpainting: fill the hole with the harmonic interpolant of the known pixels.

    Parameters
    ----------
    image : numpy.ndarray or torch.Tensor
        Observed image(s) ``(C, H, W)`` or ``(P, C, H, W)``.
    mask : numpy.ndarray or torch.Tensor
        Known-pixel mask, 1 = known; every image and channel needs at least
        one known pixel.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        In the type, dtype and device of ``image``.

    Raises
    ------
    TypeError, ValueError
        On a bad type, shape or mask value, or a channel with no known pixel.

    Notes
    -----
    The result solves :math:`\nabla^2 x = 0` in the hole (5-point
    Laplacian) with :math:`x = y` on the known pixels and a zero normal
    derivative at the image border, i.e. :func:`poisson_blend` with a zero
    source; it minimises the Dirichlet energy :math:`\sum (x_p - x_q)^2`.
    Discrete harmonic functions such as :math:`a + bx + cy + d(x^2 - y^2)`
    are reproduced exactly inside a hole away from the border.

    Examples
    --------
    >>> import numpy as np
    >>> from ganprior.inpainting import harmonic_fill
    >>> ramp = np.tile(np.arange(5.0), (1, 5, 1))          # x = column index
    >>> mask = np.ones((5, 5)); mask[1:4, 1:4] = 0
    >>> bool(np.allclose(harmonic_fill(ramp, mask), ramp))
    True
    """
    y, _, known, squeeze = _prepare(image, mask, None, "harmonic_fill")
    empty = ~known.reshape(known.shape[0], known.shape[1], -1).any(-1)
    if empty.any():
        p, c = np.argwhere(empty)[0]
        raise ValueError(f"The 'mask' parameter of harmonic_fill must leave at least one known pixel in every "
                         f"image and channel. Image {p}, channel {c} has none.")
    out = y.copy()
    for p in range(y.shape[0]):
        _solve_groups(y[p], None, known[p], out[p])
    return to_caller(out, image, squeeze)


def blend(image, generated, mask, method="poisson"):
    """Blend ``generated`` into the known pixels of ``image`` with ``method``.

    Parameters
    ----------
    image, generated : numpy.ndarray or torch.Tensor
        ``(C, H, W)`` or ``(P, C, H, W)``, the same shape.
    mask : numpy.ndarray or torch.Tensor
        Known-pixel mask, 1 = known.
    method : {"alpha", "none", "poisson"}
        :func:`poisson_blend` (default), :func:`alpha_blend`, or ``"none"``:
        ``generated`` unchanged (converted to the type of ``image``).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        In the type, dtype and device of ``image``.

    Raises
    ------
    TypeError, ValueError
        On a bad argument; an unknown ``method`` lists the valid ones.

    Examples
    --------
    >>> import numpy as np
    >>> from ganprior.inpainting import blend
    >>> blend(np.zeros((1, 1, 2)), np.ones((1, 1, 2)), np.array([[1, 0]]), method="none")
    array([[[1., 1.]]])
    """
    check_choice(method, "method", BLEND_METHODS, owner="blend")
    if method == "poisson":
        return poisson_blend(image, generated, mask)
    if method == "alpha":
        return alpha_blend(image, generated, mask)
    _, g, _, squeeze = _prepare(image, mask, generated, "blend")
    return to_caller(g, image, squeeze)
