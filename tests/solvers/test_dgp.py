"""Per-problem weights on the engine (RowWeights), the stopping score, and method='dgp'.

References: a per-row loop of the module with each row's weights (the vmapped render), the same row solved
alone (its trajectory in a batch), ILO's own iterates (the fallback), closed forms of the stopping criteria.
"""

import warnings

import pytest
import torch

import ganprior
from ganprior import operators as ops
from ganprior.solvers.dgp import DGPObjective, upper_module
from ganprior.solvers.ilo import ILOObjective
from ganprior.solvers.rowweights import RowWeights
from ganprior.solvers.stopping import StoppingScore


def conv_generator(seed=0, dtype=torch.float64):
    """A tiny DCGAN-like Sequential 4 -> (8, 2, 2) -> (4, 4, 4) -> (1, 8, 8) with batch norm and block ends."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Unflatten(1, (4, 1, 1)), torch.nn.ConvTranspose2d(4, 8, 2), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(8, 4, 4, 2, 1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(4, 1, 4, 2, 1), torch.nn.Tanh())
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    return ganprior.Generator(net, latent_shape=4, output_range=(-1, 1)).to(dtype)


def test_the_vmapped_render_equals_a_loop_of_the_module_with_each_rows_weights():
    G = conv_generator()
    upper = upper_module(G, 4)
    rw = RowWeights(upper, delta=True)
    gen = torch.Generator().manual_seed(1)
    state = {k: 0.05 * torch.randn(v.shape, generator=gen, dtype=v.dtype) for k, v in rw.state(5).items()}
    h = torch.rand(5, 8, 2, 2, generator=gen, dtype=torch.float64)
    out = rw(state, h)
    for i in range(5):
        ref = copy_with(upper, {n: p + state["w:" + n][i] for n, p in upper.named_parameters()})(h[i:i + 1])[0]
        torch.testing.assert_close(out[i], ref, rtol=1e-12, atol=1e-12)
    # zero offsets: the pretrained upper part, whose folded batch norm equals the original layers'
    with torch.no_grad():
        torch.testing.assert_close(rw(rw.state(5), h), G.module[4:](h), rtol=1e-12, atol=1e-12)
    assert torch.equal(rw.penalty(state), sum(v.flatten(1).pow(2).sum(1) for v in state.values()))


def copy_with(module, params):
    import copy

    out = copy.deepcopy(module)
    with torch.no_grad():
        for n, p in out.named_parameters():
            p.copy_(params[n])
    return out


def test_initial_weights_are_views_that_cost_no_memory():
    rw = RowWeights(torch.nn.Linear(100, 100))
    state = rw.state(1000)
    assert state["w:weight"].shape == (1000, 100, 100) and state["w:weight"].stride()[0] == 0


def test_row_weights_refuse_unknown_names():
    with pytest.raises(ValueError, match="must name parameters of the module"):
        RowWeights(torch.nn.Linear(2, 2), ["kernel"])


def problem(P=3, m=40, seed=0, noise=0.0):
    G = conv_generator()
    A = ops.Gaussian(m, in_shape=(1, 8, 8), seed=seed + 1, dtype=torch.float64)
    z = torch.randn(P, 4, generator=torch.Generator().manual_seed(seed + 2), dtype=torch.float64)
    x = G(z).detach() + 0.05 * torch.randn(P, 1, 8, 8, generator=torch.Generator().manual_seed(seed + 3),
                                          dtype=torch.float64)  # a little outside the range
    y = A(x) + noise * torch.randn(P, m, generator=torch.Generator().manual_seed(seed + 4), dtype=torch.float64)
    return y, A, G, x


def solve(objective, G, P, seeds, steps=40, **kw):
    return ganprior.optimize_latents(objective, G, P, restarts=2, steps=steps, lr=0.05, seed=seeds, select="total",
                                     schedule="constant", memory_format="contiguous", history=True, **kw)


def test_a_rows_trajectory_is_the_same_alone_or_in_a_batch():
    y, A, G, _ = problem()
    batch = solve(DGPObjective(y, A, G, cut=4, lr_weights=1e-2, stop="none"), G, 3, [5, 6, 7])
    for p in range(3):
        alone = solve(DGPObjective(y[p:p + 1], A, G, cut=4, lr_weights=1e-2, stop="none"), G, 1, [5 + p])
        # float tolerance: the operator's batched product rounds differently (1e-16); the render is bitwise
        torch.testing.assert_close(batch.history[p], alone.history[0], rtol=1e-9, atol=1e-12)
        for k in batch.state:
            torch.testing.assert_close(batch.state[k][p], alone.state[k][0], rtol=1e-9, atol=1e-12)
    # the weights moved in stage 3, and each problem has its own
    w = batch.state["w:4.weight"]
    assert float(w.abs().max()) > 1e-3 and not torch.allclose(w[0], w[1])


def test_chunks_of_rows_give_the_same_answer():
    y, A, G, _ = problem()
    whole = solve(DGPObjective(y, A, G, cut=4, lr_weights=1e-2, stop="none"), G, 3, [5, 6, 7])
    chunked = solve(DGPObjective(y, A, G, cut=4, lr_weights=1e-2, stop="none"), G, 3, [5, 6, 7], row_chunk=2)
    torch.testing.assert_close(chunked.x, whole.x, rtol=1e-9, atol=1e-12)


def test_before_the_weights_move_dgp_is_ilo_on_the_same_rows():
    y, A, G, _ = problem()
    # stop="none": the data term on every row; with the weights' step at the threshold of nothing (their
    # stage never starts before the last step), every iterate is ILO's
    dgp = solve(DGPObjective(y, A, G, cut=4, warmup=0.5, adapt=39 / 40, lr_weights=1e-12, stop="none"), G, 3, [1, 2, 3])
    ilo = solve(ILOObjective(y, A, G, cut=4, warmup=0.5), G, 3, [1, 2, 3])
    torch.testing.assert_close(dgp.history[..., :39], ilo.history[..., :39], rtol=1e-12, atol=1e-12)


def test_holdout_score_has_the_fit_gradient_and_the_held_out_value():
    y, A, G, x = problem(P=2, m=20)
    score = StoppingScore(y, A, stop="holdout", holdout=0.25, split_seed=3)
    held = score.fit_mask == 0
    assert int(held.sum()) == 5
    xh = x.clone().requires_grad_(True)
    fit, total = score(xh + 0.1, torch.tensor([0, 1]))
    r = y - A((x + 0.1).reshape(2, -1))
    torch.testing.assert_close(total.detach(), r[:, held].pow(2).sum(1))
    torch.testing.assert_close(fit.detach(), r[:, ~held].pow(2).sum(1))
    total.sum().backward()
    g = -2 * A.adjoint(r * (~held)).reshape(xh.shape)
    torch.testing.assert_close(xh.grad, g)


def test_discrepancy_score_is_the_fit_floored_at_the_noise_level():
    y, A, G, x = problem(P=2, m=20)
    score = StoppingScore(y, A, noise_std=0.1)  # auto: the discrepancy principle
    assert score.rule == "discrepancy" and score.floor == pytest.approx(20 * 0.01)
    fit, total = score(x + 0.01, torch.tensor([0, 1]))
    torch.testing.assert_close(total, fit.clamp_min(0.2))
    with pytest.raises(ValueError, match="needs the noise level"):
        StoppingScore(y, A, stop="discrepancy")
    with pytest.raises(ValueError, match="holdout.*must be < 1"):
        StoppingScore(y, A, holdout=1.0)


def test_dgp_falls_back_to_an_ilo_iterate_when_the_weights_do_not_help():
    # noisy measurements and a large step on the weights: adapting fits the noise, the held-out error rises, and
    # the answer is an iterate from before the weights moved (its weight offsets are zero)
    y, A, G, _ = problem(P=2, m=40, noise=0.3)
    res = solve(DGPObjective(y, A, G, cut=4, adapt=0.5, lr_weights=0.3, stop="holdout", holdout=0.25), G, 2, [1, 2],
                steps=60)
    offsets = sum(v.abs().sum() for k, v in res.state.items() if k.startswith("w:"))
    assert float(offsets) == 0.0


def test_with_too_few_rows_to_hold_out_dgp_is_ilo():
    y, A, G, _ = problem(P=2, m=40)  # 10% of 40: 4 held-out rows, fewer than MIN_HELD_OUT
    obj = DGPObjective(y, A, G, cut=4, warmup=0.5, adapt=0.75, lr_weights=1e-2)
    assert not obj.adapting and obj.score.rule == "none"
    dgp = solve(obj, G, 2, [1, 2])
    ilo = solve(ILOObjective(y, A, G, cut=4, warmup=0.5), G, 2, [1, 2])
    torch.testing.assert_close(dgp.x, ilo.x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dgp.history, ilo.history, rtol=1e-12, atol=1e-12)
    assert DGPObjective(y, A, G, cut=4, stop="holdout", holdout=0.2).adapting  # 8 rows held out
    assert not DGPObjective(y, A, G, cut=4, noise_std=0.1).adapting  # the discrepancy principle too


def test_recover_runs_dgp_and_it_improves_on_ilo_at_these_settings():
    y, A, G, x = problem(P=3, m=48)
    kw = dict(restarts=2, steps=120, lr=0.05, schedule="constant", seed=[1, 2, 3])
    x_ilo = ganprior.recover(y, A, G, method="ilo", cut=4, warmup=40 / 120, **kw)
    x_dgp = ganprior.recover(y, A, G, method="dgp", cut=4, warmup=40 / 120, adapt=80 / 120, lr_weights=1e-2,
                             stop="none", **kw)
    err = {k: float((v - x).pow(2).mean()) for k, v in (("ilo", x_ilo), ("dgp", x_dgp))}
    assert err["dgp"] < err["ilo"], err
    assert ganprior.get_method("dgp").hyperparameters["lr_weights"] == 1e-4


def test_bad_dgp_settings_are_refused():
    y, A, G, _ = problem(P=1)
    with pytest.raises(ValueError, match="'lr_weights' parameter of DGPObjective"):
        DGPObjective(y, A, G, lr_weights=0.0)
    with pytest.raises(ValueError, match="'adapt' parameter of .* must leave steps"):
        ganprior.recover(y, A, G, method="dgp", adapt=1.0, steps=10, restarts=1)


def test_a_methods_own_string_option_that_names_a_rule_is_its_value_not_a_choice():
    # "discrepancy" / "cv" leave a numeric argument to be chosen from the measurements; dgp's stop takes the word as
    # its own value (before, recover sent stop="discrepancy" to the selection and failed: no candidate grid)
    from ganprior.solvers.selection import rule_arguments

    assert rule_arguments("dgp", {"stop": "discrepancy", "lam": "cv"}) == {"lam": "cv"}
    assert rule_arguments("csgm", {"lam": "discrepancy"}) == {"lam": "discrepancy"}
    assert rule_arguments("auto", {"lam": "cv"}) == {"lam": "cv"}
    y, A, G, x = problem(P=2, m=80)  # 8 rows held out: the weights move
    kw = dict(restarts=1, steps=120, lr=0.05, schedule="constant", seed=[1, 2], cut=4, warmup=40 / 120, adapt=80 / 120,
              lr_weights=1e-2, noise_std=0.05, return_result=True)
    res = ganprior.recover(y, A, G, method="dgp", stop="discrepancy", **kw)
    none = ganprior.recover(y, A, G, method="dgp", stop="none", **kw)
    assert "rule" not in res.info and res.info["settings"]["stop"] == "discrepancy"
    assert not torch.equal(res.x, none.x)  # the stop chose another iterate than the last


def test_progressive_frees_the_layers_above_the_cut_one_at_a_time_nearest_first():
    y, A, G, _ = problem(P=2)
    obj = DGPObjective(y, A, G, cut=2, adapt=0.25, lr_weights=1e-2, stop="none", progressive=True)
    assert [g[0] for g in obj.groups] == ["w:2.weight", "w:4.weight", "w:7.weight"]  # batch norm 2, convs 4 and 7
    from ganprior._validation import check_seeds

    state = {k: v.clone().requires_grad_(True) for k, v in obj.init_state(G, 2, 1, check_seeds([1, 2], 2)).items()}
    rows = torch.arange(2)
    # 40 steps, stage 3 from step 10: three parts of 10 steps, freeing one more layer each
    for t, free in [(5, 3), (10, 1), (19, 1), (20, 2), (29, 2), (30, 3), (39, 3)]:
        obj.on_step(t, 40)
        assert obj.free == free, t
        if obj.stage < 3:
            continue
        for v in state.values():
            v.grad = None
        obj.loss(obj.render(G, state), state, rows)[1].sum().backward()
        moving = [g[0] for g in obj.groups if all(state[k].grad is not None for k in g)]
        assert moving == [g[0] for g in obj.groups[:free]], t
    assert not DGPObjective(y, A, G, cut=2, stop="none").progressive  # all at once by default
    with pytest.raises(TypeError, match="'progressive' parameter of DGPObjective must be True or False"):
        DGPObjective(y, A, G, cut=2, progressive="yes")


def test_progressive_with_one_layer_above_the_cut_is_dgp_and_otherwise_moves_every_layer_by_the_end():
    y, A, G, _ = problem(P=2)
    kw = dict(adapt=0.5, lr_weights=1e-2, stop="none")
    # cut 7: the last convolution alone has weights above the cut (one group): the same run, bitwise
    one = solve(DGPObjective(y, A, G, cut=7, progressive=True, **kw), G, 2, [1, 2])
    ref = solve(DGPObjective(y, A, G, cut=7, **kw), G, 2, [1, 2])
    assert torch.equal(one.history, ref.history) and torch.equal(one.x, ref.x)
    prog = solve(DGPObjective(y, A, G, cut=4, progressive=True, **kw), G, 2, [1, 2])
    full = solve(DGPObjective(y, A, G, cut=4, **kw), G, 2, [1, 2])
    # the same until stage 3 (step 20); then progressive moves only the layer nearest the cut until step 30
    assert torch.equal(prog.history[..., :21], full.history[..., :21])
    assert not torch.equal(prog.history[..., 21:], full.history[..., 21:])
    for k in ("w:4.weight", "w:7.weight"):  # the deeper layer moved in the last part only, but moved
        assert float(prog.state[k].abs().max()) > 0, k


def test_a_warmup_that_does_not_end_before_adapt_is_refused_before_any_step():
    # ILO's own warm-up (half of the steps) with dgp's default adapt (half) left ILO's stage without a step: the
    # weights started from CSGM's iterate, silently (found by the schedule study at 600 steps: 0.3-0.7 dB below ILO)
    y, A, G, _ = problem(P=1)
    kw = dict(restarts=1, steps=20, seed=0, cut=4, stop="none")
    for warmup, adapt in [(0.5, 0.5), (0.6, 0.5)]:
        with pytest.raises(ValueError, match=r"'warmup' parameter of .* must end before 'adapt' \(they are "
                                             rf"{warmup} and {adapt} of the steps\)"):
            ganprior.recover(y, A, G, method="dgp", warmup=warmup, adapt=adapt, **kw)
    obj = DGPObjective(y, A, G, cut=4, warmup=10, adapt=10, stop="none")  # ints: refused at the first step
    with warnings.catch_warnings(), pytest.raises(ValueError, match=r"they are steps 10 and 10 of 20"):
        warnings.simplefilter("ignore", FutureWarning)  # an int counts steps (warned once per process)
        obj.on_step(0, 20)
    ganprior.recover(y, A, G, method="dgp", warmup=0.0, adapt=0.0, **kw)  # the weights from the first step: explicit
    ganprior.recover(y, A, G, method="dgp", warmup=0.25, adapt=0.5, **kw)
    with pytest.raises(ValueError, match=r"they are 1.0 of the steps, and adapt half of those after it"):
        ganprior.recover(y, A, G, method="dgp", warmup=1.0, **kw)


@pytest.mark.parametrize("warmup, t0, t1", [(None, 20, 30), (0.5, 20, 30), (0.25, 10, 25), (0.75, 30, 35)])
def test_the_default_adapt_is_half_of_the_steps_after_ilos_warmup(warmup, t0, t1):
    # any warm-up below 1 (ILO's recipes give 1/4 to 3/4) leaves ILO's stage steps; with ILO's default warm-up
    # the weights move over the last quarter, the schedule validated on CelebA faces
    y, A, G, _ = problem(P=1)
    obj = DGPObjective(y, A, G, cut=4, warmup=warmup, stop="none")
    stages = []
    for t in range(40):
        obj.on_step(t, 40)
        stages.append(obj.stage)
    assert stages == [1] * t0 + [2] * (t1 - t0) + [3] * (40 - t1)


def test_dgp_takes_ilos_validated_options_from_the_priors_recipe():
    # dgp continues ILO: with a bundled prior its first stages are the ILO the recipe validated at this m (at m = 200
    # the mnist recipe cuts at block end 6 with a warm-up of 3/4, not ILO's defaults), unless told otherwise
    import copy

    from ganprior.priors import recipe_for
    from ganprior.solvers.ilo import default_cut
    from ganprior.solvers.registry import method_recipe

    G = ganprior.load_prior("mnist")
    keys = ("lam", "cut", "radius", "warmup")
    ilo = {k: recipe_for(G, "recover", 200, method="ilo")[k] for k in keys}
    assert ilo["cut"] != default_cut(G) and ilo["warmup"] != 0.5
    assert {k: method_recipe(G, "recover", 200, "dgp")[k] for k in keys} == ilo
    A = ops.Gaussian(200, in_shape=(1, 28, 28), seed=0)
    y = A(G(torch.randn(2, *G.latent_shape, generator=torch.Generator().manual_seed(0))).detach())
    kw = dict(steps=8, restarts=1, seed=[0, 1], precision="fp32", stop="holdout", return_result=True)
    res = ganprior.recover(y, A, G, method="dgp", **kw)
    assert {k: res.info["settings"][k] for k in keys} == ilo
    assert all(res.info["source"][k] == "recipe (ilo)" for k in ("cut", "radius", "warmup"))
    assert res.info["source"]["lam"] == "recipe"  # the prior's own lam, shared by every latent method
    given = ganprior.recover(y, A, G, method="dgp", **ilo, **kw)
    assert torch.equal(res.x, given.x)  # the same solve as with ILO's options given
    mine = ganprior.recover(y, A, G, method="dgp", cut=3, **kw)
    assert mine.info["settings"]["cut"] == 3 and mine.info["source"]["cut"] == "caller"
    # with the weights unable to move (too few rows to hold out; or no noise level for the default stop), the
    # one-line dgp is the one-line ILO, bitwise: recover runs ILO itself (lam > 0 here: dgp's own restart rule,
    # by the total, would differ)
    A25 = ops.Gaussian(25, in_shape=(1, 28, 28), seed=1)
    y25 = A25(G(torch.randn(3, *G.latent_shape, generator=torch.Generator().manual_seed(1))).detach())
    assert recipe_for(G, "recover", 25, method="ilo")["lam"] > 0
    kw25 = dict(steps=12, restarts=4, seed=[0, 1, 2], precision="fp32", return_result=True)
    ilo25 = ganprior.recover(y25, A25, G, method="ilo", **kw25)
    dgp25 = ganprior.recover(y25, A25, G, method="dgp", **kw25)
    torch.testing.assert_close(dgp25.x, ilo25.x, rtol=0, atol=0)
    assert dgp25.info["runs_as"] == "ilo" and "runs_as" not in ilo25.info
    with pytest.warns(UserWarning, match="without noise_std"):
        default = ganprior.recover(y, A, G, method="dgp", **{**kw, "stop": "auto"})
    one_line_ilo = ganprior.recover(y, A, G, method="ilo", **{k: v for k, v in kw.items() if k != "stop"})
    torch.testing.assert_close(default.x, one_line_ilo.x, rtol=0, atol=0)
    # a recipe's own entry for dgp comes before ILO's
    G2 = copy.copy(G)
    G2.recipe = copy.deepcopy(G.recipe)
    G2.recipe["recover"]["methods"]["dgp"] = {"cut": [{"m_max": None, "cut": 3}]}
    own = method_recipe(G2, "recover", 200, "dgp")
    assert own["cut"] == 3 and own["radius"] == ilo["radius"]


def test_without_noise_std_the_default_stop_returns_ilos_answer_and_says_so():
    # held-out rows leave 10% of the rows out of ILO's stages too: on CelebA validation faces that cost more than
    # adapting gained at m = 500 and 5000; so without the noise level the default stop does not adapt, and says so
    y, A, G, _ = problem(P=2, m=80)  # 8 rows to hold out: stop="holdout" would adapt
    with pytest.warns(UserWarning, match=r"without noise_std leaves the weights alone and returns ILO's answer"):
        obj = DGPObjective(y, A, G, cut=4, warmup=0.5, lr_weights=1e-2)
    assert not obj.adapting
    dgp = solve(obj, G, 2, [1, 2])
    ilo = solve(ILOObjective(y, A, G, cut=4, warmup=0.5), G, 2, [1, 2])
    torch.testing.assert_close(dgp.x, ilo.x, rtol=0, atol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit rule, or the noise level: no warning, and the weights move
        assert DGPObjective(y, A, G, cut=4, stop="holdout").adapting
        assert DGPObjective(y, A, G, cut=4, noise_std=0.1).adapting



def test_celeba64s_dgp_entry_is_its_own_only_where_validated_and_ilos_elsewhere():
    # the recipe's dgp cut / radius were validated at m = 1000 and 2500 (cut 3 adapted more than ILO's cut); where
    # dgp cannot adapt (m <= 54) and beyond 3535 its options must be ILO's, so that it continues the recipe's ILO
    from ganprior.priors import recipe_for
    from ganprior.solvers.registry import method_recipe

    G = ganprior.load_prior("celeba64")
    for m in (20, 50, 100, 500, 5000, 10000):
        ilo = recipe_for(G, "recover", m, method="ilo")
        assert {k: method_recipe(G, "recover", m, "dgp")[k] for k in ("cut", "radius", "warmup")} == \
            {k: ilo[k] for k in ("cut", "radius", "warmup")}, m
    inherited = {}
    own = method_recipe(G, "recover", 2500, "dgp", inherited=inherited)
    assert (own["cut"], own["radius"]) == (3, 1.0) != (recipe_for(G, "recover", 2500, method="ilo")["cut"], 3.0)
    assert inherited == {"warmup": "ilo"}  # the warm-up is ILO's, the cut and radius dgp's own
    # where the weights cannot move (no noise level given), the one-line dgp is the one-line ILO with ILO's own
    # recipe, not ILO at dgp's cut 3 (on the validation faces at m = 2500 that was 1.9 dB below ILO)
    A = ops.Gaussian(2500, in_shape=tuple(G.image_shape), seed=0)
    y = A(G(torch.randn(1, *G.latent_shape, generator=torch.Generator().manual_seed(0))).detach())
    kw = dict(steps=3, restarts=1, seed=[0], precision="fp32", return_result=True)
    with pytest.warns(UserWarning, match="without noise_std"):
        dgp = ganprior.recover(y, A, G, method="dgp", **kw)
    ilo = ganprior.recover(y, A, G, method="ilo", **kw)
    assert dgp.info["runs_as"] == "ilo" and dgp.info["settings"]["cut"] == ilo.info["settings"]["cut"] == 6
    torch.testing.assert_close(dgp.x, ilo.x, rtol=0, atol=0)
