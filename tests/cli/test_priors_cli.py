"""Bundled priors, the command line and the benchmark smoke run."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, require_data

import ganprior


def test_list_priors_and_load():
    names = ganprior.list_priors()
    assert {"mnist", "celeba64"} <= set(names)
    G = ganprior.load_prior("mnist")
    assert G.image_shape == (1, 28, 28) and G.name == "mnist"
    x = G.sample(4, seed=0)
    assert x.shape == (4, 1, 28, 28) and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    D = ganprior.load_discriminator("mnist")
    assert D(x).shape == (4,)
    with pytest.raises(ValueError, match=r"'name' parameter of load_prior must be one of \["):
        ganprior.load_prior("imagenet")


def test_bundled_weights_are_small_and_state_dicts():
    total = 0
    for f in Path(ganprior.priors.PRIOR_DIR).glob("*/*.pt"):
        state = torch.load(f, map_location="cpu", weights_only=True)
        assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
        total += f.stat().st_size
    assert 0 < total <= 40 * 2**20


def test_demo_runs_and_the_prior_beats_lasso_at_small_m(tmp_path):
    out = tmp_path / "demo.png"
    proc = subprocess.run([sys.executable, "-m", "ganprior", "demo", "--n", "6", "--m", "25", "50",
                           "--restarts", "3", "--steps", "300", "--threads", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = [ln.split() for ln in proc.stdout.splitlines() if ln.strip().split()[0:1] in (["25"], ["50"])]
    assert len(lines) == 2
    for _, e_prior, e_lasso, *_, prior, method in lines:
        assert float(e_prior) < float(e_lasso)
    assert [ln[-2:] for ln in lines] == [["mnist-vae,", "ilo"], ["mnist-bvae,", "ilo"]]  # the family's choice
    assert out.stat().st_size > 1000


def test_cli_recover_round_trip(tmp_path):
    G = ganprior.load_prior("mnist")
    x = ganprior.data.load_sample("mnist_test300")[:2]
    A = ganprior.operators.Gaussian(100, in_shape=G.image_shape, seed=0)
    np.save(tmp_path / "y.npy", A(x).numpy())
    np.save(tmp_path / "A.npy", A.matrix.numpy())
    proc = subprocess.run([sys.executable, "-m", "ganprior", "recover", "--y", str(tmp_path / "y.npy"),
                           "--A", str(tmp_path / "A.npy"), "--method", "lasso", "--image-shape", "1", "28", "28",
                           "--out", str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    x_hat = np.load(tmp_path / "x.npy")
    assert x_hat.shape == (2, 1, 28, 28)
    np.testing.assert_allclose(x_hat, ganprior.recover(A(x).numpy(), A.matrix.numpy(), method="lasso",
                                                       image_shape=(1, 28, 28)), atol=1e-6)


def test_error_vs_measurements_quick(tmp_path):
    """Issue 6 smoke run: the files appear and CSGM beats Lasso at the smallest m."""
    data_root = require_data("mnist")  # validation images come from the MNIST training split
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "error_vs_measurements.py"), "--dataset",
                           "mnist", "--quick", "--threads", "1", "--data-root", str(data_root), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for f in ("per_image.csv", "summary.csv", "error_vs_m.png", "savings.csv", "metadata.json"):
        assert (tmp_path / f).stat().st_size > 0
    import csv

    rows = list(csv.DictReader(open(tmp_path / "summary.csv")))
    m0 = min(int(r["m"]) for r in rows)
    err = {r["method"]: float(r["mean"]) for r in rows if int(r["m"]) == m0}
    assert err["csgm"] < err["lasso"]
    table = (tmp_path / "table.md").read_text().splitlines()  # the results' table, one row per m
    assert table[0].startswith("| m | csgm | lasso") and len(table) == 2 + len({int(r["m"]) for r in rows})
    assert f"{err['csgm']:.4f} ± " in table[2]
