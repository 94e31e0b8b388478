"""The measurement models (:mod:`ganprior.likelihoods`) against closed forms, and the operators they come with."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

import ganprior
from ganprior import operators as ops
from ganprior.likelihoods import Gaussian, Magnitude, Poisson, Sign, get_likelihood


def test_the_gaussian_data_term_is_the_least_squares_of_before_bitwise():
    gen = torch.Generator().manual_seed(0)
    u, y = torch.randn(4, 30, generator=gen), torch.randn(4, 30, generator=gen)
    assert torch.equal(Gaussian().data_term(u, y), (y - u).pow(2).sum(dim=-1))
    assert get_likelihood(None) == Gaussian() and get_likelihood("gaussian").gaussian


def test_from_norm_draws_noise_of_that_norm():
    m = 4000
    model = Gaussian.from_norm(0.1, m)
    assert model.noise_std == pytest.approx(0.1 / math.sqrt(m))
    eta = model.sample(torch.zeros(8, m), seed=0)
    assert torch.allclose(eta.norm(dim=1), torch.full((8,), 0.1), rtol=0.05)


@pytest.mark.parametrize("complex_A", [False, True])
def test_the_magnitude_gradient_is_the_amplitude_flow_formula(complex_A):
    n, m = 7, 20
    A = (ops.ComplexGaussian(m, n, seed=0) if complex_A else ops.Gaussian(m, n, seed=0)).double()
    x_true = torch.randn(1, n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = A.measure(x_true, Magnitude(noise_std=0.05), seed=2)
    x = torch.randn(1, n, generator=torch.Generator().manual_seed(3), dtype=torch.float64, requires_grad=True)
    Magnitude().data_term(A(x), y).sum().backward()
    # by hand: d/dx sum_i (|a_i^H x| - y_i)^2 = 2 Re(A^H [(|u| - y) u / |u|]) (real A: 2 A^T [(|u| - y) sign(u)])
    dense = A.to_dense(torch.complex128 if complex_A else torch.float64)
    u = (dense @ x.detach().to(dense.dtype).T).T
    w = (u.abs() - y) * u / u.abs()
    by_hand = 2 * (w.conj() @ dense).real if complex_A else 2 * w @ dense
    torch.testing.assert_close(x.grad, by_hand, rtol=1e-10, atol=1e-12)


def test_magnitudes_do_not_see_the_sign_of_x():
    A = ops.Gaussian(15, 6, seed=0).double()
    x = torch.randn(2, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = Magnitude().forward(A(x))
    assert torch.equal(Magnitude().data_term(A(x), y), Magnitude().data_term(A(-x), y))
    assert float(Magnitude().data_term(A(x), y).max()) == 0.0


def test_the_sign_scores_are_their_closed_forms():
    u = torch.tensor([[-2.0, -0.5, 0.0, 0.3, 1.5]], dtype=torch.float64)
    y = torch.tensor([[1.0, -1.0, 1.0, -1.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(Sign(loss="hinge").score(u, y), torch.relu(-y * u))
    s = 3.0
    torch.testing.assert_close(Sign(loss="logistic", scale=s).score(u, y), torch.log1p(torch.exp(-s * y * u)) / s)
    assert torch.equal(Sign().forward(u), torch.tensor([[-1.0, -1.0, 1.0, 1.0, 1.0]], dtype=torch.float64))
    # a fraction of the signs flipped, at that rate
    flipped = Sign(flip=0.1).sample(torch.ones(1, 20000), seed=0)
    assert float((flipped == -1).double().mean()) == pytest.approx(0.1, abs=0.01)


def test_the_poisson_deviance_is_the_negative_log_likelihood_up_to_a_term_in_y():
    model = Poisson(photons=7.0)
    u = torch.tensor([[0.05, 0.3, 1.0, 2.5, 0.8]], dtype=torch.float64)
    y = torch.tensor([[0.0, 3.0, 6.0, 20.0, 1.0]], dtype=torch.float64)
    lam = (7.0 * u).numpy()
    nll = -stats.poisson.logpmf(y.numpy(), lam)
    at_y = -stats.poisson.logpmf(y.numpy(), np.where(y.numpy() > 0, y.numpy(), 1e-300))
    np.testing.assert_allclose(model.score(u, y).numpy(), nll - at_y, rtol=1e-10, atol=1e-12)


def test_the_poisson_extension_below_the_floor_is_smooth_convex_and_pulls_up():
    model = Poisson(photons=1.0, floor=1e-2)
    f = model.floor
    for count in (0.0, 3.0):
        lam = torch.tensor([f - 1e-10, f + 1e-10, f], dtype=torch.float64, requires_grad=True)
        y = torch.full((3,), count, dtype=torch.float64)
        vals = model.score(lam, y)
        vals.sum().backward()
        assert float(vals[0].detach()) == pytest.approx(float(vals[1].detach()), abs=1e-6)  # continuous
        assert float(lam.grad[0]) == pytest.approx(float(lam.grad[1]), rel=1e-3, abs=1e-4)  # C^1
    lam = torch.linspace(-5, f, 200, dtype=torch.float64, requires_grad=True)
    vals = model.score(lam, torch.full_like(lam, 3.0))
    assert bool(torch.isfinite(vals).all())
    assert bool((torch.diff(vals.detach(), 2) >= -1e-12).all())  # convex
    vals.sum().backward()
    assert bool((lam.grad < 0).all())  # a count above the rate pulls it up, also below zero
    zero = model.score(torch.linspace(-0.02, 0.02, 401, dtype=torch.float64), torch.zeros(401, dtype=torch.float64))
    assert abs(float(torch.linspace(-0.02, 0.02, 401)[int(zero.argmin())])) < 1e-3  # no count: best rate 0


def test_poisson_and_sign_measurements_are_checked():
    with pytest.raises(ValueError, match="counts"):
        Poisson().check(torch.tensor([1.0, 2.5]))
    with pytest.raises(ValueError, match=r"signs \(\+1 or -1\)"):
        Sign().check(torch.tensor([1.0, 0.0]))
    counts = Poisson(photons=5.0).sample(torch.full((1, 50000), 2.0), seed=0)
    assert float(counts.mean()) == pytest.approx(10.0, rel=0.01) and bool((counts == counts.round()).all())


@pytest.mark.parametrize("bad", [dict(noise_std=-1.0), dict(noise_std=float("nan"))])
def test_bad_model_parameters_name_the_argument(bad):
    with pytest.raises(ValueError, match="noise_std"):
        Magnitude(**bad)
    with pytest.raises(ValueError, match="'flip'"):
        Sign(flip=0.7)
    with pytest.raises(ValueError, match="'photons'"):
        Poisson(photons=0.0)
    with pytest.raises(TypeError, match="'likelihood' parameter of recover"):
        get_likelihood(3.0)


def test_the_complex_gaussian_keeps_the_energy_and_its_adjoint_is_real():
    n, m = 40, 3000
    A = ops.ComplexGaussian(m, n, seed=0).double()
    x = torch.randn(5, n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(A(x).abs().pow(2).sum(1), x.pow(2).sum(1), rtol=0.08, atol=0)
    v = torch.randn(5, m, dtype=torch.complex128, generator=torch.Generator().manual_seed(2))
    # <Ax, v> over the reals: Re sum conj(Ax) v = <x, Re(A^H v)>
    lhs = (A(x).conj() * v).real.sum(1)
    rhs = (x * A.adjoint(v)).sum(1)
    torch.testing.assert_close(lhs, rhs, rtol=1e-10, atol=1e-10)
    dense = A.to_dense()
    torch.testing.assert_close(A(x), (dense @ x.to(torch.complex128).T).T)
    # a map of real images: its norm is that of [Re A; Im A] (power iteration from below; the spectrum of this
    # tall matrix is clustered near 1, so 1000 iterations)
    ref = float(torch.linalg.matrix_norm(torch.cat([dense.real, dense.imag]), 2))
    assert ref * (1 - 1e-4) <= A.norm(iterations=1000) <= ref * (1 + 1e-12)


def test_the_non_negative_operator_averages_a_random_subset():
    A = ops.NonNegative(50, in_shape=(1, 10, 10), density=0.3, seed=0)
    assert bool((A.matrix >= 0).all())
    ones = A(torch.ones(1, 1, 10, 10))
    assert float(ones.mean()) == pytest.approx(1.0, rel=0.1)
    with pytest.raises(ValueError, match="'density'"):
        ops.NonNegative(5, 10, density=1.5)


def test_operator_numerics_are_methods():
    A = ops.Gaussian(30, 20, seed=0)
    dense = A.to_dense()
    assert A.norm() == pytest.approx(float(torch.linalg.matrix_norm(dense, 2)), rel=1e-6)
    x, y = torch.randn(3, 20), torch.randn(3, 30)
    ref = (y.double() - x.double() @ dense.T).pow(2).sum(1)
    torch.testing.assert_close(A.residual(y, x), ref)
    copy = A.float64()
    assert copy.matrix.dtype == torch.float64 and A.matrix.dtype == torch.float32
    # the old functions are the methods
    from ganprior.solvers.holdout import float64_copy, residual
    from ganprior.solvers.sparse_gen import operator_norm

    assert operator_norm(A) == A.norm() and torch.equal(residual(A, y, x), A.residual(y, x))
    assert float64_copy(A).matrix.dtype == torch.float64


def test_recover_reports_the_model_and_its_data_term():
    G = ganprior.Generator(torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 12)),
                           latent_shape=3)
    A = ops.Gaussian(10, 12, seed=0)
    x = G.generate(torch.randn(2, 3, generator=torch.Generator().manual_seed(0))).detach()
    y = A.measure(x, "magnitude")
    res = ganprior.recover(y, A, G, likelihood="magnitude", steps=50, seed=0, return_result=True)
    assert res.info["likelihood"] == {"name": "magnitude", "noise_std": 0.0}
    with torch.no_grad():
        torch.testing.assert_close(res.measurement_error, (A(res.x).abs() - y).pow(2).sum(1))


def test_the_command_line_takes_the_measurement_model(tmp_path):
    import subprocess
    import sys

    G = ganprior.load_prior("mnist")
    x = ganprior.data.load_sample("mnist_test300")[:2]
    A = ops.Gaussian(120, in_shape=G.image_shape, seed=0)
    y = A.measure(x, "magnitude")
    np.save(tmp_path / "y.npy", y.numpy())
    np.save(tmp_path / "A.npy", A.matrix.numpy())
    base = [sys.executable, "-m", "ganprior", "recover", "--y", str(tmp_path / "y.npy"), "--A", str(tmp_path / "A.npy"),
            "--prior", "mnist", "--steps", "30", "--restarts", "2", "--seed", "0", "--precision", "fp32"]
    proc = subprocess.run(base + ["--likelihood", "magnitude", "--out", str(tmp_path / "x.npy")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    ref = ganprior.recover(y.numpy(), A.matrix.numpy(), "mnist", likelihood="magnitude", steps=30, restarts=2, seed=0,
                           precision="fp32")
    # Two processes may time the layouts differently (Generator.for_solving("auto")), and float32 rounding of
    # another layout grows over 30 steps to ~1e-5; another model, seed or prior moves pixels by > 1e-2.
    np.testing.assert_allclose(np.load(tmp_path / "x.npy"), ref, atol=1e-4)
    proc = subprocess.run(base + ["--photons", "5", "--out", str(tmp_path / "z.npy")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and "--photons: only with --likelihood poisson" in proc.stderr


def test_auto_and_cv_compare_only_the_methods_of_the_model_and_score_held_out_rows_with_it(monkeypatch):
    import ganprior.solvers.selection as selection

    G = ganprior.Generator(torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 12)),
                           latent_shape=3)
    A = ops.Gaussian(40, 12, seed=0)
    x = G.generate(torch.randn(2, 3, generator=torch.Generator().manual_seed(0))).detach()
    y = A.measure(x, "magnitude")

    def least_squares(self, u, y_):
        raise AssertionError("a held-out row was scored by least squares under likelihood='magnitude'")

    monkeypatch.setattr(Gaussian, "score", least_squares)  # held-out rows must be scored by the model
    res = ganprior.recover(y, A, G, method="auto", likelihood="magnitude", steps=30, restarts=2, seed=[0, 1],
                           return_result=True)
    takers = [n for n in selection.auto_candidates(None, G, likelihood="magnitude")]
    assert [label for label, _, _ in takers] == res.info["selection"]["candidates"]
    assert set(res.info["selection"]["candidates"]) == {"csgm", "ilo", "amplitude-flow"}
    with pytest.raises(ValueError, match="does not take likelihood='magnitude'"):
        ganprior.recover(y, A, G, method="auto", likelihood="magnitude", candidates=["csgm", "lasso"], steps=5)
    with pytest.raises(ValueError, match="'discrepancy' compares the least-squares fit"):
        ganprior.recover(y, A, G, lam="discrepancy", noise_std=0.1, likelihood="magnitude", steps=5)


def test_posterior_terms_make_the_score_a_normalised_negative_log_likelihood():
    # w * score + (a term in y alone) = -log p(y | u), against scipy's laws in float64; the logistic one sums to 1
    u = torch.linspace(-2.0, 2.0, 41, dtype=torch.float64)
    for model, y, logp in (
            (Gaussian(0.3), 0.7, lambda u: stats.norm.logpdf(0.7, u, 0.3)),
            (Magnitude(0.3), 0.7, lambda u: stats.norm.logpdf(0.7, np.abs(u), 0.3)),
            (Poisson(photons=4.0), 3.0, lambda u: stats.poisson.logpmf(3, 4.0 * u))):
        s, w = model.posterior_terms()
        keep = u > 0.01 if model.name == "poisson" else u == u  # rates above the floor: the deviance itself
        gap = w * model.score(u, torch.full_like(u, y)).numpy() + logp(u.numpy())
        assert np.ptp(gap[keep.numpy()]) < 1e-12, model
    assert Gaussian(0.3).posterior_terms() == (0.3, 0.5 / 0.09) and Poisson(photons=4.0).posterior_terms()[0] == 0.25
    logistic = Sign(loss="logistic", scale=3.0)
    s, w = logistic.posterior_terms()
    both = sum(np.exp(-w * logistic.score(u, torch.full_like(u, sign)).numpy()) for sign in (1.0, -1.0))
    np.testing.assert_allclose(both, 1.0, rtol=1e-13)
    # 1/s^2 bounds the curvature in u of one measurement's NLL (at its data for Poisson: counts y >= 1)
    uu = u.clone().requires_grad_(True)
    (g,) = torch.autograd.grad((w * logistic.score(uu, torch.ones_like(u))).sum(), uu, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), uu)
    assert float(h.max()) <= 1 / s**2 + 1e-12 and float(h.max()) > 0.99 / s**2  # s^2/4 at u = 0, attained
    for y in (1.0, 2.0, 50.0):
        lam = torch.tensor([y / 4.0], dtype=torch.float64, requires_grad=True)  # u with phi u = y
        (g,) = torch.autograd.grad(Poisson(photons=4.0).score(lam, torch.tensor([y], dtype=torch.float64)).sum(), lam,
                                   create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), lam)
        np.testing.assert_allclose(float(h), 16.0 / y)  # phi^2 / y <= phi^2 = 1 / s^2
    for bad in (Sign(), Gaussian(), Magnitude()):
        with pytest.raises(ValueError, match="no posterior|noiseless"):
            bad.posterior_terms("f")
