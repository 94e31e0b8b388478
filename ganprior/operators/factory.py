"""Operators by name: the seeded operator every process of a dataset job (:mod:`ganprior.jobs`) builds alike."""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_int
from .dct import SubsampledDCT
from .image import Identity
from .matrix import Gaussian, NonNegative

__all__ = ["OPERATORS", "NONNEGATIVE_OPERATORS", "measurement_operator"]

#: The operators :func:`measurement_operator` builds by name.
OPERATORS = ("gaussian", "subsampled-dct", "nonnegative", "identity")

#: Those whose entries are all :math:`\ge 0` (photon counts, :class:`ganprior.likelihoods.Poisson`, need them).
NONNEGATIVE_OPERATORS = ("nonnegative", "identity")


def measurement_operator(name, m, image_shape, seed=0):
    """The seeded operator every process builds alike: Gaussian :math:`\\mathcal{N}(0, 1/m)`, subsampled DCT,
    non-negative averages of random pixel subsets, or the identity.

    Parameters
    ----------
    name : {"gaussian", "subsampled-dct", "nonnegative", "identity"}
        The operator (:class:`Gaussian`, :class:`SubsampledDCT`, :class:`NonNegative` with its default density
        0.5, :class:`Identity`: every pixel measured, ``m`` must be the number of pixels).
    m : int
        Measurements per image.
    image_shape : tuple of int
        Shape of one image.
    seed : int
        Seed of the operator (not used by the identity).

    Returns
    -------
    ganprior.operators.LinearOperator
        The operator, ``m`` rows, on ``image_shape``.

    Raises
    ------
    ValueError
        For an unknown name, or ``"identity"`` with ``m`` other than the number of pixels.
    """
    check_choice(name, "operator", OPERATORS, owner="measurement_operator")
    m = check_int(m, "m", minimum=1, owner="measurement_operator")
    if name == "identity":
        n = int(np.prod(image_shape))
        if m != n:
            raise ValueError(f"The 'm' parameter of measurement_operator must be the number of pixels ({n} for "
                             f"images {tuple(image_shape)}) with operator='identity'. Got {m} instead.")
        return Identity(image_shape)
    cls = {"gaussian": Gaussian, "subsampled-dct": SubsampledDCT, "nonnegative": NonNegative}[name]
    return cls(m, in_shape=image_shape, seed=seed)
