"""Semantic inpainting: the objective and :func:`inpaint`, the masks and the blending, in one place.

- :mod:`ganprior.inpainting.objective` -- :class:`InpaintingObjective` (contextual plus perceptual loss, Yeh et
  al. 2017) on the latent engine, and :func:`inpaint` (``ganprior.inpaint``), which runs it and blends the result;
- :mod:`ganprior.inpainting.masks` -- the four mask types (:func:`make_mask` and one function each) and the
  contextual-loss weights (:func:`weighted_mask`);
- :mod:`ganprior.inpainting.blending` -- Poisson and alpha blending (:func:`blend`) and the harmonic-fill baseline.
- :mod:`ganprior.inpainting.options` -- the names and choices of inpainting's own arguments, which the solver
  settings and the priors' recipes share without importing :func:`inpaint`.

The older paths ``ganprior.masks``, ``ganprior.blending`` and ``ganprior.solvers.inpainting`` re-export these names.
"""

from .blending import BLEND_METHODS, alpha_blend, blend, harmonic_fill, poisson_blend
from .masks import HALF_SIDES, MASK_TYPES, center_mask, half_mask, make_mask, pattern_mask, random_mask, weighted_mask
from .objective import INPAINT_DEFAULTS, INPAINT_OPTIONS, PERCEPTUAL, InpaintingObjective, InpaintResult, inpaint

__all__ = [
    "inpaint", "InpaintResult", "InpaintingObjective", "PERCEPTUAL", "INPAINT_DEFAULTS", "INPAINT_OPTIONS",
    "make_mask", "center_mask", "random_mask", "half_mask", "pattern_mask", "weighted_mask", "MASK_TYPES", "HALF_SIDES",
    "blend", "poisson_blend", "alpha_blend", "harmonic_fill", "BLEND_METHODS",
]
