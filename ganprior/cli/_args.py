"""Argument types and early checks shared by the commands: bad counts and unwritable outputs fail at once."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["positive_int", "nonnegative_int", "positive_float", "nonnegative_float", "or_rule", "check_output",
           "check_not_input", "device", "threads", "engine_arguments", "method_arguments", "method_options",
           "renamed_flag", "renamed_flags"]


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


any_int = _number(int, float("-inf"), False)
any_int.__name__ = "int"
any_float = _number(float, float("-inf"), False)
any_float.__name__ = "number"
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


#: Where :func:`renamed_flag` keeps the value of a flag's old spelling (``args.<prefix><dest>``).
_OLD = "old_spelling_of_"
#: dest -> (the flag, its old spelling), for every flag added by :func:`renamed_flag`.
_SPELLINGS = {}


class _Unset:
    """The default of a renamed flag: what it stands for when neither spelling is given."""

    def __init__(self, default):
        self.default = default


def renamed_flag(group, new: str, old: str, *, default, help: str, **spec):
    """Add the flag ``new`` and its old spelling ``old``, which still works and warns once.

    Parameters
    ----------
    group : argparse.ArgumentParser or argument group
        Where the flags go.
    new, old : str
        The flag (e.g. ``"--noise-norm"``) and its old spelling (``"--noise"``).
    default
        The value when neither is given.
    help : str
        The help of ``new`` (the default is appended).
    **spec
        ``add_argument`` keywords of both (``type``...).

    Notes
    -----
    :func:`renamed_flags`, which :func:`ganprior.cli.main` runs after parsing, fills in the value, warns for the
    old spelling and refuses both together.
    """
    dest = new[2:].replace("-", "_")
    _SPELLINGS[dest] = (new, old)
    group.add_argument(new, dest=dest, default=_Unset(default), help=f"{help} (default {default})", **spec)
    group.add_argument(old, dest=_OLD + dest, default=None, help=f"the old name of {new}: it works, and warns",
                       **{"metavar": dest.upper(), **spec})


def renamed_flags(args) -> None:
    """Resolve the flags of :func:`renamed_flag` on parsed arguments, in place.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments.

    Raises
    ------
    SystemExit
        With a one-line message when a flag and its old spelling are both given.

    Warns
    -----
    FutureWarning
        The first time an old spelling is used, naming the new one.
    """
    from .._validation import warn_once

    for dest, (new, old) in _SPELLINGS.items():
        if not hasattr(args, _OLD + dest):
            continue
        value, given = getattr(args, dest), getattr(args, _OLD + dest)
        delattr(args, _OLD + dest)
        if given is not None:
            warn_once(("cli", old), f"{old} is now {new}; {old} will be removed in a future version.")
            if not isinstance(value, _Unset):
                raise SystemExit(f"ganprior {getattr(args, 'command', '')}: error: {new} and its old name {old} "
                                 f"given together; give {new} only")
            value = given
        setattr(args, dest, value.default if isinstance(value, _Unset) else value)


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


#: Where ``method_arguments`` keeps a hyperparameter's value on the namespace (``args.<prefix><name>``): apart
#: from the command's own options.
_DEST = "method_argument_"


def _boolean(text):
    """A bool flag's value: true / false (also 1 / 0, yes / no)."""
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if text.lower() not in words:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return words[text.lower()]


def _union(kinds):
    """A parser that tries each type in turn (``warmup``: an int counts steps, a float is a fraction)."""
    parsers = [_scalar(k) for k in kinds]

    def parse(text):
        for p in parsers:
            try:
                return p(text)
            except argparse.ArgumentTypeError:
                pass
        raise argparse.ArgumentTypeError(f"expected {' or '.join(p.__name__ for p in parsers)}, got {text!r}")

    parse.__name__ = " or ".join(p.__name__ for p in parsers)
    return parse


def _scalar(kind):
    return {int: any_int, float: any_float, bool: _boolean}.get(kind, str)


def _flag_spec(kind, gridded):
    """``add_argument`` keywords for a hyperparameter of command-line type ``kind`` (:attr:`Method.types`)."""
    import typing

    if typing.get_origin(kind) is tuple:  # a fixed number of values, e.g. data_range LO HI
        args = typing.get_args(kind)
        return {"type": _scalar(args[0]), "nargs": len(args), "metavar": tuple(a.__name__.upper() for a in args)}
    if isinstance(kind, tuple) and all(isinstance(k, type) for k in kind):
        parse = _union(kind)
    elif isinstance(kind, tuple):  # choices
        return {"choices": list(kind), "type": type(kind[0]) if kind else str}
    else:
        parse = _scalar(kind)
    return {"type": or_rule(parse) if gridded else parse}


def method_arguments(parser, *, group="method arguments"):
    """Add one flag per hyperparameter of every registered method (``--radius``, ``--cut``, ``--basis``, ...).

    The flags, their types and their help are generated from the registry
    (:attr:`~ganprior.solvers.registry.Method.hyperparameters`, :attr:`~ganprior.solvers.registry.Method.types`,
    :attr:`~ganprior.solvers.registry.Method.cv_grids`): registering a method adds its flags to a parser built
    afterwards.  A hyperparameter whose flag the command already has (``--image-shape``, ``--noise-std``), or
    whose type nothing states, gets none.  Values ``cv`` / ``discrepancy`` are accepted where a method has a
    candidate grid for the argument.  Read the values back with :func:`method_options`.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-command's parser.
    group : str
        Title of the argument group.
    """
    from ..solvers.registry import get_method, method_names

    flags = {}  # name -> [(method, type)]
    for name in method_names():
        entry = get_method(name)
        for key in entry.hyperparameters:
            flags.setdefault(key, []).append(entry)
    g = parser.add_argument_group(group, "a method's own arguments, as recover takes them (unset: the method's "
                                         "default, or the prior's recipe)")
    added = {}
    for key, entries in flags.items():
        typed = [e for e in entries if e.types.get(key) is not None]
        if not typed:
            continue
        kinds = {repr(e.types[key]) for e in typed}
        gridded = any(key in e.cv_grids for e in typed)
        # methods that agree on the type share one parser; otherwise the flag is read as text and converted per
        # method by method_options
        spec = _flag_spec(typed[0].types[key], gridded) if len(kinds) == 1 else {"type": str}
        if "metavar" not in spec and "choices" not in spec:
            spec["metavar"] = key.upper()
        defaults = sorted({repr(e.hyperparameters[key]) for e in typed})
        text = (f"{', '.join(e.name for e in typed)} (default {' / '.join(defaults)})"
                + (", or cv / discrepancy: chosen from the measurements" if gridded else ""))
        try:
            g.add_argument("--" + key.replace("_", "-"), dest=_DEST + key, default=None, help=text, **spec)
        except argparse.ArgumentError:  # the command has this flag itself (--image-shape, --noise-std)
            continue
        added[key] = len(kinds) == 1
    parser.set_defaults(**{_DEST: added})


def method_options(args, method: str) -> dict:
    """The hyperparameters of ``method`` given on the command line (flags of :func:`method_arguments`).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments.
    method : str
        A registered method, or ``"auto"`` (which takes none).

    Returns
    -------
    dict
        Name -> value of each flag given (flags left unset are left out).

    Raises
    ------
    SystemExit
        With a one-line message naming the flag and the method, for a flag the method does not take, a value
        of the wrong type, or ``cv`` / ``discrepancy`` for an argument the method has no candidate grid for.
    """
    from ..solvers.registry import get_method

    given = {k: getattr(args, _DEST + k) for k in getattr(args, _DEST, {}) if getattr(args, _DEST + k) is not None}
    entry = get_method(method) if method != "auto" else None
    out = {}
    for key, value in given.items():
        flag = "--" + key.replace("_", "-")
        if entry is None:
            raise SystemExit(f"ganprior: error: {flag} is not an argument of --method auto (it compares the "
                             "methods with their recipe values)")
        if key not in entry.hyperparameters:
            own = sorted("--" + k.replace("_", "-") for k in entry.hyperparameters if k in args.__dict__[_DEST])
            raise SystemExit(f"ganprior: error: {flag} is not an argument of --method {method} (its own: "
                             f"{', '.join(own) or 'none'})")
        if not args.__dict__[_DEST][key]:  # read as text: this method's own type
            spec = _flag_spec(entry.types[key], key in entry.cv_grids)
            try:
                value = spec["type"](value)
            except (argparse.ArgumentTypeError, ValueError) as err:
                raise SystemExit(f"ganprior: error: argument {flag}: {err} (for --method {method})") from None
            if "choices" in spec and value not in spec["choices"]:
                raise SystemExit(f"ganprior: error: argument {flag}: invalid choice {value!r} for --method "
                                 f"{method} (choose from {', '.join(map(str, spec['choices']))})")
        if isinstance(value, str) and value in ("cv", "discrepancy") and key not in entry.cv_grids:
            raise SystemExit(f"ganprior: error: argument {flag}: {value} chooses from a candidate grid, and "
                             f"--method {method} has none for {key} (it has for: "
                             f"{', '.join(sorted(entry.cv_grids)) or 'none'})")
        out[key] = tuple(value) if isinstance(value, list) else value
    return out
