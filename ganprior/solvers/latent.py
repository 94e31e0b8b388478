r"""The batched latent engine shared by every latent method.

CSGM, semantic inpainting and every later method that searches the latent
space of a generator are *objectives* (:class:`~ganprior.LatentObjective`,
:mod:`ganprior.solvers.objective`) handed to
:func:`optimize_latents`; none of them has its own optimisation loop.

The engine optimises :math:`P` problems :math:`\times` :math:`R` restarts
(or chains) as one batch of *rows*.  Each row carries a small *state*: a
mapping of named tensors that the objective declares (``{"z"}`` for CSGM,
``{"z", "nu"}`` for a method that adds a sparse part, ``{"h"}`` for an
intermediate layer).  The objective initialises the state (seeded per
problem), renders it to an image (default :math:`G(z)`), scores it (``fit``
and ``total`` per row) and projects it after every step (and once before the
first).  The engine sums the per-row totals, takes one step of a pluggable
:class:`UpdateRule` (Adam, SGD with momentum, Langevin) and hands the
trajectory to a reducer: :class:`Best` (the best iterate per problem) or
:class:`Samples` (the collected iterates, e.g. posterior samples).

Because the rows do not interact (the generator runs in eval mode, the loss
is a sum of per-row terms and every update rule acts element-wise), a row
follows the same trajectory whichever other rows share its batch.  A row whose
loss becomes NaN or Inf leaves the batch and is never selected.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import torch

from .._validation import check_choice, check_float, check_int, check_seeds, describe
from ..generator import MEMORY_FORMATS, Generator
from ..hardware import PRECISIONS, resolve_precision
from .objective import LatentObjective
from .settings import SCHEDULES, merge_renamed, resolve
from .updates import (
    OPTIMIZERS,
    SELECT,
    UPDATE_RULES,
    Best,
    RowNoise,
    Samples,
    UpdateRule,
    shrink_optimizer,
    state_groups,
)

__all__ = ["LatentResult", "optimize_latents", "UpdateRule", "Best", "Samples", "UPDATE_RULES", "OPTIMIZERS",
           "SELECT", "PRECISIONS", "SCHEDULES"]


@dataclass
class LatentResult:
    """What a latent solve returns, one entry per problem.

    Attributes
    ----------
    x : torch.Tensor
        Images of the chosen rows (``Best``) or the sample mean
        (``Samples``), shape ``(P, *image_shape)``.
    z : torch.Tensor or None
        ``state["z"]`` of the chosen rows, ``(P, *latent_shape)`` (None when
        the objective has no ``"z"``).
    fit : torch.Tensor
        The data term at the chosen row, ``(P,)`` (sample mean for
        ``Samples``).
    loss : torch.Tensor
        The total loss at the chosen row, ``(P,)``.
    restart : torch.Tensor
        Index of the chosen row within its problem, ``(P,)``.
    history : torch.Tensor or None
        Total loss per row and step, ``(P, R, steps)`` on the CPU when asked
        for (NaN after a row stopped or failed); None otherwise.
    steps : torch.Tensor
        Steps each row ran, ``(P, R)``.
    failed : torch.Tensor
        Bool ``(P, R)``: rows whose loss became NaN/Inf (never selected).
    wall_time : float
        Seconds spent in the solve.
    state : dict
        The chosen rows' full state, ``(P, ...)`` tensors.
    samples : torch.Tensor or None
        ``(P, R * S, *image_shape)`` collected iterates (``Samples`` only).
    info : dict
        Extras an objective or caller may record.
    """

    x: torch.Tensor
    z: torch.Tensor | None
    fit: torch.Tensor
    loss: torch.Tensor
    restart: torch.Tensor
    history: torch.Tensor | None
    steps: torch.Tensor
    failed: torch.Tensor
    wall_time: float
    state: dict = field(default_factory=dict)
    samples: torch.Tensor | None = None
    info: dict = field(default_factory=dict)

    @property
    def measurement_error(self) -> torch.Tensor:
        r"""The v1 name of :attr:`fit` (deprecated: a :class:`~ganprior.RecoveryResult`'s ``measurement_error`` is
        the recomputed :math:`\|y - A\hat x\|^2`, a different number for methods whose data term is not that)."""
        from .settings import warn_once

        warn_once(("LatentResult", "measurement_error"), "LatentResult.measurement_error is now LatentResult.fit; "
                  "'measurement_error' will be removed in a future version.")
        return self.fit


# -- the loop ---------------------------------------------------------------------------------------------------


def _autocast(device, precision):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _solve_chunk(objective, G, state0, rows, *, steps, rule, lr, lr_at, precision, patience, tol, bar, noise,
                 record, collect):
    """Run the loop on one chunk of rows.

    Returns each row's best state (by total loss, the final iterate included), the rows that failed,
    the steps each row ran, the history (or None) and the collected images (or None).
    """
    names = list(state0)
    ref = state0[names[0]]
    device, dtype = ref.device, ref.dtype
    n_rows = ref.shape[0]
    state = {k: v.clone().requires_grad_(True) for k, v in state0.items()}
    groups = state_groups(objective, names, rule, lr)
    opts = [g_rule.build([state[k] for k in g_names], g_lr) for g_names, g_rule, g_lr, _ in groups]
    best_total = torch.full((n_rows,), float("inf"), device=device, dtype=dtype)
    best = {k: v.clone() for k, v in state0.items()}
    expand = {k: (-1,) + (1,) * (v.ndim - 1) for k, v in state0.items()}
    history = torch.full((n_rows, steps), float("nan"), device=device, dtype=dtype) if record else None
    ran = torch.full((n_rows,), steps, dtype=torch.long, device=device)
    failed = torch.zeros(n_rows, dtype=torch.bool, device=device)
    idx = torch.arange(n_rows, device=device)  # the rows still in the batch, in order
    since = torch.zeros(n_rows, dtype=torch.long, device=device)
    kept = set(collect.steps_kept(steps)) if collect is not None else None
    images = [] if collect is not None else None
    full = True  # every row still in the batch: the lean path without indexing

    for t in range(steps):
        objective.on_step(t, steps)
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        with _autocast(device, precision):
            x = objective.render(G, state)
        x = x.to(dtype)
        _, total = objective.loss(x, state, rows)
        loss = total.detach()
        if images is not None and t in kept:
            images.append(x.detach().cpu())
        finite = torch.isfinite(loss)
        ok = bool(finite.all())
        prev = best_total if full else best_total[idx]
        better = loss < prev
        if patience is not None:
            improved = better & (loss < prev - tol * prev.abs().clamp_min(1e-12))
            since[idx] = torch.where(improved | ~torch.isfinite(prev), 0, since[idx] + 1)
        if full:  # every row still in the batch: no indexing
            if record:
                history[:, t] = loss
            best_total = torch.where(better, loss, best_total)
            for k in names:
                best[k] = torch.where(better.view(expand[k]), state[k].detach(), best[k])
        else:
            if record:
                history[idx, t] = loss
            best_total[idx] = torch.where(better, loss, prev)
            for k in names:
                best[k][idx] = torch.where(better.view(expand[k]), state[k].detach(), best[k][idx])
        total.sum().backward()
        step_lr = lr if lr_at is None else lr_at(t)
        if lr_at is not None:
            opts[0].param_groups[0]["lr"] = step_lr
        for opt in opts:
            opt.step()
        with torch.no_grad():
            if noise is not None:
                scale = math.sqrt(2.0 * step_lr * rule.temperature)
                for k in groups[0][0]:
                    xi = noise.draw(state[k].shape[1:], device, dtype)
                    state[k].add_(xi if full else xi[idx], alpha=scale)
            objective.project_state(state)
        if bar is not None:
            bar.update(1)
        stop = ~finite
        if patience is not None:
            stop = stop | (since[idx] >= patience)
        if not ok or (patience is not None and bool(stop.any())):
            failed[idx[~finite]] = True
            ran[idx[stop]] = t + 1
            keep = ~stop
            if images is not None or not bool(keep.any()):  # a failed chain ends a sampling run
                idx = idx[keep] if images is None else idx[:0]
                if bar is not None:
                    bar.update(steps - t - 1)
                break
            new = {k: state[k].detach()[keep].clone().requires_grad_(True) for k in names}
            opts = [shrink_optimizer(opt, [state[k] for k in g_names], [new[k] for k in g_names], keep, g_rule, g_lr)
                    for opt, (g_names, g_rule, g_lr, _) in zip(opts, groups)]
            state, idx, rows = new, idx[keep], rows[keep]
            full = False
    # the final iterate of the rows still running has not been scored yet
    if idx.numel():
        with torch.no_grad():
            with _autocast(device, precision):
                x = objective.render(G, state)
            x = x.to(dtype)
            _, total = objective.loss(x, state, rows)
            if images is not None:
                images.append(x.cpu())
            total = total.to(dtype)
            failed[idx[~torch.isfinite(total)]] = True
            better = total < best_total[idx]
            for k in names:
                best[k][idx] = torch.where(better.view(expand[k]), state[k].detach(), best[k][idx])
    samples = torch.stack(images, dim=1) if images and not bool(failed.any()) else None
    return best, failed, ran, history, samples


def _check_state(state, names, n_rows, what):
    if not isinstance(state, dict) or set(state) != set(names):
        raise ValueError(f"{what} must be a dict with the keys {sorted(names)}. Got {describe(state)} instead.")
    for k, v in state.items():
        if not isinstance(v, torch.Tensor) or not v.is_floating_point() or v.ndim < 1 or v.shape[0] != n_rows:
            raise ValueError(f"{what}[{k!r}] must be a floating tensor with {n_rows} rows. Got {describe(v)} instead.")


def optimize_latents(
    objective: LatentObjective,
    G,
    num_problems: int,
    *,
    restarts: int | None = None,
    steps: int | None = None,
    optimizer=None,
    lr: float | None = None,
    momentum: float = 0.9,
    seed=None,
    select: str | None = None,
    reduce=None,
    patience: int | None = None,
    tol: float | None = None,
    row_chunk: int | None = None,
    precision: str | None = None,
    state_init: dict | None = None,
    z_init: torch.Tensor | None = None,
    history: bool = False,
    progress: bool = False,
    schedule: str | None = None,
    memory_format: str | None = None,
    **deprecated,
) -> LatentResult:
    r"""Minimise (or sample) a per-row objective for ``num_problems`` problems with ``restarts`` rows each.

    Parameters
    ----------
    objective : LatentObjective
        Declares the state, renders it, scores it and projects it.
    G : ganprior.Generator
        The prior; it runs in eval mode with frozen weights during the solve.
    num_problems : int
        Number of problems :math:`P`.
    restarts : int
        Rows :math:`R` per problem: random restarts, or chains for
        ``optimizer="langevin"`` (default 10).  Every engine setting left
        ``None`` (``restarts``, ``steps``, ``optimizer``, ``lr``,
        ``select``, ``patience``, ``tol``, ``row_chunk``, ``precision``,
        ``schedule``, ``memory_format``) comes from the row ``"engine"`` of
        :data:`~ganprior.solvers.settings.DEFAULTS`: the CSGM paper's
        protocol, 10 x 1000 Adam steps at lr 0.01 (the solvers pass their
        own resolved settings; see :func:`~ganprior.solvers.settings.resolve`).
    steps : int
        Update steps (default 1000).
    optimizer : {"adam", "sgd", "langevin"} or UpdateRule
        The update rule (default Adam); see :class:`UpdateRule`.
    lr : float
        Step size (default 0.01).
    momentum : float
        Momentum of SGD (used only with ``optimizer="sgd"``).
    seed : None, int, torch.Generator or sequence of P seeds
        Seed of the initial state (and of the Langevin noise).  A single seed
        draws all :math:`PR` rows in problem order; a sequence of :math:`P`
        seeds gives each problem its own stream, so a batch of problems gives
        the same answers as separate calls with those seeds (up to the
        rounding of batched matrix products, about 1e-7 in float32 and 1e-15
        in float64).
    select : {"fit", "total"}
        With the default reducer: pick each problem's row by lowest data term
        (default) or total loss.  ``"measurement"`` / ``"loss"`` are the old
        names.
    reduce : {"best", "samples"}, Best or Samples, optional
        What the solve returns: the best iterate per problem (default) or the
        collected iterates (``"samples"`` keeps every final iterate; give a
        :class:`Samples` for burn-in and thinning).
    patience : int, optional
        Stop a row once its loss has not improved by a relative ``tol`` for
        ``patience`` steps; stopped rows leave the batch.  Off by default.
    tol : float
        Relative improvement that resets the patience counter.
    row_chunk : int, optional
        Optimise at most this many **rows** (problems :math:`\times` restarts)
        at once, to bound memory; a problem's restarts may span chunks.
        Default: all rows at once.  (Not the ``chunk`` of
        :func:`~ganprior.jobs.recover_dataset`, which counts images.)
    precision : {"fp32", "bf16", "auto"}
        ``"bf16"``: render under bfloat16 autocast; the state and losses keep
        the generator's dtype, and the final scores are recomputed in full
        precision.  ``"auto"``: bf16 where the device computes it natively
        (:func:`ganprior.hardware.native_bf16`), fp32 otherwise; what ran and
        why is in ``info["precision"]`` / ``info["precision_reason"]``.
        ``"bf16"`` on a device without native bf16 runs emulated, with a
        warning.
    state_init : dict of str to torch.Tensor, optional
        Initial state, each ``(P, R, ...)``; names not given are drawn by
        the objective.
    z_init : torch.Tensor, optional
        Shorthand for ``state_init={"z": z_init}``.
    history : bool
        Record the total loss of every row at every step (a ``(P, R, steps)``
        buffer on the CPU); off by default.
    progress : bool
        Show a tqdm progress bar.
    schedule : {"constant", "cosine"}
        Step size over the steps: ``lr`` throughout (default), or cosine decay
        :math:`\eta_t = \tfrac{\eta}{2}(1 + \cos(\pi t / T))`.  An objective
        whose :meth:`~LatentObjective.step_scale` is not None sets its own.
    memory_format : {"auto", "channels_last", "contiguous"}
        Layout of the generator's weights during the solve: the engine runs
        on :meth:`ganprior.Generator.for_solving` (a cached, frozen copy with
        batch norm folded into the layer before it); ``"auto"`` (default)
        times the candidate layouts of a convolutional generator once per
        (architecture, rows, precision, device) and keeps the fastest.
    **deprecated
        The old name ``chunk_size`` (now ``row_chunk``): it works, with a
        FutureWarning the first time it is used.

    Returns
    -------
    LatentResult

    Raises
    ------
    TypeError, ValueError
        On bad arguments, before any work starts.
    FloatingPointError
        If every row of some problem produced a non-finite loss (the message
        names the problems), or a ``Samples`` chain did.

    Notes
    -----
    With :math:`s_{p,r}` the state of row :math:`r` of problem :math:`p`, each
    step updates all rows on

    .. math:: \sum_{p,r} L_p(s_{p,r}),

    then projects the state.  With :class:`Best`, each row keeps its best
    iterate (lowest total loss seen, the final one included), which is
    re-scored in the generator's dtype without autocast; each problem returns
    the row with the lowest data term (``select="fit"``) or total loss.  A row
    whose loss becomes NaN or Inf leaves the batch at once and is never
    selected.
    """
    owner = "optimize_latents"
    if not isinstance(objective, LatentObjective):
        raise TypeError(f"The 'objective' parameter must be a LatentObjective. Got {describe(objective)} instead.")
    P = check_int(num_problems, "num_problems", minimum=1, owner=owner)
    given = merge_renamed(owner, {"restarts": restarts, "steps": steps, "optimizer": optimizer, "lr": lr,
                                  "select": select, "patience": patience, "tol": tol, "row_chunk": row_chunk,
                                  "precision": precision, "schedule": schedule, "memory_format": memory_format},
                          deprecated)
    config = resolve("engine", given, owner=owner)[0]
    restarts, steps, optimizer, lr, select = config.restarts, config.steps, config.optimizer, config.lr, config.select
    patience, tol, row_chunk, precision = config.patience, config.tol, config.row_chunk, config.precision
    schedule, memory_format = config.schedule, config.memory_format
    R = check_int(restarts, "restarts", minimum=1, owner=owner)
    steps = check_int(steps, "steps", minimum=1, owner=owner)
    if isinstance(optimizer, UpdateRule):
        rule = optimizer
    else:
        check_choice(optimizer, "optimizer", UPDATE_RULES, owner=owner)
        rule = UpdateRule(optimizer, momentum=check_float(momentum, "momentum", minimum=0.0, owner=owner))
    lr = check_float(lr, "lr", minimum=0.0, strict=True, owner=owner)
    if reduce is None or reduce == "best":
        reduce = Best(select)
    elif reduce == "samples":
        reduce = Samples(burn_in=steps, every=1)
    elif not isinstance(reduce, (Best, Samples)):
        raise ValueError(f"The 'reduce' parameter of {owner} must be 'best', 'samples', a Best or a Samples. "
                         f"Got {describe(reduce)} instead.")
    else:
        check_choice(select, "select", SELECT, owner=owner)
    check_choice(precision, "precision", PRECISIONS, owner=owner)
    tol = check_float(tol, "tol", minimum=0.0, owner=owner)
    if patience is not None:
        patience = check_int(patience, "patience", minimum=1, owner=owner)
        if isinstance(reduce, Samples):
            raise ValueError(f"The 'patience' parameter of {owner} cannot be used with reduce=Samples: "
                             "every chain runs every step.")
    check_choice(schedule, "schedule", SCHEDULES, owner=owner)
    check_choice(memory_format, "memory_format", MEMORY_FORMATS, owner=owner)
    for name, flag in (("history", history), ("progress", progress)):
        if not isinstance(flag, bool):
            raise TypeError(f"The '{name}' parameter of {owner} must be a bool. Got {describe(flag)} instead.")
    lr_at = None
    if objective.step_scale(0, steps) is not None:  # the objective's own step (e.g. a sampler's annealing)
        def lr_at(t):
            return lr * float(objective.step_scale(t, steps))
    elif schedule == "cosine":
        def lr_at(t):
            return 0.5 * lr * (1.0 + math.cos(math.pi * t / steps))
    chunk = P * R if row_chunk is None else check_int(row_chunk, "row_chunk", minimum=1, owner=owner)
    names = tuple(objective.state_names)
    if z_init is not None:
        if state_init is not None:
            raise ValueError(f"Give 'state_init' or 'z_init' to {owner}, not both.")
        state_init = {"z": z_init}
    given = {}
    if state_init is not None:
        if not isinstance(state_init, dict) or not set(state_init) <= set(names):
            raise ValueError(f"The 'state_init' parameter of {owner} must be a dict whose keys are among "
                             f"{sorted(names)}. Got {describe(state_init)} instead.")
        for k, v in state_init.items():
            if not isinstance(v, torch.Tensor):
                raise TypeError(f"The 'state_init' entry {k!r} ('z_init') must be a torch.Tensor. "
                                f"Got {describe(v)} instead.")
            if v.ndim < 2 or tuple(v.shape[:2]) != (P, R):
                raise ValueError(f"The 'state_init' entry {k!r} must have shape ({P}, {R}, ...). "
                                 f"Got {tuple(v.shape)} instead.")
            given[k] = v.detach().reshape(P * R, *v.shape[2:])

    seeds = check_seeds(seed, P)
    precision, precision_reason = resolve_precision(precision, G.device if isinstance(G, Generator) else "cpu",
                                                    owner)
    if isinstance(G, Generator):
        G = G.for_solving(memory_format, rows=min(chunk, P * R), precision=precision)
    state_all = objective.init_state(G, P, R, seeds)
    _check_state(state_all, names, P * R, f"{type(objective).__name__}.init_state()")
    for k, v in given.items():
        if v.shape[1:] != state_all[k].shape[1:]:
            raise ValueError(f"The 'state_init' entry {k!r} must have shape ({P}, {R}, "
                             f"{', '.join(map(str, state_all[k].shape[1:]))}). Got {(P, R, *v.shape[1:])} instead.")
        state_all[k] = v.to(device=state_all[k].device, dtype=state_all[k].dtype)
    with torch.no_grad():
        objective.project_state(state_all)
    device, dtype = state_all[names[0]].device, state_all[names[0]].dtype

    n_chunks = -(-(P * R) // chunk)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps * n_chunks, desc="latent steps", unit="step")
    start = time.perf_counter()
    record = bool(history)
    hist = torch.empty(P * R, steps, dtype=dtype) if record else None
    ran = torch.empty(P * R, dtype=torch.long)
    failed_all = torch.zeros(P * R, dtype=torch.bool)
    all_rows = torch.arange(P, device=device).repeat_interleave(R)
    # running best per problem (Best) or collected images (Samples)
    best_key = torch.full((P,), float("inf"), device=device, dtype=dtype)
    best_fit = torch.full((P,), float("nan"), device=device, dtype=dtype)
    best_tot = torch.full((P,), float("nan"), device=device, dtype=dtype)
    best_row = torch.zeros(P, dtype=torch.long, device=device)
    best_state = {k: torch.zeros(P, *v.shape[1:], device=device, dtype=v.dtype) for k, v in state_all.items()}
    collected = [] if isinstance(reduce, Samples) else None
    try:
        with G.frozen():
            for r0 in range(0, P * R, chunk):
                sl = slice(r0, min(P * R, r0 + chunk))
                rows = all_rows[sl]
                noise = RowNoise(seeds, rows) if rule.noisy else None  # continues each problem's stream
                bst, failed, r, h, imgs = _solve_chunk(
                    objective, G, {k: v[sl] for k, v in state_all.items()}, rows, steps=steps, rule=rule, lr=lr,
                    lr_at=lr_at, precision=precision, patience=patience, tol=tol, bar=bar, noise=noise,
                    record=record, collect=reduce if collected is not None else None)
                ran[sl] = r.cpu()
                if record:
                    hist[sl] = h.cpu()
                if collected is not None:
                    if bool(failed.any()):
                        bad = sorted({int(p) for p in rows[failed].tolist()})
                        raise FloatingPointError(
                            f"optimize_latents: a chain of problem(s) {bad} produced a non-finite loss; "
                            "lower 'lr' (the Langevin step) or check y, A and the objective's weights.")
                    collected.append(imgs)
                    failed_all[sl] = False
                    continue
                # score every row's best iterate in full precision, then keep each problem's best row
                with torch.no_grad():
                    fit, total = objective.loss(objective.render(G, bst).to(dtype), bst, rows)
                    fit, total = fit.to(dtype), total.to(dtype)
                failed = failed | ~torch.isfinite(fit) | ~torch.isfinite(total)
                failed_all[sl] = failed.cpu()
                key = (fit if reduce.select == "fit" else total).masked_fill(failed, float("inf"))
                order = torch.sort(key, stable=True).indices
                order = order[torch.sort(rows[order], stable=True).indices]
                first = torch.ones_like(order, dtype=torch.bool)
                first[1:] = rows[order][1:] != rows[order][:-1]
                cand = order[first]
                prob = rows[cand]
                better = key[cand] < best_key[prob]
                cand, prob = cand[better], prob[better]
                best_key[prob] = key[cand]
                best_fit[prob], best_tot[prob] = fit[cand], total[cand]
                best_row[prob] = cand + r0 - prob * R
                for k in names:
                    best_state[k][prob] = bst[k][cand]
            if collected is not None:
                samples = torch.cat(collected, dim=0)  # (P * R, S, *image_shape), rows in problem order
                samples = samples.view(P, R * samples.shape[1], *samples.shape[2:])
                x_out = samples.mean(dim=1).to(device)
                result_fit = torch.full((P,), float("nan"), device=device, dtype=dtype)
                result_tot = result_fit.clone()
                best_row.zero_()
            else:
                lost = ~torch.isfinite(best_key)
                if bool(lost.any()):
                    bad = torch.nonzero(lost).flatten().tolist()
                    shown = bad[:20] + (["..."] if len(bad) > 20 else [])
                    raise FloatingPointError(
                        f"optimize_latents: every restart of problem(s) {shown} produced a non-finite loss "
                        "(NaN or Inf). Check that y, A and the weights (e.g. lam) do not overflow the generator's "
                        f"dtype ({dtype}), that the generator is finite on its latents, and try a smaller 'lr'.")
                with torch.no_grad():
                    x_out = torch.cat([objective.render(G, {k: v[i:i + chunk] for k, v in best_state.items()})
                                       for i in range(0, P, chunk)])
                result_fit, result_tot = best_fit, best_tot
                samples = None
    finally:
        if bar is not None:
            bar.close()
    return LatentResult(
        x=x_out.detach(),
        z=best_state["z"].detach() if "z" in best_state and samples is None else None,
        fit=result_fit,
        loss=result_tot,
        restart=best_row,
        history=hist.view(P, R, steps) if record else None,
        steps=ran.view(P, R),
        failed=failed_all.view(P, R),
        wall_time=time.perf_counter() - start,
        state={k: v.detach() for k, v in best_state.items()} if samples is None else {},
        samples=samples,
        info={"precision": precision, "precision_reason": precision_reason},
    )
