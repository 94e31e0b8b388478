r"""Where a solve's settings come from: one object, one defaults table, one rule.

- :class:`SolveConfig` holds every engine setting; its fields are the **only list of the setting names**
  (:data:`ENGINE_KEYS`, the keys a prior's recipe may hold and the command line's engine options derive from
  them).
- :data:`DEFAULTS` is the **only defaults table**: one :class:`SolveConfig` per task (``"engine"``:
  :func:`~ganprior.optimize_latents` called directly; ``"recover"``; ``"inpaint"``; ``"posterior"``:
  :func:`~ganprior.sample_posterior`).  :data:`ENGINE_DEFAULTS`, :data:`PRESETS` and
  :data:`~ganprior.inpainting.INPAINT_DEFAULTS` are views of it.
- :func:`resolve` is the **only rule**, used by :func:`~ganprior.recover`, :func:`~ganprior.inpaint`,
  :func:`~ganprior.sample_posterior` and :func:`~ganprior.optimize_latents`: each setting (and each of the
  task's or method's own arguments) comes from the first layer that sets it -- the caller's argument; what the
  method needs (e.g. the Langevin rule); a named protocol of :data:`PRESETS`, or else the prior's validated
  recipe for this :math:`m` (:func:`prior_recipe`); the method's (or task's) own defaults; the task's row of
  :data:`DEFAULTS` -- and it says where each value came from, which the results report
  (``info["settings"]`` / ``info["source"]``).  :func:`resolve_settings` is the same rule on plain dicts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from .._validation import check_choice, check_float, check_int, renamed_arguments, warn_once
from ..hardware import PRECISIONS
from .updates import SELECT, UPDATE_RULES, UpdateRule

__all__ = ["SolveConfig", "DEFAULTS", "FIXED", "SETTINGS", "ENGINE_DEFAULTS", "PRESETS", "ENGINE_KEYS", "SCHEDULES",
           "resolve", "resolve_settings", "recipe_keys", "prior_recipe", "register_recipe_reader", "check_engine",
           "report_precision", "renamed_arguments", "warn_once", "RENAMED", "merge_renamed"]

#: Step-size schedules of the engine.
SCHEDULES = ("constant", "cosine")


def _setting(recipe: bool):
    # None = "not set": a layer below (preset, recipe, defaults) gives the value
    return field(default=None, metadata={"recipe": recipe})


@dataclass(frozen=True)
class SolveConfig:
    r"""Every setting of the latent engine, in one immutable object.

    A field left ``None`` is "not set"; :func:`resolve` fills each from the first layer that sets it, and a
    row of :data:`DEFAULTS` sets every field a task uses.  The first seven fields change *which* answer a
    solve gives and are what a preset or a prior's recipe may set (:data:`ENGINE_KEYS`); the last four
    (``patience``, ``tol``, ``row_chunk``, ``memory_format``) are knobs of the run -- an early stop and how
    the rows are laid out in memory -- which only the caller sets, so they come from the caller or the
    defaults and are not reported per solve.

    Attributes
    ----------
    restarts : int
        :math:`R`, initial latents per problem (chains for ``"langevin"``).
    steps : int
        :math:`T`, update steps.
    lr : float
        :math:`\eta`, the step size (for :func:`~ganprior.sample_posterior`, the Langevin step at the last
        annealing level; ``None`` there means :math:`0.2 / L_\sigma`).
    optimizer : {"adam", "sgd", "langevin"} or UpdateRule
        The update rule.
    schedule : {"constant", "cosine"}
        :math:`\eta_t = \eta` or :math:`\eta_t = \tfrac{\eta}{2}(1 + \cos(\pi t / T))`.
    precision : {"fp32", "bf16", "auto"}
        The generator's precision (``"auto"``: bf16 where the device computes it natively).
    select : {"fit", "total"}
        Which row a problem keeps: lowest data term or lowest total loss.
    patience : int or None
        Stop a row after ``patience`` steps without a relative improvement of ``tol`` (``None``: never).
    tol : float
        The relative improvement that resets the patience counter.
    row_chunk : int or None
        Rows (problems :math:`\times` restarts) run at once (``None``: all); the old name ``chunk_size``
        warns (:data:`RENAMED`).
    memory_format : {"auto", "channels_last", "contiguous"}
        The generator's layout during the solve.

    Examples
    --------
    >>> from ganprior.solvers.settings import DEFAULTS, SolveConfig, resolve
    >>> DEFAULTS["recover"].steps, DEFAULTS["inpaint"].steps
    (300, 200)
    >>> config, _, source = resolve("recover", {"steps": 50})
    >>> config.steps, source["steps"], config.lr, source["lr"]
    (50, 'caller', 0.3, 'default')
    """

    restarts: int | None = _setting(True)
    steps: int | None = _setting(True)
    lr: float | None = _setting(True)
    optimizer: str | UpdateRule | None = _setting(True)
    schedule: str | None = _setting(True)
    precision: str | None = _setting(True)
    select: str | None = _setting(True)
    patience: int | None = _setting(False)
    tol: float | None = _setting(False)
    row_chunk: int | None = _setting(False)
    memory_format: str | None = _setting(False)

    def settings(self, keys=None) -> dict:
        """The fields as a dict.

        Parameters
        ----------
        keys : iterable of str, optional
            Which fields (default all, in order).

        Returns
        -------
        dict
        """
        return {k: getattr(self, k) for k in (SETTINGS if keys is None else keys)}

    def replace(self, **changes) -> SolveConfig:
        """A copy with some fields changed.

        Parameters
        ----------
        **changes
            New values by field name.

        Returns
        -------
        SolveConfig
        """
        return dataclasses.replace(self, **changes)

    def check(self, owner: str) -> SolveConfig:
        """Check every field that is set, before any work; return the config with ints and floats normalised.

        Parameters
        ----------
        owner : str
            The calling function's name, for the messages.

        Returns
        -------
        SolveConfig

        Raises
        ------
        TypeError, ValueError
            Naming the setting, what was expected and what came.
        """
        from ..generator import MEMORY_FORMATS

        out = {}
        for key, value in self.settings().items():
            if value is None:
                continue
            if key in ("restarts", "steps", "patience", "row_chunk"):
                out[key] = check_int(value, key, minimum=1, owner=owner)
            elif key in ("lr", "tol"):
                out[key] = check_float(value, key, minimum=0.0, strict=key == "lr", owner=owner)
            elif key == "optimizer" and isinstance(value, UpdateRule):
                continue
            else:
                choices = {"optimizer": UPDATE_RULES, "schedule": SCHEDULES, "precision": PRECISIONS,
                           "select": SELECT, "memory_format": MEMORY_FORMATS}[key]
                check_choice(value, key, choices, owner=owner)
        return self.replace(**out)


#: Every setting name, in order: the fields of :class:`SolveConfig`.
SETTINGS = tuple(f.name for f in fields(SolveConfig))
#: The settings that change which answer a solve gives: those a preset or a prior's recipe may set, and that the
#: results report with their source.
ENGINE_KEYS = tuple(f.name for f in fields(SolveConfig) if f.metadata["recipe"])

#: The defaults, one row per task, and the only place they are written.
#:
#: - ``"engine"``: :func:`~ganprior.optimize_latents` called directly runs the CSGM paper's protocol
#:   (Bora et al. 2017: 10 restarts x 1000 Adam steps, lr 0.01), as it always has; it is also the preset
#:   ``"bora2017"``.
#: - ``"recover"``: the budget our benchmarks validated on the bundled priors (10 x 300 Adam steps, cosine step
#:   size from 0.3), in full precision: bf16 was validated on the bundled priors only (their recipes say
#:   ``"bf16"``, which runs as ``"auto"``: bf16 where native), so a generator of the user's own gets the same
#:   answer on every machine unless ``precision="auto"`` or ``"bf16"`` is asked for.
#: - ``"inpaint"``: the budget of our inpainting benchmarks (2 candidates x 200 Adam steps, lr 0.03); each image
#:   keeps the candidate with the lowest total loss.
#: - ``"posterior"``: 16 chains x 1000 Langevin steps; ``lr`` None is the step :math:`0.2 / L_\sigma` of
#:   :class:`~ganprior.solvers.posterior.PosteriorObjective`.
DEFAULTS = {
    "engine": SolveConfig(restarts=10, steps=1000, lr=0.01, optimizer="adam", schedule="constant", precision="fp32",
                          select="fit", patience=None, tol=1e-4, row_chunk=None, memory_format="auto"),
    "recover": SolveConfig(restarts=10, steps=300, lr=0.3, optimizer="adam", schedule="cosine", precision="fp32",
                           select="fit", patience=None, tol=1e-4, row_chunk=None, memory_format="auto"),
    "inpaint": SolveConfig(restarts=2, steps=200, lr=0.03, optimizer="adam", schedule="constant", precision="fp32",
                           select="total", patience=None, tol=1e-4, row_chunk=None, memory_format="auto"),
    "posterior": SolveConfig(restarts=16, steps=1000, lr=None, optimizer="langevin", schedule="constant",
                             precision="fp32", select="fit", patience=None, tol=1e-4, row_chunk=None,
                             memory_format="auto"),
}

#: The settings a task sets itself (from its row of :data:`DEFAULTS`; the caller, presets and recipes do not):
#: inpainting keeps the candidate with the lowest total loss; the posterior's chains follow the Langevin rule at
#: the annealing's own step, and every chain is a sample.
FIXED = {"engine": (), "recover": (), "inpaint": ("select",), "posterior": ("optimizer", "schedule", "select")}

#: Old names of engine settings, old -> new, accepted by every solver with a FutureWarning (once per process):
#: ``chunk_size`` counted rows (problems x restarts) beside the jobs' ``chunk`` (images), hence ``row_chunk``.
RENAMED = {"chunk_size": "row_chunk"}


def merge_renamed(owner: str, given: dict, deprecated: dict, renames: dict = RENAMED) -> dict:
    """``given`` with the values of the arguments passed under their old names (each warning once per process).

    Parameters
    ----------
    owner : str
        The function, for the messages.
    given : dict
        New name -> value as the caller passed it (``None``: not given); updated in place.
    deprecated : dict
        The keyword arguments given under an old name.
    renames : dict
        Old name -> new name (default :data:`RENAMED`).

    Returns
    -------
    dict
        ``given``.

    Raises
    ------
    TypeError
        For an unknown name, or a name given together with its old name.

    Warns
    -----
    FutureWarning
        The first time each old name is used, naming the new one
        (:func:`~ganprior._validation.renamed_arguments`).
    """
    return renamed_arguments(owner, deprecated, renames, into=given)


#: Engine settings of ``recover`` for a generator without a recipe (a view of ``DEFAULTS["recover"]``).
ENGINE_DEFAULTS = DEFAULTS["recover"].settings(ENGINE_KEYS)

#: Named protocols: ``"bora2017"`` is the CSGM paper's MNIST protocol (10 restarts x 1000 Adam steps, lr 0.01,
#: constant, fp32; ``lam`` 0), the row ``DEFAULTS["engine"]``.
PRESETS = {"bora2017": {**DEFAULTS["engine"].settings(ENGINE_KEYS), "lam": 0.0}}


def recipe_keys(task: str) -> tuple:
    """The solver arguments a prior's recipe may set for ``task``: the engine settings the task does not fix, and
    the task's own arguments.

    Parameters
    ----------
    task : {"recover", "inpaint"}
        The recipe's task.

    Returns
    -------
    tuple of str
        For ``"recover"``: :data:`ENGINE_KEYS` and ``lam`` (CSGM's weight, shared by the latent methods; the
        methods' other arguments sit under ``recover.methods``).  For ``"inpaint"``: :data:`ENGINE_KEYS` but
        ``select``, and the keys of :data:`~ganprior.inpainting.INPAINT_OPTIONS`
        (:data:`ganprior.inpainting.options.OPTION_NAMES`).
    """
    engine = tuple(k for k in ENGINE_KEYS if k not in FIXED[task])
    if task == "inpaint":
        from ..inpainting.options import OPTION_NAMES

        return engine + OPTION_NAMES
    return engine + ("lam",)


# how prior_recipe reads a prior's recipe: ganprior.priors.recipe_for, registered by ganprior.priors.recipes
_recipe_reader = None


def register_recipe_reader(reader) -> None:
    """Register the function :func:`prior_recipe` reads a prior's recipe with.

    The settings sit below the priors (whose recipes are checked against them), so they do not import the priors:
    :mod:`ganprior.priors.recipes` hands :func:`ganprior.priors.recipe_for` in when it is imported (importing
    :mod:`ganprior` imports it).

    Parameters
    ----------
    reader : callable
        ``reader(G, task, m, method=None)``, returning a dict or None, as :func:`ganprior.priors.recipe_for`; it
        replaces the one registered before.
    """
    global _recipe_reader
    _recipe_reader = reader


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
        Settings and hyperparameters (see :func:`ganprior.priors.recipe_for`, the reader registered with
        :func:`register_recipe_reader`).
    """
    recipe = getattr(G, "recipe", None)
    if not recipe or _recipe_reader is None:  # no reader: ganprior.priors was not imported
        return {}
    return dict(_recipe_reader(G, task, m, method=method) or {})


def _layered(given, keys, *, preset, recipe, method, defaults, owner="recover"):
    """The rule: each key from the first layer holding it (``given`` holds only what the caller set)."""
    layers = []
    if method is not None and method.engine:  # what the method needs (e.g. a Langevin rule) beats recipes
        layers.append(("method", method.engine))
    if preset is not None:
        layers.append(("preset", PRESETS[check_choice(preset, "preset", tuple(PRESETS), owner=owner)]))
    elif recipe:
        layers.append(("recipe", recipe))
    if method is not None:
        layers.append(("method", method.hyperparameters))
    layers.append(("default", defaults))
    settings, source = {}, {}
    for key in keys:
        if key in given:
            settings[key], source[key] = given[key], "caller"
            continue
        for name, layer in layers:
            if key in layer and (layer[key] is not None or name in ("recipe", "default")):
                settings[key], source[key] = layer[key], name
                break
    if settings.get("precision") == "bf16" and source.get("precision") == "recipe":
        # a recipe's bf16 is what was validated on hardware that computes it natively: elsewhere it is emulated,
        # about 18x slower for the same errors, so it means "bf16 where native"
        settings["precision"] = "auto"
    return settings, source


def resolve(task, given=None, *, preset=None, recipe=None, method=None, own=None, keys=(), owner=None):
    r"""The settings of one solve, and where each came from: the rule every solver uses.

    Each of the settings (the fields of :class:`SolveConfig`) and of ``own`` and ``keys`` comes from the first
    layer that sets it:

    1. the caller (``given``);
    2. what the method needs (``method.engine``, e.g. ``optimizer="langevin"``);
    3. the preset (a name of :data:`PRESETS`), or else the prior's ``recipe``;
    4. the method's own defaults (``method.hyperparameters``) and the task's (``own``);
    5. the task's row of :data:`DEFAULTS`.

    The settings of :data:`FIXED` for the task come from its row whatever the layers say.  A recipe's
    ``precision="bf16"`` means ``"auto"`` (bf16 where the device computes it natively: that is where it was
    validated; elsewhere it is emulated, about 18x slower for the same errors).

    Parameters
    ----------
    task : {"engine", "recover", "inpaint", "posterior"}
        The row of :data:`DEFAULTS`.
    given : dict, optional
        What the caller set; a key is set when present, ``None`` meaning "not set" for the settings only (a
        task's own argument may be set to None, e.g. ``z_bound=None``: no box).
    preset : str, optional
        A name of :data:`PRESETS`; it replaces the recipe.
    recipe : dict, optional
        The prior's recipe for this task (:func:`prior_recipe`).
    method : Method, optional
        A registered method: its ``engine`` settings come right after the caller's, its ``hyperparameters``
        right before the defaults.
    own : dict, optional
        The task's own arguments and their defaults (e.g.
        :data:`~ganprior.inpainting.INPAINT_OPTIONS`).
    keys : tuple of str
        More arguments to resolve, with no default of the task's (e.g. a method's ``lam``).
    owner : str, optional
        The calling function, for the messages (default: the task).

    Returns
    -------
    config : SolveConfig
        Every setting (checked, :meth:`SolveConfig.check`).
    options : dict
        The values of ``own`` and ``keys`` (those some layer sets).
    source : dict
        For every key resolved: ``"caller"``, ``"method"``, ``"preset"``, ``"recipe"`` or ``"default"``.

    Raises
    ------
    TypeError, ValueError
        On a bad setting or preset, naming it.
    """
    owner = owner or task
    check_choice(task, "task", tuple(DEFAULTS), owner="resolve")
    row, own = DEFAULTS[task], dict(own or {})
    given = {k: v for k, v in (given or {}).items() if not (v is None and k in SETTINGS)}
    extra = tuple(own) + tuple(k for k in keys if k not in own)
    values, source = _layered(given, SETTINGS + extra, preset=preset, recipe=recipe, method=method,
                              defaults={**row.settings(), **own}, owner=owner)
    for key in FIXED[task]:
        values[key], source[key] = getattr(row, key), "method"
    config = SolveConfig(**{k: values.pop(k) for k in SETTINGS if k in values}).check(owner)
    return config, values, source


def resolve_settings(given: dict, *, preset=None, recipe=None, method=None, keys=ENGINE_KEYS, defaults=None):
    """:func:`resolve` on plain dicts: the settings ``keys`` from the caller's, else the method's needs, else the
    preset's or the recipe's, else the method's defaults, else ``defaults``.

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
        The values, and where each came from (unchecked).
    """
    given = {k: v for k, v in given.items() if v is not None}
    return _layered(given, keys, preset=preset, recipe=recipe, method=method,
                    defaults=ENGINE_DEFAULTS if defaults is None else defaults)


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
    ``optimizer``, ``schedule``, ``precision`` and ``select`` (:meth:`SolveConfig.check`).

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
    SolveConfig(**{k: v for k, v in settings.items() if k in SETTINGS}).check(owner)
