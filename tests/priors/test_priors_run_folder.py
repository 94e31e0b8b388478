"""load_prior / load_discriminator / prior_config on any run folder or exported prior; solver recipes."""

import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import REPO_ROOT, assert_same_state_dict, load_tool

import ganprior
from ganprior.models import build_discriminator, build_generator
from ganprior.priors import (
    describe_priors,
    list_priors,
    load_discriminator,
    load_prior,
    prior_config,
    recipe_for,
)
from ganprior.training import Trainer, load_checkpoint


def _save_checkpoint(state: dict, path: Path):
    """Write an edited checkpoint, with a fresh checksum where the trainer writes one."""
    state = dict(state)
    try:
        from ganprior.training._io import state_digest
    except ImportError:  # a trainer without checkpoint checksums
        state_digest = None
    if state_digest is not None:
        state.pop("sha256", None)
        state["sha256"] = state_digest(state)
    torch.save(state, path)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """A tiny run of the command line: an MLP GAN on scikit-learn's 8x8 digits, 6 steps."""
    out = tmp_path_factory.mktemp("cli") / "run"
    proc = subprocess.run([sys.executable, "-m", "ganprior", "train", "--data", "digits8", "--arch", "mlp",
                           "--latent-dim", "4", "--width", "16", "--batch-size", "32", "--steps", "6", "--seed", "3",
                           "--checkpoint-every", "0", "--sample-every", "0", "--threads", "1", "--device", "cpu",
                           "--dump-rank-weights", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_load_prior_of_a_cli_run_equals_the_trainers_generator(cli_run):
    G = load_prior(cli_run)
    ckpt = load_checkpoint(cli_run / "checkpoint.pt")
    # the weights are the checkpoint's, i.e. the trainer's generator at the end of the run
    assert_same_state_dict(G.module.state_dict(), ckpt["generator"])
    assert_same_state_dict(G.module.state_dict(), torch.load(cli_run / "rank0.pt", weights_only=True)["generator"])
    assert G.latent_shape == (4,) and G.image_shape == (1, 8, 8) and G.name == "run" and G.recipe is None
    # the same images as the exported generator.pt, built by hand as before load_prior took a path
    config = json.loads((cli_run / "config.json").read_text())
    by_hand = ganprior.Generator.from_checkpoint(cli_run / "generator.pt",
                                                 ganprior.models.from_config(config["generator"]))
    z = G.sample_latent(16, seed=0)
    assert torch.equal(G(z), by_hand(z))
    assert prior_config(cli_run) == config and prior_config(str(cli_run))["steps"] == 6
    D = load_discriminator(cli_run)
    assert_same_state_dict(D.module.state_dict(), ckpt["discriminator"])
    assert D(G(z)).shape == (16,)
    # str paths work like Path objects, and so does recover with a path as the prior
    assert torch.equal(load_prior(str(cli_run))(z), G(z))


def test_load_prior_of_a_trainer_run_gives_the_trainers_outputs(tmp_path):
    """In process: a DCGAN with batch norm (running statistics) and bf16 autocast, compared bitwise."""
    data = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    Gm = build_generator("dcgan28", latent_dim=4, width=4, channels=1, seed=0)
    Dm = build_discriminator("dcgan28", width=4, channels=1, seed=1)
    trainer = Trainer(Gm, Dm, data, batch_size=16, seed=5, precision="bf16", out_dir=tmp_path, sample_every=0,
                      checkpoint_every=0)
    trainer.fit(steps=3)
    G = load_prior(tmp_path)
    ours = ganprior.Generator(trainer.generator)  # the trainer's own module, in eval mode
    z = torch.randn(10, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(G(z), ours(z))
    assert_same_state_dict(G.module.state_dict(), trainer.generator.state_dict())
    assert_same_state_dict(load_discriminator(tmp_path).module.state_dict(), trainer.discriminator.state_dict())


def _run_with_an_ema(cli_run, folder):
    """A copy of ``cli_run`` whose checkpoint keeps an average unlike its live generator (live weights + 0.5);
    returns (run, checkpoint, average)."""
    run = folder / "run"
    shutil.copytree(cli_run, run)
    ckpt = load_checkpoint(run / "checkpoint.pt")
    ema = {k: v + 0.5 if v.is_floating_point() else v for k, v in ckpt["generator"].items()}
    ckpt["generator_ema"] = ema
    _save_checkpoint(ckpt, run / "checkpoint.pt")
    return run, ckpt, ema


def test_run_folder_prefers_ema_weights_and_warns_on_a_resumed_run(cli_run, tmp_path):
    run, ckpt, ema = _run_with_an_ema(cli_run, tmp_path)
    assert_same_state_dict(load_prior(run).module.state_dict(), ema)
    ckpt["step"] += 4  # resumed past the exported config.json and not finished
    _save_checkpoint(ckpt, run / "checkpoint.pt")
    with pytest.warns(UserWarning, match="checkpoint at step 10 but its config.json was written at step 6"):
        load_prior(run)


def test_the_live_weights_of_a_run_that_keeps_an_ema_can_be_packaged(cli_run, tmp_path):
    # tools/build_prior.live_generator (build_prior --weights live, studies/prior_compare): the checkpoint's
    # "generator" entry, not the average load_prior prefers; None for a run without an average
    bp = load_tool("build_prior")
    assert bp.live_generator(cli_run) is None
    run, ckpt, ema = _run_with_an_ema(cli_run, tmp_path)
    live = bp.live_generator(run)
    assert_same_state_dict(live.module.state_dict(), ckpt["generator"])
    assert_same_state_dict(load_prior(run).module.state_dict(), ema)
    z = torch.randn(3, *live.latent_shape, generator=torch.Generator().manual_seed(0))
    assert not live.module.training and not torch.allclose(live(z), load_prior(run)(z))


def test_build_prior_names_the_runs_latent_law_on_the_card():
    # the card said N(0, I) whatever law the run was trained with ("latent" in its config.json)
    bp = load_tool("build_prior")
    net = torch.nn.Sequential(torch.nn.Linear(3, 4))
    assert bp.latent_text(ganprior.Generator(net, latent_shape=3)) == "N(0, I)"
    assert bp.latent_text(ganprior.Generator(net, latent_shape=3, latent="uniform")) == "UniformLaw(bound=1.0)"


def test_exported_prior_folder(tmp_path):
    folder = tmp_path / "my-prior"
    shutil.copytree(ganprior.priors.PRIOR_DIR / "mnist", folder)
    G, ref = load_prior(folder), load_prior("mnist")
    z = ref.sample_latent(4, seed=0)
    assert torch.equal(G(z), ref(z)) and G.recipe == ref.recipe and G.name == "mnist"
    assert load_discriminator(folder)(G(z)).shape == (4,)
    (folder / "discriminator.pt").unlink()
    with pytest.raises(FileNotFoundError, match="discriminator.pt"):
        load_discriminator(folder)


def test_bad_paths_say_which_files_were_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json and checkpoint.pt.*config.json and generator.pt"):
        load_prior(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_prior(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        prior_config(str(tmp_path / "missing"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="is a file"):
        load_prior(tmp_path / "notes.txt")
    torch.save({"generator": {}}, tmp_path / "checkpoint.pt")
    with pytest.raises(FileNotFoundError, match="no config.json.*--resume"):
        load_discriminator(tmp_path)
    with pytest.raises(ValueError, match=r"'name' parameter of load_prior must be one of \["):
        load_prior("mnsit")
    with pytest.raises(TypeError, match="name_or_path"):
        load_prior(3)


def test_bundled_priors_carry_a_recipe_usable_by_the_solvers():
    solver = {"recover": inspect.signature(ganprior.recover).parameters,
              "inpaint": inspect.signature(ganprior.inpaint).parameters}
    for name in list_priors():
        G = load_prior(name)
        assert set(G.recipe) == {"recover", "inpaint"}
        for task in ("recover", "inpaint"):
            assert G.recipe[task]["source"], (name, task)
            kwargs = recipe_for(G, task, m=100)
            accepted = set(solver[task]) | (set(ganprior.get_method("csgm").hyperparameters) if task == "recover" else set())
            assert set(kwargs) <= accepted, (name, task)
            assert {"restarts", "steps", "lr", "schedule", "precision", "optimizer"} <= set(kwargs)
            assert ("lam" if task == "recover" else "perceptual_weight") in kwargs
            assert kwargs == recipe_for(name, task, m=100)
        assert {"window", "z_bound"} <= set(recipe_for(G, "inpaint"))


def test_recipe_for_resolves_lam_per_range_of_m():
    G = load_prior("mnist")
    assert recipe_for(G, "recover", m=10) == {"restarts": 10, "steps": 300, "lr": 0.3, "schedule": "cosine",
                                              "precision": "bf16", "optimizer": "adam", "lam": 1.0}
    assert [recipe_for(G, "recover", m=m)["lam"] for m in (1, 25, 35, 36, 100, 141, 142, 784)] == \
        [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01, 0.01]
    with pytest.raises(ValueError, match="depends on the number of measurements m"):
        recipe_for(G, "recover")
    assert [recipe_for("celeba64", "recover", m=m)["lam"] for m in (20, 70, 71, 316, 317, 10000)] == \
        [10.0, 10.0, 1.0, 1.0, 0.1, 0.1]
    sg = [recipe_for("celeba64", "recover", m=m, method="sparse-gen") for m in (500, 1000, 2500, 7500)]
    assert [(r["alpha"], r["basis"]) for r in sg] == [(10.0, "dct"), (1.0, "dct"), (0.1, "dct"), (0.01, "dct")]

    class OneLam:
        recipe = {"recover": {"steps": 5, "lam": [{"m_max": None, "lam": 0.1}]}}

    assert recipe_for(OneLam, "recover")["lam"] == 0.1  # one lam for every m: m may be omitted
    assert recipe_for(G, "inpaint")["perceptual_weight"] == 0.003

    class Prior:
        recipe = {"recover": {"steps": 5, "lam": [{"m_max": 10, "lam": 2.0}, {"m_max": 100, "lam": 0.5},
                                                   {"m_max": None, "lam": 0.0}]}}

    assert [recipe_for(Prior, "recover", m=m)["lam"] for m in (10, 11, 100, 101)] == [2.0, 0.5, 0.5, 0.0]
    assert recipe_for(Prior, "inpaint") is None
    Prior.recipe = None
    assert recipe_for(Prior, "recover", m=3) is None
    for bad in ([{"m_max": 10, "lam": 1.0}],  # no open-ended last range
                [{"m_max": 10, "lam": 1.0}, {"m_max": 5, "lam": 1.0}, {"m_max": None, "lam": 1.0}],
                [{"m_max": None, "lam": -1.0}], []):
        Prior.recipe = {"recover": {"lam": bad}}
        with pytest.raises(ValueError, match="Invalid solver recipe"):
            recipe_for(Prior, "recover", m=3)
    assert recipe_for(ganprior.Generator(torch.nn.Linear(3, 5), latent_shape=3), "recover", m=4) is None
    with pytest.raises(TypeError, match="'G' parameter of recipe_for"):
        recipe_for(torch.nn.Linear(3, 5), "recover")
    with pytest.raises(ValueError, match="'task' parameter of recipe_for"):
        recipe_for(G, "denoise")
    with pytest.raises(ValueError, match="'m' parameter of recipe_for"):
        recipe_for(G, "recover", m=0)


def test_describe_priors(cli_run):
    lines = describe_priors()
    assert list(lines) == list_priors()
    q = prior_config("mnist")["quality"]
    assert "k=64" in lines["mnist"] and f"{q['representation_mse_mean']:.4f}" in lines["mnist"]
    assert "recover 10x300 cosine lr 0.3 bf16, lam 1 (m <= 35), 0.1 (35 < m <= 141), 0.01 (m > 141)" in lines["mnist"]
    assert "inpaint 2x200 constant lr 0.03 bf16, perceptual weight 0.003" in lines["mnist"]
    run_line = describe_priors([cli_run])[str(cli_run)]
    assert "k=4" in run_line and "representation error not measured" in run_line and "no solver recipe" in run_line


def test_build_prior_writes_portable_commands_and_recipe_sections():
    bp = load_tool("build_prior")
    cmd = ("/usr/bin/python3.11 /home/me/main/ganprior/training/cli.py --data mnist --data-root /home/me/shared/data "
           "--steps 10 --out /home/me/runs/mnist_x")
    assert bp.portable_command(cmd, repo=Path("/home/me/main")) == (
        "python -m ganprior train --data mnist --data-root ../shared/data --steps 10 --out runs/mnist_x")
    assert bp.portable_command("python /opt/x/ganprior/__main__.py train --out=/tmp/r --data digits8",
                               repo=Path("/opt/x")) == "python -m ganprior train --out=runs/r --data digits8"
    for name in list_priors():
        folder = ganprior.priors.PRIOR_DIR / name
        config, card = prior_config(name), (folder / "card.md").read_text()
        assert not any(w.startswith("/") for w in config["command"].split()), config["command"]
        assert not re.search(r"/(work|root|home|tmp)/", card) and config["command"] in card
        assert bp.set_card_recipe(card, config["recipe"]) == card  # the card shows the config's recipe
    card = "# Prior\n\n## Representation error\n\nx\n\n## Samples and losses\n\ny\n"
    once = bp.set_card_recipe(card, {"recover": {"steps": 3, "lam": 0.5}})
    assert once.index("## Solver recipe") < once.index("## Samples and losses") and "| recover | " in once
    assert bp.set_card_recipe(once, None).count("## Solver recipe") == 1
    methods = {"sparse-gen": {"basis": "pixel", "alpha": [{"m_max": 20, "alpha": 1.0}, {"m_max": None, "alpha": 0.01}]}}
    text = bp.recipe_markdown({"recover": {"steps": 3, "lam": 0.5, "methods": methods}})
    assert "- `sparse-gen`: basis pixel; alpha 1 (m <= 20), 0.01 (m > 20)" in text


def test_a_recipe_gives_a_method_its_own_validated_arguments_per_range_of_m_and_recover_uses_them():
    class Prior:
        recipe = {"recover": {"steps": 5, "lam": 0.1, "methods": {
            "sparse-gen": {"basis": "pixel", "alpha": [{"m_max": 20, "alpha": 1.0}, {"m_max": None, "alpha": 0.01}]},
            "ilo": {"radius": 0.3}}}}

    assert recipe_for(Prior, "recover", m=20, method="sparse-gen") == {"steps": 5, "lam": 0.1, "basis": "pixel",
                                                                       "alpha": 1.0}
    assert recipe_for(Prior, "recover", m=21, method="sparse-gen")["alpha"] == 0.01
    assert recipe_for(Prior, "recover", m=21, method="ilo")["radius"] == 0.3
    assert "alpha" not in recipe_for(Prior, "recover", m=21) and "radius" not in recipe_for(Prior, "recover", m=21,
                                                                                                method="csgm")
    with pytest.raises(ValueError, match="alpha depends on the number of measurements m"):
        recipe_for(Prior, "recover", method="sparse-gen")
    for bad, match in (({"sparse-gen": {"lam": 1.0}}, "lam comes from recover.lam"),
                       ({"sparse-gen": {"alpha": -1.0}}, r"methods.sparse-gen.alpha must be a finite number >= 0"),
                       ({"ilo": {"radius": [{"m_max": 5, "radius": 1.0}]}}, "last range must have m_max None"),
                       ([1], "must be a dict")):
        Prior.recipe = {"recover": {"methods": bad}}
        with pytest.raises(ValueError, match=match):
            recipe_for(Prior, "recover", m=3)
    # recover: the recipe's values where the caller gives none, the caller's otherwise; the result is exactly
    # the solve with those values passed by hand
    from conftest import relu_generator

    G = relu_generator(k=4, hidden=16, n=36, seed=0, image_shape=(1, 6, 6))
    G.recipe = {"recover": {"restarts": 2, "steps": 20, "lr": 0.05, "schedule": "constant", "lam": 0.1,
                            "methods": {"sparse-gen": {"basis": "pixel", "alpha": 0.5}}}}
    A = ganprior.operators.Gaussian(30, in_shape=(1, 6, 6), seed=1)
    y = torch.randn(2, 30, generator=torch.Generator().manual_seed(0))
    res = ganprior.recover(y, A, G, method="sparse-gen", seed=0, return_result=True)
    assert res.info["settings"]["alpha"] == 0.5 and res.info["settings"]["basis"] == "pixel"
    assert res.info["source"]["alpha"] == "recipe" and res.info["source"]["lam"] == "recipe"
    G.recipe = None
    by_hand = ganprior.recover(y, A, G, method="sparse-gen", lam=0.1, alpha=0.5, basis="pixel", restarts=2,
                               steps=20, lr=0.05, schedule="constant", seed=0)
    torch.testing.assert_close(res.x, by_hand, rtol=0, atol=0)
    G.recipe = {"recover": {"methods": {"sparse-gen": {"alpha": 0.5}}}}
    caller = ganprior.recover(y, A, G, method="sparse-gen", alpha=2.0, steps=3, seed=0, return_result=True)
    assert caller.info["settings"]["alpha"] == 2.0 and caller.info["source"]["alpha"] == "caller"


def test_a_recipe_layer_index_stays_an_int_and_recover_runs_ilo_at_that_cut():
    # ILO's cut per range of m (the celeba64 recipe's): recipe_for gives an int, and recover solves exactly as
    # with that cut passed by hand (a float 3.0 would be refused by ILO's int check)
    class Prior:
        recipe = {"recover": {"methods": {"ilo": {"cut": [{"m_max": 20, "cut": 1}, {"m_max": None, "cut": 2}],
                                                  "radius": 0.5}}}}

    got = recipe_for(Prior, "recover", m=21, method="ilo")
    assert got == {"cut": 2, "radius": 0.5} and type(got["cut"]) is int
    assert type(recipe_for(Prior, "recover", m=20, method="ilo")["cut"]) is int
    assert type(recipe_for(Prior, "recover", m=20, method="ilo")["radius"]) is float
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 36),
                              torch.nn.Unflatten(1, (1, 6, 6)))
    G = ganprior.Generator(net, latent_shape=4, output_range=(0, 1))
    G.recipe = {"recover": {"steps": 20, "lam": 0.1, "methods": Prior.recipe["recover"]["methods"]}}
    A = ganprior.operators.Gaussian(30, in_shape=(1, 6, 6), seed=1)
    y = torch.randn(2, 30, generator=torch.Generator().manual_seed(0))
    res = ganprior.recover(y, A, G, method="ilo", seed=0, return_result=True)
    assert res.info["settings"]["cut"] == 2 and res.info["source"]["cut"] == "recipe"
    G.recipe = None
    by_hand = ganprior.recover(y, A, G, method="ilo", lam=0.1, cut=2, radius=0.5, steps=20, seed=0)
    torch.testing.assert_close(res.x, by_hand, rtol=0, atol=0)
