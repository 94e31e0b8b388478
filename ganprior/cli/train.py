"""``ganprior train``: the command line of the GAN trainer (also ``python -m ganprior.cli.train``).

Examples::

    python -m ganprior train --data mnist --arch dcgan28 --latent-dim 20 --epochs 10 --out runs/mnist
    torchrun --standalone --nproc_per_node=2 -m ganprior.cli.train --data digits8 --steps 100 --out runs/d8
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from pathlib import Path

import torch

from ..hardware import PRECISIONS
from ._args import device

__all__ = ["DATASETS", "add_arguments", "load_dataset", "main"]

NAME = "train"
HELP = "train a GAN prior (runs under torchrun too)"

DATASETS = ("celeba", "celeba-test64", "digits8", "fashion_mnist", "mnist")
_DEFAULT_ARCH = {"mnist": "dcgan28", "fashion_mnist": "dcgan28", "celeba": "dcgan64", "celeba-test64": "dcgan64",
                 "digits8": "mlp"}


def int_option(minimum: int):
    """argparse ``type``: an int >= ``minimum`` (argparse names the option in its error)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}. Got {text!r} instead.") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}. Got {value} instead.")
        return value

    parse.__name__ = f"int >= {minimum}"
    return parse


def float_option(minimum: float | None = None, *, strict: bool = False, below: float | None = None):
    """argparse ``type``: a finite float ``>= minimum`` (``>`` if ``strict``) and ``< below``."""
    bounds = ([f"{'>' if strict else '>='} {minimum:g}"] if minimum is not None else []) + (
        [f"< {below:g}"] if below is not None else [])
    want = "a finite number" + (" " + " and ".join(bounds) if bounds else "")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}. Got {text!r} instead.") from None
        ok = math.isfinite(value) and (minimum is None or value > minimum or (not strict and value == minimum))
        if not ok or (below is not None and value >= below):
            raise argparse.ArgumentTypeError(f"must be {want}. Got {text} instead.")
        return value

    parse.__name__ = want
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add every trainer option to ``parser`` and return it.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser (or ``ganprior train`` sub-parser) to extend.

    Returns
    -------
    argparse.ArgumentParser
        ``parser``, for chaining.
    """
    g = parser.add_argument_group("data")
    g.add_argument("--data", required=True,
                   help=f"dataset name ({', '.join(DATASETS)}) or a folder of images")
    g.add_argument("--data-root", default=None,
                   help="folder holding the dataset files (default: $GANPRIOR_DATA/<name>/)")
    g.add_argument("--image-size", type=int_option(1), default=64, help="side of images read from a folder / CelebA")
    g.add_argument("--limit", type=int_option(1), default=None, help="use only the first LIMIT images (>= 1)")
    g = parser.add_argument_group("model")
    g.add_argument("--arch", default=None, help="dcgan28, dcgan64 or mlp (default: by dataset)")
    g.add_argument("--latent-dim", type=int_option(1), default=None,
                   help="latent size k (default 20; 100 for dcgan64)")
    g.add_argument("--width", type=int_option(1), default=64, help="generator base width")
    g.add_argument("--d-width", type=int_option(1), default=None, help="discriminator base width (default: --width)")
    g.add_argument("--no-d-batch-norm", action="store_true",
                   help="layer norm instead of batch norm in the discriminator (automatic for wgan-gp)")
    g = parser.add_argument_group("objective")
    g.add_argument("--loss", default="non-saturating",
                   choices=["hinge", "lsgan", "minimax", "non-saturating", "wgan-gp"])
    g.add_argument("--k", type=int_option(1), default=1, help="discriminator steps per generator step")
    g.add_argument("--smoothing", type=float_option(0.0, below=1.0), default=0.0,
                   help="one-sided label smoothing kappa, in [0, 1)")
    g.add_argument("--lsgan-abc", type=float_option(), nargs=3, default=None, metavar=("A", "B", "C"),
                   help="LSGAN targets a (fake), b (real), c (generator); default 0 1 1")
    g.add_argument("--gp-weight", type=float_option(0.0), default=10.0, help="WGAN-GP penalty weight")
    g = parser.add_argument_group("optimisation")
    g.add_argument("--lr", type=float_option(0.0, strict=True), default=2e-4)
    g.add_argument("--lr-d", type=float_option(0.0, strict=True), default=None,
                   help="discriminator learning rate (default: --lr)")
    g.add_argument("--betas", type=float_option(0.0, below=1.0), nargs=2, default=(0.5, 0.999))
    g.add_argument("--batch-size", type=int_option(1), default=64, help="global batch size")
    g.add_argument("--epochs", type=float_option(0.0), default=None, help="total passes over the data")
    g.add_argument("--steps", type=int_option(0), default=None, help="total generator steps (instead of --epochs)")
    g.add_argument("--seed", type=int_option(0), default=0)
    g.add_argument("--ema-decay", type=float_option(0.0, below=1.0), default=0.0,
                   help="keep an exponential moving average of the generator's weights with this decay, in "
                        "[0, 1), e.g. 0.999, and export it as the prior; 0 (default): no average")
    g = parser.add_argument_group("run")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--checkpoint-every", type=int_option(0), default=500, help="steps between checkpoints")
    g.add_argument("--sample-every", type=int_option(0), default=500, help="steps between sample grids")
    g.add_argument("--resume", action="store_true", help="resume from OUT/checkpoint.pt if it exists")
    g.add_argument("--allow-changed-config", action="store_true",
                   help="let --resume continue with hyperparameters other than the checkpoint's (the new ones "
                        "take effect and config.json records the change); by default a mismatch is an error")
    g.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="bf16: bfloat16 autocast; auto: bf16 where the hardware computes it natively")
    g.add_argument("--bf16", dest="precision", action="store_const", const="bf16", help="same as --precision bf16")
    g.add_argument("--channels-last", action="store_true", help="channels-last memory format")
    g.add_argument("--device", type=device, default=None, help="cpu or cuda (default: cuda if available)")
    g.add_argument("--threads", type=int_option(1), default=None, help="torch CPU threads")
    g.add_argument("--progress", action="store_true", help="tqdm progress bar")
    g.add_argument("--dump-rank-weights", action="store_true", help=argparse.SUPPRESS)
    return parser


def load_dataset(name: str, root=None, image_size: int = 64, limit=None) -> torch.Tensor:
    """Training images for ``name`` (see :data:`DATASETS`) or a folder path.

    Parameters
    ----------
    name : str
        ``"mnist"``, ``"fashion_mnist"``, ``"celeba"`` (10k faces), ``"celeba-test64"``,
        ``"digits8"`` (scikit-learn's 8x8 digits) or a folder of images.
    root : str or os.PathLike, optional
        Folder holding the dataset files (default ``$GANPRIOR_DATA/<name>/``).
    image_size : int
        Side of images read from CelebA or a folder (default 64).
    limit : int, optional
        Keep only the first ``limit`` images (``limit >= 1``; None keeps all).

    Returns
    -------
    torch.Tensor
        ``(N, C, H, W)``: uint8 in [0, 255] (CelebA, folders) or float32 in [0, 1].

    Raises
    ------
    ValueError
        If ``name`` is neither a dataset name nor an existing folder, or ``limit < 1``.
    FileNotFoundError
        If the dataset files are missing.
    """
    from .. import data
    from .._validation import check_int

    if limit is not None:
        limit = check_int(limit, "limit", minimum=1, owner="load_dataset")
    if name == "mnist":
        x = data.load_mnist(root, "train")[0]
    elif name == "fashion_mnist":
        x = data.load_fashion_mnist(root, "train")[0]
    elif name == "celeba":
        x = data.load_celeba(root, "10k", size=image_size, as_uint8=True)
    elif name == "celeba-test64":
        x = data.load_celeba(root, "test64", size=image_size, as_uint8=True)
    elif name == "digits8":
        from sklearn.datasets import load_digits

        x = torch.from_numpy(load_digits().images).float().div(16.0).unsqueeze(1)
    elif os.path.isdir(name):
        x = data.load_image_folder(name, image_size, as_uint8=True)  # hidden files skipped, a bad file named
    else:
        raise ValueError(f"The '--data' option must be one of {sorted(DATASETS)} or an existing folder. "
                         f"Got {name!r} instead.")
    return x if limit is None else x[:limit]


def main(args: argparse.Namespace) -> int:
    """Run training as configured by :func:`add_arguments` options.

    Builds the models for ``--arch``, a :class:`~ganprior.training.Trainer`, and
    fits it; under ``torchrun`` it first joins the process group (gloo on the
    CPU, NCCL on GPUs).  ``WORLD_SIZE > 1`` without the other variables that
    torchrun sets, or a group that does not form within ``GANPRIOR_DIST_TIMEOUT``
    seconds (default 60), is a ValueError that says so, before any work.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options.

    Returns
    -------
    int
        The exit status (0).
    """
    from ..models import build_discriminator, build_generator
    from ..training._distributed import start_process_group
    from ..training.trainer import Trainer

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    _, world, device = start_process_group(device, "ganprior train")  # checks the torchrun variables first
    distributed = world > 1
    try:
        x = load_dataset(args.data, args.data_root, args.image_size, args.limit)
        arch = args.arch or _DEFAULT_ARCH.get(args.data) or "dcgan64"
        latent = args.latent_dim if args.latent_dim is not None else (100 if arch == "dcgan64" else 20)
        c = int(x.shape[1])
        d_bn = not (args.no_d_batch_norm or args.loss == "wgan-gp")
        d_width = args.d_width if args.d_width is not None else args.width
        if arch == "mlp":
            gk = {"latent_dim": latent, "width": args.width, "image_shape": list(x.shape[1:])}
            dk = {"width": d_width, "image_shape": list(x.shape[1:])}
        else:
            gk = {"latent_dim": latent, "width": args.width, "channels": c}
            dk = {"width": d_width, "channels": c, "batch_norm": d_bn}
        G = build_generator(arch, seed=args.seed * 2 + 0, **gk)
        D = build_discriminator(arch, seed=args.seed * 2 + 1, **dk)
        if tuple(G.image_shape) != tuple(x.shape[1:]):
            raise ValueError(f"The architecture {arch!r} makes images of shape {tuple(G.image_shape)} but the "
                             f"data has shape {tuple(x.shape[1:])}; pick another --arch or --image-size.")
        loss_params = {}
        if args.loss == "lsgan" and args.lsgan_abc is not None:
            loss_params = dict(zip("abc", args.lsgan_abc))
        if args.loss == "wgan-gp":
            loss_params = {"gp_weight": args.gp_weight}
        if args.smoothing:
            loss_params["smoothing"] = args.smoothing
        if args.epochs is None and args.steps is None:
            args.epochs = 10.0
        trainer = Trainer(G, D, x, loss=args.loss, loss_params=loss_params, k=args.k, lr=args.lr, lr_d=args.lr_d,
                          betas=tuple(args.betas), batch_size=args.batch_size, seed=args.seed, device=device,
                          precision=args.precision, channels_last=args.channels_last, out_dir=args.out,
                          checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
                          progress=args.progress, data_name=args.data,
                          allow_changed_config=getattr(args, "allow_changed_config", False),
                          ema_decay=getattr(args, "ema_decay", 0.0) or None,
                          command=" ".join(shlex.quote(a) for a in [Path(sys.executable).name] + sys.argv))
        trainer.fit(steps=args.steps, epochs=args.epochs if args.steps is None else None, resume=args.resume)
        if args.dump_rank_weights:
            dump = {"generator": trainer.generator.state_dict(),
                    "discriminator": trainer.discriminator.state_dict()}
            if trainer.generator_ema is not None:
                dump["generator_ema"] = trainer.generator_ema.state_dict()
            torch.save(dump, Path(args.out) / f"rank{trainer.rank}.pt")
    finally:
        if distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return 0


_add_arguments, _run = add_arguments, main  # the interface every module of ganprior.cli has


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m ganprior.cli.train", description="Train a GAN prior.")
    sys.exit(main(add_arguments(parser).parse_args()))
