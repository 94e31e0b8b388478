"""Poisson and alpha blending, and the harmonic-fill baseline: a re-export.

Their home is :mod:`ganprior.inpainting` (module :mod:`ganprior.inpainting.blending`); this path stays importable
for existing code.
"""

from .inpainting.blending import BLEND_METHODS, alpha_blend, blend, harmonic_fill, poisson_blend

__all__ = ["BLEND_METHODS", "alpha_blend", "blend", "harmonic_fill", "poisson_blend"]
