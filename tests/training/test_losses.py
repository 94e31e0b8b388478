"""GAN losses: hand-computed values, numerical stability, and the optimal-discriminator identity."""

import math

import numpy as np
import pytest
import torch

from ganprior.training import get_loss
from ganprior.training.losses import (
    d_loss_hinge,
    d_loss_lsgan,
    d_loss_minimax,
    d_loss_wgan,
    g_loss_hinge,
    g_loss_lsgan,
    g_loss_minimax,
    g_loss_nonsaturating,
    g_loss_wgan,
    gradient_penalty,
)

L3 = math.log(3.0)  # sigmoid(log 3) = 0.75
REAL = torch.tensor([0.0, L3])  # D(x) = 0.5, 0.75
FAKE = torch.tensor([0.0, -L3])  # D(G(z)) = 0.5, 0.25


def test_minimax_and_nonsaturating_by_hand():
    expected_d = -(math.log(0.5) + math.log(0.75)) / 2 - (math.log(0.5) + math.log(0.75)) / 2
    assert float(d_loss_minimax(REAL, FAKE)) == pytest.approx(expected_d, rel=1e-6)
    assert float(g_loss_minimax(FAKE)) == pytest.approx((math.log(0.5) + math.log(0.75)) / 2, rel=1e-6)
    assert float(g_loss_nonsaturating(FAKE)) == pytest.approx(-(math.log(0.5) + math.log(0.25)) / 2, rel=1e-6)
    # one-sided smoothing: real target 0.9, fake target stays 0
    k = 0.1
    real_term = -((1 - k) * (math.log(0.5) + math.log(0.75)) + k * (math.log(0.5) + math.log(0.25))) / 2
    fake_term = -(math.log(0.5) + math.log(0.75)) / 2
    assert float(d_loss_minimax(REAL, FAKE, smoothing=k)) == pytest.approx(real_term + fake_term, rel=1e-6)
    loss = get_loss("non-saturating", smoothing=k)
    assert float(loss.d_loss(REAL, FAKE)) == pytest.approx(real_term + fake_term, rel=1e-6)
    assert float(loss.g_loss(FAKE)) == pytest.approx(-(math.log(0.5) + math.log(0.25)) / 2, rel=1e-6)
    assert float(get_loss("minimax").g_loss(FAKE)) == pytest.approx((math.log(0.5) + math.log(0.75)) / 2)


def test_lsgan_wgan_hinge_by_hand():
    r, f = torch.tensor([0.5, 2.0]), torch.tensor([-0.5, 0.3])
    # (a, b) = (0, 1): 1/2 mean((r-1)^2) + 1/2 mean(f^2)
    assert float(d_loss_lsgan(r, f)) == pytest.approx(0.5 * (0.25 + 1.0) / 2 + 0.5 * (0.25 + 0.09) / 2)
    assert float(g_loss_lsgan(f)) == pytest.approx(0.5 * (2.25 + 0.49) / 2)
    ls = get_loss("lsgan", a=-1, b=1, c=0)
    assert float(ls.d_loss(r, f)) == pytest.approx(0.5 * (0.25 + 1.0) / 2 + 0.5 * (0.25 + 1.69) / 2)
    assert float(ls.g_loss(f)) == pytest.approx(0.5 * (0.25 + 0.09) / 2)
    assert float(d_loss_wgan(r, f)) == pytest.approx(-0.1 - 1.25)
    assert float(g_loss_wgan(f)) == pytest.approx(0.1)
    # hinge: relu(1 - r) = [0.5, 0]; relu(1 + f) = [0.5, 1.3]
    assert float(d_loss_hinge(r, f)) == pytest.approx(0.25 + 0.9)
    assert float(g_loss_hinge(f)) == pytest.approx(-(-0.5 + 0.3) / 2)


def test_losses_stable_for_huge_logits():
    big = torch.tensor([200.0, -200.0])
    for value in (d_loss_minimax(big, -big), d_loss_minimax(big, big, smoothing=0.2),
                  g_loss_nonsaturating(big), g_loss_minimax(big)):
        assert torch.isfinite(value)
    assert float(g_loss_nonsaturating(torch.tensor([-200.0]))) == pytest.approx(200.0)
    assert float(d_loss_minimax(torch.tensor([200.0]), torch.tensor([200.0]))) == pytest.approx(200.0)
    z = torch.tensor([-300.0], requires_grad=True)
    g_loss_nonsaturating(z).backward()
    assert float(z.grad) == pytest.approx(-1.0)  # non-saturating: full gradient when D rejects the fake
    z2 = torch.tensor([-300.0], requires_grad=True)
    g_loss_minimax(z2).backward()
    assert abs(float(z2.grad)) < 1e-30  # minimax saturates


def test_gradient_penalty_of_a_linear_critic():
    w = torch.tensor([3.0, 4.0], requires_grad=True)  # ||grad D|| = 5 everywhere

    def critic(x):
        return x @ w

    real = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    fake = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    gp = gradient_penalty(critic, real, fake, weight=10.0, seed=0)
    assert float(gp.detach()) == pytest.approx(10.0 * 16.0)
    gp.backward()  # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    torch.testing.assert_close(w.grad, torch.tensor([48.0, 64.0]))
    assert float(get_loss("wgan-gp", gp_weight=2.0).penalty(critic, real, fake).detach()) == pytest.approx(32.0)
    assert float(get_loss("hinge").penalty(critic, real, fake)) == 0.0


def test_get_loss_validation():
    with pytest.raises(ValueError, match=r"\['hinge', 'lsgan', 'minimax', 'non-saturating', 'wgan-gp'\]"):
        get_loss("wasserstein")
    with pytest.raises(ValueError, match="smoothing"):
        get_loss("hinge", smoothing=0.1)
    with pytest.raises(ValueError, match="'smoothing'.*\\[0, 1\\)"):
        get_loss("minimax", smoothing=1.0)
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(lambda x: x.sum(1), torch.zeros(2, 3), torch.zeros(3, 3))


def _gauss_logpdf(x, mu, sd):
    return -0.5 * ((x - mu) / sd) ** 2 - math.log(sd) - 0.5 * math.log(2 * math.pi)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_optimal_discriminator_identity(smoothing, seed=0):
    """Minimising the D loss on samples recovers D*(x) = (1 - kappa) p_data / (p_data + p_g).

    p_data = N(0, 1), p_g = N(1, 1.5^2).  The log-ratio of two Gaussians is quadratic in x, so a
    logistic discriminator on features (1, x, x^2) can represent D* exactly; we fit it by minimising
    our d_loss_minimax (LBFGS) on 40,000 samples per class, then compare to the analytic D* on a grid.
    Tolerance: with 40k samples per class the largest error of the fitted probabilities on [-2, 3]
    was 0.002-0.022 over data seeds 0-5 (0.010 for seed 0), so atol is 0.03; a wrong loss (e.g. the
    smoothing applied to the fakes too, or D* = p_data / p_g) is off by more than 0.1.
    With one-sided smoothing only the real target moves to 1 - kappa, and the pointwise optimum of
    -[p_data ((1-kappa) log D + kappa log(1-D)) + p_g log(1-D)] is D = (1 - kappa) p_data / (p_data + p_g).
    """
    gen = torch.Generator().manual_seed(seed)
    n = 40_000
    xr = torch.randn(n, generator=gen, dtype=torch.float64)
    xf = 1.0 + 1.5 * torch.randn(n, generator=gen, dtype=torch.float64)
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)

    def logits(x):
        return theta[0] + theta[1] * x + theta[2] * x * x

    opt = torch.optim.LBFGS([theta], lr=1.0, max_iter=200, tolerance_grad=1e-12, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = d_loss_minimax(logits(xr), logits(xf), smoothing=smoothing)
        loss.backward()
        return loss

    opt.step(closure)
    grid = torch.linspace(-2.0, 3.0, 11, dtype=torch.float64)
    with torch.no_grad():
        fitted = torch.sigmoid(logits(grid)).numpy()
    pd, pg = np.exp(_gauss_logpdf(grid.numpy(), 0.0, 1.0)), np.exp(_gauss_logpdf(grid.numpy(), 1.0, 1.5))
    analytic = (1 - smoothing) * pd / (pd + pg)
    np.testing.assert_allclose(fitted, analytic, atol=0.03)
    if smoothing == 0.0:
        # at D*, -(D loss) = V(D*, G) = -log 4 + 2 JSD(p_data || p_g); JSD by quadrature
        x = np.linspace(-12, 14, 200_001)
        p, q = np.exp(_gauss_logpdf(x, 0.0, 1.0)), np.exp(_gauss_logpdf(x, 1.0, 1.5))
        m = (p + q) / 2
        jsd = 0.5 * np.trapezoid(p * np.log(p / m), x) + 0.5 * np.trapezoid(q * np.log(q / m), x)
        value = -float(closure().detach())
        assert value == pytest.approx(-math.log(4) + 2 * jsd, abs=0.01)
        assert 0.05 < jsd < math.log(2)  # the identity is not trivially met by D = 1/2
