"""``ganprior methods``: list the registered recovery methods."""

from __future__ import annotations

NAME = "methods"
HELP = "list the registered recovery methods with their hyperparameters"


def _add_arguments(parser):
    """No options."""
    return parser


def _run(args) -> int:
    """Print one line per registered method."""
    from ..solvers.registry import get_method, method_names

    for name in method_names():
        m = get_method(name)
        hp = ", ".join(f"{k}={v!r}" for k, v in m.hyperparameters.items())
        models = "" if m.likelihoods == ("gaussian",) else f"  (measurement models: {', '.join(m.likelihoods)})"
        print(f"{name:<15} {m.kind:<7} {m.summary}" + (f"  [{hp}]" if hp else "") + models)
    return 0
