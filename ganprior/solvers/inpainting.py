"""Semantic inpainting's objective and :func:`~ganprior.inpainting.inpaint`: a re-export.

Their home is :mod:`ganprior.inpainting` (module :mod:`ganprior.inpainting.objective`); this path stays
importable for existing code.
"""

from ..inpainting.masks import weighted_mask
from ..inpainting.objective import (
    INPAINT_DEFAULTS,
    INPAINT_OPTIONS,
    PERCEPTUAL,
    InpaintingObjective,
    InpaintResult,
    inpaint,
)

__all__ = ["PERCEPTUAL", "INPAINT_DEFAULTS", "INPAINT_OPTIONS", "InpaintResult", "InpaintingObjective", "inpaint",
           "weighted_mask"]
