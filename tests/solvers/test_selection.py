"""Choosing lam, alpha and the method from the measurements alone: cross-validation and the discrepancy principle."""

from collections import Counter

import numpy as np
import pytest
import torch
from conftest import relu_generator

import ganprior
from ganprior import operators as ops
from ganprior.solvers.holdout import cv_plan, holdout_rows

SHAPE = (1, 6, 6)


def test_holdout_rows_split():
    fit, held = holdout_rows(50, 0.1, seed=0)
    assert held.numel() == 5 and fit.numel() == 45
    assert sorted(torch.cat([fit, held]).tolist()) == list(range(50))
    assert holdout_rows(3, 0.1)[1].numel() == 1
    with pytest.raises(ValueError, match="'fraction' parameter of holdout_rows must be < 1"):
        holdout_rows(10, 1.0)


def test_rows_operator_is_the_row_selection_and_adjoint():
    A = ops.Gaussian(20, n=30, seed=0, dtype=torch.float64)
    R = A.take_rows([3, 7, 1])
    x = torch.randn(2, 30, dtype=torch.float64)
    torch.testing.assert_close(R(x), A(x)[:, [3, 7, 1]])
    ops.dottest(R)
    with pytest.raises(ValueError, match="distinct rows in \\[0, 20\\)"):
        A.take_rows([1, 1])


def test_cv_picks_a_large_lam_when_measurements_are_few_and_noisy_and_a_small_one_otherwise():
    # y = A G(z*) + heavy noise with few rows: the fit-only solutions chase the noise, ||z||^2 helps;
    # noise-free with many rows, lam = 0 is exact.  The CV choice must follow, per problem.
    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE).double()
    z = torch.randn(2, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = G(z).detach()
    kw = dict(restarts=3, steps=300, lr=0.05, schedule="constant", seed=0)
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2, dtype=torch.float64)
    res = ganprior.recover(A(x), A, G, lam="cv", choice="per-problem", return_result=True, **kw)
    sel = res.info["selection"]
    # 10% of 30 rows is 3, under MIN_HELD_OUT: 5 folds, every row scored
    assert sel["rule"] == "cv" and sel["argument"] == "lam" and sel["held_out_rows"] == 30
    assert sel["chosen"] == [0.0, 0.0]  # noise-free: any lam > 0 biases the answer
    assert float(ganprior.metrics.mse(res.x, x).max()) < 1e-6
    y_noisy = A(x) + 3.0 * torch.randn(2, 30, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    noisy = ganprior.recover(y_noisy, A, G, lam="cv", choice="per-problem", return_result=True, **kw)
    assert min(noisy.info["selection"]["chosen"]) >= 0.3
    # the held-out error ranks the candidates as the true error does (on average over problems)
    errs = [float(ganprior.metrics.mse(ganprior.recover(y_noisy, A, G, lam=v, **kw), x).mean())
            for v in (0.0, 3.0)]
    assert errs[1] < errs[0]


def test_discrepancy_principle_picks_the_largest_lam_within_the_noise():
    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE).double()
    x = G(torch.randn(1, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)).detach()
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2, dtype=torch.float64)
    sigma = 0.05
    y = A(x) + sigma * torch.randn(1, 30, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    kw = dict(restarts=3, steps=300, lr=0.05, schedule="constant", seed=0)
    res = ganprior.recover(y, A, G, lam="discrepancy", noise_std=sigma, return_result=True, **kw)
    sel = res.info["selection"]
    ok = [c for c, e in zip(sel["candidates"], sel["fit_error"][0].tolist()) if e <= sel["tau"] * 30 * sigma**2]
    assert sel["tau"] == 1.5 and ok and sel["chosen"] == [max(ok)] and max(ok) > 0
    with pytest.raises(ValueError, match="needs 'noise_std'"):
        ganprior.recover(y, A, G, lam="discrepancy", **kw)
    with pytest.raises(ValueError, match="one argument at a time"):
        ganprior.recover(y, A, G, method="sparse-gen", lam="cv", alpha="cv", **kw)


def test_auto_chooses_the_prior_for_signals_in_its_range_and_the_lasso_for_sparse_ones():
    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE)
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2)
    in_range = G(torch.randn(1, 4, generator=torch.Generator().manual_seed(1))).detach()
    sparse = torch.zeros(1, *SHAPE)
    sparse.view(1, -1)[0, [3, 20]] = torch.tensor([0.9, 0.6])  # 2-sparse in the pixel basis, far from the range
    y = A(torch.cat([in_range, sparse]))
    res = ganprior.recover(y, A, G, method="auto", restarts=3, steps=300, lr=0.05, schedule="constant", seed=0,
                           choice="per-problem", return_result=True)
    chosen = res.info["selection"]["chosen"]
    assert res.info["selection"]["choice"] == "per-problem"
    assert chosen[0] in ("csgm", "sparse-gen", "ilo") and chosen[1] in ("lasso", "sparse-gen")
    assert res.info["selection"]["candidates"] == ["csgm", "sparse-gen", "ilo", "lasso", "lasso-dct",
                                                   "lasso-wavelet"]
    assert isinstance(ganprior.recover(y.numpy(), A.matrix.numpy(), G, method="auto", restarts=1, steps=5,
                                       seed=0), np.ndarray)


def test_shared_choice_is_the_argmin_of_the_summed_held_out_error_and_refits_every_problem_with_it():
    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE).double()
    x = G(torch.randn(5, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)).detach()
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2, dtype=torch.float64)
    y = A(x) + 1.0 * torch.randn(5, 30, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    kw = dict(restarts=2, steps=150, lr=0.05, schedule="constant", seed=0)
    per = ganprior.recover(y, A, G, lam="cv", choice="per-problem", return_result=True, **kw).info["selection"]
    shared = ganprior.recover(y, A, G, lam="cv", return_result=True, **kw)  # the default for an argument
    sel = shared.info["selection"]
    # the candidate solves are the same; only the choice differs: one value, the argmin of the column sums
    torch.testing.assert_close(sel["held_out_error"], per["held_out_error"])
    best = sel["candidates"][int(per["held_out_error"].sum(dim=0).argmin())]
    assert sel["choice"] == "shared" and sel["chosen"] == [best] * 5
    # and every problem is refit on all rows with it: the same as recovering with that lam directly
    direct = ganprior.recover(y, A, G, lam=best, **kw)
    torch.testing.assert_close(shared.x, direct, rtol=0, atol=1e-10)
    # the discrepancy principle, shared: the largest value whose summed fit is within tau * P * m * sigma^2
    d = ganprior.recover(y, A, G, lam="discrepancy", noise_std=1.0, choice="shared", return_result=True,
                         **kw).info["selection"]
    total = d["fit_error"][0].tolist()  # every row holds the column sums
    ok = [c for c, e in zip(d["candidates"], total) if e <= 1.5 * 5 * 30 * 1.0]
    assert d["chosen"] == [max(ok)] * 5
    with pytest.raises(ValueError, match="'choice' parameter of recover must be one of"):
        ganprior.recover(y, A, G, lam="cv", choice="pooled", **kw)
    with pytest.raises(ValueError, match="applies only when something is chosen"):
        ganprior.recover(y, A, G, lam=0.1, choice="shared", **kw)


def test_auto_with_given_candidates_compares_exactly_those_and_refits_the_chosen_with_its_options():
    # one candidate: auto's answer is that candidate's own solve on all rows (same seed), bit for bit
    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE)
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2)
    x = G(torch.randn(3, 4, generator=torch.Generator().manual_seed(1))).detach()
    y = A(x) + 0.05 * torch.randn(3, 30, generator=torch.Generator().manual_seed(5))
    kw = dict(restarts=2, steps=60, lr=0.05, schedule="constant", seed=0)
    res = ganprior.recover(y, A, G, method="auto", candidates={"csgm": {"lam": 0.3}}, return_result=True, **kw)
    torch.testing.assert_close(res.x, ganprior.recover(y, A, G, lam=0.3, **kw), rtol=0, atol=0)
    assert res.info["selection"]["candidates"] == ["csgm"] and res.info["selection"]["chosen"] == ["csgm"] * 3
    # the same method twice: labelled by its options; a 2-sparse noiseless signal picks the small alpha
    sparse = torch.zeros(2, *SHAPE)
    sparse.view(2, -1)[0, [3, 20]] = torch.tensor([0.9, 0.6])
    sparse.view(2, -1)[1, [7]] = 0.8
    sel = ganprior.recover(A(sparse), A, method="auto", candidates=[("lasso", {"alpha": 1e-3}),
                                                                   ("lasso", {"alpha": 1.0})],
                           return_result=True).info["selection"]
    assert sel["candidates"] == ["lasso(alpha=0.001)", "lasso(alpha=1.0)"]
    assert sel["chosen"] == ["lasso(alpha=0.001)"] * 2
    assert bool((sel["held_out_error"][:, 0] < sel["held_out_error"][:, 1]).all())


def test_auto_chooses_between_priors_named_by_the_candidates():
    # two priors with disjoint ranges; each problem lies in the range of one: per problem, the held-out rows
    # pick that prior, and its refit recovers the signal (no G given to recover: the candidates bring theirs)
    G_a = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE).double()
    G_b = relu_generator(k=4, hidden=32, n=36, seed=7, image_shape=SHAPE).double()
    G_a.name, G_b.name = "a", "b"
    gen = torch.Generator().manual_seed(1)
    x = torch.cat([G_b(torch.randn(1, 4, generator=gen, dtype=torch.float64)),
                   G_a(torch.randn(1, 4, generator=gen, dtype=torch.float64))]).detach()
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2, dtype=torch.float64)
    kw = dict(restarts=4, steps=300, lr=0.05, schedule="constant", seed=0)
    res = ganprior.recover(A(x), A, method="auto", candidates=[("csgm", {"G": G_a, "lam": 0.0}),
                                                               ("csgm", {"G": G_b, "lam": 0.0})],
                           choice="per-problem", return_result=True, **kw)
    sel = res.info["selection"]
    assert sel["candidates"] == ["csgm(G='a', lam=0.0)", "csgm(G='b', lam=0.0)"]
    assert sel["chosen"] == ["csgm(G='b', lam=0.0)", "csgm(G='a', lam=0.0)"]
    assert float(ganprior.metrics.mse(res.x, x).max()) < 1e-6
    # the wrong prior cannot fit: its held-out error is orders of magnitude above the right one's
    err = sel["held_out_error"]
    assert float(err[0, 0]) > 100 * float(err[0, 1]) and float(err[1, 1]) > 100 * float(err[1, 0])
    with pytest.raises(ValueError, match="sparse baseline and uses no prior"):
        ganprior.recover(A(x), A, G_a, method="auto", candidates=[("lasso", {"G": G_b})])
    with pytest.raises(ValueError, match=r"makes images of shape \(1, 28, 28\); the problem's are \(1, 6, 6\)"):
        ganprior.recover(A(x), A, G_a, method="auto", candidates=["csgm", ("csgm", {"G": "mnist"})])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(candidates="csgm"), TypeError, "must be a dict"),
    (dict(candidates=[]), ValueError, "at least one method"),
    (dict(candidates=[("csgm", 0.1)]), TypeError, r"\(name, options dict\) pair"),
    (dict(candidates={"nope": {}}), ValueError, "nope"),
    (dict(candidates={"auto": {}}), ValueError, "cannot include 'auto'"),
    (dict(candidates={"csgm": {"alpha": 1.0}}), ValueError, r"Unknown argument\(s\) \['alpha'\] for candidate 'csgm'"),
    (dict(candidates={"csgm": {"lam": "cv"}}), ValueError, "leaves \\['lam'\\] to 'cv'"),
    (dict(lam=0.1), ValueError, "takes no method arguments"),
    (dict(method="csgm", candidates={"csgm": {}}), ValueError, "'candidates' parameter of recover is for method='auto'"),
])
def test_auto_candidates_are_checked_before_any_solve(kwargs, error, match, monkeypatch):
    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE)
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2)
    monkeypatch.setattr(ganprior.solvers.selection, "_call", lambda *a, **k: pytest.fail("a candidate was solved"))
    with pytest.raises(error, match=match):
        ganprior.recover(torch.zeros(2, 30), A, G, **{"method": "auto", **kwargs})
    with pytest.raises(ValueError, match="needs 'G'"):  # a latent candidate without a prior
        ganprior.recover(torch.zeros(2, 30), A, method="auto", candidates=["lasso", "csgm"])


def test_adaptive_choice_leaves_the_shared_candidate_exactly_where_a_paired_t_test_says_so():
    # an independent reference: scipy's paired t-test (one-sided, own best < shared) on each problem's held-out rows
    from scipy.stats import ttest_rel

    from ganprior.solvers.selection import choose_candidates

    gen = torch.Generator().manual_seed(0)
    P, C, r = 300, 4, 8
    level = torch.rand(P, C, 1, generator=gen, dtype=torch.float64)  # per problem and candidate: its true error
    errors = level * torch.distributions.Chi2(1.0).sample((P, C, r)).double() + 0.3 * level
    shared = int(errors.mean(-1).sum(0).argmin())
    own = errors.mean(-1).argmin(1)
    expect = []
    for p in range(P):
        o = int(own[p])
        # own best is the best of the C - 1 alternatives: Bonferroni, each test at 0.05 / (C - 1)
        leave = o != shared and ttest_rel(errors[p, o], errors[p, shared], alternative="less").pvalue < 0.05 / (C - 1)
        expect.append(o if leave else shared)
    got = choose_candidates(errors, "adaptive")
    assert got.tolist() == expect
    assert 0 < sum(e != shared for e in expect) < int((own != shared).sum())  # some leave, not all who could
    assert (choose_candidates(errors, "per-problem") == own).all()
    assert (choose_candidates(errors, "shared") == shared).all()
    # a stricter level lets fewer problems leave; with 2 held-out rows none can (no variance to test with)
    assert (choose_candidates(errors, "adaptive", level=0.001) != shared).sum() < (got != shared).sum()
    assert (choose_candidates(errors[..., :2], "adaptive") == int(errors[..., :2].mean(-1).sum(0).argmin())).all()


def test_adaptive_choice_in_recover_and_its_bad_pairing():
    A = ops.Gaussian(60, in_shape=SHAPE, seed=2, dtype=torch.float64)
    x = torch.zeros(4, *SHAPE, dtype=torch.float64)
    x.view(4, -1)[:, [3, 20]] = 0.8
    y = A(x) + 0.01 * torch.randn(4, 60, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    cands = {"lasso": {"alpha": 0.01}, "lasso-dct": {"alpha": 0.01}}
    res = ganprior.recover(y, A, None, method="auto", candidates=cands, choice="adaptive", return_result=True)
    sel = res.info["selection"]
    assert sel["choice"] == "adaptive" and sel["held_out_rows"] == 6
    # 2-sparse pixel images: the pixel Lasso wins the shared choice; every problem keeps it
    assert sel["chosen"] == ["lasso"] * 4
    torch.testing.assert_close(torch.as_tensor(res.x), ganprior.recover(y, A, method="lasso", alpha=0.01),
                               rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="no held-out rows"):
        ganprior.recover(y, A, None, method="lasso", alpha="discrepancy", noise_std=0.01, choice="adaptive")


@pytest.mark.parametrize("kwargs, match", [(dict(choice="pooled"), "'choice' parameter of choose_candidates"),
                                           (dict(level=1.5), "level in"), (dict(level=0.0), "'level' parameter")])
def test_choose_candidates_rejects_bad_arguments(kwargs, match):
    from ganprior.solvers.selection import choose_candidates

    with pytest.raises(ValueError, match=match):
        choose_candidates(torch.ones(2, 3, 4), **kwargs)
    with pytest.raises(ValueError, match=r"shape \(P, C, r\)"):
        choose_candidates(torch.ones(2, 3))


def test_holdout_folds_partition_the_rows():
    from ganprior.solvers.holdout import holdout_folds

    folds = holdout_folds(23, 5, seed=3)
    held = [h.tolist() for _, h in folds]
    assert sorted(sum(held, [])) == list(range(23))  # each row held out exactly once
    assert sorted(len(h) for h in held) == [4, 4, 5, 5, 5]
    for fit, h in folds:  # a fold fits on exactly the rows it does not hold out
        assert sorted(fit.tolist() + h.tolist()) == list(range(23)) and h.tolist() == sorted(h.tolist())
    assert [h.tolist() for _, h in holdout_folds(23, 5, seed=3)] == held  # seeded
    assert all(len(h) == 1 for _, h in holdout_folds(4, 4))  # leave one out
    with pytest.raises(ValueError, match="'folds' parameter of holdout_folds must be <= m = 4"):
        holdout_folds(4, 5)
    with pytest.raises(ValueError, match="'folds' parameter of holdout_folds must be an int >= 2"):
        holdout_folds(4, 1)


def test_k_fold_errors_score_every_row_by_the_fold_that_left_it_out():
    from ganprior.solvers.holdout import holdout_folds
    from ganprior.solvers.selection import holdout_errors

    A = ops.Gaussian(12, in_shape=SHAPE, seed=2, dtype=torch.float64)
    x = torch.zeros(3, *SHAPE, dtype=torch.float64)
    x.view(3, -1)[:, [3, 20]] = torch.tensor([0.9, 0.6], dtype=torch.float64)
    y = A(x) + 0.05 * torch.randn(3, 12, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    cands = [("lasso", {"alpha": 1e-2}), ("lasso", {"alpha": 1e6})]
    errors = holdout_errors(ganprior.recover, y, A, None, cands, cv_folds=4, seed=7)
    assert errors.shape == (3, 2, 12)
    # a second implementation: one fold at a time, by hand
    for fit, held in holdout_folds(12, 4, seed=7):
        for c, (name, opts) in enumerate(cands):
            xh = ganprior.recover(y[:, fit], A.take_rows(fit), method=name, **opts)
            ref = (y[:, held] - A.take_rows(held)(xh.reshape(3, -1))).pow(2)
            torch.testing.assert_close(errors[:, c, held], ref)
    # closed form: a candidate that answers 0 whatever its rows scores ||y||^2 / m over the folds, every row
    # counted once (one 10% split sees one row of the twelve)
    torch.testing.assert_close(errors[:, 1].mean(-1), y.pow(2).mean(-1))
    res = ganprior.recover(y, A, method="auto", candidates=cands, cv_folds=4, seed=7, return_result=True)
    sel = res.info["selection"]
    assert sel["held_out_rows"] == 12 and sel["folds"] == 4
    torch.testing.assert_close(sel["held_out_error"], errors.mean(-1))
    assert sel["chosen"] == ["lasso(alpha=0.01)"] * 3


@pytest.mark.parametrize("kwargs, match", [
    (dict(lam="cv", cv_folds=3, cv_fraction=0.2), "'cv_fraction' \\(one held-out split\\) or 'cv_folds'"),
    (dict(lam="cv", cv_folds=31), "'cv_folds' parameter of recover must be at most m = 30"),
    (dict(lam="cv", cv_folds=1), "'cv_folds' parameter of recover must be an int >= 2"),
    (dict(lam="discrepancy", noise_std=0.1, cv_folds=3), "'cv_folds' is for 'cv'"),
    (dict(lam=0.1, cv_folds=3), "'cv_folds' parameter of recover applies only when"),
    (dict(lam=0.1, cv_fraction=0.2), "'cv_fraction' parameter of recover applies only when"),
])
def test_cv_folds_bad_arguments_fail_before_any_solve(kwargs, match, monkeypatch):
    import ganprior.solvers.latent as latent

    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE)
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2)
    monkeypatch.setattr(latent, "optimize_latents", lambda *a, **k: pytest.fail("solved before the check"))
    with pytest.raises((ValueError, TypeError), match=match):
        ganprior.recover(torch.zeros(2, 30), A, G, restarts=1, steps=2, **kwargs)


def test_the_command_line_chooses_like_recover(tmp_path, monkeypatch):
    # `ganprior recover --method auto --cv-folds 3 --choice shared` and `--lam cv` give what recover gives
    from ganprior import priors
    from ganprior.cli import main

    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE)
    monkeypatch.setattr(priors, "load_prior", lambda name, device=None: G)
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2)
    x = G(torch.randn(3, 4, generator=torch.Generator().manual_seed(1))).detach()
    y = A(x) + 0.05 * torch.randn(3, 30, generator=torch.Generator().manual_seed(5))
    np.save(tmp_path / "y.npy", y.numpy())
    np.save(tmp_path / "A.npy", A.matrix.numpy())
    eng = ["--restarts", "2", "--steps", "40", "--lr", "0.05", "--schedule", "constant", "--seed", "0"]
    kw = dict(restarts=2, steps=40, lr=0.05, schedule="constant", seed=0)
    common = ["recover", "--y", str(tmp_path / "y.npy"), "--A", str(tmp_path / "A.npy"), "--prior", "p", *eng]
    assert main([*common, "--method", "auto", "--cv-folds", "3", "--choice", "shared",
                 "--out", str(tmp_path / "auto.npy")]) == 0
    ref = ganprior.recover(y.numpy(), A.matrix.numpy(), G, method="auto", cv_folds=3, choice="shared", **kw)
    np.testing.assert_allclose(np.load(tmp_path / "auto.npy"), ref, rtol=0, atol=1e-6)
    assert main([*common, "--lam", "cv", "--out", str(tmp_path / "cv.npy")]) == 0
    ref = ganprior.recover(y.numpy(), A.matrix.numpy(), G, lam="cv", **kw)
    np.testing.assert_allclose(np.load(tmp_path / "cv.npy"), ref, rtol=0, atol=1e-6)
    with pytest.raises(SystemExit, match="--lam is not an argument of --method auto"):
        main([*common, "--method", "auto", "--lam", "0.1", "--out", str(tmp_path / "bad.npy")])


def test_the_command_line_rejects_a_word_that_is_not_a_rule(capsys):
    from ganprior.cli import main

    with pytest.raises(SystemExit):
        main(["recover", "--y", "y.npy", "--A", "A.npy", "--lam", "auto", "--out", "x.npy"])
    assert "expected a number, got 'auto', or 'cv' / 'discrepancy'" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--lam", "0.1", "--cv-folds", "3"], "--cv-folds applies only when something is chosen"),
    (["--lam", "0.1", "--choice", "shared"], "--choice applies only when something is chosen"),
    (["--lam", "cv", "--cv-folds", "1"], "argument --cv-folds: expected >= 2, got 1"),
    (["--lam", "discrepancy", "--noise-std", "0.1", "--cv-folds", "3"], "--cv-folds is for cv"),
])
def test_the_command_line_checks_the_selection_options_before_any_work(extra, message, tmp_path, monkeypatch):
    from ganprior.cli import main

    np.save(tmp_path / "y.npy", np.zeros((2, 30), dtype=np.float32))
    np.save(tmp_path / "A.npy", np.ones((30, 784), dtype=np.float32))
    monkeypatch.setattr(ganprior, "recover", lambda *a, **k: pytest.fail("the computation started"))
    with pytest.raises(SystemExit, match=message):
        main(["recover", "--y", str(tmp_path / "y.npy"), "--A", str(tmp_path / "A.npy"), *extra,
              "--out", str(tmp_path / "x.npy")])


def test_adaptive_choice_leaves_the_shared_candidate_by_chance_at_most_level_of_the_time():
    # the null: every candidate of every problem equally good (i.i.d. chi^2_1 row errors).  A problem's own best
    # is the best of C - 1 alternatives, so without the Bonferroni correction it leaves far more often than
    # `level` (about 14% here at level 0.05); with it, at most `level`.
    from ganprior.solvers.selection import choose_candidates

    gen = torch.Generator().manual_seed(1)
    P, C, r = 4000, 6, 10
    errors = torch.randn(P, C, r, generator=gen, dtype=torch.float64).pow(2)
    shared = choose_candidates(errors, "shared")
    left = (choose_candidates(errors, "adaptive") != shared).double().mean()
    assert 0.005 < left <= 0.05
    uncorrected = (choose_candidates(errors, "adaptive", level=0.05 * (C - 1)) != shared).double().mean()
    assert uncorrected > 0.08


@pytest.mark.parametrize("m, kwargs, folds, rows", [
    (20, {}, 5, 20),                    # 10% would be 2 rows: 5 folds, every row scored
    (54, {}, 5, 54),                    # round(5.4) = 5 rows, under MIN_HELD_OUT = 6
    (55, {}, None, 6),                  # round(5.5) = 6 rows: one split
    (20, {"cv_fraction": 0.1}, None, 2),  # asked for one split: one split
    (20, {"cv_folds": 4}, 4, 20),
])
def test_defaults_adaptive_for_auto_and_folds_where_ten_percent_is_under_six_rows(m, kwargs, folds, rows):
    A = ops.Gaussian(m, in_shape=SHAPE, seed=2, dtype=torch.float64)
    x = torch.zeros(2, *SHAPE, dtype=torch.float64)
    x.view(2, -1)[:, [3, 20]] = 0.8
    y = A(x)
    cands = {"lasso": {"alpha": 0.01}, "lasso-dct": {"alpha": 0.01}}
    sel = ganprior.recover(y, A, method="auto", candidates=cands, return_result=True, **kwargs).info["selection"]
    assert sel["choice"] == "adaptive" and sel["folds"] == folds and sel["held_out_rows"] == rows
    lam = ganprior.recover(y, A, method="lasso", alpha="cv", return_result=True, **kwargs).info["selection"]
    assert lam["choice"] == "shared" and lam["folds"] == folds and lam["held_out_rows"] == rows
    assert cv_plan(m, **kwargs) == (kwargs.get("cv_fraction", 0.1), folds)  # the rule, without a solve


def _counting(monkeypatch, fake=None):
    """Every solve ``recover`` makes for a selection, recorded as (method, rows, restarts) (``fake``: instead of
    solving, return zeros of this image shape)."""
    import ganprior.solvers.recovery as recovery

    calls, real = [], recovery.recover

    def counted(y, A, G=None, **kw):
        calls.append((kw.get("method", "csgm"), kw.get("alpha"), y.shape[-1], kw.get("restarts")))
        if fake is not None:
            x = torch.zeros(y.shape[0], *fake, dtype=torch.float64)
            if kw.get("return_result"):
                return ganprior.RecoveryResult(x=x, measurement_error=torch.zeros(y.shape[0]), wall_time=0.0,
                                               method=kw.get("method", "csgm"))
            return x
        return real(y, A, G, **kw)

    monkeypatch.setattr(recovery, "recover", counted)
    return calls


def test_auto_drops_a_clearly_worse_candidate_after_the_first_fold_and_never_solves_it_again(monkeypatch):
    # 2-sparse pixel images, m = 30 (5 folds of 6 rows): the Lasso at alpha 1e6 answers 0, its held-out error is
    # ||y||^2 / m, far behind the small alpha on every row: successive halving drops it after fold 1
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2, dtype=torch.float64)
    gen = torch.Generator().manual_seed(4)
    x = torch.zeros(12, 36, dtype=torch.float64)
    for p in range(12):
        x[p, torch.randperm(36, generator=gen)[:2]] = 0.5 + torch.rand(2, generator=gen, dtype=torch.float64)
    x = x.reshape(12, *SHAPE)
    y = A(x) + 0.01 * torch.randn(12, 30, generator=gen, dtype=torch.float64)
    calls = _counting(monkeypatch)
    cands = [("lasso", {"alpha": 1e-3}), ("lasso", {"alpha": 1e6})]
    res = ganprior.recover(y, A, method="auto", candidates=cands, return_result=True)
    sel = res.info["selection"]
    solves = Counter(alpha for _, alpha, _, _ in calls)
    assert solves == {1e-3: 6, 1e6: 1}  # 5 folds + the refit; the dropped one: fold 1 only (today: 5)
    assert sel["held_out_solves"] == 6 and sel["folds"] == 5
    drop = sel["halving"]["dropped"]["lasso(alpha=1000000.0)"]
    assert drop["after_fold"] == 1 and drop["reason"] == "behind" and drop["behind"] == "lasso(alpha=0.001)"
    assert drop["rows"] == 6 and drop["t"] > drop["critical"] > 0
    assert sel["chosen"] == ["lasso(alpha=0.001)"] * 12
    # its held-out error is the mean over the 6 rows it was scored on: ||y_held||^2 / 6 for the zero answer
    from ganprior.solvers.holdout import holdout_folds

    held = holdout_folds(30, 5, 0)[0][1]
    torch.testing.assert_close(sel["held_out_error"][:, 1], y[:, held].pow(2).mean(-1))
    torch.testing.assert_close(torch.as_tensor(res.x), ganprior.recover(y, A, method="lasso", alpha=1e-3),
                               rtol=0, atol=1e-12)


def test_halving_keeps_near_ties_and_drops_the_best_at_most_level_of_the_time():
    from scipy.stats import t as student_t

    from ganprior.solvers.selection import HALVING_LEVEL, halving_drops

    gen = torch.Generator().manual_seed(0)
    # the null: every candidate as good as the others (i.i.d. chi^2_1 row errors): a given candidate is dropped
    # in at most HALVING_LEVEL of the trials (here one look; the union bound over C - 1 comparisons)
    trials, P, C, r = 2000, 8, 4, 6
    dropped = torch.zeros(C)
    for _ in range(trials):
        errors = torch.randn(P, C, r, generator=gen, dtype=torch.float64).pow(2)
        for c in halving_drops(errors, level=HALVING_LEVEL):
            dropped[c] += 1
    assert float(dropped.max()) / trials <= HALVING_LEVEL
    # a near tie (1% apart in mean, each row's error its own chi^2 draw) is kept; 3x behind on every row is
    # dropped, with its record
    base = torch.randn(P, 1, r, generator=gen, dtype=torch.float64).pow(2) + 0.1
    tie = 1.01 * (torch.randn(P, 1, r, generator=gen, dtype=torch.float64).pow(2) + 0.1)
    errors = torch.cat([base, tie, 3 * base], dim=1)
    drops = halving_drops(errors, level=0.05, looks=4)
    assert list(drops) == [2] and drops[2]["reason"] == "behind" and drops[2]["behind"] == 0
    d = (errors[:, 2] - errors[:, 0]).mean(0)  # each row's difference averaged over the problems: r samples
    torch.testing.assert_close(torch.tensor(drops[2]["t"], dtype=torch.float64), d.mean() / (d.std() / r ** 0.5))
    assert drops[2]["critical"] == pytest.approx(float(student_t.ppf(1 - 0.05 / (2 * 4), r - 1)))
    # a candidate some problem would choose (adaptive) is dropped for the batch but kept for that problem
    lone = torch.cat([base, 3 * base], dim=1)
    lone[0, 1] = 1e-6  # problem 0: far better with candidate 1 on every one of its rows
    assert list(halving_drops(lone, choice="shared")) == [1] and halving_drops(lone, choice="shared")[1][
        "kept_for"] == []
    kept = halving_drops(lone, choice="adaptive")
    assert list(kept) == [1] and kept[1]["reason"] == "behind" and kept[1]["kept_for"] == [0]
    # an exact duplicate of an earlier candidate is dropped as such
    assert halving_drops(torch.cat([base, base], dim=1))[1]["reason"] == "duplicate"
    with pytest.raises(ValueError, match="'errors' parameter of halving_drops must be finite"):
        halving_drops(torch.full((2, 2, 3), torch.nan))


def test_auto_held_out_fits_run_half_of_the_restarts_and_the_refit_all(monkeypatch):
    from ganprior.solvers.selection import holdout_restarts

    assert [holdout_restarts(r) for r in (1, 2, 3, 5, 10, 12)] == [1, 1, 2, 3, 5, 6]
    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE).double()
    A = ops.Gaussian(30, in_shape=SHAPE, seed=2, dtype=torch.float64)
    y = torch.randn(3, 30, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    cands = {"csgm": {"lam": 0.1}, "lasso": {"alpha": 0.1}}
    calls = _counting(monkeypatch, fake=SHAPE)
    sel = ganprior.recover(y, A, G, method="auto", candidates=cands, restarts=10, steps=5, seed=0,
                           return_result=True).info["selection"]
    latent = [(rows, restarts) for method, _, rows, restarts in calls if method == "csgm"]
    assert latent[:-1] == [(24, 5)] * 5 and latent[-1] == (30, 10)  # held out: ceil(10 / 2); the refit: 10
    assert sel["held_out_restarts"] == {"csgm": 5}
    # restarts not given: the prior's recipe's count (8) is resolved first; the held-out fits get 4, the refit is
    # left to recover's own resolution (the recipe's 8)
    G.recipe = {"recover": {"restarts": 8, "steps": 5, "lam": 0.1}}
    calls.clear()
    sel = ganprior.recover(y, A, G, method="auto", candidates=cands, seed=0, return_result=True).info["selection"]
    latent = [(rows, restarts) for method, _, rows, restarts in calls if method == "csgm"]
    assert latent[:-1] == [(24, 4)] * 5 and latent[-1] == (30, None)
    assert sel["held_out_restarts"] == {"csgm": 4}
    # a preset's count wins over the recipe's: bora2017's 10 -> 5
    calls.clear()
    ganprior.recover(y, A, G, method="auto", candidates=cands, preset="bora2017", seed=0)
    assert [r for method, _, rows, r in calls if method == "csgm"][:-1] == [5] * 5


def test_a_chosen_argument_or_method_returns_a_complete_result(small_prior):
    """lam='cv' and method='auto' return what a plain recover returns -- z, fit, restart, settings and source --
    equal to solving again with the chosen value (issue 40)."""
    torch.manual_seed(0)
    A = ganprior.operators.Gaussian(m=60, n=784, seed=0)
    x = small_prior(torch.randn(3, 10)).detach()
    y = A(x)
    kw = dict(restarts=2, steps=30, lr=0.05, schedule="constant", seed=[0, 1, 2])
    res = ganprior.recover(y, A, small_prior, lam="cv", return_result=True, **kw)
    lam = res.info["settings"]["lam"]
    assert res.info["source"]["lam"] == "cv" and lam in ganprior.get_method("csgm").cv_grids["lam"]
    again = ganprior.recover(y, A, small_prior, lam=lam, return_result=True, **kw)
    for name in ("x", "z", "fit", "restart"):
        assert torch.equal(getattr(res, name).to(getattr(again, name).dtype), getattr(again, name)), name
    auto = ganprior.recover(y, A, small_prior, method="auto", candidates=["csgm", "lasso"], return_result=True, **kw)
    assert auto.info["selection"]["chosen"] == ["csgm"] * 3
    assert auto.z.shape == (3, 10) and auto.fit.shape == (3,) and auto.info["settings"]["restarts"] == 2


def test_shared_choice_keeps_the_incumbent_unless_a_one_sided_paired_t_test_over_the_rows_beats_it():
    from scipy.stats import ttest_1samp

    from ganprior.solvers.selection import INCUMBENT_LEVEL, choose_candidates, shared_choice

    gen = torch.Generator().manual_seed(3)
    # against scipy's one-sample t-test of the per-row differences (averaged over the problems), one-sided, at the
    # level Bonferroni-corrected over the C - 1 challengers
    flips = 0
    for trial in range(300):
        P, C, r = 5, 3, int(torch.randint(2, 12, (1,), generator=gen))
        errors = torch.randn(P, C, r, generator=gen, dtype=torch.float64).pow(2)
        errors[:, 0] += 0.4 * torch.rand(1, generator=gen, dtype=torch.float64)  # the incumbent, shifted up at times
        best = int(errors.mean(-1).sum(0).argmin())
        if best == 0:
            assert shared_choice(errors, incumbent=0) == 0
            continue
        d = (errors[:, best] - errors[:, 0]).mean(0).numpy()
        beaten = ttest_1samp(d, 0.0, alternative="less").pvalue < INCUMBENT_LEVEL / (C - 1)
        assert shared_choice(errors, incumbent=0) == (best if beaten else 0), trial
        assert (choose_candidates(errors, "shared", incumbent=0) == (best if beaten else 0)).all()
        flips += beaten
    assert 0 < flips < 300  # both answers occurred
    # no incumbent: the argmin of the summed error, as choose_candidates' shared choice
    errors = torch.randn(4, 3, 6, generator=gen, dtype=torch.float64).pow(2)
    assert shared_choice(errors) == int(errors.mean(-1).sum(0).argmin())
    # a challenger better on every row by a margin replaces it; fewer than 2 rows never do
    errors = torch.ones(4, 2, 6, dtype=torch.float64)
    errors[:, 1] = 0.5 + 0.01 * torch.rand(4, 6, generator=gen, dtype=torch.float64)
    assert shared_choice(errors, incumbent=0) == 1 and shared_choice(errors[..., :1], incumbent=0) == 0
    # the null (a challenger as good as the incumbent): it replaces the incumbent at most at the level's rate
    left = sum(shared_choice(torch.randn(8, 2, 10, generator=gen, dtype=torch.float64).pow(2), incumbent=0) != 0
               for _ in range(2000))
    assert left / 2000 <= INCUMBENT_LEVEL + 0.015
    with pytest.raises(ValueError, match="'incumbent' parameter of shared_choice must index one of the 2"):
        shared_choice(errors, incumbent=2)


def test_halving_with_an_incumbent_drops_the_challengers_not_ahead_of_it():
    from ganprior.solvers.selection import halving_drops

    gen = torch.Generator().manual_seed(5)
    P, r = 6, 8
    base = torch.randn(P, 1, r, generator=gen, dtype=torch.float64).pow(2) + 1.0
    # per-row differences to the incumbent (index 0), the same for every problem: mean +0.01 (behind, far from
    # significant, sd 0.2) and -0.01 (ahead, not significant either)
    d1, d2 = 0.2 * torch.randn(2, r, generator=gen, dtype=torch.float64)
    errors = torch.cat([base, base + (d1 - d1.mean() + 0.01), base + (d2 - d2.mean() - 0.01)], dim=1)
    drops = halving_drops(errors, choice="shared", incumbent=0)
    assert list(drops) == [1] and drops[1]["reason"] == "not ahead of" and drops[1]["behind"] == 0
    assert drops[1]["mean_difference"] == pytest.approx(0.01)
    assert halving_drops(errors, choice="shared") == {}  # without an incumbent both are near ties: kept
    # a challenger some problem would choose (adaptive) is kept for that problem however it does on average
    lone = errors.clone()
    lone[0, 1] = 1e-6
    lone[1:, 1] += 1.0
    assert halving_drops(lone, choice="adaptive", incumbent=0)[1]["kept_for"] == [0]
    # the incumbent itself is never dropped while it is the shared choice, not even as an exact duplicate
    twin = torch.cat([base, base], dim=1)
    assert halving_drops(twin, choice="shared", incumbent=1) == {0: halving_drops(twin, incumbent=1)[0]}
    assert halving_drops(twin, choice="shared", incumbent=1)[0]["reason"] == "not ahead of"


def _fake_scaled(monkeypatch, x_true, scale):
    """Solves replaced by x_hat = scale[method] * x_true, recorded as (method, rows, restarts, steps)."""
    import ganprior.solvers.recovery as recovery

    calls = []

    def fake(y, A, G=None, **kw):
        method = kw.get("method", "csgm")
        calls.append((method, y.shape[-1], kw.get("restarts"), kw.get("steps")))
        x = scale[method] * x_true[: y.shape[0]].double()
        if kw.get("return_result"):
            return ganprior.RecoveryResult(x=x, measurement_error=torch.zeros(y.shape[0]), wall_time=0.0,
                                           method=method)
        return x

    monkeypatch.setattr(recovery, "recover", fake)
    return calls


def test_one_line_auto_makes_the_recipes_method_the_incumbent_and_halves_its_held_out_steps_with_folds(monkeypatch):
    from ganprior.priors import recipe_for

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 28, 28, generator=gen, dtype=torch.float64)
    A = ops.Gaussian(25, in_shape=(1, 28, 28), seed=1, dtype=torch.float64)
    y = A(x) + 0.01 * torch.randn(4, 25, generator=gen, dtype=torch.float64)
    scale = {"csgm": 0.5, "sparse-gen": 0.5, "ilo": 0.9, "lasso": 0.0, "lasso-dct": 0.1, "lasso-wavelet": 0.1}
    calls = _fake_scaled(monkeypatch, x, scale)
    sel = ganprior.recover(y, A, "mnist", method="auto", return_result=True).info["selection"]
    # m = 25: the "mnist" family's recipe runs ILO with mnist-vae; its held-out fits (20 rows, 5 folds) run half of
    # the recipe's restarts and steps at m = 20, the refit (25 rows) the recipe's own
    recipe = recipe_for("mnist-vae", "recover", 20, "ilo")
    assert sel["incumbent"] == "ilo" and sel["folds"] == 5 and sel["chosen"] == ["ilo"] * 4
    held = [(rows, r, s) for method, rows, r, s in calls if method == "ilo"]
    assert held[:-1] == [(20, -(-recipe["restarts"] // 2), -(-recipe["steps"] // 2))] * 5
    assert held[-1] == (25, None, None)
    assert sel["held_out_steps"]["ilo"] == -(-recipe["steps"] // 2)
    # the challengers, all behind, are solved on the first fold only
    assert Counter(method for method, *_ in calls) == {"ilo": 6, "csgm": 1, "sparse-gen": 1, "lasso": 1,
                                                       "lasso-dct": 1, "lasso-wavelet": 1}
    # a challenger better on every row replaces the incumbent
    calls.clear()
    scale.update(csgm=0.95, ilo=0.5)
    sel = ganprior.recover(y, A, "mnist", method="auto", return_result=True).info["selection"]
    assert sel["incumbent"] == "ilo" and sel["chosen"] == ["csgm"] * 4
    # candidates given, or a Generator object (it pins its prior and names no method): no incumbent, the
    # held-out fits keep the refit's steps
    for kwargs in (dict(G="mnist", candidates=["csgm", "ilo"]), dict(G=ganprior.load_prior("mnist-vae"))):
        calls.clear()
        sel = ganprior.recover(y, A, method="auto", return_result=True, **kwargs).info["selection"]
        assert sel["incumbent"] is None and sel["held_out_steps"] == {}
        assert all(s is None for method, rows, r, s in calls)
    # one split (m = 100): the incumbent, and the held-out fits keep the refit's steps
    A100 = ops.Gaussian(100, in_shape=(1, 28, 28), seed=1, dtype=torch.float64)
    calls.clear()
    scale.update(csgm=0.5, ilo=0.9)
    sel = ganprior.recover(A100(x), A100, "mnist", method="auto", return_result=True).info["selection"]
    assert sel["incumbent"] == "ilo" and sel["folds"] is None and sel["held_out_steps"] == {}
    assert all(s is None for method, rows, r, s in calls)


def test_with_an_incumbent_the_problems_that_keep_it_get_its_one_solve_of_the_whole_batch(monkeypatch):
    import ganprior.solvers.recovery as recovery

    from ganprior.priors import recipe_choice

    # m = 300: one split of 30 held-out rows, where one problem's own rows can show a candidate better (with K
    # folds a challenger must already lead on the first fold's rows)
    assert recipe_choice("mnist", 300)["method"] == "ilo"
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 28, 28, generator=gen, dtype=torch.float64)
    A = ops.Gaussian(300, in_shape=(1, 28, 28), seed=1, dtype=torch.float64)
    y = A(x) + 0.01 * torch.randn(4, 300, generator=gen, dtype=torch.float64)
    batches = []

    def fake(yy, AA, G=None, **kw):  # ILO: 0.9 x (0.5 x for the first problem of its batch), tagged by its batch
        method = kw.get("method", "csgm")  # size; CSGM: exact for the first problem of its batch, 0.5 x for the others
        batches.append((method, yy.shape[0], yy.shape[-1]))
        n = yy.shape[0]
        if method == "ilo":
            out = torch.cat([0.5 * x[:1], 0.9 * x[1:n]]) + 1e-9 * n
        elif method in ("csgm", "sparse-gen"):
            out = torch.cat([x[:1], 0.5 * x[1:n]])
        else:
            out = torch.zeros(n, 1, 28, 28, dtype=torch.float64)
        return ganprior.RecoveryResult(x=out, measurement_error=torch.zeros(n), wall_time=0.0, method=method) \
            if kw.get("return_result") else out

    monkeypatch.setattr(recovery, "recover", fake)
    res = ganprior.recover(y, A, "mnist", method="auto", return_result=True)
    sel = res.info["selection"]
    assert sel["incumbent"] == "ilo" and sel["folds"] is None
    assert sel["chosen"] == ["csgm", "ilo", "ilo", "ilo"]  # problem 0's own rows beat ILO; the batch keeps ILO
    assert sorted(batches[-2:]) == [("csgm", 1, 300), ("ilo", 4, 300)]
    # ILO's refit is the whole batch's (tag 4e-9): problems 1-3 get rows 1-3 of the one solve recover(y, A, "mnist")
    # would make; problem 0 gets CSGM's refit of its own
    torch.testing.assert_close(torch.as_tensor(res.x)[1:], 0.9 * x[1:4] + 4e-9, rtol=0, atol=0)
    torch.testing.assert_close(torch.as_tensor(res.x)[0], x[0], rtol=0, atol=0)
    # candidates given: no incumbent, each chosen candidate refits only its own problems
    batches.clear()
    sel = ganprior.recover(y, A, "mnist", method="auto", candidates=["csgm", "ilo"], return_result=True).info[
        "selection"]
    assert sel["incumbent"] is None and sel["chosen"] == ["csgm", "ilo", "ilo", "ilo"]
    assert sorted(batches[-2:]) == [("csgm", 1, 300), ("ilo", 3, 300)]


def test_with_an_incumbent_a_dropped_candidate_is_solved_on_later_folds_only_for_the_problems_that_want_it():
    from ganprior.solvers.selection import choose_candidates, holdout_errors

    # A = I (30 pixels, 5 folds of 6 rows), x_p = (p + 1) * ones: each solve's problems are known from y.  Lasso
    # "alpha=1" is exact except for problem 0 (off by 1 on every pixel), "alpha=2" the reverse: the batch keeps
    # alpha=1 (the incumbent) and drops alpha=2 after fold 1, but problem 0's own rows want alpha=2 on every fold
    P = 6
    x = torch.arange(1, P + 1, dtype=torch.float64)[:, None].expand(P, 30).clone()
    A = ops.Matrix(torch.eye(30, dtype=torch.float64))
    y = x + 0.01 * torch.randn(P, 30, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    calls = []

    def fake(yy, AA, G=None, **kw):
        p = (yy.mean(dim=1).round() - 1).long()
        calls.append((kw["alpha"], tuple(p.tolist())))
        off = (p == 0) if kw["alpha"] == 1 else (p != 0)
        return (p[:, None] + 1.0).expand(-1, 30) + off[:, None].double()

    cands = [("lasso", {"alpha": 1}), ("lasso", {"alpha": 2})]
    report = {}
    errors = holdout_errors(fake, y, A, None, cands, cv_folds=5, halving=0.05, choice="adaptive", report=report,
                            incumbent=0)
    drop = report["dropped"][1]
    assert drop["after_fold"] == 1 and drop["reason"] == "behind" and drop["kept_for"] == [0]
    assert calls.count((1, tuple(range(P)))) == 5  # the incumbent on every fold
    assert calls.count((2, tuple(range(P)))) == 1 and calls.count((2, (0,))) == 4  # then problem 0 alone
    assert report["solves"] == 10
    assert torch.isfinite(errors[0, 1]).all() and torch.isnan(errors[1:, 1]).any(dim=-1).all()
    assert choose_candidates(errors, "adaptive", incumbent=0).tolist() == [1] + [0] * (P - 1)
    # candidates as equals (no incumbent): a candidate some problem wants stays in for every problem, as before
    calls.clear()
    report = {}
    errors = holdout_errors(fake, y, A, None, cands, cv_folds=5, halving=0.05, choice="adaptive", report=report)
    assert report["dropped"] == {} and calls.count((2, tuple(range(P)))) == 5 and torch.isfinite(errors).all()
