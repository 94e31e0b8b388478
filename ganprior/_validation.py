"""Argument checks shared by every public entry point.

Every check raises a :class:`ValueError` or :class:`TypeError` whose message
names the argument, what was expected and what was received, so a bad call
fails before any work starts.  Randomness is normalised in one place,
:func:`check_seed`.  An old name of an argument (or of a value) warns once per
process (:func:`warn_once`, :func:`renamed_arguments`).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "check_seed",
    "check_seeds",
    "check_int",
    "check_float",
    "check_choice",
    "check_finite",
    "describe",
    "warn_once",
    "renamed_arguments",
]


def describe(value) -> str:
    """Short description of a received value for error messages."""
    if isinstance(value, torch.Tensor):
        return f"torch.Tensor of shape {tuple(value.shape)}, dtype {value.dtype}, device {value.device}"
    if isinstance(value, np.ndarray):
        return f"numpy.ndarray of shape {value.shape}, dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_seed(seed, name: str = "seed") -> torch.Generator:
    """Turn ``seed`` into a CPU :class:`torch.Generator`.

    Parameters
    ----------
    seed : None, int or torch.Generator
        ``None`` gives a generator seeded from fresh OS entropy, an int a
        generator seeded with it, and a generator is returned unchanged (so
        successive calls continue its stream).
    name : str
        Argument name used in error messages.

    Returns
    -------
    torch.Generator

    Raises
    ------
    TypeError
        If ``seed`` is of another type (``bool`` included).
    ValueError
        If ``seed`` is a negative int.

    Notes
    -----
    Random draws are made on the CPU and then moved, so a seed gives the same
    numbers on every device.
    """
    if isinstance(seed, torch.Generator):
        return seed
    if seed is None:
        gen = torch.Generator()
        gen.seed()
        return gen
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"The '{name}' parameter must be None, an int >= 0 or a torch.Generator. "
            f"Got {describe(seed)} instead."
        )
    if seed < 0:
        raise ValueError(f"The '{name}' parameter must be an int >= 0. Got {seed} instead.")
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    return gen


def check_seeds(seed, count: int, name: str = "seed") -> list[torch.Generator] | torch.Generator:
    """Normalise ``seed`` given either once or once per problem.

    A sequence (not a string) of length ``count`` gives one generator per
    problem; anything else is passed to :func:`check_seed`.
    """
    if isinstance(seed, Sequence) and not isinstance(seed, (str, bytes)):
        if len(seed) != count:
            raise ValueError(
                f"The '{name}' parameter, given as a sequence, must hold one seed per problem "
                f"({count}). Got a sequence of length {len(seed)} instead."
            )
        return [check_seed(s, name=f"{name}[{i}]") for i, s in enumerate(seed)]
    return check_seed(seed, name=name)


def check_int(value, name: str, *, minimum: int | None = None, owner: str | None = None) -> int:
    """Check that ``value`` is an int (not a bool) and at least ``minimum``."""
    where = f" of {owner}" if owner else ""
    bound = f" >= {minimum}" if minimum is not None else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"The '{name}' parameter{where} must be an int{bound}. Got {describe(value)} instead.")
    if minimum is not None and value < minimum:
        raise ValueError(f"The '{name}' parameter{where} must be an int{bound}. Got {value} instead.")
    return int(value)


def check_float(
    value,
    name: str,
    *,
    minimum: float | None = None,
    strict: bool = False,
    owner: str | None = None,
) -> float:
    """Check that ``value`` is a finite real number, ``>= minimum`` (``>`` if ``strict``)."""
    where = f" of {owner}" if owner else ""
    op = ">" if strict else ">="
    bound = f" {op} {minimum}" if minimum is not None else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"The '{name}' parameter{where} must be a real number{bound}. Got {describe(value)} instead."
        )
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"The '{name}' parameter{where} must be finite. Got {value} instead.")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        raise ValueError(f"The '{name}' parameter{where} must be a real number{bound}. Got {value} instead.")
    return value


def check_choice(value, name: str, options, *, owner: str | None = None) -> str:
    """Check that ``value`` is one of ``options``; the message lists them sorted."""
    where = f" of {owner}" if owner else ""
    valid = sorted(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"The '{name}' parameter{where} must be one of {valid}. Got {value!r} instead."
        )
    return value


def check_finite(tensor, name: str) -> None:
    """Raise a ValueError if ``tensor`` (numpy or torch) holds NaN or Inf."""
    if isinstance(tensor, torch.Tensor):
        bad = int((~torch.isfinite(tensor)).sum())
    else:
        bad = int((~np.isfinite(tensor)).sum())
    if bad:
        raise ValueError(f"The '{name}' parameter must hold only finite values. Got {bad} NaN or Inf entries.")


def check_float_dtype(dtype, name: str = "dtype", *, owner: str | None = None) -> torch.dtype:
    """Check that ``dtype`` is a real floating-point :class:`torch.dtype` (e.g. ``torch.float32``).

    Parameters
    ----------
    dtype : torch.dtype
        The dtype to check.
    name : str
        Argument name used in error messages.
    owner : str, optional
        The function or class the argument belongs to, for the message.

    Returns
    -------
    torch.dtype
        ``dtype``.

    Raises
    ------
    TypeError
        If ``dtype`` is not a torch.dtype, or is an integer, boolean or complex dtype (an integer
        operator would round every entry, most of them to zero).
    """
    where = f" of {owner}" if owner else ""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"The '{name}' parameter{where} must be a real floating-point torch.dtype such as "
                        f"torch.float32 or torch.float64. Got {describe(dtype)} instead.")
    return dtype


def as_real_float(x: torch.Tensor, what: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``x`` itself if it is a real floating-point tensor; integer and boolean tensors converted to ``dtype``.

    Parameters
    ----------
    x : torch.Tensor
        The input.
    what : str
        Who receives ``x``, for the message (e.g. ``"Gaussian"``).
    dtype : torch.dtype, optional
        The floating dtype integer input is computed in (default ``torch.get_default_dtype()``).

    Returns
    -------
    torch.Tensor
        A real floating-point tensor.

    Raises
    ------
    TypeError
        If ``x`` is complex: the operators and metrics are real.
    """
    if x.is_complex():
        raise TypeError(f"{what} expects real input. Got {describe(x)} instead; apply it to the real and "
                        "imaginary parts separately (or to the magnitude).")
    if not x.is_floating_point():
        return x.to(dtype or torch.get_default_dtype())
    return x


_WARNED = set()


def warn_once(key, message: str) -> None:
    """A FutureWarning for an old name, once per process per ``key``.

    Parameters
    ----------
    key : hashable
        What is old (e.g. ``("select", "measurement")``).
    message : str
        What to say: the old name and the new one.
    """
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, FutureWarning, stacklevel=3)


def renamed_arguments(owner: str, given: dict, renames: dict, into: dict | None = None) -> dict:
    """The values of arguments given under their old names, each old name warning once per process.

    Parameters
    ----------
    owner : str
        The function, for the messages.
    given : dict
        Its ``**deprecated`` keyword arguments.
    renames : dict
        Old name -> new name.
    into : dict, optional
        New name -> value as the caller passed it (``None``: not given): the values given under old names are
        merged into it, in place, and a name given together with its old name is refused.

    Returns
    -------
    dict
        New name -> value, for the old names given; with ``into``, ``into``.

    Raises
    ------
    TypeError
        For a name that is neither, as Python says it for an unexpected keyword argument, and (with ``into``) for
        a name given together with its old name.

    Warns
    -----
    FutureWarning
        The first time each old name is used, naming the new one.
    """
    out = {}
    for old, value in given.items():
        if old not in renames:
            raise TypeError(f"{owner}() got an unexpected keyword argument {old!r}")
        if (owner, old) not in _WARNED:
            _WARNED.add((owner, old))
            warnings.warn(f"The '{old}' parameter of {owner} is now called '{renames[old]}'; '{old}' will be "
                          "removed in a future version.", FutureWarning, stacklevel=3)
        out[renames[old]] = value
    if into is None:
        return out
    for new, value in out.items():
        if into.get(new) is not None:
            old = next(o for o, n in renames.items() if n == new)
            raise TypeError(f"{owner}() got '{new}' and its old name '{old}'; give '{new}' only.")
        into[new] = value
    return into


def check_data_range(data_range, owner: str):
    """``None``, or ``data_range`` as a pair of finite floats ``(low, high)`` with ``low < high``.

    Parameters
    ----------
    data_range : None or pair of real numbers
        The range images are clipped to.
    owner : str
        The function named in the error messages.

    Returns
    -------
    None or (float, float)

    Raises
    ------
    TypeError
        If it is not None or a pair of real numbers.
    ValueError
        If it is not finite or not increasing.
    """
    if data_range is None:
        return None
    if (not isinstance(data_range, (tuple, list)) or len(data_range) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in data_range)):
        raise TypeError(f"The 'data_range' parameter of {owner} must be None or a pair (low, high) of real numbers. "
                        f"Got {describe(data_range)} instead.")
    low, high = float(data_range[0]), float(data_range[1])
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"The 'data_range' parameter of {owner} must satisfy low < high, both finite. "
                         f"Got {data_range!r} instead.")
    return low, high
