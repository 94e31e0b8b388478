"""``ganprior recover``: recover images from ``.npy`` measurements, or a whole folder / array of images.

Two modes:

- ``--y y.npy --A A.npy --out x.npy``: given measurements and operator;
- ``--images DIR|x.npy|x.npz --measurements M --operator gaussian --noise-norm 0.1 --out OUTDIR``: measurements
  simulated from the images with a seeded operator and per-image noise, recovered chunk by chunk into
  ``OUTDIR/parts`` (a rerun skips what is done), then merged into ``x_hat.npy``, ``metrics.csv``,
  ``recovered/*.png`` and ``figure.png``.  Under ``torchrun --nproc_per_node=N`` the chunks are shared
  among the processes (gloo on CPU, nccl on GPUs); the merged result is the same as one process's.  The
  processes must all start within ``GANPRIOR_DIST_TIMEOUT`` seconds (default 60), and ``WORLD_SIZE`` without
  torchrun's other variables is an error, before any work.

Both take a measurement model, ``--likelihood gaussian|magnitude|sign|poisson`` (``--photons N`` with
``poisson``; ``--sign-loss hinge|logistic``, ``--sign-scale S`` with the logistic loss, and with ``--images``
``--flip P``, with ``sign``; :mod:`ganprior.likelihoods`).  With ``--images`` each image is measured under it
with its noise seeded per image (``--noise-norm`` on :math:`Ax` or :math:`|Ax|`; signs and counts bring their
own, and ``--noise-norm`` must stay 0), the chunks are solved with it, and the parts record it: a rerun into the same
``--out`` with another model or ``--photons`` is refused.  Counts need an operator :math:`\\ge 0`:
``--likelihood poisson`` takes ``--operator nonnegative`` (random pixel averages) or ``identity`` (every pixel,
``--measurements`` = the pixels).  As with ``--y/--A``, another model than ``gaussian`` runs the ``--prior`` as
itself with ``--method csgm`` unless told otherwise (the recipes' per-m choices were validated for least
squares), and a method that does not take the model is refused before any work::

    ganprior recover --images digits.npy --measurements 200 --likelihood sign --out runs/one_bit
    ganprior recover --y y.npy --A A.npy --likelihood sign --sign-loss logistic --sign-scale 10 \\
        --method langevin --out runs/one_bit_samples.npy
    ganprior recover --images digits.npy --measurements 784 --operator identity --likelihood poisson \\
        --photons 10 --method ilo --out runs/counts
"""

from __future__ import annotations

import os

from ._args import (check_not_input, check_output, engine_arguments, method_arguments, method_options, nonnegative_float,
                    positive_float, positive_int, renamed_flag)

NAME = "recover"
HELP = "recover images from y.npy and A.npy, or a whole folder of images, with any registered method"


def _add_arguments(parser):
    """Options of ``ganprior recover``; ``--method`` lists the registered methods."""
    from ..likelihoods import LIKELIHOODS
    from ..operators import OPERATORS
    from ..solvers.registry import method_names

    src = parser.add_argument_group("input (give --y and --A, or --images)")
    src.add_argument("--y", default=None, help=".npy file, shape (m,) or (P, m)")
    src.add_argument("--A", default=None, help=".npy file, shape (m, n)")
    src.add_argument("--images", default=None, help="a folder of images, or a .npy / .npz array (N, C, H, W)")
    src.add_argument("--measurements", "--m", dest="m", type=positive_int, default=None,
                     help="measurements per image (with --images; spell it --measurements under torchrun, whose own "
                          "parser takes --m for one of its options)")
    src.add_argument("--operator", choices=OPERATORS, default="gaussian", help="simulated operator (with --images)")
    renamed_flag(src, "--noise-norm", "--noise", type=nonnegative_float, default=0.0,
                 help="||eta||, the norm of the noise per image (with --images; entries of std NOISE_NORM/sqrt(m), "
                      "on Ax or |Ax|; 0 for --likelihood sign or poisson)")
    src.add_argument("--chunk", type=positive_int, default=64, help="images per chunk (with --images)")
    src.add_argument("--no-png", action="store_true", help="no PNG per recovered image (with --images)")
    parser.add_argument("--method", default=None, choices=method_names() + ["auto"],
                        help="a registered method (see 'ganprior methods'), or auto: CSGM, Sparse-Gen, ILO and the "
                             "Lasso family compared by cross-validation on held-out measurement rows (default: what "
                             "the --prior's recipe validated at this m, e.g. ILO for mnist at m = 16-612; else csgm)")
    parser.add_argument("--prior", default="mnist", help="bundled prior name or a prior / run folder (latent methods)")
    model = parser.add_argument_group("measurement model")
    model.add_argument("--likelihood", choices=sorted(LIKELIHOODS), default=None,
                       help="how y arose from Ax: gaussian (y = Ax + noise, least squares; the default), magnitude "
                            "(phase retrieval, y = |Ax| + noise), sign (1-bit, y = sign(Ax)), poisson (counts, "
                            "y ~ Poisson(photons Ax), with --images: --operator nonnegative or identity); the "
                            "methods that take it are listed by 'ganprior methods'")
    model.add_argument("--photons", type=positive_float, default=None,
                       help="expected count of a measurement with (Ax)_i = 1 (with --likelihood poisson; default 10)")
    model.add_argument("--sign-loss", choices=["hinge", "logistic"], default=None,
                       help="with --likelihood sign: the one-sided hinge (the default; BIHT's consistency loss) or the "
                            "logistic loss, the only one that is a likelihood (--method langevin needs it)")
    model.add_argument("--sign-scale", type=positive_float, default=None,
                       help="with --sign-loss logistic: its scale s, log(1 + exp(-s y Ax)) / s (default 100)")
    model.add_argument("--flip", type=_flip_chance, default=None,
                       help="with --likelihood sign and --images: the chance that a measured sign is flipped "
                            "(default 0)")
    parser.add_argument("--image-shape", type=positive_int, nargs="+", default=None, help="image shape (baselines)")
    sel = parser.add_argument_group("choosing from the measurements (with cv / discrepancy, or --method auto)")
    sel.add_argument("--cv-folds", type=positive_int, default=None,
                     help="K-fold cross-validation (K >= 2): K times the solves (default: one 10%% held-out "
                          "split, or 5 folds where 10%% is under 6 rows)")
    sel.add_argument("--choice", choices=["per-problem", "shared", "adaptive"], default=None,
                     help="one choice per problem, one for the batch (a chunk with --images), or shared unless "
                          "a problem's rows say otherwise "
                          "(default: shared for an argument, adaptive for --method auto)")
    sel.add_argument("--noise-std", type=positive_float, default=None,
                     help="per-measurement noise standard deviation (needed by discrepancy)")
    engine_arguments(parser)
    method_arguments(parser)  # --lam, --alpha, --radius, --cut, --basis, --warmup, ...: one per hyperparameter
    parser.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    parser.add_argument("--out", required=True, help="output .npy file (--y/--A), or a folder (--images)")
    parser.set_defaults(check=_check)
    return parser


def _check(args):
    from pathlib import Path

    if args.photons is not None and args.likelihood != "poisson":
        raise SystemExit("ganprior: error: argument --photons: only with --likelihood poisson")
    for flag, value in (("--sign-loss", args.sign_loss), ("--sign-scale", args.sign_scale), ("--flip", args.flip)):
        if value is not None and args.likelihood != "sign":
            raise SystemExit(f"ganprior: error: argument {flag}: only with --likelihood sign")
    if args.sign_scale is not None and args.sign_loss != "logistic":
        raise SystemExit("ganprior: error: argument --sign-scale: only with --sign-loss logistic (the hinge has no "
                         "scale)")
    if args.flip is not None and args.images is None:
        raise SystemExit("ganprior: error: argument --flip: only with --images (it flips the signs this command "
                         "measures; given --y, the signs are what they are)")
    _check_model(args)
    if args.images is not None:
        if args.y is not None or args.A is not None:
            raise SystemExit("ganprior: error: give --images, or --y and --A, not both")
        if args.m is None:
            raise SystemExit("ganprior: error: argument --measurements: required with --images")
        if not Path(args.images).exists():
            raise SystemExit(f"ganprior: error: argument --images: no such folder or file {args.images!r}")
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise SystemExit(f"ganprior: error: argument --out: {args.out!r} is a file; --images writes a folder")
        if not out.parent.is_dir():
            raise SystemExit(f"ganprior: error: argument --out: the folder {str(out.parent)!r} does not exist")
        check_not_input(out, "--out", {"--images": args.images})
        written = [out / name for name in ("x_hat.npy", "metrics.csv", "figure.png", "recovered", "parts")]
        source = Path(args.images).resolve()
        if any(source == w.resolve() or w.resolve() in source.parents for w in written):
            raise SystemExit(f"ganprior: error: argument --images: {args.images!r} lies where --out {args.out!r} "
                             "writes its results; an output may not overwrite an input: give another --out")
        if args.image_shape is not None and len(args.image_shape) != 3:
            raise SystemExit("ganprior: error: argument --image-shape: expected three ints C H W with --images, got "
                             f"{' '.join(map(str, args.image_shape))}")
        return
    if args.y is None or args.A is None:
        raise SystemExit("ganprior: error: give --y and --A (measurements and operator), or --images")
    check_output(args.out, "--out", (".npy",))
    for option, path in (("--y", args.y), ("--A", args.A)):
        if not Path(path).is_file():
            raise SystemExit(f"ganprior: error: argument {option}: no such file {path!r}")
    check_not_input(args.out, "--out", {"--y": args.y, "--A": args.A})


def _check_model(args):
    """Refuse, in one line, a measurement model the rest of the command line cannot go with: a method that does not
    take it, and with ``--images`` noise given to signs or counts, or counts through an operator not >= 0."""
    from ..operators.factory import NONNEGATIVE_OPERATORS
    from ..solvers.registry import get_method

    name = args.likelihood or "gaussian"
    if args.method not in (None, "auto") and name not in get_method(args.method).likelihoods:
        raise SystemExit(f"ganprior: error: argument --likelihood: --method {args.method} does not take {name} "
                         f"measurements (it takes {', '.join(get_method(args.method).likelihoods)}; see 'ganprior "
                         "methods')")
    if args.images is None or name == "gaussian":
        return
    if name in ("sign", "poisson") and args.noise_norm != 0.0:
        raise SystemExit(f"ganprior: error: argument --noise-norm: must be 0 with --likelihood {name}, whose noise is "
                         f"the model's own ({'signs' if name == 'sign' else 'Poisson counts'}); got {args.noise_norm}")
    if name == "poisson" and args.operator not in NONNEGATIVE_OPERATORS:
        raise SystemExit(f"ganprior: error: argument --operator: --likelihood poisson needs an operator >= 0 "
                         f"({' or '.join(NONNEGATIVE_OPERATORS)}); got {args.operator}")


def _model(args):
    """The measurement model of ``--likelihood`` and ``--photons``, or None for the Gaussian default."""
    if args.likelihood in (None, "gaussian"):
        return None
    from ..likelihoods import LIKELIHOODS

    given = {"photons": args.photons, "loss": args.sign_loss, "scale": args.sign_scale, "flip": args.flip}
    return LIKELIHOODS[args.likelihood](**{k: v for k, v in given.items() if v is not None})


def _flip_chance(text):
    """``--flip``: a chance in [0, 0.5], as :class:`~ganprior.likelihoods.Sign` takes it."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a chance in [0, 0.5], got {text!r}") from None
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"expected a chance in [0, 0.5], got {text!r}")
    return value


def _choose(args, m, model):
    """``--prior`` and ``--method`` as ``recover`` resolves them: a recipe's per-m choice under the Gaussian model
    (:func:`_family`), else the prior as given and CSGM unless ``--method`` says otherwise (the recipes' per-m
    choices were validated for least squares)."""
    if model is None:
        _family(args, m)
    else:
        args.method = args.method or "csgm"


def _selection_kwargs(args, options):
    """``recover``'s selection arguments the command line set, checked against what is chosen (``options``: the
    method's arguments given)."""
    given = {k: getattr(args, k) for k in ("cv_folds", "choice", "noise_std") if getattr(args, k) is not None}
    rules = {v for v in options.values() if isinstance(v, str)} & {"cv", "discrepancy"}
    if args.cv_folds is not None and args.cv_folds < 2:
        raise SystemExit(f"ganprior: error: argument --cv-folds: expected >= 2, got {args.cv_folds}")
    if args.method != "auto" and not rules and set(given) - {"noise_std"}:
        raise SystemExit(f"ganprior: error: --{sorted(set(given) - {'noise_std'})[0].replace('_', '-')} applies only "
                         "when something is chosen from the measurements: a method's argument (--lam, --alpha, ...) "
                         "set to cv or discrepancy, or --method auto")
    if args.cv_folds is not None and rules == {"discrepancy"}:
        raise SystemExit("ganprior: error: --cv-folds is for cv and --method auto; discrepancy fits on all rows")
    return given


def _family(args, m):
    """The command line's ``--prior`` and ``--method`` as ``recover(y, A, name)`` resolves them: a bundled prior given
    by name runs the prior of its family and the method its recipe validated at ``m``
    (:func:`ganprior.priors.recipe_choice`); an unset ``--method`` is that method, else csgm."""
    from ..priors.recipes import choose_by_name

    args.prior, args.method, _ = choose_by_name(args.prior, m, args.method)


def _method_kwargs(args):
    """``recover``'s keyword arguments from the command line: the method's own (the flags generated from the
    registry), the engine settings (latent methods) and the selection options."""
    from ..solvers.registry import get_method

    options = method_options(args, args.method)  # a flag the method does not take: one line, exit 2
    from ..solvers.settings import ENGINE_KEYS

    engine = {k: getattr(args, k) for k in ENGINE_KEYS if k != "select"}
    if args.method == "auto":
        return {**engine, **_selection_kwargs(args, options)}
    entry = get_method(args.method)
    if entry.kind == "sparse":
        return {"image_shape": tuple(args.image_shape) if args.image_shape else None, **options,
                **_selection_kwargs(args, options)}
    if args.image_shape is not None and "image_shape" not in entry.hyperparameters:
        raise SystemExit(f"ganprior: error: --image-shape is not an argument of --method {args.method}")
    return {**engine, **options, **_selection_kwargs(args, options)}


def _run(args) -> int:
    """Recover; exit status 0, 2 when the solve failed (non-finite losses)."""
    import sys

    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        return _dataset(args) if args.images is not None else _arrays(args)
    except FloatingPointError as err:
        print(f"ganprior recover: the solve failed: {err}", file=sys.stderr)
        return 2


def _load(path, option):
    """A ``.npy`` array, or a one-line error naming the option and file."""
    import numpy as np

    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise SystemExit(f"ganprior: error: argument {option}: {path!r} is not a readable .npy file "
                         f"({' '.join(str(err).split())})") from None


def _arrays(args) -> int:
    import io

    import numpy as np

    import ganprior
    from ganprior.solvers.registry import get_method

    from ..training._io import atomic_write_bytes

    y, A = _load(args.y, "--y"), _load(args.A, "--A")
    model = _model(args)
    _choose(args, int(y.shape[-1]), model)
    kw = _method_kwargs(args) | ({"likelihood": model} if model is not None else {})
    if args.method == "auto" or get_method(args.method).kind == "latent":
        x = ganprior.recover(y, A, args.prior, method=args.method, seed=args.seed, progress=True, **kw)
    else:
        x = ganprior.recover(y, A, method=args.method, **kw)
    buf = io.BytesIO()
    np.save(buf, x)
    atomic_write_bytes(buf.getvalue(), args.out)  # exactly args.out (np.save would add .npy to o.NPY)
    print(f"wrote {args.out} with shape {x.shape}")
    return 0


def _dataset(args) -> int:
    import torch

    from ..data import load_images
    from ..jobs import OtherSettingsError, merge_dataset, recover_dataset
    from ..solvers.registry import get_method
    from ..training._distributed import start_process_group

    model = _model(args)
    _choose(args, args.m, model)
    latent = args.method == "auto" or get_method(args.method).kind == "latent"
    rank, world, device = start_process_group("cuda" if torch.cuda.is_available() else "cpu", "ganprior recover")
    try:
        G = None
        if latent:
            from ..priors import load_prior

            G = load_prior(args.prior, device=device)
            shape = G.image_shape
        else:
            if args.image_shape is None:
                raise SystemExit("ganprior: error: --image-shape is required with --images for a sparse baseline")
            shape = tuple(args.image_shape)
        data_range = G.data_range if G is not None else (0.0, 1.0)  # the prior's own range, e.g. (-1, 1)
        images, names = load_images(args.images, shape, data_range=data_range, return_names=True)
        if latent:
            images = images.to(G.device)
        try:
            done = recover_dataset(images, G, m=args.m, out=args.out, operator=args.operator,
                                   noise_norm=args.noise_norm, method=args.method, chunk=args.chunk, seed=args.seed,
                                   rank=rank, world_size=world, progress=True, names=names, likelihood=model,
                                   **_method_kwargs(args))
        except OtherSettingsError as err:
            flags = {"m": "--measurements", "G": "--prior", "noise": "--noise-norm"}
            what = "; ".join(f"{flags.get(k, '--' + k.replace('_', '-'))} " + (
                "gives another prior" if k == "G" else f"was {a}, now {b}") for k, a, b in err.changes)
            raise SystemExit(f"ganprior: error: argument --out: {args.out!r} holds results computed with other "
                             f"settings ({what}); give another --out, or delete {os.path.join(args.out, 'parts')!r} "
                             "to recompute everything") from None
        print(f"rank {rank} of {world}: {len(done)} chunk(s) computed", flush=True)
        if world > 1:
            torch.distributed.barrier()
        if rank == 0:
            x_hat = merge_dataset(args.out, images.shape[0], images=images.cpu(), png=not args.no_png)
            print(f"wrote {args.out}/x_hat.npy {tuple(x_hat.shape)}, metrics.csv, figure.png")
    finally:
        if world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return 0
