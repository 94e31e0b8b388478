"""The registry owns the method (issue 40.2): hyperparameters from the factory's signature, grids / auto / splitting in
the entry, and the command line's method flags generated from it."""

import numpy as np
import pytest
import torch

import ganprior
from ganprior.cli import build_parser, main
from ganprior.solvers.registry import auto_methods, get_method, register_method, unregister_method


@pytest.fixture
def arrays(tmp_path, monkeypatch):
    """``y.npy`` / ``A.npy`` files and a ``recover`` that records its keyword arguments instead of solving."""
    np.save(tmp_path / "y.npy", np.zeros(5, dtype=np.float32))
    np.save(tmp_path / "A.npy", np.zeros((5, 784), dtype=np.float32))
    calls = []
    monkeypatch.setattr(ganprior, "recover", lambda *a, **k: calls.append(k) or np.zeros((1, 784), np.float32))
    argv = ["recover", "--y", str(tmp_path / "y.npy"), "--A", str(tmp_path / "A.npy"), "--out", str(tmp_path / "x.npy")]
    return argv, calls


@pytest.fixture
def toy_method():
    """A method registered for one test under a name nothing else uses, removed after."""
    def build(y, A, G, width: int = 3, scale=0.5, shape="box", lam=0.0, _private=None):
        return ganprior.CSGMObjective(y, A, lam)

    entry = register_method("test-registry-toy", build, summary="a test's method", cv_grids={"scale": (0.1, 1.0)},
                            regularisation={"scale": -1})
    yield entry
    unregister_method("test-registry-toy")


def test_hyperparameters_are_read_from_the_factory_signature(toy_method):
    assert toy_method.hyperparameters == {"width": 3, "scale": 0.5, "shape": "box", "lam": 0.0}  # _private is not
    assert toy_method.types == {"width": int, "scale": float, "shape": str, "lam": float}
    assert toy_method.regularisation == {"scale": -1} and not toy_method.auto and not toy_method.needs_split
    # the bundled entries: defaults exactly as before they were read from the signatures
    assert get_method("ilo").hyperparameters == {"lam": 0.0, "cut": None, "radius": 1.0, "warmup": None}
    assert get_method("sparse-gen").hyperparameters == {"lam": 0.0, "alpha": 0.1, "basis": "dct", "warmup": None,
                                                        "nu_solver": "fista", "nu_steps": 10}
    assert get_method("csgm").hyperparameters == {"lam": 0.0}
    assert get_method("csgm-tv").hyperparameters == {"lam": 0.0, "tv": 0.01}
    assert get_method("langevin").hyperparameters == {"noise_std": None, "levels": None}
    for name in ("lasso", "lasso-dct", "lasso-wavelet"):
        assert get_method(name).hyperparameters == {"alpha": None, "image_shape": None, "data_range": (0.0, 1.0)}
    assert get_method("omp").hyperparameters == {"n_nonzero_coefs": None, "image_shape": None,
                                                 "data_range": (0.0, 1.0)}
    assert get_method("ilo").types["warmup"] == (int, float) and get_method("ilo").types["cut"] is int
    assert get_method("sparse-gen").types["basis"] == ("pixel", "dct", "wavelet")


def test_grids_auto_and_splitting_live_in_the_entries():
    from ganprior.solvers.selection import AUTO_METHODS, CV_GRIDS, REGULARISATION

    # the old module constants, now read from the registry, with their old values (for the least-squares methods;
    # the baselines of the other measurement models, ganprior.solvers.nonlinear, add theirs)
    least_squares = [n for n in AUTO_METHODS if "gaussian" in get_method(n).likelihoods]
    assert tuple(least_squares) == ("csgm", "sparse-gen", "ilo", "lasso", "lasso-dct", "lasso-wavelet")
    assert auto_methods() == list(AUTO_METHODS)
    assert dict(CV_GRIDS) == {"lam": (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
                              "alpha": (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0),
                              "radius": (0.0, 0.1, 0.3, 1.0, 3.0), "tv": (0.0, 1e-3, 1e-2, 1e-1),
                              "sparsity": (25, 50, 100, 200, 400),
                              "weight": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)}
    assert dict(REGULARISATION) == {"lam": 1, "alpha": 1, "radius": -1, "tv": 1, "sparsity": -1, "weight": 1}
    assert get_method("ilo").needs_split and not get_method("csgm").needs_split
    assert set(get_method("ilo").cv_grids) == {"lam", "radius"} and set(get_method("lasso").cv_grids) == {"alpha"}
    assert not get_method("omp").cv_grids and not get_method("langevin").cv_grids


def test_a_grid_is_the_methods_own(toy_method):
    G = ganprior.Generator(torch.nn.Sequential(torch.nn.Linear(2, 36)), latent_shape=2)
    A = ganprior.operators.Gaussian(12, n=36, seed=0)
    with pytest.raises(ValueError, match="no candidate grid for 'cut' with method='ilo'"):
        ganprior.recover(torch.zeros(1, 12), A, G, method="ilo", cut="cv", restarts=1, steps=2)
    with pytest.raises(ValueError, match="no candidate grid for 'width' with method='test-registry-toy'"):
        ganprior.recover(torch.zeros(1, 12), A, G, method="test-registry-toy", width="cv", restarts=1, steps=2)


def test_registration_checks_what_the_entry_states():
    build = lambda y, A, G, lam=0.0: None  # noqa: E731
    with pytest.raises(ValueError, match="'cv_grids' parameter of register_method maps hyperparameters"):
        register_method("test-registry-bad", build, summary="x", cv_grids={"radius": (1.0,)})
    with pytest.raises(ValueError, match="'regularisation' parameter of register_method"):
        register_method("test-registry-bad", build, summary="x", cv_grids={"lam": (0.0, 1.0)},
                        regularisation={"lam": 2})
    with pytest.raises(ValueError, match="must agree with the signature"):
        register_method("test-registry-bad", build, summary="x", hyperparameters={"lam": 1.0})
    with pytest.raises(ValueError, match="takes hyperparameter 'steps', which is recover's own argument"):
        register_method("test-registry-bad", lambda y, A, G, steps=3: None, summary="x")
    with pytest.raises(ValueError, match="hyperparameter 'width' without a default"):
        register_method("test-registry-bad", lambda y, A, G, width: None, summary="x")
    with pytest.raises(TypeError, match=r"must take \(y, A, G, ...\)"):
        register_method("test-registry-bad", lambda y, A: None, summary="x")
    for base, what in (("no-such-method", "is not one"), ("test-registry-bad", "is not one"),
                       ("lasso", "shares no argument")):  # lasso's alpha / basis, not lam
        with pytest.raises(ValueError, match=f"'recipe_from' parameter of register_method .*{what}"):
            register_method("test-registry-bad", build, summary="x", recipe_from=(base,))
    assert "test-registry-bad" not in ganprior.method_names()


@pytest.mark.parametrize("extra, method, expected", [
    (["--method", "ilo", "--radius", "0.3", "--cut", "6"], "ilo", {"radius": 0.3, "cut": 6}),
    (["--method", "sparse-gen", "--basis", "wavelet", "--warmup", "0.5"], "sparse-gen",
     {"basis": "wavelet", "warmup": 0.5}),
    (["--method", "sparse-gen", "--warmup", "3", "--nu-solver", "ista"], "sparse-gen",
     {"warmup": 3, "nu_solver": "ista"}),  # an int counts steps, a float is a fraction
    (["--method", "ilo", "--radius", "cv"], "ilo", {"radius": "cv"}),
    (["--method", "csgm", "--lam", "0.1"], "csgm", {"lam": 0.1}),
    (["--method", "lasso", "--alpha", "0.01"], "lasso", {"alpha": 0.01, "image_shape": None}),
    (["--method", "omp", "--n-nonzero-coefs", "5"], "omp", {"n_nonzero_coefs": 5, "image_shape": None}),
])
def test_method_flags_reach_recover(arrays, extra, method, expected):
    argv, calls = arrays
    assert main(argv + extra) == 0
    (kwargs,) = calls
    assert kwargs["method"] == method
    own = {k: v for k, v in kwargs.items() if k in get_method(method).hyperparameters}
    assert own == expected


def test_without_method_the_prior_family_chooses_as_recover_does(arrays, tmp_path, monkeypatch):
    # m = 5: the mnist family's DCGAN with Sparse-Gen; m = 25: mnist-vae with ILO (ganprior.priors.recipe_choice)
    argv, calls = arrays
    assert main(argv + ["--lam", "0.1"]) == 0
    assert calls[-1]["method"] == "sparse-gen" and calls[-1]["lam"] == 0.1
    np.save(tmp_path / "y.npy", np.zeros(25, dtype=np.float32))
    np.save(tmp_path / "A.npy", np.zeros((25, 784), dtype=np.float32))
    seen = []
    monkeypatch.setattr(ganprior, "recover", lambda *a, **k: seen.append((a[2], k["method"])) or np.zeros((1, 784)))
    assert main(argv) == 0
    assert seen == [("mnist-vae", "ilo")]


@pytest.mark.parametrize("extra, message", [
    (["--method", "csgm", "--radius", "0.3"], "--radius is not an argument of --method csgm"),
    (["--method", "sparse-gen", "--cut", "6"], "--cut is not an argument of --method sparse-gen"),
    (["--method", "omp", "--alpha", "0.1"], "--alpha is not an argument of --method omp"),
    (["--method", "auto", "--radius", "0.3"], "--radius is not an argument of --method auto"),
    (["--method", "ilo", "--cut", "6.5"], "argument --cut: expected an int, got '6.5'"),
    (["--method", "ilo", "--cut", "cv"], "argument --cut: expected an int, got 'cv'"),
    (["--method", "sparse-gen", "--basis", "fourier"], "argument --basis: invalid choice: 'fourier'"),
])
def test_a_method_flag_the_method_does_not_take_is_one_line(arrays, extra, message, capsys):
    argv, calls = arrays
    with pytest.raises(SystemExit) as err:
        main(argv + extra)
    assert err.value.code == 2 and not calls
    line = capsys.readouterr().err.strip()
    assert message in line and "\n" not in line


def test_registering_a_method_adds_its_flags(arrays, toy_method):
    argv, calls = arrays
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command").choices["recover"]
    flags = {s for a in sub._actions for s in a.option_strings}
    assert {"--width", "--scale", "--shape"} <= flags
    assert main(argv + ["--method", "test-registry-toy", "--width", "7", "--scale", "cv", "--shape", "disc"]) == 0
    own = {k: v for k, v in calls[-1].items() if k in toy_method.hyperparameters}
    assert own == {"width": 7, "scale": "cv", "shape": "disc"}
    with pytest.raises(SystemExit, match="--width is not an argument of --method csgm"):
        main(argv + ["--method", "csgm", "--width", "7"])
    with pytest.raises(SystemExit, match="argument --shape: cv chooses from a candidate grid"):
        main(argv + ["--method", "test-registry-toy", "--shape", "cv"])


def test_a_tiny_real_run_from_the_command_line_equals_recover(tmp_path, monkeypatch):
    from conftest import relu_generator

    from ganprior import priors

    G = relu_generator(k=4, hidden=16, n=36, seed=0, image_shape=(1, 6, 6))
    monkeypatch.setattr(priors, "load_prior", lambda name, device=None: G)
    A = ganprior.operators.Gaussian(20, in_shape=(1, 6, 6), seed=2)
    y = A(G(torch.randn(2, 4, generator=torch.Generator().manual_seed(1))).detach())
    np.save(tmp_path / "y.npy", y.numpy())
    np.save(tmp_path / "A.npy", A.matrix.numpy())
    eng = dict(restarts=1, steps=4, lr=0.05, schedule="constant", seed=0)
    flags = [f"--{k}={v}" for k, v in eng.items()]
    assert main(["recover", "--y", str(tmp_path / "y.npy"), "--A", str(tmp_path / "A.npy"), "--prior", "p", *flags,
                 "--method", "sparse-gen", "--basis", "pixel", "--warmup", "0.5", "--out",
                 str(tmp_path / "x.npy")]) == 0
    ref = ganprior.recover(y.numpy(), A.matrix.numpy(), G, method="sparse-gen", basis="pixel", warmup=0.5, **eng)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), ref)
