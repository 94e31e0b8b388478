r"""Linear measurement operators, torch-native.

Every operator is an :class:`torch.nn.Module` mapping a batch of images of
shape ``(*batch, *in_shape)`` to measurements of shape ``(*batch, m)``.  Its
tensors are buffers, so ``.to(device)`` and ``state_dict`` work.  Public
:meth:`LinearOperator.forward` / :meth:`LinearOperator.adjoint` check shapes
and call the private ``_forward`` / ``_adjoint`` on flat ``(B, n)`` /
``(B, m)`` tensors, which is all a new operator has to implement.

Operators compose with ``@`` (``(A @ B)(x) == A(B(x))``), scale with ``*``
and give their adjoint as ``A.H``.  :func:`dottest` checks
:math:`\langle A x, y\rangle = \langle x, A^H y\rangle`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ._validation import check_finite, check_int, check_seed, describe

__all__ = [
    "LinearOperator",
    "Matrix",
    "Gaussian",
    "Identity",
    "Mask",
    "Downsample",
    "SubsampledDCT",
    "Composed",
    "Scaled",
    "Adjoint",
    "as_operator",
    "dct",
    "idct",
    "dottest",
]


def _shape_tuple(shape, name) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"The '{name}' parameter must be a tuple of positive ints. Got {describe(shape)} instead.")
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"The '{name}' parameter must be a non-empty tuple of positive ints. Got {shape} instead.")
    return shape


class LinearOperator(torch.nn.Module):
    r"""Base class of a linear map :math:`A: \mathbb{R}^n \to \mathbb{R}^m`.

    Parameters
    ----------
    m : int
        Number of measurements.
    in_shape : int or tuple of int
        Shape of one input image, e.g. ``(1, 28, 28)``; ``n = prod(in_shape)``.

    Notes
    -----
    Subclasses implement ``_forward(x)`` for ``x`` of shape ``(B, n)`` returning
    ``(B, m)`` and ``_adjoint(y)`` for ``(B, m) -> (B, n)``.  Inputs may also be
    given flat, with trailing dimension ``n``.
    """

    def __init__(self, m: int, in_shape):
        super().__init__()
        self.m = check_int(m, "m", minimum=1, owner=type(self).__name__)
        self.in_shape = _shape_tuple(in_shape, "in_shape")
        self.n = int(np.prod(self.in_shape))

    # -- shape -----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``: the shape of the operator as a matrix."""
        return (self.m, self.n)

    def _batch_of_input(self, x: torch.Tensor) -> tuple[int, ...]:
        k = len(self.in_shape)
        if x.ndim >= k and tuple(x.shape[x.ndim - k:]) == self.in_shape:
            return tuple(x.shape[: x.ndim - k])
        if x.ndim >= 1 and x.shape[-1] == self.n:
            return tuple(x.shape[:-1])
        raise ValueError(
            f"{type(self).__name__} expects input of shape (*batch, {', '.join(map(str, self.in_shape))}) "
            f"or (*batch, {self.n}). Got shape {tuple(x.shape)} instead."
        )

    # -- application -----------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the operator: ``(*batch, *in_shape) -> (*batch, m)``."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor input. Got {describe(x)} instead.")
        batch = self._batch_of_input(x)
        out = self._forward(x.reshape(-1, self.n))
        return out.reshape(*batch, self.m)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """Apply the adjoint: ``(*batch, m) -> (*batch, *in_shape)``."""
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"{type(self).__name__}.adjoint expects a torch.Tensor. Got {describe(y)} instead.")
        if y.ndim < 1 or y.shape[-1] != self.m:
            raise ValueError(
                f"{type(self).__name__}.adjoint expects input of shape (*batch, {self.m}). "
                f"Got shape {tuple(y.shape)} instead."
            )
        batch = tuple(y.shape[:-1])
        out = self._adjoint(y.reshape(-1, self.m))
        return out.reshape(*batch, *self.in_shape)

    def _forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _adjoint(self, y):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- algebra ---------------------------------------------------------------
    @property
    def H(self) -> "LinearOperator":
        """The adjoint operator :math:`A^H` (a view sharing this operator's buffers)."""
        return Adjoint(self)

    def __matmul__(self, other):
        if isinstance(other, LinearOperator):
            return Composed(self, other)
        return NotImplemented

    def __mul__(self, scalar):
        if isinstance(scalar, numbers.Real) and not isinstance(scalar, bool):
            return Scaled(self, float(scalar))
        return NotImplemented

    __rmul__ = __mul__

    def to_dense(self, dtype=torch.float64) -> torch.Tensor:
        """The ``(m, n)`` matrix of the operator, built by applying it to the identity.

        Meant for small operators and tests; it costs ``n`` applications.
        """
        device = self._device()
        eye = torch.eye(self.n, dtype=dtype, device=device)
        cols = self._forward(eye.to(self._dtype() or dtype)).to(dtype)
        return cols.T.contiguous()

    def _device(self) -> torch.device:
        for t in list(self.buffers()) + list(self.parameters()):
            return t.device
        return torch.device("cpu")

    def _dtype(self):
        for t in list(self.buffers()) + list(self.parameters()):
            if t.is_floating_point():
                return t.dtype
        return None

    @property
    def device(self) -> torch.device:
        """Device of the operator's buffers (CPU for buffer-free operators)."""
        return self._device()

    def extra_repr(self) -> str:
        return f"m={self.m}, in_shape={self.in_shape}"


class Adjoint(LinearOperator):
    """The adjoint of ``op``, mapping ``(*batch, m)`` to ``(*batch, n)``."""

    def __init__(self, op: LinearOperator):
        super().__init__(op.n, (op.m,))
        self.op = op

    def _forward(self, x):
        return self.op._adjoint(x)

    def _adjoint(self, y):
        return self.op._forward(y)

    @property
    def H(self):
        return self.op


class Composed(LinearOperator):
    """The composition ``outer @ inner``: ``x -> outer(inner(x))``."""

    def __init__(self, outer: LinearOperator, inner: LinearOperator):
        if outer.n != inner.m:
            raise ValueError(
                f"Cannot compose operators: the outer one takes n={outer.n} inputs but the inner one "
                f"gives m={inner.m} outputs."
            )
        super().__init__(outer.m, inner.in_shape)
        self.outer = outer
        self.inner = inner

    def _forward(self, x):
        return self.outer._forward(self.inner._forward(x))

    def _adjoint(self, y):
        return self.inner._adjoint(self.outer._adjoint(y))


class Scaled(LinearOperator):
    """``scale * op``."""

    def __init__(self, op: LinearOperator, scale: float):
        super().__init__(op.m, op.in_shape)
        self.op = op
        self.scale = float(scale)

    def _forward(self, x):
        return self.scale * self.op._forward(x)

    def _adjoint(self, y):
        return self.scale * self.op._adjoint(y)


class Matrix(LinearOperator):
    r"""A dense matrix :math:`A \in \mathbb{R}^{m \times n}` as an operator.

    Parameters
    ----------
    matrix : array_like or torch.Tensor, shape (m, n)
        The matrix.  NumPy input is copied to a tensor; a tensor is used as is
        (no copy), on its own device.
    in_shape : tuple of int, optional
        Image shape the columns correspond to; ``(n,)`` if not given.
    dtype : torch.dtype, optional
        Convert the matrix to this floating dtype (default: keep a floating
        tensor's dtype; NumPy input becomes float32 unless it is float64).

    Raises
    ------
    TypeError
        If ``matrix`` is not an array or tensor of real numbers.
    ValueError
        If it is not 2-D, holds NaN/Inf, or ``in_shape`` does not hold ``n`` pixels.
    """

    def __init__(self, matrix, in_shape=None, *, dtype=None):
        if isinstance(matrix, np.ndarray):
            if not (np.issubdtype(matrix.dtype, np.floating) or np.issubdtype(matrix.dtype, np.integer)):
                raise TypeError(f"The 'matrix' parameter must hold real numbers. Got {describe(matrix)} instead.")
            matrix = torch.from_numpy(np.ascontiguousarray(matrix))
            if not matrix.is_floating_point():
                matrix = matrix.to(torch.float32)
        elif not isinstance(matrix, torch.Tensor):
            raise TypeError(
                "The 'matrix' parameter must be a numpy.ndarray or torch.Tensor of shape (m, n). "
                f"Got {describe(matrix)} instead."
            )
        if matrix.is_complex() or matrix.dtype == torch.bool:
            raise TypeError(f"The 'matrix' parameter must hold real numbers. Got {describe(matrix)} instead.")
        if not matrix.is_floating_point():
            matrix = matrix.to(torch.float32)
        if matrix.ndim != 2:
            raise ValueError(f"The 'matrix' parameter must be 2-D, shape (m, n). Got {describe(matrix)} instead.")
        check_finite(matrix, "matrix")
        if dtype is not None:
            matrix = matrix.to(dtype)
        m, n = matrix.shape
        in_shape = (n,) if in_shape is None else _shape_tuple(in_shape, "in_shape")
        if int(np.prod(in_shape)) != n:
            raise ValueError(
                f"The 'in_shape' parameter {in_shape} holds {int(np.prod(in_shape))} pixels but the matrix "
                f"has n={n} columns."
            )
        super().__init__(m, in_shape)
        self.register_buffer("matrix", matrix)

    def _forward(self, x):
        return x @ self.matrix.T

    def _adjoint(self, y):
        return y @ self.matrix

    def to_dense(self, dtype=torch.float64):
        return self.matrix.to(dtype)


class Gaussian(Matrix):
    r"""Gaussian measurement matrix with i.i.d. :math:`\mathcal{N}(0, 1/m)` entries.

    The scaling of Bora et al. (2017): :math:`\mathbb{E}\|Ax\|^2 = \|x\|^2`.

    Parameters
    ----------
    m : int
        Number of measurements.
    n : int, optional
        Signal size; inferred from ``in_shape`` when omitted.
    seed : None, int or torch.Generator
        Seed of the draw; the same seed gives the same matrix on every device.
    in_shape : tuple of int, optional
        Image shape, e.g. ``(1, 28, 28)``.
    dtype : torch.dtype
        Default float32.
    device : torch.device or str, optional
        Where the matrix lives (drawn on the CPU, then moved).

    Examples
    --------
    >>> import torch, ganprior
    >>> A = ganprior.operators.Gaussian(m=100, n=784, seed=0)
    >>> A.shape
    (100, 784)
    >>> A(torch.zeros(5, 784)).shape
    torch.Size([5, 100])
    """

    def __init__(self, m, n=None, *, seed=None, in_shape=None, dtype=torch.float32, device=None):
        m = check_int(m, "m", minimum=1, owner="Gaussian")
        if n is None and in_shape is None:
            raise ValueError("Gaussian needs the signal size: give 'n' or 'in_shape'.")
        if in_shape is not None:
            in_shape = _shape_tuple(in_shape, "in_shape")
            if n is not None and check_int(n, "n", minimum=1, owner="Gaussian") != int(np.prod(in_shape)):
                raise ValueError(f"The 'n' parameter ({n}) does not match 'in_shape' {in_shape}.")
            n = int(np.prod(in_shape))
        n = check_int(n, "n", minimum=1, owner="Gaussian")
        gen = check_seed(seed)
        matrix = torch.randn(m, n, generator=gen, dtype=torch.float64) / math.sqrt(m)
        super().__init__(matrix.to(dtype=dtype, device=device), in_shape)


class Identity(LinearOperator):
    """The identity on images of shape ``in_shape`` (denoising, representation error)."""

    def __init__(self, in_shape):
        in_shape = _shape_tuple(in_shape, "in_shape")
        super().__init__(int(np.prod(in_shape)), in_shape)

    def _forward(self, x):
        return x

    def _adjoint(self, y):
        return y


class Mask(LinearOperator):
    """Keep the known pixels of an image: ``y = x[mask]``.

    Parameters
    ----------
    mask : array_like or torch.Tensor of bool or {0, 1}
        Shape of one image (``in_shape``); 1/True marks a known pixel.

    Notes
    -----
    ``m`` is the number of known pixels; the adjoint scatters measurements back
    into an image that is zero at the missing pixels.
    """

    def __init__(self, mask):
        if isinstance(mask, np.ndarray):
            mask = torch.from_numpy(np.ascontiguousarray(mask))
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"The 'mask' parameter must be an array or tensor. Got {describe(mask)} instead.")
        if mask.dtype != torch.bool:
            if not bool(((mask == 0) | (mask == 1)).all()):
                raise ValueError("The 'mask' parameter must hold only 0 and 1 (or booleans).")
            mask = mask != 0
        index = torch.nonzero(mask.reshape(-1)).reshape(-1)
        if index.numel() == 0:
            raise ValueError("The 'mask' parameter marks no known pixel: at least one entry must be 1.")
        super().__init__(index.numel(), tuple(mask.shape))
        self.register_buffer("index", index)

    @property
    def mask(self) -> torch.Tensor:
        """The boolean mask of known pixels, shape ``in_shape``."""
        out = torch.zeros(self.n, dtype=torch.bool, device=self.index.device)
        out[self.index] = True
        return out.reshape(self.in_shape)

    def _forward(self, x):
        return x[:, self.index]

    def _adjoint(self, y):
        out = y.new_zeros(y.shape[0], self.n)
        out[:, self.index] = y
        return out


class Downsample(LinearOperator):
    r"""Super-resolution operator: average over ``factor x factor`` blocks.

    Parameters
    ----------
    in_shape : tuple of int
        ``(C, H, W)`` with ``H`` and ``W`` divisible by ``factor``.
    factor : int
        Block size.

    Notes
    -----
    :math:`(Ax)_{c,i,j} = f^{-2} \sum_{a,b<f} x_{c, fi+a, fj+b}`; the adjoint
    copies each value to its block divided by :math:`f^2`.
    """

    def __init__(self, in_shape, factor: int):
        in_shape = _shape_tuple(in_shape, "in_shape")
        factor = check_int(factor, "factor", minimum=1, owner="Downsample")
        if len(in_shape) != 3 or in_shape[1] % factor or in_shape[2] % factor:
            raise ValueError(
                f"Downsample needs in_shape (C, H, W) with H and W divisible by factor={factor}. "
                f"Got in_shape {in_shape} instead."
            )
        c, h, w = in_shape
        super().__init__(c * (h // factor) * (w // factor), in_shape)
        self.factor = factor

    def _forward(self, x):
        c, h, w = self.in_shape
        img = x.reshape(-1, c, h, w)
        return torch.nn.functional.avg_pool2d(img, self.factor).reshape(x.shape[0], -1)

    def _adjoint(self, y):
        c, h, w = self.in_shape
        f = self.factor
        low = y.reshape(-1, c, h // f, w // f) / (f * f)
        return low.repeat_interleave(f, dim=2).repeat_interleave(f, dim=3).reshape(y.shape[0], -1)


# --------------------------------------------------------------------------- DCT
def dct(x: torch.Tensor) -> torch.Tensor:
    r"""Orthonormal DCT-II along the last dimension, in :math:`O(n \log n)`.

    Notes
    -----
    :math:`X_k = s_k \sum_{j<n} x_j \cos(\pi k (2j+1) / (2n))` with
    :math:`s_0 = \sqrt{1/n}`, :math:`s_k = \sqrt{2/n}`; equal to
    ``scipy.fft.dct(x, norm="ortho")``.  Computed with one complex FFT of a
    reordered sequence (Makhoul, 1980), so it is differentiable and runs on
    any device.
    """
    n = x.shape[-1]
    v = torch.cat([x[..., ::2], x[..., 1::2].flip(-1)], dim=-1)
    spec = torch.fft.fft(v, dim=-1)
    k = torch.arange(n, device=x.device, dtype=x.dtype)
    phase = -math.pi * k / (2 * n)
    out = spec.real * torch.cos(phase) - spec.imag * torch.sin(phase)
    scale = torch.full((n,), math.sqrt(2.0 / n), device=x.device, dtype=x.dtype)
    scale[0] = math.sqrt(1.0 / n)
    return out * scale


def idct(y: torch.Tensor) -> torch.Tensor:
    r"""Inverse (and adjoint) of :func:`dct`: the orthonormal DCT-III, :math:`O(n \log n)`."""
    n = y.shape[-1]
    scale = torch.full((n,), math.sqrt(n / 2.0), device=y.device, dtype=y.dtype)
    scale[0] = math.sqrt(n)
    c = y * scale  # unnormalised coefficients X_k = sum_j x_j cos(...)
    k = torch.arange(n, device=y.device, dtype=y.dtype)
    c_rev = torch.cat([torch.zeros_like(c[..., :1]), c[..., 1:].flip(-1)], dim=-1)  # X_{n-k}, X_n = 0
    phase = math.pi * k / (2 * n)
    cos, sin = torch.cos(phase), torch.sin(phase)
    spec = torch.complex(c * cos + c_rev * sin, c * sin - c_rev * cos)
    v = torch.fft.ifft(spec, dim=-1).real
    x = torch.empty_like(v)
    half = (n + 1) // 2
    x[..., ::2] = v[..., :half]
    x[..., 1::2] = v[..., half:].flip(-1)
    return x


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
    """

    def __init__(self, m, n=None, *, seed=None, in_shape=None, device=None):
        if n is None and in_shape is None:
            raise ValueError("SubsampledDCT needs the signal size: give 'n' or 'in_shape'.")
        if in_shape is None:
            in_shape = (check_int(n, "n", minimum=1, owner="SubsampledDCT"),)
        in_shape = _shape_tuple(in_shape, "in_shape")
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
        return dct(x * self.signs.to(x.dtype))[:, self.rows] * self.scale

    def _adjoint(self, y):
        full = y.new_zeros(y.shape[0], self.n)
        full[:, self.rows] = y * self.scale
        return idct(full) * self.signs.to(y.dtype)


# ----------------------------------------------------------------------- helpers
def as_operator(A, in_shape=None, name: str = "A") -> LinearOperator:
    """Turn ``A`` into a :class:`LinearOperator`.

    Parameters
    ----------
    A : LinearOperator, numpy.ndarray or torch.Tensor
        An operator is returned unchanged; an ``(m, n)`` array becomes a
        :class:`Matrix` (NumPy input in float32 unless float64).
    in_shape : tuple of int, optional
        Image shape for a matrix.
    name : str
        Argument name for error messages.

    Raises
    ------
    TypeError
        If ``A`` is none of the accepted types.
    """
    if isinstance(A, LinearOperator):
        return A
    if isinstance(A, (np.ndarray, torch.Tensor)):
        if A.ndim != 2:
            raise ValueError(
                f"The '{name}' parameter, given as an array, must be a 2-D (m, n) matrix. Got {describe(A)} instead."
            )
        return Matrix(A, in_shape)
    raise TypeError(
        f"The '{name}' parameter must be a ganprior LinearOperator or an (m, n) numpy.ndarray / torch.Tensor. "
        f"Got {describe(A)} instead."
    )


def dottest(A: LinearOperator, *, seed=0, rtol=None, raise_error: bool = True) -> tuple[float, float]:
    r"""Check that ``A.adjoint`` is the adjoint of ``A``.

    Draws random :math:`x \in \mathbb{R}^n`, :math:`y \in \mathbb{R}^m` and
    compares :math:`\langle Ax, y\rangle` with :math:`\langle x, A^H y\rangle`.

    Parameters
    ----------
    A : LinearOperator
        Operator to check.
    seed : None, int or torch.Generator
        Seed of the random vectors.
    rtol : float, optional
        Tolerance relative to :math:`\|Ax\|\,\|y\|`; default ``1e-10`` in float64
        and ``1e-5`` otherwise.
    raise_error : bool
        Raise if the check fails (default) rather than only returning.

    Returns
    -------
    (float, float)
        :math:`\langle Ax, y\rangle` and :math:`\langle x, A^H y\rangle`.

    Raises
    ------
    AssertionError
        If the two differ by more than ``rtol`` relative to their size and
        ``raise_error`` is true.

    Examples
    --------
    >>> from ganprior.operators import SubsampledDCT, dottest
    >>> lhs, rhs = dottest(SubsampledDCT(50, 256, seed=0))
    """
    if not isinstance(A, LinearOperator):
        raise TypeError(f"dottest expects a LinearOperator. Got {describe(A)} instead.")
    gen = check_seed(seed)
    dtype = A._dtype() or torch.float64
    device = A.device
    x = torch.randn(A.n, generator=gen, dtype=torch.float64).to(device=device, dtype=dtype)
    y = torch.randn(A.m, generator=gen, dtype=torch.float64).to(device=device, dtype=dtype)
    with torch.no_grad():
        ax, ahy = A(x).double(), A.adjoint(y).double().reshape(-1)
        lhs = float((ax * y.double()).sum())
        rhs = float((x.double() * ahy).sum())
        # Cauchy-Schwarz scale, robust when the inner products nearly cancel
        scale = max(float(ax.norm() * y.double().norm()), float(x.double().norm() * ahy.norm()), 1e-300)
    if rtol is None:
        rtol = 1e-10 if dtype == torch.float64 else 1e-5
    if raise_error and abs(lhs - rhs) > rtol * scale:
        raise AssertionError(f"Dot test failed: <Ax, y> = {lhs!r} but <x, A^H y> = {rhs!r} (rtol {rtol}).")
    return lhs, rhs
