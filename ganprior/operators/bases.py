r"""Orthonormal sparsifying bases for the sparse baselines.

The parts
---------
- :class:`Identity` -- the pixel basis.
- :class:`DCT2` -- the orthonormal 2-D DCT-II of every channel (``scipy.fft``).
- :class:`Wavelet` -- an orthogonal 2-D discrete wavelet transform of every
  channel (PyWavelets, ``mode="periodization"``).
- :func:`get_basis` -- a basis by name (``"pixel"``, ``"dct"``, ``"wavelet"``).
- :class:`BasisOperator` -- a basis as a :class:`ganprior.operators.LinearOperator`
  (so :func:`ganprior.operators.dottest` runs on it).

Every basis :math:`\Psi` is an orthonormal ``n x n`` map, applied by a fast
transform and never stored as a matrix: ``analysis(x)`` gives the coefficients
:math:`w = \Psi x` and ``synthesis(w)`` the image :math:`x = \Psi^T w`, with
:math:`\Psi^T = \Psi^{-1}`.  Images are NumPy arrays of shape
``(*batch, *image_shape)`` with ``image_shape = (H, W)`` or ``(C, H, W)``; the
2-D transform acts on the last two axes, channel by channel.  Coefficients are
flat, ``(*batch, n)`` with ``n = prod(image_shape)``.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_choice, check_int, describe
from .base import LinearOperator, shape_tuple
from .image import Identity as _IdentityOperator
from .transforms import DCT2 as _DCT2Operator
from .transforms import Wavelet as _WaveletOperator
from .transforms import check_wavelet, check_wavelet_level, max_wavelet_level, orthogonal_wavelets

__all__ = ["Identity", "DCT2", "Wavelet", "BasisOperator", "get_basis", "BASES", "orthogonal_wavelets"]

BASES = ("pixel", "dct", "wavelet")


def _as_float_array(x, name: str, owner: str) -> np.ndarray:
    """A real NumPy array; floats keep their dtype, integers become float64."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{owner} expects a numpy.ndarray for '{name}'. Got {describe(x)} instead.")
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"{owner} expects real numbers in '{name}'. Got {describe(x)} instead.")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


class _Basis:
    """Shared shape handling: subclasses implement ``_analysis`` / ``_synthesis``.

    ``_analysis(x, shape)`` receives ``x`` of shape ``(B, *shape)`` and returns
    ``(B, n)``; ``_synthesis(w, shape)`` the reverse.
    """

    min_ndim = 1

    def _operator(self, shape):  # pragma: no cover - every basis defines it
        raise NotImplementedError

    def operator(self, image_shape=None):
        r"""The basis as a differentiable torch operator :math:`x \mapsto \Psi x` (adjoint = inverse).

        Parameters
        ----------
        image_shape : tuple of int, optional
            Overrides the shape given at construction.

        Returns
        -------
        ganprior.operators.LinearOperator
            :class:`~ganprior.operators.Identity`, :class:`~ganprior.operators.DCT2` or
            :class:`~ganprior.operators.Wavelet`.
        """
        return self._operator(self._shape(image_shape))

    def _analysis(self, x, shape):
        t = torch.from_numpy(np.ascontiguousarray(x))
        with torch.no_grad():
            return self._operator(shape)(t.reshape(t.shape[0], -1)).numpy()

    def _synthesis(self, w, shape):
        t = torch.from_numpy(np.ascontiguousarray(w))
        with torch.no_grad():
            return self._operator(shape).adjoint(t).reshape(t.shape[0], *shape).numpy()

    def __init__(self, image_shape=None):
        self.image_shape = None if image_shape is None else self._check_shape(image_shape)

    # -- shapes ------------------------------------------------------------------
    def _check_shape(self, image_shape) -> tuple[int, ...]:
        shape = shape_tuple(image_shape, "image_shape")
        if len(shape) < self.min_ndim:
            raise ValueError(
                f"The 'image_shape' parameter of {type(self).__name__} must be (H, W) or (C, H, W). "
                f"Got {shape} instead."
            )
        return shape

    def _shape(self, image_shape) -> tuple[int, ...]:
        if image_shape is None:
            if self.image_shape is None:
                raise ValueError(
                    f"{type(self).__name__} needs the image shape: give 'image_shape' when constructing it "
                    "or in this call."
                )
            return self.image_shape
        return self._check_shape(image_shape)

    @property
    def n(self) -> int | None:
        """Number of pixels (and coefficients), or ``None`` without an image shape."""
        return None if self.image_shape is None else int(np.prod(self.image_shape))

    # -- transforms ----------------------------------------------------------------
    def analysis(self, x, image_shape=None) -> np.ndarray:
        r"""Coefficients :math:`w = \Psi x`.

        Parameters
        ----------
        x : numpy.ndarray
            Images ``(*batch, *image_shape)``, or flat ``(*batch, n)``.
        image_shape : tuple of int, optional
            Overrides the shape given at construction.

        Returns
        -------
        numpy.ndarray
            ``(*batch, n)``, in ``x``'s floating dtype (float64 for integers).

        Raises
        ------
        TypeError
            If ``x`` is not a real NumPy array.
        ValueError
            If no image shape is known or ``x`` does not end in it (or in ``n``).
        """
        shape = self._shape(image_shape)
        x = _as_float_array(x, "x", f"{type(self).__name__}.analysis")
        n, k = int(np.prod(shape)), len(shape)
        if x.ndim >= k and x.shape[x.ndim - k:] == shape:
            batch = x.shape[: x.ndim - k]
        elif x.ndim >= 1 and x.shape[-1] == n:
            batch = x.shape[:-1]
        else:
            raise ValueError(
                f"{type(self).__name__}.analysis expects images of shape (*batch, {', '.join(map(str, shape))}) "
                f"or (*batch, {n}). Got shape {x.shape} instead."
            )
        w = self._analysis(x.reshape(-1, *shape), shape)
        return w.reshape(*batch, n)

    def synthesis(self, w, image_shape=None) -> np.ndarray:
        r"""Images :math:`x = \Psi^T w` (the inverse of :meth:`analysis`).

        Parameters
        ----------
        w : numpy.ndarray
            Coefficients ``(*batch, n)``.
        image_shape : tuple of int, optional
            Overrides the shape given at construction.

        Returns
        -------
        numpy.ndarray
            ``(*batch, *image_shape)``, in ``w``'s floating dtype.

        Raises
        ------
        TypeError
            If ``w`` is not a real NumPy array.
        ValueError
            If no image shape is known or ``w.shape[-1] != n``.
        """
        shape = self._shape(image_shape)
        w = _as_float_array(w, "w", f"{type(self).__name__}.synthesis")
        n = int(np.prod(shape))
        if w.ndim < 1 or w.shape[-1] != n:
            raise ValueError(
                f"{type(self).__name__}.synthesis expects coefficients of shape (*batch, {n}). "
                f"Got shape {w.shape} instead."
            )
        batch = w.shape[:-1]
        x = self._synthesis(w.reshape(-1, n), shape)
        return x.reshape(*batch, *shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(image_shape={self.image_shape})"


class Identity(_Basis):
    r"""The pixel basis, :math:`\Psi = I`.

    Parameters
    ----------
    image_shape : tuple of int, optional
        Shape of one image (any number of axes).

    Notes
    -----
    ``analysis`` flattens and ``synthesis`` reshapes; no data is copied.
    """

    def _operator(self, shape):
        return _IdentityOperator(shape)

    def _analysis(self, x, shape):
        return x.reshape(x.shape[0], -1)

    def _synthesis(self, w, shape):
        return w.reshape(w.shape[0], *shape)


class DCT2(_Basis):
    r"""Orthonormal 2-D DCT-II of every channel.

    Parameters
    ----------
    image_shape : tuple of int, optional
        ``(H, W)`` or ``(C, H, W)``.

    Notes
    -----
    With :math:`D_N \in \mathbb{R}^{N \times N}`,
    :math:`(D_N)_{ki} = c_k \cos\big(\pi (2i + 1) k / (2N)\big)`,
    :math:`c_0 = \sqrt{1/N}`, :math:`c_k = \sqrt{2/N}` (:math:`k \ge 1`), each
    ``H x W`` channel :math:`X` maps to :math:`D_H X D_W^T`, flattened in C
    order; so :math:`\Psi = I_C \otimes D_H \otimes D_W`.  :math:`D_N` is
    orthogonal, hence so is :math:`\Psi`.  Computed by the torch operator
    :class:`ganprior.operators.DCT2` in :math:`O(n \log n)` (equal to
    ``scipy.fft.dctn(..., norm="ortho")``).
    """

    min_ndim = 2

    def _operator(self, shape):
        return _DCT2Operator(shape)


class Wavelet(_Basis):
    r"""Orthogonal 2-D discrete wavelet transform of every channel.

    Parameters
    ----------
    wavelet : str
        An orthogonal PyWavelets wavelet (default ``"db1"``, i.e. Haar); see
        :func:`orthogonal_wavelets`.
    level : int, optional
        Decomposition levels; default (``None``) the maximum, see Notes.
    mode : {"periodization"}
        Signal extension.  Only periodization keeps the transform square and
        orthonormal, so it is the only mode accepted.
    image_shape : tuple of int, optional
        ``(H, W)`` or ``(C, H, W)``.

    Raises
    ------
    ValueError
        For an unknown or non-orthogonal wavelet (the valid names are listed),
        another mode, or a level the image shape does not allow.

    Notes
    -----
    The transform runs in torch (:class:`ganprior.operators.Wavelet`, with
    PyWavelets' filters) and equals ``pywt.wavedec2`` with
    ``mode="periodization"``.  On an ``H x W`` channel
    with :math:`H, W` divisible by :math:`2^L` gives :math:`HW` coefficients,
    and for an orthogonal filter bank the map is orthonormal, so its inverse
    ``pywt.waverec2`` is its transpose.  The coefficient vector of a channel is
    :math:`[a_L, h_L, v_L, d_L, h_{L-1}, v_{L-1}, d_{L-1}, \dots, h_1, v_1, d_1]`
    (approximation, then horizontal, vertical and diagonal details from the
    coarsest level, each flattened in C order); channels follow each other.

    The maximum level is :math:`\min(L_{pywt}, L_2)`, where :math:`L_{pywt}` is
    ``pywt.dwt_max_level(min(H, W), filter_length)`` and :math:`L_2` the
    largest :math:`L` with :math:`2^L` dividing both :math:`H` and :math:`W`
    (so every level halves exactly).  Haar on 64 x 64 gives 6 levels (as in
    Bora et al., 2017); on 28 x 28, 2.
    """

    min_ndim = 2

    def __init__(self, wavelet: str = "db1", level=None, mode: str = "periodization", image_shape=None):
        filter_length = check_wavelet(wavelet)
        self.wavelet = wavelet
        self.mode = check_choice(mode, "mode", ("periodization",), owner="Wavelet")
        self.level = None if level is None else check_int(level, "level", minimum=1, owner="Wavelet")
        self._filter_length = filter_length
        super().__init__(image_shape)

    def max_level(self, image_shape=None) -> int:
        """The largest level this wavelet allows on ``image_shape`` (see Notes of :class:`Wavelet`).

        Parameters
        ----------
        image_shape : tuple of int, optional
            ``(H, W)`` or ``(C, H, W)``; default: the basis's own ``image_shape``.

        Returns
        -------
        int
        """
        shape = self._shape(image_shape)
        return self._max_level(shape)

    def _max_level(self, shape) -> int:
        return max_wavelet_level(shape, self._filter_length)

    def _check_shape(self, image_shape):
        shape = super()._check_shape(image_shape)
        check_wavelet_level(self.wavelet, self.level, shape, self._filter_length)
        return shape

    def _levels(self, shape) -> int:
        return self._max_level(shape) if self.level is None else self.level

    def _operator(self, shape):
        return _WaveletOperator(shape, self.wavelet, self._levels(shape))

    def __repr__(self) -> str:
        return f"Wavelet(wavelet={self.wavelet!r}, level={self.level}, mode={self.mode!r}, image_shape={self.image_shape})"


def get_basis(name: str, image_shape=None, **kw) -> _Basis:
    """A basis by name.

    Parameters
    ----------
    name : {"pixel", "dct", "wavelet"}
        :class:`Identity`, :class:`DCT2` or :class:`Wavelet`.
    image_shape : tuple of int, optional
        Shape of one image.
    **kw
        ``wavelet``, ``level`` and ``mode`` for ``"wavelet"``.

    Returns
    -------
    Identity, DCT2 or Wavelet

    Raises
    ------
    ValueError
        For an unknown name (the valid names are listed, sorted), or keyword
        arguments the basis does not take.
    """
    check_choice(name, "name", BASES, owner="get_basis")
    if name == "wavelet":
        unknown = sorted(set(kw) - {"wavelet", "level", "mode"})
        if unknown:
            raise ValueError(f"get_basis('wavelet') takes the keywords ['level', 'mode', 'wavelet']. Got {unknown}.")
        return Wavelet(image_shape=image_shape, **kw)
    if kw:
        raise ValueError(f"get_basis({name!r}) takes no keyword arguments. Got {sorted(kw)}.")
    return (Identity if name == "pixel" else DCT2)(image_shape)


def BasisOperator(basis: _Basis, image_shape) -> LinearOperator:
    r"""A basis as a square, differentiable :class:`~ganprior.operators.LinearOperator`: :math:`x \mapsto \Psi x`.

    Parameters
    ----------
    basis : Identity, DCT2 or Wavelet
        The basis.
    image_shape : tuple of int
        Shape of one image; the operator maps ``(*batch, *image_shape)`` to
        ``(*batch, n)`` and its adjoint (= inverse) back.

    Returns
    -------
    ganprior.operators.LinearOperator
        The torch operator of the basis (:meth:`_Basis.operator`): it runs on
        any device and dtype and gradients flow through it.

    Raises
    ------
    TypeError
        If ``basis`` is not a basis of this module.
    """
    if not isinstance(basis, _Basis):
        raise TypeError(
            "The 'basis' parameter of BasisOperator must be a ganprior.bases basis (Identity, DCT2, Wavelet). "
            f"Got {describe(basis)} instead."
        )
    return basis.operator(image_shape)
