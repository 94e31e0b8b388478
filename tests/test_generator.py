"""Generator / Discriminator wrappers."""

import pytest
import torch

import ganprior


class Net(torch.nn.Module):
    latent_shape = (3,)

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 8)
        self.bn = torch.nn.BatchNorm1d(8)

    def forward(self, z):
        return torch.tanh(self.bn(self.fc(z))).reshape(-1, 2, 2, 2)


def test_inference_of_shapes_and_range_mapping():
    net = Net()
    G = ganprior.Generator(net)
    assert G.latent_shape == (3,) and G.image_shape == (2, 2, 2) and G.n == 8 and G.k == 3
    z = torch.randn(5, 3)
    raw = net(z)
    torch.testing.assert_close(G(z), (raw + 1) / 2)  # tanh [-1, 1] -> [0, 1]
    assert not net.training  # eval: batch norm uses running statistics, rows independent
    torch.testing.assert_close(G(z[:1]), G(z)[:1])


def test_generate_in_chunks_and_sample_seeded():
    G = ganprior.Generator(Net())
    z = torch.randn(7, 3)
    torch.testing.assert_close(G.generate(z, chunk_size=2), G.generate(z, chunk_size=7))
    torch.testing.assert_close(G.sample(4, seed=1), G.sample(4, seed=1))
    assert all(p.requires_grad for p in G.parameters())  # frozen() restores the flags


def test_checkpoint_round_trip(tmp_path):
    net = Net()
    torch.save(net.state_dict(), tmp_path / "g.pt")
    G = ganprior.Generator.from_checkpoint(tmp_path / "g.pt", Net())
    z = torch.randn(3, 3)
    torch.testing.assert_close(G(z), ganprior.Generator(net)(z))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ganprior.Generator.from_checkpoint(tmp_path / "missing.pt", Net())


def test_discriminator_maps_range_and_flattens():
    seen = {}

    class D(torch.nn.Module):
        def forward(self, x):
            seen["x"] = x
            return x.flatten(1).sum(1, keepdim=True)

    Dw = ganprior.Discriminator(D())
    out = Dw(torch.full((2, 1, 2, 2), 0.75))
    torch.testing.assert_close(seen["x"], torch.full((2, 1, 2, 2), 0.5))  # [0,1] -> [-1,1]
    assert out.shape == (2,)


def test_wrapper_errors():
    with pytest.raises(TypeError, match="'module' parameter must be a torch.nn.Module"):
        ganprior.Generator(lambda z: z, latent_shape=2)
    with pytest.raises(ValueError, match="'output_range' parameter must be a finite pair with low < high"):
        ganprior.Generator(Net(), output_range=(1, -1))

    class Scalar(torch.nn.Module):
        def forward(self, z):
            return z.sum()

    with pytest.raises(ValueError, match="must map latents"):
        ganprior.Generator(Scalar(), latent_shape=3)
