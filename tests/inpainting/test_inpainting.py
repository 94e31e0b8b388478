"""Semantic inpainting (Yeh et al. 2017) on the latent engine: weights, objective, inpaint(), CLI."""

import logging

import numpy as np
import pytest
import torch

import ganprior
from ganprior.masks import center_mask, random_mask, weighted_mask
from ganprior.models import MLPDiscriminator, MLPGenerator
from ganprior.solvers.inpainting import InpaintingObjective, inpaint
from ganprior.solvers.latent import optimize_latents

SHAPE = (1, 8, 8)
FAST = {"restarts": 2, "steps": 30, "lr": 0.05}


def tiny(dtype=torch.float32, shape=SHAPE, k=4):
    G = ganprior.Generator(MLPGenerator(latent_dim=k, width=32, image_shape=shape, seed=0)).to(dtype)
    D = ganprior.Discriminator(MLPDiscriminator(width=32, image_shape=shape, seed=1)).to(dtype)
    return G, D


def truth(G, n=3, seed=5):
    z = torch.rand(n, G.k, generator=torch.Generator().manual_seed(seed), dtype=G.dtype) * 1.6 - 0.8
    return G(z).detach()


def test_weighted_mask_hand_computed():
    m = np.ones((5, 5))
    m[2, 2] = 0          # one interior hole pixel
    m[0, 0] = 0          # one corner hole pixel: the window leaves the image (counted as known)
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = 1 / 9
    expected[2, 2] = 0
    expected[0, 1] = expected[1, 0] = 1 / 9
    expected[1, 1] = 2 / 9   # sees both holes
    expected[0, 0] = 0
    np.testing.assert_allclose(weighted_mask(m, window=3), expected, atol=1e-15)
    # known pixels next to the hole weigh most; the inverted (buggy) form would weigh them least
    assert weighted_mask(m, window=3)[4, 4] == 0.0
    assert weighted_mask(m, window=1).max() == 0.0


def test_weighted_mask_types_and_channels():
    m = torch.ones(2, 2, 6, 6)
    m[0, 1, 2:4, 2:4] = 0
    w = weighted_mask(m, window=3)
    assert isinstance(w, torch.Tensor) and w.dtype == torch.float32 and w.shape == m.shape
    assert w[0, 0].abs().sum() == 0 and w[1].abs().sum() == 0 and w[0, 1].sum() > 0
    wb = weighted_mask(m.bool().numpy(), window=7)
    assert isinstance(wb, np.ndarray) and wb.dtype == np.float32
    assert weighted_mask(m.double().numpy(), window=7).dtype == np.float64


def test_objective_decreases_contextual_loss():
    G, _ = tiny()
    x = truth(G, n=2)
    obj = InpaintingObjective(x, center_mask((2, 1, 8, 8)))
    res = optimize_latents(obj, G, 2, restarts=3, steps=100, lr=0.05, seed=0, select="total", history=True)
    first, last = res.history[..., 0], res.history[..., -1]
    assert (last < first).all() and float(last.mean()) < 0.5 * float(first.mean())
    z = torch.randn(6, G.k, generator=torch.Generator().manual_seed(0)) * 3
    obj.project(z)
    assert float(z.abs().max()) == 1.0


def test_perceptual_term_stable_from_logits():
    y, m = torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 8, 8)

    class Const(torch.nn.Module):
        def __init__(self, value):
            super().__init__()
            self.value = value

        def forward(self, x):
            return torch.full((x.shape[0],), self.value, dtype=x.dtype)

    for value in (-200.0, 0.0, 200.0):
        D = ganprior.Discriminator(Const(value))
        mm = InpaintingObjective(y, m, D, perceptual="minimax").perceptual_loss(torch.zeros(1, 1, 8, 8))
        ns = InpaintingObjective(y, m, D, perceptual="non-saturating").perceptual_loss(torch.zeros(1, 1, 8, 8))
        p = torch.sigmoid(torch.tensor(value, dtype=torch.float64))
        assert torch.isfinite(mm).all() and torch.isfinite(ns).all()
        if value == 0.0:
            assert float(mm) == pytest.approx(float(torch.log1p(-p))) and float(ns) == pytest.approx(float(-p.log()))
    assert float(mm) == pytest.approx(-200.0) and float(ns) == pytest.approx(0.0, abs=1e-80)


def test_inpaint_recovers_an_in_range_image_better_than_harmonic():
    G, _ = tiny()
    x = truth(G)
    mask = center_mask((3, 1, 8, 8))
    res = inpaint(x, mask, G, restarts=6, steps=300, lr=0.05, seed=[0, 1, 2], return_result=True)
    ours = ganprior.metrics.psnr(res.x, x)
    base = ganprior.metrics.psnr(ganprior.blending.harmonic_fill(x, mask), x)
    assert float(ours.median()) > float(base.median()) + 10
    assert float(res.z.abs().max()) <= 1.0
    known = mask.bool()
    assert torch.equal(res.x[known], x[known])   # Poisson blending keeps the known pixels


def test_inpaint_deterministic_for_a_seed():
    G, D = tiny()
    x, mask = truth(G), random_mask((3, 1, 8, 8), seed=0)
    a = inpaint(x, mask, G, D, seed=7, **FAST)
    b = inpaint(x, mask, G, D, seed=7, **FAST)
    c = inpaint(x, mask, G, D, seed=8, **FAST)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("with_d", [False, True])
def test_batched_equals_per_image_float64(with_d):
    G, D = tiny(torch.float64)
    x = truth(G)
    mask = random_mask((3, 1, 8, 8), missing=0.6, seed=1).double()
    D = D if with_d else None
    batch = inpaint(x, mask, G, D, seed=[10, 11, 12], return_result=True, **FAST)
    for i in range(3):
        one = inpaint(x[i], mask[i], G, D, seed=10 + i, return_result=True, **FAST)
        torch.testing.assert_close(one.x, batch.x[i], rtol=0, atol=1e-12)
        torch.testing.assert_close(one.loss, batch.loss[i], rtol=0, atol=1e-12)


def test_numpy_and_torch_in_equals_out():
    G, _ = tiny()
    x = truth(G, n=2)
    mask = center_mask((8, 8))
    out = inpaint(x.numpy(), mask.numpy(), G, seed=0, **FAST)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (2, 1, 8, 8)
    out1 = inpaint(x[0].numpy(), mask.numpy(), G, seed=0, blend="alpha", **FAST)
    assert isinstance(out1, np.ndarray) and out1.shape == SHAPE
    G64, _ = tiny(torch.float64)
    out64 = inpaint(x.double(), mask, G64, seed=0, blend="none", **FAST)
    assert isinstance(out64, torch.Tensor) and out64.dtype == torch.float64 and out64.shape == (2, 1, 8, 8)


def test_blend_options_and_result_fields():
    G, _ = tiny()
    x, mask = truth(G, n=2), center_mask((1, 8, 8))
    r = inpaint(x, mask, G, seed=0, blend="none", return_result=True, history=True, **FAST)
    assert torch.equal(r.x, r.generated)
    assert r.z.shape == (2, 4) and r.history.shape == (2, 2, 30) and r.restart.shape == (2,)
    torch.testing.assert_close(r.loss, r.contextual_loss)
    assert r.info["perceptual"] == "off" and r.info["settings"]["blend"] == "none"
    a = inpaint(x, mask, G, seed=0, blend="alpha", **FAST)
    torch.testing.assert_close(a, mask * x + (1 - mask) * r.generated)


def test_discriminator_changes_the_answer_and_none_is_logged(caplog):
    G, D = tiny()
    x, mask = truth(G, n=2), center_mask((1, 8, 8))
    with caplog.at_level(logging.INFO, logger="ganprior"):
        plain = inpaint(x, mask, G, seed=0, return_result=True, **FAST)
    assert "perceptual term is off" in caplog.text
    with_d = inpaint(x, mask, G, D, perceptual_weight=0.5, seed=0, return_result=True, **FAST)
    assert not torch.allclose(plain.generated, with_d.generated)
    assert with_d.info["perceptual"] == "minimax" and (with_d.perceptual_loss < 0).all()
    ns = inpaint(x, mask, G, D, perceptual_weight=0.5, perceptual="non-saturating", seed=0, return_result=True, **FAST)
    assert (ns.perceptual_loss > 0).all()


def test_schedule_reaches_the_engine():
    # inpaint(schedule="cosine") must be the engine's cosine solve of the same objective from the same seed:
    # the engine projects the initial latents onto the box itself
    G, D = tiny(torch.float64)
    x, mask = truth(G, n=2), center_mask((1, 8, 8)).double()
    r = inpaint(x, mask, G, D, perceptual_weight=0.1, seed=3, blend="none", schedule="cosine", return_result=True,
                **FAST)
    objective = InpaintingObjective(x, mask.expand(2, 1, 8, 8), D, perceptual_weight=0.1)
    with D.frozen():
        ref = optimize_latents(objective, G, 2, select="total", seed=3, schedule="cosine", **FAST)
    torch.testing.assert_close(r.generated, ref.x, rtol=0, atol=1e-12)
    assert r.info["settings"]["schedule"] == "cosine" and r.info["source"]["schedule"] == "caller"
    const = inpaint(x, mask, G, D, perceptual_weight=0.1, seed=3, blend="none", schedule="constant",
                    return_result=True, **FAST)
    assert not torch.allclose(const.generated, r.generated)


def test_z_bound_none_leaves_latents_free():
    G, _ = tiny()
    x = truth(G, n=1)
    r = inpaint(x, center_mask((8, 8)), G, z_bound=None, seed=0, restarts=1, steps=5, return_result=True)
    assert float(r.z.abs().max()) > 1.0


def test_the_priors_inpaint_recipe_sets_inpaintings_own_arguments():
    # every field an inpaint recipe declares reaches the solve when the caller leaves it unset (they were stored in
    # every bundled config.json and ignored: only the engine settings were taken from the recipe)
    from ganprior.solvers.inpainting import INPAINT_OPTIONS

    G, D = tiny(torch.float64)
    x, mask = truth(G, n=2), center_mask((1, 8, 8)).double()
    plain = inpaint(x, mask, G, D, seed=0, return_result=True, **FAST)
    assert plain.info["settings"]["perceptual_weight"] == INPAINT_OPTIONS["perceptual_weight"] == 0.003
    assert {plain.info["source"][k] for k in INPAINT_OPTIONS} == {"default"}
    recipe = {"perceptual_weight": 0.5, "window": 3, "z_bound": 0.5, "perceptual": "non-saturating", "blend": "none"}
    G.recipe = {"inpaint": dict(recipe, steps=30)}
    res = inpaint(x, mask, G, D, seed=0, return_result=True, **FAST)
    assert {k: res.info["settings"][k] for k in recipe} == recipe
    assert {k: res.info["source"][k] for k in recipe} == dict.fromkeys(recipe, "recipe")
    assert res.info["perceptual"] == "non-saturating" and (res.perceptual_loss > 0).all()
    assert float(res.z.abs().max()) <= 0.5 < float(plain.z.abs().max())  # the recipe's box
    assert torch.equal(res.x, res.generated)  # blend "none"
    # the solve is the one with those arguments given by the caller, and differs from the defaults' solve
    given = inpaint(x, mask, G, D, seed=0, return_result=True, **FAST, **recipe)
    torch.testing.assert_close(res.x, given.x, rtol=0, atol=0)
    assert {given.info["source"][k] for k in recipe} == {"caller"}
    assert not torch.allclose(res.generated, plain.generated)
    # the caller's value wins over the recipe's; z_bound=None (no box) is a value, not "unset"
    mine = inpaint(x, mask, G, D, seed=0, return_result=True, perceptual_weight=0.003, z_bound=None, **FAST)
    assert mine.info["settings"]["perceptual_weight"] == 0.003 and mine.info["source"]["perceptual_weight"] == "caller"
    assert mine.info["settings"]["z_bound"] is None and mine.info["source"]["z_bound"] == "caller"
    assert mine.info["settings"]["window"] == 3 and mine.info["source"]["window"] == "recipe"
    # a preset replaces the recipe: inpainting's own arguments are the defaults then
    preset = inpaint(x, mask, G, D, seed=0, preset="bora2017", return_result=True, restarts=2, steps=30)
    assert {k: preset.info["settings"][k] for k in INPAINT_OPTIONS} == INPAINT_OPTIONS


def test_bad_inputs_fail_before_work():
    G, _ = tiny()
    x, mask = truth(G, n=2), center_mask((8, 8))
    cases = [
        ({"mask": torch.ones(7, 8)}, ValueError, r"Shape mismatch: the 'mask' parameter of inpaint must have one of"),
        ({"mask": mask * 0.5}, ValueError, r"'mask' parameter of inpaint must hold only 0 \(missing\) and 1"),
        ({"perceptual_weight": -0.1}, ValueError,
         r"'perceptual_weight' parameter of inpaint must be a real number >= 0.0. Got -0.1"),
        ({"window": 4}, ValueError, r"'window' parameter of inpaint must be an odd int >= 1. Got 4"),
        ({"window": 0}, ValueError, r"'window' parameter of inpaint must be an int >= 1. Got 0"),
        ({"blend": "seamless"}, ValueError, (r"'blend' parameter of inpaint must be one of "
                                             r"\['alpha', 'none', 'poisson'\]. Got 'seamless'")),
        ({"perceptual": "wgan"}, ValueError, (r"'perceptual' parameter of inpaint must be one of "
                                              r"\['minimax', 'non-saturating'\]")),
        ({"D": G}, TypeError, r"'D' parameter of inpaint must be None, a ganprior.Discriminator"),
        ({"D": 3}, TypeError, r"'D' parameter of inpaint must be None, a ganprior.Discriminator"),
        ({"image": x[:, :, :4]}, ValueError, r"Shape mismatch: the 'mask' parameter"),
        ({"image": x.to(torch.int64), "mask": mask}, TypeError, r"'image' parameter of inpaint must be a floating"),
        ({"image": torch.zeros(2, 1, 4, 4), "mask": torch.ones(4, 4)}, ValueError,
         r"Shape mismatch: 'image' holds images of shape \(1, 4, 4\) but G makes images of shape \(1, 8, 8\)"),
        ({"image": [[0.0]]}, TypeError, r"'image' parameter of inpaint must be a numpy.ndarray or torch.Tensor"),
        ({"restarts": 0}, ValueError, r"'restarts' parameter of inpaint must be an int >= 1. Got 0"),
        ({"schedule": "linear"}, ValueError, r"'schedule' parameter of inpaint must be one of \['constant', 'cosine'\]"),
        ({"z_bound": 0.0}, ValueError, r"'z_bound' parameter of inpaint must be a real number > 0.0"),
        ({"seed": -1}, ValueError, r"'seed' parameter must be an int >= 0"),
    ]
    for change, err, pattern in cases:
        kw = FAST | {"image": x, "mask": mask, "G": G, "D": None} | change
        with pytest.raises(err, match=pattern):
            inpaint(kw.pop("image"), kw.pop("mask"), kw.pop("G"), kw.pop("D"), **kw)
    y = x.clone()
    y[:, :, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"'image' parameter of inpaint must be finite on the known pixels"):
        inpaint(y, mask, G, **FAST)
    y = x.clone()
    y[:, :, 3, 3] = float("nan")   # under the hole: ignored
    assert torch.isfinite(inpaint(y, mask, G, seed=0, **FAST)).all()


def test_cli_inpaint(tmp_path, monkeypatch, capsys):
    import ganprior.priors
    from ganprior.__main__ import main

    G, D = tiny(shape=(1, 28, 28), k=8)
    monkeypatch.setattr(ganprior.priors, "load_prior", lambda name, device=None: G)
    monkeypatch.setattr(ganprior.priors, "load_discriminator", lambda name, device=None: D)
    out = tmp_path / "inpaint.png"
    code = main(["inpaint", "--prior", "mnist", "--n", "2", "--mask", "random", "--restarts", "1", "--steps", "3",
                 "--threads", "1", "--out", str(out)])
    assert code == 0 and out.stat().st_size > 1000
    text = capsys.readouterr().out
    assert "harmonic" in text and "2 images of mnist_test300" in text
