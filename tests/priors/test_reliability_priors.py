"""Reliability of exported prior folders (issue 39, class 9): damaged weight and config files are named, an
exported generator.pt carries a checksum as checkpoints do, and a prior's solver recipe is checked whole when the
prior loads, naming the file and the key."""

import json
import shutil
import zipfile

import pytest
import torch

import ganprior
from ganprior.models import build_discriminator, build_generator
from ganprior.priors import PRIOR_DIR, load_discriminator, load_prior, prior_config, recipe_for
from ganprior.training import Trainer


def _copy(name, tmp_path):
    folder = tmp_path / name
    shutil.copytree(PRIOR_DIR / name, folder)
    return folder


def _export(tmp_path):
    """A tiny GAN trained for 2 steps and exported: config.json, generator.pt, discriminator.pt."""
    G = build_generator("mlp", latent_dim=4, width=16, image_shape=(1, 8, 8), seed=0)
    D = build_discriminator("mlp", width=16, image_shape=(1, 8, 8), seed=1)
    data = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    t = Trainer(G, D, data, batch_size=32, seed=0, out_dir=tmp_path / "run", sample_every=0, checkpoint_every=0)
    t.fit(steps=2)
    out = t.export(tmp_path / "exported")
    return out


def _flip_one_bit(path):
    """Flip one bit in the middle of the largest tensor stored in a torch file (its bytes are stored as they are)."""
    with zipfile.ZipFile(path) as z:
        info = max(z.infolist(), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    raw[start + info.file_size // 2] ^= 0x10
    path.write_bytes(bytes(raw))


def _edit_config(folder, edit):
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config, indent=2))


def test_a_truncated_weight_file_is_named(tmp_path):
    folder = _copy("mnist", tmp_path)
    for name, load in (("generator.pt", load_prior), ("discriminator.pt", load_discriminator)):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
        with pytest.raises(ValueError, match=f"Cannot read .*{folder / name}.*corrupted"):
            load(folder)


@pytest.mark.parametrize("text, match", [
    ("{not json", r"config.json.* is not valid JSON \(line 1"),
    ("[1, 2]", r"config.json.* must hold a JSON object .*Got \[1, 2\] \(list\)"),
    ('{"latent_shape": [4], "image_shape": [1, 8, 8]}', r"config.json.* has no 'generator' entry"),
    ('{"generator": {"arch": "mlp", "kwargs": {}}, "image_shape": [1, 8, 8]}',
     r"config.json.* has no 'latent_shape' entry"),
])
def test_a_malformed_config_is_named_with_what_was_expected(tmp_path, text, match):
    folder = _copy("mnist-k20", tmp_path)
    (folder / "config.json").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_prior(folder)
    if "JSON" in match:
        with pytest.raises(ValueError, match=match):
            prior_config(folder)


def test_a_flipped_bit_in_an_exported_prior_is_caught_by_its_checksum(tmp_path):
    folder = _export(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    assert set(config["weights_sha256"]) == {"generator.pt", "discriminator.pt"}
    reference = load_prior(folder)
    z = reference.sample_latent(3, seed=0)
    for name, load in (("generator.pt", load_prior), ("discriminator.pt", load_discriminator)):
        copy = tmp_path / f"flip-{name}"
        shutil.copytree(folder, copy)
        _flip_one_bit(copy / name)
        torch.load(copy / name, weights_only=True)
        with pytest.raises(ValueError, match=f"{copy / name}.* does not match the checksum recorded in .*config.json"):
            load(copy)
    # an exported folder without a recorded checksum (an earlier version's) still loads
    _edit_config(folder, lambda c: c.pop("weights_sha256"))
    assert torch.equal(load_prior(folder)(z), reference(z))


def test_the_bundled_priors_carry_checksums_that_catch_a_flipped_bit(tmp_path):
    for name in ganprior.list_priors():
        config = prior_config(name)
        weights = {"generator.pt"} | ({"discriminator.pt"} if config.get("discriminator") else set())
        assert set(config.get("weights_sha256", {})) == weights, name
    folder = _copy("mnist", tmp_path)
    _flip_one_bit(folder / "generator.pt")
    with pytest.raises(ValueError, match="does not match the checksum"):
        load_prior(folder)


def test_a_vae_export_records_the_checksum_of_its_decoder(tmp_path):
    from ganprior.training.vae import VAETrainer

    x = (torch.rand(50, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    VAETrainer(x, latent_dim=3, width=16, batch_size=25, seed=0, out_dir=tmp_path / "vae").fit(epochs=1)
    assert "generator.pt" in json.loads((tmp_path / "vae" / "config.json").read_text())["weights_sha256"]
    _flip_one_bit(tmp_path / "vae" / "generator.pt")
    with pytest.raises(ValueError, match="does not match the checksum"):
        load_prior(tmp_path / "vae")


@pytest.mark.parametrize("edit, match", [
    (lambda r: r["recover"].update(lamda=0.5), r"recover.lamda is not a recipe key"),
    (lambda r: r["inpaint"].update(windw=5), r"inpaint.windw is not a recipe key"),
    (lambda r: r["recover"]["methods"]["ilo"].update(raduis=1.0),
     r"recover.methods.ilo.raduis is not an argument of the method 'ilo'"),
    (lambda r: r["recover"]["methods"].update(ilo2={"cut": 3}), r"recover.methods.ilo2: 'ilo2' is not a method"),
    (lambda r: r["recover"]["methods"]["ilo"].update(cut=99), r"recover.methods.ilo.cut.*\[1, 7\].*Got 99"),
    (lambda r: r["recover"]["methods"]["ilo"].update(cut=[{"m_max": 10, "cut": 3}, {"m_max": None, "cut": 2.5}]),
     r"recover.methods.ilo.cut\[1\].cut must be an int"),
    (lambda r: r["recover"]["methods"]["ilo"].update(warmup=1.5), r"recover.methods.ilo.warmup.*\[0, 1\]"),
    (lambda r: r["recover"]["methods"]["sparse-gen"].update(basis="dtc"), r"recover.methods.sparse-gen.basis"),
    (lambda r: r["recover"]["methods"]["sparse-gen"].update(nu_steps=0), r"recover.methods.sparse-gen.nu_steps"),
    (lambda r: r["inpaint"].update(window=4), r"inpaint.window must be an odd int"),
    (lambda r: r["inpaint"].update(blend="posson"), r"inpaint.blend must be one of"),
])
def test_a_bad_recipe_is_refused_when_the_prior_loads_naming_the_file_and_the_key(tmp_path, edit, match):
    folder = _copy("mnist", tmp_path)
    _edit_config(folder, lambda c: edit(c["recipe"]))
    with pytest.raises(ValueError, match=r"Invalid solver recipe in '.*config.json': " + match):
        load_prior(folder)
    if "99" not in match:  # a cut beyond the generator's layers needs the generator: checked by load_prior
        with pytest.raises(ValueError, match=r"Invalid solver recipe in '.*config.json': " + match):
            recipe_for(folder, "recover", m=100)
