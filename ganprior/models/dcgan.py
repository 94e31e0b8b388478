r"""DCGAN generators and discriminators (Radford et al., 2016) for 28x28x1 and 64x64x3 images.

Generators map a flat latent ``z`` of shape ``(B, latent_dim)`` to images in
:math:`[-1, 1]` (``tanh`` output) through transposed convolutions, with batch
norm and ReLU after every layer except the output.  Discriminators map images
in :math:`[-1, 1]` to one raw logit per image, shape ``(B,)``, through strided
convolutions with LeakyReLU(0.2), and batch norm after every layer except the
input layer.  With ``batch_norm=False`` (needed by WGAN-GP, whose penalty is
per sample) the discriminator uses a per-sample layer norm instead
(``GroupNorm`` with one group, i.e. normalisation over ``(C, H, W)``).

Weights are drawn from :math:`N(0, 0.02)`, batch-norm scales from
:math:`N(1, 0.02)` and all biases are zero, as in the DCGAN paper.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_int, check_seed

__all__ = [
    "DCGANDiscriminator28",
    "DCGANDiscriminator64",
    "DCGANGenerator28",
    "DCGANGenerator64",
    "init_dcgan_weights",
]


def init_dcgan_weights(module: nn.Module, seed=None) -> nn.Module:
    """Initialise ``module`` in place with the DCGAN scheme and return it.

    Parameters
    ----------
    module : torch.nn.Module
        The model; every convolution, linear and normalisation layer in it is
        initialised.
    seed : None, int or torch.Generator
        Seed of the draws.

    Returns
    -------
    torch.nn.Module
        ``module`` itself.

    Notes
    -----
    Convolution and linear weights :math:`\\sim \\mathcal{N}(0, 0.02^2)`;
    normalisation scales :math:`\\sim \\mathcal{N}(1, 0.02^2)`; every bias 0
    (Radford et al., 2016).
    """
    gen = check_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.02)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
                if m.weight is not None:
                    m.weight.copy_(1.0 + torch.randn(m.weight.shape, generator=gen) * 0.02)
                if m.bias is not None:
                    m.bias.zero_()
    return module


def _d_norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.GroupNorm(1, channels)


class ConfigMixin:
    """Records the constructor arguments so a model can be rebuilt from JSON."""

    arch: str = ""

    @property
    def config(self) -> dict:
        """``{"arch": name, "kwargs": {...}}``, JSON-able; see :func:`ganprior.models.from_config`."""
        return {"arch": self.arch, "kwargs": dict(self._kwargs)}


def check_cut(cut, n_layers, owner):
    if isinstance(cut, bool) or not isinstance(cut, int) or not 1 <= cut < n_layers:
        raise ValueError(f"The 'cut' parameter of {owner}.split must be an int in [1, {n_layers - 1}] (the network has "
                         f"{n_layers} layers). Got {cut!r} instead.")


class _DCGANGenerator(ConfigMixin, nn.Module):
    """What the DCGAN generators share: ``self.net`` maps ``(B, latent_dim, 1, 1)`` to images."""

    #: The range of the tanh output, read by :class:`ganprior.Generator` to map images onto the data range.
    output_range = (-1.0, 1.0)

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
        return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))

    def split(self, cut: int):
        """``(lower, upper)`` with ``upper(lower(z)) == self(z)``: the blocks before and after layer ``cut``.

        Parameters
        ----------
        cut : int
            Index into ``self.net`` (``1 <= cut < len(self.net)``) where the network is cut.

        Returns
        -------
        lower, upper : callable
            ``lower(z)`` is the activation after ``net[:cut]``; ``upper(h)`` applies ``net[cut:]``.
        """
        check_cut(cut, len(self.net), type(self).__name__)
        head, tail = self.net[:cut], self.net[cut:]
        return (lambda z: head(z.reshape(z.shape[0], self.latent_dim, 1, 1))), tail


class _DCGANDiscriminator(ConfigMixin, nn.Module):
    """What the DCGAN discriminators share: ``self.net`` maps images to ``(B, 1, 1, 1)`` logits."""

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
        return self.net(x).reshape(x.shape[0])


class DCGANGenerator28(_DCGANGenerator):
    """DCGAN generator for 28x28x1 images: z -> 7x7x(2w) -> 14x14x(w) -> 28x28x1, tanh.

    Parameters
    ----------
    latent_dim : int
        Size of the flat latent vector.
    width : int
        Base channel count ``w``.
    channels : int
        Output channels (1 for MNIST).
    seed : None, int or torch.Generator
        Seed of the weight initialisation.
    """

    arch = "dcgan28"

    def __init__(self, latent_dim: int = 20, width: int = 64, channels: int = 1, seed=None):
        super().__init__()
        latent_dim = check_int(latent_dim, "latent_dim", minimum=1, owner=type(self).__name__)
        width = check_int(width, "width", minimum=1, owner=type(self).__name__)
        channels = check_int(channels, "channels", minimum=1, owner=type(self).__name__)
        self._kwargs = {"latent_dim": latent_dim, "width": width, "channels": channels}
        self.latent_dim = latent_dim
        self.latent_shape = (latent_dim,)
        self.image_shape = (channels, 28, 28)
        w = width
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, 2 * w, 7, 1, 0, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(True),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(True),
            nn.ConvTranspose2d(w, channels, 4, 2, 1, bias=True),
            nn.Tanh(),
        )
        init_dcgan_weights(self, seed)


class DCGANDiscriminator28(_DCGANDiscriminator):
    """DCGAN discriminator for 28x28 images: 28 -> 14x14x(w) -> 7x7x(2w) -> logit, shape (B,).

    Parameters
    ----------
    width : int
        Base channel count ``w``.
    channels : int
        Input channels.
    batch_norm : bool
        Batch norm (default) or, with False, a per-sample layer norm
        (``GroupNorm(1, C)``), as WGAN-GP needs.
    seed : None, int or torch.Generator
        Seed of the weight initialisation (:func:`init_dcgan_weights`).
    """

    arch = "dcgan28"

    def __init__(self, width: int = 64, channels: int = 1, batch_norm: bool = True, seed=None):
        super().__init__()
        width = check_int(width, "width", minimum=1, owner=type(self).__name__)
        channels = check_int(channels, "channels", minimum=1, owner=type(self).__name__)
        if not isinstance(batch_norm, bool):
            raise TypeError(f"The 'batch_norm' parameter of {type(self).__name__} must be a bool. "
                            f"Got {batch_norm!r} instead.")
        self._kwargs = {"width": width, "channels": channels, "batch_norm": batch_norm}
        self.image_shape = (channels, 28, 28)
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1, bias=True),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
            _d_norm(2 * w, batch_norm),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * w, 1, 7, 1, 0, bias=True),
        )
        init_dcgan_weights(self, seed)


class DCGANGenerator64(_DCGANGenerator):
    """DCGAN generator for 64x64 images: z -> 4x4x(8w) -> 8x8x(4w) -> 16x16x(2w) -> 32x32x(w) -> 64x64xC.

    Transposed convolutions with batch norm and ReLU, ``tanh`` output in :math:`[-1, 1]`
    (the pytorch/examples DCGAN at ``width=64``).

    Parameters
    ----------
    latent_dim : int
        Size of the flat latent vector (default 100).
    width : int
        Base channel count ``w``.
    channels : int
        Output channels (3 for RGB).
    seed : None, int or torch.Generator
        Seed of the weight initialisation.
    """

    arch = "dcgan64"

    def __init__(self, latent_dim: int = 100, width: int = 64, channels: int = 3, seed=None):
        super().__init__()
        latent_dim = check_int(latent_dim, "latent_dim", minimum=1, owner=type(self).__name__)
        width = check_int(width, "width", minimum=1, owner=type(self).__name__)
        channels = check_int(channels, "channels", minimum=1, owner=type(self).__name__)
        self._kwargs = {"latent_dim": latent_dim, "width": width, "channels": channels}
        self.latent_dim = latent_dim
        self.latent_shape = (latent_dim,)
        self.image_shape = (channels, 64, 64)
        w = width
        layers = [nn.ConvTranspose2d(latent_dim, 8 * w, 4, 1, 0, bias=False), nn.BatchNorm2d(8 * w), nn.ReLU(True)]
        for cin, cout in ((8 * w, 4 * w), (4 * w, 2 * w), (2 * w, w)):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(w, channels, 4, 2, 1, bias=True), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self, seed)


class DCGANDiscriminator64(_DCGANDiscriminator):
    """DCGAN discriminator for 64x64 images: 64 -> 32x(w) -> 16x(2w) -> 8x(4w) -> 4x(8w) -> logit, shape (B,).

    Parameters
    ----------
    width : int
        Base channel count ``w``.
    channels : int
        Input channels.
    batch_norm : bool
        Batch norm (default) or, with False, a per-sample layer norm
        (``GroupNorm(1, C)``), as WGAN-GP needs.
    seed : None, int or torch.Generator
        Seed of the weight initialisation (:func:`init_dcgan_weights`).
    """

    arch = "dcgan64"

    def __init__(self, width: int = 64, channels: int = 3, batch_norm: bool = True, seed=None):
        super().__init__()
        width = check_int(width, "width", minimum=1, owner=type(self).__name__)
        channels = check_int(channels, "channels", minimum=1, owner=type(self).__name__)
        if not isinstance(batch_norm, bool):
            raise TypeError(f"The 'batch_norm' parameter of {type(self).__name__} must be a bool. "
                            f"Got {batch_norm!r} instead.")
        self._kwargs = {"width": width, "channels": channels, "batch_norm": batch_norm}
        self.image_shape = (channels, 64, 64)
        w = width
        layers = [nn.Conv2d(channels, w, 4, 2, 1, bias=True), nn.LeakyReLU(0.2, True)]
        for cin, cout in ((w, 2 * w), (2 * w, 4 * w), (4 * w, 8 * w)):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), _d_norm(cout, batch_norm), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(8 * w, 1, 4, 1, 0, bias=True)]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self, seed)
