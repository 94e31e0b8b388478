"""Conversion between the caller's types and the engine's tensors, and the input checks that go with it.

Every public entry point (``recover``, ``inpaint``, ``sample_posterior``, the
metrics and the blending functions) takes NumPy arrays or torch tensors and
returns results of the caller's type, dtype, device and shape.  This module is
the one place that does it:

- :func:`to_caller` -- a torch or NumPy result back in the type of ``like``;
- :func:`check_measurements` -- ``y`` of shape ``(m,)`` or ``(P, m)``, real and finite;
- :func:`as_generator` -- a ``Generator``, a bare module or a bundled prior's name;
- :func:`prepare_operator` -- any accepted ``A`` on the working device and dtype;
- :func:`same_device` -- device equality that treats ``cuda`` and ``cuda:0`` alike.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from ._validation import check_finite, describe

__all__ = ["to_caller", "check_measurements", "as_generator", "prepare_operator", "same_device"]


def same_device(a, b) -> bool:
    """Whether two devices are the same (an index-less device matches any index of its type)."""
    a, b = torch.device(a), torch.device(b)
    if a.type != b.type:
        return False
    return a.index is None or b.index is None or a.index == b.index


def to_caller(value, like, squeeze: bool = False):
    """Convert a result to the type, floating dtype and device of ``like``.

    Parameters
    ----------
    value : torch.Tensor, numpy.ndarray or None
        The result, with a leading problem axis.
    like : torch.Tensor or numpy.ndarray
        The caller's input whose type the result takes.
    squeeze : bool
        Drop the leading problem axis (the caller gave one problem).

    Returns
    -------
    torch.Tensor, numpy.ndarray or None
        A NumPy array for NumPy input (floating results take ``like``'s
        floating dtype, or float32 for integer input); a tensor on ``like``'s
        device and floating dtype for torch input.
    """
    if value is None:
        return None
    if squeeze:
        value = value[0]
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(like, np.ndarray):
        out = value.detach().cpu()
        if out.is_floating_point():
            np_dtype = like.dtype if np.issubdtype(like.dtype, np.floating) else np.float32
            return out.double().numpy().astype(np_dtype, copy=False)
        return out.numpy()
    if value.is_floating_point() and like.is_floating_point():
        value = value.to(dtype=like.dtype)
    return value.detach().to(like.device)


def check_measurements(y, name: str = "y", owner: str = "recover") -> None:
    """Check ``y``: a real, finite NumPy array or tensor of shape ``(m,)`` or ``(P, m)``.

    Parameters
    ----------
    y : object
        The measurements.
    name, owner : str
        Argument and function names for the error message.

    Raises
    ------
    TypeError, ValueError
        Naming the argument, what was expected and what came.
    """
    if isinstance(y, np.ndarray):
        if not (np.issubdtype(y.dtype, np.floating) or np.issubdtype(y.dtype, np.integer)) or y.dtype == bool:
            raise TypeError(f"The '{name}' parameter of {owner} must hold real numbers. Got {describe(y)} instead.")
    elif isinstance(y, torch.Tensor):
        if y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"The '{name}' parameter of {owner} must hold real numbers. Got {describe(y)} instead.")
    else:
        raise TypeError(f"The '{name}' parameter of {owner} must be a numpy.ndarray or torch.Tensor of shape (m,) "
                        f"or (P, m). Got {describe(y)} instead.")
    if y.ndim not in (1, 2) or y.shape[-1] == 0 or y.shape[0] == 0:
        raise ValueError(f"The '{name}' parameter of {owner} must have shape (m,) or (P, m) with m, P >= 1. "
                         f"Got {describe(y)} instead.")
    check_finite(y, name)


def check_rows(op, m: int, name: str = "A") -> None:
    """Check that the operator ``op`` has ``m`` rows, the measurements per problem of ``y``.

    Parameters
    ----------
    op : ganprior.operators.LinearOperator
        The operator.
    m : int
        Measurements per problem in ``y``.
    name : str
        The operator's argument name for the message.

    Raises
    ------
    ValueError
        Naming both sizes.
    """
    if op.m != m:
        raise ValueError(f"Shape mismatch: 'y' holds m={m} measurements per problem but the operator '{name}' "
                         f"has m={op.m} rows (shape {op.shape}).")


def as_generator(G, latent_shape=None, owner: str = "recover"):
    """A :class:`~ganprior.Generator` from a Generator, a bare module or a prior name (or path).

    Parameters
    ----------
    G : Generator, torch.nn.Module or str
        The prior.
    latent_shape : int or tuple, optional
        Only for a bare module without a ``latent_shape`` attribute.
    owner : str
        Function name for the error message.

    Returns
    -------
    Generator

    Raises
    ------
    TypeError, ValueError
        For anything else, or ``latent_shape`` given with a ``Generator``.
    """
    from .generator import Generator

    if G is None:
        raise ValueError(f"The 'G' parameter of {owner} is required: give a ganprior.Generator, a torch.nn.Module "
                         "or the name of a bundled prior.")
    if isinstance(G, str) or hasattr(G, "__fspath__"):
        from .priors import load_prior

        G = load_prior(G)
    if isinstance(G, Generator):
        if latent_shape is not None:
            raise ValueError(f"The 'latent_shape' parameter of {owner} is only for a bare torch.nn.Module 'G'; "
                             "this Generator already has one.")
        return G
    if isinstance(G, torch.nn.Module):
        return Generator(G, latent_shape)
    raise TypeError(f"The 'G' parameter of {owner} must be a ganprior.Generator, a torch.nn.Module or a bundled "
                    f"prior name. Got {describe(G)} instead.")


def prepare_operator(A, device, dtype, image_shape=None):
    """``A`` as a :class:`~ganprior.operators.LinearOperator` on ``device`` in ``dtype``.

    Never mutates the caller's object: a NumPy / torch matrix gets a fresh
    wrapper, an operator whose floating buffers have another dtype is copied.

    Parameters
    ----------
    A : LinearOperator, numpy.ndarray or torch.Tensor
        The operator or its ``(m, n)`` matrix.
    device : torch.device
        The working device (G's).
    dtype : torch.dtype
        The working dtype (G's).
    image_shape : tuple of int, optional
        Input shape for a matrix.

    Returns
    -------
    LinearOperator

    Raises
    ------
    ValueError
        If ``A`` lives on another device than the computation.
    """
    from .operators import as_operator

    if isinstance(A, torch.Tensor) and A.ndim == 2 and not same_device(A.device, device):
        raise ValueError(f"Device mismatch: the 'A' parameter is on {A.device} but the computation runs on "
                         f"{device} (G's device). Move A or G so they match.")
    if isinstance(A, (np.ndarray, torch.Tensor)):
        return as_operator(A, image_shape, name="A").to(device=device, dtype=dtype)  # a fresh wrapper: safe to move
    op = as_operator(A, image_shape, name="A")
    has_buffers = any(True for _ in op.buffers())
    if has_buffers and not same_device(op.device, device):
        raise ValueError(f"Device mismatch: the operator 'A' is on {op.device} but the computation runs on "
                         f"{device} (G's device). Call A.to({str(device)!r}) or move G.")
    float_bufs = [b for b in op.buffers() if b.is_floating_point()]
    if any(b.dtype != dtype for b in float_bufs):
        op = copy.deepcopy(op).to(dtype=dtype)
    return op
