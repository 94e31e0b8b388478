r"""Held-out measurement rows: the splits and folds of cross-validation, and residuals in float64.

Choosing without ground truth (:mod:`ganprior.solvers.selection`) fits every candidate on some of the
:math:`m` measurement rows and scores it on the others.  With held-out rows :math:`a_i \sim \mathcal{N}(0, I/m)`
independent of the fit :math:`\hat x`, the held-out mean squared residual :math:`\frac1r\|y_{cv} - A_{cv}\hat
x\|^2` has expectation :math:`\|x - \hat x\|^2/m + \sigma^2` (Ward, IEEE T-IT 2009).  This module says which
rows are held out: one random split of :math:`r = \max(1, \operatorname{round}(0.1\,m))` rows, or :math:`K`
folds that hold out every row once (:func:`cv_plan` makes ``recover``'s default explicit), and computes residuals
:math:`\|y - A x\|^2` in float64 on the CPU whatever the caller's types.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_float, check_int

__all__ = ["DEFAULT_FOLDS", "MIN_HELD_OUT", "cv_plan", "holdout_rows", "holdout_folds", "float64_copy", "residual"]

#: Folds used by default where one 10% split would hold out fewer than :data:`MIN_HELD_OUT` rows.
DEFAULT_FOLDS = 5
#: The fewest held-out rows a default split may have.  The adaptive choice's paired test needs 3; with 3-5 (one
#: split at m = 26-54) its shared choice still follows a few rows' noise: on the CelebA grid at m = 50 one split left
#: adaptive outside the 95% CI of the best single method, 5 folds put it within
#: (benchmarks/results/celeba_v1/auto_choice, made with the first celeba64).
MIN_HELD_OUT = 6


def holdout_rows(m: int, fraction: float = 0.1, seed: int = 0):
    """``(fit_rows, held_rows)``: a random split of ``m`` rows, ``round(fraction * m)`` (at least 1) held out.

    Parameters
    ----------
    m : int
        Number of measurements (at least 2).
    fraction : float
        Held-out fraction, in (0, 1).
    seed : int
        Seed of the split.

    Returns
    -------
    fit_rows, held_rows : torch.Tensor
        Sorted long tensors.
    """
    m = check_int(m, "m", minimum=2, owner="holdout_rows")
    fraction = check_float(fraction, "fraction", minimum=0.0, strict=True, owner="holdout_rows")
    if fraction >= 1.0:
        raise ValueError(f"The 'fraction' parameter of holdout_rows must be < 1. Got {fraction} instead.")
    r = held_count(m, fraction)
    perm = torch.randperm(m, generator=torch.Generator().manual_seed(seed))
    return perm[r:].sort().values, perm[:r].sort().values


def held_count(m, fraction):
    """How many of ``m`` rows one split holds out: ``round(fraction * m)``, at least 1, at most ``m - 1``."""
    return min(m - 1, max(1, round(fraction * m)))


def cv_plan(m, cv_fraction=None, cv_folds=None):
    r"""How cross-validation holds out rows of ``m`` measurements: ``recover``'s defaults made explicit.

    With neither argument, one split holds out :math:`r = \max(1, \operatorname{round}(0.1\,m))` rows, unless
    :math:`r <` :data:`MIN_HELD_OUT` (``m <= 54``): then :math:`K = \min(` :data:`DEFAULT_FOLDS` :math:`, m)`
    folds, so that every row is held out once and a candidate's held-out error averages :math:`m` rows rather
    than one or two.  A given ``cv_fraction`` or ``cv_folds`` is kept as it is.

    Parameters
    ----------
    m : int
        Number of measurements.
    cv_fraction : float, optional
        Held-out fraction of one split (``None``: 0.1).
    cv_folds : int, optional
        Number of folds (``None``: one split, or the default folds above).

    Returns
    -------
    (float, int or None)
        ``(cv_fraction, cv_folds)``; ``cv_folds`` is ``None`` for one split.

    Examples
    --------
    >>> cv_plan(54), cv_plan(55), cv_plan(100, cv_fraction=0.2)
    ((0.1, 5), (0.1, None), (0.2, None))
    """
    if cv_fraction is None:
        cv_fraction = 0.1
        if cv_folds is None and held_count(m, cv_fraction) < MIN_HELD_OUT:
            cv_folds = min(DEFAULT_FOLDS, m)
    return cv_fraction, cv_folds


def holdout_folds(m: int, folds: int, seed: int = 0):
    """``[(fit_rows, held_rows)] * folds``: ``m`` rows in a random order cut into ``folds`` near-equal parts.

    Each row is held out by exactly one fold (K-fold cross-validation); the fold sizes differ by at most one.

    Parameters
    ----------
    m : int
        Number of measurements (at least 2).
    folds : int
        Number of folds, in ``[2, m]`` (``m``: leave one out).
    seed : int
        Seed of the order.

    Returns
    -------
    list of (torch.Tensor, torch.Tensor)
        Sorted long tensors per fold.
    """
    m = check_int(m, "m", minimum=2, owner="holdout_folds")
    folds = check_int(folds, "folds", minimum=2, owner="holdout_folds")
    if folds > m:
        raise ValueError(f"The 'folds' parameter of holdout_folds must be <= m = {m} (each fold holds out at least "
                         f"one row). Got {folds} instead.")
    parts = torch.tensor_split(torch.randperm(m, generator=torch.Generator().manual_seed(seed)), folds)
    return [(torch.cat(parts[:i] + parts[i + 1:]).sort().values, part.sort().values) for i, part in enumerate(parts)]


def as_float64(x):
    return torch.as_tensor(np.asarray(x) if isinstance(x, np.ndarray) else x.detach().cpu()).double()


def float64_copy(op):
    """A float64 CPU copy of an operator: :meth:`ganprior.operators.LinearOperator.float64`.

    Parameters
    ----------
    op : ganprior.operators.LinearOperator
        The operator.

    Returns
    -------
    ganprior.operators.LinearOperator
    """
    return op.float64()


def residual(A, y, x):
    """Per-problem squared residual ``||y - A x||^2`` in float64: :meth:`ganprior.operators.LinearOperator.residual`.

    Parameters
    ----------
    A : ganprior.operators.LinearOperator
        The operator.
    y : array
        Measurements ``(P, m)``.
    x : array
        Images ``(P, ...)``.

    Returns
    -------
    torch.Tensor
        ``(P,)``.
    """
    return A.residual(y, x)
