r"""The method registry: one place maps a method name to its factory, its hyperparameters and its doc line.

:func:`~ganprior.recover` dispatches through it, the command line takes its
choices from it, the documentation's methods table is generated from it and
the contract tests (``tests/solvers/test_method_contract.py``) run over every entry.
A new latent method is therefore one module (a
:class:`~ganprior.LatentObjective`) plus one :func:`register_method` call.

Two kinds of method exist:

``"latent"``
    ``build(y, A, G, **hyperparameters)`` returns a
    :class:`~ganprior.LatentObjective` for the measurements ``y`` (a
    ``(P, m)`` tensor on G's device and dtype) and the operator ``A``; the
    engine (:func:`~ganprior.optimize_latents`) solves it.
``"sparse"``
    ``build(y, A, **hyperparameters)`` solves directly (``y`` a float64
    ``(P, m)`` NumPy array, ``A`` an operator on the CPU) and returns the images
    as a NumPy array ``(P, *image_shape)``; no generator is used.

An entry states each fact about its method once:

- the hyperparameters and their defaults are the factory's own keyword arguments after ``(y, A, G)`` (or
  ``(y, A)``), read from its signature (:attr:`Method.hyperparameters` is that view; a parameter whose name
  starts with ``_`` is private to the factory);
- their types, for the command line, come from the signature's annotations, else from the default's type, else
  from ``types=`` (``ganprior recover --method ilo --radius 0.3 --cut 6``: every hyperparameter is a flag);
- the values ``"cv"`` / ``"discrepancy"`` may choose from (:attr:`Method.cv_grids`) and which way each
  regularises (:attr:`Method.regularisation`);
- whether ``method="auto"`` compares it (:attr:`Method.auto`) and whether it needs a generator that splits
  into layers (:attr:`Method.needs_split`).
"""

from __future__ import annotations

import inspect
import numbers
import types as _types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from .._validation import check_choice, describe
from ..likelihoods import LIKELIHOODS
from .settings import SETTINGS, prior_recipe

__all__ = ["Method", "register_method", "unregister_method", "get_method", "method_names", "auto_methods",
           "method_recipe", "methods_table", "KINDS", "RESERVED_NAMES", "RESERVED_ARGUMENTS"]

KINDS = ("latent", "sparse")
#: Words ``recover`` reads itself, so never a method's name: ``method="auto"``, and the rules an argument may be set to.
RESERVED_NAMES = ("auto", "cv", "discrepancy")
#: ``recover``'s own keyword arguments: a hyperparameter so named would never reach the method (``noise_std`` is
#: not among them: ``recover`` passes it on to the methods that take it).
RESERVED_ARGUMENTS = ("y", "A", "G", "method", *SETTINGS, "preset", "seed", "latent_shape", "history", "progress",
                      "return_result", "cv_fraction", "cv_folds", "choice", "candidates", "likelihood")
_REGISTRY: dict[str, Method] = {}


@dataclass(frozen=True)
class Method:
    """A registered recovery method.

    Attributes
    ----------
    name : str
        The name given to ``recover(method=...)`` and ``--method``.
    kind : {"latent", "sparse"}
        Solved on the latent engine, or directly without a generator.
    build : callable
        The factory (see the module docstring).
    summary : str
        One line for the docs' methods table and ``--help``.
    hyperparameters : dict
        Name -> default of every method-specific argument ``recover``
        accepts for this method (e.g. ``{"lam": 0.0}``): the keyword arguments of ``build``, read from its
        signature.
    reference : str
        The paper the method follows.
    engine : dict
        Engine settings the method needs (e.g. ``{"select": "total"}``),
        applied unless the caller sets them.
    contract : dict
        Settings the contract tests use for this method (e.g. a smaller
        ``alpha`` or more measurements); never read by the library itself.
    fixed : tuple of str
        Engine settings the method runs only with its own value (that of
        ``engine``, or none where ``engine`` has none: the setting is unused);
        ``recover`` refuses another (e.g. a sampler's ``optimizer``).
    cv_grids : dict
        Hyperparameter -> the candidate values ``"cv"`` / ``"discrepancy"`` choose from (e.g.
        ``{"lam": (0.0, 0.01, ...)}``); a hyperparameter without a grid cannot be chosen from the measurements.
    regularisation : dict
        Which way each hyperparameter of ``cv_grids`` regularises: ``+1`` where a larger value is more
        regularisation (a penalty's weight), ``-1`` where a smaller one is (ILO's ``radius``).  The discrepancy
        principle takes the most regularising value whose fit is within the noise.
    auto : bool
        Whether ``method="auto"`` compares this method (with its defaults) when no candidates are given.
    needs_split : bool
        Whether the method needs a generator that splits into layers (:meth:`~ganprior.Generator.split`).
    types : dict
        Hyperparameter -> its type for the command line: ``int``, ``float``, ``str``, ``bool``, a tuple of
        types (any of them, tried in order), a tuple of values (the choices), or ``tuple[float, float]`` (a
        fixed number of values); ``None`` where nothing says (a ``None`` default without annotation: no flag).
    likelihoods : tuple of str
        The measurement models (:data:`ganprior.likelihoods.LIKELIHOODS`) whose data term the method minimises:
        ``("gaussian",)`` by default (least squares).  A latent method that lists others has an objective whose
        ``likelihood`` attribute ``recover`` sets (:class:`~ganprior.solvers.csgm.CSGMObjective`'s data term); a
        sparse one takes the model as its factory's ``_likelihood`` argument.
    recipe_from : tuple of str
        Methods whose stages this one runs first (``dgp`` runs ILO's): a prior's recipe entries for them give this
        method's arguments of the same name, under its own entries (:func:`method_recipe`).  A method that
        continues another's solve is then run with the options validated for that solve, not with defaults.
    """

    name: str
    kind: str
    build: Callable
    summary: str
    hyperparameters: dict = field(default_factory=dict)
    reference: str = ""
    engine: dict = field(default_factory=dict)
    contract: dict = field(default_factory=dict)
    fixed: tuple = ()
    cv_grids: dict = field(default_factory=dict)
    regularisation: dict = field(default_factory=dict)
    auto: bool = False
    needs_split: bool = False
    types: dict = field(default_factory=dict)
    likelihoods: tuple = ("gaussian",)
    recipe_from: tuple = ()

    def can_run(self, G) -> bool:
        """Whether the method can run with the prior ``G``.

        Parameters
        ----------
        G : Generator or None
            The prior.

        Returns
        -------
        bool
            A sparse baseline always can; a latent method needs ``G``, and one with :attr:`needs_split` a ``G``
            that splits into layers.
        """
        if self.kind == "sparse":
            return True
        if G is None:
            return False
        if not self.needs_split:
            return True
        try:
            G.split(1)
        except (TypeError, ValueError):
            return False
        return True


_SCALARS = (int, float, str, bool)


def _normalise_type(t):
    """A type for the command line (see :attr:`Method.types`) from an annotation or a ``types=`` entry, or None."""
    origin = typing.get_origin(t)
    if origin is typing.Literal:
        return tuple(typing.get_args(t))
    if origin in (typing.Union, _types.UnionType):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        return _normalise_type(args[0]) if len(args) == 1 else (
            tuple(args) if all(a in _SCALARS for a in args) else None)
    if origin is tuple:
        args = typing.get_args(t)
        return t if args and Ellipsis not in args and all(a in _SCALARS for a in args) else None
    if t in _SCALARS:
        return t
    if isinstance(t, tuple) and t:
        return t if all(a in _SCALARS for a in t) or not any(isinstance(a, type) for a in t) else None
    return None


def _default_type(default):
    """The command-line type a default value implies (None for ``None`` or a value of another kind)."""
    if isinstance(default, _SCALARS):
        return type(default)
    if isinstance(default, tuple) and default and all(type(v) in _SCALARS for v in default):
        return tuple[tuple(type(v) for v in default)]
    return None


def _signature(build, kind):
    """``{name: (default, annotation)}`` of the factory's own keyword arguments, or None if it takes ``**kwargs``."""
    try:
        sig = inspect.signature(build, eval_str=True)
    except (NameError, TypeError, SyntaxError, AttributeError):  # an annotation that does not evaluate: unused
        sig = inspect.signature(build)
    params = list(sig.parameters.values())
    lead = 3 if kind == "latent" else 2
    given = "(y, A, G, ...)" if kind == "latent" else "(y, A, ...)"
    positional = [p for p in params[:lead]
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    if len(positional) < lead and not any(p.kind == p.VAR_POSITIONAL for p in positional):
        raise TypeError(f"The 'build' parameter of register_method must take {given} for kind={kind!r}. "
                        f"Got a callable with signature {sig} instead.")
    own, open_ended = {}, False
    for p in params[lead:]:
        if p.kind == p.VAR_KEYWORD:
            open_ended = True
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name.startswith("_"):
            continue
        if p.default is p.empty:
            raise ValueError(f"The 'build' parameter of register_method takes hyperparameter {p.name!r} without a "
                             f"default; every hyperparameter needs one (recover passes only those the caller sets). "
                             f"Got the signature {sig}.")
        annotation = None if p.annotation is p.empty or isinstance(p.annotation, str) else p.annotation
        own[p.name] = (p.default, annotation)
    return None if open_ended and not own else own


def register_method(name: str, build: Callable, *, kind: str = "latent", summary: str, reference: str = "",
                    engine=None, contract=None, cv_grids=None, regularisation=None, auto: bool = False,
                    needs_split: bool = False, types=None, replace: bool = False, fixed=(),
                    hyperparameters=None, likelihoods=("gaussian",), recipe_from=()) -> Method:
    """Register a recovery method under ``name``.

    Parameters
    ----------
    name : str
        Lower-case name, e.g. ``"csgm-tv"``.
    build : callable
        For ``kind="latent"``: ``build(y, A, G, **hp) -> LatentObjective``;
        for ``kind="sparse"``: ``build(y, A, **hp) -> numpy.ndarray``.  Its keyword arguments after those, each
        with a default, are the method's hyperparameters (a name starting with ``_`` excepted).
    kind : {"latent", "sparse"}
        See :data:`KINDS`.
    summary : str
        One line for the docs and the CLI.
    reference : str
        The paper.
    engine : dict, optional
        Engine settings the method needs unless the caller sets them.
    contract : dict, optional
        Settings for the contract tests.
    cv_grids : dict, optional
        Hyperparameter -> candidate values for ``"cv"`` / ``"discrepancy"`` (see :attr:`Method.cv_grids`).
    regularisation : dict, optional
        Hyperparameter of ``cv_grids`` -> ``-1`` where a smaller value regularises more (default ``+1``: a
        larger one).
    auto : bool
        Compared by ``method="auto"`` (default False).
    needs_split : bool
        The method needs a generator that splits into layers (default False).
    types : dict, optional
        Hyperparameter -> command-line type, where neither the signature's annotation nor the default says
        (a ``None`` default): ``int``, ``float``, ``str``, ``bool``, a tuple of them, or a tuple of choices.
    replace : bool
        Allow replacing an existing entry (default: a name is registered once).
    fixed : sequence of str
        Engine settings the caller may not change (see :class:`Method`).
    hyperparameters : dict, optional
        Name -> default, only for a factory that takes ``**kwargs`` (its signature cannot say); otherwise read
        from the signature, and a dict given must agree with it.
    likelihoods : sequence of str
        The measurement models the method takes (see :attr:`Method.likelihoods`; default ``("gaussian",)``).
    recipe_from : sequence of str
        Methods whose validated options in a prior's recipe this one takes for the arguments they share (see
        :attr:`Method.recipe_from`; default none).

    Returns
    -------
    Method
        The entry.

    Raises
    ------
    ValueError
        If ``name`` is taken (and ``replace`` is False) or one of :data:`RESERVED_NAMES`, ``kind`` is unknown,
        a hyperparameter is named like one of ``recover``'s own arguments (:data:`RESERVED_ARGUMENTS`) or has
        no default, ``hyperparameters`` disagrees with the signature, or ``cv_grids``, ``regularisation`` or
        ``types`` name something that is not a hyperparameter or hold values of the wrong kind, or
        ``recipe_from`` names the method itself or a method not registered, or one that shares no argument with it.
    TypeError
        If ``build`` is not callable or does not take ``(y, A, G)`` / ``(y, A)`` first.

    Examples
    --------
    >>> import ganprior
    >>> "csgm" in ganprior.method_names()
    True
    >>> ganprior.get_method("ilo").hyperparameters
    {'lam': 0.0, 'cut': None, 'radius': 1.0, 'warmup': None}
    """
    if not isinstance(name, str) or not name or name != name.strip().lower():
        raise ValueError(f"The 'name' parameter of register_method must be a non-empty lower-case string. "
                         f"Got {describe(name)} instead.")
    if name in RESERVED_NAMES:
        raise ValueError(f"The 'name' parameter of register_method cannot be {name!r}: recover reads "
                         f"{list(RESERVED_NAMES)} itself (method='auto', an argument set to 'cv' / 'discrepancy').")
    check_choice(kind, "kind", KINDS, owner="register_method")
    if not callable(build):
        raise TypeError(f"The 'build' parameter of register_method must be callable. Got {describe(build)} instead.")
    taken = sorted(set(hyperparameters or {}) & set(RESERVED_ARGUMENTS))
    if taken:
        raise ValueError(f"The 'hyperparameters' parameter of register_method names hyperparameter {taken[0]!r}, "
                         f"which is recover's own argument (it would never reach the method): rename it. "
                         f"Reserved: {sorted(RESERVED_ARGUMENTS)}.")
    own = _signature(build, kind)
    taken = sorted(set(own or {}) & set(RESERVED_ARGUMENTS))
    if taken:
        raise ValueError(f"The 'build' parameter of register_method takes hyperparameter {taken[0]!r}, which is "
                         f"recover's own argument (it would never reach the method): rename it. "
                         f"Reserved: {sorted(RESERVED_ARGUMENTS)}.")
    if own is None:  # build(y, A, G, **kwargs): only the caller's dict can say
        own = {k: (v, None) for k, v in dict(hyperparameters or {}).items()}
    elif hyperparameters is not None and dict(hyperparameters) != {k: v for k, (v, _) in own.items()}:
        raise ValueError(f"The 'hyperparameters' parameter of register_method must agree with the signature of "
                         f"'build' (leave it out: it is read from there). Got {dict(hyperparameters)!r}; the "
                         f"signature says {({k: v for k, (v, _) in own.items()})!r}.")
    from .settings import ENGINE_KEYS

    fixed = tuple(fixed)
    unknown = sorted(set(fixed) - set(ENGINE_KEYS))
    if unknown:
        raise ValueError(f"The 'fixed' parameter of register_method names engine settings; {unknown} are not.")
    grids = _check_grids(cv_grids, own)
    directions = dict(regularisation or {})
    unknown = sorted(set(directions) - set(grids))
    if unknown or any(v not in (1, -1) or isinstance(v, bool) for v in directions.values()):
        raise ValueError(f"The 'regularisation' parameter of register_method maps hyperparameters of 'cv_grids' "
                         f"({sorted(grids)}) to +1 or -1. Got {directions!r} instead.")
    overrides = dict(types or {})
    unknown = sorted(set(overrides) - set(own))
    bad = [k for k, t in overrides.items() if _normalise_type(t) is None]
    if unknown or bad:
        raise ValueError(f"The 'types' parameter of register_method maps hyperparameters ({sorted(own)}) to int, "
                         f"float, str, bool, a tuple of them or a tuple of choices. Got {overrides!r} instead.")
    for flag_name, flag in (("auto", auto), ("needs_split", needs_split)):
        if not isinstance(flag, bool):
            raise TypeError(f"The '{flag_name}' parameter of register_method must be a bool. "
                            f"Got {describe(flag)} instead.")
    if needs_split and kind != "latent":
        raise ValueError("The 'needs_split' parameter of register_method is for latent methods (a sparse baseline "
                         f"uses no generator). Got needs_split=True with kind={kind!r}.")
    likelihoods = tuple(likelihoods) if not isinstance(likelihoods, str) else (likelihoods,)
    if not likelihoods or any(not isinstance(k, str) or k not in LIKELIHOODS for k in likelihoods):
        raise ValueError(f"The 'likelihoods' parameter of register_method must name measurement models among "
                         f"{sorted(LIKELIHOODS)}. Got {likelihoods!r} instead.")
    recipe_from = (recipe_from,) if isinstance(recipe_from, str) else tuple(recipe_from)
    for base in recipe_from:
        if not isinstance(base, str) or base == name or base not in _REGISTRY:
            raise ValueError(f"The 'recipe_from' parameter of register_method names registered methods other than "
                             f"{name!r} itself; {base!r} is not one (registered: {sorted(_REGISTRY)}).")
        if not set(_REGISTRY[base].hyperparameters) & set(own):
            raise ValueError(f"The 'recipe_from' parameter of register_method names {base!r}, which shares no "
                             f"argument with {name!r} ({sorted(own)}): its recipe entries could give it nothing.")
    if name in _REGISTRY and not replace:
        raise ValueError(f"A method named {name!r} is already registered; pass replace=True to replace it.")
    entry = Method(name=name, kind=kind, build=build, summary=summary,
                   hyperparameters={k: v for k, (v, _) in own.items()}, reference=reference,
                   engine=dict(engine or {}), contract=dict(contract or {}), fixed=fixed, cv_grids=grids,
                   regularisation={k: directions.get(k, 1) for k in grids}, auto=auto, needs_split=needs_split,
                   types={k: _normalise_type(overrides[k]) if k in overrides
                          else (_normalise_type(a) if a is not None else None) or _default_type(v)
                          for k, (v, a) in own.items()}, likelihoods=likelihoods, recipe_from=recipe_from)
    _REGISTRY[name] = entry
    return entry


def unregister_method(name: str) -> Method:
    """Remove the method ``name`` from the registry (e.g. one a test registered).

    Parameters
    ----------
    name : str
        A registered name.

    Returns
    -------
    Method
        The entry removed.

    Raises
    ------
    ValueError
        If ``name`` is not registered.
    """
    get_method(name)
    return _REGISTRY.pop(name)


def _check_grids(cv_grids, own):
    """``cv_grids`` as ``{name: tuple of numbers}``, each name a hyperparameter, each grid non-empty."""
    grids = {}
    for key, grid in dict(cv_grids or {}).items():
        values = tuple(grid) if isinstance(grid, (list, tuple)) else ()
        if key not in own or not values or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                                   for v in values):
            raise ValueError(f"The 'cv_grids' parameter of register_method maps hyperparameters ({sorted(own)}) "
                             f"to non-empty tuples of numbers. Got {key!r}: {grid!r} instead.")
        grids[key] = values
    return grids


def get_method(name: str) -> Method:
    """The registered method ``name``.

    Parameters
    ----------
    name : str
        A registered name (see :func:`method_names`).

    Returns
    -------
    Method

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the names, sorted).
    """
    check_choice(name, "method", tuple(_REGISTRY), owner="recover")
    return _REGISTRY[name]


def method_names(kind: str | None = None) -> list[str]:
    """Registered method names, sorted, optionally of one kind.

    Parameters
    ----------
    kind : {"latent", "sparse"}, optional
        Only methods of this kind.

    Returns
    -------
    list of str
    """
    if kind is not None:
        check_choice(kind, "kind", KINDS, owner="method_names")
    return sorted(n for n, m in _REGISTRY.items() if kind is None or m.kind == kind)


def auto_methods() -> list[str]:
    """The methods ``method="auto"`` compares when no candidates are given (:attr:`Method.auto`), in the order
    they were registered (the order of the candidates).

    Returns
    -------
    list of str
    """
    return [n for n, m in _REGISTRY.items() if m.auto]


def method_recipe(G, task, m, name, inherited=None):
    r"""A prior's validated recipe for one method at :math:`m`: its own entries, then those of the methods it
    continues (:attr:`Method.recipe_from`) for the arguments it shares with them.

    ``dgp`` runs CSGM and ILO before it adapts the weights: at :math:`m = 2500` the ``celeba64`` recipe's ILO cuts
    the generator at block end 6 with a box of radius 3, while ILO's defaults are the first block end and radius
    1.  Without this, ``recover(y, A, "celeba64", method="dgp")`` would continue a different, unvalidated ILO.

    Parameters
    ----------
    G : Generator or None
        The prior (one without a recipe gives ``{}``).
    task : {"recover", "inpaint"}
        Which recipe.
    m : int or None
        Measurements.
    name : str or None
        A registered method (``None``: the shared settings only).
    inherited : dict, optional
        Filled with ``{argument: method}`` for the arguments taken from a method of ``recipe_from`` (``recover``
        reports them as ``"recipe (ilo)"`` in ``info["source"]``).

    Returns
    -------
    dict
        :func:`~ganprior.solvers.settings.prior_recipe` for ``name``, plus, for each argument of ``name`` that a
        method of its ``recipe_from`` also takes and the recipe lists for that method but not for ``name``, that
        method's value (the first such method's).
    """
    recipe = prior_recipe(G, task, m, method=name)
    if name is None or name not in _REGISTRY:
        return recipe
    entry = _REGISTRY[name]
    for base in entry.recipe_from:
        shared = set(entry.hyperparameters) & set(_REGISTRY[base].hyperparameters)
        for key, value in prior_recipe(G, task, m, method=base).items():
            if key in shared and key not in recipe:
                recipe[key] = value
                if inherited is not None:
                    inherited[key] = base
    return recipe


def methods_table() -> str:
    """The registered methods as a reStructuredText list-table (used by the docs).

    Returns
    -------
    str
    """
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 14 8 40 12 26", "",
             "   * - method", "     - kind", "     - what it does", "     - measurement models",
             "     - hyperparameters (default)"]
    for name in method_names():
        m = _REGISTRY[name]
        hp = ", ".join(f"``{k}={v!r}``" for k, v in m.hyperparameters.items()) or "--"
        ref = f" ({m.reference})" if m.reference else ""
        lines += [f"   * - ``{name}``", f"     - {m.kind}", f"     - {m.summary}{ref}",
                  f"     - {', '.join(m.likelihoods)}", f"     - {hp}"]
    return "\n".join(lines) + "\n"
