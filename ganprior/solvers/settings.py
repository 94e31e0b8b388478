r"""Where a solve's settings come from: the caller, the method, a preset or the prior's recipe, the defaults.

:func:`resolve_settings` takes each engine setting (``restarts``, ``steps``, ``lr``, ``optimizer``,
``schedule``, ``precision``, ``select``) and each hyperparameter from the first layer that sets it: the
caller's argument; what the method needs (e.g. the Langevin rule); a named protocol of :data:`PRESETS`, or else
the prior's validated recipe for this :math:`m` (:func:`prior_recipe`); the method's own defaults;
:data:`ENGINE_DEFAULTS`.  It also says where each value came from, which ``recover(..., return_result=True)``
reports.
"""

from __future__ import annotations

from .._validation import check_choice, check_float, check_int
from ..hardware import PRECISIONS
from .latent import SCHEDULES, SELECT, UPDATE_RULES

__all__ = ["ENGINE_DEFAULTS", "PRESETS", "ENGINE_KEYS", "resolve_settings", "prior_recipe", "check_engine",
           "report_precision"]

#: Engine settings for a generator without a recipe: the budget our benchmarks validated on the bundled priors
#: (10 restarts x 300 Adam steps, cosine step size from 0.3), in full precision: bf16 was validated on the bundled
#: priors only (their recipes say ``"bf16"``, which runs as ``"auto"``: bf16 where native), so a generator of the
#: user's own gets the same answer on every machine unless ``precision="auto"`` or ``"bf16"`` is asked for.
ENGINE_DEFAULTS = {"restarts": 10, "steps": 300, "lr": 0.3, "optimizer": "adam", "schedule": "cosine",
                   "precision": "fp32", "select": "fit"}

#: Named protocols: ``"bora2017"`` is the CSGM paper's MNIST protocol (10 restarts x 1000 Adam steps, lr 0.01).
PRESETS = {"bora2017": {"restarts": 10, "steps": 1000, "lr": 0.01, "optimizer": "adam", "schedule": "constant",
                        "precision": "fp32", "select": "fit", "lam": 0.0}}

#: The engine settings :func:`resolve_settings` resolves by default.
ENGINE_KEYS = tuple(ENGINE_DEFAULTS)


def prior_recipe(G, task, m, method=None):
    """The prior's validated recipe for ``task`` at ``m`` measurements, or ``{}``.

    Parameters
    ----------
    G : ganprior.Generator
        The prior; a generator without a ``recipe`` gives ``{}``.
    task : {"recover", "inpaint"}
        Which recipe.
    m : int or None
        Measurements (the recipe's tables are per range of ``m``; ``None`` for inpainting).
    method : str, optional
        A method whose own arguments (e.g. ILO's cut) the recipe adds.

    Returns
    -------
    dict
        Settings and hyperparameters (see :func:`ganprior.priors.recipe_for`).
    """
    recipe = getattr(G, "recipe", None)
    if not recipe:
        return {}
    try:
        from ..priors import recipe_for
    except ImportError:  # pragma: no cover - older priors module
        return {}
    return dict(recipe_for(G, task, m, method=method) or {})


def resolve_settings(given: dict, *, preset=None, recipe=None, method=None, keys=ENGINE_KEYS, defaults=None):
    """Settings for a solve: the caller's, else the method's needs, else the preset's or the recipe's, else defaults.

    Parameters
    ----------
    given : dict
        The caller's arguments; ``None`` means "not set".
    preset : str, optional
        A name of :data:`PRESETS`; it replaces the recipe.
    recipe : dict, optional
        The prior's recipe for this task.
    method : Method, optional
        Its ``engine`` settings (what the method needs, e.g. ``optimizer="langevin"``) come right
        after the caller's; its hyperparameter defaults right before the global defaults.
    keys : tuple of str
        The settings to resolve (engine settings, plus method hyperparameters
        such as ``lam`` when given in ``given``).
    defaults : dict, optional
        The last layer (default :data:`ENGINE_DEFAULTS`).

    Returns
    -------
    settings, source : dict, dict
        The values, and where each came from.
    """
    layers = []
    if method is not None and method.engine:  # what the method needs (e.g. a Langevin rule) beats recipes
        layers.append(("method", method.engine))
    if preset is not None:
        layers.append(("preset", PRESETS[check_choice(preset, "preset", tuple(PRESETS), owner="recover")]))
    elif recipe:
        layers.append(("recipe", recipe))
    if method is not None:
        layers.append(("method", method.hyperparameters))
    layers.append(("default", ENGINE_DEFAULTS if defaults is None else defaults))
    settings, source = {}, {}
    for key in keys:
        if given.get(key) is not None:
            settings[key], source[key] = given[key], "caller"
            continue
        for name, layer in layers:
            if layer.get(key) is not None:
                settings[key], source[key] = layer[key], name
                break
    if settings.get("precision") == "bf16" and source.get("precision") == "recipe":
        # a recipe's bf16 is what was validated on hardware that computes it natively: elsewhere it is emulated,
        # about 18x slower for the same errors, so it means "bf16 where native"
        settings["precision"] = "auto"
    return settings, source


def report_precision(settings, source, info):
    """Put the precision a solve ran in, and why, into its reported settings and sources.

    Parameters
    ----------
    settings, source : dict
        From :func:`resolve_settings`; updated in place.
    info : dict
        The engine result's ``info`` (``precision`` and ``precision_reason``).

    Examples
    --------
    A recipe's ``"bf16"`` on a CPU without native bf16 reports ``settings["precision"] == "fp32"`` and
    ``source["precision"] == "recipe (auto: fp32 (bf16 not native on this CPU: AVX2))"``.
    """
    if "precision" in info:
        settings["precision"] = info["precision"]
        source["precision"] = f"{source.get('precision', 'default')} ({info['precision_reason']})"


def check_engine(settings, owner):
    """Check resolved engine settings before any work: positive ``restarts``, ``steps`` and ``lr``, known
    ``optimizer``, ``schedule``, ``precision`` and ``select``.

    Parameters
    ----------
    settings : dict
        From :func:`resolve_settings`.
    owner : str
        The calling function's name, for the messages.

    Raises
    ------
    TypeError, ValueError
        Naming the setting, what was expected and what came.
    """
    check_int(settings["restarts"], "restarts", minimum=1, owner=owner)
    check_int(settings["steps"], "steps", minimum=1, owner=owner)
    check_float(settings["lr"], "lr", minimum=0.0, strict=True, owner=owner)
    check_choice(settings["optimizer"], "optimizer", UPDATE_RULES, owner=owner)
    check_choice(settings["schedule"], "schedule", SCHEDULES, owner=owner)
    check_choice(settings["precision"], "precision", PRECISIONS, owner=owner)
    check_choice(settings["select"], "select", SELECT, owner=owner)
