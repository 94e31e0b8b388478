"""Reconstruction error vs number of measurements (Bora et al. 2017, Fig. 1), MNIST / Fashion-MNIST / CelebA-64.

A short command line over :mod:`ganprior.benchmark` (protocols, search, run store, report; ``ganprior benchmark``
runs the same study on one's own prior and images). Protocol (see ../shared/REFERENCE.md section 1 and
benchmarks/README.md; ``ganprior.benchmark.PROTOCOLS``):

- test images: the first 300 MNIST (Fashion-MNIST) test images; the 64 CelebA test faces of the paper;
- A ~ N(0, 1/m) (a fresh matrix per m, shared by the test images), noise eta with per-entry std
  ||eta|| / sqrt(m), ||eta|| = 0.1 (MNIST) or 0.01 (CelebA);
- methods: CSGM with the bundled prior (or, where PRIOR_CHOICES lists several, the one the validation images
  choose per m), Lasso (pixel), Lasso-DCT, Lasso-wavelet (Haar);
- every hyperparameter (CSGM lam, each Lasso's alpha) is chosen per m on validation images drawn from the
  TRAINING split (the last --n-val = 32 images), never on the test images; the chosen values are recorded per
  row. A value chosen at an open edge of its grid widens the grid geometrically past that edge (x10 per step,
  :func:`ganprior.benchmark.widen_search`) until the validation error turns up, a natural bound is reached (lam = 0 is a grid point
  reachable at the low edge of lam: below 1e-3 the next step is lam = 0; alpha > 0 has no reachable bound) or
  the search limit; the whole search (every value tried and its validation MSE) is in ``selection.log``,
  ``selection.json``, ``metadata.json`` and, per validation image, ``validation.csv``;
- metric: per-pixel MSE in [0, 1] pixels and PSNR; mean with 95% CI = 1.96 std / sqrt(N).

Runs made at once into separate folders (one per method, say) are merged into one with ``--merge FOLDER ...``
(rows, searches, validation rows and commands; then the summary as with ``--summary-only``).

Outputs in --out: ``per_image.csv`` (appended one whole chunk per write as it goes: an interrupted run resumes
from it without duplicated or lost rows; a torn last line is dropped; a row solved with another value than its
search now chooses -- a search redone on a wider grid -- is solved again, a row of the chosen value is kept),
``selection.json`` (the finished searches: a resumed run reuses them),
``summary.csv``, ``error_vs_m.png``, ``savings.csv`` + ``savings.png`` (the m each method needs for a target
error, interpolated, and the Lasso-m / CSGM-m ratio), ``metadata.json`` (versions, seeds, device, times, command).

Examples::

    python benchmarks/error_vs_measurements.py --dataset mnist --out benchmarks/results/mnist
    python benchmarks/error_vs_measurements.py --dataset celeba --out benchmarks/results/celeba
    python benchmarks/error_vs_measurements.py --dataset mnist --quick --out /tmp/quick

Whether committed rows still come out of today's code (the first chunk of every (method, m) solved again, with the
chunk and threads the rows were solved with; exit status 1 on a difference)::

    python benchmarks/error_vs_measurements.py --dataset mnist --threads 1 --chunk 100 --verify 100 \
        --out benchmarks/results/mnist

How many validation images the choice needs (searches on a pool of 128, then the choice on disjoint subsets)::

    python benchmarks/error_vs_measurements.py --dataset mnist --methods csgm --m 25 100 --n-val 128 \
        --validation-only --out benchmarks/results/mnist/validation_size
    python benchmarks/error_vs_measurements.py --dataset mnist --validation-report 8 16 32 64 \
        --out benchmarks/results/mnist/validation_size
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch

import ganprior
from ganprior.benchmark import (PROTOCOLS, attach_priors, default_data_root, measure, merge_runs, preset,
                                run_grid, validation_images, validation_report, verify_rows)
from ganprior.benchmark.protocol import ALPHAS, BEYOND, N_VAL, auto_candidate_methods
from ganprior.benchmark.store import chosen_prior, load_selection, row_search, write_csv  # noqa: F401
from ganprior.benchmark.search import solve_rows  # noqa: F401

# what benchmarks/auto_cost.py and benchmarks/one_line_call.py read from this script (``E.<name>``)
PRIOR_CHOICES = {name: p.prior_choices for name, p in PROTOCOLS.items() if p.prior_choices}
__all__ = ["main", "measure", "default_data_root", "preset", "PRIOR_CHOICES", "load_selection", "write_csv",
           "auto_candidate_methods", "row_search", "chosen_prior", "solve_rows"]


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(PROTOCOLS), default="mnist")
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--m", type=int, nargs="+", default=None)
    parser.add_argument("--n-images", type=int, default=None, help="test images (default: the paper's set)")
    parser.add_argument("--n-val", type=int, default=N_VAL,
                        help=f"validation images from the training split (default {N_VAL})")
    parser.add_argument("--restarts", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--chunk", type=int, default=50, help="images per batch (and per CSV append)")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                        help="auto (default): bf16 where the CPU computes it natively (the committed rows), else fp32")
    parser.add_argument("--schedule", choices=["constant", "cosine"], default="cosine")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="folder with mnist/, fashion_mnist/, celeba/ (validation images from the training split; "
                             "default $GANPRIOR_DATA or ../shared/data beside the repository)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 4 images, two m, short CSGM, no tuning")
    parser.add_argument("--random-prior", action="store_true", help="untrained generator (tests of the script only)")
    parser.add_argument("--prior", default=None,
                        help="a bundled prior's name or a prior / training-run folder instead of the preset's "
                             "(e.g. a candidate prior, compared with --validation-only)")
    parser.add_argument("--summary-only", action="store_true",
                        help="compute nothing: summarise, plot and write metadata from the rows in per_image.csv")
    parser.add_argument("--validation-only", action="store_true",
                        help="run the hyperparameter searches only (selection.log, validation.csv), no test images")
    parser.add_argument("--validation-report", type=int, nargs="+", default=None, metavar="K",
                        help="compute nothing: from validation.csv in --out, how often the choice on k validation "
                             "images agrees with the choice on the whole pool (validation_size.csv / .md)")
    parser.add_argument("--verify", type=int, default=None, metavar="K",
                        help="compute nothing new: solve the first K test images of every (method, m) with rows in "
                             "--out again, as the grid solves them, and report how many MSEs are identical (give "
                             "the --chunk and --threads the rows were solved with; exit status 1 on a difference)")
    parser.add_argument("--merge", nargs="+", default=None, metavar="FOLDER",
                        help="first merge the rows, searches and commands of runs made into these folders into --out")
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    args.precision = ganprior.hardware.resolve_precision(args.precision, "cpu", owner="error_vs_measurements")[0]
    if args.merge:
        print(f"merged {merge_runs(args.out, args.merge, auto_candidate_methods(preset(args.dataset)))} rows "
              f"into {args.out}")
    if args.validation_report:
        for r in validation_report(args.out, args.validation_report):
            print(f"{r['method']:>14} m={r['m']:>5} k={r['k']:>3}: agree {r['agree']:.0%} "
                  f"excess {r['excess_mean']:.2g} ({r['excess_rel_mean']:.1%})")
        return None
    torch.set_num_threads(args.threads)
    cfg = preset(args.dataset)
    if args.quick:
        cfg.update(n_test=4, restarts=3, steps=300, lr=0.05, lams=[0.0], m=cfg["m"][1:4:2])
        cfg["alphas"] = {k: [v[1]] for k, v in ALPHAS.items()}
        cfg["beyond_grids"] = {k: [v["grid"][1]] for k, v in BEYOND.items()}
        cfg["beyond_choices"] = {}
        cfg["warmup_choices"] = {}
    for key in ("restarts", "steps", "lr"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    cfg["chunk"] = args.chunk
    cfg["schedule"] = args.schedule
    methods = args.methods or cfg["methods"]
    ms = args.m or cfg["m"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()

    x_test = ganprior.data.load_sample(cfg["sample"])[: args.n_images or cfg["n_test"]]
    image_shape = tuple(x_test.shape[1:])
    if args.random_prior:
        from ganprior.models import build_generator

        arch = "dcgan28" if image_shape[-1] == 28 else "dcgan64"
        G = ganprior.Generator(build_generator(arch, latent_dim=20, width=16, seed=0), name="random")
    else:
        G = ganprior.load_prior(args.prior or cfg["prior"])
    # CSGM's candidate priors (prior_choices; not with --prior or --random-prior, which fix one, nor --quick)
    names = [] if args.prior or args.random_prior or args.quick else PROTOCOLS[args.dataset].prior_choices
    prev = attach_priors(cfg, G, names, out)  # (after --merge wrote metadata.json)

    per_image = out / "per_image.csv"
    if args.verify is not None:
        if args.verify < 1 or not per_image.is_file():
            raise SystemExit(f"--verify needs K >= 1 (got {args.verify}) and rows to check in {per_image}")
        return verify_rows(out, args.methods, ms, x_test, G, cfg, args.precision, image_shape, args.verify)
    return run_grid(
        out, cfg, G, x_test, lambda: validation_images(args.dataset, args.n_val, args.data_root or default_data_root()),
        methods=methods, ms=ms, precision=args.precision, dataset=args.dataset, n_val=args.n_val, chunk=args.chunk,
        validation_only=args.validation_only, summary_only=args.summary_only, threads=args.threads, prev=prev,
        start=start, title=f"{args.dataset}: {len(x_test)} test images, ||eta|| = {cfg['noise']}"
                            + (f", prior {args.prior}" if args.prior else ""),
        command="python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]))


if __name__ == "__main__":
    result = main()
    verified = any(a.startswith("--verify") for a in sys.argv[1:])
    if verified and any(r["status"] != "checked" or r["identical"] < r["n"] for r in result):
        sys.exit(1)
