"""Reliability of the trainer (issue 15): checksummed checkpoints, refused hyperparameter changes on resume,
stale temp files and file modes, bad counts on the command line, clear errors for malformed models and files."""

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import pytest
import torch
from conftest import REPO_ROOT, random_images
from torch import nn

from ganprior.models import build_discriminator, build_generator
from ganprior.training import Trainer, cli, load_checkpoint


def _models(seed=0, width=16):
    G = build_generator("mlp", latent_dim=4, width=width, image_shape=(1, 8, 8), seed=seed)
    D = build_discriminator("mlp", width=width, image_shape=(1, 8, 8), seed=seed + 1)
    return G, D


def _trainer(out, *, D=None, G=None, **kw):
    g, d = _models()
    for key, value in (("batch_size", 32), ("seed", 7), ("sample_every", 0), ("checkpoint_every", 0)):
        kw.setdefault(key, value)
    return Trainer(G or g, D or d, kw.pop("data", random_images()), out_dir=out, **kw)


# ---------------------------------------------------------------- fault 4: checksums
def test_checkpoint_carries_a_checksum_verified_on_load(tmp_path):
    tr = _trainer(tmp_path).fit(steps=3)
    path = tmp_path / "checkpoint.pt"
    raw = path.read_bytes()
    assert torch.load(path, weights_only=True)["sha256"]  # stored inside the (still plain torch) file
    good = load_checkpoint(path)
    assert "sha256" not in good and good["step"] == 3
    reference = tr.state_dict()
    bad = tmp_path / "bad.pt"
    outcomes = {"checksum": 0, "unreadable": 0, "unchanged": 0}
    caught_by_checksum = []
    for offset in range(0, len(raw) - 1, len(raw) // 200):  # two bytes flipped, 200 places over the file
        corrupt = bytearray(raw)
        corrupt[offset] ^= 0x5A
        corrupt[offset + 1] ^= 0xA5
        bad.write_bytes(bytes(corrupt))
        try:
            state = load_checkpoint(bad)
        except ValueError as e:
            assert str(bad) in str(e)  # the message names the file
            outcomes["checksum" if "checksum" in str(e) else "unreadable"] += 1
            if "checksum" in str(e):
                caught_by_checksum.append(bytes(corrupt))
            continue
        # a flip in zip padding changes nothing that is read back: the content must be intact
        for key in ("generator", "discriminator"):
            for name, value in reference[key].items():
                assert torch.equal(state[key][name], value), (offset, key, name)
        outcomes["unchanged"] += 1
    assert outcomes["checksum"] > 100, outcomes  # tensor bytes: only the checksum can tell
    bad.write_bytes(caught_by_checksum[len(caught_by_checksum) // 2])
    with pytest.raises(ValueError, match=r"checkpoint '.*bad.pt' is corrupted: .*SHA-256"):
        _trainer(tmp_path).fit(steps=5, resume=bad)


def test_checkpoint_without_checksum_loads_with_a_warning(tmp_path):
    tr = _trainer(tmp_path)
    old_style = tmp_path / "old.pt"
    torch.save(tr.state_dict(), old_style)  # what earlier versions wrote
    with pytest.warns(UserWarning, match="no checksum"):
        assert load_checkpoint(old_style)["step"] == 0


# ---------------------------------------------------------------- fault 8: not a checkpoint / malformed models
def test_resume_from_a_plain_state_dict_says_what_a_checkpoint_holds(tmp_path):
    tr = _trainer(tmp_path / "run").fit(steps=2)
    exported = tmp_path / "run" / "generator.pt"
    for call in (lambda: load_checkpoint(exported),
                 lambda: _trainer(tmp_path / "run").fit(steps=4, resume=exported),
                 lambda: tr.load_state_dict(tr.generator.state_dict())):
        with pytest.raises(ValueError, match=r"is not a trainer checkpoint: .*generator, discriminator, opt_g"):
            call()
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match=r"Cannot read the checkpoint .*junk.pt"):
        load_checkpoint(junk)
    with pytest.raises(ValueError, match=r"is not a trainer checkpoint: .*; got \[1, 2\] \(list\)"):
        torch.save([1, 2], junk)
        load_checkpoint(junk)
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")


def test_resume_with_another_architecture_is_a_clear_error(tmp_path):
    _trainer(tmp_path).fit(steps=2)
    G, D = _models(width=8)
    with pytest.raises(ValueError, match=r"holds a generator that does not fit .*another architecture"):
        Trainer(G, D, random_images(), batch_size=32, seed=7, out_dir=tmp_path,
                sample_every=0).fit(steps=4, resume=True)


class _TwoLogits(nn.Module):
    def __init__(self, out=2):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, out))

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize("loss", ["non-saturating", "wgan-gp"])
def test_discriminator_with_wrong_output_shape(tmp_path, loss):
    with pytest.raises(ValueError, match=r"one logit per image, shape \(B,\) or \(B, 1\).*32 images.*\(32, 2\)"):
        _trainer(tmp_path, D=_TwoLogits(), loss=loss).train_step()
    _trainer(tmp_path, D=_TwoLogits(1), loss=loss).train_step()  # (B, 1) is one logit per image


def test_generator_with_wrong_image_shape(tmp_path):
    G = build_generator("mlp", latent_dim=4, width=16, image_shape=(1, 6, 6), seed=0)
    with pytest.raises(ValueError, match=r"data's shape \(B, 1, 8, 8\). It returned shape \(32, 1, 6, 6\)"):
        _trainer(tmp_path, G=G).train_step()


# ---------------------------------------------------------------- fault 3: changed hyperparameters on resume
@pytest.mark.parametrize("change, keys", [
    ({"lr": 1e-3}, ["lr", "lr_d"]),
    ({"loss": "lsgan"}, ["loss"]),
    ({"batch_size": 16}, ["batch_size"]),
    ({"seed": 8}, ["seed"]),
    ({"k": 2, "betas": (0.0, 0.9)}, ["k", "betas"]),
    ({"data": random_images(150)}, ["data"]),
])
def test_resume_refuses_changed_hyperparameters(tmp_path, change, keys):
    _trainer(tmp_path).fit(steps=3)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match="other hyperparameters") as info:
        _trainer(tmp_path, **change).fit(steps=6, resume=True)
    msg = str(info.value)
    for key in keys:
        assert f"{key}: " in msg, (key, msg)
    assert "allow_changed_config=True" in msg and "--allow-changed-config" in msg
    assert (tmp_path / "checkpoint.pt").read_bytes() == before  # nothing was written
    # device, memory format and process count are not hyperparameters
    _trainer(tmp_path, channels_last=True).fit(steps=4, resume=True)


def test_allowed_change_takes_effect_and_is_recorded(tmp_path):
    _trainer(tmp_path).fit(steps=3)
    tr = _trainer(tmp_path, lr=1e-3, lr_d=5e-4, betas=(0.0, 0.9), seed=9, allow_changed_config=True)
    with pytest.warns(UserWarning, match=r"changed hyperparameters: .*lr 0.0002 -> 0.001"):
        tr.fit(steps=5, resume=True)
    assert tr.step == 5
    for opt, lr in ((tr.opt_g, 1e-3), (tr.opt_d, 5e-4)):
        assert [g["lr"] for g in opt.param_groups] == [lr] and opt.param_groups[0]["betas"] == (0.0, 0.9)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["hyperparameters"]["lr"] == 1e-3 and config["hyperparameters"]["seed"] == 9
    (change,) = config["resumed_with_changes"]
    assert change["step"] == 3 and change["changed"]["lr"] == {"checkpoint": 2e-4, "now": 1e-3}
    # the checkpoint now holds the new values: resuming with them needs no permission
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = _trainer(tmp_path, lr=1e-3, lr_d=5e-4, betas=(0.0, 0.9), seed=9)
        again.fit(steps=6, resume=True)
    assert again.opt_g.param_groups[0]["lr"] == 1e-3 and len(again.config_changes) == 1


def test_cli_resume_with_changed_lr(tmp_path):
    base = ["--data", "digits8", "--steps", "2", "--batch-size", "32", "--width", "8", "--latent-dim", "4",
            "--checkpoint-every", "1", "--sample-every", "0", "--out", str(tmp_path)]
    parser = cli.add_arguments(argparse.ArgumentParser())
    cli.main(parser.parse_args(base))
    with pytest.raises(ValueError, match=r"lr: 0.0002 in the checkpoint, 0.001 now"):
        cli.main(parser.parse_args([*base[:3], "3", *base[4:], "--resume", "--lr", "1e-3"]))
    with pytest.warns(UserWarning, match="changed hyperparameters"):
        cli.main(parser.parse_args([*base[:3], "3", *base[4:], "--resume", "--lr", "1e-3",
                                    "--allow-changed-config"]))
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["steps"] == 3 and config["hyperparameters"]["lr"] == 1e-3


# ---------------------------------------------------------------- fault 6: nonsense counts on the command line
@pytest.mark.parametrize("option, value, message", [
    ("--limit", "-5", "must be an int >= 1. Got -5"),
    ("--limit", "0", "must be an int >= 1. Got 0"),
    ("--latent-dim", "0", "must be an int >= 1. Got 0"),
    ("--threads", "0", "must be an int >= 1. Got 0"),
    ("--batch-size", "0", "must be an int >= 1"),
    ("--k", "0", "must be an int >= 1"),
    ("--width", "-1", "must be an int >= 1"),
    ("--d-width", "0", "must be an int >= 1"),
    ("--image-size", "0", "must be an int >= 1"),
    ("--steps", "-1", "must be an int >= 0"),
    ("--seed", "-3", "must be an int >= 0"),
    ("--checkpoint-every", "-1", "must be an int >= 0"),
    ("--sample-every", "-1", "must be an int >= 0"),
    ("--steps", "2.5", "must be an int >= 0. Got '2.5'"),
    ("--epochs", "-1", "must be a finite number >= 0"),
    ("--epochs", "nan", "must be a finite number >= 0"),
    ("--lr", "0", "must be a finite number > 0"),
    ("--lr", "inf", "must be a finite number > 0"),
    ("--lr-d", "-1e-4", "must be a finite number > 0"),
    ("--smoothing", "1", "must be a finite number >= 0 and < 1"),
    ("--gp-weight", "-1", "must be a finite number >= 0"),
])
def test_cli_rejects_nonsense_counts(capsys, option, value, message):
    parser = cli.add_arguments(argparse.ArgumentParser(prog="train"))
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--data", "digits8", "--out", "x", f"{option}={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: {message}" in err, err


def test_cli_rejects_betas_outside_unit_interval(capsys):
    parser = cli.add_arguments(argparse.ArgumentParser(prog="train"))
    with pytest.raises(SystemExit):
        parser.parse_args(["--data", "digits8", "--out", "x", "--betas", "0.5", "1.0"])
    assert "argument --betas: must be a finite number >= 0 and < 1. Got 1.0" in capsys.readouterr().err


def test_train_subcommand_rejects_negative_limit(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ganprior", "train", "--data", "digits8", "--limit", "-5",
                           "--steps", "1", "--out", str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 2 and "argument --limit: must be an int >= 1. Got -5" in proc.stderr, proc.stderr
    assert not (tmp_path / "run").exists()


def test_load_dataset_limit():
    assert cli.load_dataset("digits8", limit=5).shape[0] == 5
    assert cli.load_dataset("digits8").shape[0] == 1797
    for bad in (0, -5):
        with pytest.raises(ValueError, match="'limit' parameter of load_dataset must be an int >= 1"):
            cli.load_dataset("digits8", limit=bad)


# ---------------------------------------------------------------- fault 7: stale temp files and file modes
_KILLED_WRITER = textwrap.dedent("""
    import sys, time, torch
    from ganprior.models import build_discriminator, build_generator
    from ganprior.training import Trainer
    G = build_generator("mlp", latent_dim=4, width=16, image_shape=(1, 8, 8), seed=0)
    D = build_discriminator("mlp", width=16, image_shape=(1, 8, 8), seed=1)
    data = torch.rand(200, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    tr = Trainer(G, D, data, batch_size=32, seed=7, out_dir=sys.argv[1], sample_every=0, checkpoint_every=0)
    tr.fit(steps=2)
    def hang(obj, f, *a, **k):
        f.write(b"x" * 100000)
        f.flush()
        print("writing", flush=True)
        time.sleep(600)
    torch.save = hang
    tr.train_step()
    tr.save_checkpoint()
""")


def _kill_during_checkpoint_write(out):
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(out)], stdout=subprocess.PIPE, text=True,
                            cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    return [p for p in out.iterdir() if p.name.startswith(".checkpoint.pt.") and p.name.endswith(".tmp")]


def test_temp_file_of_a_killed_writer_is_removed_on_the_next_start(tmp_path):
    left = _kill_during_checkpoint_write(tmp_path)
    assert len(left) == 1 and left[0].stat().st_size >= 100000  # the kill -9 left it behind
    tr = _trainer(tmp_path, seed=7)
    tr.fit(steps=2, resume=True)  # nothing to do but export: the start alone cleans up
    assert not left[0].exists()
    assert tr.step == 2 and load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 2
    # the next save of the same file cleans up too, without a new start
    left = _kill_during_checkpoint_write(tmp_path)
    assert len(left) == 1
    tr.save_checkpoint()
    assert not left[0].exists()


def test_stale_temp_cleanup_spares_live_writers_and_other_files(tmp_path):
    from ganprior.training import _io
    from ganprior.training._io import remove_stale_temp_files

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    host = _io._HOST
    names = {
        f".checkpoint.pt.{host}.{dead}.abcd1234.tmp": False,  # dead writer on this host: removed
        f".checkpoint.pt.{host}.{os.getpid()}.abcd1234.tmp": True,  # this process
        f".checkpoint.pt.{host}.{os.getppid()}.abcd1234.tmp": True,  # a live process
        f".checkpoint.pt.{host}x.{dead}.abcd1234.tmp": True,  # another host: cannot tell
        ".checkpoint.pt.q1w2e3r4.tmp": True,  # an earlier version's name, recent
        ".config.json.z9y8x7w6.tmp": False,  # an earlier version's name, two hours old
        "checkpoint.pt": True,
        "notes.tmp": True,
    }
    for name in names:
        (tmp_path / name).write_text("x")
    old = time.time() - 7200
    os.utime(tmp_path / ".config.json.z9y8x7w6.tmp", (old, old))
    assert remove_stale_temp_files(tmp_path, "generator.pt") == []  # only the temp files of that target
    removed = remove_stale_temp_files(tmp_path)
    assert sorted(p.name for p in removed) == sorted(n for n, keep in names.items() if not keep)
    assert all((tmp_path / n).exists() == keep for n, keep in names.items())


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_get_the_umask_mode(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        _trainer(tmp_path, sample_every=1).fit(steps=1)
    finally:
        os.umask(previous)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"checkpoint.pt", "config.json", "generator.pt", "discriminator.pt",
                                      "log.csv", "latest.png", "step_0000001.png"}
    for p in files:
        assert p.stat().st_mode & 0o777 == mode, (p.name, oct(p.stat().st_mode))
    # a file that exists keeps its mode when rewritten, as with a plain open()
    ck = tmp_path / "checkpoint.pt"
    ck.chmod(0o640)
    _trainer(tmp_path).fit(steps=2, resume=True)
    assert ck.stat().st_mode & 0o777 == 0o640
