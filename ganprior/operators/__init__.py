r"""Linear measurement operators, torch-native.

Every operator is an :class:`torch.nn.Module` mapping a batch of images of
shape ``(*batch, *in_shape)`` to measurements of shape ``(*batch, m)``.  Its
tensors are buffers, so ``.to(device)`` and ``state_dict`` work.  Public
:meth:`LinearOperator.forward` / :meth:`LinearOperator.adjoint` check shapes
and call the private ``_forward`` / ``_adjoint`` on flat ``(B, n)`` /
``(B, m)`` tensors, which is all a new operator has to implement.

Operators compose with ``@`` (``(A @ B)(x) == A(B(x))``), scale with ``*``
and give their adjoint as ``A.H``.  :func:`dottest` checks
:math:`\langle A x, y\rangle = \langle x, A^H y\rangle`.
"""

from .base import Adjoint, Composed, LinearOperator, Rows, Scaled
from .dct import SubsampledDCT, dct, idct
from .dottest import dottest
from .factory import OPERATORS, measurement_operator
from .image import Downsample, Identity, Mask
from .matrix import ComplexGaussian, Gaussian, Matrix, NonNegative, as_operator
from .transforms import DCT2, Wavelet

__all__ = [
    "LinearOperator",
    "Matrix",
    "Gaussian",
    "ComplexGaussian",
    "NonNegative",
    "Identity",
    "Mask",
    "Downsample",
    "SubsampledDCT",
    "DCT2",
    "Wavelet",
    "Composed",
    "Scaled",
    "Adjoint",
    "Rows",
    "as_operator",
    "dct",
    "idct",
    "dottest",
    "measurement_operator",
    "OPERATORS",
]
