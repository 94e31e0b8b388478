"""The bundled priors' solver recipes follow the committed error-vs-m searches (benchmarks/results/<dataset>/), and
tools/recipe_from_searches.py rebuilds them from those searches."""

import json
from unittest.mock import ANY

import pytest
from conftest import RESULTS_DIR, load_tool

from ganprior.priors import load_prior, prior_config, recipe_for


# Where a bundled recipe departs on purpose from the committed search it cites (its "source" says why):
# (prior, m, method) -> the arguments that differ.
RECIPE_DEPARTURES = {
    ("mnist", 300, "ilo"): {"warmup"},  # 3/4 from m = 71 rather than alternate (5% lower here, within one s.e.)
    ("mnist", 500, "ilo"): {"radius", "warmup"},  # radius 1 and 3/4 rather than alternate (0.3% / 1.6% apart)
}


@pytest.mark.parametrize("dataset, priors", [("mnist", ("mnist", "mnist-vae", "mnist-k20", "mnist-bvae")),
                                             ("celeba", ("celeba64",))])
def test_bundled_recipes_follow_the_committed_error_vs_m_searches(dataset, priors):
    """At every m of the committed grid (MNIST, CelebA), the recipe of the prior the benchmark chose there gives the
    values its validation searches chose (benchmarks/results/<dataset>/selection.json): CSGM's lam, and ILO's and
    Sparse-Gen's arguments with their warm-up -- so a rerun that moves a choice fails here until the recipe follows
    it.  The recipe files the cards were built from are the ones the prior folders carry."""
    from ganprior.benchmark import load_selection, preset
    from ganprior.benchmark.store import chosen_prior, validated_options
    from ganprior.solvers.csgm import warmup_steps
    from ganprior.solvers.ilo import default_cut

    results = RESULTS_DIR / dataset
    cfg = preset(dataset)
    assert priors[0] == cfg["prior"]
    for name in priors:
        file = results / ("recipe.json" if name == priors[0] else f"recipe_{name}.json")
        assert prior_config(name)["recipe"] == json.loads(file.read_text()), name
    state = load_selection(results)
    grid = sorted({rec["m"] for rec in state.values()})
    assert grid == cfg["m"]
    seen = set()
    for m in grid:
        name = chosen_prior(state, m) or priors[0]
        G = load_prior(name)
        assert recipe_for(G, "recover", m)["lam"] == state[f"csgm m={m}"]["chosen"], (name, m)
        for method in ("ilo", "sparse-gen"):
            want = validated_options(method, m, state)
            got = recipe_for(G, "recover", m, method=method)
            steps = got["steps"]
            # in steps (the search records an int, the recipe a fraction; both omit the default)
            want["warmup"], got["warmup"] = (warmup_steps(w.get("warmup"), steps) for w in (want, got))
            if method == "ilo":
                got.setdefault("cut", default_cut(G))
            differ = {k for k, v in want.items() if not (got.get(k) == v or isinstance(v, float)
                                                          and abs(got.get(k, float("inf")) - v) <= 1e-3 * abs(v))}
            assert differ == RECIPE_DEPARTURES.get((name, m, method), set()), (name, m, method, want, got)
            seen.add((name, m, method))
    assert {k for k in RECIPE_DEPARTURES if k[0] in priors} <= seen


def test_recipe_from_searches_rebuilds_the_committed_celeba64_recipe():
    # the builder's ranges: equal neighbours merged, bounds the geometric means of neighbouring m rounded down
    rfs = load_tool("recipe_from_searches")
    assert rfs.ranges("x", [(20, 1.0), (50, 1.0), (100, 2.0), (200, 1.0)]) == \
        [{"m_max": 70, "x": 1.0}, {"m_max": 141, "x": 2.0}, {"m_max": None, "x": 1.0}]
    with pytest.raises(ValueError, match="m increasing"):
        rfs.ranges("x", [(50, 1.0), (20, 1.0)])
    with pytest.raises(ValueError, match="prior_choices"):
        rfs.recover_recipe("mnist", RESULTS_DIR / "mnist", {})
    with pytest.raises(ValueError, match="prior: expected one of"):
        rfs.recover_recipe("mnist", RESULTS_DIR / "mnist", {}, prior="celeba64")
    # a grid that chooses its prior per m: the prior's own lam at every m, its methods where it was chosen
    mnist = RESULTS_DIR / "mnist"
    bvae = json.loads((mnist / "recipe_mnist-bvae.json").read_text())
    assert rfs.recover_recipe("mnist", mnist, json.loads((mnist / "recipe_mnist-vae.json").read_text()),
                              prior="mnist-bvae")["recover"] == {**bvae["recover"], "source": ANY}
    # from the committed searches it gives the committed recipe back (lam and every method's table), whatever
    # tables the base held: the previous recipe (the first prior's values) as the base
    committed = json.loads((RESULTS_DIR / "celeba" / "recipe.json").read_text())
    base = json.loads(json.dumps(committed))
    base["recover"]["lam"] = 0.5
    base["recover"]["methods"] = {"ilo": {"cut": [{"m_max": None, "cut": 12}]},
                                  "dgp": committed["recover"]["methods"]["dgp"]}  # not the grid's: kept
    assert rfs.recover_recipe("celeba", RESULTS_DIR / "celeba", base) == committed


def test_the_mnist_familys_choices_follow_the_committed_searches():
    """recover(y, A, "mnist") runs, at every m of the committed grid, the prior the benchmark chose there and the
    latent method with the lowest validation error at its own chosen value (benchmarks/results/mnist/selection.json)."""
    from ganprior.benchmark import PROTOCOLS, load_selection
    from ganprior.benchmark.store import chosen_prior
    from ganprior.priors import recipe_choice

    state = load_selection(RESULTS_DIR / "mnist")
    for m in PROTOCOLS["mnist"].m:
        best = min(("csgm", "ilo", "sparse-gen"), key=lambda k: min(e for _, e in state[f"{k} m={m}"]["tried"]))
        assert recipe_choice("mnist", m) == {"prior": chosen_prior(state, m) or "mnist", "method": best}, m
    assert recipe_choice("mnist-vae", 25) == {}  # a member of the family chooses nothing
