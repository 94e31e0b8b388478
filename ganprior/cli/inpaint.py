"""``ganprior inpaint``: inpaint bundled test images, print PSNR / SSIM, write a comparison figure."""

from __future__ import annotations

import logging

from ..solvers.settings import ENGINE_KEYS
from ._args import (
    check_output,
    device,
    engine_arguments,
    nonnegative_float,
    positive_int,
    threads,
)

NAME = "inpaint"
HELP = "inpaint bundled test images and write a comparison figure"
_SAMPLE_FOR_SHAPE = {(1, 28, 28): "mnist_test300", (3, 64, 64): "celeba_test64"}


def _fraction(text):
    value = nonnegative_float(text)
    if not 0.0 < value < 1.0:
        import argparse

        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {text!r}")
    return value


def _add_arguments(parser):
    """Options of ``ganprior inpaint``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``inpaint`` sub-parser.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> import argparse
    >>> from ganprior.cli.inpaint import _add_arguments
    >>> args = _add_arguments(argparse.ArgumentParser()).parse_args(["--mask", "half"])
    >>> args.prior, args.mask, args.blend   # unset options come from the prior's recipe
    ('celeba64', 'half', None)
    """
    from ..inpainting import BLEND_METHODS, MASK_TYPES, PERCEPTUAL

    parser.add_argument("--prior", default="celeba64", help="bundled prior (generator + discriminator)")
    parser.add_argument("--sample", default=None, help="bundled test images (default: the prior's)")
    parser.add_argument("--n", type=positive_int, default=8, help="number of test images")
    parser.add_argument("--mask", choices=sorted(MASK_TYPES), default="center")
    parser.add_argument("--missing", type=_fraction, default=None, help="missing fraction (random / pattern masks)")
    recipe = " (default: the prior's recipe)"
    parser.add_argument("--perceptual-weight", type=nonnegative_float, default=None, help="perceptual weight" + recipe)
    parser.add_argument("--perceptual", choices=sorted(PERCEPTUAL), default=None, help="perceptual loss" + recipe)
    parser.add_argument("--no-discriminator", action="store_true", help="contextual loss only")
    parser.add_argument("--window", type=positive_int, default=None, help="weighting window" + recipe)
    parser.add_argument("--blend", choices=sorted(BLEND_METHODS), default=None, help="blending" + recipe)
    engine_arguments(parser)
    parser.add_argument("--z-bound", type=nonnegative_float, default=None,
                        help="clip z to [-b, b]; 0 for no clipping" + recipe)
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--device", type=device, default="cpu")
    parser.add_argument("--out", default="ganprior_inpaint.png", help="figure: masked / ours / baseline / truth")
    parser.set_defaults(check=_check)
    return parser


def _check(args):
    check_output(args.out, "--out", (".png", ".pdf", ".svg", ".jpg"))
    if args.window is not None and args.window % 2 == 0:
        raise SystemExit(f"ganprior: error: argument --window: expected an odd int, got {args.window}")
    if args.missing is not None and args.mask not in ("random", "pattern"):
        raise SystemExit(f"ganprior: error: argument --missing: applies to --mask random or pattern; the {args.mask} "
                         "mask's missing part is fixed")


def _run(args) -> int:
    """Inpaint; exit status 0 when every result is finite, 1 otherwise, 2 when the solve failed."""
    import sys
    import time

    import torch

    from .. import metrics
    from ..data import load_sample
    from ..inpainting import harmonic_fill, inpaint, make_mask
    from ..plotting import save_figure
    from ..priors import load_discriminator, load_prior

    log = logging.getLogger("ganprior")   # show the package's INFO messages (e.g. "perceptual term is off")
    if not any(isinstance(h, logging.StreamHandler) for h in log.handlers):
        log.addHandler(logging.StreamHandler(sys.stdout))
    log.setLevel(logging.INFO)
    torch.set_num_threads(args.threads)
    G = load_prior(args.prior, device=args.device)
    D = None if args.no_discriminator else load_discriminator(args.prior, device=args.device)
    sample = args.sample or _SAMPLE_FOR_SHAPE.get(G.image_shape)
    if sample is None:
        raise SystemExit(f"ganprior: error: no bundled test set matches the prior's image shape {G.image_shape}: "
                         "give --sample.")
    x_true = load_sample(sample)[: args.n].to(args.device)
    kw = {"missing": args.missing} if args.missing is not None else {}
    mask = make_mask(args.mask, tuple(x_true.shape), seed=args.seed, **kw).to(args.device)
    if not bool(mask.flatten(1).amax(dim=1).all()):
        raise SystemExit(f"ganprior: error: argument --missing: {args.missing} leaves no known pixel in a "
                         f"{'x'.join(map(str, x_true.shape[-2:]))} image; there is nothing to inpaint from")
    engine = {k: getattr(args, k) for k in ENGINE_KEYS if k != "select"}
    # inpainting's own options: those given; the others come from the prior's recipe (--z-bound 0: no box)
    own = {k: getattr(args, k) for k in ("perceptual_weight", "window", "perceptual", "blend", "z_bound")
           if getattr(args, k) is not None}
    if "z_bound" in own:
        own["z_bound"] = own["z_bound"] or None
    t = time.perf_counter()
    try:
        res = inpaint(x_true, mask, G, D, seed=list(range(args.seed, args.seed + x_true.shape[0])),
                      return_result=True, **own, **engine)
    except FloatingPointError as err:
        print(f"ganprior inpaint: the latent search failed: {err}", file=sys.stderr)
        return 2
    t_ours = time.perf_counter() - t
    used = res.info["settings"]
    perceptual_text = ("no discriminator" if D is None else
                       f"perceptual weight {used['perceptual_weight']} ({res.info['perceptual']})")
    print(f"ganprior inpaint: {x_true.shape[0]} images of {sample}, {args.mask} mask "
          f"({float(1 - mask.mean()):.0%} missing), prior {args.prior!r}, "
          f"{perceptual_text}, "
          f"{used['restarts']} candidates x {used['steps']} steps (lr {used['lr']}, {used['precision']}), "
          f"{used['blend']} blending")
    x_base = harmonic_fill(x_true, mask)
    print(f"{'method':>10} {'PSNR':>7} {'SSIM':>6}")
    finite = True
    for name, xh in (("ours", res.x), ("harmonic", x_base)):
        p, s = metrics.psnr(xh, x_true).mean(), metrics.ssim(xh, x_true).mean()
        finite &= bool(torch.isfinite(p)) and bool(torch.isfinite(s))
        print(f"{name:>10} {float(p):>7.2f} {float(s):>6.3f}")
    print(f"ours: {t_ours:.1f} s")
    shown = x_true.cpu()
    masked = shown * mask.cpu() + 0.5 * (1 - mask.cpu())
    save_figure([("masked", masked), (f"ours ({args.blend})", res.x.cpu()), ("harmonic", x_base.cpu()),
                   ("truth", shown)], args.out)
    print(f"figure: {args.out}")
    return 0 if finite else 1
