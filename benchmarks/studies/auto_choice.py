"""How ``method="auto"`` should choose across a batch: per problem, one shared choice, or adaptive.

``recover(..., method="auto")`` solves every candidate method on 90% of the measurement rows and scores it on
the 10% held out (Ward 2009), or with ``cv_folds=K`` once per fold, every row held out by one fold; it then
chooses per problem (``choice="per-problem"``), one method for the batch
(``"shared"``: the held-out errors summed over its problems), or the shared method unless a problem's own rows
show its own best better by a one-sided paired t-test at 5% (``"adaptive"``,
:func:`ganprior.solvers.selection.choose_candidates`).  At small m a problem has 1-10 held-out rows, and a
per-problem choice from them is noisy; the rows are also those of the one operator shared by the batch, so
pooling problems averages their errors along the same few directions.  This benchmark measures what each rule
costs with one split (``--cv split``) and with K folds (``--cv K``: all m rows scored, K times the solves).

Protocol: the error-vs-m benchmark's problems exactly (``benchmarks/error_vs_measurements.py``: its test images,
operator, noise and engine settings per m, its chunks of ``--chunk`` problems as one batch), and its auto row's
candidates: every method with the value its validation search chose at that m (``selection.json`` of
``--results``), with the prior CSGM's search chose at that m.  The held-out errors of every candidate on every
held-out row are computed once per (m, chunk, cross-validation)
(:func:`ganprior.solvers.selection.holdout_errors`, the same solves ``recover`` makes) and saved (``errors_m*.pt``,
written atomically: a rerun resumes); each rule then picks per problem, and a problem's error is the test MSE
of the picked method's row in the benchmark's ``per_image.csv`` -- the refit on all rows that ``recover`` makes
(same operator, noise, value and seed; a latent method's restarts may start elsewhere in a smaller batch, so
this is the refit up to restart noise).  The committed auto row (its rule in its label) is listed beside them.

Writes ``summary.csv`` / ``summary.md`` (per m, cross-validation and rule: mean MSE with 95% CI, the best single
method and the paired difference to it with its 95% CI and the verdict -- better, within or worse -- how many
problems left the shared choice) and ``metadata.json``.
Usage (the committed run)::

    python benchmarks/studies/auto_choice.py --dataset mnist --m 10 25 50 100 200 300 400 500 750 --cv split 5 \\
        --folds-at 10 25 --threads 1 --out benchmarks/results/mnist/auto_choice

(the held-out errors were computed by one process per m -- the same command with one ``--m`` -- and this command
then read them all back).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import ganprior
from ganprior.data import load_sample
from ganprior.solvers.selection import auto_candidates, choose_candidates, holdout_errors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for _common
from _common import command_line, mean_ci, write_csv  # noqa: E402
from ganprior.benchmark import PROTOCOLS, preset  # noqa: E402
from ganprior.benchmark import load_selection, measure  # noqa: E402
from ganprior.benchmark.protocol import auto_candidate_methods  # noqa: E402
from ganprior.benchmark.search import solve_options  # noqa: E402
from ganprior.benchmark.store import chosen_prior  # noqa: E402

PRESETS = {name: preset(name) for name in PROTOCOLS}  # the protocols as the study reads them
BEYOND_FIXED = {name: p.beyond_fixed for name, p in PROTOCOLS.items()}

RULES = ("per-problem", "shared", "adaptive")


def test_mse(results):
    """{(method, m): {image: mse}} from the benchmark's per_image.csv, and {m: the rule of its auto rows} (their
    ``value``, e.g. ``cv (adaptive, 5-fold)``)."""
    out, rules = {}, {}
    with open(Path(results) / "per_image.csv") as f:
        for r in csv.DictReader(f):
            out.setdefault((r["method"], int(r["m"])), {})[int(r["image"])] = float(r["mse"])
            if r["method"] == "auto":
                rules[int(r["m"])] = r["value"]
    return out, rules


def cv_arg(text):
    """``"split"`` or a number of folds (an int >= 2)."""
    if text == "split":
        return text
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 2:
        raise argparse.ArgumentTypeError(f"expected 'split' or a number of folds >= 2, got {text!r}")
    return k


def held_out(path, compute):
    """The saved held-out errors at ``path``, else ``compute()`` saved atomically (a temporary file, a rename)."""
    if path.exists():
        return torch.load(path)
    errors = compute()
    tmp = path.with_name(path.name + ".tmp")
    torch.save(errors, tmp)
    os.replace(tmp, path)
    return errors


def verdict(diff, ci):
    """``better`` / ``within`` / ``worse``: a paired difference to the best single method against its 95% CI."""
    return "better" if diff + ci < 0 else ("within" if diff - ci <= 0 else "worse")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(PRESETS), default="mnist")
    parser.add_argument("--m", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    parser.add_argument("--n-images", type=int, default=None, help="test images (default: the benchmark's)")
    parser.add_argument("--chunk", type=int, default=100, help="problems per batch, as the benchmark ran them")
    parser.add_argument("--cv", nargs="+", default=["split"], type=cv_arg,
                        help="'split' (one 10%% held-out split, recover's default) and / or a number of folds K >= 2")
    parser.add_argument("--folds-at", type=int, nargs="+", default=None,
                        help="the m at which the K-fold entries of --cv run (default: every m)")
    parser.add_argument("--results", default=None, help="the benchmark's folder (default benchmarks/results/<dataset>)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = PRESETS[args.dataset]
    results = Path(args.results or f"benchmarks/results/{args.dataset}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state, (mse, rules) = load_selection(results), test_mse(results)
    names = auto_candidate_methods(cfg)
    x = load_sample(cfg["sample"])[: args.n_images or cfg["n_test"]]
    priors = {}
    engine = dict(restarts=cfg["restarts"], steps=cfg["steps"], lr=cfg["lr"], precision="bf16", schedule="cosine",
                  row_chunk=args.chunk * cfg["restarts"])
    start = time.time()
    rows, summary = [], []
    for m in args.m:
        missing = [k for k in names if f"{k} m={m}" not in state or (k, m) not in mse]
        if missing:
            raise SystemExit(f"{results} lacks the searches or test rows of {missing} at m={m}: run "
                             f"benchmarks/error_vs_measurements.py for them first")
        prior = chosen_prior(state, m) or cfg["prior"]  # the prior of every latent candidate at m
        if prior not in priors:
            priors[prior] = ganprior.load_prior(prior)
        G = priors[prior]
        given = {k: solve_options(k, m, state, cfg, G) for k in names}
        checked = auto_candidates(given, G, tuple(x.shape[1:]))
        labels = [label for label, _, _ in checked]
        cands = [(n, opts) for _, n, opts in checked]
        A, y = measure(x, m, cfg["noise"], seed=0)
        table = np.array([[mse[(k, m)][i] for k in labels] for i in range(len(x))])  # (P, candidates)
        best = int(table.mean(axis=0).argmin())
        for cv in args.cv:
            if cv != "split" and args.folds_at is not None and m not in args.folds_at:
                continue
            errors = []
            for c in range(0, len(x), args.chunk):
                part = slice(c, min(len(x), c + args.chunk))
                name = f"errors_m{m}_{c}.pt" if cv == "split" else f"errors_m{m}_{c}_{cv}fold.pt"
                errors.append(held_out(out / name, lambda: holdout_errors(
                    ganprior.recover, y[part], A, G, cands, cv_fraction=0.1, cv_folds=None if cv == "split" else cv,
                    seed=0, kwargs=engine)))
                print(f"m={m} cv={cv} problems {part.start}-{part.stop - 1}: held-out errors ready", flush=True)
            how = "10% split" if cv == "split" else f"{cv}-fold"
            shared = torch.cat([choose_candidates(e, "shared") for e in errors]).numpy()
            for rule in RULES:
                pick = torch.cat([choose_candidates(e, rule) for e in errors]).numpy()
                got = table[np.arange(len(x)), pick]
                diff = got - table[:, best]
                rows += [dict(m=m, cv=how, rule=rule, image=i, method=labels[pick[i]], mse=f"{got[i]:.6g}")
                         for i in range(len(x))]
                mean, ci = mean_ci(got)
                dmean, dci = mean_ci(diff)
                summary.append(dict(m=m, cv=how, rule=rule, mse=f"{mean:.5g}", ci95=f"{ci:.2g}",
                                    best_single=labels[best], best_mse=f"{table[:, best].mean():.5g}",
                                    diff_vs_best=f"{dmean:.3g}", diff_ci95=f"{dci:.2g}",
                                    verdict=verdict(dmean, dci), left_shared=int((pick != shared).sum()),
                                    chosen=" ".join(f"{labels[k]}:{int((pick == k).sum())}"
                                                    for k in range(len(labels)) if (pick == k).any())))
        auto = mse.get(("auto", m))
        if auto:
            got = np.array([auto[i] for i in range(len(x))])
            (mean, ci), (dmean, dci) = mean_ci(got), mean_ci(got - table[:, best])
            summary.append(dict(m=m, cv="", rule=f"committed auto row: {rules[m]}", mse=f"{mean:.5g}",
                                ci95=f"{ci:.2g}",
                                best_single=labels[best], best_mse=f"{table[:, best].mean():.5g}",
                                diff_vs_best=f"{dmean:.3g}", diff_ci95=f"{dci:.2g}", verdict=verdict(dmean, dci),
                                left_shared="", chosen=""))
    write_csv(out / "per_image.csv", rows)
    write_csv(out / "summary.csv", summary)
    head = list(summary[0])
    (out / "summary.md").write_text("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n"
                                    + "".join("| " + " | ".join(str(r[k]) for k in head) + " |\n" for r in summary))
    meta = dict(command=command_line("studies/auto_choice.py", argv), results=str(results), dataset=args.dataset,
                n_images=len(x), chunk=args.chunk, cv=args.cv, folds_at=args.folds_at, engine=engine,
                beyond_fixed=BEYOND_FIXED.get(args.dataset, {}),
                torch=torch.__version__, ganprior=ganprior.__version__, python=platform.python_version(),
                threads=args.threads, wall_time_s=round(time.time() - start, 1))
    (out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    print((out / "summary.md").read_text())


if __name__ == "__main__":
    main()
