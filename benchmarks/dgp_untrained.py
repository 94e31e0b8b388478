"""Per-problem weights on the engine: throughput and memory of batched DGP / DIP steps, and a small quality check.

``throughput``: a DGP step (the activation and the weights above the cut; MNIST prior, cut 3) and a DIP step
(the skip network at 28x28) for 64 problems as one batched solve, against a Python loop over the 64 problems
solved one at a time on the same network (the same steps, one run each), and the peak memory (resident set
growth: the peak resident set after it was reset to the current one, /proc/self/clear_refs, each case in a fresh
process) for 64 and 1,000 problems (1,000 in chunks
of 64 rows).

``quality``: the first test digits of MNIST (or faces of CelebA) under the benchmark's protocol
(``ganprior.benchmark.protocol.measure``, noise ||eta|| = ``--noise``, 0.1 by default): ILO, dgp, deep-decoder and
dip (fp32 unless ``--precision``), MSE per pixel with 95% CIs, and PSNR with the paired gain over ILO in dB.
``dgp (discrepancy, progressive)`` frees the layers above the cut one at a time (``--methods`` names it).

    python benchmarks/dgp_untrained.py throughput --out benchmarks/results/dgp_untrained
    python benchmarks/dgp_untrained.py quality --n-images 32 --m 25 200 --out benchmarks/results/dgp_untrained
    python benchmarks/dgp_untrained.py quality --dataset celeba --n-images 4 --m 2500 --name quality_celeba \
        --methods "dgp (held-out)" "dgp (discrepancy)" --out benchmarks/results/dgp_untrained
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import command_line, hardware_text, mean_ci, write_csv

import ganprior
from ganprior.benchmark.protocol import measure
from ganprior.models.untrained import SkipNet
from ganprior.solvers.dgp import DGPObjective
from ganprior.solvers.untrained import UntrainedObjective

STEPS = 5


def _objective(kind, P, seed=0):
    """(objective, prior) for P MNIST problems at m = 200 (the 300 test digits, repeated past 300): DGP (every
    step adapts the weights) or DIP."""
    x = ganprior.data.load_sample("mnist_test300")
    x = x.repeat(-(-P // len(x)), 1, 1, 1)[:P]  # 1,000 problems: the 300 digits again
    A, y = measure(x, 200, 0.1, seed)
    if kind == "dgp":
        G = ganprior.load_prior("mnist")
        return DGPObjective(y, A, G, cut=3, warmup=0, adapt=0, stop="holdout"), G
    obj = UntrainedObjective(y.to(torch.float32), A, SkipNet((1, 28, 28), width=32))
    return obj, obj.prior()


def _solve(kind, P, chunk=None):
    obj, G = _objective(kind, P)
    return ganprior.optimize_latents(obj, G, P, restarts=1, steps=STEPS, lr=0.01, seed=0, select="total",
                                     chunk_size=chunk, schedule="constant", memory_format="contiguous")


def one_case(kind, P, chunk):
    """Run one memory case in this process and print its resident-set growth (MB) and wall time as JSON."""
    _objective(kind, 1)  # imports, data and the prior loaded before the baseline
    base = _reset_peak()
    start = time.perf_counter()
    _solve(kind, P, chunk)
    wall = time.perf_counter() - start
    print(json.dumps({"peak_mb": (_status_kb("VmHWM") - base) / 1024.0, "wall_s": wall}))


def _status_kb(field):
    """A field of /proc/self/status in kB (Linux)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _reset_peak():
    """Reset the peak resident set to the current one (Linux: /proc/self/clear_refs), returning it in kB; where
    that is not possible, the peak so far (``resource.getrusage`` maxrss): then a growth below it reads as 0."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kb("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def throughput(args):
    rows = []
    for kind in ("dgp", "dip"):
        _solve(kind, 2)  # warm-up
        start = time.perf_counter()
        _solve(kind, 64)
        batched = (time.perf_counter() - start) / STEPS
        obj, G = _objective(kind, 64)
        singles = [_single(obj, p, kind) for p in range(64)]
        start = time.perf_counter()
        for single in singles:
            ganprior.optimize_latents(single, G if kind == "dgp" else single.prior(), 1, restarts=1, steps=STEPS,
                                      lr=0.01, seed=0, select="total", schedule="constant", memory_format="contiguous")
        looped = (time.perf_counter() - start) / STEPS
        mem = {}
        for P, chunk in ((64, None), (1000, 64)):
            out = subprocess.run([sys.executable, __file__, "one", kind, str(P), str(chunk or 0)], check=True,
                                 capture_output=True, text=True).stdout
            mem[P] = json.loads(out.strip().splitlines()[-1])
        rows.append({"method": kind, "problems": 64, "batched_s_per_step": round(batched, 4),
                     "loop_s_per_step": round(looped, 4), "speedup": round(looped / batched, 2),
                     "peak_mb_64": round(mem[64]["peak_mb"], 1), "peak_mb_1000_chunk64": round(mem[1000]["peak_mb"], 1),
                     "wall_s_1000_chunk64": round(mem[1000]["wall_s"], 1)})
        print(rows[-1], flush=True)
    out = Path(args.out)
    write_csv(out / "throughput.csv", rows, comment=f"{command_line('dgp_untrained.py')} | {hardware_text()} | "
                                                     f"{STEPS} steps per solve, one run, fp32; the loop's time "
                                                     "excludes building each problem's objective")
    _plot_throughput(rows, out / "throughput.png")


def _single(obj, p, kind):
    """The objective of problem p alone (the same network and settings)."""
    y = obj.score.y[p:p + 1]
    if kind == "dgp":
        return DGPObjective(y, obj.A, obj._G, cut=3, warmup=0, adapt=0, stop="holdout")
    return UntrainedObjective(y, obj.score.A, SkipNet((1, 28, 28), width=32))


def _plot_throughput(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    names = [r["method"] for r in rows]
    xs = np.arange(len(rows))
    ax.bar(xs - 0.2, [r["loop_s_per_step"] for r in rows], 0.4, label="loop over 64 problems")
    ax.bar(xs + 0.2, [r["batched_s_per_step"] for r in rows], 0.4, label="64 problems batched")
    for i, r in enumerate(rows):
        ax.text(i + 0.2, r["batched_s_per_step"], f"{r['speedup']}x", ha="center", va="bottom")
    ax.set_xticks(xs, names)
    ax.set_ylabel("seconds per step")
    ax.set_title("per-problem weights: one step, MNIST, CPU fp32")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


#: what the quality check solves per dataset: the test sample, the prior, and its recipe's engine settings
#: The quality check's methods unless --methods names others (ILO always runs: the others are paired with it).
DEFAULT_METHODS = ("dgp (held-out)", "dgp (discrepancy)", "deep-decoder", "dip")
QUALITY = {"mnist": ("mnist_test300", "mnist", dict(restarts=10, steps=300, lr=0.3, schedule="cosine")),
           "celeba": ("celeba_test64", "celeba64", dict(restarts=2, steps=300, lr=0.1, schedule="cosine"))}


def quality(args):
    sample, prior, engine = QUALITY[args.dataset]
    x = ganprior.data.load_sample(sample)[: args.n_images]
    G = ganprior.load_prior(prior)
    engine = dict(engine, precision=args.precision, seed=list(range(len(x))))
    out = Path(args.out)
    rows = []
    for m in args.m:
        A, y = measure(x, m, args.noise, 0)
        sigma = args.noise / math.sqrt(m)
        start = time.perf_counter()
        ilo = ganprior.recover(y, A, G, method="ilo", return_result=True, **engine)
        ilo_wall = time.perf_counter() - start
        # dgp continues ILO with ILO's options, which it reads from the prior's recipe for ILO at this m (lam, cut,
        # radius, warm-up: registry.method_recipe), the weights moving over the second half of the steps after
        # the warm-up (its default adapt; the last quarter with a warm-up of half the steps)
        methods = {
            "ilo": lambda: ilo.x,
            "dgp (held-out)": lambda: ganprior.recover(y, A, G, method="dgp", stop="holdout",
                                                       lr_weights=args.lr_weights, **engine),
            "dgp (discrepancy)": lambda: ganprior.recover(y, A, G, method="dgp", stop="discrepancy", noise_std=sigma,
                                                          lr_weights=args.lr_weights, **engine),
            "dgp (discrepancy, progressive)": lambda: ganprior.recover(
                y, A, G, method="dgp", stop="discrepancy", noise_std=sigma, lr_weights=args.lr_weights,
                progressive=True, **engine),
            "deep-decoder": lambda: ganprior.recover(y, A, method="deep-decoder", noise_std=sigma, dtype="float32",
                                                     iterations=args.iterations),
            "dip": lambda: ganprior.recover(y, A, method="dip", noise_std=sigma, dtype="float32",
                                            iterations=args.iterations),
        }
        for name, run in methods.items():
            if name not in (args.methods or DEFAULT_METHODS) and name != "ilo":
                continue
            start = time.perf_counter()
            x_hat = torch.as_tensor(run())
            wall = ilo_wall if name == "ilo" else time.perf_counter() - start
            err = (x_hat - x).pow(2).flatten(1).mean(1).numpy()
            mean, ci = mean_ci(err)
            db = (10 * np.log10(1.0 / err))
            if name == "ilo":
                ilo_db = db
            gain, gain_ci = mean_ci(db - ilo_db)
            rows.append({"m": m, "method": name, "mse": f"{mean:.5f}", "ci95": f"{ci:.5f}",
                         "psnr": f"{db.mean():.2f}", "gain_over_ilo_db": f"{gain:.2f}", "gain_ci95": f"{gain_ci:.2f}",
                         "images": len(x), "wall_s": round(wall, 1), "per_image": " ".join(f"{e:.5f}" for e in err)})
            print({k: v for k, v in rows[-1].items() if k != "per_image"}, flush=True)
            write_csv(out / f"{args.name}.csv", rows,  # after every row: a stopped run keeps what it measured
                      comment=f"{command_line('dgp_untrained.py')} | {hardware_text()} | {sample}, benchmark "
                              f"protocol (measure, noise {args.noise}), precision {args.precision}")
    _plot_quality(rows, out / f"{args.name}.png")


def _plot_quality(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ms = sorted({r["m"] for r in rows})
    names = list(dict.fromkeys(r["method"] for r in rows))
    fig, ax = plt.subplots(figsize=(6, 3.4))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        vals = [next(float(r["mse"]) for r in rows if r["m"] == m and r["method"] == name) for m in ms]
        cis = [next(float(r["ci95"]) for r in rows if r["m"] == m and r["method"] == name) for m in ms]
        ax.bar(np.arange(len(ms)) + (i - (len(names) - 1) / 2) * width, vals, width, yerr=cis, label=name)
    ax.set_xticks(np.arange(len(ms)), [f"m = {m}" for m in ms])
    ax.set_yscale("log")
    ax.set_ylabel("MSE per pixel (95% CI)")
    ax.set_title(f"first {rows[0]['images']} test images, CPU fp32")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "one":
        torch.set_num_threads(1)
        return one_case(argv[1], int(argv[2]), int(argv[3]) or None)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["throughput", "quality"])
    parser.add_argument("--out", default="benchmarks/results/dgp_untrained")
    parser.add_argument("--n-images", type=int, default=32)
    parser.add_argument("--m", type=int, nargs="+", default=[25, 200])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--dataset", choices=sorted(QUALITY), default="mnist", help="quality: the test images")
    parser.add_argument("--methods", nargs="+", default=None, help="quality: a subset of the methods")
    parser.add_argument("--name", default="quality_mnist", help="file name of the quality CSV / PNG (no extension)")
    parser.add_argument("--noise", type=float, default=0.1, help="quality: ||eta|| (the CelebA grid's is 0.01)")
    parser.add_argument("--lr-weights", type=float, default=1e-4, help="quality: dgp's step on the weights")
    parser.add_argument("--precision", default="fp32", help="quality: the solves' precision (auto: bf16 where native)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    (throughput if args.what == "throughput" else quality)(args)


if __name__ == "__main__":
    main()
