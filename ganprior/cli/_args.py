"""Argument types and early checks shared by the commands: bad counts and unwritable outputs fail at once."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["positive_int", "nonnegative_int", "positive_float", "nonnegative_float", "or_rule", "check_output",
           "check_not_input", "device", "threads", "engine_arguments"]


def _number(kind, minimum, strict):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an int' if kind is int else 'a number'}, got {text!r}")
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {'>' if strict else '>='} {minimum}, got {text!r}")
        return value

    parse.__name__ = f"{kind.__name__} {'>' if strict else '>='} {minimum}"
    return parse


positive_int = _number(int, 1, False)
nonnegative_int = _number(int, 0, False)
positive_float = _number(float, 0.0, True)
nonnegative_float = _number(float, 0.0, False)


def or_rule(number):
    """A number parser that also takes ``"cv"`` / ``"discrepancy"`` (chosen from the measurements by ``recover``)."""
    def parse(text):
        if text in ("cv", "discrepancy"):
            return text
        try:
            return number(text)
        except argparse.ArgumentTypeError as err:
            raise argparse.ArgumentTypeError(f"{err}, or 'cv' / 'discrepancy'")

    parse.__name__ = f"{number.__name__} or cv / discrepancy"
    return parse


def threads(text):
    """``--threads``: an int >= 1."""
    return positive_int(text)


def device(text):
    """``--device``: a torch device this machine has (``cpu``, ``cuda``, ``cuda:1``, ``mps``)."""
    import torch

    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a torch device such as cpu, cuda or cuda:1, got {text!r}")
    if dev.type == "cuda" and (dev.index or 0) >= (torch.cuda.device_count() if torch.cuda.is_available() else 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not available: this machine has "
                                         f"{torch.cuda.device_count() if torch.cuda.is_available() else 0} CUDA "
                                         "device(s)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{text!r} is not available on this machine")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or mps, got {text!r}")
    return text


def check_not_input(out, option: str, inputs) -> None:
    """Fail if the output ``out`` is, or lies inside, one of the ``inputs`` (``{option: path}``).

    Parameters
    ----------
    out : str or os.PathLike
        The output file or folder.
    option : str
        The output's option, e.g. ``"--out"``.
    inputs : dict
        Input option -> path (None for an option not given).

    Raises
    ------
    SystemExit
        With a message naming both options.
    """
    target = Path(out).resolve()
    for name, path in inputs.items():
        if path is not None and (target == Path(path).resolve() or Path(path).resolve() in target.parents):
            where = "is" if target == Path(path).resolve() else "lies inside"
            raise SystemExit(f"ganprior: error: argument {option}: {str(out)!r} {where} the input {name} {path!r}; "
                             "an output may not overwrite an input: give another path")


def check_output(path, option: str, suffixes=None) -> Path:
    """Fail before any work if ``path`` cannot be written: missing folder, a folder, a wrong suffix.

    Parameters
    ----------
    path : str
        The output path given on the command line.
    option : str
        The option's name for the message, e.g. ``"--out"``.
    suffixes : tuple of str, optional
        Accepted suffixes (e.g. ``(".npy",)``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    SystemExit
        With an argparse-style message naming the option.
    """
    p = Path(path)
    parent = p.parent
    problem = None
    if suffixes and p.suffix.lower() not in suffixes:
        problem = f"must end in {' or '.join(suffixes)}"
    elif p.is_dir():
        problem = "is a folder, not a file"
    elif not parent.is_dir():
        problem = f"is in a folder that does not exist ({parent})"
    elif not os.access(parent, os.W_OK):
        problem = f"is in a folder that is not writable ({parent})"
    if problem:
        raise SystemExit(f"ganprior: error: argument {option}: {path!r} {problem}")
    return p


def engine_arguments(parser, *, defaults="the prior's recipe"):
    """Add the latent-engine options (restarts, steps, lr, schedule, precision, optimizer, seed).

    Unset options (``None``) come from the prior's validated recipe, as in
    :func:`ganprior.recover`.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-command's parser.
    defaults : str
        How the help text names where unset values come from.
    """
    from ..solvers.latent import PRECISIONS, SCHEDULES, UPDATE_RULES

    g = parser.add_argument_group("latent engine", f"unset options come from {defaults}")
    g.add_argument("--restarts", type=positive_int, default=None)
    g.add_argument("--steps", type=positive_int, default=None)
    g.add_argument("--lr", type=positive_float, default=None)
    g.add_argument("--schedule", choices=SCHEDULES, default=None, help="step size: constant, or cosine decay to 0")
    g.add_argument("--precision", choices=PRECISIONS, default=None)
    g.add_argument("--optimizer", choices=[r for r in UPDATE_RULES if r != "langevin"], default=None)
    g.add_argument("--seed", type=nonnegative_int, default=0)
