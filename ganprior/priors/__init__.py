"""Bundled pretrained priors: a registry of generator + discriminator weights trained with ganprior's trainer.

Each prior lives in its own folder ``ganprior/priors/<name>/`` holding ``generator.pt`` and
``discriminator.pt`` (``state_dict`` files, loaded with ``weights_only=True``), ``config.json`` (the
architecture, the training recipe and the exact command) and ``card.md`` (the model card: data, recipe,
wall time, loss curves, samples and the prior's representation error on held-out images).
"""

from __future__ import annotations

import json
from pathlib import Path

from .._validation import check_choice
from ..generator import Discriminator, Generator

__all__ = ["list_priors", "load_prior", "load_discriminator", "prior_config", "PRIOR_DIR"]

PRIOR_DIR = Path(__file__).resolve().parent


def list_priors() -> list[str]:
    """Names of the bundled priors, sorted.

    Returns
    -------
    list of str
        Each name can be given to :func:`load_prior` and :func:`load_discriminator`.
    """
    return sorted(p.name for p in PRIOR_DIR.iterdir() if (p / "config.json").is_file() and (p / "generator.pt").is_file())


def prior_config(name: str) -> dict:
    """The ``config.json`` of a bundled prior: architecture, training recipe, command, measured quality.

    Parameters
    ----------
    name : str
        One of :func:`list_priors`.

    Returns
    -------
    dict
        The parsed JSON: ``generator`` and ``discriminator`` (``{"arch", "kwargs"}``
        for :func:`ganprior.models.from_config`), ``latent_shape``, ``image_shape``,
        ``output_range``, the training hyperparameters and the command.

    Raises
    ------
    ValueError
        If ``name`` is not a bundled prior (the message lists them).
    """
    check_choice(name, "name", list_priors(), owner="load_prior")
    return json.loads((PRIOR_DIR / name / "config.json").read_text())


def load_prior(name: str, *, device=None) -> Generator:
    """Load a bundled pretrained generator as a :class:`~ganprior.Generator` on images in [0, 1].

    Parameters
    ----------
    name : str
        One of :func:`list_priors` (e.g. ``"mnist"``).
    device : torch.device or str, optional
        Where to put the weights (default CPU).

    Returns
    -------
    Generator
        In eval mode; its ``name`` is ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not a bundled prior (the message lists them).

    Examples
    --------
    >>> import ganprior
    >>> G = ganprior.load_prior("mnist")
    >>> G.image_shape
    (1, 28, 28)
    """
    from ..generator import _load_state_dict
    from ..models import from_config

    config = prior_config(name)
    module = from_config(config["generator"], role="generator")
    module.load_state_dict(_load_state_dict(PRIOR_DIR / name / "generator.pt", "generator.pt"))
    G = Generator(module, tuple(config["latent_shape"]), image_shape=tuple(config["image_shape"]),
                  output_range=tuple(config.get("output_range", (-1.0, 1.0))), name=name)
    return G.to(device) if device is not None else G


def load_discriminator(name: str, *, device=None) -> Discriminator:
    """Load the discriminator trained with a bundled prior, as a :class:`~ganprior.Discriminator`.

    Parameters
    ----------
    name : str
        One of :func:`list_priors`.
    device : torch.device or str, optional
        Where to put the weights (default CPU).

    Returns
    -------
    Discriminator
        Takes images in [0, 1] and returns logits.
    """
    from ..generator import _load_state_dict
    from ..models import from_config

    config = prior_config(name)
    module = from_config(config["discriminator"], role="discriminator")
    module.load_state_dict(_load_state_dict(PRIOR_DIR / name / "discriminator.pt", "discriminator.pt"))
    D = Discriminator(module, input_range=tuple(config.get("output_range", (-1.0, 1.0))))
    return D.to(device) if device is not None else D
