"""lam chosen from the measurements alone (cross-validation) against lam tuned on validation images with ground truth.

Protocol: the error-vs-m benchmark's MNIST problems (``benchmarks/error_vs_measurements.py``: the first ``--n``
of its 300 test digits, its operator and noise per m, ||eta|| = 0.1, CSGM with the bundled prior, 10 restarts x
300 Adam steps, cosine from lr 0.3, bf16, seed 0), solved three ways per m:

- ``tuned``: lam as that benchmark chose it on 32 validation digits with ground truth (``selection.json``);
- ``cv``: ``recover(..., lam="cv", choice="per-problem")``, each digit's lam chosen from its own held-out rows
  (10% of them), refit;
- ``cv-shared``: ``choice="shared"`` (``recover``'s default for an argument since this benchmark), one lam for the
  batch by the held-out error summed over the digits. It is
  computed from the same candidate solves as ``cv`` (their held-out errors are returned in ``info``): every digit
  is refit with the shared value, which is what ``choice="shared"`` does (``tests/solvers/test_selection.py`` checks
  the equality).

Writes ``per_image.csv``, ``summary.csv`` (mean MSE with 95% CI, the ratio to ``tuned``, the lams chosen) and
``metadata.json`` into ``--out``.  Usage (the committed run)::

    python benchmarks/studies/selection_check.py --n 100 --m 25 50 100 --threads 1 \\
        --out benchmarks/results/selection_check
"""

from __future__ import annotations

import argparse
import collections
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import ganprior
from ganprior.data import load_sample
from ganprior.solvers.selection import CV_GRIDS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for _common
from _common import command_line, write_csv  # noqa: E402
from ganprior.benchmark import PROTOCOLS, preset  # noqa: E402
PRESETS = {name: preset(name) for name in PROTOCOLS}  # the protocols as the study reads them
from ganprior.benchmark import measure  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="test digits (the first n of the benchmark's 300)")
    parser.add_argument("--m", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--selection", default="benchmarks/results/mnist/selection.json",
                        help="the benchmark's validation searches (the tuned lam per m)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/selection_check")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = PRESETS["mnist"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tuned_lam = {int(r["m"]): float(r["chosen"]) for r in json.loads(Path(args.selection).read_text()).values()
                 if r["method"] == "csgm"}
    x_all = load_sample(cfg["sample"])[: cfg["n_test"]]
    G = ganprior.load_prior(cfg["prior"])
    engine = dict(restarts=cfg["restarts"], steps=cfg["steps"], lr=cfg["lr"], schedule="cosine", precision="bf16",
                  seed=0)
    rows, summary, start = [], [], time.time()
    for m in args.m:
        A, y_all = measure(x_all, m, cfg["noise"], seed=0)
        x, y = x_all[: args.n], y_all[: args.n]
        t = time.perf_counter()
        # one 10% split, as the committed run (recover's default is now 5 folds at m <= 54)
        res = ganprior.recover(y, A, G, lam="cv", choice="per-problem", cv_fraction=0.1, return_result=True,
                               **engine)
        t_cv = time.perf_counter() - t
        sel = res.info["selection"]
        shared = sel["candidates"][int(sel["held_out_error"].sum(dim=0).argmin())]
        results = {"tuned": (ganprior.recover(y, A, G, lam=tuned_lam[m], **engine), [tuned_lam[m]] * args.n),
                   "cv": (res.x, sel["chosen"]),
                   "cv-shared": (ganprior.recover(y, A, G, lam=shared, **engine), [shared] * args.n)}
        base = None
        for way, (x_hat, lams) in results.items():
            mse = ganprior.metrics.mse(x_hat, x).double()
            rows += [dict(way=way, m=m, image=i, lam=lams[i], mse=f"{float(mse[i]):.6g}") for i in range(args.n)]
            mean, ci = float(mse.mean()), float(1.96 * mse.std() / np.sqrt(args.n))
            base = mean if way == "tuned" else base
            summary.append(dict(way=way, m=m, n=args.n, mse_mean=f"{mean:.6g}", ci95=f"{ci:.3g}",
                                ratio_to_tuned=f"{mean / base:.3f}",
                                lams=" ".join(f"{k:g}:{v}" for k, v in sorted(collections.Counter(lams).items()))))
            print(summary[-1], flush=True)
        summary[-2]["seconds"] = round(t_cv, 1)
    write_csv(out / "per_image.csv", rows)
    write_csv(out / "summary.csv", summary,
              fieldnames=["way", "m", "n", "mse_mean", "ci95", "ratio_to_tuned", "lams", "seconds"])
    cmd = command_line("studies/selection_check.py", argv)
    (out / "metadata.json").write_text(json.dumps(dict(
        command=cmd, engine=engine, tuned_lam={m: tuned_lam[m] for m in args.m}, cv_grid=list(CV_GRIDS["lam"]), cv_fraction=0.1, prior=cfg["prior"], noise_norm=cfg["noise"],
        torch=torch.__version__, machine=platform.machine(), threads=args.threads,
        wall_time_s=round(time.time() - start, 1)), indent=2) + "\n")


if __name__ == "__main__":
    main()
