"""``ganprior benchmark``: how much does a prior save over the Lasso?  The error-vs-m study on your own prior and images.

``ganprior benchmark --prior NAME|FOLDER --images DIR --m 25 50 100 --out OUTDIR`` splits the last ``--n-val``
images off as validation images, chooses every hyperparameter (CSGM's lam, each Lasso's alpha) per m on them
(a grid widened past an open edge), solves the rest as test images with CSGM and the Lassos (pixel, DCT, wavelet)
and writes, in OUTDIR: ``summary.csv`` (mean per-pixel MSE and PSNR with 95% CIs per method and m),
``error_vs_m.png``, ``savings.csv`` / ``savings.png`` (at each m, the m the best Lasso needs for the prior's
error, and the ratio), ``selection.log`` (every value tried), ``per_image.csv``, ``table.md`` and
``metadata.json``.  An interrupted run resumes from OUTDIR.  The study is :mod:`ganprior.benchmark`'s.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from ._args import check_not_input, nonnegative_float, positive_float, positive_int, renamed_flag

NAME = "benchmark"
HELP = "error vs measurements on your own prior and images: the prior against the Lassos, and the m it saves"
METHODS = ("csgm", "lasso", "lasso-dct", "lasso-wavelet", "ilo", "sparse-gen")


def _add_arguments(parser):
    """The options of ``ganprior benchmark``."""
    parser.add_argument("--prior", required=True, help="a bundled prior's name or a prior / training-run folder")
    parser.add_argument("--images", required=True,
                        help="a folder of images (or a .npy / .npz array); the last --n-val (by name) are the "
                             "validation images, the others the test images")
    parser.add_argument("--m", type=positive_int, nargs="+", required=True, help="numbers of measurements")
    parser.add_argument("--out", required=True, help="results folder (resumed if it holds a run)")
    parser.add_argument("--n-val", type=positive_int, default=16,
                        help="validation images split off the end of --images (default 16)")
    parser.add_argument("--n-test", type=positive_int, default=None, help="test images (default: all the others)")
    renamed_flag(parser, "--noise-norm", "--noise", type=nonnegative_float, default=0.1,
                 help="||eta||, the norm of the noise per image")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS[:4]),
                        help="the prior's methods and the baselines (default: csgm and the three Lassos)")
    parser.add_argument("--lams", type=nonnegative_float, nargs="+", default=[0.01, 0.1, 1.0],
                        help="CSGM's lam grid, widened past an open edge (default 0.01 0.1 1)")
    parser.add_argument("--restarts", type=positive_int, default=None, help="default: the prior's recipe")
    parser.add_argument("--steps", type=positive_int, default=None, help="default: the prior's recipe")
    parser.add_argument("--lr", type=positive_float, default=None, help="default: the prior's recipe")
    parser.add_argument("--chunk", type=positive_int, default=50, help="test images per batch (default 50)")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    parser.add_argument("--threads", type=positive_int, default=None, help="torch threads (default: torch's)")
    parser.set_defaults(check=_check)
    return parser


def _check(args):
    """Check the paths and counts before any work."""
    if not Path(args.images).exists():
        raise SystemExit(f"ganprior benchmark: error: argument --images: expected a folder of images or a .npy / "
                         f".npz file, got {args.images!r}, which does not exist")
    if Path(args.out).is_file():
        raise SystemExit(f"ganprior benchmark: error: argument --out: expected a folder, got the file {args.out!r}")
    check_not_input(args.out, "--out", {"--images": args.images})
    if len(set(args.m)) != len(args.m):
        raise SystemExit(f"ganprior benchmark: error: argument --m: expected distinct numbers, got {args.m}")
    if "csgm" not in args.methods:
        raise SystemExit(f"ganprior benchmark: error: argument --methods: expected csgm among them (the prior's "
                         f"errors are what the Lassos are compared with), got {' '.join(args.methods)}")


def _run(args) -> int:
    """Load the prior and the images, split off the validation images, run the study, print the savings."""
    import torch

    import ganprior
    from ganprior.benchmark import attach_priors, run_grid
    from ganprior.benchmark.protocol import N_VAL, Protocol
    from ganprior.data import load_images
    from ganprior.solvers.settings import ENGINE_DEFAULTS

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    start = time.time()
    G = ganprior.load_prior(args.prior)
    images = load_images(args.images, tuple(G.image_shape), data_range=(0.0, 1.0))
    if len(images) < args.n_val + 2:
        raise ValueError(f"--images: expected at least --n-val + 2 = {args.n_val + 2} images (validation and two "
                         f"test images), got {len(images)} in {args.images!r}")
    n_test = len(images) - args.n_val if args.n_test is None else min(args.n_test, len(images) - args.n_val)
    x_test, x_val = images[:n_test], images[len(images) - args.n_val:]
    val_ids = list(range(len(images) - args.n_val, len(images)))
    recipe = (getattr(G, "recipe", None) or {}).get("recover", {})
    budget = {k: getattr(args, k) if getattr(args, k) is not None else recipe.get(k, ENGINE_DEFAULTS[k])
              for k in ("restarts", "steps", "lr")}
    protocol = Protocol(prior=args.prior, sample=None, noise=args.noise_norm, methods=list(args.methods),
                        m=sorted(args.m), n_test=n_test, lams=list(args.lams), savings_targets=[], **budget)
    cfg = protocol.config()
    cfg.update(chunk=args.chunk, schedule=recipe.get("schedule", ENGINE_DEFAULTS["schedule"]))
    precision = ganprior.hardware.resolve_precision(args.precision, "cpu", owner="ganprior benchmark")[0]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    prev = attach_priors(cfg, G, (), out)
    name = Path(args.images).name
    summary = run_grid(out, cfg, G, x_test, lambda: (x_val, val_ids), methods=list(args.methods), ms=sorted(args.m),
                       precision=precision, dataset=name, n_val=args.n_val, chunk=args.chunk, prev=prev,
                       title=f"{name}: {n_test} test images, ||eta|| = {args.noise_norm}, prior {args.prior}",
                       command="ganprior " + " ".join(shlex.quote(a) for a in sys.argv[1:]), start=start,
                       threads=torch.get_num_threads(), val_source=str(args.images))
    from ganprior.benchmark import prior_savings

    for r in prior_savings(summary, "csgm"):
        at = "m <= " if r["best_baseline"] and r["best_baseline_m"] <= min(args.m) else "m = "
        need = (f"the best Lasso ({r['best_baseline']}) needs {at}{r['best_baseline_m']:.0f} for it "
                f"({r['savings']:.2g}x the prior's m)" if r["best_baseline"] else
                f"no Lasso reaches it at the m tried (up to {max(args.m)})")
        print(f"m = {r['m']}: the prior's MSE {r['mse']:.4g}; {need}")
    print(f"results in {out} (summary.csv, savings.csv, error_vs_m.png, selection.log); validation images: the "
          f"last {args.n_val} of {args.images} (default {N_VAL} in the committed grids)")
    return 0
