"""The command line fails fast and clearly: bad counts, unwritable outputs, failed solves (issue 15, faults 1, 5, 6)."""

import numpy as np
import pytest
import torch

import ganprior
from ganprior.cli import main


@pytest.mark.parametrize("argv, message", [
    (["inpaint", "--n", "-3"], "argument --n: expected >= 1, got '-3'"),
    (["demo", "--n", "-298"], "argument --n: expected >= 1, got '-298'"),
    (["demo", "--threads", "0"], "argument --threads: expected >= 1, got '0'"),
    (["demo", "--restarts", "0"], "argument --restarts: expected >= 1, got '0'"),
    (["demo", "--lr", "nan"], "argument --lr: expected a finite number"),
    (["inpaint", "--missing", "1.5"], "argument --missing: expected a fraction in \\(0, 1\\)"),
    (["recover", "--y", "y.npy", "--A", "A.npy", "--method", "csgn", "--out", "x.npy"], "invalid choice: 'csgn'"),
])
def test_nonsense_counts_are_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert pytest.importorskip("re").search(message, capsys.readouterr().err)


@pytest.mark.parametrize("argv, message", [
    (["recover", "--y", "{y}", "--A", "{A}", "--out", "/nonexistent/x.npy"], "folder that does not exist"),
    (["recover", "--y", "{y}", "--A", "{A}", "--out", "{tmp}/x.txt"], "must end in .npy"),
    (["recover", "--y", "{tmp}/missing.npy", "--A", "{A}", "--out", "{tmp}/x.npy"], "no such file"),
    (["inpaint", "--out", "{tmp}/f.txt"], "must end in .png"),
    (["demo", "--out", "{tmp}/fig.png"], "is a folder, not a file"),
    (["recover", "--images", "{tmp}/none", "--measurements", "5", "--out", "{tmp}/o"], "no such folder or file"),
])
def test_outputs_are_checked_before_any_work(argv, message, tmp_path, monkeypatch):
    np.save(tmp_path / "y.npy", np.zeros(5))
    np.save(tmp_path / "A.npy", np.zeros((5, 784)))
    (tmp_path / "fig.png").mkdir()
    monkeypatch.setattr(ganprior, "recover", lambda *a, **k: pytest.fail("the computation started"))
    argv = [a.format(y=tmp_path / "y.npy", A=tmp_path / "A.npy", tmp=tmp_path) for a in argv]
    with pytest.raises(SystemExit, match=message):
        main(argv)


class _NaN(torch.nn.Module):
    latent_shape = (4,)

    def forward(self, z):
        return (z.sum(dim=1) * float("nan")).view(-1, 1, 1, 1).expand(-1, 1, 28, 28)


def test_a_nan_generator_is_reported_by_inpaint_and_the_cli(tmp_path, monkeypatch, capsys):
    G = ganprior.Generator(_NaN())
    x = ganprior.data.load_sample("mnist_test300")[:2]
    mask = ganprior.masks.center_mask(x.shape)
    with pytest.raises(FloatingPointError, match=r"every restart of problem\(s\) \[0, 1\] produced a non-finite"):
        ganprior.inpaint(x, mask, G, restarts=2, steps=3, seed=0)
    from ganprior import priors

    monkeypatch.setattr(priors, "load_prior", lambda name, device=None: G)
    code = main(["inpaint", "--prior", "mnist", "--no-discriminator", "--n", "2", "--restarts", "1", "--steps", "2",
                 "--threads", "1", "--out", str(tmp_path / "f.png")])
    assert code == 2 and "the latent search failed" in capsys.readouterr().err
    np.save(tmp_path / "y.npy", np.zeros(5, dtype=np.float32))
    np.save(tmp_path / "A.npy", np.ones((5, 784), dtype=np.float32))
    code = main(["recover", "--y", str(tmp_path / "y.npy"), "--A", str(tmp_path / "A.npy"), "--restarts", "1",
                 "--steps", "2", "--out", str(tmp_path / "x.npy")])
    assert code == 2 and not (tmp_path / "x.npy").exists()


# ------------------------------------------------------------------ issue 39: every user error is one line, status 2
def _bad_files(tmp):
    from PIL import Image

    for name in ("pngs", "trunc", "empty", "hidden_only"):
        (tmp / name).mkdir()
    for i in range(2):
        Image.fromarray(np.full((28, 28), 40 * i, dtype=np.uint8)).save(tmp / "pngs" / f"d{i}.png")
    good = (tmp / "pngs" / "d1.png").read_bytes()
    (tmp / "trunc" / "a.png").write_bytes(good)
    (tmp / "trunc" / "bad.png").write_bytes(good[: len(good) // 2])
    (tmp / "hidden_only" / "._a.png").write_bytes(b"\x00\x05\x16\x07")
    np.save(tmp / "y.npy", np.zeros(5, dtype=np.float32))
    np.save(tmp / "A.npy", np.zeros((5, 784), dtype=np.float32))
    np.save(tmp / "x.npy", np.zeros((2, 1, 28, 28), dtype=np.float32))
    (tmp / "garbage.npy").write_bytes(b"not an array")


IMG = ["--measurements", "20", "--restarts", "1", "--steps", "1", "--threads", "1"]
NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")


@pytest.mark.parametrize("argv, names", [
    (["priors", "--bogus"], "--bogus"),
    (["methods", "extra"], "extra"),
    (["demo", "--n", "0"], "--n"),
    (["demo", "--m", "10", "x"], "--m"),
    (["demo", "--out", "{tmp}/none/f.png"], "--out"),
    (["recover", "--y", "{tmp}/y.npy"], "--out"),
    (["recover", "--y", "{tmp}/y.npy", "--A", "{tmp}/A.npy", "--out", "{tmp}/y.npy"], "--out"),
    (["recover", "--y", "{tmp}/y.npy", "--A", "{tmp}/A.npy", "--out", "{tmp}/A.npy"], "--out"),
    (["recover", "--y", "{tmp}/garbage.npy", "--A", "{tmp}/A.npy", "--out", "{tmp}/o.npy"], "garbage.npy"),
    (["recover", "--images", "{tmp}/trunc", *IMG, "--out", "{tmp}/o"], "bad.png"),
    (["recover", "--images", "{tmp}/empty", *IMG, "--out", "{tmp}/o"], "empty"),
    (["recover", "--images", "{tmp}/hidden_only", *IMG, "--out", "{tmp}/o"], "hidden_only"),
    (["recover", "--images", "{tmp}/garbage.npy", *IMG, "--out", "{tmp}/o"], "garbage.npy"),
    (["recover", "--images", "{tmp}/x.npy", *IMG, "--method", "lasso", "--image-shape", "784", "--out", "{tmp}/o"],
     "--image-shape"),
    (["recover", "--images", "{tmp}/pngs", *IMG, "--out", "{tmp}/pngs"], "--out"),
    (["recover", "--images", "{tmp}/pngs", *IMG, "--out", "{tmp}/pngs/sub"], "--out"),
    (["recover", "--images", "{tmp}/x.npy", *IMG, "--prior", "{tmp}/no_prior", "--out", "{tmp}/o"], "no_prior"),
    pytest.param(["inpaint", "--device", "cuda", "--out", "{tmp}/f.png"], "--device", marks=NO_GPU),
    (["inpaint", "--device", "tpu9", "--out", "{tmp}/f.png"], "--device"),
    (["inpaint", "--mask", "center", "--missing", "0.5", "--out", "{tmp}/f.png"], "--missing"),
    (["inpaint", "--prior", "mnist", "--no-discriminator", "--mask", "random", "--missing", "0.9999", "--n", "1",
      "--restarts", "1", "--steps", "1", "--threads", "1", "--out", "{tmp}/f.png"], "--missing"),
    (["train", "--data", "{tmp}/trunc", "--steps", "1", "--out", "{tmp}/t"], "bad.png"),
    (["train", "--data", "{tmp}/hidden_only", "--steps", "1", "--out", "{tmp}/t"], "hidden_only"),
    (["train", "--data", "no_such_data", "--steps", "1", "--out", "{tmp}/t"], "--data"),
    pytest.param(["train", "--data", "digits8", "--device", "cuda", "--out", "{tmp}/t"], "--device", marks=NO_GPU),
    (["train-vae", "--data", "{tmp}/empty", "--steps", "1", "--out", "{tmp}/t"], "empty"),
    (["train-vae", "--data", "digits8", "--epochs", "1", "--steps", "1", "--out", "{tmp}/t"], "--steps"),
    pytest.param(["train-vae", "--data", "digits8", "--device", "cuda", "--out", "{tmp}/t"], "--device",
                 marks=NO_GPU),
])
def test_every_subcommand_reports_a_user_error_in_one_line_with_status_2(argv, names, tmp_path, capsys):
    _bad_files(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:  # any other exception is a traceback
        main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2, (info.value.code, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err and names in err, err
    assert {p: p.read_bytes() for p in before} == before  # no input overwritten


def test_no_traceback_from_the_console_script(tmp_path):
    import subprocess
    import sys

    _bad_files(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "ganprior", "recover", "--images", str(tmp_path / "trunc"), *IMG,
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "bad.png" in proc.stderr and "Traceback" not in proc.stderr


def test_out_with_an_upper_case_suffix_is_written_where_it_says(tmp_path, capsys):
    np.save(tmp_path / "y.npy", np.zeros(5))
    np.save(tmp_path / "A.npy", np.eye(5, 16))
    assert main(["recover", "--y", str(tmp_path / "y.npy"), "--A", str(tmp_path / "A.npy"), "--method", "lasso",
                 "--alpha", "0.1", "--out", str(tmp_path / "o.NPY")]) == 0
    assert (tmp_path / "o.NPY").is_file() and not (tmp_path / "o.NPY.npy").exists()
    assert f"wrote {tmp_path / 'o.NPY'} " in capsys.readouterr().out
    assert np.load(tmp_path / "o.NPY").shape == (16,)
