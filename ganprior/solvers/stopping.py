r"""Stopping without ground truth for methods that can fit the noise: held-out rows or the discrepancy principle.

A method that adapts weights to one problem (:mod:`ganprior.solvers.dgp`, :mod:`ganprior.solvers.untrained`)
fits the measurements ever better, noise included, so its last iterate is not its best.  The engine already
keeps each row's best iterate by the ``total`` an objective reports, stops a row after ``patience`` steps
without improvement, and picks a problem's restart by ``select``.  :class:`StoppingScore` makes those three the
early stop: its ``total`` has the **gradient** of the training loss and the **value** of the stopping criterion,

.. math:: \mathrm{total} = c(s) + \big(L(s) - \mathrm{sg}[L(s)]\big),

where :math:`\mathrm{sg}` stops the gradient, :math:`L` is the loss minimised and :math:`c` the criterion:

- ``"holdout"``: :math:`L` uses the rows :math:`T` kept for fitting, :math:`c = \|y_H - A_H x\|^2` the held-out
  rows :math:`H` (a fraction of the :math:`m`, :func:`~ganprior.solvers.holdout.holdout_rows`), whose mean
  square estimates :math:`\|x - \hat x\|^2/m + \sigma^2` (Ward 2009): the best iterate is the one closest to the
  truth as far as the held-out rows can tell;
- ``"discrepancy"`` (noise level :math:`\sigma` known): :math:`L` uses all rows and
  :math:`c = \max(\|y - Ax\|^2, \tau m \sigma^2)`: the first iterate whose residual reaches the noise level is
  kept (Morozov's discrepancy principle; later iterates tie and the engine keeps the earlier on ties);
- ``"none"``: :math:`c = L`, the plain best iterate.
"""

from __future__ import annotations

import torch

from .._validation import check_choice, check_float, check_int, describe
from .holdout import holdout_rows

__all__ = ["StoppingScore", "STOPS"]

#: The stopping rules; ``"auto"`` is the discrepancy principle when the noise level is known, else held-out rows.
STOPS = ("auto", "holdout", "discrepancy", "none")


class StoppingScore:
    r"""The engine's score of a weight-adapting objective: gradient of the fit, value of the stopping criterion.

    Parameters
    ----------
    y : torch.Tensor
        Measurements ``(P, m)``.
    A : ganprior.operators.LinearOperator
        The operator.
    stop : {"auto", "holdout", "discrepancy", "none"}
        The criterion (see the module docstring); ``"auto"``: ``"discrepancy"`` if ``noise_std`` is given, else
        ``"holdout"``.
    noise_std : float, optional
        Per-measurement noise standard deviation :math:`\sigma` (needed by ``"discrepancy"``).
    holdout : float
        Fraction of the rows held out by ``"holdout"`` (default 0.1, at least one row).
    tau : float
        :math:`\tau` of the discrepancy principle (default 1).
    split_seed : int
        Seed of the held-out split (the same rows for every problem).
    owner : str
        The function named by the error messages.

    Attributes
    ----------
    rule : str
        The criterion in use (``"auto"`` resolved).
    fit_mask : torch.Tensor
        ``(m,)``: 1 on the rows the loss fits, 0 on the held-out ones.
    """

    def __init__(self, y, A, *, stop="auto", noise_std=None, holdout=0.1, tau=1.0, split_seed=0, owner="StoppingScore"):
        if not isinstance(y, torch.Tensor) or y.ndim != 2:
            raise TypeError(f"The 'y' parameter of {owner} must be a (P, m) torch.Tensor. Got {describe(y)}.")
        check_choice(stop, "stop", STOPS, owner=owner)
        if noise_std is not None:
            noise_std = check_float(noise_std, "noise_std", minimum=0.0, owner=owner)
        self.holdout = check_float(holdout, "holdout", minimum=0.0, strict=True, owner=owner)
        if self.holdout >= 1.0:
            raise ValueError(f"The 'holdout' parameter of {owner} is the held-out fraction of the rows and must be "
                             f"< 1. Got {self.holdout} instead.")
        self.tau = check_float(tau, "tau", minimum=0.0, strict=True, owner=owner)
        split_seed = check_int(split_seed, "split_seed", minimum=0, owner=owner)
        if stop == "auto":
            stop = "discrepancy" if noise_std is not None else "holdout"
        if stop == "discrepancy" and noise_std is None:
            raise ValueError(f"The 'stop' parameter of {owner} is 'discrepancy', which needs the noise level: give "
                             "noise_std (the per-measurement standard deviation).")
        m = y.shape[1]
        if stop == "holdout" and m < 2:
            raise ValueError(f"The 'stop' parameter of {owner} is 'holdout', which needs at least 2 measurements to "
                             f"hold one out; y has m={m}. Give noise_std (the discrepancy principle) or stop='none'.")
        self.y, self.A, self.rule = y, A, stop
        self.fit_mask = torch.ones(m, device=y.device, dtype=y.dtype)
        if stop == "holdout":
            _, held = holdout_rows(m, self.holdout, seed=split_seed)
            self.fit_mask[held.to(y.device)] = 0.0
        self.floor = self.tau * m * noise_std ** 2 if stop == "discrepancy" else None

    def __call__(self, x: torch.Tensor, rows: torch.Tensor, penalty=None):
        """``(fit, total)`` per row for the engine.

        Parameters
        ----------
        x : torch.Tensor
            Rendered images ``(B, *image_shape)``.
        rows : torch.Tensor
            The problem of each row, ``(B,)``.
        penalty : torch.Tensor, optional
            ``(B,)`` added to the minimised loss (not to the criterion).

        Returns
        -------
        fit, total : torch.Tensor
            ``(B,)`` each: the data term on the fitted rows, and the engine's score (value of the criterion,
            gradient of the fit plus ``penalty``).
        """
        r2 = (self.y[rows] - self.A(x.reshape(x.shape[0], -1))).pow(2)
        if self.rule == "holdout":
            fit = (r2 * self.fit_mask).sum(1)
            value = (r2 * (1.0 - self.fit_mask)).sum(1)
        else:
            fit = r2.sum(1)
            value = fit.clamp_min(self.floor) if self.floor is not None else fit
        loss = fit if penalty is None else fit + penalty
        if self.rule == "none":
            return fit, loss
        return fit, value.detach() + (loss - loss.detach())
