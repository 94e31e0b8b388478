"""dgp's schedule on validation faces: all layers at once or progressively, and the weights' step size.

Issue 41 asks for dgp's step size, schedule and stop validated on the benchmark's validation faces (the last
images of the CelebA training split, which ``celeba64`` did not see), not on the test faces.  Here, on ``--n``
such faces at each ``--m`` (A and the noise drawn as the grid draws them: ``ganprior.benchmark.protocol.measure``
with seed 1, the grid's validation seed; ||eta|| = ``--noise``, 0.1 as in the GlowIP table), the prior's recipe
for ILO runs first, and dgp continues ILO with ILO's options (lam, cut, radius, warm-up) and the discrepancy stop
(the noise level known), in every combination of ``--lr-weights`` and ``--schedule`` (``all``: the layers above
the cut at once, ``progressive``: one at a time, nearest the cut first), the weights moving after the fraction
``--adapt`` of the ``--steps`` (0.75 of the grid's 300 by default).  Per case: mean PSNR and the paired gain
over ILO in dB with its 95% CI, and the seconds.  Writes ``dgp_schedule.csv`` (rewritten after every case, so a
stopped run keeps what it measured)::

    python benchmarks/studies/dgp_schedule.py --n 8 --m 2500 --lr-weights 1e-4 3e-4 1e-3 \
        --schedule all progressive --out benchmarks/results/dgp_untrained
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import command_line, hardware_text, mean_ci, psnr, write_csv  # noqa: E402

import ganprior  # noqa: E402
from ganprior.benchmark.protocol import measure, validation_images  # noqa: E402
from ganprior.data import default_data_root  # noqa: E402

ENGINE = dict(restarts=2, steps=300, lr=0.1, schedule="cosine")  # the CelebA grid's preset


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=8, help="validation faces")
    parser.add_argument("--m", type=int, nargs="+", default=[2500])
    parser.add_argument("--noise", type=float, default=0.1, help="||eta||")
    parser.add_argument("--lr-weights", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3])
    parser.add_argument("--schedule", nargs="+", choices=["all", "progressive"], default=["all", "progressive"])
    parser.add_argument("--adapt", type=float, default=0.75, help="fraction of the steps before the weights move")
    parser.add_argument("--steps", type=int, default=ENGINE["steps"], help="steps of every solve (ILO's too)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    x, ids = validation_images("celeba", args.n, default_data_root())
    G = ganprior.load_prior("celeba64")
    engine = dict(ENGINE, steps=args.steps, seed=list(range(len(x))))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "dgp_schedule.csv"
    comment = f"{command_line('studies/dgp_schedule.py', argv)} | {hardware_text(threads=args.threads)} | " \
              f"validation faces {ids[0]}-{ids[-1]} of the CelebA 10k split"
    rows = []

    def record(m, name, schedule, lr_w, x_hat, wall, base, own):
        p = psnr(x_hat, x)
        mean, ci = mean_ci(p)
        gain, gain_ci = mean_ci(p - base)
        rows.append(dict(m=m, method=name, schedule=schedule or "", lr_weights=lr_w or "",
                         adapt=args.adapt if name == "dgp" else "", steps=args.steps, n=len(x), psnr=f"{mean:.2f}",
                         psnr_ci95=f"{ci:.2f}", gain_db=f"{gain:.2f}", gain_ci95=f"{gain_ci:.2f}",
                         seconds=f"{wall:.1f}", ilo_options=" ".join(f"{k}={v}" for k, v in own.items())))
        write_csv(path, rows, comment=comment)
        print({k: rows[-1][k] for k in ("m", "method", "schedule", "lr_weights", "psnr", "gain_db", "gain_ci95",
                                         "seconds")}, flush=True)

    for m in args.m:
        A, y = measure(x, m, args.noise, 1)
        sigma = args.noise / math.sqrt(m)
        start = time.perf_counter()
        ilo = ganprior.recover(y, A, G, method="ilo", return_result=True, **engine)
        base = psnr(ilo.x, x)
        own = {k: ilo.info["settings"][k] for k in ("lam", "cut", "radius", "warmup")}
        record(m, "ilo", None, None, ilo.x, time.perf_counter() - start, base, own)
        for schedule in args.schedule:
            for lr_w in args.lr_weights:
                start = time.perf_counter()
                x_hat = ganprior.recover(y, A, G, method="dgp", stop="discrepancy", noise_std=sigma,
                                         adapt=args.adapt, lr_weights=lr_w, progressive=schedule == "progressive",
                                         **own, **engine)
                record(m, "dgp", schedule, lr_w, x_hat, time.perf_counter() - start, base, own)
    return rows


if __name__ == "__main__":
    main()
