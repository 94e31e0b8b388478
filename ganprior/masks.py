"""Known-pixel masks for inpainting (1 = known, 0 = missing): a re-export.

Their home is :mod:`ganprior.inpainting` (module :mod:`ganprior.inpainting.masks`); this path stays importable
for existing code.
"""

from .inpainting.masks import (
    HALF_SIDES,
    MASK_TYPES,
    center_mask,
    half_mask,
    make_mask,
    pattern_mask,
    random_mask,
    weighted_mask,
)

__all__ = ["HALF_SIDES", "MASK_TYPES", "center_mask", "half_mask", "make_mask", "pattern_mask", "random_mask",
           "weighted_mask"]
