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
  ``tools/build_prior.py``; a finished VAE run (``ganprior train-vae --out RUN``, see
  :mod:`ganprior.training.vae`) is one too: its ``generator.pt`` is the decoder, and it has no
  discriminator.

The solver recipe is the ``"recipe"`` entry of ``config.json``, attached to a loaded generator as
``G.recipe`` and resolved for one task (and one number of measurements) by :func:`recipe_for`.
"""

from __future__ import annotations

import warnings

from .._validation import describe
from ..generator import Discriminator, Generator
from ..latent import as_latent_law
from ..training._io import CHECKPOINT, EMA_KEY
from .folders import PRIOR_DIR, PriorSource, is_vae, list_priors, locate_prior, prior_config
from .recipes import (  # noqa: F401
    TASKS, check_recipe, choose_by_name, describe_priors, lam_text, recipe_choice, recipe_for)

__all__ = ["list_priors", "load_prior", "load_discriminator", "prior_config", "recipe_for", "recipe_choice",
           "choose_by_name", "describe_priors", "PRIOR_DIR"]

def _load_checkpoint(source: PriorSource) -> dict:
    """The run's checkpoint, read and verified by the trainer's own :func:`~ganprior.training.load_checkpoint`."""
    from ..training.trainer import load_checkpoint

    path = source.folder / CHECKPOINT
    state = load_checkpoint(path)
    if not isinstance(state, dict) or "generator" not in state:
        raise ValueError(f"The file {str(path)!r} is not a ganprior trainer checkpoint (no 'generator' entry).")
    return state


def _exported_weights(source: PriorSource, name: str, config: dict) -> dict:
    """The ``state_dict`` in the exported file ``name``, verified against config.json's ``"weights_sha256"``.

    A folder whose config.json records no checksum (one exported by an earlier ganprior) loads unverified.
    """
    from ..training._io import read_torch_file, verify_digest

    path = source.folder / name
    if not path.is_file():
        raise FileNotFoundError(f"The '{name}' file {str(path)!r} does not exist.")
    state = read_torch_file(path, "weights file")
    if not isinstance(state, dict):
        raise ValueError(f"The file {str(path)!r} does not hold a state_dict (got {type(state).__name__}).")
    digests = config.get("weights_sha256")
    if digests is not None and not isinstance(digests, dict):
        raise ValueError(f"The 'weights_sha256' entry of {str(source.config_path)!r} must map weight files to "
                         f"checksums. Got {describe(digests)} instead.")
    expected = (digests or {}).get(name)
    if expected is not None:
        verify_digest(state, expected, f"The weights file {str(path)!r}",
                      f"the checksum recorded in {str(source.config_path)!r}",
                      "Restore the file (or the folder) or export the prior again.")
    return state


def _weights(source: PriorSource, role: str, config: dict) -> dict:
    """The ``state_dict`` of ``role`` ("generator" or "discriminator") for a prior."""
    if source.kind != "run":
        return _exported_weights(source, f"{role}.pt", config)
    state = _load_checkpoint(source)
    step, steps = state.get("step"), config.get("steps")
    if step is not None and steps is not None and int(step) != int(steps):
        warnings.warn(f"The run {str(source.folder)!r} has a checkpoint at step {int(step)} but its config.json "
                      f"was written at step {int(steps)} (the run was resumed and has not finished); "
                      f"loading the checkpoint's weights (step {int(step)}).", UserWarning, stacklevel=3)
    if role == "generator" and state.get(EMA_KEY) is not None:
        return state[EMA_KEY]
    return state[role]


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
          one written by ``tools/build_prior.py``, or a finished ``ganprior train-vae`` run).

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
        (the message lists the bundled priors); if ``config.json`` is not a JSON object or lacks an
        entry, a weight file is truncated or does not match the checksum its ``config.json`` records
        (``"weights_sha256"``, written by every export), or the solver recipe has an unknown key or a
        value the solvers would refuse (the message names the file and the key).
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

    source = locate_prior(name_or_path, "load_prior")
    config = source.config()
    source.require(config, ("generator", "latent_shape", "image_shape"))
    module = from_config(config["generator"], role="generator")
    module.load_state_dict(_weights(source, "generator", config))
    name = source.name if source.kind == "bundled" else config.get("name") or source.name
    # the latent law the generator was trained with ("latent" in config.json; a folder without one: normal)
    latent = as_latent_law(config.get("latent"), name="latent", owner=f"the config {str(source.config_path)!r}")
    G = Generator(module, tuple(config["latent_shape"]), image_shape=tuple(config["image_shape"]),
                  output_range=tuple(config.get("output_range", (-1.0, 1.0))), name=name, latent=latent)
    recipe = config.get("recipe")
    G.recipe = None if recipe is None else check_recipe(recipe, source=source.config_path, G=G)
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
        If ``name_or_path`` is a plain name that is neither a bundled prior nor an existing folder, or
        the prior has no discriminator (a VAE's decoder, ``ganprior train-vae``).
    FileNotFoundError
        If the path does not hold the files of a prior, or an exported folder has no
        ``discriminator.pt``.
    """
    from ..models import from_config

    source = locate_prior(name_or_path, "load_discriminator")
    config = source.config()
    if config.get("discriminator") is None:
        what = " (a VAE's decoder: it was trained without one)" if is_vae(config) else ""
        raise ValueError(f"The prior {str(name_or_path)!r} has no discriminator{what}: its config.json records none. "
                         "Inpainting's perceptual term needs one; inpaint with perceptual_weight=0 (or "
                         "--no-discriminator), or with a GAN prior.")
    module = from_config(config["discriminator"], role="discriminator")
    module.load_state_dict(_weights(source, "discriminator", config))
    D = Discriminator(module, input_range=tuple(config.get("output_range", (-1.0, 1.0))))
    return D.to(device) if device is not None else D
