"""A prior given by name runs what its recipe validated at this m (issue 38.5): which prior of its family, which
method, with that prior's own options; a Generator object pins its prior."""

import json

import pytest
import torch

import ganprior
from ganprior.priors import load_prior, recipe_choice


@pytest.fixture(scope="module")
def digits():
    return ganprior.data.load_sample("mnist_test300")[:3]


@pytest.mark.parametrize("m, member, method", [(10, "mnist", "sparse-gen"), (25, "mnist-vae", "ilo"),
                                               (100, "mnist-bvae", "ilo"), (700, "mnist", "sparse-gen")])
def test_the_named_family_runs_the_member_and_method_its_recipe_chose(m, member, method, digits):
    A = ganprior.operators.Gaussian(m=m, in_shape=(1, 28, 28), seed=0)
    y = A(digits)
    res = ganprior.recover(y, A, "mnist", seed=0, steps=6, restarts=2, return_result=True)
    assert res.method == method
    assert res.info["settings"]["prior"] == member and res.info["settings"]["method"] == method
    assert res.info["source"]["prior"] == res.info["source"]["method"] == f"recipe of 'mnist' at m = {m}"
    # the same solve as naming the member and the method: the member's own recipe options (lam, ILO's cut...)
    same = ganprior.recover(y, A, load_prior(member), method=method, seed=0, steps=6, restarts=2,
                            return_result=True)
    assert torch.equal(res.x, same.x)
    assert {k: v for k, v in res.info["settings"].items() if k not in ("prior", "method")} == same.info["settings"]


def test_the_faces_prior_by_name_runs_the_method_its_searches_chose():
    # one prior at every m (no family): the method only, CSGM at m = 20, ILO from 50 (tools/recipe_from_searches.py)
    assert recipe_choice("celeba64", 20) == {"method": "csgm"}
    assert recipe_choice("celeba64", 32) == recipe_choice("celeba64", 10000) == {"method": "ilo"}


def test_a_generator_object_or_a_given_method_is_kept(digits):
    A = ganprior.operators.Gaussian(m=25, in_shape=(1, 28, 28), seed=0)
    pinned = ganprior.recover(A(digits), A, load_prior("mnist"), seed=0, steps=3, restarts=1, return_result=True)
    assert pinned.method == "csgm" and "prior" not in pinned.info["settings"]
    given = ganprior.recover(A(digits), A, "mnist", method="csgm", seed=0, steps=3, restarts=1, return_result=True)
    assert given.method == "csgm" and given.info["settings"]["prior"] == "mnist-vae"
    assert "method" not in given.info["source"]


def test_method_auto_runs_on_the_member_prior(digits, monkeypatch):
    seen = []
    real = ganprior.solvers.recovery.latent_inputs

    def spy(y, A, G, *args, **kwargs):
        out = real(y, A, G, *args, **kwargs)
        seen.append(out[0].name)
        return out

    monkeypatch.setattr(ganprior.solvers.recovery, "latent_inputs", spy)
    A = ganprior.operators.Gaussian(m=60, in_shape=(1, 28, 28), seed=0)
    res = ganprior.recover(A(digits), A, "mnist", method="auto", candidates=["csgm", "lasso"], seed=0, steps=3,
                           restarts=1, return_result=True)
    assert set(seen) == {"mnist-bvae"} and res.info["settings"]["prior"] == "mnist-bvae"


@pytest.mark.parametrize("table, message", [
    ([{"m_max": None, "prior": "mnist-xl"}], r"recover.prior\[0\].prior must be one of \["),
    ([{"m_max": 10, "method": "ilo"}], "recover.method's last range must have m_max None"),
    ("ilo", r"recover.method must be a non-empty list"),
])
def test_a_bad_choice_table_is_refused_at_load_naming_the_file_and_key(table, message, tmp_path):
    import shutil

    folder = tmp_path / "prior"
    shutil.copytree(ganprior.priors.PRIOR_DIR / "mnist-vae", folder)
    config = json.loads((folder / "config.json").read_text())
    key = "prior" if "prior" in message else "method"
    config["recipe"]["recover"][key] = table
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"Invalid solver recipe in .*config.json.*: {message}"):
        load_prior(folder)
    with pytest.raises(ValueError, match=message):
        recipe_choice(folder, 25)
