"""Time and peak memory of the sparse baselines on 64x64x3 images (issue 3).

For each method (lasso-dct, lasso-wavelet) and m (500, 2500, 10000) a fresh subprocess

1. loads ``--images`` of the paper's CelebA test faces (3 x 64 x 64, n = 12288),
2. measures them with the structured operator ``SubsampledDCT(m)`` (a dense Gaussian matrix is 1 GB at
   m = 10000; Lasso needs the dense m x n dictionary A Psi^T either way, which is what costs memory),
3. solves all images in one :func:`ganprior.solvers.lasso.solve_sparse` call (shared dictionary),

and records the wall time per problem, the peak resident memory of the process above its baseline after
imports (``ru_maxrss``; column ``peak_extra_rss_mb``), the theoretical size of the dictionary and the per-pixel MSE.

Usage::

    python benchmarks/studies/lasso_cost.py --images 4 --threads 1 --out benchmarks/results/lasso_cost

writes ``lasso_cost.csv`` and prints the table.  The machine is shared and noisy: read the figures as
orders of magnitude, the ratios between rows as measured in one run.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

FIELDS = ["method", "m", "n", "images", "dtype", "dictionary_mb", "seconds_per_problem", "peak_extra_rss_mb",
          "baseline_rss_mb", "mse", "alpha"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def one(method: str, m: int, images: int, dtype: str, alpha: float | None, threads: int) -> dict:
    """Run in a child process: one (method, m) configuration."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from ganprior.data import load_sample
    from ganprior.operators import SubsampledDCT
    from ganprior.solvers.lasso import DEFAULT_ALPHA, solve_sparse

    x = load_sample("celeba_test64")[:images].double()
    A = SubsampledDCT(m, in_shape=tuple(x.shape[1:]), seed=0)
    y = A(x).numpy()
    basis = {"lasso-dct": "dct", "lasso-wavelet": "wavelet"}[method]
    alpha = DEFAULT_ALPHA[basis] if alpha is None else alpha
    base = _rss_mb()
    t = time.perf_counter()
    x_hat = solve_sparse(y, A, basis=basis, alpha=alpha, dtype=np.dtype(dtype))
    sec = time.perf_counter() - t
    n = x[0].numel()
    return {"method": method, "m": m, "n": n, "images": images, "dtype": dtype,
            "dictionary_mb": round(m * n * np.dtype(dtype).itemsize / 2**20, 1),
            "seconds_per_problem": round(sec / images, 3), "peak_extra_rss_mb": round(_rss_mb() - base, 1),
            "baseline_rss_mb": round(base, 1),
            "mse": float(((torch.from_numpy(x_hat).double() - x) ** 2).mean()), "alpha": alpha}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", nargs="+", default=["lasso-dct", "lasso-wavelet"])
    p.add_argument("--m", nargs="+", type=int, default=[500, 2500, 10000])
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--alpha", type=float, default=None, help="default: the paper's per basis")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/lasso_cost"))
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        row = one(args.child[0], int(args.child[1]), args.images, args.dtype, args.alpha, args.threads)
        print("RESULT " + json.dumps(row))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for method in args.methods:
        for m in args.m:
            cmd = [sys.executable, __file__, "--child", method, str(m), "--images", str(args.images),
                   "--dtype", args.dtype, "--threads", str(args.threads)]
            if args.alpha is not None:
                cmd += ["--alpha", str(args.alpha)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            row = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
            rows.append(row)
            print(" ".join(f"{k}={row[k]}" for k in FIELDS), flush=True)
            with open(args.out / "lasso_cost.csv", "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=FIELDS)
                w.writeheader()
                w.writerows(rows)
    meta = {"command": " ".join([Path(sys.executable).name] + sys.argv), "machine": platform.processor() or
            platform.machine(), "python": platform.python_version()}
    (args.out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
