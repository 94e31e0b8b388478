"""Recovering whole datasets: a re-export of names whose homes are elsewhere.

- :func:`~ganprior.jobs.recover_dataset`, :func:`~ganprior.jobs.merge_dataset` -- the sharded job runner,
  :mod:`ganprior.jobs`;
- :func:`~ganprior.data.load_images` -- the image loader, :mod:`ganprior.data`;
- :func:`~ganprior.operators.measurement_operator`, :data:`~ganprior.operators.OPERATORS` -- the operator
  factory, :mod:`ganprior.operators`.

This path stays importable for existing code; the package itself imports from the homes.
"""

from .data import load_images
from .jobs import merge_dataset, recover_dataset
from .operators.factory import OPERATORS, measurement_operator

__all__ = ["OPERATORS", "load_images", "measurement_operator", "recover_dataset", "merge_dataset"]
