"""The command line: ``ganprior demo | recover | inpaint | train | train-vae | priors | methods | benchmark`` (also ``python -m ganprior``).

One module per command; each has ``NAME``, ``HELP``, ``_add_arguments(parser)`` and ``_run(args) -> int``.  Choices (methods,
schedules, precisions, masks) come from the library's registries, never from literals here, and every
option is checked (counts, output paths) before any work starts.  A user error (a bad flag, an unreadable
file) is one line on stderr naming the flag or file, with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from ._args import renamed_flags

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``ganprior <command>: error: <message>``, status 2."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)")


class _UsageError(SystemExit):
    """Exit status 2 with a one-line message; ``str()`` of it is the message."""

    def __init__(self, message):
        super().__init__(message)
        self.code = 2


def build_parser() -> argparse.ArgumentParser:
    """The ``ganprior`` argument parser with one sub-command per module.

    Returns
    -------
    argparse.ArgumentParser
    """
    from . import benchmark, demo, inpaint, methods, priors, recover, train, train_vae

    parser = _Parser(prog="ganprior", description="Inverse problems with GAN priors.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (demo, recover, inpaint, train, train_vae, priors, methods, benchmark):
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module._add_arguments(p)
        p.set_defaults(func=module._run)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``ganprior`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.

    Raises
    ------
    SystemExit
        On a user error, with status 2, after printing one line to stderr.
    """
    try:
        args = build_parser().parse_args(argv)
        renamed_flags(args)  # e.g. --noise, the old name of --noise-norm: it warns
        if hasattr(args, "check"):
            args.check(args)
        try:
            return int(args.func(args) or 0)
        except (ValueError, OSError) as err:  # the library's checks: they name the argument or file at fault
            raise _UsageError(f"ganprior {args.command}: error: {' '.join(str(err).split())}") from None
    except SystemExit as err:  # a check's SystemExit(message) would exit with status 1: print it, exit with 2
        message = str(err) if isinstance(err, _UsageError) else err.code if isinstance(err.code, str) else None
        if message is None:
            raise
        print(message, file=sys.stderr)
        raise _UsageError(message) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
