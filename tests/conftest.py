"""Shared fixtures and helpers: devices, dtypes, seeded generators, a small random ReLU prior, random images, dense
references, state-dict equality, dataset lookup, the repository's folders, and the benchmark scripts and release
tools as modules (:func:`load_benchmark`, :func:`load_tool`).

Tests that need the full datasets call :func:`require_data`: it skips them with the reason when the files are
absent (a fresh clone), but fails them under ``CI=true``, where every test must run.
"""

import importlib.util
import os
import sys
from pathlib import Path

import pytest
import torch

from ganprior.data import default_data_root

torch.set_num_threads(1)

# The tests are a package (a folder per area of ganprior, each with an __init__.py, so that pytest's default import
# mode allows the same file name in two folders), so pytest imports this file as ``tests.conftest``.  Test modules
# import its helpers as ``from conftest import ...``: the alias is this same module under that name.
sys.modules.setdefault("conftest", sys.modules[__name__])

REPO_ROOT = Path(__file__).resolve().parents[1]  # the repository's root folder
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"  # the committed results (the results suite, tests/results)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture(params=[torch.float32, torch.float64], ids=["f32", "f64"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(1234)


def relu_generator(k=10, hidden=256, n=784, seed=0, image_shape=None):
    """A random expansive ReLU network k -> hidden -> n with a [0, 1]-ish linear output (no training)."""
    import ganprior

    gen = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(k, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / p.shape[-1] ** 0.5)
    if image_shape is not None:
        net = torch.nn.Sequential(net, torch.nn.Unflatten(1, image_shape))
    return ganprior.Generator(net, latent_shape=k, output_range=(0, 1))


@pytest.fixture
def small_prior():
    return relu_generator()


def linear_prior():
    """A float64 linear prior (3 -> 16, weights N(0, 1/4), seed 0) and a Gaussian A (6 x 16, seed 1), with the
    stream that drew the weights, for posterior tests whose posterior is known in closed form."""
    import ganprior
    from ganprior import operators as ops

    gen = torch.Generator().manual_seed(0)
    lin = torch.nn.Linear(3, 16, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(16, 3, generator=gen, dtype=torch.float64) / 2)
    return ops.Gaussian(6, n=16, seed=1, dtype=torch.float64), ganprior.Generator(lin, latent_shape=3), gen


def random_images(n=200, shape=(1, 8, 8), seed=0):
    """``n`` uniform random images in [0, 1] of ``shape`` (a trainer's tiny data set)."""
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed))


def dct_matrix(N):
    """The orthonormal DCT-II matrix of size ``N``, from the cosine formula (a dense reference)."""
    import numpy as np

    k, i = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    D = np.sqrt(2.0 / N) * np.cos(np.pi * (2 * i + 1) * k / (2 * N))
    D[0] /= np.sqrt(2.0)
    return D


def assert_same_state_dict(a: dict, b: dict, what: str = ""):
    """The two state dicts hold the same keys and bitwise equal tensors (``what`` prefixes the failing key)."""
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{what}{key}"


def _load_script(folder: str, stem: str, prefix: str):
    folder = REPO_ROOT / folder
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(prefix + stem.replace("/", "_"), folder / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_benchmark(stem: str):
    """A fresh module of the script ``benchmarks/<stem>.py`` (the benchmarks are scripts, not a package), with
    ``benchmarks/`` on ``sys.path`` as ``python benchmarks/<stem>.py`` has it (for ``from _common import ...``).
    A one-off study is ``load_benchmark("studies/<stem>")``."""
    return _load_script("benchmarks", stem, "benchmark_")


def load_tool(stem: str):
    """A fresh module of the release tool ``tools/<stem>.py``, with ``tools/`` on ``sys.path``."""
    return _load_script("tools", stem, "tool_")


def shared_data_root() -> Path:
    """The data root: :func:`ganprior.data.default_data_root` ($GANPRIOR_DATA, else ../shared/data beside the
    repository)."""
    return default_data_root()


# the files each dataset folder must hold (idx files may also be stored uncompressed)
DATASET_FILES = {
    "mnist": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    "fashion_mnist": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                      "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    "celeba": ("celeba_10k_89x109.zip", "celeba_test64_178x218.zip"),
}


def running_under_ci() -> bool:
    """True when the environment variable CI is set to true / 1 / yes (as CI services do)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_dataset_files(root: Path, *names: str) -> list[str]:
    """The files of the datasets ``names`` (keys of DATASET_FILES) that are absent under ``root/<name>/``."""
    missing = []
    for name in names:
        for f in DATASET_FILES[name]:
            p = root / name / f
            if not (p.is_file() or (f.endswith(".gz") and p.with_suffix("").is_file())):
                missing.append(f"{name}/{f}")
    return missing


def require_data(*names: str) -> Path:
    """The data root holding the datasets ``names``; skips the calling test when they are absent.

    Under ``CI=true`` a missing dataset fails the test instead: CI must run every test.
    """
    root = shared_data_root()
    missing = missing_dataset_files(root, *names)
    if missing:
        where = "$GANPRIOR_DATA" if os.environ.get("GANPRIOR_DATA") else "../shared/data beside the repository"
        reason = (f"dataset files not found under {root} ({where}): {', '.join(missing)}; "
                  "set GANPRIOR_DATA to the folder holding mnist/, fashion_mnist/ and celeba/")
        if running_under_ci():
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    return root

