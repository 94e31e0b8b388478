r"""The law a generator's latent :math:`z` was drawn from in training: normal, uniform on a box, or truncated normal.

A GAN is trained on latents from one law :math:`p(z)`, and every latent method should take its prior from that
law: where it starts (:meth:`LatentLaw.sample`), what it penalises (:math:`-\log p(z)`,
:meth:`LatentLaw.log_density`) and where it may go (:meth:`LatentLaw.project`, the support of :math:`p`).
The bundled priors were trained with :math:`\mathcal{N}(0, I)` (``"normal"``); many public DCGANs (Bora et
al.'s, most ports of Radford et al.'s) draw :math:`z \sim \mathrm{Unif}[-1, 1]^k` (``"uniform"``).

======================  ===================================  ==============================  ====================
law                     :math:`p(z)`                         :math:`-\log p(z)` (+ const)    support / projection
======================  ===================================  ==============================  ====================
``"normal"``            :math:`\mathcal{N}(0, I_k)`          :math:`\|z\|^2 / 2`             :math:`\mathbb{R}^k`
``"uniform"``           :math:`\mathrm{Unif}[-b, b]^k`       0 inside the box                clamp to the box
``"truncated-normal"``  :math:`\mathcal{N}(0, I_k)` on       :math:`\|z\|^2 / 2` inside      clamp to the box
                        :math:`[-t, t]^k`
======================  ===================================  ==============================  ====================

(:math:`b = 1` and :math:`t = 2` by default.)  :class:`ganprior.Generator` holds its law as ``G.latent``
(``Generator(..., latent="uniform")``); prior folders and training runs record it in ``config.json``
(``"latent"``), and :func:`ganprior.load_prior` reads it back (``"normal"`` when absent).
"""

from __future__ import annotations

import math

import torch

from ._validation import describe

__all__ = ["LatentLaw", "NormalLaw", "UniformLaw", "TruncatedNormalLaw", "LATENT_LAWS", "as_latent_law",
           "latent_law_of"]


class LatentLaw:
    r"""A latent law :math:`p(z)`: how to draw from it, its log density and its support.

    Subclass it for a law of your own and give an instance as ``Generator(..., latent=law)``; the methods
    below are all a latent method needs.

    Attributes
    ----------
    name : str
        The law's name, recorded in ``config.json``.
    bound : float or None
        Half-width :math:`b` of the box :math:`[-b, b]^k` the law lives in, or None for an unbounded support.
    """

    name = "law"
    bound = None

    def sample(self, shape, generator=None) -> torch.Tensor:
        """Draw a float32 CPU tensor of ``shape`` from the law.

        Parameters
        ----------
        shape : tuple of int
            The shape of the draw, e.g. ``(rows, *latent_shape)``.
        generator : torch.Generator, optional
            The CPU generator the draw consumes (so a seed gives the same latents on every device).

        Returns
        -------
        torch.Tensor
        """
        raise NotImplementedError(f"{type(self).__name__} must implement sample(shape, generator).")

    def log_density(self, z: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(z)` per row, up to an additive constant (differentiable in ``z``).

        Parameters
        ----------
        z : torch.Tensor
            Latents ``(B, *latent_shape)``, inside the support.

        Returns
        -------
        torch.Tensor
            Shape ``(B,)``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement log_density(z).")

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """Project ``z`` onto the law's support in place (default: nothing, an unbounded support).

        Parameters
        ----------
        z : torch.Tensor
            Latents, modified in place.

        Returns
        -------
        torch.Tensor
            ``z`` itself.
        """
        if self.bound is not None:
            z.clamp_(-self.bound, self.bound)
        return z

    def penalty(self, z: torch.Tensor) -> torch.Tensor:
        r"""The latent penalty :math:`-2 \log p(z)` (up to a constant) that ``lam`` weighs, per row.

        For the normal law this is :math:`\|z\|_2^2`, CSGM's :math:`\lambda\|z\|^2`.

        Parameters
        ----------
        z : torch.Tensor
            Latents ``(B, *latent_shape)``.

        Returns
        -------
        torch.Tensor
            Shape ``(B,)``.
        """
        return -2.0 * self.log_density(z)

    def spec(self):
        """What ``config.json`` records: the name, or ``{"name": ..., "bound": ...}`` for a non-default box.

        Returns
        -------
        str or dict
        """
        known = LATENT_LAWS.get(self.name)
        if type(self) is not known or self.bound == known().bound:
            return self.name
        return {"name": self.name, "bound": self.bound}

    def __eq__(self, other):
        return type(self) is type(other) and self.bound == other.bound

    def __hash__(self):
        return hash((type(self).__name__, self.bound))

    def __repr__(self):
        return f"{type(self).__name__}()" if self.bound is None else f"{type(self).__name__}(bound={self.bound})"


class NormalLaw(LatentLaw):
    r"""The standard normal law :math:`\mathcal{N}(0, I)`: :math:`-\log p(z) = \|z\|^2 / 2` + const, no projection.

    The law of the bundled priors.  :meth:`sample` draws exactly what ``torch.randn(shape, generator=...)``
    draws, so a seed gives the same latents as before laws existed.
    """

    name = "normal"

    def sample(self, shape, generator=None):
        return torch.randn(tuple(shape), generator=generator, dtype=torch.float32)

    def log_density(self, z):
        return -0.5 * z.pow(2).flatten(1).sum(dim=-1)

    def penalty(self, z):
        return z.pow(2).flatten(1).sum(dim=-1)


def _check_bound(bound, owner):
    if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound) or bound <= 0:
        raise ValueError(f"The 'bound' parameter of {owner} must be a finite float > 0. Got {describe(bound)} instead.")
    return float(bound)


class UniformLaw(LatentLaw):
    r"""The uniform law on the box :math:`[-b, b]^k` (default :math:`b = 1`).

    Parameters
    ----------
    bound : float
        Half-width :math:`b > 0` of the box.

    Notes
    -----
    :math:`\log p(z) = -k \log(2b)` is constant inside the box, so the penalty ``lam`` weighs vanishes there: the
    prior acts only through the box constraint, kept by projection (clamping) after every step.
    """

    name = "uniform"

    def __init__(self, bound: float = 1.0):
        self.bound = _check_bound(bound, "UniformLaw")

    def sample(self, shape, generator=None):
        u = torch.rand(tuple(shape), generator=generator, dtype=torch.float32)
        return u.mul_(2.0 * self.bound).sub_(self.bound)

    def log_density(self, z):
        return z.new_zeros(z.shape[0])

    def penalty(self, z):
        return z.new_zeros(z.shape[0])


class TruncatedNormalLaw(LatentLaw):
    r"""The standard normal law truncated to the box :math:`[-t, t]^k` (default :math:`t = 2`).

    Parameters
    ----------
    bound : float
        The truncation :math:`t > 0`.

    Notes
    -----
    Inside the box :math:`-\log p(z) = \|z\|^2 / 2` + const, the normal law's penalty, and the box is kept by
    projection.  :meth:`sample` inverts the CDF, :math:`z = \Phi^{-1}(\Phi(-t) + u\,(\Phi(t) - \Phi(-t)))`
    with :math:`u \sim \mathrm{Unif}[0, 1]` (in float64), so one uniform draw per entry, no rejection.
    """

    name = "truncated-normal"

    def __init__(self, bound: float = 2.0):
        self.bound = _check_bound(bound, "TruncatedNormalLaw")

    def sample(self, shape, generator=None):
        u = torch.rand(tuple(shape), generator=generator, dtype=torch.float64)
        lo = 0.5 * math.erfc(self.bound / math.sqrt(2.0))  # Phi(-t)
        z = torch.special.ndtri(lo + u * (1.0 - 2.0 * lo))
        return z.clamp_(-self.bound, self.bound).to(torch.float32)

    def log_density(self, z):
        return -0.5 * z.pow(2).flatten(1).sum(dim=-1)

    def penalty(self, z):
        return z.pow(2).flatten(1).sum(dim=-1)


#: The laws known by name: ``Generator(..., latent=name)``.
LATENT_LAWS = {"normal": NormalLaw, "uniform": UniformLaw, "truncated-normal": TruncatedNormalLaw}


def as_latent_law(latent, *, name: str = "latent", owner: str | None = None) -> LatentLaw:
    """Turn ``latent`` (a name, a recorded spec or a law) into a :class:`LatentLaw`.

    Parameters
    ----------
    latent : None, str, dict or LatentLaw
        None or ``"normal"`` (the standard normal law), ``"uniform"``, ``"truncated-normal"``, a spec as
        ``config.json`` records it (``{"name": "uniform", "bound": 2.0}``), or a :class:`LatentLaw`.
    name : str
        The argument named in error messages.
    owner : str, optional
        The function or class named in error messages.

    Returns
    -------
    LatentLaw

    Raises
    ------
    TypeError, ValueError
        For anything else; the message lists what is accepted.
    """
    where = f" of {owner}" if owner else ""
    expected = (f"The '{name}' parameter{where} must be one of {', '.join(map(repr, LATENT_LAWS))}, a spec such as "
                "{'name': 'uniform', 'bound': 1.0}, or a ganprior.latent.LatentLaw")
    if latent is None:
        return NormalLaw()
    if isinstance(latent, LatentLaw):
        return latent
    if isinstance(latent, str):
        if latent not in LATENT_LAWS:
            raise ValueError(f"{expected}. Got {latent!r} instead.")
        return LATENT_LAWS[latent]()
    if isinstance(latent, dict):
        spec = dict(latent)
        law = spec.pop("name", None)
        if law not in LATENT_LAWS or set(spec) - {"bound"} or (law == "normal" and spec):
            raise ValueError(f"{expected}. Got {latent!r} instead.")
        return LATENT_LAWS[law](**spec)
    raise TypeError(f"{expected}. Got {describe(latent)} instead.")


def latent_law_of(G) -> LatentLaw:
    """The latent law of a prior: ``G.latent`` for a :class:`ganprior.Generator`, else the standard normal law.

    Parameters
    ----------
    G : ganprior.Generator or callable
        The prior.

    Returns
    -------
    LatentLaw
    """
    law = getattr(G, "latent", None)
    return law if isinstance(law, LatentLaw) else NormalLaw()
