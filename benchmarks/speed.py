"""Speed of the batched latent engine against the generator's own forward + backward and the machine's GEMM rate.

For each precision (fp32, bf16 autocast), memory format and batch of P problems (1 restart each; default
P = 1, 100, 1,000, 10,000) on the 28x28 DCGAN of the engine benchmarks (k = 20, width 64, random weights, a
200 x 784 Gaussian A, CSGM objective, Adam), a fresh process measures:

- ``engine_ms_per_step``: the marginal time of one engine step, ``(t(3s) - t(s)) / 2s`` for two solves of s and 3s
  steps (the fixed cost of a solve -- drawing the start, re-scoring the best iterates in full precision, the final
  render -- is reported apart as ``fixed_ms``);
- ``bare_run_ms``: a bare forward + backward (gradient to z only) of the network the engine runs
  (:meth:`ganprior.Generator.for_solving`: batch norm folded, the chosen layout), and ``bare_module_ms`` of the
  module as the user gave it (contiguous, unfolded); ``overhead_pct`` = engine / bare_run - 1 is the solver's own
  cost;
- ``gflop_per_step``: the FLOPs of one bare forward + backward (counted by :class:`torch.utils.flop_counter.
  FlopCounterMode`) over the engine's step time, and ``pct_of_gemm_peak``: that rate over the machine's measured
  GEMM rate at the same precision and threads (a square matmul, the best of a few sizes) -- how much of what the
  cores can do the solve uses;
- ``peak_mem_mb``: the process's peak resident memory after the timed solves (CPU; it includes the interpreter and torch,
  ``base_mem_mb`` before any solve) or the peak CUDA memory allocated by them.

Each configuration runs ``--repeats`` times in alternating fresh processes, and inside each process the engine's
two solves and the two bare runs alternate 3 times (once at 10,000 problems); each time is the fastest of all its
runs (the machines are shared).  Usage (the committed run)::

    python benchmarks/speed.py --threads 1 --formats channels_last contiguous --out benchmarks/results/speed

With ``--formats auto`` the ``layout`` column says which layout :meth:`ganprior.Generator.for_solving` chose by
timing (``channels_last`` / ``contiguous`` rows force one).  The CSV's comment and ``speed.json`` name the CPU, its
capability (``torch.backends.cpu.get_cpu_capability()``), whether bf16 is native there, and the threads.

writes ``speed.csv``, ``speed.png`` and ``speed.json`` (the GEMM rates and the command).  Ratios are meaningful
within one run only: absolute figures drift with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from _common import command_line, hardware_text, write_csv

from ganprior.hardware import hardware_info

CHILD = r"""
import json, resource, sys, time, torch
cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
import ganprior
from ganprior.models import build_generator
from ganprior.solvers.csgm import CSGMObjective
from torch.utils.flop_counter import FlopCounterMode

dev = torch.device(cfg["device"])
def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
torch.manual_seed(0)
G = ganprior.Generator(build_generator("dcgan28", latent_dim=20, width=cfg["width"])).to(dev)
A = ganprior.operators.Gaussian(cfg["m"], in_shape=G.image_shape, seed=0, device=dev)
rows, s, prec, fmt = cfg["rows"], cfg["steps"], cfg["precision"], cfg["format"]
obj = CSGMObjective(torch.zeros(rows, cfg["m"], device=dev), A, 0.0)
base = rss_mb()
if dev.type == "cuda":
    torch.cuda.reset_peak_memory_stats()
def solve(steps):
    sync(); t = time.perf_counter()
    ganprior.optimize_latents(obj, G, rows, restarts=1, steps=steps, seed=0, precision=prec, memory_format=fmt)
    sync(); return time.perf_counter() - t
solve(1)  # warm-up: allocations, oneDNN kernels, autocast caches
def bare(g, steps):
    z = torch.randn(rows, 20, device=dev, requires_grad=True)
    ctx = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=prec == "bf16")
    with g.frozen():
        for i in range(steps + 1):
            if i == 1:
                sync(); t = time.perf_counter()
            z.grad = None
            with ctx:
                x = g(z)
            x.float().sum().backward()
        sync()
    return (time.perf_counter() - t) / steps
fast = G.for_solving(fmt, rows=rows, precision=prec)
from ganprior.generator import layout_choices
chosen = layout_choices()[-1]["choice"] if fmt == "auto" and layout_choices() else fmt
bsteps = max(2, min(2 * s, 4000 // max(rows, 1) + 2))
# interleave the engine's two solves and the two bare runs cfg["reps"] times; keep the fastest of each
step = fixed = b_run = b_mod = float("inf")
for _ in range(cfg["reps"]):
    t1, t3 = solve(s), solve(3 * s)
    cur = max(t3 - t1, 1e-9) / (2 * s)
    if cur < step:
        step, fixed = cur, max(t1 - s * cur, 0.0)
    b_run, b_mod = min(b_run, bare(fast, bsteps)), min(b_mod, bare(G, bsteps))
peak = torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else rss_mb()
z = torch.randn(8, 20, device=dev, requires_grad=True)
with FlopCounterMode(display=False) as fc, fast.frozen():
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=prec == "bf16"):
        x = fast(z)
    x.float().sum().backward()
print(json.dumps({"engine": step, "fixed": fixed, "bare_run": b_run,
                  "bare_module": b_mod, "flop_per_row": fc.get_total_flops() / 8,
                  "peak_mb": peak, "base_mb": base, "file": ganprior.__file__, "layout": chosen}))
"""

GEMM = r"""
import json, sys, time, torch
cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
dev = torch.device(cfg["device"])
out = {}
for prec, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
    best = 0.0
    for n in (512, 1024, 2048):
        a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
        for _ in range(2):
            a @ b
        for _ in range(3):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            reps = max(1, int(2e9 // (2 * n ** 3)))
            for _ in range(reps):
                a @ b
            if dev.type == "cuda":
                torch.cuda.synchronize()
            best = max(best, 2 * n ** 3 * reps / (time.perf_counter() - t))
    out[prec] = best
print(json.dumps(out))
"""


def _child(code, cfg):
    env = dict(os.environ, OMP_NUM_THREADS=str(cfg["threads"]))
    text = subprocess.run([sys.executable, "-c", code, json.dumps(cfg)], env=env, check=True,
                          capture_output=True, text=True).stdout
    return json.loads(text.strip().splitlines()[-1])


def steps_for(rows, device):
    """Steps s of the shorter timed solve: enough for a stable difference, bounded for 10,000 problems."""
    if device == "cuda":
        return 50
    return 200 if rows <= 10 else 20 if rows <= 100 else 6 if rows <= 1000 else 2


def reps_for(rows):
    """Interleaved repetitions inside one process (the fastest is kept): 3, one for 10,000 problems."""
    return 3 if rows <= 1000 else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, nargs="+", default=[1, 100, 1000, 10000])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--formats", nargs="+", default=["auto"], choices=["auto", "channels_last", "contiguous"])
    parser.add_argument("--repeats", type=int, default=2, help="fresh processes per configuration (fastest kept)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--m", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="benchmarks/results/speed")
    args = parser.parse_args(argv)
    import torch

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    base = dict(threads=args.threads, device=args.device, width=args.width, m=args.m)
    gemm = {}
    for _ in range(args.repeats):
        g = _child(GEMM, base)
        gemm = {k: max(gemm.get(k, 0.0), v) for k, v in g.items()}
    print("GEMM peak GFLOP/s:", {k: round(v / 1e9, 1) for k, v in gemm.items()}, flush=True)
    configs = [dict(base, rows=p, precision=prec, format=fmt, steps=steps_for(p, args.device), reps=reps_for(p))
               for p in args.problems for prec in args.precisions for fmt in args.formats]
    best = {}
    for r in range(args.repeats):
        for cfg in configs:
            key = (cfg["precision"], cfg["format"], cfg["rows"])
            res = _child(CHILD, cfg)
            cur = best.setdefault(key, dict(res))
            for k in ("engine", "fixed", "bare_run", "bare_module"):
                cur[k] = min(cur[k], res[k])
            cur["peak_mb"] = max(cur["peak_mb"], res["peak_mb"])
            print(f"round {r}: {key}: engine {1e3 * res['engine']:.2f} ms/step, bare {1e3 * res['bare_run']:.2f} "
                  f"(module {1e3 * res['bare_module']:.2f}), peak {res['peak_mb']:.0f} MB", flush=True)
    records = []
    for cfg in configs:
        prec, fmt, rows = key = (cfg["precision"], cfg["format"], cfg["rows"])
        b = best[key]
        one = best.get((prec, fmt, 1))
        flops = b["flop_per_row"] * rows / b["engine"]
        records.append(dict(
            device=args.device, precision=prec, memory_format=fmt, layout=b["layout"], problems=rows, steps_timed=f"{cfg['steps']}+{3 * cfg['steps']}",
            engine_ms_per_step=round(1e3 * b["engine"], 3), fixed_ms=round(1e3 * b["fixed"], 1),
            bare_run_ms=round(1e3 * b["bare_run"], 3), bare_module_ms=round(1e3 * b["bare_module"], 3),
            overhead_pct=round(100 * (b["engine"] / b["bare_run"] - 1), 1),
            problem_steps_per_s=round(rows / b["engine"], 1),
            speedup_vs_loop=round(one["engine"] * rows / b["engine"], 2) if one else "",
            gflop_per_s=round(flops / 1e9, 2), pct_of_gemm_peak=round(100 * flops / gemm[prec], 1),
            peak_mem_mb=round(b["peak_mb"], 0), base_mem_mb=round(b["base_mb"], 0)))
    cmd = command_line("speed.py", argv)
    write_csv(out.with_suffix(".csv"), records,
              comment=f"{cmd}  | {hardware_text(args.device, args.threads)}, {platform.machine()}, "
                      f"{os.cpu_count()} cores visible; GEMM peak GFLOP/s fp32 {gemm['fp32'] / 1e9:.1f}, "
                      f"bf16 {gemm['bf16'] / 1e9:.1f}")
    out.with_suffix(".json").write_text(json.dumps(dict(command=cmd, gemm_flop_per_s=gemm, torch=torch.__version__,
                                                        machine=platform.machine(), threads=args.threads,
                                                        hardware=hardware_info(args.device),
                                                        date=time.strftime("%Y-%m-%d")), indent=2) + "\n")
    for rec in records:
        print(" ".join(f"{k}={v}" for k, v in rec.items()))
    _plot(records, gemm, out.with_suffix(".png"))
    return records


def _plot(records, gemm, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for prec in ("fp32", "bf16"):
        for fmt in sorted({r["memory_format"] for r in records}):
            rs = [r for r in records if r["precision"] == prec and r["memory_format"] == fmt]
            if not rs:
                continue
            x = [r["problems"] for r in rs]
            line, = axes[0].plot(x, [r["problem_steps_per_s"] for r in rs], "o-", label=f"engine {prec} {fmt}")
            axes[0].plot(x, [r["problems"] / r["bare_run_ms"] * 1e3 for r in rs], ":", color=line.get_color(),
                         label=f"bare fwd+bwd {prec} {fmt}")
            axes[1].plot(x, [r["pct_of_gemm_peak"] for r in rs], "o-", color=line.get_color(), label=f"{prec} {fmt}")
    axes[0].set(xscale="log", yscale="log", xlabel="problems in one call (1 restart each)",
                ylabel="problem-steps / s", title="Engine vs the generator's own forward+backward")
    axes[1].set(xscale="log", xlabel="problems in one call",
                ylabel="achieved FLOP/s / measured GEMM FLOP/s [%]",
                title=f"Share of the GEMM rate (fp32 {gemm['fp32'] / 1e9:.0f}, bf16 {gemm['bf16'] / 1e9:.0f} GFLOP/s)")
    for ax in axes:
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
