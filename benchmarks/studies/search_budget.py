"""How much CSGM's non-convex search costs and gains: restarts x steps on validation images.

For one m, solves the same measurements of validation images (the last images of the training split, never the
test images) with several budgets R restarts x S steps (cosine step size, bf16, as in error_vs_measurements.py)
and writes the mean / median per-pixel MSE and the seconds of each budget:

    python benchmarks/studies/search_budget.py --dataset mnist --m 100 --lam 0.1 --budgets 4x300 4x1000 10x300 10x1000 \
        --out benchmarks/results/search_budget

Outputs OUT/search_budget.csv (appended: one row per budget and m) and OUT/search_budget.png.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch

from ganprior.benchmark import PROTOCOLS, preset  # noqa: E402
PRESETS = {name: preset(name) for name in PROTOCOLS}  # the protocols as the study reads them
from ganprior.benchmark import default_data_root, measure, validation_images  # noqa: E402

import ganprior  # noqa: E402

FIELDS = ["dataset", "m", "lam", "restarts", "steps", "lr", "n_val", "mse_mean", "mse_median", "seconds"]


def budget(text):
    try:
        r, s = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a budget is RESTARTSxSTEPS, e.g. 10x300; got {text!r}") from None
    return r, s


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for m in sorted({int(r["m"]) for r in rows}):
        pts = sorted((int(r["restarts"]) * int(r["steps"]), float(r["mse_mean"]), f"{r['restarts']}x{r['steps']}")
                     for r in rows if int(r["m"]) == m)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=f"m = {m}")
        for x, y, label in pts:
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set(xscale="log", yscale="log", xlabel="restarts x steps (generator evaluations per image)",
           ylabel="mean per-pixel MSE", title="CSGM search budget (validation images)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--m", type=int, nargs="+", default=[100])
    p.add_argument("--lam", type=float, default=0.1)
    p.add_argument("--budgets", type=budget, nargs="+", default=[(4, 300), (10, 300)])
    p.add_argument("--lr", type=float, default=0.3)
    p.add_argument("--n-val", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-root", type=Path, default=None)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = PRESETS[args.dataset]
    G = ganprior.load_prior(cfg["prior"])
    x = validation_images(args.dataset, args.n_val, args.data_root or default_data_root())
    args.out.mkdir(parents=True, exist_ok=True)
    out_csv = args.out / "search_budget.csv"
    new = not out_csv.exists()
    with open(out_csv, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            w.writeheader()
        for m in args.m:
            A, y = measure(x, m, cfg["noise"], seed=1)  # the validation operators of error_vs_measurements.py
            for restarts, steps in args.budgets:
                t = time.perf_counter()
                x_hat = ganprior.recover(y, A, G, lam=args.lam, restarts=restarts, steps=steps, lr=args.lr, seed=0,
                                         schedule="cosine", precision="bf16")
                mse = ganprior.metrics.mse(x_hat, x)
                row = {"dataset": args.dataset, "m": m, "lam": args.lam, "restarts": restarts, "steps": steps,
                       "lr": args.lr, "n_val": len(x), "mse_mean": f"{float(mse.mean()):.5f}",
                       "mse_median": f"{float(mse.median()):.5f}", "seconds": f"{time.perf_counter() - t:.0f}"}
                w.writerow(row)
                f.flush()
                print(row, flush=True)
    with open(out_csv) as f:
        plot(list(csv.DictReader(f)), args.out / "search_budget.png")


if __name__ == "__main__":
    main()
