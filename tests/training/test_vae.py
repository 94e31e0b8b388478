"""The VAE prior (Bora et al. 2017's MNIST prior): its loss against independent formulas, exact resume,
loading as a prior, and the splits ILO uses."""

import json

import pytest
import torch

import ganprior
from ganprior.models import VAEDecoder, VAEEncoder, build_discriminator, from_config, list_architectures
from ganprior.solvers.ilo import default_cut
from ganprior.training.vae import VAETrainer, kl_to_standard_normal, load_vae_checkpoint, negative_elbo


def _binary_images(n=200, seed=0):
    """Random 8x8 'images' with structure: two prototypes plus flipped pixels, values in {0, 1}."""
    g = torch.Generator().manual_seed(seed)
    protos = (torch.rand(2, 1, 8, 8, generator=g) > 0.5).float()
    which = torch.randint(0, 2, (n,), generator=g)
    flip = (torch.rand(n, 1, 8, 8, generator=g) < 0.05).float()
    return (protos[which] - flip).abs()


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    mu, log_var = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * log_var).exp()),
                                            torch.distributions.Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(kl_to_standard_normal(mu, log_var), ref)
    assert torch.all(kl_to_standard_normal(torch.zeros(2, 4), torch.zeros(2, 4)) == 0)


def test_negative_elbo_is_bernoulli_nll_plus_kl():
    dec, enc = VAEDecoder(3, 16, (1, 4, 4), seed=0), VAEEncoder(3, 16, (1, 4, 4), seed=1)
    x = (torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(2)) > 0.5).float()
    eps = torch.randn(6, 3, generator=torch.Generator().manual_seed(3))
    loss, rec, kl = negative_elbo(dec, enc, x, eps)
    mu, log_var = enc(x)
    p = dec(mu + (0.5 * log_var).exp() * eps).reshape(6, -1).double()
    t = x.reshape(6, -1).double()
    nll = -(t * p.log() + (1 - t) * (1 - p).log()).sum(1)  # written out, from probabilities
    torch.testing.assert_close(rec.double(), nll.mean(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(loss, rec + kl)
    ref_kl = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * log_var).exp()),
                                               torch.distributions.Normal(0.0, 1.0)).sum(1).mean()
    loss_b, rec_b, kl_b = negative_elbo(dec, enc, x, eps, beta=0.25)  # the beta-VAE weighting
    assert torch.equal(rec_b, rec) and torch.equal(kl_b, kl)
    torch.testing.assert_close(loss_b.double(), nll.mean() + 0.25 * ref_kl.double(), rtol=1e-5, atol=1e-5)


def test_decoder_range_split_and_registry():
    dec = VAEDecoder(5, 12, (1, 6, 6), seed=0)
    z = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    x = dec(z).detach()
    assert x.shape == (4, 1, 6, 6) and float(x.min()) > 0 and float(x.max()) < 1
    torch.testing.assert_close(torch.sigmoid(dec.logits(z)).reshape(4, 1, 6, 6), x)
    for cut in range(1, 6):
        lower, upper = dec.split(cut)
        torch.testing.assert_close(upper(lower(z)), x)
    with pytest.raises(ValueError, match="'cut' parameter of VAEDecoder.split must be an int in \\[1, 5\\]"):
        dec.split(6)
    G = ganprior.Generator(dec)
    assert G.output_range == (0.0, 1.0) and default_cut(G) == 2  # after the first softplus
    rebuilt = from_config(dec.config)
    rebuilt.load_state_dict(dec.state_dict())
    assert torch.equal(rebuilt(z), x)
    assert "vae-mlp" not in list_architectures()  # GAN architectures only: it has no discriminator
    with pytest.raises(ValueError, match="'arch' parameter of build_discriminator"):
        build_discriminator("vae-mlp")


def test_training_lowers_the_loss_and_resumes_bitwise(tmp_path):
    x = _binary_images()
    kw = dict(latent_dim=2, width=32, batch_size=20, lr=3e-3, seed=4)
    ref = VAETrainer(x, **kw)
    with torch.no_grad():
        start = float(negative_elbo(ref.decoder, ref.encoder, x, torch.zeros(len(x), 2))[0])
    ref.fit(steps=150)
    with torch.no_grad():
        end = float(negative_elbo(ref.decoder, ref.encoder, x, torch.zeros(len(x), 2))[0])
    assert end < 0.5 * start  # 64 pixels at ~0.69 nats each before; two prototypes are easy to encode
    a = VAETrainer(x, **kw, out_dir=tmp_path / "run", checkpoint_every=40)
    a.fit(steps=90)  # stops mid-epoch (10 steps an epoch)
    (tmp_path / "at90.pt").write_bytes((tmp_path / "run" / "checkpoint.pt").read_bytes())
    b = VAETrainer(x, **kw, out_dir=tmp_path / "run", checkpoint_every=40).fit(steps=150, resume=True)
    assert b.step == 150
    for key, value in ref.decoder.state_dict().items():
        assert torch.equal(b.decoder.state_dict()[key], value), key
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert rows[0] == "step,epoch,loss,reconstruction,kl,seconds" and len(rows) == 151
    # the loop the GAN trainer shares: resume from a named checkpoint into another folder, grids per step
    c = VAETrainer(x, **kw, out_dir=tmp_path / "other", sample_every=50)
    c.fit(steps=150, resume=tmp_path / "at90.pt")
    assert c.step == 150 and all(torch.equal(c.decoder.state_dict()[k], v) for k, v in ref.decoder.state_dict().items())
    assert sorted(p.name for p in (tmp_path / "other" / "samples").iterdir()) == [
        "latest.png", "step_0000100.png", "step_0000150.png"]
    with pytest.raises(FileNotFoundError, match="'resume' does not exist"):
        VAETrainer(x, **kw).fit(steps=1, resume=tmp_path / "missing.pt")


def test_run_folder_loads_as_a_prior(tmp_path):
    x = _binary_images(100)
    t = VAETrainer(x, latent_dim=3, width=16, batch_size=25, seed=0, out_dir=tmp_path / "vae", data_name="toy",
                   command="python -m ganprior train-vae ...").fit(epochs=2)
    G = ganprior.load_prior(tmp_path / "vae")
    z = torch.randn(3, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(G(z), t.decoder.eval()(z))  # served in [0, 1] as it is: output_range = data_range
    cfg = json.loads((tmp_path / "vae" / "config.json").read_text())
    assert cfg["format"] == "ganprior-vae/1" and cfg["steps"] == 8 and cfg["data"] == {"name": "toy", "n_images": 100}
    with pytest.raises(ValueError, match="has no discriminator \\(a VAE's decoder"):
        ganprior.load_discriminator(tmp_path / "vae")


def test_checkpoint_checks(tmp_path):
    x = _binary_images(60)
    t = VAETrainer(x, latent_dim=2, width=8, batch_size=20, seed=0, out_dir=tmp_path / "r").fit(steps=3)
    path = tmp_path / "r" / "checkpoint.pt"
    assert load_vae_checkpoint(path)["step"] == 3
    with pytest.raises(ValueError, match="its settings differ from this run's \\(width: 8 there, 9 here\\)"):
        VAETrainer(x, latent_dim=2, width=9, batch_size=20, seed=0, out_dir=tmp_path / "r").fit(steps=5, resume=True)
    state = torch.load(path, weights_only=True)
    state["step"] = 4  # content changed, checksum not
    torch.save(state, path)
    with pytest.raises(ValueError, match="is corrupted: its content does not match its SHA-256"):
        t.load_checkpoint()
    torch.save({"generator": {}}, path)
    with pytest.raises(ValueError, match="is not a VAE trainer checkpoint"):
        t.load_checkpoint()
    # a checkpoint written before 'beta' existed resumes as beta = 1 (what it was trained with), not otherwise
    old = t.state_dict()
    del old["settings"]["beta"]
    VAETrainer(x, latent_dim=2, width=8, batch_size=20, seed=0).load_state_dict(old)
    with pytest.raises(ValueError, match="beta: 1.0 there, 0.5 here"):
        VAETrainer(x, latent_dim=2, width=8, batch_size=20, seed=0, beta=0.5).load_state_dict(old)


@pytest.mark.parametrize("kwargs, match", [
    (dict(data=torch.rand(10, 64)), "'data' parameter of VAETrainer must be a tensor of images \\(N, C, H, W\\)"),
    (dict(data=torch.rand(10, 1, 4, 4) * 2), "must hold pixels in \\[0, 1\\]"),
    (dict(data=torch.rand(10, 1, 4, 4), batch_size=11), "'batch_size' parameter of VAETrainer must be at most"),
    (dict(data=torch.rand(10, 1, 4, 4), batch_size=5, lr=0.0), "'lr' parameter of VAETrainer must be > 0"),
    (dict(data=torch.rand(10, 1, 4, 4), batch_size=5, beta=0.0), "'beta' parameter of VAETrainer must be a real number > 0.0. Got 0.0"),
])
def test_bad_input_is_named(kwargs, match):
    data = kwargs.pop("data")
    with pytest.raises(ValueError, match=match):
        VAETrainer(data, **kwargs)
    with pytest.raises(ValueError, match="exactly one of 'steps' and 'epochs'"):
        VAETrainer(torch.rand(10, 1, 4, 4), batch_size=5).fit()


def test_command_line(tmp_path, monkeypatch):
    from ganprior.cli import main

    out = tmp_path / "cli"
    argv = ["train-vae", "--data", "digits8", "--steps", "5", "--latent-dim", "3", "--width", "8", "--batch-size",
            "50", "--out", str(out)]
    monkeypatch.setattr("sys.argv", ["ganprior", *argv])  # what the recorded command is made from
    assert main(argv) == 0
    cfg = ganprior.priors.prior_config(out)
    assert cfg["steps"] == 5 and cfg["latent_shape"] == [3]
    assert cfg["command"].startswith("python -m ganprior train-vae --data digits8")
