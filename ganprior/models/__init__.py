"""GAN architectures and a registry that rebuilds them from a small JSON-able config.

Every generator takes a flat latent ``z`` of shape ``(B, latent_dim)``, returns
images in :math:`[-1, 1]`, and exposes ``latent_shape`` and ``image_shape``;
every discriminator returns raw logits of shape ``(B,)``.  Each model's
``config`` property gives ``{"arch": ..., "kwargs": {...}}``, and
:func:`from_config` rebuilds it::

    G = build_generator("dcgan28", latent_dim=20, width=64, seed=0)
    G2 = from_config(G.config, role="generator")   # same architecture, fresh weights

Architectures: ``"dcgan28"`` (28x28, MNIST-like), ``"dcgan64"`` (64x64, CelebA-like)
and ``"mlp"`` (tiny, any image shape, for tests); generator only, ``"vae-mlp"``: the decoder of Bora et al.
(2017)'s MNIST VAE (images in [0, 1]; trained by :mod:`ganprior.training.vae`, with its
:class:`VAEEncoder`).
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
from .vae import VAEDecoder, VAEEncoder

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "DCGANDiscriminator28",
    "DCGANDiscriminator64",
    "DCGANGenerator28",
    "DCGANGenerator64",
    "MLPDiscriminator",
    "MLPGenerator",
    "VAEDecoder",
    "VAEEncoder",
    "build_discriminator",
    "build_generator",
    "from_config",
    "init_dcgan_weights",
    "list_architectures",
]

GENERATORS = {"dcgan28": DCGANGenerator28, "dcgan64": DCGANGenerator64, "mlp": MLPGenerator, "vae-mlp": VAEDecoder}
DISCRIMINATORS = {"dcgan28": DCGANDiscriminator28, "dcgan64": DCGANDiscriminator64, "mlp": MLPDiscriminator}


def list_architectures() -> list[str]:
    """Sorted names of the GAN architectures: accepted by :func:`build_generator` and :func:`build_discriminator`.

    Returns
    -------
    list of str
        Without ``"vae-mlp"`` (a generator only; see :data:`GENERATORS`).
    """
    return sorted(set(GENERATORS) & set(DISCRIMINATORS))


def build_generator(arch: str, **kwargs) -> nn.Module:
    """Build the generator ``arch`` with keyword arguments.

    Parameters
    ----------
    arch : {"dcgan28", "dcgan64", "mlp", "vae-mlp"}
        The architecture (see :data:`GENERATORS`).
    **kwargs
        Passed to its constructor: ``latent_dim``, ``width``, ``channels``
        (DCGAN) or ``image_shape`` (MLP, VAE), ``seed``.

    Returns
    -------
    torch.nn.Module
        A :class:`DCGANGenerator28`, :class:`DCGANGenerator64`, :class:`MLPGenerator` or
        :class:`VAEDecoder`.

    Raises
    ------
    ValueError
        For an unknown ``arch`` (the message lists the valid ones).

    Examples
    --------
    >>> from ganprior.models import build_generator
    >>> G = build_generator("dcgan28", latent_dim=20, width=32, seed=0)
    >>> G.latent_shape, G.image_shape, G.config["arch"]
    ((20,), (1, 28, 28), 'dcgan28')
    """
    check_choice(arch, "arch", GENERATORS, owner="build_generator")
    return GENERATORS[arch](**kwargs)


def build_discriminator(arch: str, **kwargs) -> nn.Module:
    """Build the discriminator ``arch`` with keyword arguments.

    Parameters
    ----------
    arch : {"dcgan28", "dcgan64", "mlp"}
        The architecture (see :data:`DISCRIMINATORS`; ``"vae-mlp"`` has none).
    **kwargs
        Passed to its constructor: ``width``, ``channels`` and ``batch_norm``
        (DCGAN) or ``image_shape`` (MLP), ``seed``.

    Returns
    -------
    torch.nn.Module
        A :class:`DCGANDiscriminator28`, :class:`DCGANDiscriminator64` or
        :class:`MLPDiscriminator`, returning logits of shape ``(B,)``.

    Raises
    ------
    ValueError
        For an unknown ``arch`` (the message lists the valid ones).
    """
    check_choice(arch, "arch", DISCRIMINATORS, owner="build_discriminator")
    return DISCRIMINATORS[arch](**kwargs)


def from_config(config: Mapping, role: str = "generator", seed=None) -> nn.Module:
    """Rebuild a model from ``{"arch": ..., "kwargs": {...}}`` (its ``config`` property).

    Parameters
    ----------
    config : mapping
        ``{"arch": name, "kwargs": {...}}``, e.g. from a run's ``config.json``.
    role : {"generator", "discriminator"}
        Which of the pair to build.
    seed : None, int or torch.Generator
        Seed of the fresh weights.

    Returns
    -------
    torch.nn.Module
        The model with freshly initialised weights; load a ``state_dict``
        afterwards to restore trained ones.

    Raises
    ------
    ValueError
        If ``config`` is not such a mapping, or names an unknown architecture.
    """
    check_choice(role, "role", ("generator", "discriminator"), owner="from_config")
    if not isinstance(config, Mapping) or "arch" not in config:
        raise ValueError("The 'config' parameter of from_config must be a mapping with keys 'arch' and "
                         f"'kwargs'. Got {describe(config)} instead.")
    kwargs = dict(config.get("kwargs") or {})
    build = build_generator if role == "generator" else build_discriminator
    return build(config["arch"], seed=seed, **kwargs)
