"""Generator / Discriminator wrappers."""

import time

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
    G = ganprior.Generator(net, output_range=(-1, 1))
    assert G.latent_shape == (3,) and G.image_shape == (2, 2, 2) and G.n == 8 and G.k == 3
    z = torch.randn(5, 3)
    raw = net(z)
    torch.testing.assert_close(G(z), (raw + 1) / 2)  # tanh [-1, 1] -> [0, 1]
    assert not net.training  # eval: batch norm uses running statistics, rows independent
    torch.testing.assert_close(G(z[:1]), G(z)[:1])


def test_generate_in_chunks_and_sample_seeded():
    G = ganprior.Generator(Net())
    z = torch.randn(7, 3)
    torch.testing.assert_close(G.generate(z, row_chunk=2), G.generate(z, row_chunk=7))
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


def test_a_bare_module_is_not_rescaled_unless_it_declares_its_range():
    # a sigmoid net's output 0.577 must stay 0.577 (the old default output_range=(-1, 1) made it 0.788)
    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Sigmoid())
    z = torch.randn(3, 2)
    torch.testing.assert_close(ganprior.Generator(net, latent_shape=2)(z), net(z))
    net.output_range = (-1.0, 1.0)  # a module may declare its range, as the bundled DCGANs do
    torch.testing.assert_close(ganprior.Generator(net, latent_shape=2)(z), (net(z) + 1) / 2)
    from ganprior.models import build_generator

    dcgan = build_generator("dcgan28", latent_dim=4, width=8, seed=0)
    G = ganprior.Generator(dcgan)
    assert G.output_range == (-1.0, 1.0) and G.data_range == (0.0, 1.0)


def test_wrong_latent_shape_is_named():
    with pytest.raises(ValueError, match=r"failed on a latent of shape \(1, 5\); check the 'latent_shape' parameter"):
        ganprior.Generator(torch.nn.Linear(3, 4), latent_shape=5)
    with pytest.raises(ValueError, match=r"'image_shape' parameter \(5,\) does not match the module's output \(4,\)"):
        ganprior.Generator(torch.nn.Linear(3, 4), latent_shape=3, image_shape=(5,))


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


def _bn_generator(seed=0):
    from ganprior.models import build_generator

    torch.manual_seed(seed)
    G = ganprior.Generator(build_generator("dcgan28", latent_dim=8, width=8, seed=seed))
    with torch.no_grad():  # non-trivial running statistics, so folding them is tested
        for m in G.module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return G


def test_for_solving_folds_batch_norm_and_matches_the_module():
    G = _bn_generator()
    assert G.for_solving("contiguous") is G  # run as given
    G.module.train()  # the copy is made in eval mode whatever the caller's mode; the caller's mode is kept
    fast = G.for_solving("channels_last")
    assert G.module.training
    G.module.eval()
    bns = [m for m in fast.module.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns == []  # every conv + BN pair folded
    assert not any(p.requires_grad for p in fast.module.parameters())
    conv = next(m for m in fast.module.modules() if isinstance(m, torch.nn.ConvTranspose2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not next(m for m in G.module.modules() if isinstance(m, torch.nn.ConvTranspose2d)).weight.is_contiguous(
        memory_format=torch.channels_last)  # the caller's module is untouched
    z = torch.randn(6, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = G(z)
    # the folded layer: gamma * (W x - mu) / sqrt(var + eps) + beta, a closed form checked against the module
    assert fast(z).shape == ref.shape
    torch.testing.assert_close(fast(z), ref, rtol=1e-5, atol=1e-6)
    assert (fast.latent_shape, fast.image_shape, fast.data_range, fast.name) == (
        G.latent_shape, G.image_shape, G.data_range, G.name)


def test_for_solving_is_cached_until_the_weights_change():
    G = _bn_generator()
    a = G.for_solving("channels_last")
    assert G.for_solving("channels_last") is a
    with torch.no_grad():
        next(G.module.parameters()).mul_(2.0)  # an in-place change bumps the version counter
    b = G.for_solving("channels_last")
    assert b is not a
    z = torch.randn(3, 8)
    with torch.no_grad():
        torch.testing.assert_close(b(z), G(z), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="memory_format"):
        G.for_solving("nhwc")


def test_fold_is_exact_on_a_linear_batch_norm_pair_in_float64():
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.Tanh()).double()
    with torch.no_grad():
        net[1].running_mean.copy_(torch.linspace(-1, 1, 5))
        net[1].running_var.copy_(torch.linspace(0.5, 2, 5))
    G = ganprior.Generator(net, latent_shape=4)
    z = torch.randn(7, 4, dtype=torch.float64)
    W, b, bn = net[0].weight, net[0].bias, net[1]
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    closed = torch.tanh((z @ W.T + b - bn.running_mean) * s + bn.bias)  # eval-mode BN by hand
    fast = G.for_solving("channels_last")
    assert isinstance(fast.module[1], torch.nn.Identity)
    torch.testing.assert_close(fast(z), closed.detach(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel,stride,padding,out_pad,bias,size", [
    (4, 2, 1, 0, True, 7), (3, 1, 0, 0, False, 5), (5, 3, 2, 1, True, 4), ((2, 3), (1, 2), (0, 1), 0, True, 6)])
def test_gray_deconv_is_the_transposed_convolution(kernel, stride, padding, out_pad, bias, size):
    from ganprior._solving import GrayDeconv

    torch.manual_seed(0)
    conv = torch.nn.ConvTranspose2d(6, 1, kernel, stride, padding, output_padding=out_pad, bias=bias).double()
    x = torch.randn(3, 6, size, size + 1, dtype=torch.float64, requires_grad=True)
    ref = conv(x)
    got = GrayDeconv(conv)(x)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(ref)
    torch.testing.assert_close(torch.autograd.grad(got, x, g)[0], torch.autograd.grad(ref, x, g)[0],
                               rtol=1e-12, atol=1e-12)


def test_for_solving_swaps_only_one_channel_transposed_convolutions():
    from ganprior._solving import GrayDeconv

    G = _bn_generator()  # dcgan28: ConvT 8->16, 16->8, 8->1
    fast = G.for_solving("channels_last")
    kinds = [type(m).__name__ for m in fast.module.net]
    assert kinds.count("GrayDeconv") == 1 and kinds[-2] == "GrayDeconv" and kinds.count("ConvTranspose2d") == 2
    assert len(fast.module.net) == len(G.module.net)  # layer indices kept (ILO cuts by index)
    z = torch.randn(4, 8)
    with torch.no_grad():
        torch.testing.assert_close(fast(z), G(z), rtol=1e-5, atol=1e-6)
    assert not any(isinstance(m, GrayDeconv) for m in G.module.modules())


class _SlowInOneLayout(torch.nn.Module):
    """A small convolutional generator that sleeps 30 ms per forward when its weights are (or are not) stored
    channels_last: a layout made artificially slow."""

    latent_dim = 4

    def __init__(self, slow_layout, channels):
        super().__init__()
        self.slow_layout = slow_layout
        self.net = torch.nn.Sequential(torch.nn.Unflatten(1, (4, 1, 1)), torch.nn.ConvTranspose2d(4, channels, 4))
        self.calls = 0

    def forward(self, z):
        self.calls += 1
        w = self.net[1].weight
        layout = "channels_last" if not w.is_contiguous() else "contiguous"
        if layout == self.slow_layout:
            time.sleep(0.03)
        return self.net(z)


@pytest.mark.parametrize("slow, expected", [("channels_last", "contiguous"), ("contiguous", "channels_last")])
def test_auto_layout_picks_the_faster_of_two_when_one_is_made_slow(slow, expected):
    from ganprior.generator import layout_choices

    # the choice is kept per architecture: each case has its own (channel count)
    G = ganprior.Generator(_SlowInOneLayout(slow, 3 if slow == "channels_last" else 5), name=f"slow-{slow}")
    chosen = G.for_solving("auto", rows=8, precision="fp32")
    assert (chosen is G) == (expected == "contiguous")
    if expected == "channels_last":
        assert not chosen.module.net[1].weight.is_contiguous()
    entry = [e for e in layout_choices() if e["generator"] == f"slow-{slow}"][-1]
    assert entry["choice"] == expected and entry["rows"] == 8 and entry["precision"] == "fp32"
    assert entry[f"{slow}_ms"] > 30 > entry[f"{expected}_ms"]
    # kept for the process: a second solve of the same (weights, rows, precision) times nothing
    calls = G.module.calls + (chosen.module.calls if chosen is not G else 0)
    again = G.for_solving("auto", rows=8, precision="fp32")
    assert again is chosen and G.module.calls + (chosen.module.calls if chosen is not G else 0) == calls
    # another load of the same architecture shares the choice (and so its rounding), timing nothing
    twin = ganprior.Generator(_SlowInOneLayout(slow, 3 if slow == "channels_last" else 5), name=f"twin-{slow}")
    before = len(layout_choices())
    assert (twin.for_solving("auto", rows=8, precision="fp32") is twin) == (expected == "contiguous")
    assert len(layout_choices()) == before
    # a layout given by name is forced
    assert G.for_solving("contiguous") is G
    assert not G.for_solving("channels_last").module.net[1].weight.is_contiguous()


def test_auto_layout_runs_a_generator_without_convolutions_as_given(small_prior):
    assert small_prior.for_solving("auto", rows=100, precision="bf16") is small_prior
