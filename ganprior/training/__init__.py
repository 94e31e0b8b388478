"""GAN training: objectives (:mod:`.losses`) and the trainer (:mod:`.trainer`, one process or torchrun).

The command line lives in :mod:`ganprior.cli.train` (imported on demand).
"""

from .losses import LOSSES, GANLoss, get_loss, gradient_penalty
from .trainer import Trainer, load_checkpoint

__all__ = ["LOSSES", "GANLoss", "Trainer", "get_loss", "gradient_penalty", "load_checkpoint"]
