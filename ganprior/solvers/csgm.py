r"""Compressed sensing with a generative model (Bora et al., 2017) as an objective on the latent engine."""

from __future__ import annotations

import torch

from .._validation import check_float, describe
from .latent import LatentObjective
from .registry import register_method

__all__ = ["CSGMObjective"]


class CSGMObjective(LatentObjective):
    r"""Per-problem CSGM loss :math:`\|y_p - A G(z)\|_2^2 + \lambda \|z\|_2^2`.

    Parameters
    ----------
    y : torch.Tensor
        Measurements, shape ``(P, m)``.
    A : ganprior.operators.LinearOperator
        Measurement operator with ``A.m == m``.
    lam : float
        Weight :math:`\lambda \ge 0` of the Gaussian latent prior.

    Notes
    -----
    The data term is a per-problem *sum* over measurements with
    :math:`A_{ij} \sim \mathcal{N}(0, 1/m)`.  This is the objective of the
    original code, which used unscaled :math:`\mathcal{N}(0, 1)` entries with a
    mean over measurements, and it keeps the step size independent of how
    many problems or restarts share a batch.  The data term is the ``fit``
    returned to the engine, so restarts are chosen by measurement error.

    Examples
    --------
    >>> import torch
    >>> from ganprior.operators import Identity
    >>> obj = CSGMObjective(torch.ones(1, 4), Identity(4), lam=0.5)
    >>> fit, total = obj(torch.zeros(1, 4), torch.ones(1, 2), torch.tensor([0]))
    >>> float(fit), float(total)
    (4.0, 5.0)
    """

    def __init__(self, y: torch.Tensor, A, lam: float = 0.0):
        if not isinstance(y, torch.Tensor) or y.ndim != 2:
            raise TypeError(f"The 'y' parameter of CSGMObjective must be a (P, m) torch.Tensor. Got {describe(y)}.")
        self.y = y
        self.A = A
        self.lam = check_float(lam, "lam", minimum=0.0, owner="CSGMObjective")

    def __call__(self, x, z, rows):
        residual = self.y[rows] - self.A(x.reshape(x.shape[0], -1))
        fit = residual.pow(2).sum(dim=-1)
        if self.lam == 0.0:
            return fit, fit
        return fit, fit + self.lam * z.pow(2).flatten(1).sum(dim=-1)


register_method(
    "csgm", lambda y, A, G, lam=0.0: CSGMObjective(y, A, lam), kind="latent",
    summary="minimise ||y - A G(z)||^2 + lam ||z||^2 over the latent z, keep the restart with the lowest "
            "measurement error",
    hyperparameters={"lam": 0.0}, reference="Bora et al., ICML 2017",
)
