"""DCGAN / MLP architectures: shapes, ranges, DCGAN initialisation, registry and config round trip."""

import json

import pytest
import torch

from ganprior.models import (
    build_discriminator,
    build_generator,
    from_config,
    list_architectures,
)

CASES = [
    ("dcgan28", {"latent_dim": 20, "width": 8}, {"width": 8}, (1, 28, 28)),
    ("dcgan64", {"latent_dim": 100, "width": 8}, {"width": 8}, (3, 64, 64)),
    ("mlp", {"latent_dim": 8, "width": 32, "image_shape": (1, 8, 8)}, {"width": 32, "image_shape": (1, 8, 8)},
     (1, 8, 8)),
]


@pytest.mark.parametrize("arch,gk,dk,shape", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("batch", [1, 3])
def test_shapes_and_ranges(arch, gk, dk, shape, batch):
    G = build_generator(arch, seed=0, **gk)
    D = build_discriminator(arch, seed=1, **dk)
    assert G.latent_shape == (gk["latent_dim"],)
    assert tuple(G.image_shape) == shape and tuple(D.image_shape) == shape
    z = torch.randn(batch, gk["latent_dim"], generator=torch.Generator().manual_seed(0))
    G.eval()
    with torch.no_grad():
        x = G(z)
    assert x.shape == (batch, *shape)
    assert float(x.abs().max()) <= 1.0
    D.eval()
    with torch.no_grad():
        logits = D(x)
    assert logits.shape == (batch,)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("arch,gk,dk,shape", CASES, ids=[c[0] for c in CASES])
def test_gradients_reach_every_parameter(arch, gk, dk, shape):
    G = build_generator(arch, seed=0, **gk)
    D = build_discriminator(arch, seed=1, **dk)
    z = torch.randn(4, gk["latent_dim"], generator=torch.Generator().manual_seed(0))
    D(G(z)).sum().backward()
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


def test_dcgan_initialisation_statistics():
    G = build_generator("dcgan64", latent_dim=100, width=32, seed=0)
    convs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    big = max(convs, key=lambda m: m.weight.numel())
    weight = big.weight.detach()
    assert weight.numel() > 100_000
    assert abs(float(weight.std()) - 0.02) < 0.001
    assert abs(float(weight.mean())) < 0.001
    bns = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    w = torch.cat([m.weight.detach() for m in bns])
    assert abs(float(w.mean()) - 1.0) < 0.005 and abs(float(w.std()) - 0.02) < 0.005
    assert all(float(m.bias.detach().abs().max()) == 0.0 for m in bns)
    # no batch norm at the generator output / discriminator input
    assert isinstance(G.net[-1], torch.nn.Tanh) and isinstance(G.net[-2], torch.nn.ConvTranspose2d)
    D = build_discriminator("dcgan64", width=32, seed=0)
    assert isinstance(D.net[0], torch.nn.Conv2d) and isinstance(D.net[1], torch.nn.LeakyReLU)
    assert D.net[1].negative_slope == 0.2


def test_seed_determinism():
    a = build_generator("dcgan28", latent_dim=20, width=8, seed=3)
    b = build_generator("dcgan28", latent_dim=20, width=8, seed=3)
    c = build_generator("dcgan28", latent_dim=20, width=8, seed=4)
    for (n, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q), n
    assert not torch.equal(a.net[0].weight, c.net[0].weight)


@pytest.mark.parametrize("arch", ["dcgan28", "dcgan64"])
def test_discriminator_without_batch_norm_is_per_sample(arch):
    shape = (1, 28, 28) if arch == "dcgan28" else (3, 64, 64)
    D = build_discriminator(arch, width=8, channels=shape[0], batch_norm=False, seed=0).train()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    x = torch.rand(5, *shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    together = D(x)
    alone = torch.cat([D(x[i:i + 1]) for i in range(5)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)
    # with batch norm in training mode the rows do depend on each other
    Dbn = build_discriminator(arch, width=8, channels=shape[0], seed=0).train()
    assert not torch.allclose(Dbn(x)[:1], Dbn(x[:1]), atol=1e-4)


@pytest.mark.parametrize("arch,gk,dk,shape", CASES, ids=[c[0] for c in CASES])
def test_config_round_trip_through_json(arch, gk, dk, shape, tmp_path):
    G = build_generator(arch, seed=0, **gk)
    D = build_discriminator(arch, seed=1, **dk)
    torch.save(G.state_dict(), tmp_path / "g.pt")
    torch.save(D.state_dict(), tmp_path / "d.pt")
    gcfg = json.loads(json.dumps(G.config))
    dcfg = json.loads(json.dumps(D.config))
    assert gcfg["arch"] == arch
    G2 = from_config(gcfg, role="generator", seed=5)
    D2 = from_config(dcfg, role="discriminator", seed=5)
    G2.load_state_dict(torch.load(tmp_path / "g.pt", weights_only=True))
    D2.load_state_dict(torch.load(tmp_path / "d.pt", weights_only=True))
    z = torch.randn(2, gk["latent_dim"], generator=torch.Generator().manual_seed(1))
    G.eval(), G2.eval(), D.eval(), D2.eval()
    assert torch.equal(G(z), G2(z))
    assert torch.equal(D(G(z)), D2(G2(z)))


def test_registry_errors_list_sorted_names():
    assert list_architectures() == ["dcgan28", "dcgan64", "mlp"]
    with pytest.raises(ValueError, match=r"\['dcgan28', 'dcgan64', 'mlp', 'vae-mlp'\]. Got 'resnet' instead"):
        build_generator("resnet")
    with pytest.raises(ValueError, match="'arch'"):
        build_discriminator("dcgan32")
    with pytest.raises(ValueError, match="'latent_dim' parameter of DCGANGenerator28 must be an int >= 1. Got 0"):
        build_generator("dcgan28", latent_dim=0)
    with pytest.raises(TypeError, match="'width'"):
        build_generator("dcgan64", width=2.5)
    with pytest.raises(TypeError, match="'batch_norm'"):
        build_discriminator("dcgan28", batch_norm="no")
    with pytest.raises(ValueError, match="'image_shape'"):
        build_generator("mlp", image_shape=(8, 8))
    with pytest.raises(ValueError, match="'config'"):
        from_config({"kwargs": {}})
