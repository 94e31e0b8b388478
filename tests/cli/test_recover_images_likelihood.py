"""``ganprior recover --images DIR --likelihood magnitude|sign|poisson [--photons N]`` (issue 42).

The model reaches the job (its parts record it, ``metrics.csv`` gets the error it identifies), a rerun into the same
``--out`` with another model or photon count is refused in one line naming ``--likelihood``, and the combinations
that cannot work are refused in one line with status 2 before any work.
"""

import numpy as np
import pytest

from ganprior.cli import main

ENGINE = ["--prior", "mnist", "--chunk", "2", "--seed", "0", "--restarts", "1", "--steps", "4", "--lr", "0.1",
          "--schedule", "constant", "--precision", "fp32", "--threads", "1", "--no-png"]


def run(capsys, *argv):
    capsys.readouterr()
    try:
        code = main(["recover", *argv])
    except SystemExit as err:
        code = err.code
    return code, capsys.readouterr()


@pytest.fixture
def digits(tmp_path):
    from ganprior.data import load_sample

    np.save(tmp_path / "x.npy", load_sample("mnist_test300")[:3].numpy())
    return tmp_path / "x.npy"


def test_a_sign_job_records_its_model_and_refuses_a_rerun_with_another(digits, tmp_path, capsys):
    out = tmp_path / "out"
    code, printed = run(capsys, "--images", str(digits), "--measurements", "50", "--likelihood", "sign", *ENGINE,
                        "--out", str(out))
    assert code == 0, printed
    assert (out / "metrics.csv").read_text().splitlines()[0] == "image,mse,psnr,normalized_mse"
    before = np.load(out / "x_hat.npy")
    code, printed = run(capsys, "--images", str(digits), "--measurements", "50", "--likelihood", "sign", *ENGINE,
                        "--out", str(out))
    assert code == 0 and "0 chunk(s) computed" in printed.out, printed
    for other in (["--likelihood", "magnitude"], []):  # another model, or the Gaussian default
        code, printed = run(capsys, "--images", str(digits), "--measurements", "50", *other, *ENGINE,
                            "--out", str(out))
        err = printed.err.strip()
        assert code == 2 and "\n" not in err and "other settings" in err and "--likelihood was Sign(" in err, printed
    assert np.array_equal(np.load(out / "x_hat.npy"), before)


def test_counts_through_a_non_negative_operator_and_another_photon_count_is_refused(digits, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--images", str(digits), "--measurements", "100", "--operator", "nonnegative", "--likelihood", "poisson"]
    code, printed = run(capsys, *argv, "--photons", "10", *ENGINE, "--out", str(out))
    assert code == 0, printed
    assert (out / "metrics.csv").read_text().splitlines()[0] == "image,mse,psnr"
    code, printed = run(capsys, *argv, "--photons", "100", *ENGINE, "--out", str(out))
    err = printed.err.strip()
    assert code == 2 and "\n" not in err and "Poisson(photons=10.0" in err and "Poisson(photons=100.0" in err, printed


@pytest.mark.parametrize("argv, message", [
    (["--likelihood", "poisson"], "argument --operator: --likelihood poisson needs an operator >= 0 (nonnegative or "
                                  "identity); got gaussian"),
    (["--likelihood", "poisson", "--operator", "subsampled-dct"], "got subsampled-dct"),
    (["--likelihood", "sign", "--noise-norm", "0.1"], "argument --noise-norm: must be 0 with --likelihood sign"),
    (["--likelihood", "poisson", "--operator", "identity", "--noise-norm", "0.1"], "argument --noise-norm"),
    (["--likelihood", "sign", "--method", "sparse-gen"], "argument --likelihood: --method sparse-gen does not take "
                                                         "sign measurements"),
    (["--likelihood", "magnitude", "--method", "lasso", "--image-shape", "1", "28", "28"], "--method lasso"),
    (["--likelihood", "sign", "--photons", "5"], "argument --photons: only with --likelihood poisson"),
    (["--likelihood", "poisson", "--operator", "identity"], "number of pixels (784 for images (1, 28, 28))"),
])
def test_impossible_combinations_are_one_line_with_status_2(argv, message, digits, tmp_path, capsys, monkeypatch):
    import ganprior.solvers.recovery as recovery

    monkeypatch.setattr(recovery, "recover", lambda *a, **k: pytest.fail("solved"))
    code, printed = run(capsys, "--images", str(digits), "--measurements", "50", *argv, *ENGINE,
                        "--out", str(tmp_path / "o"))
    err = printed.err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err and message in err, printed
    assert not (tmp_path / "o" / "parts").exists()


def test_the_sign_models_options_reach_recover_and_langevin_takes_the_logistic_one(tmp_path, capsys):
    # --sign-loss / --sign-scale build Sign(loss, scale): --method langevin samples its posterior as recover does
    import ganprior
    from ganprior import operators as ops
    from ganprior.data import load_sample
    from ganprior.likelihoods import Sign

    A = ops.Gaussian(100, in_shape=(1, 28, 28), seed=0)
    y = A.measure(load_sample("mnist_test300")[:2], "sign")
    np.save(tmp_path / "y.npy", y.numpy())
    np.save(tmp_path / "A.npy", A.matrix.numpy())
    io = ["--y", str(tmp_path / "y.npy"), "--A", str(tmp_path / "A.npy"), "--likelihood", "sign"]
    engine = ["--prior", "mnist", "--seed", "0", "--restarts", "2", "--steps", "10", "--precision", "fp32",
              "--threads", "1"]
    code, printed = run(capsys, *io, "--method", "langevin", "--sign-loss", "logistic", "--sign-scale", "10", *engine,
                        "--out", str(tmp_path / "x.npy"))
    assert code == 0, printed
    ref = ganprior.recover(y.numpy(), A.matrix.numpy(), "mnist", method="langevin", seed=0, restarts=2, steps=10,
                           precision="fp32", likelihood=Sign(loss="logistic", scale=10.0))
    np.testing.assert_allclose(np.load(tmp_path / "x.npy"), ref, atol=1e-4)  # layouts timed per process: ~1e-5
    code, printed = run(capsys, *io, "--method", "langevin", *engine, "--out", str(tmp_path / "h.npy"))
    assert code == 2 and "loss='hinge' has no posterior" in printed.err  # the default hinge is no likelihood
    for argv, message in [
            (["--likelihood", "magnitude", "--sign-loss", "logistic"],
             "argument --sign-loss: only with --likelihood sign"),
            (["--sign-scale", "3"], "argument --sign-scale: only with --sign-loss logistic"),
            (["--flip", "0.1"], "argument --flip: only with --images"),
            (["--flip", "0.7"], "argument --flip: expected a chance in [0, 0.5], got '0.7'")]:
        code, printed = run(capsys, *io, *engine, *argv, "--out", str(tmp_path / "r.npy"))
        assert code == 2 and message in printed.err, (argv, printed)
        assert not (tmp_path / "r.npy").exists()


def test_a_flipped_sign_job_measures_with_its_flips_and_records_them(digits, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--images", str(digits), "--measurements", "50", "--likelihood", "sign"]
    code, printed = run(capsys, *argv, "--flip", "0.2", *ENGINE, "--out", str(out))
    assert code == 0, printed
    code, printed = run(capsys, *argv, "--flip", "0.1", *ENGINE, "--out", str(out))
    err = printed.err.strip()  # the parts record the model: another flip chance is another job
    assert code == 2 and "\n" not in err and "flip=0.2" in err and "flip=0.1" in err, printed
    code, printed = run(capsys, *argv, *ENGINE, "--out", str(tmp_path / "clean"))
    assert code == 0, printed  # the same seeds without flips: other signs, so other answers
    assert not np.allclose(np.load(out / "x_hat.npy"), np.load(tmp_path / "clean" / "x_hat.npy"), atol=1e-3)
