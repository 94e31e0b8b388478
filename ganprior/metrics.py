r"""Image quality metrics, per image: the paper's per-pixel MSE, PSNR and SSIM.

Each function takes two NumPy arrays or two torch tensors of the same shape,
one image ``(*image_shape)`` or a batch ``(B, *image_shape)`` (give
``batched=False`` for a single image whose first axis is a channel axis), and
returns one value per image in the input's type.  Values are computed in
float64; integer and boolean images are accepted, complex ones raise a
TypeError (the metrics are defined on real pixels).
"""

from __future__ import annotations

import numpy as np
import torch

from ._validation import check_float, check_int, describe

__all__ = ["mse", "psnr", "ssim", "normalized_mse", "mse_up_to_sign"]


def _pair(x, ref, name):
    numpy_in = isinstance(x, np.ndarray) and isinstance(ref, np.ndarray)
    torch_in = isinstance(x, torch.Tensor) and isinstance(ref, torch.Tensor)
    if not (numpy_in or torch_in):
        raise TypeError(f"{name} expects two numpy arrays or two torch tensors. Got {describe(x)} and {describe(ref)}.")
    if tuple(x.shape) != tuple(ref.shape):
        raise ValueError(f"{name} expects inputs of the same shape. Got {tuple(x.shape)} and {tuple(ref.shape)}.")
    if x.ndim == 0:
        raise ValueError(f"{name} expects images, not scalars.")
    for v in (x, ref):
        kind = v.dtype.kind if numpy_in else ("c" if v.is_complex() else "f")
        if kind == "c":
            raise TypeError(f"{name} expects real images. Got {describe(v)}; compare the magnitudes (abs) or the "
                            "real and imaginary parts separately.")
        if kind not in "biuf":
            raise TypeError(f"{name} expects numeric images. Got {describe(v)} instead.")
    xt = torch.as_tensor(x).double() if numpy_in else x.double()
    rt = torch.as_tensor(ref).double() if numpy_in else ref.to(x.device).double()
    return xt, rt, numpy_in


def _out(value, numpy_in, like):
    if numpy_in:
        return value.cpu().numpy()
    return value.to(like.dtype if like.is_floating_point() else torch.float64)


def mse(x, ref, *, batched=True):
    r"""Per-pixel mean squared error of each image, :math:`\frac1n\|x - x^*\|^2`.

    The "reconstruction error (per pixel)" of Bora et al. (2017).

    Parameters
    ----------
    x, ref : numpy.ndarray or torch.Tensor
        Estimate and reference, shape ``(B, *image_shape)`` (or one image with
        ``batched=False``).
    batched : bool
        Whether the first axis indexes images.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shape ``(B,)``, or a 0-d value for one image.

    Raises
    ------
    TypeError
        If the inputs are not two arrays or two tensors of real numbers (complex input included).
    ValueError
        If their shapes differ.

    Examples
    --------
    >>> import numpy as np
    >>> from ganprior.metrics import mse
    >>> mse(np.zeros((2, 4)), np.ones((2, 4)))
    array([1., 1.])
    """
    return _mse(x, ref, batched, "mse")


def _mse(x, ref, batched, name):
    xt, rt, numpy_in = _pair(x, ref, name)
    diff = (xt - rt).pow(2)
    value = diff.flatten(1).mean(1) if batched else diff.mean()
    return _out(value, numpy_in, x)


def normalized_mse(x, ref, *, batched=True):
    r"""Per-pixel MSE of the images scaled to unit norm, :math:`\frac1n\|x/\|x\| - x^*/\|x^*\|\|^2`.

    The error of 1-bit compressed sensing, where the scale of :math:`x` is not identifiable
    (:class:`ganprior.likelihoods.Sign`); an all-zero image counts as the zero direction.

    Parameters
    ----------
    x, ref : numpy.ndarray or torch.Tensor
        Estimate and reference, shape ``(B, *image_shape)`` (or one image with ``batched=False``).
    batched : bool
        Whether the first axis indexes images.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shape ``(B,)``, or a 0-d value for one image.

    Examples
    --------
    >>> import numpy as np
    >>> from ganprior.metrics import normalized_mse
    >>> normalized_mse(np.array([[3.0, 4.0]]), np.array([[0.6, 0.8]]))
    array([0.])
    """
    xt, rt, numpy_in = _pair(x, ref, "normalized_mse")
    if not batched:
        xt, rt = xt.unsqueeze(0), rt.unsqueeze(0)

    def unit(v):
        flat = v.flatten(1)
        return flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-300)

    value = (unit(xt) - unit(rt)).pow(2).mean(1)
    return _out(value if batched else value[0], numpy_in, x)


def mse_up_to_sign(x, ref, *, batched=True):
    r"""Per-pixel MSE up to a global sign, :math:`\min_{s = \pm 1} \frac1n\|s x - x^*\|^2`.

    The error of real phase retrieval (:class:`ganprior.likelihoods.Magnitude`), where :math:`x` and :math:`-x`
    give the same measurements.

    Parameters
    ----------
    x, ref : numpy.ndarray or torch.Tensor
        Estimate and reference, shape ``(B, *image_shape)`` (or one image with ``batched=False``).
    batched : bool
        Whether the first axis indexes images.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shape ``(B,)``, or a 0-d value for one image.

    Examples
    --------
    >>> import numpy as np
    >>> from ganprior.metrics import mse_up_to_sign
    >>> mse_up_to_sign(-np.ones((1, 4)), np.ones((1, 4)))
    array([0.])
    """
    xt, rt, numpy_in = _pair(x, ref, "mse_up_to_sign")
    dims = tuple(range(1, xt.ndim)) if batched else tuple(range(xt.ndim))
    value = torch.minimum((xt - rt).pow(2).mean(dims), (xt + rt).pow(2).mean(dims))
    return _out(value, numpy_in, x)


def psnr(x, ref, *, data_range=1.0, batched=True):
    r"""Peak signal-to-noise ratio in dB, :math:`10 \log_{10}(L^2 / \mathrm{MSE})`, per image.

    Parameters
    ----------
    x, ref : numpy.ndarray or torch.Tensor
        Estimate and reference.
    data_range : float
        :math:`L`, the width of the pixel range (1 for images in [0, 1]).
    batched : bool
        Whether the first axis indexes images.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        PSNR per image (``inf`` where the images are equal).

    Raises
    ------
    TypeError, ValueError
        As :func:`mse`, and a ValueError if ``data_range`` is not a finite number > 0.
    """
    data_range = check_float(data_range, "data_range", minimum=0.0, strict=True, owner="psnr")
    err = torch.as_tensor(_mse(x, ref, batched, "psnr")).double()
    value = 10.0 * torch.log10(data_range**2 / err)
    return _out(value, isinstance(x, np.ndarray), x)


def _gaussian_window(size, sigma, dtype, device):
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(x, ref, *, data_range=1.0, win_size=11, sigma=1.5, k1=0.01, k2=0.03, batched=True):
    r"""Structural similarity (Wang et al., 2004), mean over pixels and channels, per image.

    Parameters
    ----------
    x, ref : numpy.ndarray or torch.Tensor
        Images ``(B, C, H, W)`` or ``(B, H, W)`` (``batched=True``), or one image.
    data_range : float
        :math:`L`, the width of the pixel range.
    win_size : int
        Side of the Gaussian window (odd), default 11.
    sigma : float
        Standard deviation of the window, default 1.5.
    k1, k2 : float
        Stabilising constants, :math:`C_1 = (k_1 L)^2`, :math:`C_2 = (k_2 L)^2`.
    batched : bool
        Whether the first axis indexes images.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        SSIM per image, in :math:`[-1, 1]`.

    Raises
    ------
    TypeError
        If the inputs are not two arrays or two tensors of real numbers (complex input included).
    ValueError
        If their shapes differ or the images are smaller than the window.

    Notes
    -----
    With Gaussian-weighted local means :math:`\mu`, variances :math:`\sigma^2`
    and covariance :math:`\sigma_{xy}` (windows fully inside the image),

    .. math:: \mathrm{SSIM} = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
              {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},

    averaged over window positions and channels; the covariances use the
    unbiased normalisation :math:`N/(N-1)` with :math:`N` the window size
    squared, as in the reference implementation.
    """
    xt, rt, numpy_in = _pair(x, ref, "ssim")
    win_size = check_int(win_size, "win_size", minimum=3, owner="ssim")
    if win_size % 2 == 0:
        raise ValueError(f"The 'win_size' parameter of ssim must be odd. Got {win_size} instead.")
    data_range = check_float(data_range, "data_range", minimum=0.0, strict=True, owner="ssim")
    if not batched:
        xt, rt = xt[None], rt[None]
    if xt.ndim == 3:
        xt, rt = xt[:, None], rt[:, None]
    if xt.ndim != 4:
        raise ValueError(f"ssim expects images of shape (B, C, H, W) or (B, H, W). Got {tuple(x.shape)}.")
    b, c, h, w = xt.shape
    if h < win_size or w < win_size:
        raise ValueError(f"ssim needs images at least win_size={win_size} pixels on each side. Got {h}x{w}.")
    g = _gaussian_window(win_size, sigma, xt.dtype, xt.device)
    kernel = (g[:, None] * g[None, :]).expand(c, 1, win_size, win_size)

    def filt(t):
        return torch.nn.functional.conv2d(t, kernel, groups=c)

    mu_x, mu_y = filt(xt), filt(rt)
    cov_norm = win_size**2 / (win_size**2 - 1)
    var_x = cov_norm * (filt(xt * xt) - mu_x**2)
    var_y = cov_norm * (filt(rt * rt) - mu_y**2)
    cov = cov_norm * (filt(xt * rt) - mu_x * mu_y)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    value = s.flatten(1).mean(1)
    if not batched:
        value = value[0]
    return _out(value, numpy_in, x)

