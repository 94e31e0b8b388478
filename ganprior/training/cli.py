"""The trainer's command line moved to :mod:`ganprior.cli.train` (every command lives in :mod:`ganprior.cli`).

This module keeps the commands recorded in older model cards working:
``python -m ganprior.training.cli ...`` and ``torchrun ... -m ganprior.training.cli ...``.
"""

import sys

from ..cli.train import DATASETS, add_arguments, load_dataset, main  # noqa: F401

__all__: list = []  # documented in ganprior.cli.train

if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ganprior.training.cli", description="Train a GAN prior.")
    sys.exit(main(add_arguments(parser).parse_args()))
