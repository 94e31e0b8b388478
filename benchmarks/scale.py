"""Scale: the 10,000 MNIST test digits recovered in one call (chunked, bounded memory), and sharded over processes.

Problem: every digit of the MNIST test split, m Gaussian measurements (one operator, ``measurement_operator
("gaussian", m, (1, 28, 28), seed=0)``), noise ||eta|| = 0.1 seeded per image, the bundled ``mnist`` prior, CSGM
with its recipe's lam, ``--restarts`` x ``--steps`` Adam steps (a scale test: fewer than the accuracy protocol of
the error-vs-m benchmark), per-image latent seeds ``i``.  Two runs, each in fresh processes:

1. **one call**: ``ganprior.recover(y, A, "mnist", ..., row_chunk=C)`` on all N problems at once; the engine
   optimises C rows at a time, so memory follows C, not N;
2. **sharded**: ``torchrun --nproc_per_node=W -m ganprior recover --images digits.npy ...`` (the file workflow of
   :mod:`ganprior.jobs`, chunks of C images shared round-robin by the ranks, gloo on the CPU), then the merge.

Reported (``scale.csv``): wall time, problems/s, peak resident memory of the largest process (on a GPU: the
one call's peak CUDA memory allocated), mean MSE / PSNR,
and the largest difference between the two runs' images (same operator, noise and seeds: equal up to rounding).

Usage (the committed run)::

    python benchmarks/scale.py --n 10000 --m 200 --restarts 1 --steps 100 --chunk 1000 --workers 2 \
        --out benchmarks/results/scale
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import command_line, hardware_text, write_csv
from error_vs_measurements import default_data_root

ONE_CALL = r"""
import json, resource, sys, time, torch
cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
import numpy as np
import ganprior
from ganprior.jobs import image_noise
from ganprior.operators import measurement_operator
dev = torch.device(cfg["device"])
x = torch.from_numpy(np.load(cfg["images"])).to(dev)
N, m = x.shape[0], cfg["m"]
A = measurement_operator("gaussian", m, tuple(x.shape[1:]), 0).to(dev)
y = A(x) + image_noise(list(range(N)), m, cfg["noise"], 0).to(dev)
G = ganprior.load_prior("mnist", device=dev)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
x_hat = ganprior.recover(y, A, G, restarts=cfg["restarts"], steps=cfg["steps"], precision=cfg["precision"],
                         seed=list(range(N)), row_chunk=cfg["chunk"] * cfg["restarts"])
sec = time.perf_counter() - t
np.save(cfg["out"], x_hat.reshape(x.shape).float().cpu().numpy())
peak = (torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps({"seconds": sec, "peak_mb": peak,
                  "base_mb": base}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10000, help="test digits (the first n)")
    parser.add_argument("--m", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--restarts", type=int, default=1)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=1000, help="images per engine batch / per file chunk")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                        help="auto (default): bf16 where the device computes it natively, else fp32")
    parser.add_argument("--workers", type=int, default=2, help="processes of the sharded run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the sharded run uses one GPU per rank)")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="folder with mnist/ (default $GANPRIOR_DATA or ../shared/data beside the repository)")
    parser.add_argument("--out", default="benchmarks/results/scale")
    args = parser.parse_args(argv)
    import torch

    import ganprior
    from ganprior.data import load_mnist

    args.precision = ganprior.hardware.resolve_precision(args.precision, args.device, owner="scale.py")[0]

    root = args.data_root or default_data_root()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "scratch"  # large intermediate files (not committed; removed at the end)
    work.mkdir(exist_ok=True)
    x = load_mnist(root / "mnist", split="test")[0][: args.n]
    images = work / "digits.npy"
    np.save(images, x.numpy().astype(np.float32))
    cfg = dict(images=str(images), m=args.m, noise=args.noise, restarts=args.restarts, steps=args.steps,
               chunk=args.chunk, precision=args.precision, threads=args.threads, device=args.device, out=str(work / "one_call.npy"))
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    # the sharded run first: the peak memory of terminated children (RUSAGE_CHILDREN) is then its own
    shard_dir = work / "sharded"
    shutil.rmtree(shard_dir, ignore_errors=True)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.workers}",
           "-m", "ganprior", "recover", "--images", str(images), "--measurements", str(args.m),
           "--noise-norm", str(args.noise), "--chunk", str(args.chunk), "--restarts", str(args.restarts),
           "--steps", str(args.steps), "--precision", args.precision, "--threads", str(args.threads),
           "--seed", "0", "--no-png", "--out", str(shard_dir)]
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    sharded_s = time.perf_counter() - t
    sharded_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far

    text = subprocess.run([sys.executable, "-c", ONE_CALL, json.dumps(cfg)], env=env, check=True,
                          capture_output=True, text=True).stdout
    one = json.loads(text.strip().splitlines()[-1])
    print("one call:", one, flush=True)

    x_one = torch.from_numpy(np.load(work / "one_call.npy"))
    x_sh = torch.from_numpy(np.load(shard_dir / "x_hat.npy")).reshape(x_one.shape)
    rows = []
    for label, xh, sec, peak in (("one call", x_one, one["seconds"], one["peak_mb"]),
                                 (f"torchrun x{args.workers}", x_sh, sharded_s, sharded_peak)):
        mse = ganprior.metrics.mse(xh, x)
        rows.append(dict(run=label, problems=len(x), m=args.m, restarts=args.restarts, steps=args.steps,
                         chunk=args.chunk, precision=args.precision, threads_per_process=args.threads,
                         seconds=round(sec, 1), problems_per_s=round(len(x) / sec, 2),
                         peak_rss_mb=round(peak, 0), mse_mean=f"{float(mse.mean()):.5f}",
                         psnr_mean=round(float(ganprior.metrics.psnr(xh, x).mean()), 2)))
    diff = float((x_one - x_sh).abs().max())
    command = command_line("scale.py", argv)
    write_csv(out / "scale.csv", rows,
              comment=f"{command}  | {hardware_text(args.device, args.threads)}, {platform.machine()}, "
                      f"{os.cpu_count()} cores; "
                      f"max |one call - sharded| = {diff:.3g}; the sharded run's peak is the largest process's "
                      f"(the torchrun launcher included); its seconds are end to end (process start, imports, the "
                      f"prior, the merge), the one call's the recover call only")
    (out / "metadata.json").write_text(json.dumps(dict(command=command, sharded_command=" ".join(
        ["torchrun" if c == "torch.distributed.run" else c for c in cmd[2:]]).replace(str(work), "<out>/scratch"),
        max_abs_diff=diff, base_mb_one_call=one["base_mb"], torch=torch.__version__,
        hardware=dict(ganprior.hardware.hardware_info(args.device), threads=args.threads)), indent=2) + "\n")
    shutil.rmtree(work)
    for r in rows:
        print(r)
    print("max |one call - sharded|:", diff)


if __name__ == "__main__":
    main()
