"""Solver recipes of the priors (the settings the benchmarks validated), and one-line summaries of priors.

A recipe lives in a prior's ``config.json`` under ``"recipe"``; :func:`recipe_for` turns it into the keyword
arguments of :func:`ganprior.recover` / :func:`ganprior.inpaint` for a number of measurements, and
:func:`describe_priors` summarises priors in one line each (``ganprior priors``).
"""

from __future__ import annotations

import math
import os
import re

from .._validation import check_choice, check_float, check_int, describe
from ..generator import Generator
from ..solvers.settings import recipe_keys, register_recipe_reader
from .folders import list_priors, locate_prior, prior_config

__all__ = ["recipe_for", "recipe_choice", "choose_by_name", "describe_priors", "TASKS"]

TASKS = ("recover", "inpaint")
# besides the solver keyword arguments of _task_keys, a task holds only _RECIPE_DOCS (and, for "recover",
# "methods")
_RECIPE_DOCS = ("source", "note", "validated")


def _task_keys(task: str) -> tuple:
    """The solver keyword arguments a recipe may set for ``task``: derived from the engine settings' fields and the
    task's own arguments (:func:`ganprior.solvers.settings.recipe_keys`), not listed here."""
    return recipe_keys(task)


# per-m choices a "recover" recipe may make for a prior given by name: which prior of its family runs, and the
# method run when the caller names none (tables of {"m_max", key} ranges with string values)
_RECIPE_CHOICES = ("prior", "method")


def _bad(msg: str):
    raise ValueError(f"Invalid solver recipe: {msg}")


def _check_table(value, key: str, where: str) -> list[dict] | float | int:
    """Validate a per-m value: a number >= 0 or a list of ``{"m_max", key}`` ranges (``lam``, ``alpha``...)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (math.isfinite(value) and value >= 0):
            _bad(f"{where}.{key} must be a finite number >= 0. Got {value!r}.")
        return _number(value)
    if not isinstance(value, list) or not value:
        _bad(f"{where}.{key} must be a number or a non-empty list of {{'m_max', '{key}'}} ranges. "
             f"Got {describe(value)}.")
    def number(v, loc):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not (math.isfinite(v) and v >= 0):
            _bad(f"{loc} must be a finite number >= 0. Got {v!r}.")

    _check_ranges(value, key, where, number)
    return value


def _check_ranges(value, key: str, where: str, check) -> None:
    """Validate a non-empty list of ``{"m_max", key}`` ranges: increasing integer bounds, the last one None, and
    each value passing ``check(value, location)``."""
    last = 0
    for i, row in enumerate(value):
        if not isinstance(row, dict) or set(row) != {"m_max", key}:
            _bad(f"{where}.{key}[{i}] must be a dict with the keys 'm_max' and '{key}'. Got {row!r}.")
        check(row[key], f"{where}.{key}[{i}].{key}")
        m_max = row["m_max"]
        if m_max is None:
            if i != len(value) - 1:
                _bad(f"{where}.{key}[{i}] has m_max None (no upper bound) but is not the last range.")
        elif not isinstance(m_max, int) or isinstance(m_max, bool) or m_max <= last:
            _bad(f"{where}.{key} ranges need integer m_max values in increasing order. Got {m_max!r} after {last}.")
        else:
            last = m_max
    if value[-1]["m_max"] is not None:
        _bad(f"{where}.{key}'s last range must have m_max None (no upper bound), so that every m has a {key}.")


def _check_choice_table(value, key: str, where: str) -> None:
    """Validate a per-m choice: a list of ``{"m_max", key}`` ranges whose values are bundled priors (``prior``) or
    registered methods (``method``)."""
    from ..solvers.registry import method_names

    if not isinstance(value, list) or not value:
        _bad(f"{where}.{key} must be a non-empty list of {{'m_max', '{key}'}} ranges. Got {describe(value)}.")
    if key == "prior":
        options = list_priors()
    else:
        options = method_names()

    def known(v, loc):
        if v not in options:
            _bad(f"{loc} must be one of {options}. Got {v!r}.")

    _check_ranges(value, key, where, known)


def _check_value(check, value, where: str) -> None:
    """Run a solver's own argument check on a recipe value; its error names the recipe key ``where`` instead."""
    try:
        check(value)
    except (TypeError, ValueError) as e:
        _bad(f"{where} " + re.sub(r"^The '[^']*' parameter( of [\w.]+)?,? ", "", str(e)))


def _argument_checks(G) -> dict:
    """The checks the methods make on their own arguments, per argument name (``cut`` also against ``G``)."""
    from ..solvers.csgm import check_warmup
    from ..solvers.sparse_gen import BASES, NU_SOLVERS

    def cut(v):
        check_int(v, "cut", minimum=1)
        if G is not None:
            G.split(v)

    return {"cut": cut, "warmup": check_warmup, "nu_steps": lambda v: check_int(v, "nu_steps", minimum=1),
            "levels": lambda v: check_int(v, "levels", minimum=1),
            "basis": lambda v: check_choice(v, "basis", BASES), "nu_solver": lambda v: check_choice(v, "nu_solver",
                                                                                                  NU_SOLVERS)}


def _check_methods(methods, where: str, G=None) -> None:
    """Validate ``recover.methods``: ``{method: {argument: number, table of ranges, or string}}``."""
    from ..solvers.registry import get_method, method_names

    if not isinstance(methods, dict):
        _bad(f"{where}.methods must be a dict {{method: {{argument: value}}}}. Got {describe(methods)}.")
    checks = _argument_checks(G)
    for name, args in methods.items():
        if not isinstance(name, str) or not isinstance(args, dict):
            _bad(f"{where}.methods must map method names to dicts of arguments. Got {name!r}: {describe(args)}.")
        if name not in method_names():
            _bad(f"{where}.methods.{name}: {name!r} is not a method; the methods are {method_names()}.")
        known = [k for k in get_method(name).hyperparameters if k != "lam"]
        for key, value in args.items():
            if key == "lam":
                _bad(f"{where}.methods.{name}.lam: lam comes from {where}.lam (CSGM's validated lam) for every "
                     "latent method; leave it out here.")
            if key not in known:
                _bad(f"{where}.methods.{name}.{key} is not an argument of the method {name!r}; its arguments are "
                     f"{known}.")
            text = isinstance(get_method(name).hyperparameters[key], str)
            if isinstance(value, str) != text:
                _bad(f"{where}.methods.{name}.{key} must be "
                     f"{'a string' if text else 'a number or a list of ranges'}. Got {describe(value)}.")
            if not text:
                _check_table(value, key, f"{where}.methods.{name}")
            if key in checks:
                rows = [(f"{where}.methods.{name}.{key}", value)] if not isinstance(value, list) else \
                    [(f"{where}.methods.{name}.{key}[{i}].{key}", row[key]) for i, row in enumerate(value)]
                for loc, v in rows:
                    _check_value(checks[key], v, loc)


def _check_inpaint(entry: dict) -> None:
    """Validate the inpainting settings of a recipe as :func:`ganprior.inpaint` checks them."""
    from ..inpainting.options import BLEND_METHODS, PERCEPTUAL, check_window

    for key, check in (("window", lambda v: check_window(v, "inpaint")),
                       ("z_bound", lambda v: v is None or check_float(v, "z_bound", minimum=0.0, strict=True)),
                       ("perceptual", lambda v: check_choice(v, "perceptual", PERCEPTUAL)),
                       ("blend", lambda v: check_choice(v, "blend", BLEND_METHODS))):
        if key in entry:
            _check_value(check, entry[key], f"inpaint.{key}")


def check_recipe(recipe, source=None, G=None) -> dict:
    """Validate a solver recipe (the ``"recipe"`` entry of a prior's config.json); return it.

    Raises ValueError naming the first bad entry, and the file ``source`` when given; ``G`` (the prior) also
    checks the values that depend on the generator (ILO's ``cut``).  Used by :func:`ganprior.load_prior` and by
    ``tools/build_prior.py`` before a recipe is written into a prior.
    """
    try:
        return _check_entries(recipe, G)
    except ValueError as e:
        if source is None:
            raise
        raise ValueError(str(e).replace("Invalid solver recipe:", f"Invalid solver recipe in {str(source)!r}:", 1)) \
            from None


def _check_entries(recipe, G) -> dict:
    if not isinstance(recipe, dict):
        _bad(f"it must be a dict with the tasks {list(TASKS)} as keys. Got {describe(recipe)}.")
    unknown = set(recipe) - set(TASKS)
    if unknown:
        _bad(f"unknown task(s) {sorted(unknown)}; the tasks are {list(TASKS)}.")
    for task, entry in recipe.items():
        if not isinstance(entry, dict):
            _bad(f"{task} must be a dict. Got {describe(entry)}.")
        keys = _task_keys(task) + _RECIPE_DOCS + ("methods",) + (_RECIPE_CHOICES if task == "recover" else ())
        for key in entry:
            if key not in keys:
                _bad(f"{task}.{key} is not a recipe key; the keys of {task} are {list(keys)}.")
        for key in ("restarts", "steps"):
            if key in entry and (not isinstance(entry[key], int) or isinstance(entry[key], bool) or entry[key] < 1):
                _bad(f"{task}.{key} must be an integer >= 1. Got {entry[key]!r}.")
        if "lr" in entry and (not isinstance(entry["lr"], (int, float)) or not entry["lr"] > 0):
            _bad(f"{task}.lr must be a number > 0. Got {entry['lr']!r}.")
        for key, options in (("schedule", ("constant", "cosine")), ("precision", ("fp32", "bf16")),
                             ("optimizer", ("adam", "sgd")), ("select", ("fit", "total"))):
            if key in entry and entry[key] not in options:
                _bad(f"{task}.{key} must be one of {list(options)}. Got {entry[key]!r}.")
        if "lam" in entry:
            _check_table(entry["lam"], "lam", task)
        for key in _RECIPE_CHOICES:
            if key in entry:
                _check_choice_table(entry[key], key, task)
        if "methods" in entry:
            if task != "recover":
                _bad(f"{task}.methods: per-method arguments are for 'recover' only.")
            _check_methods(entry["methods"], task, G)
        if task == "inpaint":
            _check_inpaint(entry)
        pw = entry.get("perceptual_weight", 0.0)
        if not isinstance(pw, (int, float)) or isinstance(pw, bool) or not pw >= 0:
            _bad(f"{task}.perceptual_weight must be a number >= 0. Got {pw!r}.")
        if "source" in entry and not isinstance(entry["source"], str):
            _bad(f"{task}.source must be a string (where the numbers come from).")
        if "validated" in entry and not isinstance(entry["validated"], bool):
            _bad(f"{task}.validated must be true or false (whether the numbers were validated with this prior).")
    return recipe


def _number(v):
    """An int stays an int (a layer index such as ILO's ``cut``); any other number becomes a float."""
    return v if isinstance(v, int) and not isinstance(v, bool) else float(v)


def _value_at(table, m: int | None, task: str, key: str = "lam") -> float | int:
    """Resolve a per-m value (a number or a table of ranges) at ``m`` measurements."""
    if not isinstance(table, list):
        return _number(table)
    if m is None:
        values = {_number(row[key]) for row in table}
        if len(values) == 1:
            return values.pop()
        raise ValueError(f"The {task} recipe's {key} depends on the number of measurements m "
                         f"({lam_text(table, prefix=False, key=key)}); pass m to recipe_for.")
    for row in table:
        if row["m_max"] is None or m <= row["m_max"]:
            return _number(row[key])
    raise AssertionError("unreachable: a validated table ends with m_max None")


def _recipe_of(G, owner: str) -> dict | None:
    """The checked recipe of a generator from load_prior, an object with a ``recipe``, a prior's name or folder."""
    source = None
    if isinstance(G, (str, os.PathLike)):
        found = locate_prior(G, owner)
        recipe, source = found.config().get("recipe"), found.config_path
    elif isinstance(G, Generator):  # one made by hand has no recipe
        recipe = getattr(G, "recipe", None)
    elif hasattr(G, "recipe"):
        recipe = G.recipe
    else:
        raise TypeError(f"The 'G' parameter of {owner} must be a Generator from load_prior (or an object with a "
                        f"'recipe' attribute), a bundled prior's name or a prior folder. Got {describe(G)} instead.")
    if recipe is None:
        return None
    return check_recipe(recipe, source=source)


def recipe_choice(G, m: int) -> dict:
    r"""What a prior's recipe chooses at :math:`m` measurements when the prior is given by name: which prior of its
    family runs, and the method run when the caller names none.

    The benchmarks validate, per range of :math:`m`, which of a family's priors recovers best (e.g. for
    ``"mnist"``: the DCGAN at :math:`m \le 15`, the VAE ``"mnist-vae"`` up to 35, the :math:`eta`-VAE
    ``"mnist-bvae"`` up to 141, the DCGAN again above) and which method's row is best.
    ``recover(y, A, "mnist")`` runs that choice, so the one-line call gives the reported rows; a
    :class:`~ganprior.Generator` object pins its prior and runs CSGM unless told otherwise.

    Parameters
    ----------
    G : str, os.PathLike, Generator or object with a ``recipe``
        The prior (see :func:`recipe_for`).
    m : int
        Number of measurements.

    Returns
    -------
    dict
        ``{"prior": name}`` and/or ``{"method": name}`` for the entries the recipe's ``recover`` task has
        (``recover.prior`` and ``recover.method``: tables of ``{"m_max", ...}`` ranges like ``lam``); empty
        when it has neither.
    """
    m = check_int(m, "m", minimum=1, owner="recipe_choice")
    recipe = _recipe_of(G, "recipe_choice")
    entry = (recipe or {}).get("recover") or {}
    out = {}
    for key in _RECIPE_CHOICES:
        if key in entry:
            out[key] = next(row[key] for row in entry[key] if row["m_max"] is None or m <= row["m_max"])
    return out


def choose_by_name(G, m: int, method=None):
    """The prior and the method ``recover(y, A, G)`` runs at ``m`` measurements: the rule of :func:`recipe_choice` for
    a prior given by name, in one place for :func:`ganprior.recover` and ``ganprior recover``.

    Parameters
    ----------
    G : str, os.PathLike or anything else
        A bundled prior's name or a prior folder; anything else (a Generator object pins its prior) is kept, and
        so is a name that is not a prior (loading it reports why).
    m : int
        Number of measurements.
    method : str, optional
        The caller's method; None takes the recipe's, else ``"csgm"``.

    Returns
    -------
    G, method, family
        The prior to load (or ``G`` as given), the method, and ``{key: (value, why)}`` for what the recipe chose
        (``"prior"``, ``"method"``).
    """
    family = {}
    if isinstance(G, (str, os.PathLike)) and m >= 1:
        name = os.fspath(G)
        try:
            choice = recipe_choice(name, int(m))
        except (ValueError, TypeError, OSError):  # not a prior (or a broken one): loading it says why
            choice = {}
        if "prior" in choice:
            family["prior"] = (choice["prior"], f"recipe of {name!r} at m = {m}")
            G = choice["prior"]
        if method is None and "method" in choice:
            method = choice["method"]
            family["method"] = (method, f"recipe of {name!r} at m = {m}")
    return G, "csgm" if method is None else method, family


def recipe_for(G, task: str, m: int | None = None, method: str | None = None) -> dict | None:
    r"""The solver keyword arguments a prior's validated recipe gives for one task.

    A prior's recipe (``G.recipe``, from the ``"recipe"`` entry of its ``config.json``) holds, per
    task, the settings that the benchmarks validated with this prior: random restarts, Adam steps,
    step size and its schedule, the generator's precision, and the regularisation weight
    :math:`\lambda` -- for ``"recover"`` as a table of ranges of the number of measurements
    :math:`m`, because the best :math:`\lambda` depends on :math:`m`.

    Parameters
    ----------
    G : Generator, str or os.PathLike
        A generator from :func:`load_prior` (its ``recipe`` attribute is read; any object with a
        ``recipe`` attribute works), or a bundled prior's name or a prior folder (its
        ``config.json`` is read).
    task : {"recover", "inpaint"}
        The solver: :func:`ganprior.recover` (CSGM) or :func:`ganprior.inpaint`.
    m : int, optional
        Number of measurements (rows of the operator :math:`A`), which picks :math:`\lambda` from a
        per-range table.  May be omitted when the recipe's :math:`\lambda` does not depend on
        :math:`m`.
    method : str, optional
        A ``recover`` method (``"sparse-gen"``, ``"ilo"``...): its own arguments validated with this
        prior (``recover.methods``, e.g. Sparse-Gen's ``alpha`` and ``basis``, ILO's ``radius``, per
        range of :math:`m` like :math:`\lambda`) are added.  Without it, or for a method the recipe
        does not list, only the shared settings are returned.

    Returns
    -------
    dict or None
        Keyword arguments for the solver -- ``restarts``, ``steps``, ``lr``, ``schedule``,
        ``precision``, ``optimizer``, ``lam`` (``"recover"``) and, for ``"inpaint"``, ``perceptual_weight``, ``window``, ``z_bound``,
        ``perceptual`` and ``blend`` (those the recipe sets) -- so that
        ``ganprior.recover(y, A, G, **recipe_for(G, "recover", m=A.m))`` runs the validated recipe.
        Documentation entries of the recipe (``"source"``: where the numbers come from, ``"note"``,
        ``"validated"``: false when the numbers were not validated with this prior) are left out.  None if the
        prior has no recipe or none for ``task``.

    Raises
    ------
    ValueError
        If ``task`` is not a task, the recipe is malformed, or :math:`\lambda` depends on :math:`m`
        and ``m`` is None.

    Notes
    -----
    For ``"recover"``, :math:`\lambda` weighs the Gaussian latent prior in the CSGM objective

    .. math:: \hat z = \arg\min_z \|y - A G(z)\|_2^2 + \lambda \|z\|_2^2 ,

    and the recipe stores it as a list of ranges ``[{"m_max": m_1, "lam": l_1}, ...,
    {"m_max": None, "lam": l_r}]`` with increasing :math:`m_1 < m_2 < \dots`:

    .. math:: \lambda(m) = l_i \quad\text{for}\quad m_{i-1} < m \le m_i
              \qquad (m_0 = 0,\ m_r = \infty).

    Few measurements constrain :math:`z` weakly, so a larger :math:`\lambda` (a stronger pull
    towards the latent prior's mode) pays off there; with many measurements the data term
    dominates and a small :math:`\lambda` is better.  For ``"inpaint"``, ``perceptual_weight`` is the
    weight of the perceptual (discriminator) loss against the contextual loss (see
    :func:`ganprior.inpaint`); it does not depend on :math:`m` (a plain number).

    Examples
    --------
    >>> import ganprior
    >>> from ganprior.priors import recipe_for
    >>> G = ganprior.load_prior("mnist")
    >>> recipe_for(G, "recover", m=10)["lam"], recipe_for(G, "recover", m=100)["lam"]
    (1.0, 0.1)
    >>> recipe_for(G, "recover", m=100)["steps"]
    300
    """
    check_choice(task, "task", TASKS, owner="recipe_for")
    if m is not None:
        m = check_int(m, "m", minimum=1, owner="recipe_for")
    recipe = _recipe_of(G, "recipe_for")
    if recipe is None:
        return None
    entry = recipe.get(task)
    if entry is None:
        return None
    out = {k: entry[k] for k in _task_keys(task) if k in entry and k != "lam"}
    if "lam" in entry:
        out["lam"] = _value_at(entry["lam"], m, task)
    if method is not None:
        for key, value in entry.get("methods", {}).get(method, {}).items():
            out[key] = value if isinstance(value, str) else _value_at(value, m, f"{task}.methods.{method}", key)
    return out


# the solver settings read a prior's recipe with recipe_for (prior_recipe): they sit below the priors and do not
# import them
register_recipe_reader(recipe_for)


# ---------------------------------------------------------------------- one-line summaries
def _num(x) -> str:
    return f"{x:g}"


def lam_text(lam, prefix: bool = True, key: str = "lam") -> str:
    """``lam 3 (m <= 15), 0.1 (m > 15)`` -- a recipe's lam (or another per-m value ``key``) in brief."""
    head = f"{key} " if prefix else ""
    if isinstance(lam, str):
        return head + lam
    if not isinstance(lam, list):
        return head + _num(lam)
    if len(lam) == 1:
        return head + _num(lam[0][key])
    parts, lo = [], 0
    for row in lam:
        if row["m_max"] is None:
            parts.append(f"{_num(row[key])} (m > {lo})")
        else:
            parts.append(f"{_num(row[key])} (m <= {row['m_max']})" if lo == 0
                         else f"{_num(row[key])} ({lo} < m <= {row['m_max']})")
            lo = row["m_max"]
    return head + ", ".join(parts)


def _task_text(entry: dict) -> str:
    """``10x300 cosine lr 0.3 bf16, lam 3 (m <= 15), 0.1 (m > 15)`` -- a recipe entry in brief."""
    words = [f"{entry.get('restarts', '?')}x{entry.get('steps', '?')}"]
    if "schedule" in entry:
        words.append(entry["schedule"])
    if "lr" in entry:
        words.append(f"lr {_num(entry['lr'])}")
    if "precision" in entry:
        words.append(entry["precision"])
    text = " ".join(words)
    if "lam" in entry:
        text += ", " + lam_text(entry["lam"])
    if "perceptual_weight" in entry:
        text += f", perceptual weight {_num(entry['perceptual_weight'])}"
    if entry.get("validated") is False:
        text += " (not validated on this prior)"
    return text


def _summary(config: dict) -> str:
    data = config.get("data") or {}
    shape = "x".join(str(s) for s in config.get("image_shape", []))
    k = math.prod(config.get("latent_shape", [0]))
    parts = [f"{data.get('name', '?')} ({data.get('n_images', '?')} images), {shape}, k={k}"]
    q = config.get("quality")
    if q:
        parts.append(f"representation MSE {q['representation_mse_mean']:.4f} "
                     f"({q['representation_psnr_mean']:.1f} dB, {q['n_images']} held-out {q['held_out']})")
    else:
        parts.append("representation error not measured")
    recipe = config.get("recipe")
    if recipe:
        parts += [f"{task} {_task_text(recipe[task])}" for task in TASKS if task in recipe]
    else:
        parts.append("no solver recipe")
    return "; ".join(parts)


def describe_priors(priors=None) -> dict[str, str]:
    """One-line summaries of priors: data, image shape, latent size, representation error, recipe.

    Parameters
    ----------
    priors : iterable of (str or os.PathLike), optional
        Bundled names or prior folders (see :func:`load_prior`); default every bundled prior
        (:func:`list_priors`).

    Returns
    -------
    dict of str to str
        For each prior (keyed by the name or path as given, in order), a line such as
        ``"mnist (60000 images), 1x28x28, k=64; representation MSE 0.0017 (28.8 dB, 300 held-out
        mnist_test300); recover 10x300 cosine lr 0.3 bf16, lam 1 (m <= 35), 0.1 (35 < m <= 141), 0.01 (m > 141);
        inpaint 2x200 constant lr 0.03 bf16, perceptual weight 0.003"``: the training data and its size, the
        image shape, the latent size :math:`k`, the representation error
        :math:`\\min_z \\|G(z) - x\\|^2 / n` on held-out images (from ``config.json``'s
        ``"quality"``), and each task's recipe in brief (restarts x steps, schedule, step size,
        precision, :math:`\\lambda`).

    Raises
    ------
    ValueError, FileNotFoundError
        As :func:`prior_config`, for an entry that is not a prior.

    Examples
    --------
    >>> from ganprior.priors import describe_priors
    >>> for name, line in describe_priors().items():  # doctest: +SKIP
    ...     print(f"{name:<14} {line}")
    """
    names = list_priors() if priors is None else list(priors)
    return {os.fspath(name): _summary(prior_config(name)) for name in names}
