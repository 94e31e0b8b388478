r"""GAN objectives on discriminator logits.

Each loss is a pair of functions: a discriminator loss taking the logits (raw
outputs) of real and fake batches, and a generator loss taking the logits of a
fake batch; both return a scalar mean over the batch that the respective
player *minimises*.  Probabilities are :math:`D(x) = \sigma(\text{logit})`
and every log-probability is computed with ``logsigmoid`` so no loss
overflows for large logits.

==============  ================================================================  =================================
name            discriminator minimises                                           generator minimises
==============  ================================================================  =================================
minimax         :math:`-E\log D(x) - E\log(1 - D(G(z)))`                          :math:`E\log(1 - D(G(z)))`
non-saturating  same as minimax                                                   :math:`-E\log D(G(z))`
lsgan           :math:`\tfrac12 E(D(x) - b)^2 + \tfrac12 E(D(G(z)) - a)^2`        :math:`\tfrac12 E(D(G(z)) - c)^2`
wgan-gp         :math:`E D(G(z)) - E D(x) + \lambda E(\|\nabla D(\hat x)\|-1)^2`  :math:`-E D(G(z))`
hinge           :math:`E\max(0, 1 - D(x)) + E\max(0, 1 + D(G(z)))`                :math:`-E D(G(z))`
==============  ================================================================  =================================

For LSGAN, WGAN-GP and hinge, :math:`D` denotes the raw output.  One-sided
label smoothing (real target :math:`1 - \kappa`, fakes 0) applies to the
minimax / non-saturating discriminator loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .._validation import check_choice, check_float, check_seed

__all__ = [
    "LOSSES",
    "GANLoss",
    "d_loss_hinge",
    "d_loss_lsgan",
    "d_loss_minimax",
    "d_loss_wgan",
    "g_loss_hinge",
    "g_loss_lsgan",
    "g_loss_minimax",
    "g_loss_nonsaturating",
    "g_loss_wgan",
    "get_loss",
    "gradient_penalty",
]


def _check_smoothing(smoothing):
    smoothing = check_float(smoothing, "smoothing", minimum=0.0)
    if smoothing >= 1.0:
        raise ValueError(f"The 'smoothing' parameter must be in [0, 1). Got {smoothing} instead.")
    return smoothing


def d_loss_minimax(real_logits: torch.Tensor, fake_logits: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    r"""Discriminator loss of the minimax game, :math:`-E[t\log D(x) + (1-t)\log(1-D(x))] - E\log(1 - D(G(z)))`.

    ``t = 1 - smoothing`` is the (one-sided smoothed) real target; fakes keep target 0.
    This is the binary cross-entropy with logits, also the D loss of the non-saturating game.

    Parameters
    ----------
    real_logits : torch.Tensor
        Discriminator logits of a real batch, shape ``(B,)``.
    fake_logits : torch.Tensor
        Logits of a generated batch, shape ``(B,)``.
    smoothing : float
        One-sided label smoothing :math:`\kappa \in [0, 1)` (default 0).

    Returns
    -------
    torch.Tensor
        The scalar mean over the batch.
    """
    t = 1.0 - _check_smoothing(smoothing)
    real = -(t * F.logsigmoid(real_logits) + (1.0 - t) * F.logsigmoid(-real_logits)).mean()
    fake = -F.logsigmoid(-fake_logits).mean()
    return real + fake


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Saturating generator loss :math:`E\log(1 - D(G(z)))` (minimised by G).

    Parameters
    ----------
    fake_logits : torch.Tensor
        Discriminator logits of a generated batch, shape ``(B,)``.

    Returns
    -------
    torch.Tensor
        The scalar mean over the batch.
    """
    return F.logsigmoid(-fake_logits).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Non-saturating generator loss :math:`-E\log D(G(z))`.

    Parameters
    ----------
    fake_logits : torch.Tensor
        Discriminator logits of a generated batch, shape ``(B,)``.

    Returns
    -------
    torch.Tensor
        The scalar mean over the batch.
    """
    return -F.logsigmoid(fake_logits).mean()


def d_loss_lsgan(real_logits, fake_logits, a: float = 0.0, b: float = 1.0) -> torch.Tensor:
    r"""LSGAN discriminator loss :math:`\tfrac12 E(D(x)-b)^2 + \tfrac12 E(D(G(z))-a)^2`.

    Parameters
    ----------
    real_logits : torch.Tensor
        Discriminator logits of a real batch, shape ``(B,)``.
    fake_logits : torch.Tensor
        Logits of a generated batch, shape ``(B,)``.
    a : float
        Target of fake images (default 0).
    b : float
        Target of real images (default 1).

    Returns
    -------
    torch.Tensor
        The scalar mean over the batch.
    """
    return 0.5 * ((real_logits - b) ** 2).mean() + 0.5 * ((fake_logits - a) ** 2).mean()


def g_loss_lsgan(fake_logits, c: float = 1.0) -> torch.Tensor:
    r"""LSGAN generator loss :math:`\tfrac12 E(D(G(z))-c)^2`.

    Parameters
    ----------
    fake_logits : torch.Tensor
        Discriminator logits of a generated batch, shape ``(B,)``.
    c : float
        The value the generator wants the discriminator to output (default 1).

    Returns
    -------
    torch.Tensor
        The scalar mean over the batch.
    """
    return 0.5 * ((fake_logits - c) ** 2).mean()


def d_loss_wgan(real_logits, fake_logits) -> torch.Tensor:
    r"""Wasserstein critic loss without penalty, :math:`E D(G(z)) - E D(x)`.

    Parameters
    ----------
    real_logits : torch.Tensor
        Discriminator logits of a real batch, shape ``(B,)``.
    fake_logits : torch.Tensor
        Logits of a generated batch, shape ``(B,)``.

    Returns
    -------
    torch.Tensor
        The scalar mean over the batch.
    """
    return fake_logits.mean() - real_logits.mean()


def g_loss_wgan(fake_logits) -> torch.Tensor:
    r"""Wasserstein generator loss :math:`-E D(G(z))`.

    Parameters
    ----------
    fake_logits : torch.Tensor
        Discriminator logits of a generated batch, shape ``(B,)``.

    Returns
    -------
    torch.Tensor
        The scalar mean over the batch.
    """
    return -fake_logits.mean()


def gradient_penalty(discriminator, real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0,
                     seed=None, eps: torch.Tensor | None = None) -> torch.Tensor:
    r"""WGAN-GP penalty :math:`\lambda E_{\hat x}(\|\nabla_{\hat x} D(\hat x)\|_2 - 1)^2`.

    :math:`\hat x = \epsilon x + (1 - \epsilon)\tilde x` with one
    :math:`\epsilon \sim U(0, 1)` per sample, drawn on the CPU from ``seed``
    (None | int | torch.Generator) unless given as ``eps`` (shape ``(B,)``).
    The graph is kept (``create_graph=True``) so the penalty can be backpropagated
    into the discriminator's weights.  ``fake`` is detached.

    Parameters
    ----------
    discriminator : torch.nn.Module
        The critic, images ``(B, ...)`` to outputs ``(B,)``.
    real : torch.Tensor
        A real batch.
    fake : torch.Tensor
        A generated batch of the same shape.
    weight : float
        :math:`\lambda \ge 0` (default 10).
    seed : None, int or torch.Generator
        Seed of :math:`\epsilon` when ``eps`` is not given.
    eps : torch.Tensor, optional
        The interpolation weights, shape ``(B,)``.

    Returns
    -------
    torch.Tensor
        The scalar penalty.

    Raises
    ------
    ValueError
        If ``real`` and ``fake`` differ in shape, or ``weight < 0``.
    """
    weight = check_float(weight, "weight", minimum=0.0)
    if real.shape != fake.shape:
        raise ValueError(f"The 'real' and 'fake' batches of gradient_penalty must have the same shape. "
                         f"Got {tuple(real.shape)} and {tuple(fake.shape)} instead.")
    b = real.shape[0]
    if eps is None:
        eps = torch.rand(b, generator=check_seed(seed))
    eps = eps.to(device=real.device, dtype=real.dtype).reshape(b, *([1] * (real.dim() - 1)))
    x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
    out = discriminator(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.reshape(b, -1).norm(2, dim=1)
    return weight * ((norms - 1.0) ** 2).mean()


def d_loss_hinge(real_logits, fake_logits) -> torch.Tensor:
    r"""Hinge discriminator loss :math:`E\max(0, 1 - D(x)) + E\max(0, 1 + D(G(z)))`.

    Parameters
    ----------
    real_logits : torch.Tensor
        Discriminator logits of a real batch, shape ``(B,)``.
    fake_logits : torch.Tensor
        Logits of a generated batch, shape ``(B,)``.

    Returns
    -------
    torch.Tensor
        The scalar mean over the batch.
    """
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_loss_hinge(fake_logits) -> torch.Tensor:
    r"""Hinge generator loss :math:`-E D(G(z))` (the WGAN generator loss).

    Parameters
    ----------
    fake_logits : torch.Tensor
        Discriminator logits of a generated batch, shape ``(B,)``.

    Returns
    -------
    torch.Tensor
        The scalar mean over the batch.
    """
    return g_loss_wgan(fake_logits)  # the same generator objective as WGAN


@dataclass(frozen=True)
class GANLoss:
    """A named GAN objective with its parameters.

    Attributes
    ----------
    name : str
        One of :data:`LOSSES`.
    params : dict
        ``smoothing`` (minimax / non-saturating), ``a, b, c`` (lsgan), ``gp_weight`` (wgan-gp).
    """

    name: str
    params: dict = field(default_factory=dict)

    @property
    def needs_penalty(self) -> bool:
        """True when the discriminator step adds a gradient penalty (WGAN-GP)."""
        return self.name == "wgan-gp"

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Discriminator loss (without the WGAN-GP penalty; see :meth:`penalty`).

        Parameters
        ----------
        real_logits : torch.Tensor
            Logits of a real batch, shape ``(B,)``.
        fake_logits : torch.Tensor
            Logits of a generated batch, shape ``(B,)``.

        Returns
        -------
        torch.Tensor
            The scalar loss the discriminator minimises.
        """
        p = self.params
        if self.name in ("minimax", "non-saturating"):
            return d_loss_minimax(real_logits, fake_logits, p.get("smoothing", 0.0))
        if self.name == "lsgan":
            return d_loss_lsgan(real_logits, fake_logits, p.get("a", 0.0), p.get("b", 1.0))
        if self.name == "wgan-gp":
            return d_loss_wgan(real_logits, fake_logits)
        return d_loss_hinge(real_logits, fake_logits)

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Generator loss.

        Parameters
        ----------
        fake_logits : torch.Tensor
            Discriminator logits of a generated batch, shape ``(B,)``.

        Returns
        -------
        torch.Tensor
            The scalar loss the generator minimises.
        """
        if self.name == "minimax":
            return g_loss_minimax(fake_logits)
        if self.name == "non-saturating":
            return g_loss_nonsaturating(fake_logits)
        if self.name == "lsgan":
            return g_loss_lsgan(fake_logits, self.params.get("c", 1.0))
        if self.name == "wgan-gp":
            return g_loss_wgan(fake_logits)
        return g_loss_hinge(fake_logits)

    def penalty(self, discriminator, real, fake, eps=None, seed=None) -> torch.Tensor:
        """Gradient penalty (WGAN-GP only; zero otherwise).

        Parameters
        ----------
        discriminator : torch.nn.Module
            The critic.
        real, fake : torch.Tensor
            A real and a generated batch of the same shape.
        eps : torch.Tensor, optional
            Interpolation weights ``(B,)`` (see :func:`gradient_penalty`).
        seed : None, int or torch.Generator
            Seed of the weights when ``eps`` is not given.

        Returns
        -------
        torch.Tensor
            The scalar penalty, weighted by ``params["gp_weight"]``.
        """
        if not self.needs_penalty:
            return real.new_zeros(())
        return gradient_penalty(discriminator, real, fake, self.params.get("gp_weight", 10.0), seed=seed, eps=eps)


LOSSES = ("hinge", "lsgan", "minimax", "non-saturating", "wgan-gp")
_PARAMS = {
    "minimax": {"smoothing": 0.0},
    "non-saturating": {"smoothing": 0.0},
    "lsgan": {"a": 0.0, "b": 1.0, "c": 1.0},
    "wgan-gp": {"gp_weight": 10.0},
    "hinge": {},
}


def get_loss(name: str, **params) -> GANLoss:
    """Build a :class:`GANLoss` by name.

    Parameters
    ----------
    name : {"hinge", "lsgan", "minimax", "non-saturating", "wgan-gp"}
        The objective (see the module docstring).
    **params
        ``smoothing`` (minimax, non-saturating), ``a``, ``b``, ``c`` (lsgan) or
        ``gp_weight`` (wgan-gp); the others take none.

    Returns
    -------
    GANLoss

    Raises
    ------
    ValueError
        For an unknown name or parameter (the message lists the valid ones).

    Examples
    --------
    >>> from ganprior.training import get_loss
    >>> get_loss("lsgan", a=-1, b=1, c=0)
    GANLoss(name='lsgan', params={'a': -1.0, 'b': 1.0, 'c': 0.0})
    >>> get_loss("non-saturating", smoothing=0.1).params
    {'smoothing': 0.1}
    """
    check_choice(name, "loss", LOSSES)
    allowed = _PARAMS[name]
    full = dict(allowed)
    for key, value in params.items():
        if key not in allowed:
            raise ValueError(f"The loss {name!r} takes parameters {sorted(allowed)}. Got {key!r} instead.")
        if key == "smoothing":
            full[key] = _check_smoothing(value)
        elif key == "gp_weight":
            full[key] = check_float(value, key, minimum=0.0)
        else:
            full[key] = check_float(value, key)
    return GANLoss(name, full)
