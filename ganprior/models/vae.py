r"""The variational autoencoder of Bora et al. (2017)'s MNIST experiments: a fully connected pair.

The *decoder* is the prior: :math:`G(z) = \sigma(W_3\,s(W_2\,s(W_1 z + b_1) + b_2) + b_3)` with the
softplus :math:`s(t) = \log(1 + e^t)` and the logistic sigmoid :math:`\sigma`, so images lie in
:math:`[0, 1]` (``output_range``).  The *encoder* maps an image to the mean :math:`\mu(x)` and log
variance :math:`\log\sigma^2(x)` of the approximate posterior :math:`q(z \mid x) =
\mathcal{N}(\mu, \operatorname{diag}\sigma^2)`; it is only needed to train (:mod:`ganprior.training.vae`).
Paper sizes: 784-500-500-20.  No normalisation layers: a batch's rows are independent.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_seed
from .dcgan import ConfigMixin
from .mlp import flat_args, split_flat

__all__ = ["VAEDecoder", "VAEEncoder"]


def _init(module: nn.Module, seed) -> None:
    """Xavier-normal weights (the paper's code), zero biases, from one seeded generator."""
    gen = check_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                std = math.sqrt(2.0 / (m.in_features + m.out_features))
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
                m.bias.zero_()


class VAEDecoder(ConfigMixin, nn.Module):
    """``latent_dim -> width -> width -> C*H*W`` with softplus, then the sigmoid: images in [0, 1].

    Parameters
    ----------
    latent_dim : int
        Size :math:`k` of the latent vector (paper: 20).
    width : int
        Size of the two hidden layers (paper: 500).
    image_shape : tuple of int
        ``(C, H, W)`` of the images (default ``(1, 28, 28)``).
    seed : None, int or torch.Generator
        Seed of the weight initialisation.
    """

    #: The range of the sigmoid output, read by :class:`ganprior.Generator`.
    output_range = (0.0, 1.0)

    arch = "vae-mlp"

    def __init__(self, latent_dim: int = 20, width: int = 500, image_shape=(1, 28, 28), seed=None):
        super().__init__()
        latent_dim, width, shape, n = flat_args(self, latent_dim, width, image_shape)
        self.latent_dim, self.latent_shape, self.image_shape = latent_dim, (latent_dim,), shape
        self.net = nn.Sequential(nn.Linear(latent_dim, width), nn.Softplus(), nn.Linear(width, width), nn.Softplus(),
                                 nn.Linear(width, n), nn.Sigmoid())
        _init(self, seed)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """The pre-sigmoid outputs ``(B, C*H*W)`` (the Bernoulli logits the training loss takes).

        Parameters
        ----------
        z : torch.Tensor
            Latents ``(B, latent_dim)``.

        Returns
        -------
        torch.Tensor
        """
        return self.net[:-1](z.reshape(z.shape[0], self.latent_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images in :math:`[0, 1]` from latents.

        Parameters
        ----------
        z : torch.Tensor
            Latents ``(B, latent_dim)``.

        Returns
        -------
        torch.Tensor
            Images ``(B, *image_shape)``.
        """
        return self.net(z.reshape(z.shape[0], self.latent_dim)).reshape(z.shape[0], *self.image_shape)

    def split(self, cut: int):
        """``(lower, upper)`` with ``upper(lower(z)) == self(z)``, cut before ``net[cut]``.

        Parameters
        ----------
        cut : int
            ``1 <= cut < len(self.net)`` (6 layers: linear, softplus, linear, softplus, linear, sigmoid).

        Returns
        -------
        lower, upper : callable
        """
        return split_flat(self, cut)


class VAEEncoder(ConfigMixin, nn.Module):
    r"""``C*H*W -> width -> width -> 2 k`` with softplus: the mean and log variance of :math:`q(z \mid x)`.

    Parameters
    ----------
    latent_dim : int
        Size :math:`k` of the latent vector.
    width : int
        Size of the two hidden layers.
    image_shape : tuple of int
        ``(C, H, W)`` of the images.
    seed : None, int or torch.Generator
        Seed of the weight initialisation.
    """

    arch = "vae-mlp"

    def __init__(self, latent_dim: int = 20, width: int = 500, image_shape=(1, 28, 28), seed=None):
        super().__init__()
        latent_dim, width, shape, n = flat_args(self, latent_dim, width, image_shape)
        self.latent_dim, self.image_shape = latent_dim, shape
        self.net = nn.Sequential(nn.Linear(n, width), nn.Softplus(), nn.Linear(width, width), nn.Softplus(),
                                 nn.Linear(width, 2 * latent_dim))
        _init(self, seed)

    def forward(self, x: torch.Tensor):
        r"""``(mu, log_var)``, each ``(B, latent_dim)``, of :math:`q(z \mid x)`.

        Parameters
        ----------
        x : torch.Tensor
            Images ``(B, *image_shape)`` in [0, 1].

        Returns
        -------
        mu, log_var : torch.Tensor
        """
        out = self.net(x.reshape(x.shape[0], -1))
        return out[:, :self.latent_dim], out[:, self.latent_dim:]
