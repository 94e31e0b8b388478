r"""``recover``: validate, convert types, dispatch on ``method``.

Latent methods run on the one engine in :mod:`ganprior.solvers.latent`;
sparse baselines live in :mod:`ganprior.solvers.lasso`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch

from .._validation import check_choice, check_finite, check_float, check_int, describe
from ..generator import Generator
from ..operators import as_operator
from .csgm import CSGMObjective
from .latent import LatentObjective, LatentResult, optimize_latents

__all__ = ["recover", "RecoveryResult", "METHODS", "LATENT_METHODS", "SPARSE_METHODS",
           "LatentObjective", "LatentResult", "optimize_latents", "CSGMObjective"]

LATENT_METHODS = ("csgm",)
SPARSE_METHODS = ("lasso", "lasso-dct", "lasso-wavelet", "omp")
METHODS = LATENT_METHODS + SPARSE_METHODS


@dataclass
class RecoveryResult:
    """The result of :func:`recover` with ``return_result=True``.

    Array fields are in the caller's type (NumPy or torch on the caller's
    device); for a single problem (``y`` of shape ``(m,)``) the leading
    problem axis is dropped.

    Attributes
    ----------
    x : array
        Recovered images, ``(P, *image_shape)`` or ``image_shape``.
    z : array or None
        Chosen latents (latent methods only).
    measurement_error : array
        :math:`\\|y - A\\hat x\\|^2` per problem.
    loss : array or None
        Minimised objective at the chosen latent.
    restart : array or None
        Index of the chosen restart.
    history : array or None
        Loss per problem, restart and step, ``(P, R, steps)``.
    steps : array or None
        Steps each restart ran.
    wall_time : float
        Seconds.
    method : str
        The method used.
    info : dict
        Method-specific extras (e.g. the hyperparameters used).
    """

    x: object
    measurement_error: object
    wall_time: float
    method: str
    z: object = None
    loss: object = None
    restart: object = None
    history: object = None
    steps: object = None
    info: dict = field(default_factory=dict)


def _as_generator(G, latent_shape, method):
    if G is None:
        raise ValueError(f"The 'G' parameter is required for method={method!r}: give a ganprior.Generator, "
                         "a torch.nn.Module or the name of a bundled prior.")
    if isinstance(G, str):
        from ..priors import load_prior

        return load_prior(G)
    if isinstance(G, Generator):
        if latent_shape is not None:
            raise ValueError("The 'latent_shape' parameter is only for a bare torch.nn.Module 'G'; "
                             "this Generator already has one.")
        return G
    if isinstance(G, torch.nn.Module):
        return Generator(G, latent_shape)
    raise TypeError("The 'G' parameter must be a ganprior.Generator, a torch.nn.Module or a bundled prior name. "
                    f"Got {describe(G)} instead.")


def _check_y(y):
    if isinstance(y, np.ndarray):
        if not (np.issubdtype(y.dtype, np.floating) or np.issubdtype(y.dtype, np.integer)) or y.dtype == bool:
            raise TypeError(f"The 'y' parameter must hold real numbers. Got {describe(y)} instead.")
    elif isinstance(y, torch.Tensor):
        if y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"The 'y' parameter must hold real numbers. Got {describe(y)} instead.")
    else:
        raise TypeError("The 'y' parameter must be a numpy.ndarray or torch.Tensor of shape (m,) or (P, m). "
                        f"Got {describe(y)} instead.")
    if y.ndim not in (1, 2) or y.shape[-1] == 0 or y.shape[0] == 0:
        raise ValueError(f"The 'y' parameter must have shape (m,) or (P, m) with m, P >= 1. Got {describe(y)} instead.")
    check_finite(y, "y")


def _same_device(a: torch.device, b: torch.device) -> bool:
    a, b = torch.device(a), torch.device(b)
    if a.type != b.type:
        return False
    return a.index is None or b.index is None or a.index == b.index


def _prepare_operator(A, device, dtype):
    """Operator on the working device and dtype; never mutates the caller's object."""
    if isinstance(A, torch.Tensor) and A.ndim == 2 and not _same_device(A.device, device):
        raise ValueError(f"Device mismatch: the 'A' parameter is on {A.device} but the computation runs on "
                         f"{device} (G's device). Move A or G so they match.")
    if isinstance(A, (np.ndarray, torch.Tensor)):
        return as_operator(A, None, name="A").to(device=device, dtype=dtype)  # a fresh wrapper: safe to move
    op = as_operator(A, None, name="A")
    has_buffers = any(True for _ in op.buffers())
    if has_buffers and not _same_device(op.device, device):
        raise ValueError(f"Device mismatch: the operator 'A' is on {op.device} but the computation runs on "
                         f"{device} (G's device). Call A.to({str(device)!r}) or move G.")
    float_bufs = [b for b in op.buffers() if b.is_floating_point()]
    if any(b.dtype != dtype for b in float_bufs):
        op = copy.deepcopy(op).to(dtype=dtype)
    return op


def _back(value, like, squeeze):
    """Convert a torch result to the caller's type, dtype and device."""
    if value is None:
        return None
    if squeeze:
        value = value[0]
    if isinstance(like, np.ndarray):
        out = value.detach().cpu()
        if out.is_floating_point():
            np_dtype = like.dtype if np.issubdtype(like.dtype, np.floating) else np.float32
            return out.double().numpy().astype(np_dtype, copy=False)
        return out.numpy()
    if value.is_floating_point() and like.is_floating_point():
        value = value.to(dtype=like.dtype)
    return value.detach().to(like.device)


def recover(y, A, G=None, *, method="csgm", lam=0.0, restarts=10, steps=1000, lr=0.01, optimizer="adam",
            seed=None, select="measurement", patience=None, tol=1e-4, chunk_size=None, precision="fp32", latent_shape=None,
            image_shape=None, alpha=None, data_range=(0.0, 1.0), progress=False, return_result=False,
            schedule="constant"):
    r"""Recover images from linear measurements :math:`y = A x + \eta`.

    Parameters
    ----------
    y : numpy.ndarray or torch.Tensor
        One problem ``(m,)`` or a batch ``(P, m)``.
    A : LinearOperator, numpy.ndarray or torch.Tensor
        The ``(m, n)`` measurement operator, shared by all problems.
    G : Generator, torch.nn.Module or str, optional
        The prior (latent methods only); a string names a bundled prior.
    method : {"csgm", "lasso", "lasso-dct", "lasso-wavelet", "omp"}
        ``"csgm"`` (default) minimises :math:`\|y - AG(z)\|^2 + \lambda\|z\|^2`
        over the latent; the others are the sparse baselines, which need no
        ``G``.
    lam : float
        :math:`\lambda \ge 0`, weight of :math:`\|z\|^2` (default 0).
    restarts : int
        Random restarts per problem (default 10, as in the paper's MNIST runs).
    steps : int
        Optimiser steps (default 1000).
    lr : float
        Step size (default 0.01, Adam).
    optimizer : {"adam", "sgd"}
        Latent optimiser.
    seed : None, int, torch.Generator or sequence of P seeds
        Seed of the initial latents (see :func:`~ganprior.solvers.latent.optimize_latents`).
    select : {"measurement", "loss"}
        Choose each problem's restart by measurement error (default) or total loss.
    patience : int, optional
        Per-restart early stop after ``patience`` steps without a relative
        improvement of ``tol``; stopped restarts leave the batch, so this saves
        compute.
    tol : float
        Relative improvement that counts for ``patience`` (default 1e-4).
    chunk_size : int, optional
        Problems optimised at once (bounds memory).
    precision : {"fp32", "bf16"}
        Generator precision during the search.
    latent_shape : int or tuple, optional
        Latent shape of a bare ``torch.nn.Module`` ``G`` without a
        ``latent_shape`` attribute.
    image_shape : tuple of int, optional
        Image shape for the baselines (default: ``A``'s input shape).
    alpha : float, optional
        Sparsity weight of the baselines (default: the paper's value per basis).
    data_range : (float, float) or None
        Baselines clip their output to this range.
    progress : bool
        Show a progress bar.
    schedule : {"constant", "cosine"}
        Step size schedule of the latent solver (see
        :func:`~ganprior.optimize_latents`); default ``"constant"`` as in the
        paper.  With a GAN prior, ``"cosine"`` from a larger ``lr`` (e.g. 0.3)
        reaches lower errors in the same number of steps (see the benchmarks).
    return_result : bool
        Return a :class:`RecoveryResult` instead of just the images.

    Returns
    -------
    x : numpy.ndarray or torch.Tensor
        ``(*image_shape)`` for one problem or ``(P, *image_shape)``, of the
        type, dtype and device of ``y``; a :class:`RecoveryResult` if
        ``return_result``.

    Raises
    ------
    TypeError, ValueError
        On any bad input, before any work starts.

    Notes
    -----
    CSGM (Bora et al., 2017) returns :math:`\hat x = G(\hat z)` with

    .. math:: \hat z = \arg\min_z \|y - A G(z)\|_2^2 + \lambda \|z\|_2^2,

    found by Adam from ``restarts`` initial latents :math:`z_0 \sim
    \mathcal{N}(0, I)`, keeping per problem the restart with the lowest
    measurement error :math:`\|y - AG(\hat z)\|^2`.  With
    :math:`A_{ij} \sim \mathcal{N}(0, 1/m)`, :math:`m = O(kd \log n)`
    measurements suffice for a :math:`d`-layer ReLU generator with
    :math:`k`-dimensional latents.

    Examples
    --------
    >>> import torch, ganprior
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 64))
    >>> G = ganprior.Generator(net, latent_shape=4, output_range=(0, 1))
    >>> A = ganprior.operators.Gaussian(m=20, n=64, seed=0)
    >>> x_true = G(torch.randn(1, 4)).detach()[0]
    >>> x_hat = ganprior.recover(A(x_true), A, G, restarts=4, steps=500, lr=0.05, seed=0)
    >>> bool(((x_hat - x_true).norm() / x_true.norm()) < 1e-2)
    True
    """
    method = check_choice(method, "method", METHODS, owner="recover")
    _check_y(y)
    if not isinstance(return_result, bool):
        raise TypeError(f"The 'return_result' parameter must be a bool. Got {describe(return_result)} instead.")
    squeeze = y.ndim == 1
    if method in SPARSE_METHODS:
        return _recover_sparse(y, A, G, method=method, alpha=alpha, image_shape=image_shape,
                               data_range=data_range, squeeze=squeeze, return_result=return_result)

    lam = check_float(lam, "lam", minimum=0.0, owner="recover")
    restarts = check_int(restarts, "restarts", minimum=1, owner="recover")
    steps = check_int(steps, "steps", minimum=1, owner="recover")
    lr = check_float(lr, "lr", minimum=0.0, strict=True, owner="recover")
    for name, value in (("alpha", alpha), ("image_shape", image_shape)):
        if value is not None:
            raise ValueError(f"The '{name}' parameter is for the sparse baselines, not method={method!r}.")
    G = _as_generator(G, latent_shape, method)
    device, dtype = G.device, G.dtype
    if isinstance(y, torch.Tensor) and not _same_device(y.device, device):
        raise ValueError(f"Device mismatch: the 'y' parameter is on {y.device} but G is on {device}. "
                         "Move y or G so they match.")
    op = _prepare_operator(A, device, dtype)
    m = y.shape[-1]
    if op.m != m:
        raise ValueError(f"Shape mismatch: 'y' holds m={m} measurements per problem but the operator 'A' "
                         f"has m={op.m} rows (A.shape = {op.shape}).")
    if op.n != G.n:
        raise ValueError(f"Shape mismatch: the operator 'A' takes n={op.n} pixels but G makes images of shape "
                         f"{G.image_shape} (n={G.n}).")
    if len(op.in_shape) > 1 and op.in_shape != G.image_shape:
        raise ValueError(f"Shape mismatch: the operator 'A' acts on images of shape {op.in_shape} but G makes "
                         f"images of shape {G.image_shape}.")
    y_t = torch.as_tensor(y).to(device=device, dtype=dtype).reshape(-1, m)
    objective = CSGMObjective(y_t, op, lam)
    res = optimize_latents(objective, G, y_t.shape[0], restarts=restarts, steps=steps, optimizer=optimizer, lr=lr,
                           seed=seed, select=select, patience=patience, tol=tol, chunk_size=chunk_size, precision=precision,
                           progress=progress, schedule=schedule)
    x = _back(res.x, y, squeeze)
    if not return_result:
        return x
    return RecoveryResult(
        x=x, z=_back(res.z, y, squeeze), measurement_error=_back(res.measurement_error, y, squeeze),
        loss=_back(res.loss, y, squeeze), restart=_back(res.restart, y, squeeze),
        history=_back(res.history, y, squeeze), steps=_back(res.steps, y, squeeze), wall_time=res.wall_time,
        method=method, info={"lam": lam, "restarts": restarts, "steps": steps, "lr": lr, "optimizer": optimizer,
                             "select": select, "precision": precision},
    )


def _recover_sparse(y, A, G, *, method, alpha, image_shape, data_range, squeeze, return_result):
    """Sparse baselines: run on the CPU in float64 through scikit-learn, results in the caller's type."""
    import time

    if G is not None:
        raise ValueError(f"The 'G' parameter must be None for method={method!r}: the sparse baselines use no prior.")
    op = as_operator(A, image_shape, name="A")
    if any(True for _ in op.buffers()) and op.device.type != "cpu":
        op = copy.deepcopy(op).cpu()
    y_np = y.detach().cpu().double().numpy() if isinstance(y, torch.Tensor) else np.asarray(y, dtype=np.float64)
    y_np = y_np.reshape(-1, y.shape[-1])
    if y_np.shape[1] != op.m:
        raise ValueError(f"Shape mismatch: 'y' holds m={y_np.shape[1]} measurements per problem but the operator "
                         f"'A' has m={op.m} rows (A.shape = {op.shape}).")
    basis = {"lasso": "pixel", "lasso-dct": "dct", "lasso-wavelet": "wavelet", "omp": "pixel"}[method]
    from .lasso import solve_sparse

    start = time.perf_counter()
    x = solve_sparse(y_np, op, basis=basis, solver="omp" if method == "omp" else "lasso", alpha=alpha,
                     image_shape=image_shape, data_range=data_range)
    wall = time.perf_counter() - start
    x_t = torch.from_numpy(np.ascontiguousarray(x))
    op_dtype = op._dtype() or torch.float64
    with torch.no_grad():
        residual = torch.from_numpy(y_np).to(op_dtype) - op(x_t.reshape(x_t.shape[0], -1).to(op_dtype))
        err = residual.double().pow(2).sum(-1)
    out = _back(x_t, y, squeeze)
    if not return_result:
        return out
    return RecoveryResult(x=out, measurement_error=_back(err, y, squeeze), wall_time=wall, method=method,
                          info={"alpha": alpha, "basis": basis})
