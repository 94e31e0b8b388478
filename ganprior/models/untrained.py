r"""Untrained image priors: the Deep Decoder (Heckel & Hand, ICLR 2019) and a small Deep Image Prior network
(Ulyanov, Vedaldi, Lempitsky, CVPR 2018).

Neither network is trained on data.  Each maps a fixed random input :math:`u` to an image,
:math:`x = f_w(u)`, and a recovery fits the weights :math:`w` to one problem's measurements
(:mod:`ganprior.solvers.untrained`); the architecture is the prior.  Both end in the same output map onto
the data range (:func:`output_map`) and both normalise with :class:`ChannelNorm`, which acts on each image
alone, so that a batch of problems, each with its own weights, is a batch of independent rows.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_data_range, check_int, describe

__all__ = ["ChannelNorm", "DeepDecoder", "SkipNet", "output_map", "default_depth", "draw_parameters"]


class ChannelNorm(nn.Module):
    r"""Channel normalisation of one image: each channel to zero mean and unit variance over its pixels, then a
    learnt scale and shift.

    .. math:: \mathrm{cn}(x)_{c} = \gamma_c\, \frac{x_c - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c,
              \qquad \mu_c, \sigma_c^2 \text{ the mean and variance of channel } c \text{ over its pixels}

    This is the Deep Decoder's channel normalisation, and batch normalisation in training mode with a batch
    of one image (how the Deep Image Prior runs it); unlike batch norm it never mixes the rows of a batch.

    Parameters
    ----------
    channels : int
        Number of channels.
    eps : float
        :math:`\epsilon` (default 1e-5).
    """

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` of shape ``(B, C, H, W)`` per image and channel.

        Parameters
        ----------
        x : torch.Tensor
            Activations ``(B, C, H, W)``.

        Returns
        -------
        torch.Tensor
            Same shape.
        """
        mean = x.mean(dim=(2, 3), keepdim=True)
        var = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def output_map(t: torch.Tensor, data_range) -> torch.Tensor:
    r"""The last layer's map onto the data range: :math:`a + (b - a)\,\sigma(t)` for ``data_range`` :math:`(a, b)`
    (the papers' sigmoid for images in [0, 1]); the identity for ``None`` (unbounded images).

    Parameters
    ----------
    t : torch.Tensor
        The last convolution's output.
    data_range : None or (float, float)
        The image range.

    Returns
    -------
    torch.Tensor
    """
    if data_range is None:
        return t
    low, high = data_range
    return low + (high - low) * torch.sigmoid(t)


def default_depth(image_shape) -> int:
    """Upsampling steps from the coarsest grid to the image: the most for which the coarsest grid still has at
    least 4 pixels a side (:math:`\\lfloor\\log_2(\\min(H, W) / 4)\\rfloor`, at least 0): 2 for 28x28, 4 for
    64x64.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)``.

    Returns
    -------
    int
    """
    side = min(int(image_shape[1]), int(image_shape[2]))
    return max(0, int(math.floor(math.log2(side / 4)))) if side >= 4 else 0


def _sizes(image_shape, depth):
    """The grid of each level, coarsest first: :math:`\\lceil H / 2^{d-i} \\rceil \\times \\lceil W / 2^{d-i} \\rceil`."""
    h, w = int(image_shape[1]), int(image_shape[2])
    return [(max(1, math.ceil(h / 2 ** (depth - i))), max(1, math.ceil(w / 2 ** (depth - i))))
            for i in range(depth + 1)]


def _check_image_shape(image_shape, owner):
    if (not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in image_shape)):
        raise ValueError(f"The 'image_shape' parameter of {owner} must be (C, H, W), three positive ints. "
                         f"Got {describe(image_shape)} instead.")
    return tuple(int(s) for s in image_shape)


class _Untrained(nn.Module):
    """What the untrained networks share: the checked image shape, depth and data range, a fixed input's shape,
    its draw, and the output map."""

    input_shape: tuple

    def __init__(self, image_shape, depth, data_range, owner):
        super().__init__()
        self.image_shape = _check_image_shape(image_shape, owner)
        self.depth = default_depth(self.image_shape) if depth is None else check_int(depth, "depth", minimum=0,
                                                                                      owner=owner)
        self.data_range = check_data_range(data_range, owner)

    def features(self, u: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """The last convolution's output, before :func:`output_map`.

        Parameters
        ----------
        u : torch.Tensor
            The fixed inputs ``(B, *input_shape)``.

        Returns
        -------
        torch.Tensor
        """
        raise NotImplementedError

    def draw_input(self, generator: torch.Generator) -> torch.Tensor:
        r"""The fixed random input :math:`u \sim \mathrm{Unif}[0, 0.1]` of shape :attr:`input_shape` (the Deep Image
        Prior's; the Deep Decoder's paper draws it uniformly too), drawn on the CPU in float32 from ``generator``.

        Parameters
        ----------
        generator : torch.Generator
            The seeded stream.

        Returns
        -------
        torch.Tensor
            ``input_shape``.
        """
        return 0.1 * torch.rand(self.input_shape, generator=generator)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Images ``(B, *image_shape)`` from inputs ``(B, *input_shape)``.

        Parameters
        ----------
        u : torch.Tensor
            The fixed inputs.

        Returns
        -------
        torch.Tensor
        """
        return output_map(self.features(u), self.data_range)


class DeepDecoder(_Untrained):
    r"""The Deep Decoder (Heckel & Hand, ICLR 2019): 1x1 convolutions, bilinear upsampling, ReLU and channel
    normalisation, under-parameterised.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)``.
    width : int, optional
        Channels :math:`k` of every layer.  Default: the largest :math:`k \ge 2` whose network has at most
        :math:`n/4` parameters (:math:`n = CHW`), so that the decoder cannot represent every image: 6 for
        28x28x1, 23 for 64x64x3.
    depth : int, optional
        Upsampling layers :math:`d` (default :func:`default_depth`: the coarsest grid has at least 4 pixels a
        side).
    data_range : None or (float, float)
        The images' range (:func:`output_map`; default (0, 1), the paper's sigmoid).

    Notes
    -----
    With :math:`B_0 = u` a fixed random tensor of :math:`k` channels on the coarsest grid,

    .. math:: B_{i+1} = \mathrm{cn}\big(\mathrm{ReLU}(U_i\, C_i B_i)\big), \quad i = 0, \dots, d - 1, \qquad
              x = \mathrm{out}\big(C_{d+1}\, \mathrm{cn}(\mathrm{ReLU}(C_d B_d))\big),

    where :math:`C_i` is a 1x1 convolution (a :math:`k \times k` channel mixing, with bias), :math:`U_i` bilinear
    upsampling by two (to the next grid), cn the :class:`ChannelNorm` and out the :func:`output_map`.  The paper
    shows that such a network with fewer weights than pixels represents natural images well and noise badly,
    so fitting its weights to measurements regularises without any training data.
    """

    def __init__(self, image_shape, width: int | None = None, depth: int | None = None, data_range=(0.0, 1.0)):
        owner = "DeepDecoder"
        super().__init__(image_shape, depth, data_range, owner)
        C = self.image_shape[0]
        n = self.image_shape[0] * self.image_shape[1] * self.image_shape[2]
        if width is None:
            width = 2
            while self.count(width + 1, self.depth, C) <= n / 4:
                width += 1
        self.width = check_int(width, "width", minimum=1, owner=owner)
        k, sizes = self.width, _sizes(self.image_shape, self.depth)
        layers = []
        for i in range(self.depth):
            layers += [nn.Conv2d(k, k, 1), nn.Upsample(size=sizes[i + 1], mode="bilinear", align_corners=False),
                       nn.ReLU(), ChannelNorm(k)]
        layers += [nn.Conv2d(k, k, 1), nn.ReLU(), ChannelNorm(k), nn.Conv2d(k, C, 1)]
        self.net = nn.Sequential(*layers)
        self.input_shape = (k, *sizes[0])

    @staticmethod
    def count(width: int, depth: int, channels: int) -> int:
        """Parameters of a Deep Decoder of this width, depth and output channels.

        Parameters
        ----------
        width, depth, channels : int
            :math:`k`, :math:`d`, :math:`C`.

        Returns
        -------
        int
            :math:`(d + 1)(k^2 + 3k) + (k + 1)C`.
        """
        return (depth + 1) * (width * width + 3 * width) + (width + 1) * channels

    def features(self, u: torch.Tensor) -> torch.Tensor:
        return self.net(u)


class _Skip(nn.Module):
    """One level of :class:`SkipNet`: down, the level below, up, with a skip connection around them."""

    def __init__(self, c_in, k, s, size, inner):
        super().__init__()
        act = nn.LeakyReLU(0.2)
        self.down = nn.Sequential(nn.Conv2d(c_in, k, 3, stride=2, padding=1), ChannelNorm(k), act,
                                  nn.Conv2d(k, k, 3, padding=1), ChannelNorm(k), act)
        self.skip = nn.Sequential(nn.Conv2d(c_in, s, 1), ChannelNorm(s), act) if s else None
        self.inner = inner
        self.up = nn.Upsample(size=size, mode="bilinear", align_corners=False)
        self.merge = nn.Sequential(ChannelNorm(k + s), nn.Conv2d(k + s, k, 3, padding=1), ChannelNorm(k), act,
                                   nn.Conv2d(k, k, 1), ChannelNorm(k), act)

    def forward(self, x):
        deep = self.up(self.inner(self.down(x)))
        if self.skip is not None:
            deep = torch.cat([self.skip(x), deep], dim=1)
        return self.merge(deep)


class SkipNet(_Untrained):
    r"""A small Deep Image Prior network (Ulyanov, Vedaldi, Lempitsky, CVPR 2018): the paper's encoder-decoder with
    skip connections ("skip"), with fewer channels and levels.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)``.
    width : int
        Channels :math:`k` of every level and of the input (default 32; the paper: 128).
    depth : int, optional
        Levels (strided convolutions) of the encoder (default :func:`default_depth`; the paper: 5).
    skip : int
        Channels of each skip connection (default 4, the paper's).
    data_range : None or (float, float)
        The images' range (:func:`output_map`; default (0, 1), the paper's sigmoid).

    Notes
    -----
    The input :math:`u` is fixed noise of :math:`k` channels at the image's size.  Level :math:`i` maps its
    input :math:`a` to

    .. math:: \mathrm{merge}\big([\,\mathrm{skip}(a),\ U(\mathrm{level}_{i+1}(\mathrm{down}(a)))\,]\big),

    with down = (3x3 convolution of stride 2, cn, LeakyReLU, 3x3 convolution, cn, LeakyReLU), skip = (1x1
    convolution to ``skip`` channels, cn, LeakyReLU), :math:`U` bilinear upsampling back to the level's grid and
    merge = (cn, 3x3 convolution, cn, LeakyReLU, 1x1 convolution, cn, LeakyReLU), cn the :class:`ChannelNorm`
    (the paper's batch norm on a batch of one image); the deepest level's inner part is the identity.  A 1x1
    convolution and the :func:`output_map` make the image.  The network has far more weights than pixels: it
    can fit any image, noise included, but fits natural structure first -- the prior is in the early stop.
    """

    def __init__(self, image_shape, width: int = 32, depth: int | None = None, skip: int = 4,
                 data_range=(0.0, 1.0)):
        owner = "SkipNet"
        super().__init__(image_shape, depth, data_range, owner)
        self.width = check_int(width, "width", minimum=1, owner=owner)
        self.skip_channels = check_int(skip, "skip", minimum=0, owner=owner)
        k, C = self.width, self.image_shape[0]
        sizes = _sizes(self.image_shape, self.depth)[::-1]  # finest first: ceil(ceil(h / 2) / 2) = ceil(h / 4)
        body = nn.Identity()
        for i in reversed(range(self.depth)):
            body = _Skip(k, k, self.skip_channels, sizes[i], body)
        self.body = body
        self.head = nn.Conv2d(k, C, 1)
        self.input_shape = (k, *sizes[0])

    def features(self, u: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(u))


def draw_parameters(module: nn.Module, generator: torch.Generator) -> nn.Module:
    r"""Re-draw a network's parameters in place from a seeded stream: PyTorch's default for convolutions
    (weights and biases :math:`\mathrm{Unif}[-1/\sqrt{f}, 1/\sqrt{f}]`, :math:`f` the fan-in), ones and zeros for
    :class:`ChannelNorm`.

    The draw is made on the CPU in float32 in the order of ``named_parameters``, so a seed gives the same
    network on every device and dtype.

    Parameters
    ----------
    module : torch.nn.Module
        The network (its :class:`torch.nn.Conv2d` and :class:`ChannelNorm` layers are drawn; others untouched).
    generator : torch.Generator
        The seeded stream.

    Returns
    -------
    torch.nn.Module
        ``module``.
    """
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Conv2d):
                fan_in = layer.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                for p in (layer.weight, layer.bias):
                    if p is not None:
                        p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)
            elif isinstance(layer, ChannelNorm):
                layer.weight.fill_(1.0)
                layer.bias.zero_()
    return module
