"""Orthonormal sparsifying bases for the sparse baselines: a re-export.

Their home is :mod:`ganprior.operators.bases`, beside the operators that apply them; this path stays importable
for existing code.
"""

from .operators.bases import BASES, DCT2, BasisOperator, Identity, Wavelet, get_basis, orthogonal_wavelets

__all__ = ["Identity", "DCT2", "Wavelet", "BasisOperator", "get_basis", "BASES", "orthogonal_wavelets"]
