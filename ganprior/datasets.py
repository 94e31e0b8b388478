"""Recovering whole datasets: a re-export of names whose homes are elsewhere.

- :func:`~ganprior.jobs.recover_dataset`, :func:`~ganprior.jobs.merge_dataset` -- the sharded job runner,
  :mod:`ganprior.jobs`;
- :func:`~ganprior.data.load_images` -- the image loader, :mod:`ganprior.data`;
- :func:`~ganprior.operators.measurement_operator`, :data:`~ganprior.operators.OPERATORS` -- the operator
  factory, :mod:`ganprior.operators`.

This path stays importable for existing code (and for ``ganprior recover --images``, which imports from it).
"""

from .data import load_images
from .jobs import OtherSettingsError, image_noise, merge_dataset, recover_dataset
from .operators.factory import OPERATORS, measurement_operator
from .plotting import save_figure  # noqa: F401 (imported from here by older code)

_OtherSettings = OtherSettingsError  # the name ganprior/cli/recover.py imports
_noise = image_noise  # the name benchmarks/scale.py imports

__all__ = ["OPERATORS", "load_images", "measurement_operator", "recover_dataset", "merge_dataset"]
