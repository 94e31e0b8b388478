"""The results suite: the committed results (benchmarks/results/**, the bundled priors' cards and recipes) agree with
what the code computes and with each other.  CI runs it with the unit tests (``python -m pytest`` collects both);
``python -m pytest tests/results`` runs it alone, ``python -m pytest --ignore=tests/results`` the unit tests."""
