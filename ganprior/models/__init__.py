"""GAN architectures and a registry that rebuilds them from a small JSON-able config.

Every generator takes a flat latent ``z`` of shape ``(B, latent_dim)``, returns
images in :math:`[-1, 1]`, and exposes ``latent_shape`` and ``image_shape``;
every discriminator returns raw logits of shape ``(B,)``.  Each model's
``config`` property gives ``{"arch": ..., "kwargs": {...}}``, and
:func:`from_config` rebuilds it::

    G = build_generator("dcgan28", latent_dim=20, width=64, seed=0)
    G2 = from_config(G.config, role="generator")   # same architecture, fresh weights

Architectures: ``"dcgan28"`` (28x28, MNIST-like), ``"dcgan64"`` (64x64, CelebA-like)
and ``"mlp"`` (tiny, any image shape, for tests).
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from .._validation import check_choice, describe
from .dcgan import (
    DCGANDiscriminator28,
    DCGANDiscriminator64,
    DCGANGenerator28,
    DCGANGenerator64,
    init_dcgan_weights,
)
from .mlp import MLPDiscriminator, MLPGenerator

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "DCGANDiscriminator28",
    "DCGANDiscriminator64",
    "DCGANGenerator28",
    "DCGANGenerator64",
    "MLPDiscriminator",
    "MLPGenerator",
    "build_discriminator",
    "build_generator",
    "from_config",
    "init_dcgan_weights",
    "list_architectures",
]

GENERATORS = {"dcgan28": DCGANGenerator28, "dcgan64": DCGANGenerator64, "mlp": MLPGenerator}
DISCRIMINATORS = {"dcgan28": DCGANDiscriminator28, "dcgan64": DCGANDiscriminator64, "mlp": MLPDiscriminator}


def list_architectures() -> list[str]:
    """Sorted names accepted by :func:`build_generator` and :func:`build_discriminator`."""
    return sorted(GENERATORS)


def build_generator(arch: str, **kwargs) -> nn.Module:
    """Build the generator ``arch`` ("dcgan28", "dcgan64", "mlp") with keyword arguments
    (``latent_dim``, ``width``, ``channels`` or ``image_shape``, ``seed``)."""
    check_choice(arch, "arch", GENERATORS, owner="build_generator")
    return GENERATORS[arch](**kwargs)


def build_discriminator(arch: str, **kwargs) -> nn.Module:
    """Build the discriminator ``arch`` ("dcgan28", "dcgan64", "mlp") with keyword arguments
    (``width``, ``channels`` or ``image_shape``, ``batch_norm``, ``seed``)."""
    check_choice(arch, "arch", DISCRIMINATORS, owner="build_discriminator")
    return DISCRIMINATORS[arch](**kwargs)


def from_config(config: Mapping, role: str = "generator", seed=None) -> nn.Module:
    """Rebuild a model from ``{"arch": ..., "kwargs": {...}}`` (its ``config`` property).

    ``role`` is "generator" or "discriminator".  Weights are freshly initialised
    (from ``seed``); load a state_dict afterwards to restore trained weights.
    """
    check_choice(role, "role", ("generator", "discriminator"), owner="from_config")
    if not isinstance(config, Mapping) or "arch" not in config:
        raise ValueError("The 'config' parameter of from_config must be a mapping with keys 'arch' and "
                         f"'kwargs'. Got {describe(config)} instead.")
    kwargs = dict(config.get("kwargs") or {})
    build = build_generator if role == "generator" else build_discriminator
    return build(config["arch"], seed=seed, **kwargs)
