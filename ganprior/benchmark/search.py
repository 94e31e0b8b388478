"""The hyperparameter search of the error-vs-m study: a grid widened past an open edge, options chosen by the
one-standard-error rule over paired differences, and the solves a test row is made with.

:func:`widen_search` minimises a validation error over a grid, widening it geometrically while the best value
lies at an open edge; :func:`one_se_choice` keeps a default unless another candidate is lower by more than one
standard error of the paired difference (:func:`paired_difference`) over the validation images; :func:`choose`
makes (or reuses, from selection.json) the whole search of a method at one m; :func:`solve_rows` solves test rows
as their saved search says, and :func:`verify_rows` checks committed rows against today's code.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

import ganprior

from .protocol import (BEYOND, OWN_BEST_RULE, PRIOR_RULE, SEARCH, WARMUP_RULE, auto_candidate_methods, auto_rule,
                       beyond_choices, beyond_defaults, hyperparameter_grid, measure, warmup_candidates,
                       warmup_fraction)
from .store import (chosen_options, chosen_prior, is_current, load_selection, read_rows, row_search,
                    save_selection, validated_options, write_validation)

__all__ = ["widen_search", "one_se_choice", "paired_difference", "choose", "solve_rows", "verify_rows"]

SEARCH_KEYS = ("tried", "order", "chosen", "status")  # a search's outcome in a selection.json record


def widen_search(evaluate, grid, *, factor=10.0, lower=None, lower_reachable=False, snap_below=None,
                 upper=None, upper_reachable=False, max_steps=5):
    """Minimise ``evaluate(value)`` over ``grid``, widening the grid while the best value lies at an open edge.

    Every value of ``grid`` is evaluated. While the best value so far is the lowest (highest) value tried, the
    grid is extended past that edge by one geometric step, ``edge / factor`` (``edge * factor``); a side stops
    when its new value does not improve strictly on the best (the error turned up, or is flat), when a natural
    bound is reached, or after ``max_steps`` steps. A bound that is reachable (``lower_reachable``: lam = 0,
    a legal value) is itself a grid point: the step that would reach it, pass it, or go below ``snap_below``
    evaluates the bound instead, which closes that side. A bound that is not reachable (alpha > 0) is never
    evaluated; the side widens geometrically only. Ties go to the value evaluated first.

    Returns a dict: ``tried`` [(value, error)] sorted by value; ``order``, the values in evaluation order;
    ``best``; ``status``: "interior" (a value on each side was tried, with an error >= the best's), "bound"
    (the best is a natural bound), "limit" (the best lies at an open edge after ``max_steps`` steps: the
    optimum may lie further out) or "single" (a one-value grid: nothing to choose, nothing evaluated).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(value) -> error``.
    grid : sequence of float
        The values evaluated first.
    factor : float
        The geometric step past an edge.
    lower, upper : float, optional
        Natural bounds.
    lower_reachable, upper_reachable : bool
        Whether a bound is itself a legal value (a grid point).
    snap_below : float, optional
        Below this, the low side's next step is ``lower`` itself.
    max_steps : int
        Steps per side at most.

    Returns
    -------
    dict
    """
    grid = [float(v) for v in grid]
    if len(set(grid)) == 1:
        return dict(tried=[], order=[], best=grid[0], status="single")
    scores, order = {}, []
    for v in grid:
        if v not in scores:
            scores[v] = float(evaluate(v))
            order.append(v)
    best = min(order, key=lambda v: scores[v])  # min keeps the first of equal values
    steps = {"low": 0, "high": 0}
    closed = {"low": False, "high": False}
    while True:
        values = sorted(scores)
        side = "low" if best == values[0] else "high" if best == values[-1] else None
        if side is None or closed[side] or steps[side] >= max_steps:
            break
        if side == "low":
            nxt, bound, reachable = values[0] / factor, lower, lower_reachable
            if bound is not None and (nxt <= bound or (snap_below is not None and nxt < snap_below)):
                nxt = bound
        else:
            nxt, bound, reachable = values[-1] * factor, upper, upper_reachable
            if bound is not None and nxt >= bound:
                nxt = bound
        if bound is not None and nxt == bound:
            closed[side] = True  # the last step of this side: the bound itself, or nothing if not reachable
            if not reachable or bound in scores:
                continue
        steps[side] += 1
        scores[nxt] = float(evaluate(nxt))
        order.append(nxt)
        if scores[nxt] < scores[best]:
            best = nxt
        else:
            closed[side] = True  # turned up (or flat): the previous best is bracketed
    values = sorted(scores)
    if values[0] < best < values[-1]:
        status = "interior"
    elif (best == lower and lower_reachable) or (best == upper and upper_reachable):
        status = "bound"
    else:
        status = "limit"
    return dict(tried=[(v, scores[v]) for v in values], order=order, best=best, status=status)


def search_fields(res):
    """The outcome of a :func:`widen_search` as selection.json keeps it (``tried`` as lists, the best as ``chosen``)."""
    return dict(zip(SEARCH_KEYS, ([[v, e] for v, e in res["tried"]], res["order"], res["best"], res["status"])))


def run_method(method, y, A, G, cfg, value, precision, image_shape, lam=None, candidates=None, chosen=None):
    """One solve of the test (or validation) problems with the method's hyperparameter set to ``value``
    (``auto``: among ``candidates``, {method: validated options}; ``chosen``: options of BEYOND_CHOICES, and the
    ``prior`` of PRIOR_CHOICES, a key of ``cfg["prior_models"]``, in place of ``G``)."""
    # the layout every committed row ran with (the col2im copy), not the per-machine autotune: rows reproduce bitwise
    engine = dict(restarts=cfg["restarts"], steps=cfg["steps"], lr=cfg["lr"], seed=0, precision=precision,
                  schedule=cfg["schedule"], row_chunk=cfg["chunk"] * cfg["restarts"] if cfg.get("chunk") else None,
                  memory_format="channels_last")
    chosen = dict(chosen or {})
    if "prior" in chosen:
        G = cfg["prior_models"][chosen.pop("prior")]
    if method == "csgm":
        return ganprior.recover(y, A, G, lam=value, **engine)  # row_chunk counts rows
    if method == "auto":  # chosen per problem from its own measurements (held-out rows), never from x
        candidates = {k: warmup_fraction({**beyond_defaults(k, cfg, G), **v}, cfg["steps"])
                      for k, v in candidates.items()}
        return ganprior.recover(y, A, G, method="auto", candidates=candidates, **cfg["auto_selection"], **engine)
    if method in BEYOND:
        fixed = cfg.get("beyond_fixed", {}).get(method, {})
        return ganprior.recover(y, A, G, method=method, lam=lam, **{BEYOND[method]["name"]: value}, **fixed,
                                **warmup_fraction({**beyond_defaults(method, cfg, G), **chosen}, cfg["steps"]),
                                **engine)
    return ganprior.recover(y, A, method=method, alpha=value, image_shape=image_shape)


def choose(method, m, x_val, val_ids, G, cfg, precision, image_shape, out):
    """Pick the hyperparameter with the lowest mean validation MSE (validation images only), by
    :func:`widen_search` from the method's grid; a search finished before (``selection.json``, same grid,
    validation set, lam and fixed arguments) is reused, so a resumed run neither repeats nor duplicates it.
    A method beyond the range (``BEYOND``) takes lam from CSGM's search at the same m (run first when missing).

    Options listed in ``BEYOND_CHOICES`` (ILO's cut) are chosen first, one at a time: each candidate is solved at
    the hyperparameter's ``at`` value and the lowest mean validation MSE kept (the record's ``choice``); the
    hyperparameter's search then runs with them (its solve at ``at`` is the one already made).  An option listed in
    ``CHOICE_AT_OWN_BEST`` is chosen instead with the hyperparameter: its whole search for every candidate, then
    OWN_BEST_RULE (:func:`own_best_choice`; the record is the chosen candidate's search).  The warm-up
    (WARMUP_CHOICES) is chosen last, at everything chosen before it (:func:`choose_warmup`).  A saved search that
    differs only in its warm-up choice (none yet, other candidates) keeps everything else: only the warm-ups are
    solved.

    Returns ``(name, value, lam)`` (lam None for CSGM and the baselines).  ``auto`` has nothing of its own to
    tune: it chooses per problem, from the measurements alone, among :func:`auto_candidate_methods` run with the values
    their own searches chose (run first when missing; :func:`validated_options`).

    Parameters
    ----------
    method : str
        The method searched.
    m : int
        Measurements.
    x_val : torch.Tensor
        The validation images.
    val_ids : list of int
        Their ids (recorded; a saved search is reused only with the same ones).
    G : ganprior.Generator
        The run's prior.
    cfg : dict
        The run's configuration.
    precision : str
        The solves' precision.
    image_shape : tuple of int
        ``(C, H, W)``.
    out : pathlib.Path
        The results folder (selection.json, validation.csv).

    Returns
    -------
    (str, object, float or None)
    """
    if method == "auto":
        for cand in auto_candidate_methods(cfg):
            choose(cand, m, x_val, val_ids, G, cfg, precision, image_shape, out)
        return "method", auto_rule(m, cfg["auto_selection"]), None
    if method == "csgm" and len(cfg.get("prior_models", {})) > 1:
        return choose_prior(m, x_val, val_ids, cfg, precision, image_shape, out)
    name, grid = hyperparameter_grid(method, cfg)
    # a method beyond the range takes CSGM's lam and prior at the same m
    lam = choose("csgm", m, x_val, val_ids, G, cfg, precision, image_shape, out)[1] if method in BEYOND else None
    key = f"{method} m={m}"
    state = load_selection(out)
    prior = chosen_prior(state, m) if method in BEYOND else None
    sha = prior_sha(cfg, prior) if method == "csgm" or method in BEYOND else None
    rec = state.get(key)
    fixed = cfg.get("beyond_fixed", {}).get(method, {}) if method in BEYOND else None
    options, defaults = beyond_choices(cfg, method, cfg["prior_models"][prior] if prior else G)
    own_best = [k for k in cfg.get("own_best", {}).get(method, []) if k in options]
    warmups, warmup_default = warmup_candidates(cfg, method)
    same = rec is not None and rec["grid"] == [float(v) for v in grid] and rec["val_images"] == val_ids \
        and rec.get("lam") == lam and rec.get("fixed") == fixed and rec.get("prior") == prior \
        and rec.get("prior_sha256") in (None, sha) \
        and {k: (v["candidates"], v.get("rule") if "searches" in v else None)
             for k, v in rec.get("choice", {}).items() if k != "warmup"} \
        == {k: (c, OWN_BEST_RULE if k in own_best else None) for k, c in options.items()}
    saved_warmup = (rec or {}).get("choice", {}).get("warmup")
    have = saved_warmup and (saved_warmup["candidates"], saved_warmup.get("rule"))
    if same and have == ((warmups, WARMUP_RULE) if warmups else None):
        return name, rec["chosen"], lam
    A, y = measure(x_val, m, cfg["noise"], seed=1)  # a different A and noise from the test run
    per_image, chosen, choice, extra = {}, {}, {}, []

    def solve(value, opts):
        opts = {**opts, "prior": prior} if prior else opts
        x_hat = run_method(method, y, A, G, cfg, value, precision, image_shape, lam=lam, chosen=opts)
        return [float(e) for e in ganprior.metrics.mse(x_hat, x_val)]

    if same:  # only the warm-up's choice is new (or gone): the saved search stands, with the options it chose
        rec = dict(rec, choice={k: v for k, v in rec.get("choice", {}).items() if k != "warmup"})
        if warmups:
            at = {k: v["chosen"] for k, v in rec["choice"].items()}
            rec["choice"]["warmup"], errs = choose_warmup(solve, rec["chosen"], at, warmups, warmup_default)
            write_validation(out, method, m, name, val_ids, {}, [("warmup", w, errs[w]) for w in warmups])
        if not rec["choice"]:
            del rec["choice"]
        state[key] = rec
        save_selection(out, state, cfg["methods"])
        return name, rec["chosen"], lam

    for opt, cands in options.items():  # one option at a time, at the hyperparameter's default
        if opt in own_best:
            continue
        at = BEYOND[method]["at"]
        errs = {c: solve(at, {**chosen, opt: c}) for c in cands}
        chosen[opt] = min(cands, key=lambda c: np.mean(errs[c]))  # ties: the first listed
        choice[opt] = dict(candidates=list(cands), at=at, tried=[[c, float(np.mean(errs[c]))] for c in cands],
                           chosen=chosen[opt], **({"default": defaults[opt]} if opt in defaults else {}))
        extra += [(opt, c, errs[c]) for c in cands]
        per_image[at] = errs[chosen[opt]]  # the search below reuses this solve

    def evaluate(value):
        if value not in per_image:
            per_image[value] = solve(value, chosen)
        return float(np.mean(per_image[value]))

    if own_best:  # (one such option) the hyperparameter's search for every candidate, then OWN_BEST_RULE
        opt = own_best[0]
        res, errs = own_best_choice(opt, options[opt], defaults.get(opt, options[opt][0]), chosen, solve, grid,
                                    SEARCH[name])
        chosen[opt], choice[opt] = res.pop("choice")["chosen"], res.pop("record")
        per_image.update(errs.pop(chosen[opt]))
        extra += [(f"{name} ({opt}={c})", v, e) for c, by_value in errs.items() for v, e in sorted(by_value.items())]
    else:
        res = widen_search(evaluate, grid, **SEARCH[name])
    if warmups:  # last, at what was chosen before it; the default's solve is the search's own
        choice["warmup"], errs = choose_warmup(solve, res["best"], chosen, warmups, warmup_default,
                                               known=per_image[res["best"]])
        extra += [("warmup", w, errs[w]) for w in warmups]
    if per_image:
        write_validation(out, method, m, name, val_ids, per_image, extra, fresh=True)
    state[key] = dict(method=method, m=m, hyperparameter=name, grid=[float(v) for v in grid],
                      n_val=len(val_ids), val_images=val_ids, **search_fields(res), rule=SEARCH[name])
    if lam is not None:
        state[key].update(lam=lam, fixed=fixed)
    if prior:
        state[key]["prior"] = prior
    if sha:
        state[key]["prior_sha256"] = sha
    if choice:
        state[key]["choice"] = choice
    save_selection(out, state, cfg["methods"])
    return name, res["best"], lam


def own_best_choice(opt, cands, default, chosen, solve, grid, rule):
    """The option ``opt`` chosen among ``cands`` each at its own best hyperparameter (CHOICE_AT_OWN_BEST): the
    hyperparameter's :func:`widen_search` over ``grid`` (``rule``: its SEARCH settings) with ``{**chosen, opt: c}``
    for every candidate ``c``, then OWN_BEST_RULE against ``default`` over the validation images, each candidate at
    its own best value (``solve(value, options)`` -> per-image errors).  Returns ``(res, errs)``: the chosen
    candidate's search result with ``choice`` (``{"chosen": c}``) and ``record`` (selection.json's ``choice[opt]``:
    candidates, default, rule, each candidate's best mean error, paired differences with their standard error,
    every candidate's search) added, and ``{c: {value: per-image errors}}`` of every solve made."""
    results, errs = {}, {}
    for c in cands:
        errs[c] = {}

        def evaluate(value, c=c):
            if value not in errs[c]:
                errs[c][value] = solve(value, {**chosen, opt: c})
            return float(np.mean(errs[c][value]))

        results[c] = widen_search(evaluate, grid, **rule)
    best = {c: errs[c][results[c]["best"]] for c in cands}
    pick, diffs = one_se_choice(best, default)
    record = dict(candidates=list(cands), default=default, rule=OWN_BEST_RULE,
                  tried=[[c, float(np.mean(best[c]))] for c in cands], paired=[[c, *diffs[c]] for c in diffs],
                  chosen=pick, searches={str(c): search_fields(results[c]) for c in cands})
    return dict(results[pick], choice={"chosen": pick}, record=record), errs


def choose_warmup(solve, value, opts, warmups, default, known=None):
    """The warm-up's choice at ``value`` and the options ``opts`` chosen before it: each of ``warmups`` solved on
    the validation images (``solve(value, options)`` -> per-image errors; ``known``: the default's, when already
    solved) and WARMUP_RULE applied against ``default``.  Returns ``(record, {warmup: errors})``; the record lists
    each mean, each paired difference to the default with its standard error, and the choice."""
    errs = {w: known if w == default and known is not None else solve(value, {**opts, "warmup": w}) for w in warmups}
    chosen, diffs = one_se_choice(errs, default)
    return dict(candidates=list(warmups), at=value, default=default, rule=WARMUP_RULE,
                tried=[[w, float(np.mean(errs[w]))] for w in warmups],
                paired=[[w, *diffs[w]] for w in diffs], chosen=chosen), errs


def choose_prior(m, x_val, val_ids, cfg, precision, image_shape, out):
    """CSGM's search at ``m`` with each prior of ``cfg["prior_models"]`` (PRIOR_CHOICES, the preset's first): the
    lam search of :func:`choose` with each, then the prior whose chosen lam has the lowest mean validation MSE
    (PRIOR_RULE: only where it is lower than the preset's by more than one standard error of the paired difference
    over the validation images; the record's ``paired`` lists each mean difference and standard error). The
    record's top level is the chosen prior's search; ``choice["prior"]`` keeps every
    prior's (``searches``). A search of the preset's prior saved before the choice existed (same grid and
    validation images) is reused, not solved again, and so is each prior's search of an earlier choice among other
    candidates (a prior added to PRIOR_CHOICES is searched alone). Returns ``(name, lam, None)``."""
    names = list(cfg["prior_models"])
    name, grid = hyperparameter_grid("csgm", cfg)
    grid = [float(v) for v in grid]
    key = f"csgm m={m}"
    state = load_selection(out)
    rec = state.get(key)
    same = rec is not None and rec["grid"] == grid and rec["val_images"] == val_ids
    sha = {p: prior_sha(cfg, p) for p in names}
    saved = rec.get("choice", {}).get("prior", {}).get("searches", {}) if same else {}
    # a search is reused only if solved with these weights (records from before fingerprints: accepted)
    saved = {p: s for p, s in saved.items() if p in sha and s.get("prior_sha256") in (None, sha[p])}
    if same and rec.get("choice", {}).get("prior", {}).get("candidates") == names \
            and rec["choice"]["prior"].get("rule") == PRIOR_RULE and set(saved) == set(names):
        return name, rec["chosen"], None
    A, y = measure(x_val, m, cfg["noise"], seed=1)
    searches, extra = {}, []
    for p in names:
        if p == names[0] and same and "choice" not in rec and rec.get("prior_sha256") in (None, sha[p]):
            searches[p] = {k: rec[k] for k in SEARCH_KEYS}  # the preset's search from before the choice
        elif p in saved:  # this prior's search from a choice among other candidates (a prior added since)
            searches[p] = {k: saved[p][k] for k in SEARCH_KEYS}
        if p in searches:
            searches[p]["prior_sha256"] = sha[p]
            continue
        per_image = {}

        def evaluate(value, p=p, per_image=per_image):
            x_hat = run_method("csgm", y, A, None, cfg, value, precision, image_shape, chosen={"prior": p})
            per_image[value] = [float(e) for e in ganprior.metrics.mse(x_hat, x_val)]
            return float(np.mean(per_image[value]))

        res = widen_search(evaluate, grid, **SEARCH[name])
        searches[p] = dict(search_fields(res), prior_sha256=sha[p])
        option = name if p == names[0] else f"{name} (prior={p})"  # the preset's rows: as without a choice
        extra += [(option, v, errs) for v, errs in sorted(per_image.items())]
    best = {p: dict((v, e) for v, e in s["tried"])[s["chosen"]] for p, s in searches.items()}
    write_validation(out, "csgm", m, name, val_ids, {}, extra)
    # the per-image validation errors of each prior at its chosen lam, against the preset's (paired over the images)
    errs = validation_errors(out, m, {p: (name if p == names[0] else f"{name} (prior={p})", searches[p]["chosen"])
                                      for p in names}, val_ids)
    chosen, diffs = one_se_choice(errs, names[0], score=best.get)
    state[key] = dict(method="csgm", m=m, hyperparameter=name, grid=grid, n_val=len(val_ids), val_images=val_ids,
                      **searches[chosen], rule=SEARCH[name],
                      choice={"prior": dict(candidates=names, default=names[0], tried=[[p, best[p]] for p in names],
                                            rule=PRIOR_RULE, paired=[[p, *diffs[p]] for p in names[1:]],
                                            chosen=chosen, searches=searches)})
    save_selection(out, state, cfg["methods"])
    return name, searches[chosen]["chosen"], None


def validation_errors(out, m, wanted, val_ids):
    """CSGM's per-image validation MSE at ``m`` from validation.csv (read once): ``wanted`` maps a key to a
    hyperparameter label and value, ``(option, value)``; returns key -> the errors in the order of ``val_ids``."""
    keys = {(option, float(value)): key for key, (option, value) in wanted.items()}
    got = {key: {} for key in wanted}
    with open(Path(out) / "validation.csv") as f:
        for r in csv.DictReader(f):
            key = keys.get((r["hyperparameter"], float(r["value"]))) if r["method"] == "csgm" and int(r["m"]) == m \
                else None
            if key is not None:
                got[key][int(r["image"])] = float(r["mse"])
    for key, (option, value) in wanted.items():
        missing = [i for i in val_ids if i not in got[key]]
        if missing:
            raise RuntimeError(f"validation.csv lacks CSGM's errors at m={m} for {option} = {value:g} on images "
                               f"{missing[:5]}: run the CSGM search again (delete its record in selection.json).")
    return {key: [got[key][i] for i in val_ids] for key in wanted}


def one_se_choice(errs, default, score=None):
    """The one-standard-error rule of PRIOR_RULE, WARMUP_RULE and OWN_BEST_RULE: among the candidates of ``errs``
    (candidate -> per-image validation errors, paired over the images), those whose paired difference to
    ``default``'s is below zero by more than its standard error, the lowest ``score`` (default: the mean error)
    of them, else ``default``.  Returns ``(chosen, {candidate: (mean difference, standard error)})``, the others
    than ``default`` in the order of ``errs``.

    Parameters
    ----------
    errs : dict
        Candidate -> per-image validation errors, paired over the images.
    default : object
        The candidate kept unless another is clearly better.
    score : callable, optional
        The key among the better candidates (default: the mean error).

    Returns
    -------
    (object, dict)
    """
    diffs = {c: paired_difference(e, errs[default]) for c, e in errs.items() if c != default}
    better = [c for c in diffs if diffs[c][0] + diffs[c][1] < 0]  # below the default's by more than 1 SE
    return (min(better, key=score or (lambda c: np.mean(errs[c]))) if better else default), diffs


def paired_difference(a, b):
    """Mean of ``a - b`` over the images and its standard error.

    Parameters
    ----------
    a, b : sequence of float
        Per-image errors, paired.

    Returns
    -------
    (float, float)
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0


def prior_sha(cfg, prior=None):
    """The fingerprint (:func:`prior_fingerprints`) of the prior a search solves with: ``prior`` (a PRIOR_CHOICES
    name), else the run's own; None when the run has none recorded. Searches keep it as ``prior_sha256`` and are
    reused only with the same weights behind the name -- a folder started with a copy of selection.json has no
    metadata.json whose ``priors_sha256`` could catch a retrained prior."""
    return (cfg.get("fingerprints") or {}).get(prior if prior is not None else cfg.get("own_prior"))


def solve_options(method, m, state, cfg, G):
    """What a study that calls ``recover`` itself gives a solve of ``method`` at ``m`` with the prior ``G``: the
    validated options with every choice named, over :func:`beyond_defaults` (as :func:`run_method` does) -- never
    the prior's recipe; the warm-up as the fraction of ``cfg["steps"]`` that ``recover`` takes
    (:func:`~ganprior.benchmark.protocol.warmup_fraction`)."""
    return warmup_fraction({**beyond_defaults(method, cfg, G), **validated_options(method, m, state, explicit=True)},
                           cfg["steps"])


def solve_rows(method, m, state, search, y, A, G, cfg, precision, image_shape):
    """Solve the test problems ``y`` of ``(method, m)`` as its rows are solved: the value, lam and options of its
    saved ``search`` (:func:`row_search` of ``state``; every choice given, :func:`chosen_options` with
    ``explicit``), ``auto`` among its candidates' validated options.  The one place a test row's solve is made (the
    grid and ``--verify``).

    Parameters
    ----------
    method : str
        The method.
    m : int
        Measurements.
    state : dict
        selection.json.
    search : dict
        The row's search (:func:`ganprior.benchmark.store.row_search`).
    y : torch.Tensor
        Measurements ``(N, m)``.
    A : ganprior.operators.Operator
        The operator.
    G : ganprior.Generator
        The run's prior.
    cfg : dict
        The run's configuration.
    precision : str
        The solves' precision.
    image_shape : tuple of int
        ``(C, H, W)``.

    Returns
    -------
    torch.Tensor
        The recovered images.
    """
    if search is None:
        raise ValueError(f"no saved search for {method} at m = {m}: its rows cannot be solved as they were")
    cands = ({k: validated_options(k, m, state, explicit=True) for k in auto_candidate_methods(cfg)}
             if method == "auto" else None)
    return run_method(method, y, A, G, cfg, search["chosen"], precision, image_shape, lam=search.get("lam"),
                      candidates=cands, chosen=chosen_options(search, explicit=True))


def verify_rows(out, methods, ms, x_test, G, cfg, precision, image_shape, k):
    """Solve the first ``k`` test images of every ``(method, m)`` with rows in ``out`` again (one batch, as the
    grid's first chunk when ``k`` is its ``--chunk``) with :func:`solve_rows`, and compare their MSE with
    per_image.csv as written (6 significant digits).  Returns one dict per (method, m): ``identical`` (how many
    of the ``k`` rows), the old and new means, the largest relative difference of a row and ``status``
    (``"checked"``, ``"stale"`` where a row is not of the saved search's value, ``"missing"`` where one of the ``k``
    images has no row).  Solves nothing new into
    ``out``; bitwise agreement needs the thread count and chunk the rows were solved with (metadata.json).

    Parameters
    ----------
    out : pathlib.Path
        The results folder.
    methods : list of str or None
        The methods checked (default: every method with rows).
    ms : list of int
        The m checked.
    x_test : torch.Tensor
        The test images.
    G : ganprior.Generator
        The run's prior.
    cfg : dict
        The run's configuration (with its priors attached).
    precision : str
        The solves' precision.
    image_shape : tuple of int
        ``(C, H, W)``.
    k : int
        The first ``k`` test images are solved again.

    Returns
    -------
    list of dict
    """
    state = load_selection(out)
    candidates = auto_candidate_methods(cfg)
    rows = read_rows(out / "per_image.csv")
    methods = methods or list(dict.fromkeys(r["method"] for r in rows))
    by_key = {(r["method"], int(r["m"]), int(r["image"])): r for r in rows}
    report = []
    for m in ms:
        A = y = None
        for method in methods:
            have = [by_key.get((method, m, i)) for i in range(k)]
            if not any(have):
                continue
            entry = dict(method=method, m=m, n=k, identical=0, old_mean=float("nan"), new_mean=float("nan"),
                         max_rel_diff=float("nan"))
            search = row_search(state, method, m, cfg["auto_selection"], candidates)
            if None in have:
                report.append(dict(entry, status="missing"))
                continue
            if search is None or not all(is_current(r, search) for r in have):
                report.append(dict(entry, status="stale"))
                continue
            if A is None:
                A, y = measure(x_test, m, cfg["noise"], seed=0)
            x_hat = solve_rows(method, m, state, search, y[:k], A, G, cfg, precision, image_shape)
            new = [f"{float(e):.6g}" for e in ganprior.metrics.mse(x_hat, x_test[:k])]
            old = [r["mse"] for r in have]
            a, b = np.array([float(v) for v in old]), np.array([float(v) for v in new])
            report.append(dict(entry, status="checked", identical=sum(u == v for u, v in zip(old, new)),
                               old_mean=float(a.mean()), new_mean=float(b.mean()),
                               max_rel_diff=float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-30)))))
            r = report[-1]
            print(f"verify {method:>14} m={m:>5}: {r['identical']}/{k} identical (largest relative difference "
                  f"{r['max_rel_diff']:.2g}), mean {r['old_mean']:.6g} (rows) vs {r['new_mean']:.6g} (now)",
                  flush=True)
    return report
