"""The benchmark's hyperparameter search widens a grid past an open edge (issue 17).  That the committed searches
use today's grids is checked by the results suite (tests/results/test_committed_searches.py)."""

import math

import pytest


def counted(curve):
    """evaluate(value) -> curve(value), remembering every value asked for."""
    calls = []

    def evaluate(v):
        calls.append(v)
        return curve(v)

    return evaluate, calls


def log_bowl(optimum):
    return lambda v: (math.log10(v) - math.log10(optimum)) ** 2 if v > 0 else 1e9


def test_optimum_inside_the_grid_needs_no_widening(bench):
    evaluate, calls = counted(log_bowl(1.0))
    res = bench.widen_search(evaluate, [0.1, 1.0, 3.0], **bench.SEARCH["lam"])
    assert res["best"] == 1.0 and res["status"] == "interior"
    assert sorted(calls) == [0.1, 1.0, 3.0]


def test_optimum_below_the_grid(bench):
    evaluate, calls = counted(log_bowl(1e-4))
    res = bench.widen_search(evaluate, [0.01, 0.1, 1.0], **bench.SEARCH["alpha"])
    assert res["best"] == pytest.approx(1e-4) and res["status"] == "interior"
    # one decade per step, and one step past the optimum (where the error turns up), no further
    assert [v for v, _ in res["tried"]] == pytest.approx([1e-5, 1e-4, 1e-3, 0.01, 0.1, 1.0])
    assert len(calls) == len(set(calls)) == 6  # every value evaluated once
    errors = dict(res["tried"])
    assert min(errors, key=errors.get) == res["best"]


def test_optimum_above_the_grid(bench):
    evaluate, calls = counted(log_bowl(30.0))
    res = bench.widen_search(evaluate, [0.1, 1.0, 3.0], **bench.SEARCH["lam"])
    assert res["best"] == pytest.approx(30.0) and res["status"] == "interior"
    assert [v for v, _ in res["tried"]] == pytest.approx([0.1, 1.0, 3.0, 30.0, 300.0])


def test_lam_reaches_its_bound_zero(bench):
    """lam = 0 is a grid point reachable at the low edge: below 1e-3 the next step is lam = 0, and no further."""
    evaluate, calls = counted(lambda v: v + 0.5)  # best as small as possible
    res = bench.widen_search(evaluate, [0.1, 1.0, 3.0], **bench.SEARCH["lam"])
    assert res["best"] == 0.0 and res["status"] == "bound"
    assert [v for v, _ in res["tried"]] == pytest.approx([0.0, 1e-3, 0.01, 0.1, 1.0, 3.0])
    # with 0 already in the grid nothing is widened
    evaluate, calls = counted(lambda v: v + 0.5)
    res = bench.widen_search(evaluate, [0.0, 0.01, 0.1], **bench.SEARCH["lam"])
    assert res["best"] == 0.0 and res["status"] == "bound" and sorted(calls) == [0.0, 0.01, 0.1]


def test_unreachable_bound_and_search_limit(bench):
    """alpha > 0: its bound 0 is never evaluated; an optimum still at an open edge after max_steps is 'limit'."""
    evaluate, calls = counted(lambda v: v)
    res = bench.widen_search(evaluate, [0.01, 0.1, 1.0], **bench.SEARCH["alpha"])
    assert res["status"] == "limit" and min(calls) > 0
    assert res["best"] == pytest.approx(0.01 / 10 ** bench.SEARCH["alpha"]["max_steps"])
    evaluate, calls = counted(lambda v: -v)
    res = bench.widen_search(evaluate, [1.0, 2.0], factor=3.0, upper=10.0, upper_reachable=True)
    assert res["best"] == 10.0 and res["status"] == "bound"  # 2 -> 6 -> the bound 10 (not 18)
    assert [v for v, _ in res["tried"]] == pytest.approx([1.0, 2.0, 6.0, 10.0])


def test_flat_curve_stops_after_one_step(bench):
    evaluate, calls = counted(lambda v: 1.0)
    res = bench.widen_search(evaluate, [0.1, 1.0, 3.0], **bench.SEARCH["lam"])
    assert res["best"] == 0.1 and res["status"] == "interior" and len(calls) == 4  # 0.01 is no better: stop


def test_single_value_grid_is_not_searched(bench):
    evaluate, calls = counted(lambda v: v)
    res = bench.widen_search(evaluate, [0.0], **bench.SEARCH["lam"])
    assert res == dict(tried=[], order=[], best=0.0, status="single") and calls == []
