"""Trainer(ema_decay=...): the exponential moving average of the generator's weights (issue 14).

The average is the documented one (closed form over recorded weights), batch-norm buffers are copied
from the live generator, it is checkpointed (in the checksum) and survives a resume bitwise, a resume
with another decay is refused, the export and ``load_prior(run)`` give the averaged weights, the command
line validates ``--ema-decay``, and under torchrun both ranks hold the same average.
"""

import argparse
import json
import os
import subprocess
import sys
import warnings

import pytest
import torch
from conftest import REPO_ROOT, assert_same_state_dict, random_images

from ganprior.cli import train as cli
from ganprior.models import build_discriminator, build_generator
from ganprior.priors import load_prior
from ganprior.training import Trainer, load_checkpoint


# the model options of each architecture: a tiny MLP pair, and a DCGAN pair with batch norm
_OPTIONS = {"mlp": lambda shape: {"width": 16, "image_shape": shape},
            "dcgan28": lambda shape: {"width": 4, "channels": shape[0]}}


def _trainer(out=None, arch="mlp", init_seed=0, data=None, loss="non-saturating", **kw):
    data = random_images() if data is None else data
    options = _OPTIONS[arch](tuple(data.shape[1:]))
    G = build_generator(arch, latent_dim=4, seed=init_seed, **options)
    D = build_discriminator(arch, seed=init_seed + 1, **options)
    for key, value in (("batch_size", 32), ("seed", 7), ("sample_every", 0), ("checkpoint_every", 0),
                       ("lr", 1e-3)):
        kw.setdefault(key, value)
    return Trainer(G, D, data, loss=loss, out_dir=out, **kw)


def _params(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


# ---------------------------------------------------------------- the average itself
def test_ema_is_the_documented_average_over_recorded_weights():
    """After n steps: ema_n = d^n w_0 + (1 - d) sum_i d^(n-i) w_i, with w_i the weights after step i."""
    d, n = 0.8, 7
    tr = _trainer(ema_decay=d)
    w = [_params(tr.generator)]
    assert tr.generator_ema is not None and not tr.generator_ema.training
    assert not any(p.requires_grad for p in tr.generator_ema.parameters())
    assert_same_state_dict(_params(tr.generator_ema), w[0])  # starts from the initial weights
    for _ in range(n):
        tr.train_step()
        w.append(_params(tr.generator))
    ema = _params(tr.generator_ema)
    moved = 0.0
    for key in ema:
        closed = d ** n * w[0][key].double() + (1 - d) * sum(d ** (n - i) * w[i][key].double()
                                                             for i in range(1, n + 1))
        # the same recursion by hand, in float64
        rec = w[0][key].double()
        for i in range(1, n + 1):
            rec = d * rec + (1 - d) * w[i][key].double()
        torch.testing.assert_close(closed, rec, rtol=0, atol=1e-12)
        torch.testing.assert_close(ema[key].double(), closed, rtol=0, atol=1e-6, msg=key)
        moved = max(moved, float((ema[key] - w[-1][key]).abs().max()), float((ema[key] - w[0][key]).abs().max()))
    assert moved > 1e-3  # the average is neither the first nor the last weights: the check is not vacuous


def test_ema_closed_form_for_constant_weights():
    """Held at constant weights w, n updates give ema = w + d^n (ema_0 - w)."""
    d = 0.9
    tr = _trainer(ema_decay=d)
    ema0 = _params(tr.generator_ema)
    with torch.no_grad():
        for p in tr.generator.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    w = _params(tr.generator)
    for n in range(1, 6):
        tr._update_ema()
        for key, avg in tr.generator_ema.named_parameters():
            expected = w[key].double() + d ** n * (ema0[key].double() - w[key].double())
            torch.testing.assert_close(avg.double(), expected, rtol=0, atol=1e-6, msg=f"n={n} {key}")


def test_ema_copies_batch_norm_buffers_from_the_live_generator():
    tr = _trainer(arch="dcgan28", data=random_images(100, (1, 28, 28)), loss="lsgan", ema_decay=0.9)
    buffers = dict(tr.generator_ema.named_buffers())
    assert any("running_mean" in k for k in buffers)
    for _ in range(3):
        tr.train_step()
    live = dict(tr.generator.named_buffers())
    assert_same_state_dict(dict(tr.generator_ema.named_buffers()), live, "buffer ")
    assert int(live[next(k for k in live if k.endswith("num_batches_tracked"))]) == 3
    ema, cur = _params(tr.generator_ema), _params(tr.generator)
    assert all(not torch.equal(ema[k], cur[k]) for k in ema)  # parameters are averaged, not copied
    # samples come from the average by default, from the live generator on request
    with torch.no_grad():
        z = tr.fixed_noise[:4]
        assert torch.equal(tr.sample(4), (tr.generator_ema.eval()(z) + 1) / 2)
        tr.generator.eval()
        assert torch.equal(tr.sample(4, ema=False), (tr.generator(z) + 1) / 2)
        tr.generator.train()


def test_ema_decay_validation():
    for off in (None, 0, 0.0):
        tr = _trainer(ema_decay=off)
        assert tr.generator_ema is None and tr.ema_decay is None and tr.settings()["ema_decay"] is None
    assert _trainer(ema_decay=0.999).settings()["ema_decay"] == 0.999
    for bad in (1, 1.0, 1.5, -0.1, -1):
        with pytest.raises(ValueError, match=r"'ema_decay' parameter of Trainer must lie in \[0, 1\)"):
            _trainer(ema_decay=bad)
    with pytest.raises(ValueError, match="'ema_decay' parameter of Trainer must be finite"):
        _trainer(ema_decay=float("nan"))
    for bad in ("0.9", True, [0.9]):
        with pytest.raises(TypeError, match="'ema_decay' parameter of Trainer must be a real number"):
            _trainer(ema_decay=bad)
    with pytest.raises(ValueError, match=r"sample\(ema=True\) needs a weight average"):
        _trainer().sample(ema=True)


# ---------------------------------------------------------------- checkpoint and resume
@pytest.mark.parametrize("arch, loss, data_shape", [
    ("mlp", "non-saturating", (1, 8, 8)),
    ("dcgan28", "lsgan", (1, 28, 28)),  # batch-norm buffers
])
def test_ema_survives_resume_bitwise(tmp_path, arch, loss, data_shape):
    data = random_images(200, data_shape)  # 6 batches per epoch: 12 steps cross an epoch boundary
    kw = dict(arch=arch, loss=loss, data=data, ema_decay=0.9)
    straight = _trainer(tmp_path / "a", **kw).fit(steps=12)
    _trainer(tmp_path / "b", checkpoint_every=6, **kw).fit(steps=6)
    # a fresh process: models initialised differently, everything comes from the checkpoint
    resumed = _trainer(tmp_path / "b", init_seed=99, checkpoint_every=6, **kw)
    resumed.fit(steps=12, resume=True)
    for name in ("generator", "generator_ema", "discriminator"):
        assert_same_state_dict(getattr(straight, name).state_dict(), getattr(resumed, name).state_dict(),
                                  f"{name}.")
    for oa, ob in ((straight.opt_g, resumed.opt_g), (straight.opt_d, resumed.opt_d)):
        for pa, pb in zip(oa.state.values(), ob.state.values()):
            for key in pa:
                assert torch.equal(pa[key], pb[key]), key
    assert resumed.step == 12 and straight.epoch >= 1
    ck = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert_same_state_dict(ck["generator_ema"], straight.generator_ema.state_dict())
    live = straight.generator.state_dict()
    assert any(not torch.equal(ck["generator_ema"][k], live[k]) for k in live)


def test_ema_is_covered_by_the_checkpoint_checksum(tmp_path):
    _trainer(tmp_path, ema_decay=0.9).fit(steps=3)
    path = tmp_path / "checkpoint.pt"
    raw = torch.load(path, weights_only=True)
    key = next(iter(raw["generator_ema"]))
    raw["generator_ema"][key] = raw["generator_ema"][key].clone()
    raw["generator_ema"][key].view(-1)[0] += 1e-3  # the stored checksum is kept: only the EMA changed
    bad = tmp_path / "bad.pt"
    torch.save(raw, bad)
    with pytest.raises(ValueError, match=r"checkpoint '.*bad.pt' is corrupted: .*SHA-256"):
        load_checkpoint(bad)


def test_resume_refuses_a_changed_ema_decay(tmp_path):
    _trainer(tmp_path).fit(steps=3)  # no average
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match=r"other hyperparameters \(ema_decay: None in the checkpoint, 0.9 now\)"):
        _trainer(tmp_path, ema_decay=0.9).fit(steps=5, resume=True)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    # allowed: the average starts from the resumed generator's weights
    tr = _trainer(tmp_path, ema_decay=0.9, allow_changed_config=True)
    with pytest.warns(UserWarning, match=r"changed hyperparameters: ema_decay None -> 0.9"):
        tr.fit(steps=3, resume=True)
    assert_same_state_dict(tr.generator_ema.state_dict(), tr.generator.state_dict())
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["resumed_with_changes"][0]["changed"]["ema_decay"] == {"checkpoint": None, "now": 0.9}
    # now the checkpoint holds 0.9: another decay is refused, the same one resumes silently
    with pytest.raises(ValueError, match=r"ema_decay: 0.9 in the checkpoint, 0.99 now"):
        _trainer(tmp_path, ema_decay=0.99).fit(steps=5, resume=True)
    with pytest.raises(ValueError, match=r"ema_decay: 0.9 in the checkpoint, None now"):
        _trainer(tmp_path).fit(steps=5, resume=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _trainer(tmp_path, ema_decay=0.9).fit(steps=5, resume=True)


# ---------------------------------------------------------------- export and load_prior
def test_tiny_digits_run_exports_the_ema_as_the_prior(tmp_path):
    from sklearn.datasets import load_digits

    data = torch.from_numpy(load_digits().images).float().div(16.0).unsqueeze(1)
    G = build_generator("mlp", latent_dim=8, width=32, image_shape=(1, 8, 8), seed=0)
    D = build_discriminator("mlp", width=32, image_shape=(1, 8, 8), seed=1)
    tr = Trainer(G, D, data, lr=1e-3, batch_size=64, seed=0, out_dir=tmp_path, checkpoint_every=0,
                 sample_every=0, data_name="digits8", ema_decay=0.95).fit(steps=30)
    ema, live = tr.generator_ema.state_dict(), tr.generator.state_dict()
    assert all(not torch.equal(ema[k], live[k]) for k in ema)
    assert_same_state_dict(torch.load(tmp_path / "generator.pt", weights_only=True), ema)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["ema_decay"] == 0.95 and config["generator_weights"] == "ema"
    assert config["hyperparameters"]["ema_decay"] == 0.95
    prior = load_prior(tmp_path)  # a run folder: the checkpoint's generator_ema
    assert_same_state_dict(prior.module.state_dict(), ema)
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(prior(z), (tr.generator_ema(z) + 1) / 2)
    # without an average the live weights are exported, and config.json says so
    plain = _trainer(tmp_path / "plain").fit(steps=2)
    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert config["ema_decay"] is None and config["generator_weights"] == "live"
    assert "generator_ema" not in load_checkpoint(tmp_path / "plain" / "checkpoint.pt")
    assert_same_state_dict(torch.load(tmp_path / "plain" / "generator.pt", weights_only=True),
                              plain.generator.state_dict())


# ---------------------------------------------------------------- command line
@pytest.mark.parametrize("value", ["1", "1.5", "-0.1", "nan", "inf", "abc"])
def test_cli_rejects_bad_ema_decay(capsys, value):
    parser = cli.add_arguments(argparse.ArgumentParser(prog="train"))
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--data", "digits8", "--out", "x", f"--ema-decay={value}"])
    assert info.value.code == 2
    assert "argument --ema-decay: must be a finite number >= 0 and < 1" in capsys.readouterr().err


def test_cli_ema_decay(tmp_path):
    parser = cli.add_arguments(argparse.ArgumentParser(prog="train"))
    assert parser.parse_args(["--data", "digits8", "--out", "x"]).ema_decay == 0.0
    base = ["--data", "digits8", "--steps", "3", "--batch-size", "32", "--width", "8", "--latent-dim", "4",
            "--sample-every", "0", "--out", str(tmp_path)]
    cli.main(parser.parse_args([*base, "--ema-decay", "0.9"]))
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["ema_decay"] == 0.9 and config["generator_weights"] == "ema"
    ck = load_checkpoint(tmp_path / "checkpoint.pt")
    assert_same_state_dict(torch.load(tmp_path / "generator.pt", weights_only=True), ck["generator_ema"])


# ---------------------------------------------------------------- torchrun
@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not available")
def test_torchrun_ranks_hold_the_same_ema(tmp_path):
    args = ["--data", "digits8", "--arch", "mlp", "--latent-dim", "8", "--width", "16", "--lr", "1e-3",
            "--steps", "6", "--batch-size", "64", "--seed", "3", "--threads", "1", "--checkpoint-every", "0",
            "--sample-every", "0", "--dump-rank-weights", "--ema-decay", "0.8", "--out", str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "ganprior.cli.train", *args]
    res = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert_same_state_dict(r0["generator_ema"], r1["generator_ema"], "ranks differ in generator_ema.")
    assert_same_state_dict(r0["generator"], r1["generator"], "ranks differ in generator.")
    ck = load_checkpoint(tmp_path / "checkpoint.pt")  # written by rank 0
    assert_same_state_dict(ck["generator_ema"], r0["generator_ema"])
    assert_same_state_dict(torch.load(tmp_path / "generator.pt", weights_only=True), r0["generator_ema"])
    assert any(not torch.equal(r0["generator_ema"][k], r0["generator"][k]) for k in r0["generator"])
