r"""Solvers: the method registry, ``recover``, the latent engine and the objectives on it.

- :mod:`ganprior.solvers.latent` -- the one batched latent engine (the loop, chunking, the result);
- :mod:`ganprior.solvers.objective` -- what a latent method is: per-row state, render, score, project;
- :mod:`ganprior.solvers.updates` -- the engine's update rules and reducers;
- :mod:`ganprior.solvers.selection` -- choosing a value or the method from the measurements alone, on the
  held-out rows of :mod:`ganprior.solvers.holdout`;
- :mod:`ganprior.solvers.registry` -- method name -> objective factory, hyperparameters, doc line;
- :mod:`ganprior.solvers.recovery` -- :func:`recover`, which dispatches through the registry;
- :mod:`ganprior.solvers.settings` -- where a solve's settings come from (caller, method, preset or recipe, defaults);
- :mod:`ganprior.solvers.csgm`, :mod:`ganprior.solvers.sparse_gen`, :mod:`ganprior.solvers.ilo`,
  :mod:`ganprior.solvers.tv` -- objectives (inpainting's is in :mod:`ganprior.inpainting`);
- :mod:`ganprior.solvers.dgp` -- the generator adapted to each problem (per-row weights,
  :mod:`ganprior.solvers.rowweights`; early stop, :mod:`ganprior.solvers.stopping`);
- :mod:`ganprior.solvers.lasso` -- the sparse baselines (registered as methods too); :mod:`ganprior.solvers.untrained`
  -- the untrained priors (Deep Decoder, Deep Image Prior), also without a generator;
- :mod:`ganprior.solvers.nonlinear` -- the classical baselines of the non-Gaussian measurement models
  (amplitude flow, BIHT, Poisson-TV; registered too).

Importing this package registers every bundled method.
"""

from . import csgm, dgp, ilo, lasso, nonlinear, posterior, sparse_gen, tv, untrained  # noqa: F401  (importing registers the methods)
from .csgm import CSGMObjective
from .latent import Best, LatentResult, Samples, UpdateRule, optimize_latents
from .objective import LatentObjective
from .posterior import PosteriorResult, sample_posterior
from .recovery import RecoveryResult, recover
from .registry import Method, get_method, method_names, methods_table, register_method
from .settings import ENGINE_DEFAULTS, PRESETS

__all__ = ["recover", "sample_posterior", "PosteriorResult", "RecoveryResult", "ENGINE_DEFAULTS", "PRESETS",
           "LatentObjective", "LatentResult", "optimize_latents", "UpdateRule", "Best", "Samples", "CSGMObjective",
           "Method", "register_method", "get_method", "method_names", "methods_table"]
