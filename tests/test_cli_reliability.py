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
