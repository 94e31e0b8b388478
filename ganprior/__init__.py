"""ganprior: inverse problems with GAN priors.

The parts
---------
- :func:`recover` -- compressed sensing with a generative prior (CSGM, Bora et
  al. 2017) and the sparse baselines (Lasso in the pixel, DCT and wavelet bases).
- :func:`sample_posterior` -- posterior samples, mean and per-pixel uncertainty (annealed Langevin, Jalal
  et al. 2021).
- :func:`inpaint` -- semantic inpainting (Yeh et al. 2017) with Poisson blending;
  :mod:`ganprior.inpainting` holds it with the masks (centre, random, half, pattern) and the
  blending (Poisson / alpha, the harmonic-fill baseline); ``ganprior.masks`` and
  ``ganprior.blending`` re-export those.
- :class:`Generator`, :class:`Discriminator` -- wrap any PyTorch module as a prior.
- :mod:`ganprior.operators` -- measurement operators (Gaussian, subsampled DCT,
  masks, downsampling) with an adjoint check.
- :func:`load_prior`, :func:`list_priors` -- bundled pretrained priors (MNIST, CelebA-64, Fashion-MNIST).
- :mod:`ganprior.metrics` -- per-pixel MSE, PSNR, SSIM.
- :func:`optimize_latents` -- the batched latent engine every latent method runs on; its per-row state,
  update rules (:class:`UpdateRule`) and reducers (:class:`Best`, :class:`Samples`).
- :func:`register_method`, :func:`method_names`, :func:`get_method` -- the method registry ``recover``
  dispatches through.
"""

import logging

from . import blending, data, hardware, inpainting, masks, metrics, operators
from .generator import Discriminator, Generator
from .priors import list_priors, load_discriminator, load_prior
from .solvers import (
    Best,
    LatentObjective,
    LatentResult,
    Method,
    PosteriorResult,
    RecoveryResult,
    Samples,
    UpdateRule,
    get_method,
    method_names,
    optimize_latents,
    recover,
    register_method,
    sample_posterior,
)
from .inpainting import InpaintResult, inpaint

__version__ = "0.1.0"

__all__ = [
    "Best",
    "Discriminator",
    "Generator",
    "InpaintResult",
    "LatentObjective",
    "LatentResult",
    "Method",
    "PosteriorResult",
    "RecoveryResult",
    "Samples",
    "UpdateRule",
    "__version__",
    "blending",
    "data",
    "get_method",
    "hardware",
    "inpaint",
    "inpainting",
    "list_priors",
    "load_discriminator",
    "load_prior",
    "masks",
    "method_names",
    "metrics",
    "operators",
    "optimize_latents",
    "recover",
    "register_method",
    "sample_posterior",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
