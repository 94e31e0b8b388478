"""Tests of ganprior.solvers: the engine, every registered method, selection, the registry, the posterior, the
likelihoods and the baselines."""
