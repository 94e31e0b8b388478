"""``ganprior priors``: list the bundled priors with their model card's summary."""

from __future__ import annotations

NAME = "priors"
HELP = "list the bundled priors: data, latent size, representation error, solver recipe"


def _add_arguments(parser):
    """No options."""
    return parser


def _run(args) -> int:
    """Print one line per bundled prior."""
    from ..priors import describe_priors

    for name, line in describe_priors().items():
        print(f"{name:<14} {line}")
    return 0
