"""The adjointness check shipped with the library."""

from __future__ import annotations

import torch

from .._validation import check_float, check_seed, describe
from .base import LinearOperator


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
    TypeError, ValueError
        If ``A`` is not a LinearOperator or ``rtol`` is not a finite number >= 0.

    Examples
    --------
    >>> from ganprior.operators import SubsampledDCT, dottest
    >>> lhs, rhs = dottest(SubsampledDCT(50, 256, seed=0))
    """
    if not isinstance(A, LinearOperator):
        raise TypeError(f"dottest expects a LinearOperator. Got {describe(A)} instead.")
    if rtol is not None:
        rtol = check_float(rtol, "rtol", minimum=0.0, owner="dottest")
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
