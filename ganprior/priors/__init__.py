r"""Pretrained priors: the bundled ones, any training run folder and any exported prior folder.

Each bundled prior lives in its own folder ``ganprior/priors/<name>/`` holding ``generator.pt`` and
``discriminator.pt`` (``state_dict`` files, loaded with ``weights_only=True``), ``config.json`` (the
architecture, the training recipe, the exact command, the measured quality and the validated *solver
recipe*) and ``card.md`` (the model card: data, recipe, wall time, loss curves, samples and the prior's
representation error on held-out images).

:func:`load_prior`, :func:`load_discriminator` and :func:`prior_config` take a bundled name or a path:

- a **training run folder**, written by ``ganprior train --out RUN`` (or a
  :class:`~ganprior.training.Trainer` with ``out_dir=RUN``): ``config.json`` (the architecture)
  and ``checkpoint.pt`` (the trainer's latest state; its ``generator_ema`` weights are used when the
  checkpoint holds them, else its ``generator`` weights);
- an **exported prior folder**: ``config.json`` and ``generator.pt`` (``discriminator.pt`` for
  :func:`load_discriminator`), such as a bundled prior's folder or the output of
  ``benchmarks/build_prior.py``.

The solver recipe is the ``"recipe"`` entry of ``config.json``, attached to a loaded generator as
``G.recipe`` and resolved for one task (and one number of measurements) by :func:`recipe_for`.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

from .._validation import check_choice, check_int, describe
from ..generator import Discriminator, Generator

__all__ = ["list_priors", "load_prior", "load_discriminator", "prior_config", "recipe_for", "describe_priors",
           "PRIOR_DIR"]

PRIOR_DIR = Path(__file__).resolve().parent

CHECKPOINT = "checkpoint.pt"
EMA_KEY = "generator_ema"
TASKS = ("recover", "inpaint")
# solver keyword arguments a recipe may set, per task (anything else in a recipe is documentation)
_RECIPE_KWARGS = {
    "recover": ("restarts", "steps", "lr", "schedule", "precision", "optimizer", "lam"),
    "inpaint": ("restarts", "steps", "lr", "schedule", "precision", "optimizer", "perceptual_weight", "window", "z_bound",
                "perceptual", "blend"),
}


def list_priors() -> list[str]:
    """Names of the bundled priors, sorted.

    Returns
    -------
    list of str
        Each name can be given to :func:`load_prior` and :func:`load_discriminator`.
    """
    return sorted(p.name for p in PRIOR_DIR.iterdir() if (p / "config.json").is_file() and (p / "generator.pt").is_file())


# ---------------------------------------------------------------------- locating a prior
class _Source:
    """Where a prior comes from: ``kind`` is "bundled", "run" or "exported"; ``folder`` holds its files."""

    def __init__(self, kind: str, folder: Path, name: str):
        self.kind, self.folder, self.name = kind, folder, name

    def config(self) -> dict:
        return json.loads((self.folder / "config.json").read_text())


def _resolve(name_or_path, owner: str) -> _Source:
    """Find the prior ``name_or_path`` names: a bundled name first, then a folder on disk."""
    if isinstance(name_or_path, str) and name_or_path in list_priors():
        return _Source("bundled", PRIOR_DIR / name_or_path, name_or_path)
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"The 'name_or_path' parameter of {owner} must be the name of a bundled prior or a folder "
                        f"path (str or os.PathLike). Got {describe(name_or_path)} instead.")
    text = os.fspath(name_or_path)
    folder = Path(text).expanduser()
    if isinstance(name_or_path, str) and not folder.exists() and os.sep not in text and "/" not in text:
        # a plain word that is neither a bundled name nor a folder: most likely a misspelt name
        check_choice(name_or_path, "name", list_priors(), owner=owner)
    if not folder.exists():
        raise FileNotFoundError(f"The prior folder {text!r} given to {owner} does not exist "
                                f"(bundled priors: {list_priors()}).")
    if not folder.is_dir():
        raise FileNotFoundError(f"The prior {text!r} given to {owner} is a file; give the folder that holds it: "
                                f"a training run folder (config.json + {CHECKPOINT}) or an exported prior folder "
                                "(config.json + generator.pt).")
    has = {f: (folder / f).is_file() for f in ("config.json", CHECKPOINT, "generator.pt")}
    name = folder.resolve().name
    if has["config.json"] and has[CHECKPOINT]:
        return _Source("run", folder, name)
    if has["config.json"] and has["generator.pt"]:
        return _Source("exported", folder, name)
    if has[CHECKPOINT]:
        raise FileNotFoundError(
            f"The folder {text!r} given to {owner} holds a training checkpoint ({CHECKPOINT}) but no config.json, "
            "which records the architecture; the trainer writes it when a run finishes. Finish the run "
            "(run the same `ganprior train` command again with --resume) and load the folder again.")
    present = sorted(p.name for p in folder.iterdir())[:12]
    raise FileNotFoundError(
        f"The folder {text!r} given to {owner} is not a prior: expected a training run folder (config.json and "
        f"{CHECKPOINT}, as written by `ganprior train --out RUN`) or an exported prior folder (config.json and "
        f"generator.pt, plus discriminator.pt for load_discriminator). It holds {present or 'nothing'}.")


def _load_checkpoint(source: _Source) -> dict:
    """The run's checkpoint, read and verified by the trainer's own :func:`~ganprior.training.load_checkpoint`."""
    from ..training.trainer import load_checkpoint

    path = source.folder / CHECKPOINT
    state = load_checkpoint(path)
    if not isinstance(state, dict) or "generator" not in state:
        raise ValueError(f"The file {str(path)!r} is not a ganprior trainer checkpoint (no 'generator' entry).")
    return state


def _weights(source: _Source, role: str, config: dict) -> dict:
    """The ``state_dict`` of ``role`` ("generator" or "discriminator") for a prior."""
    from ..generator import _load_state_dict

    if source.kind != "run":
        return _load_state_dict(source.folder / f"{role}.pt", f"{role}.pt")
    state = _load_checkpoint(source)
    step, steps = state.get("step"), config.get("steps")
    if step is not None and steps is not None and int(step) != int(steps):
        warnings.warn(f"The run {str(source.folder)!r} has a checkpoint at step {int(step)} but its config.json "
                      f"was written at step {int(steps)} (the run was resumed and has not finished); "
                      f"loading the checkpoint's weights (step {int(step)}).", UserWarning, stacklevel=3)
    if role == "generator" and state.get(EMA_KEY) is not None:
        return state[EMA_KEY]
    return state[role]


def prior_config(name_or_path) -> dict:
    """The ``config.json`` of a prior: architecture, training recipe, command, quality, solver recipe.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        One of :func:`list_priors`, a training run folder or an exported prior folder (see
        :func:`load_prior`).

    Returns
    -------
    dict
        The parsed JSON: ``generator`` and ``discriminator`` (``{"arch", "kwargs"}``
        for :func:`ganprior.models.from_config`), ``latent_shape``, ``image_shape``,
        ``output_range``, the training hyperparameters and the command; a bundled prior also has
        ``quality`` (its measured representation error) and ``recipe`` (see :func:`recipe_for`).

    Raises
    ------
    ValueError
        If ``name_or_path`` is a plain name that is neither a bundled prior nor an existing folder
        (the message lists the bundled priors).
    FileNotFoundError
        If the path does not exist or does not hold the files of a prior (the message says which).
    """
    return _resolve(name_or_path, "prior_config").config()


def load_prior(name_or_path, *, device=None) -> Generator:
    """Load a pretrained generator as a :class:`~ganprior.Generator` on images in [0, 1].

    Parameters
    ----------
    name_or_path : str or os.PathLike
        One of :func:`list_priors` (e.g. ``"mnist"``), or the path of

        - a training run folder written by ``ganprior train --out RUN``: the architecture is read
          from ``RUN/config.json`` and the weights from ``RUN/checkpoint.pt`` (the trainer's latest
          state), preferring the checkpoint's ``"generator_ema"`` entry (exponential moving
          average of the generator's weights) when the run keeps one;
        - an exported prior folder: ``config.json`` and ``generator.pt`` (a bundled prior's folder,
          or one written by ``benchmarks/build_prior.py``).

        A bundled name is looked up first; to load a folder named like a bundled prior, pass a
        :class:`pathlib.Path` or a path with a separator (``"./mnist"``).
    device : torch.device or str, optional
        Where to put the weights (default CPU).

    Returns
    -------
    Generator
        In eval mode.  Its ``name`` is the bundled name (or the config's ``name``, or the folder's
        name), and its ``recipe`` is the validated solver recipe of ``config.json`` (a dict), or
        None when the prior has none (e.g. a fresh training run); see :func:`recipe_for`.

    Raises
    ------
    ValueError
        If ``name_or_path`` is a plain name that is neither a bundled prior nor an existing folder
        (the message lists the bundled priors).
    FileNotFoundError
        If the path does not exist or does not hold the files of a prior (the message says which
        files were expected).

    Warns
    -----
    UserWarning
        If a run folder's checkpoint is at another step than its ``config.json`` (a resumed run
        that has not finished); the checkpoint's weights are loaded.

    Examples
    --------
    >>> import ganprior
    >>> G = ganprior.load_prior("mnist")
    >>> G.image_shape
    (1, 28, 28)
    >>> G.recipe["recover"]["steps"]
    300
    """
    from ..models import from_config

    source = _resolve(name_or_path, "load_prior")
    config = source.config()
    module = from_config(config["generator"], role="generator")
    module.load_state_dict(_weights(source, "generator", config))
    name = source.name if source.kind == "bundled" else config.get("name") or source.name
    G = Generator(module, tuple(config["latent_shape"]), image_shape=tuple(config["image_shape"]),
                  output_range=tuple(config.get("output_range", (-1.0, 1.0))), name=name)
    G.recipe = config.get("recipe")
    return G.to(device) if device is not None else G


def load_discriminator(name_or_path, *, device=None) -> Discriminator:
    """Load the discriminator trained with a prior, as a :class:`~ganprior.Discriminator`.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        One of :func:`list_priors`, a training run folder (the checkpoint's ``"discriminator"``
        weights) or an exported prior folder holding ``discriminator.pt`` (see :func:`load_prior`).
    device : torch.device or str, optional
        Where to put the weights (default CPU).

    Returns
    -------
    Discriminator
        Takes images in [0, 1] and returns logits.

    Raises
    ------
    ValueError
        If ``name_or_path`` is a plain name that is neither a bundled prior nor an existing folder.
    FileNotFoundError
        If the path does not hold the files of a prior, or an exported folder has no
        ``discriminator.pt``.
    """
    from ..models import from_config

    source = _resolve(name_or_path, "load_discriminator")
    config = source.config()
    if config.get("discriminator") is None:
        raise ValueError(f"The prior {str(name_or_path)!r} records no discriminator architecture in config.json.")
    module = from_config(config["discriminator"], role="discriminator")
    module.load_state_dict(_weights(source, "discriminator", config))
    D = Discriminator(module, input_range=tuple(config.get("output_range", (-1.0, 1.0))))
    return D.to(device) if device is not None else D


# ---------------------------------------------------------------------- solver recipes
def _bad(msg: str):
    raise ValueError(f"Invalid solver recipe: {msg}")


def _check_lam_table(lam, where: str) -> list[dict] | float:
    """Validate a recipe's ``lam``: a number >= 0 or a list of ``{"m_max", "lam"}`` ranges."""
    if isinstance(lam, (int, float)) and not isinstance(lam, bool):
        if not (math.isfinite(lam) and lam >= 0):
            _bad(f"{where}.lam must be a finite number >= 0. Got {lam!r}.")
        return float(lam)
    if not isinstance(lam, list) or not lam:
        _bad(f"{where}.lam must be a number or a non-empty list of {{'m_max', 'lam'}} ranges. Got {describe(lam)}.")
    last = 0
    for i, row in enumerate(lam):
        if not isinstance(row, dict) or set(row) - {"m_max", "lam"} or "lam" not in row or "m_max" not in row:
            _bad(f"{where}.lam[{i}] must be a dict with the keys 'm_max' and 'lam'. Got {row!r}.")
        value, m_max = row["lam"], row["m_max"]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not (math.isfinite(value) and value >= 0):
            _bad(f"{where}.lam[{i}].lam must be a finite number >= 0. Got {value!r}.")
        if m_max is None:
            if i != len(lam) - 1:
                _bad(f"{where}.lam[{i}] has m_max None (no upper bound) but is not the last range.")
        elif not isinstance(m_max, int) or isinstance(m_max, bool) or m_max <= last:
            _bad(f"{where}.lam ranges need integer m_max values in increasing order. Got {m_max!r} after {last}.")
        else:
            last = m_max
    if lam[-1]["m_max"] is not None:
        _bad(f"{where}.lam's last range must have m_max None (no upper bound), so that every m has a lam.")
    return lam


def _check_recipe(recipe) -> dict:
    """Validate a solver recipe (the ``"recipe"`` entry of a prior's config.json); return it.

    Raises ValueError naming the first bad entry.  Used by ``benchmarks/build_prior.py`` before a
    recipe is written into a prior.
    """
    if not isinstance(recipe, dict):
        _bad(f"it must be a dict with the tasks {list(TASKS)} as keys. Got {describe(recipe)}.")
    unknown = set(recipe) - set(TASKS)
    if unknown:
        _bad(f"unknown task(s) {sorted(unknown)}; the tasks are {list(TASKS)}.")
    for task, entry in recipe.items():
        if not isinstance(entry, dict):
            _bad(f"{task} must be a dict. Got {describe(entry)}.")
        for key in ("restarts", "steps"):
            if key in entry and (not isinstance(entry[key], int) or isinstance(entry[key], bool) or entry[key] < 1):
                _bad(f"{task}.{key} must be an integer >= 1. Got {entry[key]!r}.")
        if "lr" in entry and (not isinstance(entry["lr"], (int, float)) or not entry["lr"] > 0):
            _bad(f"{task}.lr must be a number > 0. Got {entry['lr']!r}.")
        for key, options in (("schedule", ("constant", "cosine")), ("precision", ("fp32", "bf16")),
                             ("optimizer", ("adam", "sgd"))):
            if key in entry and entry[key] not in options:
                _bad(f"{task}.{key} must be one of {list(options)}. Got {entry[key]!r}.")
        if "lam" in entry:
            _check_lam_table(entry["lam"], task)
        pw = entry.get("perceptual_weight", 0.0)
        if not isinstance(pw, (int, float)) or isinstance(pw, bool) or not pw >= 0:
            _bad(f"{task}.perceptual_weight must be a number >= 0. Got {pw!r}.")
        if "source" in entry and not isinstance(entry["source"], str):
            _bad(f"{task}.source must be a string (where the numbers come from).")
        if "validated" in entry and not isinstance(entry["validated"], bool):
            _bad(f"{task}.validated must be true or false (whether the numbers were validated with this prior).")
    return recipe


def _lam_at(lam, m: int | None, task: str) -> float:
    """Resolve a recipe's ``lam`` (a number or a table of ranges) at ``m`` measurements."""
    if not isinstance(lam, list):
        return float(lam)
    if m is None:
        values = {float(row["lam"]) for row in lam}
        if len(values) == 1:
            return values.pop()
        raise ValueError(f"The {task} recipe's lam depends on the number of measurements m "
                         f"({_lam_text(lam)}); pass m to recipe_for.")
    for row in lam:
        if row["m_max"] is None or m <= row["m_max"]:
            return float(row["lam"])
    raise AssertionError("unreachable: a validated table ends with m_max None")


def recipe_for(G, task: str, m: int | None = None) -> dict | None:
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
    if isinstance(G, (str, os.PathLike)):
        recipe = prior_config(G).get("recipe")
    elif isinstance(G, Generator):  # one made by hand has no recipe
        recipe = getattr(G, "recipe", None)
    elif hasattr(G, "recipe"):
        recipe = G.recipe
    else:
        raise TypeError("The 'G' parameter of recipe_for must be a Generator from load_prior (or an object with a "
                        f"'recipe' attribute), a bundled prior's name or a prior folder. Got {describe(G)} instead.")
    if recipe is None:
        return None
    _check_recipe(recipe)
    entry = recipe.get(task)
    if entry is None:
        return None
    out = {k: entry[k] for k in _RECIPE_KWARGS[task] if k in entry and k != "lam"}
    if "lam" in entry:
        out["lam"] = _lam_at(entry["lam"], m, task)
    return out


# ---------------------------------------------------------------------- one-line summaries
def _num(x) -> str:
    return f"{x:g}"


def _lam_text(lam, prefix: bool = True) -> str:
    """``lam 3 (m <= 15), 0.1 (m > 15)`` -- a recipe's lam (a number or a table of ranges) in brief."""
    head = "lam " if prefix else ""
    if not isinstance(lam, list):
        return head + _num(lam)
    if len(lam) == 1:
        return head + _num(lam[0]["lam"])
    parts, lo = [], 0
    for row in lam:
        if row["m_max"] is None:
            parts.append(f"{_num(row['lam'])} (m > {lo})")
        else:
            parts.append(f"{_num(row['lam'])} (m <= {row['m_max']})" if lo == 0
                         else f"{_num(row['lam'])} ({lo} < m <= {row['m_max']})")
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
        text += ", " + _lam_text(entry["lam"])
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
