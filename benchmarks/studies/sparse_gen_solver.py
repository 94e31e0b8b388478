"""Sparse-Gen's nu solver: one ISTA step per step (ganprior 0.1) against FISTA with several steps per step.

Sparse-Gen minimises ||y - A(G(z) + Psi^T nu)||^2 + lam ||z||^2 + alpha ||nu||_1; nu moves only in the second
half of the solve (after the z warm-up).  With a small alpha and m < n the nu problem is a badly conditioned
Lasso, and how far its solver gets in those steps decides the answer.  This benchmark solves the same problems
(the error-vs-m benchmark's validation images, operator, noise and engine settings; one lam and alpha for all)
with each ``--variants`` entry ``SOLVER:STEPS`` (``recover(..., nu_solver=SOLVER, nu_steps=STEPS)``), and as a
reference the converged Lasso in the same basis on y - A G(0) (what nu solves when lam is large enough to hold z
near 0; scikit-learn, ``data_range=None``).  Writes ``summary.csv`` (mean MSE with its 95% CI and the solve's
wall time per variant and m), ``solver.png`` and ``metadata.json`` into ``--out``.  Usage (the committed run)::

    python benchmarks/studies/sparse_gen_solver.py --dataset fashion-mnist --prior mnist --m 100 750 --n 32 --lam 100 \\
        --alpha 0.01 --threads 1 --out benchmarks/results/sparse_gen_solver
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

import torch

from ganprior.benchmark import PROTOCOLS, preset  # noqa: E402
PRESETS = {name: preset(name) for name in PROTOCOLS}  # the protocols as the study reads them
BEYOND_FIXED = {name: p.beyond_fixed for name, p in PROTOCOLS.items()}
from ganprior.benchmark import default_data_root, measure, validation_images  # noqa: E402

import ganprior  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=sorted(PRESETS), default="fashion-mnist")
    parser.add_argument("--prior", default="mnist")
    parser.add_argument("--m", type=int, nargs="+", default=[100, 750])
    parser.add_argument("--n", type=int, default=32, help="validation images")
    parser.add_argument("--lam", type=float, default=100.0)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--variants", nargs="+", default=["ista:1", "fista:1", "fista:10", "fista:30"])
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    variants = []
    for v in args.variants:
        solver, _, steps = v.partition(":")
        if solver not in ("ista", "fista") or not steps.isdigit() or int(steps) < 1:
            parser.error(f"argument --variants: expected SOLVER:STEPS with SOLVER ista or fista, got {v!r}")
        variants.append((solver, int(steps)))
    torch.set_num_threads(args.threads)
    start = time.time()
    cfg = PRESETS[args.dataset]
    basis = BEYOND_FIXED[args.dataset]["sparse-gen"]["basis"]
    G = ganprior.load_prior(args.prior)
    x, _ = validation_images(args.dataset, args.n, args.data_root or default_data_root())
    shape = tuple(x.shape[1:])
    engine = dict(restarts=cfg["restarts"], steps=cfg["steps"], lr=cfg["lr"], schedule="cosine", precision="bf16",
                  seed=0)
    rows = []

    def record(m, name, x_hat, seconds):
        e = ganprior.metrics.mse(torch.as_tensor(x_hat).reshape(x.shape), x).numpy()
        ci = 1.96 * e.std(ddof=1) / math.sqrt(len(e))
        rows.append(dict(m=m, variant=name, mse=f"{e.mean():.5g}", mse_ci95=f"{ci:.2g}", seconds=f"{seconds:.1f}"))
        print(f"m={m} {name:>22}: {e.mean():.4g}  ({seconds:.1f} s)", flush=True)

    for m in args.m:
        A, y = measure(x, m, cfg["noise"], seed=1)
        with torch.no_grad():
            g0 = G(torch.zeros(1, *G.latent_shape)).float()
        t = time.perf_counter()
        nu = ganprior.recover(y - A(g0.expand(len(x), *shape)), A, method=f"lasso-{basis}" if basis != "pixel"
                              else "lasso", alpha=args.alpha, image_shape=shape, data_range=None)
        record(m, "lasso on y - A G(0)", g0 + torch.as_tensor(nu), time.perf_counter() - t)
        for solver, steps in variants:
            t = time.perf_counter()
            x_hat = ganprior.recover(y, A, G, method="sparse-gen", lam=args.lam, alpha=args.alpha, basis=basis,
                                     nu_solver=solver, nu_steps=steps, **engine)
            record(m, f"{solver}, {steps} per step", x_hat, time.perf_counter() - t)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.m), figsize=(5 * len(args.m), 3.6), squeeze=False)
    for ax, m in zip(axes[0], args.m):
        mine = [r for r in rows if r["m"] == m]
        ax.barh([r["variant"] for r in mine], [float(r["mse"]) for r in mine],
                xerr=[float(r["mse_ci95"]) for r in mine], color=["0.6"] + ["C0"] * (len(mine) - 1))
        ax.invert_yaxis()
        ax.set_xlabel("validation MSE")
        ax.set_title(f"{args.dataset}, prior {args.prior}, m = {m}\nlam = {args.lam:g}, alpha = {args.alpha:g}, "
                     f"{basis}")
    fig.tight_layout()
    fig.savefig(args.out / "solver.png", dpi=120)
    meta = dict(command="python benchmarks/studies/sparse_gen_solver.py "
                + shlex.join(sys.argv[1:] if argv is None else argv),
                dataset=args.dataset, prior=args.prior, n_images=args.n, lam=args.lam, alpha=args.alpha, basis=basis,
                engine=engine, noise_norm=cfg["noise"], torch=torch.__version__, ganprior=ganprior.__version__,
                python=platform.python_version(), threads=args.threads, wall_time_s=round(time.time() - start, 1))
    (args.out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
