"""The error-vs-m study as a library: reconstruction error against the number of measurements, with every
hyperparameter chosen on validation images, resumable runs and a report of what a prior saves over the Lasso.

- :mod:`~ganprior.benchmark.protocol`: :class:`Protocol`, a dataset's settings (:data:`PROTOCOLS`: MNIST,
  Fashion-MNIST, CelebA-64), and the problems (:func:`measure`);
- :mod:`~ganprior.benchmark.search`: the grid widened past an open edge (:func:`widen_search`), the
  one-standard-error rule over paired differences (:func:`one_se_choice`), a method's whole search (:func:`choose`);
- :mod:`~ganprior.benchmark.store`: the results folder (atomic writes, resume, stale rows, merge, fingerprints);
- :mod:`~ganprior.benchmark.report`: the summary with 95% CIs, the plots, the savings over the best Lasso;
- :mod:`~ganprior.benchmark.grid`: the whole study (:func:`run_grid`).

``ganprior benchmark --prior NAME|FOLDER --images DIR --m 25 50 100`` runs it on one's own prior and images;
``benchmarks/error_vs_measurements.py`` runs the committed grids.
"""

from .grid import attach_priors, run_grid
from .protocol import PROTOCOLS, Protocol, default_data_root, measure, preset, validation_images
from .report import m_needed, prior_savings, savings, summarise, validation_report, write_report
from .search import choose, one_se_choice, paired_difference, solve_rows, verify_rows, widen_search
from .store import append_rows, is_current, load_selection, merge_runs, read_rows, weights_sha256

__all__ = ["Protocol", "PROTOCOLS", "preset", "measure", "validation_images", "default_data_root",
           "widen_search", "one_se_choice", "paired_difference", "choose", "solve_rows", "verify_rows",
           "load_selection", "read_rows", "append_rows", "is_current", "merge_runs", "weights_sha256",
           "summarise", "m_needed", "savings", "prior_savings", "write_report", "validation_report",
           "attach_priors", "run_grid"]
