"""The untrained priors: the networks (Deep Decoder, the Deep Image Prior's skip network), their batched fit and
its early stop, and recover(method='deep-decoder' / 'dip') without a generator.

References: per-image normalisation by hand, the parameter count in closed form, a loop of the network over
rows with each row's weights, the stopping criteria recomputed from the images returned.
"""

import numpy as np
import pytest
import torch

import ganprior
from ganprior import operators as ops
from ganprior.models.untrained import ChannelNorm, DeepDecoder, SkipNet, default_depth, draw_parameters
from ganprior.solvers.untrained import UntrainedObjective


def test_channel_norm_normalises_each_image_and_channel_alone():
    x = torch.randn(3, 2, 5, 4, dtype=torch.float64)
    cn = ChannelNorm(2).double()
    with torch.no_grad():
        cn.weight.copy_(torch.tensor([2.0, 0.5]))
        cn.bias.copy_(torch.tensor([1.0, -1.0]))
    out = cn(x)
    for b in range(3):
        for c in range(2):
            v = x[b, c]
            ref = (v - v.mean()) / torch.sqrt(v.var(unbiased=False) + 1e-5) * cn.weight[c] + cn.bias[c]
            torch.testing.assert_close(out[b, c], ref)
    torch.testing.assert_close(cn(x[1:2])[0], out[1])  # no mixing across the batch


def test_deep_decoder_is_under_parameterised_and_counts_its_weights():
    for shape, width, depth in (((1, 28, 28), 6, 2), ((3, 64, 64), 23, 4)):
        dd = DeepDecoder(shape)
        n = int(np.prod(shape))
        count = sum(p.numel() for p in dd.parameters())
        assert (dd.width, dd.depth) == (width, depth) and default_depth(shape) == depth
        assert count == DeepDecoder.count(width, depth, shape[0]) <= n / 4 < DeepDecoder.count(width + 1, depth, shape[0])
        assert all(m.kernel_size == (1, 1) for m in dd.modules() if isinstance(m, torch.nn.Conv2d))
        u = dd.draw_input(torch.Generator().manual_seed(0))
        assert tuple(u.shape) == dd.input_shape and float(u.min()) >= 0 and float(u.max()) <= 0.1
        with torch.no_grad():
            out = dd(u[None])
        assert out.shape == (1, *shape) and float(out.min()) > 0 and float(out.max()) < 1  # the sigmoid


def test_skip_net_has_more_weights_than_pixels_and_keeps_the_shape():
    net = SkipNet((1, 28, 28), width=16)
    assert sum(p.numel() for p in net.parameters()) > 28 * 28
    assert net(torch.rand(2, *net.input_shape)).shape == (2, 1, 28, 28)
    assert SkipNet((3, 13, 9), width=4, depth=2, data_range=None)(torch.rand(1, 4, 13, 9)).shape == (1, 3, 13, 9)
    with pytest.raises(ValueError, match="'image_shape' parameter of SkipNet must be"):
        SkipNet((28, 28))


def test_draw_parameters_is_seeded_and_uses_the_fan_in_bound():
    a = draw_parameters(DeepDecoder((1, 16, 16), width=4), torch.Generator().manual_seed(3))
    b = draw_parameters(DeepDecoder((1, 16, 16), width=4), torch.Generator().manual_seed(3))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    conv = a.net[0]
    assert float(conv.weight.detach().abs().max()) <= 1 / np.sqrt(4)


def problem(P=2, m=60, noise=0.0, shape=(1, 8, 8)):
    gen = torch.Generator().manual_seed(0)
    n = int(np.prod(shape))
    # smooth images: a few low frequencies
    t = torch.linspace(0, 1, shape[1], dtype=torch.float64)
    x = torch.stack([0.5 + 0.3 * torch.outer(torch.sin(3 * t + p), torch.cos(2 * t - p)) for p in range(P)])[:, None]
    A = ops.Gaussian(m, in_shape=shape, seed=1, dtype=torch.float64)
    y = A(x) + noise / np.sqrt(m) * torch.randn(P, m, generator=gen, dtype=torch.float64)
    assert n == x[0].numel()
    return y, A, x


def test_the_batched_render_equals_the_network_with_each_rows_weights():
    y, A, _ = problem(P=3)
    obj = UntrainedObjective(y, A, DeepDecoder((1, 8, 8), width=4, depth=1), net_seed=2)
    gen = torch.Generator().manual_seed(5)
    state = {k: v + 0.1 * torch.randn(v.shape, generator=gen, dtype=v.dtype) for k, v in obj.init_state(None, 3, 1,
                                                                                                        None).items()}
    out = obj.render(None, state)
    for i in range(3):
        net = DeepDecoder((1, 8, 8), width=4, depth=1).double()
        with torch.no_grad():
            for name, p in net.named_parameters():
                p.copy_(state["w:" + name][i])
        torch.testing.assert_close(out[i], net(obj.input[None])[0], rtol=1e-12, atol=1e-12)


def fit(stop, noise, steps=150, **kw):
    y, A, x = problem(noise=noise)
    obj = UntrainedObjective(y, A, DeepDecoder((1, 8, 8), width=8, depth=1), stop=stop, **kw)
    res = ganprior.optimize_latents(obj, obj.prior(), 2, restarts=1, steps=steps, lr=0.02, select="total",
                                    schedule="constant", memory_format="contiguous", history=True, seed=0)
    return res, obj, y, A, x


def test_holdout_stop_returns_the_iterate_with_the_lowest_held_out_error():
    res, obj, y, A, _ = fit("holdout", noise=0.5, holdout=0.2)
    held = obj.score.fit_mask == 0
    r = y - A(res.x.reshape(2, -1))
    value = r[:, held].pow(2).sum(1)
    torch.testing.assert_close(res.loss, value)
    h = res.history[:, 0]
    torch.testing.assert_close(value, torch.minimum(h.min(dim=1).values, value))
    assert bool((h[:, -1] > value).all())  # it stopped before the end: the held-out error went up again


def test_discrepancy_stop_returns_the_first_iterate_at_the_noise_level():
    noise = 0.5
    res, obj, y, A, _ = fit("discrepancy", noise=noise, noise_std=noise / np.sqrt(60))
    floor = 60 * (noise / np.sqrt(60)) ** 2
    r2 = (y - A(res.x.reshape(2, -1))).pow(2).sum(1)
    assert bool((r2 <= floor).all())
    h = res.history[:, 0]
    for p in range(2):
        first = int(torch.nonzero(h[p] <= floor)[0])
        assert bool((h[p, :first] > floor).all()) and first > 5


def test_recover_without_a_generator():
    y, A, x = problem(P=2, m=64)
    out = ganprior.recover(y.numpy(), A.matrix.numpy(), method="deep-decoder", image_shape=(1, 8, 8), width=8,
                           depth=1, iterations=300, stop="none", dtype="float32")
    assert isinstance(out, np.ndarray) and out.shape == (2, 1, 8, 8)
    assert float(np.mean((out - x.numpy()) ** 2)) < 2e-3
    with pytest.raises(ValueError, match="'G' parameter must be None"):
        ganprior.recover(y, A, ganprior.Generator(torch.nn.Linear(2, 64), latent_shape=2), method="dip")
    with pytest.raises(ValueError, match="'image_shape' parameter of recover\\(method='dip'\\) must be given"):
        ganprior.recover(y, A.matrix, method="dip")
    with pytest.raises(ValueError, match="are for latent methods"):
        ganprior.recover(y, A, method="dip", steps=10)
    res = ganprior.recover(y, A, method="deep-decoder", width=8, depth=1, iterations=20, noise_std=0.1,
                           return_result=True)
    assert res.info["settings"]["noise_std"] == 0.1  # recover passes the noise level on
