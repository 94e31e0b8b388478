r"""Adapting the generator to each problem (Deep Generative Prior-style), on the latent engine.

ILO (:mod:`ganprior.solvers.ilo`) leaves the range of :math:`G` through an intermediate activation :math:`h`;
the layers above the cut stay the pretrained ones.  Pan et al. (Deep Generative Prior, ECCV 2020) also adapt
the generator's weights to the one image being restored, with a small step size so that the prior is kept;
PTI (Roich et al., 2021) does so for the blocks above an inversion's latent.  Here every problem (every row)
carries its own copy of the weights of the blocks above the cut (:class:`~ganprior.solvers.rowweights.RowWeights`:
one vmapped render for all rows), and the engine stops each row early on held-out measurements or the
discrepancy principle (:class:`~ganprior.solvers.stopping.StoppingScore`).  One module and one registry entry
(``"dgp"``).
"""

from __future__ import annotations

import copy
import warnings
from typing import Literal

import torch

from .._solving import fuse_batch_norm
from .._validation import check_float
from .csgm import check_warmup, warmup_steps
from .ilo import ILOObjective
from .registry import register_method
from .rowweights import RowWeights
from .sparse_gen import named_objective
from .holdout import MIN_HELD_OUT, held_count
from .stopping import StoppingScore
from .updates import UpdateRule

__all__ = ["DGPObjective", "upper_module"]


def upper_module(G, cut: int) -> torch.nn.Module:
    """A frozen copy of the generator's layers above ``cut`` as one module, batch norm folded into the layer
    before it (eval mode), for per-row weights.

    Parameters
    ----------
    G : ganprior.Generator
        The prior: a :class:`torch.nn.Sequential`, or a module whose ``split(cut)`` returns the upper part as a
        module (the bundled DCGAN and MLP generators).
    cut : int
        Where the generator is cut (:func:`~ganprior.solvers.ilo.block_ends`).

    Returns
    -------
    torch.nn.Module
        Maps the activation at the cut to the module's output (before the generator's output rescaling).

    Raises
    ------
    TypeError
        If the upper part is not a :class:`torch.nn.Module`.
    """
    module = G.module
    if hasattr(module, "split") and callable(module.split):
        upper = module.split(cut)[1]
    elif isinstance(module, torch.nn.Sequential):
        upper = module[cut:]
    else:
        upper = None
    if not isinstance(upper, torch.nn.Module):
        raise TypeError(f"method='dgp' adapts the layers above the cut, which must be a torch.nn.Module: the "
                        f"generator must be a torch.nn.Sequential or split(cut) into modules; "
                        f"{type(module).__name__} gives {type(upper).__name__}.")
    upper = copy.deepcopy(upper).eval()
    for p in upper.parameters():
        p.requires_grad_(False)
    fuse_batch_norm(upper)
    return upper


class DGPObjective(ILOObjective):
    r"""CSGM, then ILO, then the activation :math:`h` with the weights above the cut, per problem, stopped early.

    Parameters
    ----------
    y : torch.Tensor
        Measurements ``(P, m)``.
    A : ganprior.operators.LinearOperator
        The operator.
    G : ganprior.Generator
        The prior; it must be splittable, and the layers above the cut a module (:func:`upper_module`).
    lam, cut, radius
        As :class:`~ganprior.solvers.ilo.ILOObjective` (weight of the latent penalty; where the generator is
        cut, default its first block end; the box radius of :math:`h`).
    warmup : float, optional
        Fraction of the steps in the :math:`z` stage, as ILO's ``warmup`` (an int still counts steps, with a
        FutureWarning, as for ILO).  Default: half of the steps, ILO's default, or half of those before ``adapt``
        where only ``adapt`` is given.  With a bundled prior, ``recover(y, A, G, method="dgp")`` takes it, and
        ``lam``, ``cut`` and ``radius``, from the prior's recipe for ILO at this :math:`m`
        (:func:`~ganprior.solvers.registry.method_recipe`): dgp's first stages are then the validated ILO's, step
        for step.  It must end before ``adapt`` (else ILO's stage would have no step: a ValueError), unless
        ``adapt`` is 0.
    adapt : float, optional
        Fraction of the steps after which the weights start to move (an int counts steps, with a FutureWarning,
        as ``warmup``).  Default: half of the steps after the warm-up (0.75 with ILO's default warm-up: the
        schedule validated on CelebA faces, ``benchmarks/results/dgp_untrained/schedule``), so that any warm-up
        below 1 leaves ILO's stage steps.
    lr_weights : float
        Adam's step size on the weights (default 1e-4; constant, whatever the solve's schedule).
    lam_w : float
        Weight :math:`\lambda_w` of the pull :math:`\|w - w_0\|^2` to the pretrained weights (default 0).
    stop : {"auto", "holdout", "discrepancy", "none"}
        How the best iterate is chosen without ground truth (:class:`~ganprior.solvers.stopping.StoppingScore`).
        ``"auto"``: the discrepancy principle when ``noise_std`` is given; without it the weights do not move and
        the answer is ILO's (a UserWarning says so; attribute ``adapting`` False): held-out rows, ``"holdout"``,
        leave 10% of the rows out of every stage, which on 8 CelebA validation faces cost more than adapting
        gained (-0.36 dB against ILO at :math:`m = 500`, -0.53 at 1000, +0.28 at 2500, -0.50 at 5000; the
        discrepancy principle +0.12, +0.12, +0.78, +0.30).  Where a
        ``holdout`` fraction of the rows is fewer than :data:`~ganprior.solvers.holdout.MIN_HELD_OUT` (6:
        :math:`m \le 54` at 10%), the weights do not move and the answer is ILO's on all rows (attribute
        ``adapting`` False), whatever the rule but ``"none"``.  Where the weights do not move, ``recover`` runs
        ``method="ilo"`` instead, with ILO's own recipe (``info["runs_as"]`` says so; attribute ``runs_as``).
    noise_std : float, optional
        Per-measurement noise standard deviation, if known (the discrepancy principle; on 32 MNIST digits it
        stopped better than held-out rows at :math:`m = 200`: 0.00026 against 0.00038, ILO 0.00028).
    holdout : float
        Fraction of the rows held out by ``stop="holdout"`` (default 0.1).
    progressive : bool
        Free the layers above the cut one at a time, nearest the cut first (Pan et al.'s progressive
        reconstruction: the coarse structure before the details); default False, all at once.

    Notes
    -----
    With :math:`G = G_{hi}(\,\cdot\,; w) \circ G_{lo}` cut after a block and :math:`w_0` the pretrained weights of
    the upper part, the stages over the steps :math:`t` of :math:`T` are, with :math:`t_0 = \mathrm{round}(wT)` for
    ``warmup`` :math:`w` (:math:`\lfloor T/2 \rfloor` by default: ILO's own first stage) and :math:`t_1 = t_0 +
    \lfloor (T - t_0)/2 \rfloor` by default, or :math:`\mathrm{round}(aT)` for ``adapt`` :math:`a` (then :math:`t_0 =
    \lfloor t_1/2 \rfloor` by default):

    1. :math:`t < t_0`: :math:`\min_z \|y - AG(z)\|^2 + \lambda\|z\|^2` (CSGM), :math:`h` following
       :math:`G_{lo}(z)`;
    2. :math:`t_0 \le t < t_1`: :math:`\min_h \|y - AG_{hi}(h; w_0)\|^2` within the box
       :math:`\|h - G_{lo}(z)\|_\infty \le r` (ILO);
    3. :math:`t \ge t_1`: :math:`\min_{h, w} \|y - AG_{hi}(h; w)\|^2 + \lambda_w \|w - w_0\|^2`, :math:`h` in the
       same box, :math:`w` by Adam with the small constant step ``lr_weights`` (Pan et al.'s small learning rate;
       PTI's weights above the latent).  With ``progressive``, stage 3's steps are cut into :math:`K` equal
       parts for the :math:`K` layers of the upper part that have weights; in part :math:`j` the weights of the
       :math:`j` layers nearest the cut move and the deeper ones stay at :math:`w_0` (they get no gradient, so
       Adam leaves them where they are).

    Every row (problem :math:`\times` restart) has its own :math:`w` (batch norm folded: :func:`upper_module`);
    rows are rendered together by :class:`~ganprior.solvers.rowweights.RowWeights`.  The data terms use the
    rows the stopping rule fits (with ``"holdout"``: all but the held-out rows, in every stage).  The engine
    keeps each row's iterate with the best criterion among the iterates of stage 3 -- the first of which is
    ILO's last, with :math:`w = w_0` (the iterates before are scored :math:`10\|y\|^2 + 1` above their fit,
    so they are chosen only if stage 3 diverges) -- and the restart with the best criterion
    (``select="total"``).  So where adapting the weights does not lower the held-out error (or reaches the
    noise level no sooner), the answer is ILO's last iterate: the method falls back to ILO (fitted on the same
    rows).  With ``stop="none"`` the score is the loss throughout, as ILO's.
    """

    owner = "DGPObjective"

    def __init__(self, y, A, G, lam=0.0, cut=None, radius=1.0, warmup=None, adapt=None, lr_weights=1e-4, lam_w=0.0,
                 stop="auto", noise_std=None, holdout=0.1, progressive=False):
        owner = self.owner
        super().__init__(y, A, G, lam=lam, cut=cut, radius=radius, warmup=warmup)
        if not isinstance(progressive, bool):
            raise TypeError(f"The 'progressive' parameter of {owner} must be True or False. Got "
                            f"{type(progressive).__name__} {progressive!r} instead.")
        self.progressive = progressive
        self.adapt = check_warmup(adapt, owner=owner)
        if isinstance(self.adapt, float) and self.adapt >= 1.0:
            raise ValueError(f"The 'adapt' parameter of {owner} must leave steps for adapting the weights: it is "
                             f"{self.adapt} of the steps. Give a fraction < 1.")
        if isinstance(self.warmup, float) and isinstance(self.adapt, float) and self.warmup >= self.adapt > 0:
            self._refuse_empty_ilo(f"{self.warmup} and {self.adapt} of the steps")
        if isinstance(self.warmup, float) and self.adapt is None and self.warmup >= 1.0:
            self._refuse_empty_ilo(f"{self.warmup} of the steps, and adapt half of those after it")
        self.lr_weights = check_float(lr_weights, "lr_weights", minimum=0.0, strict=True, owner=owner)
        self.lam_w = check_float(lam_w, "lam_w", minimum=0.0, owner=owner)
        # too few rows to hold out MIN_HELD_OUT of them (m <= 54 at 10%): no adaptation, ILO's answer on all rows --
        # at m = 25 on MNIST the weights fitted 3 held-out rows, or the noise level, far from the truth
        self.score = StoppingScore(y, A, stop=stop, noise_std=noise_std, holdout=holdout, owner=owner)
        self.adapting = self.score.rule == "none" or held_count(y.shape[1], self.score.holdout) >= MIN_HELD_OUT
        if stop == "auto" and noise_std is None and self.adapting:
            # held-out rows fit ILO's stages on 90% of the rows: on CelebA validation faces that cost more than the
            # weights gained at m = 500, 1000 and 5000 (-0.36, -0.53, -0.50 dB against ILO;
            # benchmarks/studies/dgp_one_line.py)
            self.adapting = False
            warnings.warn("recover(method='dgp') without noise_std leaves the weights alone and returns ILO's answer: "
                          "it stops adapting by the discrepancy principle, which needs the per-measurement noise "
                          "standard deviation. Give noise_std, or stop='holdout' to stop on held-out rows instead "
                          "(they are not fitted, which cost more than adapting gained on CelebA faces at m = 500, 1000 "
                          "and 5000).", UserWarning, stacklevel=2)
        if not self.adapting:
            self.score = StoppingScore(y, A, stop="none", owner=owner)
        o0, o1 = G.output_range
        d0, d1 = G.data_range
        self._scale = (d1 - d0) / (o1 - o0)
        self._shift = d0 - o0 * self._scale
        # no copy of the upper layers where the weights cannot move: the solve is then ILO's, at ILO's cost
        upper = upper_module(G, self.cut) if self.adapting else None
        self.weights = RowWeights(upper, delta=True) if upper is not None and any(True for _ in upper.parameters()) \
            else None
        keys = self.weights.keys if self.weights is not None else ()
        # the layers of the upper part that have weights, nearest the cut first: the groups progressive frees in turn
        self.groups = []
        for k, name in zip(keys, self.weights.names if self.weights is not None else ()):
            layer = name.split(".")[0]
            if not self.groups or self.groups[-1][0] != layer:
                self.groups.append((layer, []))
            self.groups[-1][1].append(k)
        self.groups = [tuple(g) for _, g in self.groups]
        self.free = len(self.groups)  # the groups whose weights move now (all but in progressive's early parts)
        self.state_names = ("z", "h", *keys)
        self.state_rules = {k: (UpdateRule("adam"), self.lr_weights) for k in keys}

    @property
    def runs_as(self):
        """``"ilo"`` where the weights cannot move (:attr:`adapting` False), else None.

        The solve is then ILO's, so :func:`ganprior.recover` runs ILO itself, with ILO's recipe: dgp's own recipe
        entries (e.g. ``celeba64``'s cut 3 at :math:`m = 2500`) are for adapting, and as ILO they were 1.9 dB worse.
        """
        return None if self.adapting else "ilo"

    def _refuse_empty_ilo(self, where):
        # warmup at or after adapt: ILO's stage (h alone) would have no step, the weights would start from CSGM's
        # iterate, and the fallback would be CSGM's -- silently (ILO's recipe warm-up of half the steps with the
        # adapt of 0.5 that was dgp's default); adapt = 0 (the weights from the first step) is explicit and allowed
        raise ValueError(f"The 'warmup' parameter of {self.owner} must end before 'adapt' (they are {where}): ILO's "
                         "stage, h alone, would never run, and the weights would start from CSGM's iterate. Give a "
                         "smaller warmup, a later adapt, or leave adapt unset (half of the steps after the "
                         "warm-up).")

    def init_state(self, G, num_problems, restarts, seeds):
        # ILO's z_0 and h_0 = G_lo(z_0); zero weight offsets (stride-0 views: a chunk copies its own rows).
        state = super().init_state(G, num_problems, restarts, seeds)
        if self.weights is not None:
            state.update(self.weights.state(num_problems * restarts))
        return state

    def on_step(self, t, steps):
        # Stage 1 (z) before t_0, stage 2 (h) before t_1, stage 3 (h and the weights) after.
        if self.adapt is None:  # ILO's warm-up (half of the steps by default), then half of the rest
            t0 = warmup_steps(self.warmup, steps, owner=self.owner)
            t1 = t0 + (steps - t0) // 2
        else:
            t1 = warmup_steps(self.adapt, steps, owner=self.owner, name="adapt")
            t0 = t1 // 2 if self.warmup is None else warmup_steps(self.warmup, steps, owner=self.owner)
        if t1 >= steps:
            raise ValueError(f"The 'adapt' parameter of {self.owner} must leave steps for adapting the weights: it "
                             f"is {t1} of steps = {steps}. Give a fraction < 1, or more steps.")
        if t0 >= t1 > 0:
            self._refuse_empty_ilo(f"steps {t0} and {t1} of {steps}")
        self.stage = 1 if t < t0 else 2 if t < t1 else 3
        K = len(self.groups)
        self.free = min(K, (t - t1) * K // (steps - t1) + 1) if self.progressive and self.stage == 3 else K

    def render(self, G, state):
        # Stages 1 and 2 as ILO; stage 3: G_hi(h; w_0 + delta) per row.
        if self.stage < 3 or self.weights is None:  # (no weights where they cannot move)
            return super().render(G, state)
        if self.free < len(self.groups):  # progressive: the deeper layers keep w_0 (no gradient, so no step)
            state = {**state, **{k: state[k].detach() for g in self.groups[self.free:] for k in g}}
        out = self.weights(state, state["h"])
        return out if self._scale == 1.0 and self._shift == 0.0 else out * self._scale + self._shift

    def loss(self, x, state, rows):
        # The stopping rule's score of the fit plus lam ||z||^2 (and lam_w ||w - w_0||^2 in stage 3); before stage
        # 3 the score is offset by 10 ||y||^2 + 1, so that the early stop chooses among stage 3's iterates, the
        # first of which is ILO's last.
        penalty = self.lam * self.latent_penalty(state["z"]) if self.lam else None
        if self.stage == 3 and self.lam_w and self.weights is not None:
            pull = self.lam_w * self.weights.penalty(state)
            penalty = pull if penalty is None else penalty + pull
        fit, total = self.score(x, rows, penalty)
        if self.stage < 3 and self.score.rule != "none":
            total = total + (10.0 * self.score.y[rows].pow(2).sum(1) + 1.0)
        return fit, total


def _build(y, A, G, lam: float = 0.0, cut: int | None = None, radius: float = 1.0,
           warmup: int | float | None = None, adapt: int | float | None = None, lr_weights: float = 1e-4,
           lam_w: float = 0.0,
           stop: Literal["auto", "holdout", "discrepancy", "none"] = "auto", noise_std: float | None = None,
           holdout: float = 0.1, progressive: bool = False):
    """The ``"dgp"`` entry's objective; its keyword arguments are the method's hyperparameters."""
    return named_objective(DGPObjective(y, A, G, lam=lam, cut=cut, radius=radius, warmup=warmup, adapt=adapt,
                                        lr_weights=lr_weights, lam_w=lam_w, stop=stop, noise_std=noise_std,
                                        holdout=holdout, progressive=progressive), "recover(method='dgp')")


register_method(
    "dgp", _build, kind="latent",
    summary="CSGM, then ILO, then the activation at the cut together with each problem's own copy of the weights "
            "above it (small step, optional pull to the pretrained weights), stopped early on held-out "
            "measurements or the discrepancy principle; falls back to ILO's iterates",
    reference="Pan et al., ECCV 2020; Roich et al., 2021", engine={"select": "total"},
    contract={"radius": 0.0, "stop": "none", "warmup": 0.5, "adapt": 0.75}, needs_split=True, recipe_from=("ilo",),
)
