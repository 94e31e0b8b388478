"""Does the z-only warm-up of the methods beyond the range need choosing per m?

ILO and Sparse-Gen start with a warm-up on z alone (CSGM) before their second variable moves: ILO's
intermediate activation h, Sparse-Gen's nu.  ``warmup`` (steps) defaults to half of the steps.  The error-vs-m
benchmark searched the other hyperparameters per m (lam, alpha, the radius, ILO's cut) and ran every warm-up at
that default (it chooses the warm-up too since, WARMUP_CHOICES, from what this study showed).  This study measures
what the default leaves: for each ``--methods`` entry and each m, the method is solved
again on the benchmark's own validation images (same operator, noise, seed and engine settings as its search) at
the options that search chose (``selection.json`` of ``--results``: lam, alpha / radius, cut, prior), with the
warm-up set to each ``--fractions`` entry times the steps, and at the default (solved again rather than read from
``validation.csv``: a search made by an earlier ganprior differs from today's solve in single images, as
non-convex solves do under small numerical changes; the summary lists the search's mean beside it).

Writes into ``--out``: ``per_image.csv`` (method, m, warmup, image, mse; appended as each solve ends, so a killed
run resumes where it stopped), ``summary.csv`` (mean MSE with its 95% CI, and the paired difference to the default
with its 95% CI and standard error, per method, m and warm-up), ``warmup.png`` and ``metadata.json``.  The committed
run::

    python benchmarks/studies/warmup_study.py --results benchmarks/results/mnist --threads 1 \\
        --out benchmarks/results/warmup_study
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for _common
from _common import mean_ci  # noqa: E402
from ganprior.benchmark import PROTOCOLS, preset  # noqa: E402
PRESETS = {name: preset(name) for name in PROTOCOLS}  # the protocols as the study reads them
from ganprior.benchmark.store import chosen_prior  # noqa: E402
from ganprior.benchmark import default_data_root, load_selection, measure, validation_images  # noqa: E402
from ganprior.benchmark.search import solve_options  # noqa: E402

import ganprior  # noqa: E402

FIELDS = ["method", "m", "warmup", "image", "mse"]


def default_errors(results, method, m, rec, val_ids):
    """The search's per-image validation errors at its chosen value (the default warm-up), from validation.csv."""
    name, value = rec["hyperparameter"], rec["chosen"]
    errs = {}
    with open(Path(results) / "validation.csv") as f:
        for r in csv.DictReader(f):
            if r["method"] == method and int(r["m"]) == m and r["hyperparameter"] == name \
                    and math.isclose(float(r["value"]), float(value), rel_tol=1e-5):  # written with %g
                errs[int(r["image"])] = float(r["mse"])
    if sorted(errs) != sorted(val_ids):
        raise SystemExit(f"{results}/validation.csv: the {method} m={m} search's errors at {name} = {value} do not "
                         f"cover its {len(val_ids)} validation images")
    return [errs[i] for i in val_ids]


def read_done(path):
    """{(method, m, warmup): [mse per image]} of per_image.csv (a torn last line is dropped)."""
    done = {}
    if path.exists():
        with open(path) as f:
            for r in csv.DictReader(f):
                try:
                    done.setdefault((r["method"], int(r["m"]), int(r["warmup"])), []).append(float(r["mse"]))
                except (TypeError, ValueError):
                    continue
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results/mnist"),
                        help="an error-vs-m results folder (its selection.json, validation.csv, metadata.json)")
    parser.add_argument("--methods", nargs="+", default=["ilo", "sparse-gen"], choices=["ilo", "sparse-gen"])
    parser.add_argument("--m", type=int, nargs="+", default=None, help="default: every m the results searched")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.25, 0.75],
                        help="warm-ups to try, as fractions of the steps (the default, 0.5, is the search's own)")
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    bad = [f for f in args.fractions if not 0.0 <= f < 1.0]
    if bad:
        parser.error(f"argument --fractions: expected fractions in [0, 1), got {bad}")
    meta_in = json.loads((args.results / "metadata.json").read_text())
    dataset = meta_in["dataset"]
    cfg = PRESETS[dataset]
    state = load_selection(args.results)
    ms = args.m or sorted({rec["m"] for rec in state.values() if rec["method"] in args.methods})
    missing = [f"{k} m={m}" for k in args.methods for m in ms if f"{k} m={m}" not in state]
    if missing:
        parser.error(f"argument --m: {args.results}/selection.json has no search for {', '.join(missing)}")
    torch.set_num_threads(args.threads)
    start = time.time()
    steps = cfg["steps"]
    engine = dict(restarts=cfg["restarts"], steps=steps, lr=cfg["lr"], seed=0, precision=meta_in["csgm"]["precision"],
                  schedule=meta_in["csgm"]["schedule"])
    default = steps // 2
    warmups = sorted({int(round(f * steps)) for f in args.fractions} | {default})
    args.out.mkdir(parents=True, exist_ok=True)
    per_image = args.out / "per_image.csv"
    done = read_done(per_image)
    if not per_image.exists():
        with open(per_image, "w", newline="") as f:
            csv.DictWriter(f, FIELDS, lineterminator="\n").writeheader()
    priors, data = {}, {}
    summary, resumed = [], 0
    for m in ms:
        for method in args.methods:
            rec = state[f"{method} m={m}"]
            val_ids = rec["val_images"]
            if tuple(val_ids) not in data:
                x, ids = validation_images(dataset, len(val_ids), args.data_root or default_data_root())
                if list(ids) != val_ids:
                    raise SystemExit(f"the validation images of {dataset} are not the search's ({method} m={m})")
                data[tuple(val_ids)] = x
            x = data[tuple(val_ids)]
            prior = chosen_prior(state, m) or meta_in["prior"]
            G = priors.setdefault(prior, ganprior.load_prior(prior))
            opts = solve_options(method, m, state, cfg, G)
            opts.pop("warmup", None)  # the study's own
            A, y = measure(x, m, cfg["noise"], seed=1)  # the search's operator and noise
            searched = float(np.mean(default_errors(args.results, method, m, rec, val_ids)))
            errs = {}
            for w in warmups:
                key = (method, m, w)
                if len(done.get(key, [])) == len(val_ids):
                    errs[w] = done[key]
                    resumed += 1
                    continue
                t = time.perf_counter()
                x_hat = ganprior.recover(y, A, G, method=method, **opts, warmup=w / steps, **engine)  # w steps
                errs[w] = [float(v) for v in ganprior.metrics.mse(x_hat, x)]
                with open(per_image, "a", newline="") as f:
                    csv.DictWriter(f, FIELDS, lineterminator="\n").writerows(
                        dict(method=method, m=m, warmup=w, image=i, mse=f"{v:.6g}") for i, v in zip(val_ids, errs[w]))
                print(f"{method} m={m} warmup={w}: {np.mean(errs[w]):.4g} (the search's {searched:.4g} at "
                      f"{default}) {time.perf_counter() - t:.0f} s", flush=True)
            base = np.array(errs[default])
            for w in sorted(errs):
                mean, ci = mean_ci(errs[w])
                d = np.array(errs[w]) - base
                dmean, dci = mean_ci(d)
                summary.append(dict(method=method, m=m, warmup=w, default=int(w == default), mse=f"{mean:.5g}",
                                    mse_ci95=f"{ci:.2g}", diff_vs_default=f"{dmean:.3g}", diff_ci95=f"{dci:.2g}",
                                    diff_se=f"{d.std(ddof=1) / np.sqrt(len(d)):.2g}",
                                    searched_default=f"{searched:.5g}", options=json.dumps(opts, sort_keys=True),
                                    prior=prior))
    with open(args.out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(summary)
    plot(summary, args.methods, ms, steps, args.out / "warmup.png")
    meta = dict(command="python benchmarks/studies/warmup_study.py "
                + shlex.join(sys.argv[1:] if argv is None else argv),
                results=str(args.results), dataset=dataset, engine=engine, default_warmup=default,
                warmups=warmups, n_val=len(next(iter(data))), noise_norm=cfg["noise"], torch=torch.__version__,
                ganprior=ganprior.__version__, python=platform.python_version(), threads=args.threads,
                wall_time_s=round(time.time() - start, 1), solves_resumed_from_per_image_csv=resumed)
    (args.out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")


def plot(summary, methods, ms, steps, path):
    """Validation MSE relative to the default warm-up's, against m, one line per warm-up."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    fig, axes = plt.subplots(1, len(methods), figsize=(5.5 * len(methods), 3.8), squeeze=False)
    for ax, method in zip(axes[0], methods):
        rows = [r for r in summary if r["method"] == method]
        base = {r["m"]: float(r["mse"]) for r in rows if r["default"]}
        for w in sorted({r["warmup"] for r in rows}):
            mine = sorted((r["m"], float(r["mse"]) / base[r["m"]]) for r in rows if r["warmup"] == w)
            ax.plot([a for a, _ in mine], [b for _, b in mine], "o-" if w != steps // 2 else "k--",
                    label=f"warm-up {w} of {steps}" + (" (default)" if w == steps // 2 else ""))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sorted(ms))
        ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(ticker.FormatStrFormatter("%g"))
        ax.set_xlabel("m")
        ax.set_ylabel("validation MSE / default's")
        ax.set_title(method)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
