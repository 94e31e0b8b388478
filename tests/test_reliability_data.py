"""Tests that need the full datasets skip on a clone without them, and fail (never skip) under CI=true."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import missing_dataset_files, require_data, running_under_ci

ROOT = Path(__file__).resolve().parents[1]
DATA_TESTS = ["tests/test_data.py", "tests/test_priors_cli.py::test_error_vs_measurements_quick"]
N_DATA_TESTS = 7  # six reader tests in test_data.py and the benchmark smoke run


def test_require_data_skips_without_ci_and_fails_under_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPRIOR_DATA", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    assert missing_dataset_files(tmp_path, "mnist") == [
        "mnist/train-labels-idx1-ubyte.gz", "mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"]
    for value in ("", "false", "0"):
        monkeypatch.setenv("CI", value)
        assert not running_under_ci()
        with pytest.raises(pytest.skip.Exception, match=rf"dataset files not found under {tmp_path}.*t10k"):
            require_data("mnist")
    for value in ("true", "TRUE", "1"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.fail.Exception, match=r"CI=true but dataset files not found.*mnist/"):
            require_data("mnist")
    # uncompressed idx files count as present
    for f in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / "mnist" / f).write_bytes(b"")
    assert require_data("mnist") == tmp_path


def _run_data_tests(tmp_path, ci: bool):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(GANPRIOR_DATA=str(tmp_path / "empty"), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    if ci:
        env["CI"] = "true"
    (tmp_path / "empty").mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *DATA_TESTS],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_suite_without_datasets_skips_with_reasons(tmp_path):
    proc = _run_data_tests(tmp_path, ci=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"{N_DATA_TESTS} skipped" in proc.stdout and "failed" not in proc.stdout, proc.stdout[-3000:]
    reasons = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]  # -rs lists the reasons
    assert reasons and all("dataset files not found under" in line for line in reasons), reasons
    assert "FileNotFoundError" not in proc.stdout


def test_suite_without_datasets_fails_under_ci(tmp_path):
    proc = _run_data_tests(tmp_path, ci=True)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert f"{N_DATA_TESTS} failed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-3000:]
    assert "CI=true but dataset files not found" in proc.stdout

