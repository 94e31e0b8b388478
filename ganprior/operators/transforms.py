r"""Orthonormal image transforms as differentiable torch operators: the 2-D DCT and 2-D wavelets.

Both act on every channel of ``(C, H, W)`` (or ``(H, W)``) images and map them to ``n`` coefficients,
``n = prod(in_shape)``; both are orthonormal, so the adjoint is the inverse.  They are ordinary
:class:`~ganprior.operators.LinearOperator` s: they run on any device and dtype, gradients flow
through them (so a latent objective can use them, e.g. a sparse correction :math:`\Psi^T \nu`), and
:func:`~ganprior.operators.dottest` checks them.  The sparse baselines
(:mod:`ganprior.solvers.lasso`, through :mod:`ganprior.operators.bases`) use the same operators to build their
dictionaries, so there is one implementation of each transform.

The wavelet transform takes its filters from PyWavelets and applies them with torch (a strided
circular correlation per axis, the ``"periodization"`` extension), so its coefficients equal
``pywt.wavedec2(..., mode="periodization")`` in the layout of :class:`ganprior.operators.bases.Wavelet`.  A
dedicated library (e.g. ptwt) was not added: the transform needed here is 40 lines on top of the
filters PyWavelets already gives, and ptwt's periodization mode is not the orthonormal one
PyWavelets defines (it pads instead), which would break the exact match with the baselines.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import as_real_float, check_int
from .base import LinearOperator, shape_tuple
from .dct import dct, idct

__all__ = ["DCT2", "Wavelet"]

# The FIR "discrete Meyer" wavelet is only approximately orthogonal (its round
# trip is off by about 1e-2), so it is not offered.
_APPROXIMATE = ("dmey",)


def orthogonal_wavelets() -> list[str]:
    """Names of the PyWavelets wavelets :class:`Wavelet` accepts, sorted.

    Returns
    -------
    list of str
        Discrete wavelets that PyWavelets marks orthogonal (Haar, Daubechies,
        Symlets, Coiflets), less the approximate discrete Meyer ``"dmey"``.
    """
    import pywt

    return sorted(w for w in pywt.wavelist(kind="discrete") if w not in _APPROXIMATE and pywt.Wavelet(w).orthogonal)


def check_wavelet(wavelet) -> int:
    """Check that ``wavelet`` names an orthogonal wavelet (:func:`orthogonal_wavelets`); return its filter length.

    Parameters
    ----------
    wavelet : str
        A PyWavelets name.

    Returns
    -------
    int
        The length of its decomposition filters.
    """
    import pywt

    if not isinstance(wavelet, str) or wavelet not in orthogonal_wavelets():
        valid = orthogonal_wavelets()
        reason = ""
        if isinstance(wavelet, str) and wavelet in pywt.wavelist():
            reason = " (it is not an orthogonal discrete wavelet)"
        raise ValueError(
            f"The 'wavelet' parameter of Wavelet must be one of the orthogonal wavelets {valid}. "
            f"Got {wavelet!r}{reason} instead."
        )
    return pywt.Wavelet(wavelet).dec_len


def max_wavelet_level(shape, filter_length) -> int:
    """The largest level a wavelet with filters of ``filter_length`` allows on ``(..., H, W)`` images.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(C, H, W)``.
    filter_length : int
        From :func:`check_wavelet`.

    Returns
    -------
    int
        :math:`\\min(L_{pywt}, L_2)` (see :class:`ganprior.operators.bases.Wavelet`); below 1 when none.
    """
    import pywt

    h, w = shape[-2:]
    l_pywt = pywt.dwt_max_level(min(h, w), filter_length)
    l_two = 0
    while h % 2 ** (l_two + 1) == 0 and w % 2 ** (l_two + 1) == 0:
        l_two += 1
    return min(l_pywt, l_two)


def check_wavelet_level(wavelet, level, shape, filter_length) -> int:
    """Check that images of ``shape`` allow ``level`` levels of ``wavelet``; return the levels (None: the maximum).

    Parameters
    ----------
    wavelet : str
        The wavelet's name (for the message).
    level : int or None
        Checked levels, or None for the maximum.
    shape : tuple of int
        ``(H, W)`` or ``(C, H, W)``.
    filter_length : int
        From :func:`check_wavelet`.

    Returns
    -------
    int
        The number of levels.
    """
    top = max_wavelet_level(shape, filter_length)
    if top < 1:
        raise ValueError(
            f"The wavelet basis ({wavelet!r}, periodization) needs images whose height and width are "
            f"even and at least the filter length {filter_length}. Got image_shape {shape} instead."
        )
    if level is not None and level > top:
        raise ValueError(
            f"The 'level' parameter of Wavelet must be at most {top} for {wavelet!r} on images of shape "
            f"{shape}. Got {level} instead."
        )
    return top if level is None else level


def _image_shape(in_shape, owner):
    shape = shape_tuple(in_shape, "in_shape")
    if len(shape) not in (2, 3):
        raise ValueError(f"The 'in_shape' parameter of {owner} must be (H, W) or (C, H, W). Got {shape} instead.")
    return shape


def _as_images(x, shape):
    x = as_real_float(x, "the transform")  # integer images are computed in the default floating dtype
    return x.reshape(x.shape[0], *((1,) * (3 - len(shape))), *shape)


class DCT2(LinearOperator):
    r"""The orthonormal 2-D DCT-II of every channel, :math:`X \mapsto D_H X D_W^T`.

    Parameters
    ----------
    in_shape : tuple of int
        ``(H, W)`` or ``(C, H, W)``.

    Notes
    -----
    :math:`(D_N)_{ki} = c_k \cos(\pi (2i + 1) k / (2N))`, :math:`c_0 = \sqrt{1/N}`,
    :math:`c_k = \sqrt{2/N}`; coefficients are flattened in C order, so the operator is
    :math:`I_C \otimes D_H \otimes D_W`, orthogonal, with adjoint = inverse
    :math:`D_H^T Y D_W`.  :math:`O(n \log n)` through :func:`~ganprior.operators.dct`.

    Examples
    --------
    >>> import torch
    >>> from ganprior.operators import DCT2, dottest
    >>> P = DCT2((1, 8, 8))
    >>> x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    >>> bool(torch.allclose(P.adjoint(P(x)), x))
    True
    """

    def __init__(self, in_shape):
        shape = _image_shape(in_shape, "DCT2")
        super().__init__(int(np.prod(shape)), shape)

    def _forward(self, x):
        img = _as_images(x, self.in_shape)
        out = dct(dct(img).transpose(-1, -2)).transpose(-1, -2)
        return out.reshape(x.shape[0], self.n)

    def _adjoint(self, y):
        img = _as_images(y, self.in_shape)
        out = idct(idct(img).transpose(-1, -2)).transpose(-1, -2)
        return out.reshape(y.shape[0], self.n)


def _offset(dec_lo, dec_hi):
    """The circular shift ``s`` with ``out[k] = sum_j f[j] x[(2k + s - j) mod N]`` that reproduces pywt (periodization)."""
    import pywt

    L = len(dec_lo)
    N = 2 * max(4, L)
    x = np.random.default_rng(0).standard_normal(N)
    want_lo, want_hi = pywt.dwt(x, pywt.Wavelet(filter_bank=(dec_lo, dec_hi, dec_lo[::-1], dec_hi[::-1])),
                                mode="periodization")
    k = np.arange(N // 2)[:, None]
    j = np.arange(L)[None, :]
    for s in range(N):
        idx = (2 * k + s - j) % N
        if np.allclose(x[idx] @ dec_lo, want_lo) and np.allclose(x[idx] @ dec_hi, want_hi):
            return s
    raise AssertionError("no circular shift reproduces PyWavelets' periodization")  # pragma: no cover


class Wavelet(LinearOperator):
    r"""An orthogonal 2-D discrete wavelet transform of every channel (periodization), in torch.

    Parameters
    ----------
    in_shape : tuple of int
        ``(H, W)`` or ``(C, H, W)``.
    wavelet : str
        An orthogonal PyWavelets wavelet (default ``"db1"``, Haar); see
        :func:`orthogonal_wavelets`.
    level : int, optional
        Decomposition levels; default the maximum (see :class:`ganprior.operators.bases.Wavelet`).

    Notes
    -----
    One level along an axis of length :math:`N` is a strided circular correlation,
    :math:`a_k = \sum_j h_j x_{(2k + s - j) \bmod N}` and :math:`d_k = \sum_j g_j x_{(2k + s - j) \bmod N}`
    with PyWavelets' decomposition filters :math:`h, g` (and the shift :math:`s` that reproduces its
    ``"periodization"`` mode); for an orthogonal filter bank this map is orthonormal, so the adjoint
    (the transposed correlation, a scatter-add) is the inverse.  Levels recurse on the approximation.
    Coefficients per channel: :math:`[a_L, h_L, v_L, d_L, \dots, h_1, v_1, d_1]`, equal to
    ``pywt.wavedec2(x, wavelet, mode="periodization", level=L)``.

    Examples
    --------
    >>> import torch
    >>> from ganprior.operators import Wavelet
    >>> W = Wavelet((3, 16, 16), "db2")
    >>> x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    >>> bool(torch.allclose(W.adjoint(W(x)), x)), W.level
    (True, 2)
    """

    def __init__(self, in_shape, wavelet: str = "db1", level=None):
        shape = _image_shape(in_shape, "Wavelet")
        filter_length = check_wavelet(wavelet)
        level = None if level is None else check_int(level, "level", minimum=1, owner="Wavelet")
        level = check_wavelet_level(wavelet, level, shape, filter_length)
        super().__init__(int(np.prod(shape)), shape)
        import pywt

        w = pywt.Wavelet(wavelet)
        self.wavelet = wavelet
        self.level = level
        self._shift = _offset(np.asarray(w.dec_lo), np.asarray(w.dec_hi))
        filters = torch.tensor(np.stack([w.dec_lo, w.dec_hi]), dtype=torch.float64)  # (2, L)
        self.register_buffer("filters", filters)

    def _index(self, N, device):
        L = self.filters.shape[1]
        k = torch.arange(N // 2, device=device)[:, None]
        j = torch.arange(L, device=device)[None, :]
        return (2 * k + self._shift - j) % N  # (N/2, L)

    def _analysis_1d(self, x):
        """One level along the last axis: (..., N) -> (..., N/2) approximation and detail."""
        idx = self._index(x.shape[-1], x.device)
        windows = x[..., idx]  # (..., N/2, L)
        f = self.filters.to(x.dtype)
        return windows @ f[0], windows @ f[1]

    def _synthesis_1d(self, a, d):
        """The adjoint of :meth:`_analysis_1d`: (..., N/2) x 2 -> (..., N)."""
        N = 2 * a.shape[-1]
        idx = self._index(N, a.device)
        f = self.filters.to(a.dtype)
        contrib = a[..., None] * f[0] + d[..., None] * f[1]  # (..., N/2, L)
        out = a.new_zeros(*a.shape[:-1], N)
        return out.index_add(-1, idx.reshape(-1), contrib.reshape(*a.shape[:-1], -1))

    def _forward(self, x):
        img = _as_images(x, self.in_shape)
        B, C = img.shape[:2]
        parts = []
        approx = img
        for _ in range(self.level):
            lo, hi = self._analysis_1d(approx)                      # along W
            ll, hl = self._analysis_1d(lo.transpose(-1, -2))        # along H of the W-lowpass
            lh, hh = self._analysis_1d(hi.transpose(-1, -2))        # along H of the W-highpass
            ll, hl, lh, hh = (t.transpose(-1, -2) for t in (ll, hl, lh, hh))
            # pywt: cH = detail along H, approx along W; cV = approx along H, detail along W; cD = both
            parts.append((hl, lh, hh))
            approx = ll
        out = [approx.reshape(B, C, -1)]
        for details in reversed(parts):
            out.extend(t.reshape(B, C, -1) for t in details)
        return torch.cat(out, dim=-1).reshape(B, self.n)

    def _adjoint(self, y):
        H, W = self.in_shape[-2:]
        B = y.shape[0]
        C = self.in_shape[0] if len(self.in_shape) == 3 else 1
        flat = y.reshape(B, C, H * W)
        L = self.level
        sizes = [(H >> L, W >> L)] + [(H >> j, W >> j) for j in range(L, 0, -1)]
        pos = 0

        def take(size):
            nonlocal pos
            count = size[0] * size[1]
            part = flat[..., pos:pos + count].reshape(B, C, *size)
            pos += count
            return part

        approx = take(sizes[0])
        for size in sizes[1:]:
            hl, lh, hh = take(size), take(size), take(size)
            lo = self._synthesis_1d(approx.transpose(-1, -2), hl.transpose(-1, -2)).transpose(-1, -2)
            hi = self._synthesis_1d(lh.transpose(-1, -2), hh.transpose(-1, -2)).transpose(-1, -2)
            approx = self._synthesis_1d(lo, hi)
        return approx.reshape(B, self.n)

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, wavelet={self.wavelet!r}, level={self.level}"

