"""Does a change to the engine change results?  Rerun committed CSGM rows of the MNIST error-vs-m benchmark.

Recomputes, with the current code, the CSGM per-image errors of ``benchmarks/error_vs_measurements.py``
for the given m on the 300 bundled MNIST test digits, with the settings of the committed run (the same
operator and noise seeds, lam, 10 restarts x 300 Adam steps, cosine from lr 0.3, bf16, latent seed 0 per
chunk of ``--chunk`` digits), and compares them with a reference ``per_image.csv`` (e.g. the one
committed before the change: ``git show <rev>:benchmarks/results/mnist/per_image.csv > ref.csv``).

Usage::

    git show 43f8c23:benchmarks/results/mnist/per_image.csv > ref.csv   # the committed run before engine v2
    python benchmarks/studies/engine_regression.py --reference ref.csv --m 50 100 --lam 0.1 --chunk 100 --threads 1 \
        --out benchmarks/results/engine_regression.csv

After ``Generator.for_solving`` (batch norm folded, channels_last, a col2im output layer: float rounding only)::

    git show 9572073:benchmarks/results/mnist/per_image.csv > ref.csv
    python benchmarks/studies/engine_regression.py --reference ref.csv --m 50 100 --lam 0.1 --chunk 100 --threads 1 \
        --out benchmarks/results/engine_regression_for_solving.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for _common
from _common import command_line, write_csv  # noqa: E402

import ganprior  # noqa: E402
from ganprior.benchmark import measure  # noqa: E402  (the benchmark's own operator and noise)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True, help="per_image.csv of the committed run")
    parser.add_argument("--m", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--lam", type=float, default=0.1)
    parser.add_argument("--chunk", type=int, default=100, help="digits per call (as in the committed run)")
    parser.add_argument("--memory-format", default="auto", choices=["auto", "channels_last", "contiguous"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/engine_regression.csv")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with open(args.reference) as f:
        ref = {(int(r["m"]), int(r["image"])): float(r["mse"]) for r in csv.DictReader(f) if r["method"] == "csgm"}
    G = ganprior.load_prior("mnist")
    x = ganprior.data.load_sample("mnist_test300")
    rows = []
    for m in args.m:
        A, y = measure(x, m, 0.1, seed=0)
        for c in range(0, len(x), args.chunk):
            part = slice(c, c + args.chunk)
            x_hat = ganprior.recover(y[part], A, G, lam=args.lam, restarts=10, steps=300, lr=0.3, schedule="cosine",
                                     precision="bf16", seed=0, row_chunk=args.chunk * 10,
                                     memory_format=args.memory_format)
            for j, e in enumerate(ganprior.metrics.mse(x_hat, x[part]).tolist()):
                i = c + j
                rows.append({"m": m, "image": i, "mse_new": f"{e:.6g}", "mse_reference": ref[(m, i)],
                             "abs_diff": f"{abs(e - ref[(m, i)]):.3g}"})
        mine = [float(r["mse_new"]) for r in rows if r["m"] == m]
        theirs = [r["mse_reference"] for r in rows if r["m"] == m]
        diffs = [float(r["abs_diff"]) for r in rows if r["m"] == m]
        print(f"m={m}: mean MSE new {sum(mine) / len(mine):.6f} vs reference {sum(theirs) / len(theirs):.6f}; "
              f"per-image |diff| max {max(diffs):.3g}, {sum(d > 1e-4 for d in diffs)} of {len(diffs)} above 1e-4",
              flush=True)
    write_csv(args.out, rows, comment=command_line("studies/engine_regression.py", argv))


if __name__ == "__main__":
    main()
