"""What a user gets from the one-line call, on digits the benchmark never saw, against the committed rows.

On MNIST test digits the error-vs-m benchmark does not use (its test images are the first 300 of the test split;
here ``--start 1000`` onwards, ``--n`` of them), at each ``--m`` (Gaussian A ~ N(0, 1/m), ||eta|| = 0.1, seeded
as the benchmark seeds them), this runs ``recover(y, A, "mnist", seed=0)`` and, with ``--auto``,
``recover(y, A, "mnist", method="auto", seed=0)`` -- nothing else given -- and compares the mean per-pixel MSE
(with its 95% CI) with the committed row of the best single method at that m
(``benchmarks/results/mnist/summary.csv``; the rows are on other digits, so the comparison is of two means, each
with its CI: ``at_most_committed_ci`` says the one-line call's mean is at most the committed row's upper 95% bound,
i.e. inside its CI or below it).  Writes
``per_image.csv``, ``summary.csv`` (the CPU, its capability, native bf16 and the threads in its comment) and a
figure.  Usage (the committed run)::

    python benchmarks/one_line_call.py --n 300 --m 25 50 100 --auto --threads 1 --out benchmarks/results/one_line_call
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch
from _common import command_line, hardware_text, mean_ci, write_csv
from error_vs_measurements import default_data_root, measure

import ganprior
from ganprior.data import load_mnist

SUMMARY = Path(__file__).resolve().parent / "results" / "mnist" / "summary.csv"
SINGLE = ("csgm", "sparse-gen", "ilo", "lasso", "lasso-dct", "lasso-wavelet")


def committed_best(m):
    """The committed best single method's row at m: (method, mean, ci95)."""
    with open(SUMMARY) as f:
        rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#"))
                if int(r["m"]) == m and r["method"] in SINGLE]
    best = min(rows, key=lambda r: float(r["mean"]))
    return best["method"], float(best["mean"]), float(best["ci95"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--start", type=int, default=1000, help="first MNIST test index (the benchmark uses 0-299)")
    parser.add_argument("--m", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--auto", action="store_true", help="also method='auto'")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--out", default="benchmarks/results/one_line_call")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x = load_mnist((args.data_root or default_data_root()) / "mnist", split="test")[0][args.start:args.start + args.n]
    calls = {"recover(y, A, 'mnist')": {}} | ({"recover(y, A, 'mnist', method='auto')": {"method": "auto"}}
                                             if args.auto else {})
    per_image, summary = [], []
    for m in args.m:
        A, y = measure(x, m, 0.1, 0)
        best, best_mean, best_ci = committed_best(m)
        for label, kw in calls.items():
            start = time.perf_counter()
            res = ganprior.recover(y, A, "mnist", seed=0, return_result=True, **kw)
            sec = time.perf_counter() - start
            mse = ganprior.metrics.mse(res.x, x)
            ran = res.info.get("settings", {})
            for i, e in enumerate(mse.tolist()):
                per_image.append({"call": label, "m": m, "image": args.start + i, "mse": f"{e:.6g}"})
            mean, ci = mean_ci(mse.numpy())
            summary.append({"call": label, "m": m, "n": len(x), "prior": ran.get("prior", ""),
                            "method": ran.get("method", res.method), "mean": f"{mean:.5g}", "ci95": f"{ci:.2g}",
                            "seconds": round(sec, 1), "committed_best": best, "committed_mean": f"{best_mean:.5g}",
                            "committed_ci95": f"{best_ci:.2g}",
                            "at_most_committed_ci": mean <= best_mean + best_ci})
            print(summary[-1], flush=True)
            write_csv(out / "per_image.csv", per_image)
    write_csv(out / "summary.csv", summary,
              comment=f"{command_line('one_line_call.py', argv)}  | {hardware_text(threads=args.threads)}")
    _plot(summary, out / "summary.png")
    return summary


def _plot(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ms = sorted({r["m"] for r in summary})
    ref = {r["m"]: (float(r["committed_mean"]), float(r["committed_ci95"]), r["committed_best"]) for r in summary}
    ax.errorbar(ms, [ref[m][0] for m in ms], yerr=[ref[m][1] for m in ms], fmt="k--o", capsize=3,
                label="committed best single method (benchmark digits 0-299)")
    for label in dict.fromkeys(r["call"] for r in summary):
        rs = [r for r in summary if r["call"] == label]
        ax.errorbar([r["m"] for r in rs], [float(r["mean"]) for r in rs], yerr=[float(r["ci95"]) for r in rs],
                    fmt="o-", capsize=3, label=f"{label} (other digits)")
    ax.set(xscale="log", yscale="log", xlabel="measurements m", ylabel="per-pixel MSE (95% CI)",
           title="MNIST: the one-line call vs the committed rows")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
