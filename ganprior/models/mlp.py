"""Tiny fully connected GAN pair, small enough to train inside a unit test (e.g. 8x8 digits).

The generator maps ``z`` of shape ``(B, latent_dim)`` through two ReLU hidden
layers to ``tanh`` images in :math:`[-1, 1]` of shape ``image_shape``; the
discriminator maps images to one logit per image, shape ``(B,)``, through two
LeakyReLU(0.2) hidden layers.  No normalisation layers, so a batch's rows are
processed independently (and data-parallel runs match single-process runs).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_int, check_seed, describe
from .dcgan import ConfigMixin

__all__ = ["MLPDiscriminator", "MLPGenerator"]


def _check_shape(image_shape, owner):
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"The 'image_shape' parameter of {owner} must be (C, H, W) with positive sizes. "
                         f"Got {describe(image_shape)} instead.")
    return shape


def _init_mlp(module: nn.Module, seed, gain_last: float = 1.0) -> None:
    """He-normal hidden weights, a scaled-down output layer, zero biases."""
    gen = check_seed(seed)
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for i, m in enumerate(linears):
            std = math.sqrt(2.0 / m.in_features)
            if i == len(linears) - 1:
                std = gain_last / math.sqrt(m.in_features)
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
            m.bias.zero_()


def flat_args(model, latent_dim, width, image_shape):
    """Check the arguments a fully connected generator (or encoder) shares, record them as ``model._kwargs`` (its
    config) and return ``(latent_dim, width, image_shape, C*H*W)``."""
    owner = type(model).__name__
    latent_dim = check_int(latent_dim, "latent_dim", minimum=1, owner=owner)
    width = check_int(width, "width", minimum=1, owner=owner)
    shape = _check_shape(image_shape, owner)
    model._kwargs = {"latent_dim": latent_dim, "width": width, "image_shape": list(shape)}
    return latent_dim, width, shape, shape[0] * shape[1] * shape[2]


def split_flat(model, cut):
    """``(lower, upper)`` of a generator whose ``net`` maps flat latents to flat images, cut before ``net[cut]``."""
    from .dcgan import check_cut

    check_cut(cut, len(model.net), type(model).__name__)
    head, tail = model.net[:cut], model.net[cut:]
    return ((lambda z: head(z.reshape(z.shape[0], model.latent_dim))),
            (lambda h: tail(h).reshape(h.shape[0], *model.image_shape)))


class MLPGenerator(ConfigMixin, nn.Module):
    """``latent_dim -> width -> width -> C*H*W`` with ReLU, then tanh and reshape to ``image_shape``.

    Parameters
    ----------
    latent_dim : int
        Size of the latent vector.
    width : int
        Size of the two hidden layers.
    image_shape : tuple of int
        ``(C, H, W)`` of the images.
    seed : None, int or torch.Generator
        Seed of the weight initialisation (He-normal hidden layers, zero biases).
    """

    #: The range of the tanh output, read by :class:`ganprior.Generator` to map images onto the data range.
    output_range = (-1.0, 1.0)

    arch = "mlp"

    def __init__(self, latent_dim: int = 8, width: int = 128, image_shape=(1, 8, 8), seed=None):
        super().__init__()
        latent_dim, width, shape, n = flat_args(self, latent_dim, width, image_shape)
        self.latent_dim = latent_dim
        self.latent_shape = (latent_dim,)
        self.image_shape = shape
        self.net = nn.Sequential(
            nn.Linear(latent_dim, width), nn.ReLU(True),
            nn.Linear(width, width), nn.ReLU(True),
            nn.Linear(width, n), nn.Tanh(),
        )
        _init_mlp(self, seed)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images in :math:`[-1, 1]` from latents.

        Parameters
        ----------
        z : torch.Tensor
            Latents, shape ``(B, latent_dim)`` (or ``(B, latent_dim, 1, 1)``).

        Returns
        -------
        torch.Tensor
            Images, shape ``(B, *image_shape)``.
        """
        return self.net(z.reshape(z.shape[0], self.latent_dim)).reshape(z.shape[0], *self.image_shape)

    def split(self, cut: int):
        """``(lower, upper)`` with ``upper(lower(z)) == self(z)``, cut before ``net[cut]``.

        Parameters
        ----------
        cut : int
            ``1 <= cut < len(self.net)``.

        Returns
        -------
        lower, upper : callable
        """
        return split_flat(self, cut)


class MLPDiscriminator(ConfigMixin, nn.Module):
    """``C*H*W -> width -> width -> 1`` with LeakyReLU(0.2); returns logits of shape ``(B,)``.

    Parameters
    ----------
    width : int
        Size of the two hidden layers.
    image_shape : tuple of int
        ``(C, H, W)`` of the images.
    seed : None, int or torch.Generator
        Seed of the weight initialisation (a scaled-down output layer).
    """

    arch = "mlp"

    def __init__(self, width: int = 128, image_shape=(1, 8, 8), seed=None):
        super().__init__()
        owner = type(self).__name__
        width = check_int(width, "width", minimum=1, owner=owner)
        shape = _check_shape(image_shape, owner)
        self._kwargs = {"width": width, "image_shape": list(shape)}
        self.image_shape = shape
        n = shape[0] * shape[1] * shape[2]
        self.net = nn.Sequential(
            nn.Linear(n, width), nn.LeakyReLU(0.2, True),
            nn.Linear(width, width), nn.LeakyReLU(0.2, True),
            nn.Linear(width, 1),
        )
        _init_mlp(self, seed, gain_last=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of images in :math:`[-1, 1]`.

        Parameters
        ----------
        x : torch.Tensor
            Images, shape ``(B, *image_shape)``.

        Returns
        -------
        torch.Tensor
            Logits, shape ``(B,)``.
        """
        return self.net(x.reshape(x.shape[0], -1)).reshape(x.shape[0])
