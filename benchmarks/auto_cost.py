"""What ``method="auto"`` costs against one solve, and what it gives, on the error-vs-m benchmark's own problems.

For each (dataset, m): the benchmark's test images, operator, noise and settings
(``error_vs_measurements.py``: ``measure`` with seed 0, its PRESETS, the validated options of its committed
``selection.json``, the prior CSGM's validation chose at m), solved here with one thread:

- ``best single``: the row of the best single method at m (lowest committed mean), as the benchmark solves it
  (``solve_rows``: same prior and options);
- ``recipe``: plain ``ganprior.recover(y, A, <preset's prior>, seed=0)``, the prior's recipe (its method and prior
  columns: what the recipe ran at m, e.g. ILO with mnist-vae at m = 25 for the MNIST family);
- ``auto``: the benchmark's auto row (``run_method("auto", ...)`` with its candidates, options and prior), today's
  algorithm (successive halving over the folds, held-out fits with half of the restarts);
- ``auto (one-line)`` (``--variants one-line``): plain ``ganprior.recover(y, A, <preset's prior>, method="auto",
  seed=0)``, what a user gets: the recipe's method at m is the incumbent (kept unless a candidate beats it on the
  held-out rows; the candidates not ahead of it leave after the first fold) and, with K folds, the held-out fits run
  half of the steps (``ganprior.solvers.selection.shared_choice``, ``holdout_steps``);
- ``auto (one-line, no incumbent)`` (``--variants one-line-equal``): the same call with every candidate as an equal
  (no incumbent, held-out fits at the refit's steps): the one-line call before the incumbent;
- ``auto (held-out restarts R/4)``: the same with a quarter of the restarts in the held-out fits instead of half;
- ``auto (halving only)``: the same with the held-out fits at the full restarts (are fewer restarts a loss?);
- ``auto (every fold, full restarts)``: the algorithm before (every candidate on every fold, full restarts),
  timed on the same machine.

Before any timed row, one small solve of each kind (a latent one, a Lasso) imports and builds what every row
needs, so that no row is charged the process's first-call costs (scikit-learn's import alone is about 3 s).
Each row: wall seconds and the process's CPU seconds (one thread: the same on an idle machine; on a shared one the
CPU seconds are what the solve cost), mean per-pixel MSE with its 95% CI, the paired difference to the committed ``auto`` rows
of the same images (``per_image.csv``) with its 95% CI, and for auto the held-out solves, the candidates dropped
(after which fold) and the choices.  ``auto_cost_<dataset>.csv`` is rewritten after every row (a run writes its
partial results as it goes), ``auto_cost_<dataset>.png`` at the end.

Commands (the committed results)::

    python benchmarks/auto_cost.py --dataset mnist --m 25 100 --n-images 100 --threads 1 \
        --variants new quarter "halving only" --out benchmarks/results/auto_cost
    python benchmarks/auto_cost.py --dataset mnist --m 25 100 --n-images 100 --threads 1 \
        --variants one-line one-line-equal new --out benchmarks/results/auto_cost/<cpu>
    python benchmarks/auto_cost.py --dataset celeba --m 500 --n-images 16 --threads 1 --variants new \
        --out benchmarks/results/auto_cost
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from _common import command_line, hardware_text, mean_ci

import ganprior
from ganprior.priors.recipes import recipe_choice
from ganprior.solvers import selection

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import error_vs_measurements as E  # noqa: E402

FIELDS = ["dataset", "m", "n", "row", "method", "prior", "wall_s", "cpu_s", "mse", "mse_ci95", "committed_auto",
          "committed_auto_ci95", "diff_to_committed_auto", "diff_ci95", "within_committed_ci", "x_best_single",
          "x_recipe", "cpu_x_best_single", "cpu_x_recipe", "held_out_solves", "dropped", "held_out_restarts", "chosen", "precision", "cpu", "threads"]
CHUNK = {"mnist": 100, "celeba": 16}  # the --chunk the committed rows were solved with (metadata.json)


def committed(folder, method, m, n):
    """Per-image MSE of the committed rows of (method, m) for images 0 .. n-1."""
    rows = {int(r["image"]): float(r["mse"]) for r in csv.DictReader(open(folder / "per_image.csv"))
            if r["method"] == method and int(r["m"]) == m}
    return np.array([rows[i] for i in range(n)])


def best_single(folder, m):
    """The method other than auto with the lowest committed mean at m."""
    means = {}
    for r in csv.DictReader(open(folder / "summary.csv")):
        if int(r["m"]) == m and r["method"] != "auto":
            means[r["method"]] = float(r["mean"])
    return min(means, key=means.get)


def run_auto(variant, solve):
    """``solve()`` with the auto algorithm ``variant``: "new", "halving only" (held-out fits at the full restarts)
    or "old" (every candidate on every fold, full restarts); returns (x, selection info)."""
    saved_level, saved_restarts = selection.HALVING_LEVEL, selection.holdout_restarts
    captured = {}
    original = selection.select_and_recover

    def capture(*a, **k):
        x, info = original(*a, **k)
        captured.update(info)
        return x, info

    try:
        if variant in ("halving only", "old"):
            selection.holdout_restarts = lambda r: r
        if variant == "quarter":
            selection.holdout_restarts = lambda r: max(1, -(-r // 4))
        if variant == "old":
            selection.HALVING_LEVEL = None
        selection.select_and_recover = capture
        return solve(), captured
    finally:
        selection.HALVING_LEVEL, selection.holdout_restarts = saved_level, saved_restarts
        selection.select_and_recover = original


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=["mnist", "celeba"], required=True)
    parser.add_argument("--m", type=int, nargs="+", required=True)
    parser.add_argument("--n-images", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", nargs="+", default=["new", "halving only", "old"])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    command = command_line("auto_cost.py", argv)
    folder = HERE / "results" / args.dataset
    state = E.load_selection(folder)
    cfg = E.preset(args.dataset)
    cfg["chunk"], cfg["schedule"] = CHUNK[args.dataset], "cosine"
    precision = ganprior.hardware.resolve_precision("auto", "cpu", owner="auto_cost")[0]
    G = ganprior.load_prior(cfg["prior"])
    names = E.PRIOR_CHOICES.get(args.dataset, [])
    cfg["prior_models"] = {names[0]: G, **{p: ganprior.load_prior(p) for p in names[1:]}} if names else {}
    x_all = ganprior.data.load_sample(cfg["sample"])[: cfg["n_test"]]
    x = x_all[: args.n_images]
    shape = tuple(x.shape[1:])
    hw = ganprior.hardware.hardware_info()
    out_csv = args.out / f"auto_cost_{args.dataset}.csv"
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []

    def save():
        E.write_csv(out_csv, FIELDS, rows)
        out_csv.write_text(f"# {command} -- {hardware_text(threads=args.threads)}\n" + out_csv.read_text())

    candidates = E.auto_candidate_methods(cfg)
    for m in args.m:
        A, y_all = E.measure(x_all, m, cfg["noise"], seed=0)
        y = y_all[: args.n_images]
        old_auto = committed(folder, "auto", m, args.n_images)
        ref_mean, ref_ci = mean_ci(old_auto)
        times, cpus = {}, {}

        def record(row, method, prior, wall, cpu, x_hat, info=None):
            errs = ganprior.metrics.mse(x_hat, x).double().numpy()
            mean, ci = mean_ci(errs)
            dmean, dci = mean_ci(errs - old_auto)
            info = info or {}
            entry = dict(dataset=args.dataset, m=m, n=args.n_images, row=row, method=method, prior=prior,
                         wall_s=f"{wall:.2f}", cpu_s=f"{cpu:.2f}", mse=f"{mean:.6g}", mse_ci95=f"{ci:.3g}", committed_auto=f"{ref_mean:.6g}",
                         committed_auto_ci95=f"{ref_ci:.3g}", diff_to_committed_auto=f"{dmean:.3g}",
                         diff_ci95=f"{dci:.3g}", within_committed_ci=abs(mean - ref_mean) <= ref_ci,
                         x_best_single=f"{wall / times['best']:.2f}" if "best" in times else "",
                         x_recipe=f"{wall / times['recipe']:.2f}" if "recipe" in times else "",
                         cpu_x_best_single=f"{cpu / cpus['best']:.2f}" if "best" in cpus else "",
                         cpu_x_recipe=f"{cpu / cpus['recipe']:.2f}" if "recipe" in cpus else "",
                         held_out_solves=info.get("held_out_solves", ""),
                         dropped="; ".join(f"{k} after fold {v['after_fold']} ({v['reason']} {v['behind']}"
                                           + (f", t = {v['t']:.1f} > {v['critical']:.1f})" if v["t"] is not None
                                              else ")")
                                           for k, v in info.get("halving", {}).get("dropped", {}).items()),
                         held_out_restarts="; ".join(f"{k}: {v}" for k, v in info.get("held_out_restarts", {}).items()),
                         chosen="; ".join(f"{k}: {v}" for k, v in Counter(info.get("chosen", [])).most_common()),
                         precision=precision, cpu=f"{hw['cpu']} ({hw['cpu_capability']})", threads=args.threads)
            rows.append(entry)
            save()
            print({k: entry[k] for k in ("m", "row", "wall_s", "mse", "diff_to_committed_auto", "diff_ci95",
                                         "x_best_single", "x_recipe", "dropped")}, flush=True)

        if m == args.m[0]:  # first-call costs (imports, builds) before any timed row
            ganprior.recover(y[:2], A, cfg["prior"], seed=0, steps=2)
            ganprior.recover(y[:2], A, method="lasso-dct", alpha=0.1, image_shape=shape)
        best = best_single(folder, m)
        search = E.row_search(state, best, m, cfg["auto_selection"], candidates)
        prior = E.chosen_prior(state, m) or cfg["prior"]
        t, c = time.perf_counter(), time.process_time()
        x_hat = E.solve_rows(best, m, state, search, y, A, G, cfg, precision, shape)
        times["best"], cpus["best"] = time.perf_counter() - t, time.process_time() - c
        record(f"best single ({best})", best, prior, times["best"], cpus["best"], x_hat)
        t, c = time.perf_counter(), time.process_time()
        res = ganprior.recover(y, A, cfg["prior"], seed=0, return_result=True)
        times["recipe"], cpus["recipe"] = time.perf_counter() - t, time.process_time() - c
        ran = res.info["settings"]  # what the recipe ran at this m (a family's recipe: its prior and method)
        record("recipe", ran.get("method", "csgm"), ran.get("prior", cfg["prior"]), times["recipe"], cpus["recipe"],
               res.x)
        search = E.row_search(state, "auto", m, cfg["auto_selection"], candidates)
        for variant in args.variants:
            if variant in ("one-line", "one-line-equal"):
                original = selection._select_and_recover
                if variant == "one-line-equal":
                    selection._select_and_recover = lambda *a, **k: original(*a, **{**k, "incumbent": None})
                t, c = time.perf_counter(), time.process_time()
                try:
                    res = ganprior.recover(y, A, cfg["prior"], method="auto", seed=0, return_result=True)
                finally:
                    selection._select_and_recover = original
                record("auto (one-line)" if variant == "one-line" else "auto (one-line, no incumbent)", "auto",
                       recipe_choice(cfg["prior"], m).get("prior", cfg["prior"]),
                       time.perf_counter() - t, time.process_time() - c, res.x, res.info["selection"])
                continue
            label = {"new": "auto", "halving only": "auto (halving only)",
                     "quarter": "auto (held-out restarts R/4)",
                     "old": "auto (every fold, full restarts)"}[variant]
            t, c = time.perf_counter(), time.process_time()
            x_hat, info = run_auto(variant, lambda: E.solve_rows("auto", m, state, search, y, A, G, cfg, precision,
                                                                 shape))
            record(label, "auto", prior, time.perf_counter() - t, time.process_time() - c, x_hat, info)
    plot(rows, args.out / f"auto_cost_{args.dataset}.png")


def plot(rows, path):
    """Wall seconds (left) and mean MSE with its 95% CI and the committed auto's CI (right) per (dataset, m)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys((r["dataset"], int(r["m"])) for r in rows))
    fig, axes = plt.subplots(len(groups), 2, figsize=(11, 2.6 * len(groups)), squeeze=False)
    for (ax_t, ax_e), (d, m) in zip(axes, groups):
        sub = [r for r in rows if r["dataset"] == d and int(r["m"]) == m]
        labels = [r["row"] for r in sub]
        pos = np.arange(len(sub))
        ax_t.barh(pos - 0.2, [float(r["wall_s"]) for r in sub], height=0.4, color="C0", label="wall")
        ax_t.barh(pos + 0.2, [float(r["cpu_s"]) for r in sub], height=0.4, color="C1", label="process CPU")
        ax_t.set(yticks=pos, yticklabels=labels, xlabel="seconds (1 thread)", title=f"{d}, m = {m}: cost")
        ax_t.legend(loc="lower right", fontsize=7)
        ax_t.invert_yaxis()
        ref, ci = float(sub[0]["committed_auto"]), float(sub[0]["committed_auto_ci95"])
        ax_e.axvspan(ref - ci, ref + ci, color="0.85", label="committed auto, 95% CI")
        ax_e.errorbar([float(r["mse"]) for r in sub], pos, xerr=[float(r["mse_ci95"]) for r in sub], fmt="o")
        ax_e.set(yticks=pos, yticklabels=[""] * len(sub), xlabel="mean per-pixel MSE (95% CI)",
                 title=f"{d}, m = {m}: error ({sub[0]['n']} images)")
        ax_e.invert_yaxis()
        ax_e.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
