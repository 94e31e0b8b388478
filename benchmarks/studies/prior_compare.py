"""Compare candidate priors (and a training run's live vs EMA weights) by CSGM's error on validation images.

For each prior and each m, CSGM (the error-vs-m benchmark's protocol: its preset's restarts, steps, lr, cosine
schedule, bf16, noise, and its validation operator and noise, seed 1) solves the validation images -- the last
``--n-val`` images of the training split, never the test images -- at every lam of ``--lams``; the table gives
the mean validation MSE per lam and the best.  A training run folder (``ganprior train --out RUN``) that keeps an
exponential moving average of its generator is measured twice: with the EMA weights (what it exports) and with
the live weights of its checkpoint.  Outputs in ``--out``: ``prior_compare.csv`` (one row per prior, weights, m,
lam) and ``prior_compare.md`` (the best lam per prior and m), and the command in ``prior_compare.json``.

Example (the k = 20 MNIST prior's comparison, benchmarks/results/priors_v2)::

    python benchmarks/studies/prior_compare.py --dataset mnist --priors mnist runs/mnist_k20 --m 10 25 50 \
        --lams 0.1 0.3 1 3 10 --threads 1 --out benchmarks/results/priors_v2
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
import time
from pathlib import Path

from ganprior.benchmark import protocol as bench  # the benchmark's protocol: validation images, operators
from ganprior.benchmark.search import run_method
import numpy as np
import torch

import ganprior

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))  # for build_prior
from build_prior import live_generator  # noqa: E402


def candidates(name):
    """``[(weights, Generator)]`` for a prior: a bundled prior or exported folder once ("exported"); a training
    run folder with an EMA of its generator twice ("ema", "live"), else once ("live")."""
    G = ganprior.load_prior(name)
    vae = ganprior.priors.is_vae(ganprior.priors.prior_config(name))  # a VAE keeps no EMA
    if vae or not (Path(name) / "checkpoint.pt").is_file():
        return [("exported", G)]
    live = live_generator(name)
    return [("live", G)] if live is None else [("ema", G), ("live", live)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist", "celeba"])
    parser.add_argument("--priors", nargs="+", required=True, help="bundled names or prior / run folders")
    parser.add_argument("--m", type=int, nargs="+", required=True)
    parser.add_argument("--lams", type=float, nargs="+", required=True)
    parser.add_argument("--n-val", type=int, default=32)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    for m in args.m:
        if m < 1:
            parser.error(f"--m: every number of measurements must be >= 1, got {m}")
    torch.set_num_threads(args.threads)
    cfg = dict(bench.preset(args.dataset), chunk=None, schedule="cosine")
    x_val, _ = bench.validation_images(args.dataset, args.n_val, args.data_root or bench.default_data_root())
    shape = tuple(x_val.shape[1:])
    models = [(name, weights, G) for name in args.priors for weights, G in candidates(name)]
    args.out.mkdir(parents=True, exist_ok=True)
    rows, start = [], time.time()
    for m in args.m:
        A, y = bench.measure(x_val, m, cfg["noise"], seed=1)  # the benchmark's validation problems
        for name, weights, G in models:
            for lam in args.lams:
                x_hat = run_method("csgm", y, A, G, cfg, lam, "bf16", shape)
                err = float(np.mean([float(e) for e in ganprior.metrics.mse(x_hat, x_val)]))
                rows.append(dict(prior=name, weights=weights, latent_dim=int(np.prod(G.latent_shape)), m=m,
                                 lam=lam, val_mse=err))
                print(f"{name} ({weights}) m={m} lam={lam:g}: {err:.5f}", flush=True)
    with open(args.out / "prior_compare.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows([dict(r, val_mse=f"{r['val_mse']:.6g}") for r in rows])
    lines = [f"CSGM on the last {args.n_val} {args.dataset} training images (validation; benchmark protocol, "
             f"||eta|| = {cfg['noise']}): mean MSE at the best lam of {args.lams} (the lam in brackets).", "",
             "| prior | weights | k | " + " | ".join(f"m = {m}" for m in args.m) + " |",
             "|---|---|---|" + "---|" * len(args.m)]
    for name, weights, G in models:
        cells = []
        for m in args.m:
            best = min((r for r in rows if (r["prior"], r["weights"], r["m"]) == (name, weights, m)),
                       key=lambda r: r["val_mse"])
            cells.append(f"{best['val_mse']:.4f} ({best['lam']:g})")
        lines.append(f"| {name} | {weights} | {int(np.prod(G.latent_shape))} | " + " | ".join(cells) + " |")
    (args.out / "prior_compare.md").write_text("\n".join(lines) + "\n")
    (args.out / "prior_compare.json").write_text(json.dumps(dict(
        command="python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
        torch=torch.__version__, ganprior=ganprior.__version__, threads=args.threads,
        wall_time_s=round(time.time() - start, 1)), indent=2) + "\n")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
