"""Dense operators: an explicit matrix and the Gaussian measurement matrix."""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import (
    as_real_float,
    check_finite,
    check_float_dtype,
    check_float,
    check_int,
    check_seed,
    describe,
)
from .base import LinearOperator, shape_tuple


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
        Convert the matrix to this real floating dtype (default: keep a floating
        tensor's dtype; NumPy input becomes float32 unless it is float64, and
        integer input becomes float32).

    Raises
    ------
    TypeError
        If ``matrix`` is not an array or tensor of real numbers, or ``dtype`` is
        not a real floating dtype.
    ValueError
        If it is not 2-D, holds NaN/Inf, or ``in_shape`` does not hold ``n`` pixels.

    Notes
    -----
    Applying the operator computes in the promoted dtype of the matrix and the
    input (``torch.promote_types``): a float64 matrix applied to float32 images
    gives float64 measurements, a float32 matrix keeps float64 input in float64.
    Integer or boolean input is computed in the matrix's dtype; complex input
    raises a TypeError.
    """

    def __init__(self, matrix, in_shape=None, *, dtype=None):
        if dtype is not None:
            check_float_dtype(dtype, "dtype", owner=type(self).__name__)
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
        in_shape = (n,) if in_shape is None else shape_tuple(in_shape, "in_shape")
        if int(np.prod(in_shape)) != n:
            raise ValueError(
                f"The 'in_shape' parameter {in_shape} holds {int(np.prod(in_shape))} pixels but the matrix "
                f"has n={n} columns."
            )
        super().__init__(m, in_shape)
        self.register_buffer("matrix", matrix)

    def _operands(self, v):
        v = as_real_float(v, type(self).__name__, self.matrix.dtype)
        dtype = torch.promote_types(v.dtype, self.matrix.dtype)
        return v.to(dtype), self.matrix.to(dtype)

    def _forward(self, x):
        x, matrix = self._operands(x)
        return x @ matrix.T

    def _adjoint(self, y):
        y, matrix = self._operands(y)
        return y @ matrix

    def to_dense(self, dtype=torch.float64):
        """The stored matrix, converted to ``dtype``.

        Parameters
        ----------
        dtype : torch.dtype
            dtype of the result (default float64).

        Returns
        -------
        torch.Tensor
            Shape ``(m, n)``.
        """
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
        A real floating dtype, default float32 (the draw is made in float64, then rounded).
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
        m, n, in_shape = _draw_shape(m, n, in_shape, "Gaussian")
        check_float_dtype(dtype, "dtype", owner="Gaussian")
        gen = check_seed(seed)
        matrix = torch.randn(m, n, generator=gen, dtype=torch.float64) / math.sqrt(m)
        super().__init__(matrix.to(dtype=dtype, device=device), in_shape)


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


def _draw_shape(m, n, in_shape, owner):
    """``(m, n, in_shape)`` checked for the seeded random operators."""
    m = check_int(m, "m", minimum=1, owner=owner)
    if n is None and in_shape is None:
        raise ValueError(f"{owner} needs the signal size: give 'n' or 'in_shape'.")
    if in_shape is not None:
        in_shape = shape_tuple(in_shape, "in_shape")
        if n is not None and check_int(n, "n", minimum=1, owner=owner) != int(np.prod(in_shape)):
            raise ValueError(f"The 'n' parameter ({n}) does not match 'in_shape' {in_shape}.")
        n = int(np.prod(in_shape))
    return m, check_int(n, "n", minimum=1, owner=owner), in_shape


class ComplexGaussian(LinearOperator):
    r"""Complex Gaussian measurements :math:`A = (B + iC)/\sqrt{2m}`, :math:`B_{ij}, C_{ij} \sim \mathcal N(0, 1)`.

    The operator of complex phase retrieval (:class:`ganprior.likelihoods.Magnitude`): :math:`Ax` is complex for
    a real image :math:`x`, :math:`\mathbb E\|Ax\|^2 = \|x\|^2`, and unlike a real Gaussian it measures the
    magnitudes of complex projections (only a global phase is lost: for a real image that is its sign, so
    :math:`x` is recovered up to :math:`\pm`, as with a real operator).

    Parameters
    ----------
    m : int
        Number of measurements.
    n : int, optional
        Signal size; inferred from ``in_shape`` when omitted.
    seed : None, int or torch.Generator
        Seed of the draw (real parts first, then imaginary parts).
    in_shape : tuple of int, optional
        Image shape.
    dtype : torch.dtype
        The real dtype of the two parts (default float32); :math:`Ax` is complex of that precision.
    device : torch.device or str, optional
        Where the parts live.

    Notes
    -----
    The real and imaginary parts are stored as two real buffers, so ``.double()``, ``.to(device)`` and row
    selection behave as for a real operator; :meth:`adjoint` maps a complex :math:`y` to the real
    :math:`\operatorname{Re}(A^H y) = B^T \operatorname{Re} y + C^T \operatorname{Im} y` (scaled), the adjoint
    of :math:`A` as a map from :math:`\mathbb R^n` to :math:`\mathbb C^m` over the reals.

    Examples
    --------
    >>> import torch, ganprior
    >>> A = ganprior.operators.ComplexGaussian(m=30, n=10, seed=0)
    >>> A(torch.ones(2, 10)).dtype
    torch.complex64
    """

    def __init__(self, m, n=None, *, seed=None, in_shape=None, dtype=torch.float32, device=None):
        m, n, in_shape = _draw_shape(m, n, in_shape, "ComplexGaussian")
        check_float_dtype(dtype, "dtype", owner="ComplexGaussian")
        gen = check_seed(seed)
        real = torch.randn(m, n, generator=gen, dtype=torch.float64) / math.sqrt(2 * m)
        imag = torch.randn(m, n, generator=gen, dtype=torch.float64) / math.sqrt(2 * m)
        super().__init__(m, in_shape if in_shape is not None else (n,))
        self.register_buffer("real", real.to(dtype=dtype, device=device))
        self.register_buffer("imag", imag.to(dtype=dtype, device=device))

    def _forward(self, x):
        x = as_real_float(x, type(self).__name__, self.real.dtype)
        dtype = torch.promote_types(x.dtype, self.real.dtype)
        x = x.to(dtype)
        return torch.complex(x @ self.real.to(dtype).T, x @ self.imag.to(dtype).T)

    def _adjoint(self, y):
        if not y.is_complex():
            y = torch.complex(y, torch.zeros_like(y))
        dtype = torch.promote_types(y.real.dtype, self.real.dtype)
        return y.real.to(dtype) @ self.real.to(dtype) + y.imag.to(dtype) @ self.imag.to(dtype)

    def to_dense(self, dtype=torch.complex128):
        """The complex ``(m, n)`` matrix.

        Parameters
        ----------
        dtype : torch.dtype
            A complex dtype (default complex128).

        Returns
        -------
        torch.Tensor
        """
        return torch.complex(self.real.double(), self.imag.double()).to(dtype)


class NonNegative(Matrix):
    r"""Non-negative measurements: each row averages a random subset of the pixels, :math:`A_{ij} = b_{ij}/(pn)`.

    :math:`b_{ij} \sim \mathrm{Bernoulli}(p)`, so :math:`(Ax)_i` is about the mean of the image over a random
    fraction :math:`p` of its pixels, and :math:`Ax \ge 0` for every image :math:`x \ge 0`: the operator of
    photon-limited imaging (:class:`ganprior.likelihoods.Poisson`, whose ``photons`` is then the expected
    count of a white image's measurement).

    Parameters
    ----------
    m : int
        Number of measurements.
    n : int, optional
        Signal size; inferred from ``in_shape`` when omitted.
    density : float
        :math:`p \in (0, 1]` (default 0.5).
    seed : None, int or torch.Generator
        Seed of the draw.
    in_shape : tuple of int, optional
        Image shape.
    dtype : torch.dtype
        Default float32.
    device : torch.device or str, optional
        Where the matrix lives.

    Examples
    --------
    >>> import torch, ganprior
    >>> A = ganprior.operators.NonNegative(m=20, n=100, seed=0)
    >>> bool((A.matrix >= 0).all())
    True
    """

    def __init__(self, m, n=None, *, density=0.5, seed=None, in_shape=None, dtype=torch.float32, device=None):
        m, n, in_shape = _draw_shape(m, n, in_shape, "NonNegative")
        density = check_float(density, "density", minimum=0.0, strict=True, owner="NonNegative")
        if density > 1.0:
            raise ValueError(f"The 'density' parameter of NonNegative must lie in (0, 1]. Got {density} instead.")
        check_float_dtype(dtype, "dtype", owner="NonNegative")
        gen = check_seed(seed)
        bits = (torch.rand(m, n, generator=gen, dtype=torch.float64) < density).to(torch.float64)
        super().__init__((bits / (density * n)).to(dtype=dtype, device=device), in_shape)
