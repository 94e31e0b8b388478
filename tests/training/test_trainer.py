"""Trainer: bitwise resume, atomic checkpoints, NaN stop, and a tiny 8x8 run that learns."""

import csv
import json
import math

import pytest
import torch
from conftest import assert_same_state_dict, random_images

from ganprior.models import build_discriminator, build_generator, from_config
from ganprior.training import Trainer, load_checkpoint


def _trainer(out, arch="mlp", loss="non-saturating", k=1, init_seed=0, data=None, **kw):
    data = random_images() if data is None else data
    shape = tuple(data.shape[1:])
    if arch == "mlp":
        G = build_generator("mlp", latent_dim=4, width=16, image_shape=shape, seed=init_seed)
        D = build_discriminator("mlp", width=16, image_shape=shape, seed=init_seed + 1)
    else:
        G = build_generator(arch, latent_dim=4, width=4, channels=shape[0], seed=init_seed)
        D = build_discriminator(arch, width=4, channels=shape[0], batch_norm=loss != "wgan-gp", seed=init_seed + 1)
    kw.setdefault("sample_every", 0)
    return Trainer(G, D, data, loss=loss, k=k, batch_size=32, seed=7, out_dir=out, **kw)


def _assert_same_state(a: Trainer, b: Trainer):
    for name in ("generator", "discriminator"):
        assert_same_state_dict(getattr(a, name).state_dict(), getattr(b, name).state_dict(), f"{name}.")
    for oa, ob in ((a.opt_g, b.opt_g), (a.opt_d, b.opt_d)):
        for pa, pb in zip(oa.state.values(), ob.state.values()):
            for key in pa:
                assert torch.equal(pa[key], pb[key]), key
    assert (a.step, a.epoch, a.batch_in_epoch) == (b.step, b.epoch, b.batch_in_epoch)


@pytest.mark.parametrize("arch,loss,k,data_shape", [
    ("mlp", "non-saturating", 1, (1, 8, 8)),
    ("mlp", "wgan-gp", 2, (1, 8, 8)),
    ("dcgan28", "lsgan", 2, (1, 28, 28)),  # batch norm buffers, k > 1
])
def test_resume_is_bitwise_exact(tmp_path, arch, loss, k, data_shape):
    data = random_images(200, data_shape)  # 6 batches per epoch: 12 steps cross epoch boundaries
    straight = _trainer(tmp_path / "a", arch, loss, k, data=data, checkpoint_every=0).fit(steps=12)
    first = _trainer(tmp_path / "b", arch, loss, k, data=data, checkpoint_every=6).fit(steps=6)
    assert first.epoch >= 0 and first.step == 6
    # a fresh process: models initialised differently, state comes only from the checkpoint
    resumed = _trainer(tmp_path / "b", arch, loss, k, data=data, init_seed=99, checkpoint_every=6)
    resumed.fit(steps=12, resume=True)
    assert straight.epoch >= 1  # the run crossed an epoch boundary
    _assert_same_state(straight, resumed)
    # the log holds each step exactly once after the resume
    with open(tmp_path / "b" / "log.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == list(range(1, 13))
    ck = load_checkpoint(tmp_path / "b" / "checkpoint.pt")  # weights_only=True
    assert ck["step"] == 12 and torch.equal(ck["generator"]["net.0.weight"], straight.generator.net[0].weight)


def test_checkpoint_is_atomic(tmp_path, monkeypatch):
    tr = _trainer(tmp_path, checkpoint_every=5).fit(steps=5)
    path = tmp_path / "checkpoint.pt"
    before = path.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    real_save = torch.save

    def crash_mid_write(obj, f, *a, **kw):
        f.write(b"partial garbage")  # the temp file is half written, then the process "dies"
        raise KeyboardInterrupt("simulated crash during torch.save")

    monkeypatch.setattr(torch, "save", crash_mid_write)
    tr.train_step()
    with pytest.raises(KeyboardInterrupt):
        tr.save_checkpoint()
    monkeypatch.setattr(torch, "save", real_save)
    assert path.read_bytes() == before
    assert load_checkpoint(path)["step"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint.pt", "config.json", "discriminator.pt", "generator.pt", "log.csv", "samples"]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    tr = _trainer(tmp_path, checkpoint_every=5)
    tr.fit(steps=10)
    path = tmp_path / "checkpoint.pt"
    before = path.read_bytes()
    with torch.no_grad():
        tr.discriminator.net[-1].bias.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match=r"Non-finite discriminator loss \(nan\) at step 11 .*checkpoint"):
        tr.fit(steps=20)
    assert path.read_bytes() == before
    ck = load_checkpoint(path)
    assert ck["step"] == 10
    assert all(torch.isfinite(v).all() for v in ck["discriminator"].values())


def test_tiny_digits_run_learns(tmp_path):
    """300 steps of the MLP GAN on sklearn's 8x8 digits: generated images move toward the data."""
    from sklearn.datasets import load_digits

    data = torch.from_numpy(load_digits().images).float().div(16.0).unsqueeze(1)
    G = build_generator("mlp", latent_dim=8, width=64, image_shape=(1, 8, 8), seed=0)
    D = build_discriminator("mlp", width=64, image_shape=(1, 8, 8), seed=1)
    tr = Trainer(G, D, data, lr=1e-3, batch_size=64, seed=0, out_dir=tmp_path, checkpoint_every=100,
                 sample_every=150, n_samples=256, data_name="digits8")
    mean_img = data.mean(0)
    err0 = float((tr.sample().mean(0) - mean_img).abs().mean())
    tr.fit(steps=300)
    err1 = float((tr.sample().mean(0) - mean_img).abs().mean())
    assert err0 > 0.15 and err1 < err0 / 3, (err0, err1)
    with open(tmp_path / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 300
    # an untrained D outputs logits near 0, so the first D loss is 2 log 2; training moves it away
    assert float(rows[0]["d_loss"]) == pytest.approx(2 * math.log(2), abs=0.05)
    d_last = sum(float(r["d_loss"]) for r in rows[-20:]) / 20
    assert abs(d_last - 2 * math.log(2)) > 0.05, d_last
    g = torch.tensor([float(r["g_loss"]) for r in rows])
    assert float(g.std()) > 0.02 and torch.isfinite(g).all()
    assert (tmp_path / "samples" / "step_0000150.png").stat().st_size > 500
    # the export rebuilds: config.json + state_dicts give the same generator
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["steps"] == 300 and cfg["loss"]["name"] == "non-saturating" and cfg["data"]["name"] == "digits8"
    G2 = from_config(cfg["generator"], "generator")
    G2.load_state_dict(torch.load(tmp_path / "generator.pt", weights_only=True))
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(G2(z), tr.generator(z))


def test_trainer_validation(tmp_path):
    G = build_generator("mlp", latent_dim=4, width=8, seed=0)
    D = build_discriminator("mlp", width=8, seed=0)
    with pytest.raises(ValueError, match="'k' parameter of Trainer must be an int >= 1"):
        Trainer(G, D, random_images(), k=0)
    with pytest.raises(ValueError, match="'batch_size'.*exceeds the number of images"):
        Trainer(G, D, random_images(10), batch_size=32)
    with pytest.raises(ValueError, match="'data' parameter of Trainer must be an image tensor"):
        Trainer(G, D, torch.zeros(10, 64))
    with pytest.raises(ValueError, match="exactly one of 'steps' and 'epochs'"):
        Trainer(G, D, random_images()).fit()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Trainer(G, D, random_images(), out_dir=tmp_path).fit(steps=1, resume=tmp_path / "nope.pt")
