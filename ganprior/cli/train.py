"""``ganprior train``: train a GAN prior (one process, or DistributedDataParallel under torchrun)."""

from __future__ import annotations

NAME = "train"
HELP = "train a GAN prior (runs under torchrun too)"


def _add_arguments(parser):
    """The trainer's options (see :mod:`ganprior.training.cli`)."""
    from ..training.cli import add_arguments

    return add_arguments(parser)


def _run(args) -> int:
    """Train (see :mod:`ganprior.training.cli`)."""
    from ..training.cli import main

    return main(args)
