"""A bundled prior's ``recover`` recipe rebuilt from the error-vs-m benchmark's validation searches.

For a grid solved with one prior at every m (CelebA's ``celeba64``), each value the searches chose per m --
CSGM's lam, and the arguments of the methods beyond the range (Sparse-Gen's alpha and warm-up, ILO's cut, radius
and warm-up) with their fixed arguments (BEYOND_FIXED) -- becomes a table per range of m: one row per run of equal
values, the bound between two validated m their geometric mean rounded down (``m_max``), the last row open
(``m_max`` null). A warm-up is written as a fraction of the steps (the search records steps; the API default,
half, where the search kept it). Everything else of the base recipe (engine settings, ``source``, ``note``,
``inpaint``, the entries of methods the grid does not search, such as dgp's) is kept; the ``source`` text is the
author's to update.

It also writes ``recover.method``: per range of m, the latent method (CSGM, ILO, Sparse-Gen) whose validation error
at its own chosen value was lowest -- what ``recover(y, A, name)`` runs when no method is given.

For a grid that chooses its prior per m (MNIST: its protocol's ``prior_choices``), ``--prior NAME`` builds that prior's recipe:
lam from its own CSGM search at every m (each prior is searched at every m), the methods' tables from the m where
the validation digits chose it (the only m where those methods were searched with it), the first and last of
those values extended below and above them.

    python tools/recipe_from_searches.py --dataset celeba --base benchmarks/results/celeba/recipe.json \\
        --out benchmarks/results/celeba/recipe.json
    python tools/build_prior.py --update celeba64 --recipe benchmarks/results/celeba/recipe.json
    python tools/recipe_from_searches.py --dataset mnist --prior mnist-bvae \
        --base benchmarks/results/mnist/recipe_mnist-vae.json --out benchmarks/results/mnist/recipe_mnist-bvae.json

``tests/priors/test_priors_run_folder.py`` checks the bundled recipes against the committed searches at every m.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
from pathlib import Path

import ganprior
from ganprior.benchmark import PROTOCOLS, load_selection
from ganprior.benchmark.store import chosen_prior, validated_options
from ganprior.solvers.csgm import warmup_steps
from ganprior.solvers.ilo import default_cut

# the arguments each method's recipe carries, in the order the card lists them
METHOD_KEYS = {"sparse-gen": ("alpha", "warmup"), "ilo": ("cut", "radius", "warmup")}


def ranges(key: str, values: list[tuple[int, float | int]]) -> list[dict]:
    """``[(m, value), ...]`` (m increasing) -> ``[{"m_max": ..., key: value}, ...]``: neighbouring equal values
    merged, each bound the geometric mean of the last m of a run and the first m of the next, rounded down."""
    if not values or any(b[0] <= a[0] for a, b in zip(values, values[1:])):
        raise ValueError(f"values: expected (m, value) pairs with m increasing, got {values!r}")
    rows: list[dict] = []
    for i, (m, v) in enumerate(values):
        bound = int(math.sqrt(m * values[i + 1][0])) if i + 1 < len(values) else None
        if rows and rows[-1][key] == v:
            rows[-1]["m_max"] = bound
        else:
            rows.append({"m_max": bound, key: v})
    return rows


def recover_recipe(dataset: str, results: Path, base: dict, prior: str | None = None) -> dict:
    """``base`` with its ``recover`` lam and ``methods`` tables rebuilt from ``results``' selection.json (for a grid
    that chooses its prior per m, the tables of ``prior``)."""
    protocol = PROTOCOLS[dataset]
    cfg = dict(prior=protocol.prior, m=protocol.m, steps=protocol.steps)
    choices = protocol.prior_choices
    if choices and prior is None:
        raise ValueError(f"dataset: {dataset!r} chooses its prior per m (its protocol's prior_choices); name the prior whose "
                         f"recipe to build with prior= (one of {choices})")
    if prior is not None and prior not in (choices or [cfg["prior"]]):
        raise ValueError(f"prior: expected one of {choices or [cfg['prior']]} (the priors {dataset}'s grid was "
                         f"solved with), got {prior!r}")
    name = prior or cfg["prior"]
    state = load_selection(results)
    grid = sorted({rec["m"] for rec in state.values()})
    if grid != sorted(cfg["m"]):
        raise ValueError(f"results: {results} has searches at m = {grid}, the {dataset} grid is {sorted(cfg['m'])}")
    steps, G = cfg["steps"], ganprior.load_prior(name)
    if choices:  # each prior's own lam search at every m; the methods where this prior was chosen
        lams = [(m, float(state[f"csgm m={m}"]["choice"]["prior"]["searches"][name]["chosen"])) for m in grid]
        own = [m for m in grid if (chosen_prior(state, m) or cfg["prior"]) == name]
        if not own:
            raise ValueError(f"prior: {name!r} is chosen at no m of {results}; its methods were never searched")
    else:
        lams, own = [(m, float(state[f"csgm m={m}"]["chosen"])) for m in grid], grid
    recipe = copy.deepcopy(base)
    rec = recipe.setdefault("recover", {})
    rec["lam"] = ranges("lam", lams)
    # the grid searches METHOD_KEYS' methods; another method's entry (dgp's, validated by its own study) is kept
    methods = {k: v for k, v in rec.get("methods", {}).items() if k not in METHOD_KEYS}
    for method, keys in METHOD_KEYS.items():
        opts = {m: validated_options(method, m, state) for m in own}
        args = dict(protocol.beyond_fixed.get(method, {}))
        for key in keys:
            if key == "warmup":  # a fraction of the steps; the API's default where the search kept it
                column = [(m, round(warmup_steps(opts[m].get("warmup"), steps) / steps, 4)) for m in own]
            elif key == "cut":
                column = [(m, int(opts[m].get("cut", default_cut(G)))) for m in own]
            else:
                column = [(m, float(opts[m][key])) for m in own]
            args[key] = ranges(key, column)
        methods[method] = args
    rec["methods"] = methods
    if not choices:  # the method recover(y, A, name) runs when none is given (ganprior.priors.recipe_choice)
        rec["method"] = ranges("method", [(m, best_latent_method(state, m)) for m in grid])
    return recipe


def best_latent_method(state: dict, m: int) -> str:
    """The latent method with the lowest validation error at its own chosen value at ``m`` (CSGM, ILO, Sparse-Gen;
    the first of a tie), from the searches of selection.json."""
    return min(("csgm", "ilo", "sparse-gen"), key=lambda k: min(e for _, e in state[f"{k} m={m}"]["tried"]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=sorted(PROTOCOLS), required=True)
    p.add_argument("--results", type=Path, default=None, help="default benchmarks/results/<dataset>")
    p.add_argument("--base", type=Path, required=True, help="the recipe whose other fields are kept")
    p.add_argument("--prior", default=None, help="for a grid that chooses its prior per m: whose recipe to build")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    results = args.results or Path(__file__).resolve().parents[1] / "benchmarks" / "results" / args.dataset
    recipe = recover_recipe(args.dataset, results, json.loads(args.base.read_text()), args.prior)
    args.out.write_text(json.dumps(recipe, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
