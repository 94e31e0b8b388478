"""Fixtures of the benchmark's tests."""

import types

import pytest
from conftest import load_benchmark

from ganprior.benchmark import grid, protocol, report, store
from ganprior.benchmark import search as searching


@pytest.fixture(scope="module")
def bench():
    """The script's ``main`` and the names of :mod:`ganprior.benchmark`'s modules in one namespace, as the tests read
    them; a patch goes to the module whose code uses the name (``searching.run_method``, ``grid.append_rows``, a field
    of ``protocol.PROTOCOLS["mnist"]``)."""
    names = {}
    for module in (protocol, store, searching, report, grid):
        names.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    return types.SimpleNamespace(**{**names, "main": load_benchmark("error_vs_measurements").main})
