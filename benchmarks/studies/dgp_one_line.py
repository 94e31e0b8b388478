"""What the one-line call ``recover(y, A, "celeba64", method="dgp")`` gives against ``method="ilo"``.

Issue 41 asks that dgp never be worse than ILO beyond the CI.  With a bundled prior, dgp's first stages are the ILO
of the prior's recipe at this m (``registry.method_recipe``), and the weights move over the second half of the
steps after ILO's warm-up.  On ``--n`` CelebA validation faces (the last of the training split, which ``celeba64``
did not see; A and the noise drawn as the grid draws them, ``ganprior.benchmark.protocol.measure`` with seed 1,
||eta|| = ``--noise``), per ``--m``: ILO by the one-line call, then dgp by the one-line call with each stop:
``default`` (nothing given: without the noise level the weights do not move), ``holdout`` (``stop="holdout"``:
10% of the rows held out of every stage) and ``discrepancy`` (``noise_std`` given) -- ``--stops`` picks them --
and, with ``--alternatives CUT:RADIUS``, dgp with ``noise_std`` and that cut and radius given (the check behind the
recipe's dgp entry).  ``--split test``: the grid's 64 test faces instead, drawn as the grid draws them (seed 0).
Per case: mean PSNR, the paired gain over ILO in dB with its 95% CI, the options dgp ran, the seconds.  Writes
``dgp_one_line.csv`` (rewritten after each m)::

    python benchmarks/studies/dgp_one_line.py --n 8 --m 2500 --alternatives 6:3 --out runs/dgp_one_line
    python benchmarks/studies/dgp_one_line.py --split test --n 64 --m 2500 --stops discrepancy --out runs/dgp_test
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=8, help="validation faces")
    parser.add_argument("--m", type=int, nargs="+", default=[500, 2500])
    parser.add_argument("--noise", type=float, default=0.01, help="||eta|| (the CelebA grid's)")
    parser.add_argument("--stops", nargs="+", choices=["default", "holdout", "discrepancy"],
                        default=["default", "holdout", "discrepancy"], help="the dgp calls made")
    parser.add_argument("--alternatives", nargs="*", default=[], metavar="CUT:RADIUS",
                        help="dgp with noise_std and this cut and radius given (a check of the recipe's)")
    parser.add_argument("--split", choices=["validation", "test"], default="validation",
                        help="validation faces (seed 1) or the grid's 64 test faces (seed 0)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.split == "validation":
        x, ids = validation_images("celeba", args.n, default_data_root())
        faces, draw = f"validation faces {ids[0]}-{ids[-1]} of the CelebA 10k split", 1
    else:
        x = ganprior.data.load_sample("celeba_test64")[: args.n]
        faces, draw = f"the first {len(x)} of celeba_test64 (the grid's test faces)", 0
    seeds = list(range(len(x)))
    path = args.out / "dgp_one_line.csv"
    comment = f"{command_line('studies/dgp_one_line.py', argv)} | {hardware_text(threads=args.threads)} | {faces}"
    rows = []
    keys = ("lam", "cut", "radius", "warmup", "adapt")
    defaults = ganprior.get_method("dgp").hyperparameters
    for m in args.m:
        A, y = measure(x, m, args.noise, draw)
        sigma = args.noise / math.sqrt(m)
        start = time.perf_counter()
        ilo = ganprior.recover(y, A, "celeba64", method="ilo", seed=seeds, return_result=True)
        cases = [("ilo", "", ilo.x, time.perf_counter() - start, ilo.info["settings"])]
        base = psnr(ilo.x, x)
        calls = {"default": {}, "holdout": {"stop": "holdout"}, "discrepancy": {"noise_std": sigma}}
        runs = [(stop, calls[stop]) for stop in args.stops]
        runs += [(f"discrepancy, cut {c} radius {r}", {"noise_std": sigma, "cut": int(c), "radius": float(r)})
                 for c, r in (a.split(":") for a in args.alternatives)]
        for stop, extra in runs:
            start = time.perf_counter()
            res = ganprior.recover(y, A, "celeba64", method="dgp", seed=seeds, return_result=True, **extra)
            cases.append(("dgp", stop, res.x, time.perf_counter() - start, {**defaults, **res.info["settings"]}))
        for name, stop, x_hat, wall, settings in cases:
            p = psnr(x_hat, x)
            mean, ci = mean_ci(p)
            gain, gain_ci = mean_ci(p - base)
            rows.append(dict(m=m, method=name, stop=stop, n=len(x), psnr=f"{mean:.2f}", psnr_ci95=f"{ci:.2f}",
                             gain_db=f"{gain:.2f}", gain_ci95=f"{gain_ci:.2f}", seconds=f"{wall:.1f}",
                             options=" ".join(f"{k}={settings.get(k)}" for k in keys if k in settings)))
            print(rows[-1], flush=True)
        write_csv(path, rows, comment=comment)
    return rows


if __name__ == "__main__":
    main()
