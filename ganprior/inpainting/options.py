"""Inpainting's own arguments (besides the engine settings): their names, their choices and the window check.

What :func:`~ganprior.inpainting.inpaint`, :class:`~ganprior.inpainting.InpaintingObjective`,
:func:`~ganprior.inpainting.blend`, the solver settings (:func:`ganprior.solvers.settings.recipe_keys`) and the
priors' recipes (:func:`ganprior.priors.check_recipe`) share.  It imports nothing of the package but the argument
checks, so the settings and the priors below the inpainting front-end (which loads priors by name) use it without
importing that front-end.  The objective, the masks and the blending re-export these names.
"""

from __future__ import annotations

from .._validation import check_int

__all__ = ["OPTION_NAMES", "PERCEPTUAL", "BLEND_METHODS", "check_window"]

#: Inpainting's own arguments, in order: what a prior's ``inpaint`` recipe may set besides the engine settings
#: (their defaults are :data:`~ganprior.inpainting.INPAINT_OPTIONS`).
OPTION_NAMES = ("perceptual_weight", "window", "perceptual", "z_bound", "blend")

#: Perceptual losses, named as the trainer names its generator losses.
PERCEPTUAL = ("minimax", "non-saturating")

BLEND_METHODS = ("alpha", "none", "poisson")


def check_window(window, owner):
    """The contextual-loss window side, checked: an odd int >= 1.

    Parameters
    ----------
    window : int
        The window side.
    owner : str
        The function named in the error message.

    Returns
    -------
    int
        ``window``.

    Raises
    ------
    TypeError, ValueError
        If ``window`` is not an odd int >= 1.
    """
    window = check_int(window, "window", minimum=1, owner=owner)
    if window % 2 == 0:
        raise ValueError(f"The 'window' parameter of {owner} must be an odd int >= 1. Got {window} instead.")
    return window
