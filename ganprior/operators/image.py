"""Image-domain operators: identity, pixel mask (inpainting), block downsampling (super-resolution).

These operators have no floating-point buffers: they compute in the dtype of their input, and integer or
boolean input (e.g. uint8 images) in the default floating dtype (``torch.get_default_dtype()``); complex
input raises a TypeError.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import as_real_float, check_int, describe
from .base import LinearOperator, shape_tuple


class Identity(LinearOperator):
    """The identity on images of shape ``in_shape`` (denoising, representation error).

    Parameters
    ----------
    in_shape : int or tuple of int
        Shape of one image; ``m = n = prod(in_shape)``.
    """

    def __init__(self, in_shape):
        in_shape = shape_tuple(in_shape, "in_shape")
        super().__init__(int(np.prod(in_shape)), in_shape)

    def _forward(self, x):
        return as_real_float(x, "Identity")

    def _adjoint(self, y):
        return as_real_float(y, "Identity")


class Mask(LinearOperator):
    """Keep the known pixels of an image: ``y = x[mask]``.

    Parameters
    ----------
    mask : array_like or torch.Tensor of bool or {0, 1}
        Shape of one image (``in_shape``); 1/True marks a known pixel.

    Notes
    -----
    ``m`` is the number of known pixels; the adjoint scatters measurements back
    into an image that is zero at the missing pixels.
    """

    def __init__(self, mask):
        if isinstance(mask, np.ndarray):
            mask = torch.from_numpy(np.ascontiguousarray(mask))
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"The 'mask' parameter must be an array or tensor. Got {describe(mask)} instead.")
        if mask.dtype != torch.bool:
            if not bool(((mask == 0) | (mask == 1)).all()):
                raise ValueError("The 'mask' parameter must hold only 0 and 1 (or booleans).")
            mask = mask != 0
        index = torch.nonzero(mask.reshape(-1)).reshape(-1)
        if index.numel() == 0:
            raise ValueError("The 'mask' parameter marks no known pixel: at least one entry must be 1.")
        super().__init__(index.numel(), tuple(mask.shape))
        self.register_buffer("index", index)

    @property
    def mask(self) -> torch.Tensor:
        """The boolean mask of known pixels, shape ``in_shape``."""
        out = torch.zeros(self.n, dtype=torch.bool, device=self.index.device)
        out[self.index] = True
        return out.reshape(self.in_shape)

    def _forward(self, x):
        return as_real_float(x, "Mask")[:, self.index]

    def _adjoint(self, y):
        y = as_real_float(y, "Mask")
        out = y.new_zeros(y.shape[0], self.n)
        out[:, self.index] = y
        return out


class Downsample(LinearOperator):
    r"""Super-resolution operator: average over ``factor x factor`` blocks.

    Parameters
    ----------
    in_shape : tuple of int
        ``(C, H, W)`` with ``H`` and ``W`` divisible by ``factor``.
    factor : int
        Block size.

    Notes
    -----
    :math:`(Ax)_{c,i,j} = f^{-2} \sum_{a,b<f} x_{c, fi+a, fj+b}`; the adjoint
    copies each value to its block divided by :math:`f^2`.
    """

    def __init__(self, in_shape, factor: int):
        in_shape = shape_tuple(in_shape, "in_shape")
        factor = check_int(factor, "factor", minimum=1, owner="Downsample")
        if len(in_shape) != 3 or in_shape[1] % factor or in_shape[2] % factor:
            raise ValueError(
                f"Downsample needs in_shape (C, H, W) with H and W divisible by factor={factor}. "
                f"Got in_shape {in_shape} instead."
            )
        c, h, w = in_shape
        super().__init__(c * (h // factor) * (w // factor), in_shape)
        self.factor = factor

    def _forward(self, x):
        c, h, w = self.in_shape
        img = as_real_float(x, "Downsample").reshape(-1, c, h, w)
        return torch.nn.functional.avg_pool2d(img, self.factor).reshape(x.shape[0], -1)

    def _adjoint(self, y):
        c, h, w = self.in_shape
        f = self.factor
        low = as_real_float(y, "Downsample").reshape(-1, c, h // f, w // f) / (f * f)
        return low.repeat_interleave(f, dim=2).repeat_interleave(f, dim=3).reshape(y.shape[0], -1)
