"""The error-vs-m grid: every (method, m) searched on validation images, then solved on the test images, resumable.

:func:`run_grid` is the loop of ``benchmarks/error_vs_measurements.py`` and of ``ganprior benchmark``: for each m
and method, the search (:func:`ganprior.benchmark.search.choose`, reused from selection.json when done), the stale
rows dropped, the missing rows solved chunk by chunk and appended, then the report and metadata.json.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import ganprior

from .protocol import BEYOND, DENSE_LIMIT, OWN_BEST_RULE, SEARCH, WARMUP_RULE, auto_candidate_methods, auto_rule
from .protocol import hyperparameter_grid, measure, operator_name, warmup_candidates
from .report import write_report
from .search import choose, solve_rows
from .store import (FIELDS, append_rows, check_fingerprints, chosen_options, drop_stale_rows, is_current,
                    load_selection, prior_fingerprints, read_rows, replace_text, row_label, row_search,
                    save_selection, selection_lines, validated_options)

__all__ = ["attach_priors", "run_grid"]


def attach_priors(cfg, G, names=(), out=None):
    """Give the run's configuration its priors and their fingerprints, and check them against ``out``'s rows.

    Parameters
    ----------
    cfg : dict
        The run's configuration (:meth:`ganprior.benchmark.Protocol.config`); gains ``prior_models`` (CSGM's
        candidate priors, ``{name: Generator}``, the first ``G``; empty without a choice), ``fingerprints`` and
        ``own_prior``.
    G : ganprior.Generator
        The run's prior.
    names : sequence of str
        The priors CSGM's search chooses among (the first is ``G``'s name); empty: no choice.
    out : str or os.PathLike, optional
        The results folder: its metadata.json's fingerprints must match these.

    Returns
    -------
    dict
        ``out``'s metadata.json as it was (empty if none).

    Raises
    ------
    ValueError
        If a prior named in both has other weights here than the rows of ``out`` were solved with.
    """
    names = list(names)
    cfg["prior_models"] = {names[0]: G, **{p: ganprior.load_prior(p) for p in names[1:]}} if names else {}
    fingerprints = prior_fingerprints(cfg["prior_models"] or {getattr(G, "name", None) or "prior": G})
    cfg["fingerprints"], cfg["own_prior"] = fingerprints, (names[0] if names else getattr(G, "name", None) or "prior")
    meta_path = Path(out) / "metadata.json" if out is not None else None
    prev = json.loads(meta_path.read_text()) if meta_path is not None and meta_path.exists() else {}
    check_fingerprints(fingerprints, prev.get("priors_sha256"), out)
    return prev


def run_grid(out, cfg, G, x_test, validation, *, methods, ms, precision, dataset, n_val, chunk=50,
             validation_only=False, summary_only=False, title="", command="", threads=None, prev=None, start=None,
             val_source="the training split"):
    """Search, solve and report every ``(method, m)`` into ``out``, resuming from the rows and searches there.

    Parameters
    ----------
    out : str or os.PathLike
        The results folder (created when missing).
    cfg : dict
        The run's configuration, with its priors attached (:func:`attach_priors`), ``chunk`` and ``schedule``.
    G : ganprior.Generator
        The run's prior.
    x_test : torch.Tensor
        The test images ``(N, C, H, W)`` in [0, 1].
    validation : callable
        ``validation() -> (x_val, val_ids)``: the validation images and their ids, called only when a search may
        be needed (not with ``summary_only``).
    methods : list of str
        The methods to run.
    ms : list of int
        The numbers of measurements.
    precision : str
        The solves' precision (``"fp32"`` or ``"bf16"``).
    dataset : str
        The dataset's name (progress bar and metadata.json).
    n_val : int
        The number of validation images (metadata.json).
    chunk : int
        Test images per batch and per append.
    validation_only : bool
        Run the searches only, no test images.
    summary_only : bool
        Solve nothing: summarise the rows in per_image.csv.
    title : str
        The error plot's title.
    command : str
        The command line, recorded in metadata.json's ``commands``.
    threads : int, optional
        Recorded in metadata.json.
    prev : dict, optional
        ``out``'s metadata.json before this run (:func:`attach_priors`).
    start : float, optional
        ``time.time()`` at the start of the run (default: now).
    val_source : str
        Where the validation images come from (metadata.json: "the last ``n_val`` images of ...").

    Returns
    -------
    list of dict or dict
        The summary rows (:func:`ganprior.benchmark.report.summarise`); with ``validation_only``, the searches
        (selection.json).
    """
    start = time.time() if start is None else start
    prev = prev or {}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    per_image = out / "per_image.csv"
    candidates = auto_candidate_methods(cfg)
    done = set()
    if per_image.exists():
        saved = load_selection(out)
        rows = read_rows(per_image)
        searches = {key: row_search(saved, *key, cfg["auto_selection"], candidates)
                    for key in {(r["method"], int(r["m"])) for r in rows}}  # once per (method, m), not per row
        done = {(r["method"], int(r["m"]), int(r["image"])) for r in rows
                if is_current(r, searches[(r["method"], int(r["m"]))])}
    elif not validation_only:
        replace_text(per_image, ",".join(FIELDS) + "\n")
    A_all, y_all = {}, {}
    image_shape = tuple(x_test.shape[1:])
    # every (method, m) is checked, not only those with rows missing now: a search redone for another method (CSGM
    # choosing another prior) makes the current rows of a later method stale (their prior and lam)
    todo = [] if summary_only else [(meth, m) for m in ms for meth in methods]
    if todo:
        x_val, val_ids = validation()
    from tqdm.auto import tqdm

    # the rows missing now; a search made below can make more rows stale, and the total grows as it does
    missing = {(meth, m): sum((meth, m, i) not in done for i in range(len(x_test))) for meth, m in todo}
    bar = tqdm(total=0 if validation_only else sum(missing.values()), desc=f"{dataset} images",
               unit="img", file=sys.stdout, mininterval=10)
    for method, m in todo:
        name, value, lam = choose(method, m, x_val, val_ids, G, cfg, precision, image_shape, out)
        if validation_only:
            print(selection_lines({0: load_selection(out)[f"{method} m={m}"]}, methods)[0], flush=True)
            continue
        state = load_selection(out)
        search = row_search(state, method, m, cfg["auto_selection"], candidates)
        chosen = chosen_options(search)  # the row's label
        kept = drop_stale_rows(per_image, method, m, search)
        done = {k for k in done if k[:2] != (method, m)} | kept  # rows chosen again count, whatever was thought
        idx = [i for i in range(len(x_test)) if (method, m, i) not in done]
        if len(idx) != missing[(method, m)]:
            bar.total += len(idx) - missing[(method, m)]
            bar.refresh()
        if not idx:
            continue
        if m not in A_all:
            A_all[m], y_all[m] = measure(x_test, m, cfg["noise"], seed=0)
        A, y = A_all[m], y_all[m]
        for c in range(0, len(idx), chunk):
            part = idx[c:c + chunk]
            t = time.perf_counter()
            x_hat = solve_rows(method, m, state, search, y[part], A, G, cfg, precision, image_shape)
            sec = (time.perf_counter() - t) / len(part)
            mse = ganprior.metrics.mse(x_hat, x_test[part])
            psnr = ganprior.metrics.psnr(x_hat, x_test[part])
            label, text = row_label(name, value, lam, chosen, search.get("fixed"))
            append_rows(per_image, [dict(method=method, m=m, image=i, mse=f"{float(mse[j]):.6g}",
                                         psnr=f"{float(psnr[j]):.4f}", seconds=f"{sec:.4g}",
                                         operator=operator_name(m, x_test[0].numel()),
                                         hyperparameter=label, value=text) for j, i in enumerate(part)])
            bar.update(len(part))
    bar.close()
    state = load_selection(out)
    if state:  # selection.log from selection.json (also after merging the searches of several folders)
        save_selection(out, state, cfg["methods"])
    if validation_only:
        return state

    rows = [r for r in read_rows(per_image) if r["method"] in methods and int(r["m"]) in ms]
    order = [k for k in cfg["methods"] if k in methods] + [k for k in methods if k not in cfg["methods"]]
    summary, sav = write_report(out, rows, order, title=title, targets=cfg.get("savings_targets"))
    searches = [dict(method=r["method"], m=r["m"], hyperparameter=r["hyperparameter"], n_val=r["n_val"],
                     grid=r["grid"], tried=r["tried"], chosen=r["chosen"], status=r["status"])
                for r in sorted(state.values(), key=lambda r: (r["method"], r["m"]))
                if r["method"] in methods and r["m"] in ms]
    meta = dict(command=command, dataset=dataset, n_test=len(x_test), n_val=n_val, methods=methods, m=ms,
                csgm=dict(restarts=cfg["restarts"], steps=cfg["steps"], lr=cfg["lr"], schedule=cfg["schedule"],
                          lam_grid=cfg["lams"], precision=precision, select="fit",
                          **({"priors": list(cfg["prior_models"])} if cfg["prior_models"] else {})),
                alpha_grids={k: cfg["alphas"][k] for k in methods if k in cfg["alphas"]}, noise_norm=cfg["noise"],
                beyond={k: dict(hyperparameter=BEYOND[k]["name"], grid=hyperparameter_grid(k, cfg)[1],
                                fixed=cfg["beyond_fixed"].get(k, {}), lam="CSGM's choice at the same m",
                                **({"chosen_first": cfg["beyond_choices"][k]} if k in cfg["beyond_choices"] else {}),
                                **({"chosen_at_own_best": dict(options=cfg["own_best"][k], rule=OWN_BEST_RULE)}
                                   if cfg["own_best"].get(k) else {}),
                                **({"warmup_chosen_last": dict(fractions=cfg["warmup_choices"][k], rule=WARMUP_RULE,
                                                               **dict(zip(("steps", "default"),
                                                                          warmup_candidates(cfg, k))))}
                                   if cfg["warmup_choices"].get(k) else {}))
                        for k in methods if k in BEYOND},
                auto=({str(m): {k: validated_options(k, m, state) for k in candidates
                                if f"{k} m={m}" in state} for m in ms}
                      if "auto" in methods else None),
                auto_selection=({str(m): auto_rule(m, cfg["auto_selection"]) for m in ms}
                                if "auto" in methods else None),
                validation=dict(images=f"the last {n_val} images of {val_source}", n_val=n_val,
                                widening=SEARCH, open_edges=sum(r["status"] == "limit" for r in searches),
                                searches=searches),
                operator=f"gaussian N(0,1/m) while m*n <= {DENSE_LIMIT:g}, else subsampled-dct; one per m, "
                         "seed 0*100003+m (test), 1*100003+m (validation)",
                prior=getattr(G, "name", None), torch=torch.__version__, numpy=np.__version__,
                ganprior=ganprior.__version__, python=platform.python_version(), machine=platform.machine(),
                device="cpu", threads=threads, wall_time_s=round(time.time() - start, 1), savings=sav)
    meta["priors_sha256"] = {**prev.get("priors_sha256", {}), **cfg["fingerprints"]}
    # a resumed or extended run keeps the history of the commands that filled per_image.csv
    meta["commands"] = prev.get("commands", [prev["command"]] if "command" in prev else []) + [meta["command"]]
    meta["wall_time_total_s"] = round(prev.get("wall_time_total_s", prev.get("wall_time_s", 0.0)) + meta["wall_time_s"], 1)
    (out / "metadata.json").write_text(json.dumps(meta, indent=2, default=float) + "\n")
    for r in summary:
        print(f"{r['method']:>14} m={r['m']:>5}  mse={r['mean']:.4f} +- {r['ci95']:.4f}  psnr={r['psnr_mean']:.2f}")
    return summary
