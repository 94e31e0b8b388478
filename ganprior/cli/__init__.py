"""The command line: ``ganprior demo | recover | inpaint | train | train-vae | priors | methods`` (also ``python -m ganprior``).

One module per command; each has ``NAME``, ``HELP``, ``_add_arguments(parser)`` and ``_run(args) -> int``.  Choices (methods,
schedules, precisions, masks) come from the library's registries, never from literals here, and every
option is checked (counts, output paths) before any work starts.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``ganprior`` argument parser with one sub-command per module.

    Returns
    -------
    argparse.ArgumentParser
    """
    from . import demo, inpaint, methods, priors, recover, train, train_vae

    parser = argparse.ArgumentParser(prog="ganprior", description="Inverse problems with GAN priors.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (demo, recover, inpaint, train, train_vae, priors, methods):
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
    """
    args = build_parser().parse_args(argv)
    if hasattr(args, "check"):
        args.check(args)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
