"""``python -m ganprior``: the command line (see :mod:`ganprior.cli`)."""

import sys

from .cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
