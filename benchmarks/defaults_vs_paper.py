"""What a user gets from ``recover``'s defaults: the prior's recipe against the paper's protocol, side by side.

On the first ``--n`` bundled MNIST test digits at m = 100 Gaussian measurements (||eta|| = 0.1, seeds as in
the error-vs-m benchmark), one run times ``recover(y, A, "mnist", seed=0)`` (no other argument: the prior's
validated recipe) and ``recover(y, A, "mnist", seed=0, preset="bora2017")`` (10 restarts x 1000 Adam steps,
lr 0.01, fp32, lam 0: the CSGM paper's MNIST protocol), alternating ``--rounds`` times, and reports the
per-pixel MSE of each and the ratio of their times (fastest round of each).

Usage::

    python benchmarks/defaults_vs_paper.py --n 50 --m 100 --rounds 1 --threads 1 \
        --out benchmarks/results/defaults_vs_paper.csv
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from _common import command_line, hardware_text, write_csv

import ganprior


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--m", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/defaults_vs_paper.csv")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    x = ganprior.data.load_sample("mnist_test300")[: args.n]
    A = ganprior.operators.Gaussian(args.m, in_shape=(1, 28, 28), seed=args.m)
    eta = torch.randn(args.n, args.m, generator=torch.Generator().manual_seed(7919 + args.m)) * 0.1 / math.sqrt(args.m)
    y = A(x) + eta
    best = {}
    for r in range(args.rounds):
        for label, kw in (("recipe (defaults)", {}), ("preset bora2017", {"preset": "bora2017"})):
            t = time.perf_counter()
            res = ganprior.recover(y, A, "mnist", seed=0, return_result=True, **kw)
            sec = time.perf_counter() - t
            mse = float(ganprior.metrics.mse(res.x, x).mean())
            if label not in best or sec < best[label]["seconds"]:
                best[label] = {"call": label, "seconds": round(sec, 1), "mse": round(mse, 5),
                               "settings": " ".join(f"{k}={v}" for k, v in res.info["settings"].items())}
            print(f"round {r}: {label}: {sec:.1f} s, per-pixel MSE {mse:.5f} ({res.info['settings']})", flush=True)
    rows = list(best.values())
    ratio = rows[1]["seconds"] / rows[0]["seconds"]
    print(f"defaults are {ratio:.2f}x faster; MSE {rows[0]['mse']} vs {rows[1]['mse']} "
          f"({100 * (rows[0]['mse'] / rows[1]['mse'] - 1):+.1f}%)")
    write_csv(args.out, rows,
              comment=f"{command_line('defaults_vs_paper.py', argv)}  | speedup of the defaults {ratio:.2f}x  | "
                      f"{hardware_text(threads=args.threads)}")


if __name__ == "__main__":
    main()
