r"""Update rules and reducers of the latent engine (:mod:`ganprior.solvers.latent`).

- :class:`UpdateRule` -- how the state moves each step: Adam, SGD with momentum, or Langevin (a gradient step
  plus seeded Gaussian noise);
- :class:`Best` and :class:`Samples` -- what a solve returns: each problem's best iterate, or the collected
  iterates of every row;
- the engine's bookkeeping for them: per-state rule groups, shrinking an optimiser when rows leave the batch,
  and the per-problem noise streams.
"""

from __future__ import annotations

import torch

from .._validation import check_choice, check_float, check_int, describe, warn_once

__all__ = ["UpdateRule", "Best", "Samples", "UPDATE_RULES", "OPTIMIZERS", "SELECT"]

SELECT = ("fit", "total", "measurement", "loss")   # "measurement" / "loss" are the v1 names of "fit" / "total"
_SELECT_ALIAS = {"measurement": "fit", "loss": "total"}


# -- update rules -----------------------------------------------------------------------------------------------


class UpdateRule:
    r"""How the state moves each step: Adam, SGD with momentum, or Langevin.

    Parameters
    ----------
    name : {"adam", "sgd", "langevin"}
        ``"adam"``; ``"sgd"`` (heavy-ball ``momentum``); ``"langevin"``: a
        gradient step plus seeded Gaussian noise,
        :math:`s \leftarrow s - \eta \nabla L(s) + \sqrt{2\eta\,T}\,\xi`,
        :math:`\xi \sim \mathcal{N}(0, I)`.
    momentum : float
        Momentum of ``"sgd"`` (default 0.9).
    temperature : float
        :math:`T` of ``"langevin"`` (default 1: samples
        :math:`\propto e^{-L}` as :math:`\eta \to 0`).

    Notes
    -----
    Adam and SGD use PyTorch's fused kernels where the device has them.  The
    Langevin noise of each problem is drawn from that problem's own seeded
    stream, for every row the chunk started with, whether or not the row is
    still running, so a chain does not depend on the other problems of its
    batch.
    """

    def __init__(self, name: str = "adam", *, momentum: float = 0.9, temperature: float = 1.0):
        self.name = check_choice(name, "optimizer", UPDATE_RULES, owner="UpdateRule")
        self.momentum = check_float(momentum, "momentum", minimum=0.0, owner="UpdateRule")
        self.temperature = check_float(temperature, "temperature", minimum=0.0, owner="UpdateRule")

    @property
    def noisy(self) -> bool:
        """Whether the rule injects noise (Langevin)."""
        return self.name == "langevin"

    def build(self, params: list, lr: float) -> torch.optim.Optimizer:
        """A torch optimiser over ``params`` taking the deterministic part of the step.

        Parameters
        ----------
        params : list of torch.Tensor
            Leaf tensors with ``requires_grad``.
        lr : float
            Initial step size.

        Returns
        -------
        torch.optim.Optimizer
        """
        cls, kw = (torch.optim.Adam, {}) if self.name == "adam" else (torch.optim.SGD, {"momentum": self.momentum})
        if self.name == "langevin":
            kw = {}
        try:  # fused kernels: one call per step instead of a dozen small ops (about 8x less optimiser time on CPU)
            return cls(params, lr=lr, fused=True, **kw)
        except (RuntimeError, TypeError):  # a device or dtype without fused kernels
            return cls(params, lr=lr, **kw)

    def __repr__(self) -> str:
        return f"UpdateRule({self.name!r}, momentum={self.momentum}, temperature={self.temperature})"


UPDATE_RULES = ("adam", "sgd", "langevin")
OPTIMIZERS = UPDATE_RULES


# -- reducers ---------------------------------------------------------------------------------------------------


class Best:
    """Reducer: keep each row's best iterate, then each problem's best row.

    Parameters
    ----------
    select : {"fit", "total"}
        Pick a problem's row by lowest data term (default) or total loss
        (``"measurement"`` and ``"loss"`` are accepted as the old names).
    """

    def __init__(self, select: str = "fit"):
        check_choice(select, "select", SELECT, owner="optimize_latents")
        if select in _SELECT_ALIAS:
            warn_once(("select", select), f"select={select!r} is now select={_SELECT_ALIAS[select]!r}; "
                                          f"{select!r} will be removed in a future version.")
        self.select = _SELECT_ALIAS.get(select, select)


class Samples:
    """Reducer: collect the rendered iterates of every row (e.g. Langevin samples).

    Parameters
    ----------
    burn_in : int
        Steps before the first collected iterate (default 0).
    every : int
        Collect every ``every``-th step after ``burn_in`` (default 1); the
        final iterate is always collected.

    Notes
    -----
    The result's ``samples`` has shape ``(P, R * S, *image_shape)`` and its
    ``x`` is their mean per problem.  A chain whose loss becomes non-finite
    raises :class:`FloatingPointError` (lower the step size).
    """

    def __init__(self, burn_in: int = 0, every: int = 1):
        self.burn_in = check_int(burn_in, "burn_in", minimum=0, owner="Samples")
        self.every = check_int(every, "every", minimum=1, owner="Samples")

    def steps_kept(self, steps: int) -> list[int]:
        """The step indices whose iterates are collected (``steps`` means the final iterate).

        Parameters
        ----------
        steps : int
            Number of update steps.

        Returns
        -------
        list of int
        """
        kept = [t for t in range(self.burn_in, steps) if (t - self.burn_in) % self.every == 0]
        return kept + [steps]


def shrink_optimizer(opt, old: list, new: list, keep, rule, lr):
    """A new optimiser over ``new = [p[keep] for p in old]`` whose per-row state is the kept rows of the old one's."""
    fresh = rule.build(new, lr)
    fresh.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    for p_old, p_new in zip(old, new):
        state = {}
        for key, value in opt.state.get(p_old, {}).items():
            if isinstance(value, torch.Tensor) and value.ndim and value.shape[0] == p_old.shape[0]:
                value = value[keep].clone()  # exp_avg, exp_avg_sq, momentum_buffer: one slice per row
            state[key] = value  # Adam's step counter is shared by all rows
        if state:
            fresh.state[p_new] = state
    return fresh


def state_groups(objective, names, rule, lr):
    """``[(names, rule, lr, scheduled)]``: the solve's own rule first, then the objective's per-state rules."""
    special = dict(objective.state_rules or {})
    unknown = set(special) - set(names)
    if unknown:
        raise ValueError(f"{type(objective).__name__}.state_rules names {sorted(unknown)}, which are not among "
                         f"its state {sorted(names)}.")
    groups = [([k for k in names if k not in special], rule, lr, True)]
    for k, (g_rule, g_lr) in special.items():
        if not isinstance(g_rule, UpdateRule) or g_rule.noisy:
            raise TypeError(f"{type(objective).__name__}.state_rules[{k!r}] must be (UpdateRule('adam' or 'sgd'), "
                            f"lr). Got {describe(g_rule)}.")
        groups.append(([k], g_rule, float(g_lr), False))
    if not groups[0][0]:
        raise ValueError(f"{type(objective).__name__}.state_rules covers the whole state; leave one tensor to the "
                         "solve's own rule.")
    return groups


class RowNoise:
    """Per-problem seeded Gaussian noise for the rows a chunk started with."""

    def __init__(self, seeds, rows):
        self.seeds = seeds
        if isinstance(seeds, list):
            problems, counts = torch.unique_consecutive(rows.cpu(), return_counts=True)
            self.groups = [(seeds[int(p)], int(c)) for p, c in zip(problems, counts)]
        self.n = rows.numel()

    def draw(self, shape, device, dtype):
        if isinstance(self.seeds, list):
            out = torch.cat([torch.randn(c, *shape, generator=g) for g, c in self.groups])
        else:
            out = torch.randn(self.n, *shape, generator=self.seeds)
        return out.to(device=device, dtype=dtype)
