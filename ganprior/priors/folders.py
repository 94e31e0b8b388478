"""Finding a prior: the bundled ones, training run folders and exported prior folders, and their ``config.json``.

:func:`list_priors` names the bundled priors, :func:`locate_prior` finds the folder a name or path means (and what
kind of prior it holds) and :func:`prior_config` reads its ``config.json``.  The loaders
(:func:`~ganprior.priors.load_prior`, :func:`~ganprior.priors.load_discriminator`) and the recipes
(:mod:`ganprior.priors.recipes`) build on it; :mod:`ganprior.priors` re-exports its names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .._validation import check_choice, describe
from ..training._io import CHECKPOINT

__all__ = ["PRIOR_DIR", "PriorSource", "list_priors", "is_vae", "locate_prior", "prior_config"]

PRIOR_DIR = Path(__file__).resolve().parent


def list_priors() -> list[str]:
    """Names of the bundled priors, sorted.

    Returns
    -------
    list of str
        Each name can be given to :func:`~ganprior.priors.load_prior` and
        :func:`~ganprior.priors.load_discriminator`.
    """
    return sorted(p.name for p in PRIOR_DIR.iterdir() if (p / "config.json").is_file() and (p / "generator.pt").is_file())


class PriorSource:
    """Where a prior comes from: what :func:`locate_prior` finds.

    Parameters
    ----------
    kind : {"bundled", "run", "exported"}
        A bundled prior, a training run folder or an exported prior folder.
    folder : pathlib.Path
        The folder holding its files.
    name : str
        The prior's name (a bundled name, or the folder's name).
    """

    def __init__(self, kind: str, folder: Path, name: str):
        self.kind, self.folder, self.name = kind, folder, name

    @property
    def config_path(self) -> Path:
        """The prior's ``config.json`` (a :class:`pathlib.Path`)."""
        return self.folder / "config.json"

    def config(self) -> dict:
        """The prior's ``config.json``, parsed.

        Returns
        -------
        dict
            The JSON object.

        Raises
        ------
        ValueError
            If the file is not valid JSON or does not hold a JSON object (the message names the file).
        """
        path = self.config_path
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
            where = f"line {e.lineno}, column {e.colno}: {e.msg}" if isinstance(e, json.JSONDecodeError) else str(e)
            raise ValueError(f"The prior's config.json {str(path)!r} is not valid JSON ({where}).") from None
        if not isinstance(config, dict):
            raise ValueError(f"The prior's config.json {str(path)!r} must hold a JSON object (architecture, shapes, "
                             f"recipe). Got {describe(config)} instead.")
        return config

    def require(self, config: dict, keys) -> None:
        """Raise ValueError naming config.json and the first of ``keys`` it lacks.

        Parameters
        ----------
        config : dict
            The parsed ``config.json`` (:meth:`config`).
        keys : iterable of str
            The entries it must have.

        Raises
        ------
        ValueError
            Naming the file and the first missing entry.
        """
        for key in keys:
            if key not in config:
                raise ValueError(f"The prior's config.json {str(self.config_path)!r} has no {key!r} entry; a prior's "
                                 f"config.json records {list(keys)} (as `ganprior train` writes it).")


def is_vae(config) -> bool:
    """Whether a prior's ``config.json`` is a VAE's (``ganprior train-vae``: the decoder is the prior).

    Parameters
    ----------
    config : dict
        The parsed ``config.json`` (anything else is not a VAE's).

    Returns
    -------
    bool
        True when its ``"format"`` is a VAE's (``"ganprior-vae/..."``).
    """
    return isinstance(config, dict) and str(config.get("format", "")).startswith("ganprior-vae")


def locate_prior(name_or_path, owner: str) -> PriorSource:
    """Find the prior ``name_or_path`` names: a bundled name first, then a folder on disk.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        One of :func:`list_priors`, a training run folder or an exported prior folder.
    owner : str
        The calling function's name, for the messages.

    Returns
    -------
    PriorSource
        Its kind, folder and name.

    Raises
    ------
    TypeError
        If ``name_or_path`` is neither a str nor a path.
    ValueError
        If it is a plain name that is neither a bundled prior nor an existing folder (the message lists the
        bundled priors).
    FileNotFoundError
        If the path does not exist or does not hold the files of a prior (the message says which).
    """
    if isinstance(name_or_path, str) and name_or_path in list_priors():
        return PriorSource("bundled", PRIOR_DIR / name_or_path, name_or_path)
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
    try:  # an unreadable config.json is reported where the prior is loaded
        vae = has["config.json"] and is_vae(json.loads((folder / "config.json").read_text()))
    except (OSError, ValueError):
        vae = False
    if vae and has["generator.pt"]:
        return PriorSource("exported", folder, name)  # a VAE run exports its decoder; its checkpoint is for resuming
    if has["config.json"] and has[CHECKPOINT]:
        return PriorSource("run", folder, name)
    if has["config.json"] and has["generator.pt"]:
        return PriorSource("exported", folder, name)
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


def prior_config(name_or_path) -> dict:
    """The ``config.json`` of a prior: architecture, training recipe, command, quality, solver recipe.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        One of :func:`list_priors`, a training run folder or an exported prior folder (see
        :func:`~ganprior.priors.load_prior`).

    Returns
    -------
    dict
        The parsed JSON: ``generator`` and ``discriminator`` (``{"arch", "kwargs"}``
        for :func:`ganprior.models.from_config`), ``latent_shape``, ``image_shape``,
        ``output_range``, ``latent`` (the latent law, :mod:`ganprior.latent`; absent in folders written
        before it was recorded, which mean ``"normal"``), the training hyperparameters and the command; a
        bundled prior also has
        ``quality`` (its measured representation error) and ``recipe`` (see :func:`~ganprior.priors.recipe_for`).

    Raises
    ------
    ValueError
        If ``name_or_path`` is a plain name that is neither a bundled prior nor an existing folder
        (the message lists the bundled priors).
    FileNotFoundError
        If the path does not exist or does not hold the files of a prior (the message says which).
    """
    return locate_prior(name_or_path, "prior_config").config()
