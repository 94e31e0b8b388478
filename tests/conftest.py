"""Shared fixtures: devices, dtypes, seeded generators, a small random ReLU prior."""

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

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


def shared_data_root() -> Path:
    """../shared/data beside the repository, or $GANPRIOR_DATA."""
    env = os.environ.get("GANPRIOR_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
