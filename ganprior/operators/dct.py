"""Fast orthonormal DCT in torch and the subsampled-DCT measurement operator."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .._validation import as_real_float, check_int, check_seed, describe
from .base import LinearOperator, shape_tuple


def _real_input(x, what):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} expects a torch.Tensor. Got {describe(x)} instead.")
    return as_real_float(x, what)


def dct(x: torch.Tensor) -> torch.Tensor:
    r"""Orthonormal DCT-II along the last dimension, in :math:`O(n \log n)`.

    Parameters
    ----------
    x : torch.Tensor
        Real signals, shape ``(*batch, n)``; integer input is computed in the
        default floating dtype.

    Returns
    -------
    torch.Tensor
        Coefficients :math:`X`, shape ``(*batch, n)``.

    Raises
    ------
    TypeError
        If ``x`` is not a tensor or is complex.

    Notes
    -----
    :math:`X_k = s_k \sum_{j<n} x_j \cos(\pi k (2j+1) / (2n))` with
    :math:`s_0 = \sqrt{1/n}`, :math:`s_k = \sqrt{2/n}`; equal to
    ``scipy.fft.dct(x, norm="ortho")``.  Computed with one complex FFT of a
    reordered sequence (Makhoul, 1980), so it is differentiable and runs on
    any device.
    """
    x = _real_input(x, "dct")
    n = x.shape[-1]
    v = torch.cat([x[..., ::2], x[..., 1::2].flip(-1)], dim=-1)  # even samples, then the odd ones reversed
    return torch.view_as_real(torch.fft.fft(v, dim=-1) * _twiddles(n, x.dtype, x.device)[0])[..., 0]


def idct(y: torch.Tensor) -> torch.Tensor:
    r"""Inverse (and adjoint) of :func:`dct`: the orthonormal DCT-III, :math:`O(n \log n)`.

    Parameters
    ----------
    y : torch.Tensor
        Coefficients, shape ``(*batch, n)``; integer input is computed in the
        default floating dtype.

    Returns
    -------
    torch.Tensor
        Signals :math:`x` with ``dct(x) == y``, shape ``(*batch, n)``.

    Raises
    ------
    TypeError
        If ``y`` is not a tensor or is complex.

    Examples
    --------
    >>> import torch
    >>> from ganprior.operators import dct, idct
    >>> x = torch.randn(3, 10, dtype=torch.float64)
    >>> bool(torch.allclose(idct(dct(x)), x))
    True
    """
    y = _real_input(y, "idct")
    n = y.shape[-1]
    # the unnormalised coefficients X_k and X_{n-k} (X_n = 0), combined as (X_k - i X_{n-k}) e^{i pi k / 2n}
    rev = torch.cat([torch.zeros_like(y[..., :1]), y[..., 1:].flip(-1)], dim=-1)
    v = torch.view_as_real(torch.fft.ifft(torch.complex(y, -rev) * _twiddles(n, y.dtype, y.device)[1], dim=-1))[..., 0]
    x = torch.empty_like(v)
    half = (n + 1) // 2
    x[..., ::2] = v[..., :half]
    x[..., 1::2] = v[..., half:].flip(-1)
    return x


@functools.lru_cache(maxsize=64)
def _twiddles(n: int, dtype: torch.dtype, device: torch.device):
    # The scaled twiddle factors of the DCT-II, s_k e^{-i pi k / 2n} (s_0 = sqrt(1/n), s_k = sqrt(2/n)), and of its
    # inverse, e^{i pi k / 2n} / s_k (X_{n-k}, k >= 1, has the scale of an index >= 1, as X_k has), made once per
    # (n, dtype, device): on small signals building them was most of a transform's time (8x8 images: 2.5x faster).
    k = torch.arange(n, dtype=torch.float64)
    scale = torch.full((n,), math.sqrt(2.0 / n), dtype=torch.float64)
    scale[0] = math.sqrt(1.0 / n)
    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    return (torch.polar(scale, -math.pi * k / (2 * n)).to(device=device, dtype=cdtype),
            torch.polar(1.0 / scale, math.pi * k / (2 * n)).to(device=device, dtype=cdtype))


class SubsampledDCT(LinearOperator):
    r"""Fast structured measurements: random rows of an orthonormal DCT with random signs.

    :math:`A x = \sqrt{n/m}\, S\, C\, D x`, with :math:`D` a random
    :math:`\pm 1` diagonal, :math:`C` the orthonormal DCT-II of the flattened
    image and :math:`S` the selection of ``m`` distinct random rows.  The
    scaling gives :math:`A A^T = (n/m) I` and :math:`\mathbb{E}\|Ax\|^2 = \|x\|^2`,
    as for :class:`Gaussian`, but applying :math:`A` costs :math:`O(n \log n)`
    time and :math:`O(n)` memory instead of :math:`O(mn)`.

    Parameters
    ----------
    m : int
        Number of measurements, ``1 <= m <= n``.
    n : int, optional
        Signal size (or give ``in_shape``).
    seed : None, int or torch.Generator
        Seed of the signs and the row selection.
    in_shape : tuple of int, optional
        Image shape.
    device : torch.device or str, optional
        Where the buffers live.

    Notes
    -----
    The operator has no floating-point buffers: it computes in the dtype of
    its input, and integer or boolean input (e.g. uint8 images) in the default
    floating dtype (``torch.get_default_dtype()``, float32 unless changed).
    Complex input raises a TypeError.
    """

    def __init__(self, m, n=None, *, seed=None, in_shape=None, device=None):
        if n is None and in_shape is None:
            raise ValueError("SubsampledDCT needs the signal size: give 'n' or 'in_shape'.")
        if in_shape is None:
            in_shape = (check_int(n, "n", minimum=1, owner="SubsampledDCT"),)
        in_shape = shape_tuple(in_shape, "in_shape")
        n_px = int(np.prod(in_shape))
        if n is not None and n != n_px:
            raise ValueError(f"The 'n' parameter ({n}) does not match 'in_shape' {in_shape}.")
        m = check_int(m, "m", minimum=1, owner="SubsampledDCT")
        if m > n_px:
            raise ValueError(f"The 'm' parameter of SubsampledDCT must be <= n={n_px}. Got {m} instead.")
        super().__init__(m, in_shape)
        gen = check_seed(seed)
        signs = (torch.randint(0, 2, (n_px,), generator=gen) * 2 - 1).to(torch.int8)  # dtype-agnostic
        rows = torch.randperm(n_px, generator=gen)[:m].sort().values
        self.register_buffer("signs", signs.to(device))
        self.register_buffer("rows", rows.to(device))
        self.scale = math.sqrt(n_px / m)

    def _forward(self, x):
        x = _real_input(x, type(self).__name__)
        return dct(x * self.signs.to(x.dtype))[:, self.rows] * self.scale

    def _adjoint(self, y):
        y = _real_input(y, type(self).__name__)
        full = y.new_zeros(y.shape[0], self.n)
        full[:, self.rows] = y * self.scale
        return idct(full) * self.signs.to(y.dtype)
