"""The LinearOperator base class and the operator algebra (adjoint, composition, scaling)."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._validation import check_int, describe

__all__ = ["LinearOperator", "Adjoint", "Composed", "Scaled", "Rows"]


def _as_float64(x):
    """``x`` (a NumPy array or a tensor) as a float64 CPU tensor."""
    return torch.as_tensor(np.asarray(x) if isinstance(x, np.ndarray) else x.detach().cpu()).double()


def shape_tuple(shape, name) -> tuple[int, ...]:
    """``shape`` as a non-empty tuple of positive ints (an int is one axis); ``name`` is named in the error."""
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
        self.in_shape = shape_tuple(in_shape, "in_shape")
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
        """Apply the operator: ``(*batch, *in_shape) -> (*batch, m)``.

        Parameters
        ----------
        x : torch.Tensor
            Images of shape ``(*batch, *in_shape)``, or flat ``(*batch, n)``.

        Returns
        -------
        torch.Tensor
            Measurements :math:`Ax`, shape ``(*batch, m)``.

        Raises
        ------
        TypeError, ValueError
            If ``x`` is not a tensor of a matching shape.
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor input. Got {describe(x)} instead.")
        batch = self._batch_of_input(x)
        out = self._forward(x.reshape(-1, self.n))
        return out.reshape(*batch, self.m)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """Apply the adjoint: ``(*batch, m) -> (*batch, *in_shape)``.

        Parameters
        ----------
        y : torch.Tensor
            Measurements of shape ``(*batch, m)``.

        Returns
        -------
        torch.Tensor
            :math:`A^H y`, shape ``(*batch, *in_shape)``.

        Raises
        ------
        TypeError, ValueError
            If ``y`` is not a tensor of a matching shape.
        """
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

    def take_rows(self, index) -> "LinearOperator":
        """The operator restricted to the measurements ``index`` (see :class:`Rows`).

        Parameters
        ----------
        index : sequence of int or torch.Tensor
            Distinct rows in ``[0, m)``.

        Returns
        -------
        LinearOperator
        """
        return Rows(self, index)

    def to_dense(self, dtype=torch.float64) -> torch.Tensor:
        """The ``(m, n)`` matrix of the operator, built by applying it to the identity.

        Meant for small operators and tests; it costs ``n`` applications.

        Parameters
        ----------
        dtype : torch.dtype
            dtype of the result (default float64).

        Returns
        -------
        torch.Tensor
            Shape ``(m, n)``, on the operator's device.
        """
        device = self._device()
        eye = torch.eye(self.n, dtype=dtype, device=device)
        cols = self._forward(eye.to(self._dtype() or dtype)).to(dtype)
        return cols.T.contiguous()

    # -- numerics ----------------------------------------------------------------
    def norm(self, iterations: int = 100, seed: int = 0) -> float:
        r"""The spectral norm :math:`\|A\|_2`, by power iteration on :math:`A^H A` from a seeded start.

        Parameters
        ----------
        iterations : int
            Power iterations (default 100).
        seed : int
            Seed of the starting vector.

        Returns
        -------
        float
            An estimate from below that converges to :math:`\|A\|_2` (:math:`\sqrt{\lambda_{max}(A^H A)}`).
        """
        iterations = check_int(iterations, "iterations", minimum=1, owner=f"{type(self).__name__}.norm")
        dtype = self._dtype() or torch.float64
        v = torch.randn(1, self.n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        v = (v / v.norm()).to(device=self._device(), dtype=dtype)
        with torch.no_grad():
            for _ in range(iterations):
                w = self.adjoint(self(v)).reshape(1, -1).real
                v = w / w.norm()
            return float(self(v).abs().double().norm())

    def float64(self) -> "LinearOperator":
        """A float64 copy of the operator on the CPU (this operator is never converted in place).

        Returns
        -------
        LinearOperator
        """
        import copy

        return copy.deepcopy(self).double().cpu()

    def residual(self, y, x) -> torch.Tensor:
        r"""Per-problem squared residual :math:`\|y - Ax\|^2`, in float64 on the CPU (any array types).

        Parameters
        ----------
        y : array
            Measurements ``(P, m)``.
        x : array
            Images ``(P, ...)``.

        Returns
        -------
        torch.Tensor
            ``(P,)``.
        """
        x = _as_float64(x)
        with torch.no_grad():
            u = self.float64()(x.reshape(x.shape[0], -1))
            return (_as_float64(y).reshape(x.shape[0], -1) - u).abs().pow(2).sum(-1)

    def measure(self, x: torch.Tensor, likelihood=None, seed=None) -> torch.Tensor:
        r"""Simulated measurements of ``x`` under a measurement model: :math:`y \sim p(y \mid Ax)`.

        Parameters
        ----------
        x : torch.Tensor
            Images ``(*batch, *in_shape)``.
        likelihood : None, str or ganprior.likelihoods.Likelihood
            The model (:mod:`ganprior.likelihoods`): None is noiseless :math:`y = Ax`;
            e.g. ``Gaussian.from_norm(0.1, m)`` is the papers' :math:`\|\eta\| \approx 0.1`,
            ``Magnitude()`` phase retrieval, ``Sign()`` 1-bit, ``Poisson(photons=10)`` photon counts.
        seed : None, int or torch.Generator
            Seed of the noise.

        Returns
        -------
        torch.Tensor
            ``(*batch, m)`` (real).

        Examples
        --------
        >>> import torch, ganprior
        >>> from ganprior.likelihoods import Gaussian
        >>> A = ganprior.operators.Gaussian(m=50, n=100, seed=0)
        >>> y = A.measure(torch.ones(3, 100), Gaussian.from_norm(0.1, 50), seed=0)
        >>> y.shape
        torch.Size([3, 50])
        """
        from ..likelihoods import get_likelihood

        model = get_likelihood(likelihood, owner=f"{type(self).__name__}.measure")
        with torch.no_grad():
            return model.sample(self(x), seed=seed)

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
    """The adjoint of ``op``, mapping ``(*batch, m)`` to ``(*batch, n)``; usually made by ``op.H``.

    Parameters
    ----------
    op : LinearOperator
        The operator :math:`A`; this is :math:`A^H`, sharing its buffers.
    """

    def __init__(self, op: LinearOperator):
        super().__init__(op.n, (op.m,))
        self.op = op

    def _forward(self, x):
        return self.op._adjoint(x)

    def _adjoint(self, y):
        return self.op._forward(y)

    @property
    def H(self):
        """The original operator: :math:`(A^H)^H = A`."""
        return self.op


class Composed(LinearOperator):
    """The composition ``outer @ inner``: ``x -> outer(inner(x))``; usually made by ``outer @ inner``.

    Parameters
    ----------
    outer : LinearOperator
        Applied second, :math:`B`.
    inner : LinearOperator
        Applied first, :math:`C`; its ``m`` must equal ``outer.n``.

    Raises
    ------
    ValueError
        If the sizes do not chain.

    Notes
    -----
    :math:`(BC)^H = C^H B^H`, applied without forming either matrix.
    """

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
    """``scale * op``; usually made by ``scale * op`` or ``op * scale``.

    Parameters
    ----------
    op : LinearOperator
        The operator.
    scale : float
        The real factor.
    """

    def __init__(self, op: LinearOperator, scale: float):
        super().__init__(op.m, op.in_shape)
        self.op = op
        self.scale = float(scale)

    def _forward(self, x):
        return self.scale * self.op._forward(x)

    def _adjoint(self, y):
        return self.scale * self.op._adjoint(y)


class Rows(LinearOperator):
    """The measurements ``index`` of ``op``: :math:`x \\mapsto (Ax)_{index}`; usually made by ``op.take_rows(index)``.

    Parameters
    ----------
    op : LinearOperator
        The operator :math:`A`.
    index : sequence of int or torch.Tensor
        Distinct row indices in ``[0, op.m)``.

    Raises
    ------
    ValueError
        If ``index`` is empty, repeats a row or is out of range.

    Notes
    -----
    The adjoint scatters into the full measurement vector (zeros elsewhere) and applies
    :math:`A^H`.  Used to hold measurements out for cross-validation.
    """

    def __init__(self, op: LinearOperator, index):
        index = torch.as_tensor(index, dtype=torch.long).reshape(-1).cpu()
        if index.numel() == 0 or index.unique().numel() != index.numel() or int(index.min()) < 0 \
                or int(index.max()) >= op.m:
            raise ValueError(f"The 'index' parameter of Rows must hold distinct rows in [0, {op.m}). "
                             f"Got {index.tolist()[:10]}{'...' if index.numel() > 10 else ''} instead.")
        super().__init__(index.numel(), op.in_shape)
        self.op = op
        self.register_buffer("index", index.to(op.device))

    def _forward(self, x):
        return self.op._forward(x)[:, self.index]

    def _adjoint(self, y):
        full = y.new_zeros(y.shape[0], self.op.m)
        full[:, self.index] = y
        return self.op._adjoint(full)
