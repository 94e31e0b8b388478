r"""Compressed sensing with a generative model (Bora et al., 2017) as an objective on the latent engine."""

from __future__ import annotations

import numbers

import torch

from .._validation import check_float, check_int, describe, warn_once
from ..likelihoods import get_likelihood
from .objective import LatentObjective
from .registry import register_method

__all__ = ["CSGMObjective", "check_warmup", "warmup_steps"]


class CSGMObjective(LatentObjective):
    r"""Per-problem CSGM loss :math:`\|y_p - A G(z)\|_2^2 - 2\lambda \log p(z)`: :math:`+\lambda\|z\|_2^2` for a normal latent.

    Parameters
    ----------
    y : torch.Tensor
        Measurements, shape ``(P, m)``.
    A : ganprior.operators.LinearOperator
        Measurement operator with ``A.m == m``.
    lam : float
        Weight :math:`\lambda \ge 0` of the latent prior's penalty :math:`-2\log p(z)`
        (:meth:`~ganprior.solvers.objective.LatentObjective.latent_penalty`).
    likelihood : None, str or ganprior.likelihoods.Likelihood
        The measurement model whose data term replaces :math:`\|y - AG(z)\|^2`
        (:meth:`~ganprior.likelihoods.Likelihood.data_term` of :math:`u = AG(z)`); None is
        :class:`~ganprior.likelihoods.Gaussian`, the least squares of the paper (bitwise the same numbers).
        Settable afterwards as the attribute ``likelihood`` (``recover`` does so), which every subclass
        (ILO, ...) inherits.

    Notes
    -----
    The data term is a per-problem *sum* over measurements with
    :math:`A_{ij} \sim \mathcal{N}(0, 1/m)`.  This is the objective of the
    original code, which used unscaled :math:`\mathcal{N}(0, 1)` entries with a
    mean over measurements, and it keeps the step size independent of how
    many problems or restarts share a batch.  The data term is the ``fit``
    returned to the engine, so restarts are chosen by measurement error.

    The prior term follows the generator's latent law :math:`p` (``G.latent``,
    :mod:`ganprior.latent`).  Normal, :math:`p = \mathcal{N}(0, I)`:
    :math:`-2\log p(z) = \|z\|^2` + const, the usual :math:`\lambda\|z\|^2`
    (the MAP estimate for a Gaussian latent).  Uniform, :math:`p =
    \mathrm{Unif}[-1, 1]^k`: :math:`\log p` is constant on the box and
    :math:`-\infty` outside, so the MAP problem is
    :math:`\min_{z \in [-1, 1]^k} \|y - AG(z)\|^2`: the latents start inside
    the box and are projected back onto it (clamped) after every step, and
    :math:`\lambda` weighs nothing.  Truncated normal on :math:`[-t, t]^k`: both,
    :math:`\lambda\|z\|^2` and the box.

    Examples
    --------
    >>> import torch
    >>> from ganprior.operators import Identity
    >>> obj = CSGMObjective(torch.ones(1, 4), Identity(4), lam=0.5)
    >>> fit, total = obj(torch.zeros(1, 4), torch.ones(1, 2), torch.tensor([0]))
    >>> float(fit), float(total)
    (4.0, 5.0)
    """

    def __init__(self, y: torch.Tensor, A, lam: float = 0.0, likelihood=None):
        if not isinstance(y, torch.Tensor) or y.ndim != 2:
            raise TypeError(f"The 'y' parameter of CSGMObjective must be a (P, m) torch.Tensor. Got {describe(y)}.")
        self.y = y
        self.A = A
        self.lam = check_float(lam, "lam", minimum=0.0, owner="CSGMObjective")
        self.likelihood = get_likelihood(likelihood, owner="CSGMObjective")

    def __call__(self, x, z, rows):
        fit = self.likelihood.data_term(self.A(x.reshape(x.shape[0], -1)), self.y[rows])
        if self.lam == 0.0:
            return fit, fit
        return fit, fit + self.lam * self.latent_penalty(z)


#: Candidate values of ``lam`` for ``"cv"`` / ``"discrepancy"`` (every method with CSGM's latent penalty).
LAM_GRID = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)

register_method(
    "csgm", lambda y, A, G, lam=0.0: CSGMObjective(y, A, lam), kind="latent",
    summary="minimise ||y - A G(z)||^2 + lam ||z||^2 over the latent z, keep the restart with the lowest "
            "measurement error",
    reference="Bora et al., ICML 2017", cv_grids={"lam": LAM_GRID}, auto=True,
    likelihoods=("gaussian", "magnitude", "sign", "poisson"),
)


# Staged methods (ILO, Sparse-Gen) start as CSGM on z alone for the fraction ``warmup`` of the steps.

def check_warmup(warmup, *, owner=None):
    """Check a staged method's ``warmup`` before any work starts.

    Parameters
    ----------
    warmup : None, float or int
        ``None`` (half of the steps) or the fraction of the steps, a float in [0, 1].  An int counts steps,
        as it did before the fraction: it still works, but warns (:func:`warmup_steps`) -- ``warmup=1`` is one
        step where ``warmup=1.0`` is every step.
    owner : str, optional
        The class or function named in the error message.

    Returns
    -------
    None, float or int
        ``warmup``, a float or an int as given (see :func:`warmup_steps`).

    Raises
    ------
    TypeError
        For anything but None, an int or a real number (a bool included).
    ValueError
        For a float outside [0, 1] or a negative int.
    """
    if warmup is None:
        return None
    if isinstance(warmup, numbers.Integral) and not isinstance(warmup, bool):
        return check_int(warmup, "warmup", minimum=0, owner=owner)
    where = f" of {owner}" if owner else ""
    if isinstance(warmup, numbers.Real) and not isinstance(warmup, bool):
        if 0.0 <= float(warmup) <= 1.0:
            return float(warmup)
        raise ValueError(f"The 'warmup' parameter{where} is a fraction of the steps and must lie in [0, 1]. Got "
                         f"{float(warmup)} instead.")
    raise TypeError(f"The 'warmup' parameter{where} must be None or a fraction of the steps in [0, 1] (a float; an "
                    f"int, which counts steps, is deprecated). Got {describe(warmup)} instead.")


def warmup_steps(warmup, steps, *, owner=None, name="warmup"):
    r"""The number of steps of a staged method's first stage (ILO's and Sparse-Gen's :math:`z`-only warm-up).

    Parameters
    ----------
    warmup : None, float or int
        As :func:`check_warmup` accepts it.
    steps : int
        The solve's steps :math:`T`.
    owner : str, optional
        The solver, for the warning an int gives; without it an int is read silently (a record of steps, such
        as the benchmark's selection.json).
    name : str, optional
        The argument, for the warning (``"warmup"``; dgp's ``"adapt"`` is read the same way).

    Returns
    -------
    int
        :math:`\lfloor T/2 \rfloor` for ``None``, :math:`\mathrm{round}(fT)` for a fraction :math:`f` (a float),
        ``warmup`` itself for an int (which may exceed :math:`T`: then the second stage never starts).

    Warns
    -----
    FutureWarning
        With ``owner``, once per process, for an int other than 0 (which means no warm-up either way): it
        counts steps, so ``warmup=1`` is one step and ``warmup=1.0`` all of them; the message names the
        fraction that starts the second stage at the same step, :math:`w / T` (exactly:
        :math:`\mathrm{round}((w / T) \cdot T) = w` in floating point for any :math:`w \le T < 2^{51}`).
    """
    if owner is not None and isinstance(warmup, int) and warmup != 0:
        warn_once((name, "steps"), f"The '{name}' parameter of {owner} is the fraction of the steps, a float in "
                  f"[0, 1]; the int {name}={warmup} counts steps ({warmup} of {steps}), which is deprecated: give "
                  f"{name}={warmup / steps!r} instead ({name}=1 is one step, {name}=1.0 every step). An int will be "
                  "refused in a future version.")
    if warmup is None:
        return steps // 2
    if isinstance(warmup, float):
        return int(round(warmup * steps))
    return warmup
