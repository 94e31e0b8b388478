"""The layer rewrites of :meth:`ganprior.Generator.for_solving`: the same function, faster for latent solves.

Each acts in place on a frozen, eval-mode copy of a generator's module: batch norm folded into the layer before
it, and one-output-channel transposed convolutions computed as a matrix product and a col2im.
"""

from __future__ import annotations

import torch

CONVS = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)


class GrayDeconv(torch.nn.Module):
    r"""A one-output-channel :class:`torch.nn.ConvTranspose2d` computed as a matrix product and a col2im
    (:func:`torch.nn.functional.fold`, the adjoint of unfold): :math:`y = \mathrm{fold}(W^T x_{cols}) + b`.

    The same linear map as the layer (its definition as the adjoint of a strided convolution); on the CPU the
    one-channel case -- a grayscale image layer -- ran about 1.8x faster this way than oneDNN's transposed
    convolution (forward + backward, bf16, 100-256 rows; other channel counts were slower, so only this
    case is replaced).
    """

    def __init__(self, conv: torch.nn.ConvTranspose2d):
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        if x.ndim != 4:
            return conv(x)
        B, C, H, W = x.shape
        (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
        size = ((H - 1) * sh - 2 * ph + kh + conv.output_padding[0],
                (W - 1) * sw - 2 * pw + kw + conv.output_padding[1])
        cols = x.permute(0, 2, 3, 1).reshape(B, H * W, C) @ conv.weight.reshape(C, kh * kw)
        out = torch.nn.functional.fold(cols.transpose(1, 2), size, (kh, kw), stride=(sh, sw), padding=(ph, pw))
        return out if conv.bias is None else out + conv.bias.view(1, 1, 1, 1)


def replace_gray_deconvs(module: torch.nn.Module) -> int:
    """Swap every one-output-channel ConvTranspose2d (groups 1, dilation 1, zero padding) for :class:`GrayDeconv`."""
    swapped = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.ConvTranspose2d) and child.out_channels == 1 and child.groups == 1 \
                    and tuple(child.dilation) == (1, 1) and child.padding_mode == "zeros":
                setattr(parent, name, GrayDeconv(child))
                swapped += 1
    return swapped


def fuse_batch_norm(module: torch.nn.Module) -> int:
    """Fold every eval-mode batch norm that directly follows a convolution or linear layer inside a
    :class:`torch.nn.Sequential` into that layer, in place; the batch norm becomes an ``Identity`` (so layer
    indices are kept).  Returns the number of folded pairs."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    folded = 0
    for seq in [m for m in module.modules() if isinstance(m, torch.nn.Sequential)]:
        for i in range(len(seq) - 1):
            layer, bn = seq[i], seq[i + 1]
            if not isinstance(bn, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) or bn.training \
                    or bn.running_mean is None or bn.running_var is None:
                continue
            if isinstance(layer, CONVS) and isinstance(bn, torch.nn.BatchNorm2d) and layer.groups == 1:
                seq[i] = fuse_conv_bn_eval(layer, bn, transpose=isinstance(layer, torch.nn.ConvTranspose2d))
            elif isinstance(layer, torch.nn.Linear) and isinstance(bn, torch.nn.BatchNorm1d) \
                    and layer.out_features == bn.num_features:
                seq[i] = fuse_linear_bn_eval(layer, bn)
            else:
                continue
            seq[i + 1] = torch.nn.Identity()
            folded += 1
    return folded
