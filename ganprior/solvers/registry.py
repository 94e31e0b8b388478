r"""The method registry: one place maps a method name to its factory, its hyperparameters and its doc line.

:func:`~ganprior.recover` dispatches through it, the command line takes its
choices from it, the documentation's methods table is generated from it and
the contract tests (``tests/test_method_contract.py``) run over every entry.
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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .._validation import check_choice, describe

__all__ = ["Method", "register_method", "get_method", "method_names", "methods_table", "KINDS", "RESERVED_NAMES",
           "RESERVED_ARGUMENTS"]

KINDS = ("latent", "sparse")
#: Words ``recover`` reads itself, so never a method's name: ``method="auto"``, and the rules an argument may be set to.
RESERVED_NAMES = ("auto", "cv", "discrepancy")
#: ``recover``'s own keyword arguments: a hyperparameter so named would never reach the method (``noise_std`` is
#: not among them: ``recover`` passes it on to the methods that take it).
RESERVED_ARGUMENTS = ("y", "A", "G", "method", "restarts", "steps", "lr", "optimizer", "schedule", "precision",
                      "select", "preset", "seed", "patience", "tol", "chunk_size", "memory_format", "latent_shape",
                      "history", "progress", "return_result", "cv_fraction", "cv_folds", "choice", "candidates")
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
        accepts for this method (e.g. ``{"lam": 0.0}``).
    reference : str
        The paper the method follows.
    engine : dict
        Engine settings the method needs (e.g. ``{"select": "total"}``),
        applied unless the caller sets them.
    fixed : tuple of str
        Engine settings the method runs only with its own value (that of
        ``engine``, or none where ``engine`` has none: the setting is unused);
        ``recover`` refuses another (e.g. a sampler's ``optimizer``).
    contract : dict
        Settings the contract tests use for this method (e.g. a smaller
        ``alpha`` or more measurements); never read by the library itself.
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


def register_method(name: str, build: Callable, *, kind: str = "latent", summary: str, hyperparameters=None,
                    reference: str = "", engine=None, contract=None, replace: bool = False, fixed=()) -> Method:
    """Register a recovery method under ``name``.

    Parameters
    ----------
    name : str
        Lower-case name, e.g. ``"csgm-tv"``.
    build : callable
        For ``kind="latent"``: ``build(y, A, G, **hp) -> LatentObjective``;
        for ``kind="sparse"``: ``build(y, A, **hp) -> numpy.ndarray``.
    kind : {"latent", "sparse"}
        See :data:`KINDS`.
    summary : str
        One line for the docs and the CLI.
    hyperparameters : dict, optional
        Name -> default of the method's own arguments.
    reference : str
        The paper.
    engine : dict, optional
        Engine settings the method needs unless the caller sets them.
    contract : dict, optional
        Settings for the contract tests.
    replace : bool
        Allow replacing an existing entry (default: a name is registered once).
    fixed : sequence of str
        Engine settings the caller may not change (see :class:`Method`).

    Returns
    -------
    Method
        The entry.

    Raises
    ------
    ValueError
        If ``name`` is taken (and ``replace`` is False) or one of :data:`RESERVED_NAMES`, ``kind`` is unknown, or
        a hyperparameter is named like one of ``recover``'s own arguments (:data:`RESERVED_ARGUMENTS`).
    TypeError
        If ``build`` is not callable.

    Examples
    --------
    >>> import ganprior
    >>> "csgm" in ganprior.method_names()
    True
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
    from .settings import ENGINE_KEYS

    fixed = tuple(fixed)
    unknown = sorted(set(fixed) - set(ENGINE_KEYS))
    if unknown:
        raise ValueError(f"The 'fixed' parameter of register_method names engine settings; {unknown} are not.")
    if name in _REGISTRY and not replace:
        raise ValueError(f"A method named {name!r} is already registered; pass replace=True to replace it.")
    entry = Method(name=name, kind=kind, build=build, summary=summary, hyperparameters=dict(hyperparameters or {}),
                   reference=reference, engine=dict(engine or {}), contract=dict(contract or {}), fixed=fixed)
    _REGISTRY[name] = entry
    return entry


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


def methods_table() -> str:
    """The registered methods as a reStructuredText list-table (used by the docs).

    Returns
    -------
    str
    """
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 15 10 45 30", "",
             "   * - method", "     - kind", "     - what it does", "     - hyperparameters (default)"]
    for name in method_names():
        m = _REGISTRY[name]
        hp = ", ".join(f"``{k}={v!r}``" for k, v in m.hyperparameters.items()) or "--"
        ref = f" ({m.reference})" if m.reference else ""
        lines += [f"   * - ``{name}``", f"     - {m.kind}", f"     - {m.summary}{ref}", f"     - {hp}"]
    return "\n".join(lines) + "\n"
