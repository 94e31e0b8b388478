"""``ganprior train-vae``: train the VAE prior of Bora et al. (2017) (:class:`~ganprior.training.vae.VAETrainer`).

Example (the bundled ``mnist-vae``)::

    python -m ganprior train-vae --data mnist --data-root ../shared/data --limit 59968 --latent-dim 20 \\
        --epochs 100 --out runs/mnist_vae
"""

from __future__ import annotations

import argparse
import shlex
import sys

import torch

from ._args import device
from .train import DATASETS, float_option, int_option, load_dataset

__all__: list = []  # the command line is documented by its --help

NAME = "train-vae"
HELP = "train a VAE prior (Bora et al. 2017's MNIST prior: 784-500-500-k, softplus, sigmoid output)"


def _add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    g = parser.add_argument_group("data")
    g.add_argument("--data", required=True, help=f"dataset name ({', '.join(DATASETS)}) or a folder of images")
    g.add_argument("--data-root", default=None,
                   help="folder holding the dataset files (default: $GANPRIOR_DATA/<name>/)")
    g.add_argument("--image-size", type=int_option(1), default=64, help="side of images read from a folder / CelebA")
    g.add_argument("--limit", type=int_option(1), default=None, help="use only the first LIMIT images (>= 1)")
    g = parser.add_argument_group("model and optimisation")
    g.add_argument("--latent-dim", type=int_option(1), default=20, help="latent size k (default 20, the paper's)")
    g.add_argument("--width", type=int_option(1), default=500, help="hidden width (default 500, the paper's)")
    g.add_argument("--lr", type=float_option(0.0, strict=True), default=1e-3, help="Adam learning rate")
    g.add_argument("--beta", type=float_option(0.0, strict=True), default=1.0,
                   help="weight of the KL term (default 1, the ELBO; < 1 gives sharper reconstructions)")
    g.add_argument("--batch-size", type=int_option(1), default=100)
    g.add_argument("--epochs", type=float_option(0.0), default=None, help="total passes over the data (default 100)")
    g.add_argument("--steps", type=int_option(0), default=None, help="total steps (instead of --epochs)")
    g.add_argument("--seed", type=int_option(0), default=0)
    g = parser.add_argument_group("run")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--checkpoint-every", type=int_option(0), default=1000, help="steps between checkpoints")
    g.add_argument("--sample-every", type=int_option(0), default=1000, help="steps between sample grids")
    g.add_argument("--resume", action="store_true", help="resume from OUT/checkpoint.pt if it exists")
    g.add_argument("--device", type=device, default=None, help="cpu or cuda (default: cuda if available)")
    g.add_argument("--threads", type=int_option(1), default=None, help="torch CPU threads")
    return parser


def _run(args: argparse.Namespace) -> int:
    from ..training.vae import VAETrainer

    if args.epochs is not None and args.steps is not None:
        raise SystemExit("ganprior train-vae: give --epochs or --steps, not both.")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    x = load_dataset(args.data, args.data_root, args.image_size, args.limit)
    words = sys.argv[sys.argv.index(NAME) + 1:] if NAME in sys.argv else []
    trainer = VAETrainer(x, latent_dim=args.latent_dim, width=args.width, batch_size=args.batch_size, lr=args.lr,
                         beta=args.beta, seed=args.seed, out_dir=args.out, checkpoint_every=args.checkpoint_every,
                         sample_every=args.sample_every, device=args.device, data_name=args.data,
                         command=" ".join(["python", "-m", "ganprior", NAME, *map(shlex.quote, words)]))
    epochs = 100.0 if args.epochs is None and args.steps is None else args.epochs
    trainer.fit(steps=args.steps, epochs=epochs if args.steps is None else None, resume=args.resume)
    print(f"wrote {args.out} (step {trainer.step}, epoch {trainer.step / trainer.batches_per_epoch:.1f})")
    return 0
