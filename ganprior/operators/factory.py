"""Operators by name: the seeded operator every process of a dataset job (:mod:`ganprior.jobs`) builds alike."""

from __future__ import annotations

from .._validation import check_choice, check_int
from .dct import SubsampledDCT
from .matrix import Gaussian

__all__ = ["OPERATORS", "measurement_operator"]

#: The operators :func:`measurement_operator` builds by name.
OPERATORS = ("gaussian", "subsampled-dct")


def measurement_operator(name, m, image_shape, seed=0):
    """The seeded operator every process builds alike: Gaussian :math:`\\mathcal{N}(0, 1/m)` or subsampled DCT.

    Parameters
    ----------
    name : {"gaussian", "subsampled-dct"}
        The operator.
    m : int
        Measurements per image.
    image_shape : tuple of int
        Shape of one image.
    seed : int
        Seed of the operator.

    Returns
    -------
    ganprior.operators.LinearOperator
        :class:`Gaussian` or :class:`SubsampledDCT`, ``m`` rows, on ``image_shape``.
    """
    check_choice(name, "operator", OPERATORS, owner="measurement_operator")
    cls = Gaussian if name == "gaussian" else SubsampledDCT
    return cls(check_int(m, "m", minimum=1, owner="measurement_operator"), in_shape=image_shape, seed=seed)
