"""``ganprior recover``: recover images from measurements stored as ``.npy`` files."""

from __future__ import annotations

from ._args import (
    check_output,
    engine_arguments,
    nonnegative_float,
    positive_float,
    positive_int,
)

NAME = "recover"
HELP = "recover images from y.npy and A.npy with any registered method"


def _add_arguments(parser):
    """Options of ``ganprior recover``; ``--method`` lists the registered methods."""
    from ..solvers.registry import method_names

    parser.add_argument("--y", required=True, help=".npy file, shape (m,) or (P, m)")
    parser.add_argument("--A", required=True, help=".npy file, shape (m, n)")
    parser.add_argument("--method", default="csgm", choices=method_names(),
                        help="a registered method (see 'ganprior methods')")
    parser.add_argument("--prior", default="mnist", help="bundled prior name or a prior / run folder (latent methods)")
    parser.add_argument("--image-shape", type=positive_int, nargs="+", default=None, help="image shape (baselines)")
    parser.add_argument("--alpha", type=positive_float, default=None, help="sparsity weight (baselines)")
    parser.add_argument("--lam", type=nonnegative_float, default=None, help="weight of ||z||^2 (default: recipe)")
    engine_arguments(parser)
    parser.add_argument("--out", required=True, help="output .npy file")
    parser.set_defaults(check=_check)
    return parser


def _check(args):
    from pathlib import Path

    check_output(args.out, "--out", (".npy",))
    for option, path in (("--y", args.y), ("--A", args.A)):
        if not Path(path).is_file():
            raise SystemExit(f"ganprior: error: argument {option}: no such file {path!r}")


def _run(args) -> int:
    """Load y and A, recover, save; exit status 0."""
    import numpy as np

    import ganprior
    from ganprior.solvers.registry import get_method

    y = np.load(args.y, allow_pickle=False)
    A = np.load(args.A, allow_pickle=False)
    if get_method(args.method).kind == "latent":
        engine = {k: getattr(args, k) for k in ("restarts", "steps", "lr", "schedule", "precision", "optimizer")}
        for option in ("alpha", "image_shape"):
            if getattr(args, option) is not None:
                raise SystemExit(f"ganprior: error: --{option.replace('_', '-')} is for the sparse baselines, "
                                 f"not --method {args.method}")
        options = {"lam": args.lam} if "lam" in get_method(args.method).hyperparameters else {}
        x = ganprior.recover(y, A, args.prior, method=args.method, seed=args.seed, progress=True, **engine, **options)
    else:
        shape = tuple(args.image_shape) if args.image_shape else None
        x = ganprior.recover(y, A, method=args.method, image_shape=shape, alpha=args.alpha)
    np.save(args.out, x)
    print(f"wrote {args.out} with shape {x.shape}")
    return 0
