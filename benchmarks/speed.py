"""Speed of the batched latent engine.

Measures, on a DCGAN-sized 28x28 generator with random weights and a 100 x 784 Gaussian operator:

1. problem-steps per second of one batched solve of B = P*R rows (B = 1, 10, 100, 500) against a Python
   loop over single problems (the loop's rate is measured on a few problems; it does not depend on how
   many follow);
2. the engine's time per step against a bare forward + backward of G on the same batch (the solver's
   overhead), both with G's weights frozen as the engine runs it;

in fp32 and under bf16 autocast, on the CPU and on the GPU when one is present.

Usage::

    python benchmarks/speed.py --threads 2 --steps 20 --repeats 3 --out benchmarks/results/speed

writes ``speed.csv`` and ``speed.png`` (and prints the table).  Ratios are meaningful within one run only:
the machines are shared and absolute figures drift.
"""

from __future__ import annotations

import argparse
import csv
import platform
import time
from pathlib import Path

import torch

import ganprior
from ganprior.models import build_generator
from ganprior.solvers.csgm import CSGMObjective


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def engine_rate(G, A, rows, steps, precision, device):
    """Seconds per step of one batched engine solve over `rows` problems (1 restart each)."""
    y = torch.zeros(rows, A.m, device=device)
    obj = CSGMObjective(y, A, 0.0)
    # warm-up (allocations, autocast caches)
    ganprior.optimize_latents(obj, G, rows, restarts=1, steps=2, seed=0, precision=precision)
    _sync(device)
    t = time.perf_counter()
    ganprior.optimize_latents(obj, G, rows, restarts=1, steps=steps, seed=0, precision=precision)
    _sync(device)
    return (time.perf_counter() - t) / steps


def bare_step(G, rows, steps, precision, device):
    """Seconds per forward + backward of G alone on `rows` latents (weights frozen, gradient to z only)."""
    z = torch.randn(rows, *G.latent_shape, device=device, requires_grad=True)
    ctx = (torch.autocast(device_type=device.type, dtype=torch.bfloat16) if precision == "bf16"
           else torch.autocast(device_type=device.type, enabled=False))
    with G.frozen():
        for i in range(steps + 2):
            if i == 2:
                _sync(device)
                t = time.perf_counter()
            with ctx:
                x = G(z)
            x.float().sum().backward()
        _sync(device)
    return (time.perf_counter() - t) / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 10, 100, 500])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--loop-problems", type=int, default=5, help="single problems timed for the loop rate")
    parser.add_argument("--repeats", type=int, default=3, help="each figure is the fastest of this many runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=20)
    parser.add_argument("--devices", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    parser.add_argument("--out", default="benchmarks/results/speed")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records = []
    for dev_name in args.devices:
        device = torch.device(dev_name)
        torch.manual_seed(0)
        G = ganprior.Generator(build_generator("dcgan28", latent_dim=args.latent_dim, width=args.width)).to(device)
        A = ganprior.operators.Gaussian(100, in_shape=G.image_shape, seed=0, device=device)
        for precision in ("fp32", "bf16"):
            # a loop over single problems runs each one as a batch of 1: its rate is 1 / (time per step)
            loop_step = min(sum(engine_rate(G, A, 1, args.steps, precision, device)
                                for _ in range(args.loop_problems)) / args.loop_problems
                            for _ in range(args.repeats))
            for rows in args.rows:
                # interleave engine and bare runs and keep the fastest of each: the machine is shared
                eng, bare = float("inf"), float("inf")
                for _ in range(args.repeats):
                    eng = min(eng, engine_rate(G, A, rows, args.steps, precision, device))
                    bare = min(bare, bare_step(G, rows, args.steps, precision, device))
                rec = dict(device=dev_name, precision=precision, rows=rows,
                           engine_ms_per_step=1e3 * eng, bare_fwd_bwd_ms=1e3 * bare,
                           overhead_pct=100 * (eng / bare - 1),
                           engine_problem_steps_per_s=rows / eng, loop_problem_steps_per_s=1 / loop_step,
                           speedup_vs_loop=loop_step * rows / eng)
                records.append(rec)
                print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()),
                      flush=True)
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        f.write(f"# python benchmarks/speed.py {' '.join(argv or [])}  | torch {torch.__version__}, "
                f"{platform.processor() or platform.machine()}, threads={args.threads}, width={args.width}, "
                f"k={args.latent_dim}, steps={args.steps}\n")
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    _plot(records, out.with_suffix(".png"))


def _plot(records, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for dev in sorted({r["device"] for r in records}):
        for prec in ("fp32", "bf16"):
            rs = [r for r in records if r["device"] == dev and r["precision"] == prec]
            if not rs:
                continue
            label = f"{dev} {prec}"
            axes[0].plot([r["rows"] for r in rs], [r["engine_problem_steps_per_s"] for r in rs], "o-",
                         label=f"engine, {label}")
            axes[0].axhline(rs[0]["loop_problem_steps_per_s"], ls="--", lw=1,
                            color=axes[0].lines[-1].get_color(), label=f"loop of single problems, {label}")
            axes[1].plot([r["rows"] for r in rs], [r["overhead_pct"] for r in rs], "o-", label=label)
    axes[0].set(xscale="log", yscale="log", xlabel="rows in the batch (problems x restarts)",
                ylabel="problem-steps / s", title="Throughput: one batch vs a loop")
    axes[1].axhline(15, color="k", ls=":", lw=1, label="15% target")
    axes[1].set(xscale="log", xlabel="rows in the batch", ylabel="engine step / bare fwd+bwd of G - 1  [%]",
                title="Engine overhead over G's forward+backward")
    for ax in axes:
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
