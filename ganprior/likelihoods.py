r"""Measurement models: how measurements arise from :math:`u = Ax`, and the data term a solver minimises.

Everything before this module assumed :math:`y = Ax + \eta` with Gaussian :math:`\eta` and a least-squares data
term.  A :class:`Likelihood` makes that one choice among several.  It owns, in one object,

- the **forward model** :meth:`~Likelihood.forward` (the noiseless measurement of :math:`u = Ax`) and its
  **noise** :meth:`~Likelihood.sample` (what :meth:`ganprior.operators.LinearOperator.measure` draws);
- the **data term** :meth:`~Likelihood.score`, per measurement, whose sum over a problem's rows
  (:meth:`~Likelihood.data_term`) every latent method minimises in place of :math:`\|y - Ax\|^2`, and which
  scores held-out rows in cross-validation and ``method="auto"`` (a proper scoring rule of the model, so ranking
  candidates by it ranks them by how well they predict new measurements).

The models (``recover(..., likelihood="magnitude")``, ``ganprior recover --likelihood magnitude``):

``"gaussian"`` (:class:`Gaussian`, the default)
    :math:`y = u + \eta`, :math:`\eta \sim \mathcal N(0, \sigma^2 I)`; score :math:`(y_i - u_i)^2`: the data
    term of every solver so far, unchanged (bitwise).
``"magnitude"`` (:class:`Magnitude`: phase retrieval)
    :math:`y = |u| + \eta` for a real or complex operator (:class:`~ganprior.operators.ComplexGaussian`); score
    :math:`(|u_i| - y_i)^2`, the amplitude-flow loss (Wang, Giannakis & Eldar, 2018; Hand, Leong & Voroninski,
    NeurIPS 2018 analyse it with a generative prior).  The sign (or phase) of :math:`x` is not identifiable:
    :math:`x` and :math:`-x` give the same :math:`y`.
``"sign"`` (:class:`Sign`: 1-bit compressed sensing)
    :math:`y = \operatorname{sign}(u) \in \{-1, +1\}` (a fraction ``flip`` of the signs flipped at random);
    score the logistic loss :math:`\tfrac1s\log(1 + e^{-s y_i u_i})` or the one-sided hinge
    :math:`\max(0, -y_i u_i)` of binary iterative hard thresholding (Jacques et al., 2013).  The **scale of**
    :math:`x` **is not identifiable** (:math:`y` is the same for :math:`cx`, :math:`c > 0`): errors are measured on
    normalised images (:func:`ganprior.metrics.normalized_mse`).  A generative prior fixes the scale only
    through its range (Liu, Gomes, Tiwari & Scarlett, ICML 2020; Qiu, Wei & Yang, ICML 2020).
``"poisson"`` (:class:`Poisson`: photon-limited imaging)
    :math:`y_i \sim \mathrm{Poisson}(\phi u_i)` with :math:`A \ge 0`
    (:class:`~ganprior.operators.NonNegative`) and :math:`\phi` = ``photons``; score the Poisson deviance
    :math:`\lambda_i - y_i + y_i \log(y_i/\lambda_i)`, :math:`\lambda_i = \phi u_i`, continued below
    ``floor`` by its second-order Taylor expansion so that it is finite, convex and pushes :math:`\lambda` up
    for any :math:`u` (a generator may render slightly negative intensities).

Where the score is a proper negative log-likelihood, :meth:`~Likelihood.posterior_terms` gives its weight and the
model's noise scale, which :func:`ganprior.sample_posterior` needs (all but the hinge and a noiseless model).

A likelihood is an immutable value: ``Gaussian(noise_std=0.1) == Gaussian(noise_std=0.1)``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from ._validation import check_choice, check_float, check_int, describe

__all__ = ["Likelihood", "Gaussian", "Magnitude", "Sign", "Poisson", "LIKELIHOODS", "get_likelihood"]


def _generator(seed):
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


def _std_of_norm(norm, m, owner):
    r"""The per-measurement :math:`\sigma` of noise with norm about ``norm`` over ``m`` measurements."""
    norm = check_float(norm, "norm", minimum=0.0, owner=owner)
    return norm / math.sqrt(check_int(m, "m", minimum=1, owner=owner))


def _randn(shape, gen, like):
    return torch.randn(shape, generator=gen, dtype=torch.float64).to(device=like.device, dtype=like.dtype)


@dataclass(frozen=True)
class Likelihood:
    """Base class of a measurement model (see the module's docstring).

    A subclass sets :attr:`name` and implements ``_forward``, ``_sample`` and ``_score`` (the public
    :meth:`forward`, :meth:`sample` and :meth:`score` call them); :meth:`check` validates measurements before any
    work starts.

    Attributes
    ----------
    name : str
        The name ``recover(likelihood=...)`` and ``--likelihood`` take (a class attribute).
    """

    name = "likelihood"

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """The noiseless measurements of :math:`u = Ax`.

        Parameters
        ----------
        u : torch.Tensor
            :math:`Ax`, ``(..., m)`` (complex for a complex operator).

        Returns
        -------
        torch.Tensor
            Real, ``(..., m)``.
        """
        return self._forward(u)

    def sample(self, u: torch.Tensor, seed=None) -> torch.Tensor:
        """Measurements drawn from the model given :math:`u = Ax`.

        Parameters
        ----------
        u : torch.Tensor
            :math:`Ax`, ``(..., m)``.
        seed : None, int or torch.Generator
            Seed of the noise.

        Returns
        -------
        torch.Tensor
            Real, ``(..., m)``.
        """
        return self._sample(u, seed)

    def score(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The data term per measurement (differentiable in ``u``; also the held-out score of cross-validation).

        Parameters
        ----------
        u : torch.Tensor
            :math:`Ax`, ``(..., m)``.
        y : torch.Tensor
            Measurements, ``(..., m)``.

        Returns
        -------
        torch.Tensor
            Real, ``(..., m)``.
        """
        return self._score(u, y)

    def _forward(self, u):  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample(self, u, seed):  # pragma: no cover - abstract
        raise NotImplementedError

    def _score(self, u, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def data_term(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        r"""The data term a solver minimises for each problem: :math:`\sum_i` :meth:`score` :math:`(u, y)_i`.

        Parameters
        ----------
        u : torch.Tensor
            :math:`Ax`, shape ``(B, m)`` (complex for a complex operator).
        y : torch.Tensor
            Measurements ``(B, m)``.

        Returns
        -------
        torch.Tensor
            ``(B,)``.
        """
        return self.score(u, y).sum(dim=-1)

    def posterior_terms(self, owner: str = "sample_posterior") -> tuple:
        r"""What a posterior sampler needs: the model's noise scale :math:`s` and the weight :math:`w` of its score.

        :math:`-\log p(y \mid u) = w \sum_i` :meth:`score` :math:`(u, y)_i` + a term in :math:`y` alone (the
        score as a negative log-likelihood), and :math:`1/s^2` bounds the curvature in :math:`u_i` of one
        measurement's negative log-likelihood at its data (the scale of a sampler's step and annealing).

        Parameters
        ----------
        owner : str
            The function named in the message.

        Returns
        -------
        tuple of float
            :math:`(s, w)`: :math:`(\sigma, 1/(2\sigma^2))` (Gaussian, magnitude), :math:`(1/\phi, 1)`
            (Poisson: the curvature :math:`\phi^2 y_i/\lambda_i^2` is :math:`\phi^2/y_i \le \phi^2` at
            :math:`\lambda_i = y_i \ge 1`), :math:`(2/s, s)` (sign with the logistic link of scale :math:`s`,
            whose curvature is at most :math:`s^2/4`).

        Raises
        ------
        ValueError
            Where the score is not a proper negative log-likelihood: a noiseless additive model
            (``noise_std = 0``), the hinge of :class:`Sign`.
        """
        return self._posterior_terms(owner)

    def _posterior_terms(self, owner):  # pragma: no cover - abstract
        """``(s, w)`` of :meth:`posterior_terms`, or a ValueError naming ``owner`` where the score is no likelihood."""
        raise NotImplementedError

    def check(self, y, owner: str = "recover") -> None:
        """Refuse measurements the model cannot produce (e.g. signs other than +-1), naming ``owner``.

        Parameters
        ----------
        y : torch.Tensor or numpy.ndarray
            The measurements.
        owner : str
            The function named in the message.

        Raises
        ------
        ValueError
            For values the model cannot produce.
        """
        self._check(y, owner)

    def _check(self, y, owner):
        """Nothing to refuse (the default)."""

    @property
    def gaussian(self) -> bool:
        """Whether the data term is the least-squares :math:`\\|y - u\\|^2` (methods that need it check this)."""
        return self.name == "gaussian"

    @property
    def additive_noise(self) -> bool:
        """Whether the measurements are the noiseless ones plus :math:`\\mathcal N(0, \\sigma^2)` per entry, with
        :math:`\\sigma` the model's ``noise_std`` (:class:`Gaussian`, :class:`Magnitude`)."""
        return isinstance(self, _AdditiveNoise)

    def describe(self) -> dict:
        """``{"name": ..., **parameters}``: what ``info["likelihood"]`` records of the model."""
        return {"name": self.name, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class _AdditiveNoise(Likelihood):
    r"""A model whose measurements are its noiseless ones plus :math:`\mathcal N(0, \sigma^2)` noise per entry
    (:class:`Gaussian`, :class:`Magnitude`): the noise level, its check, :meth:`from_norm` and the draw, once.

    Attributes
    ----------
    noise_std : float
        :math:`\sigma`, per measurement (default 0).
    """

    noise_std: float = 0.0

    def __post_init__(self):
        check_float(self.noise_std, "noise_std", minimum=0.0, owner=type(self).__name__)

    @classmethod
    def from_norm(cls, norm: float, m: int):
        r"""The model whose noise has norm about ``norm`` over ``m`` measurements: :math:`\sigma = \text{norm}/\sqrt m`.

        Parameters
        ----------
        norm : float
            :math:`\|\eta\|` (e.g. 0.1, Bora et al.'s protocol).
        m : int
            Measurements per problem.

        Returns
        -------
        Likelihood
            An instance of the class it is called on (``Gaussian.from_norm`` gives a :class:`Gaussian`).
        """
        return cls(noise_std=_std_of_norm(norm, m, f"{cls.__name__}.from_norm"))

    def _posterior_terms(self, owner):
        if self.noise_std == 0.0:
            raise ValueError(f"{owner}: likelihood={self.name!r} with noise_std = 0 is noiseless, a constraint "
                             "y = f(Ax) and no density over z to sample: give noise_std > 0 (the standard deviation "
                             "of each measurement's Gaussian noise).")
        return self.noise_std, 0.5 / (self.noise_std * self.noise_std)

    def _sample(self, u, seed=None):
        clean = self._forward(u)
        if self.noise_std == 0.0:
            return clean.clone()
        return clean + self.noise_std * _randn(clean.shape, _generator(seed), clean)


@dataclass(frozen=True)
class Gaussian(_AdditiveNoise):
    r"""Additive Gaussian noise: :math:`y = u + \eta`, :math:`\eta_i \sim \mathcal N(0, \sigma^2)`.

    Attributes
    ----------
    noise_std : float
        :math:`\sigma`, per measurement (default 0).

    Notes
    -----
    The score is :math:`(y_i - u_i)^2` -- :math:`2\sigma^2` times the negative log-likelihood up to a constant,
    the data term of CSGM (Bora et al., 2017) with no :math:`\sigma`, so that ``lam`` keeps its meaning.
    :meth:`from_norm` gives the protocol of the papers, :math:`\|\eta\| \approx` ``norm``.
    """

    name = "gaussian"

    def _forward(self, u):
        return u

    def _score(self, u, y):
        return (y - u).pow(2)


@dataclass(frozen=True)
class Magnitude(_AdditiveNoise):
    r"""Magnitude-only measurements (phase retrieval): :math:`y = |u| + \eta`, :math:`\eta_i \sim \mathcal N(0, \sigma^2)`.

    Attributes
    ----------
    noise_std : float
        :math:`\sigma` (default 0).

    Notes
    -----
    Score :math:`(|u_i| - y_i)^2` (amplitude flow).  Its gradient in :math:`u` is
    :math:`2(|u_i| - y_i)\,u_i/|u_i|` (:math:`\operatorname{sign}(u_i)` for real :math:`u`; 0 at :math:`u_i = 0`).
    """

    name = "magnitude"

    def _forward(self, u):
        return u.abs()

    def _score(self, u, y):
        return (u.abs() - y).pow(2)


SIGN_LOSSES = ("logistic", "hinge")


@dataclass(frozen=True)
class Sign(Likelihood):
    r"""1-bit measurements: :math:`y = \operatorname{sign}(u) \in \{-1, +1\}`, a fraction ``flip`` flipped.

    Attributes
    ----------
    loss : {"hinge", "logistic"}
        The score: the one-sided hinge :math:`\max(0, -y_i u_i)` (default; the consistency loss of BIHT) or
        :math:`\tfrac1s \log(1 + e^{-s y_i u_i})`.
    scale : float
        :math:`s` of the logistic loss (default 100): larger is closer to the hinge.
    flip : float
        Chance that :meth:`sample` flips a sign (default 0).

    Notes
    -----
    :math:`\operatorname{sign}(0) = +1`.  Only the direction of :math:`x` is identifiable; compare normalised
    images.  The hinge is zero on every :math:`x` whose signs agree with :math:`y`, so it never rewards a larger
    :math:`\|x\|`; the logistic loss keeps decreasing as :math:`\|x\|` grows while the signs agree, so a
    generator whose range scales drifts outward with it (on the contract suite's ReLU generator, 200 signs: a
    normalised error of 0.003-0.004 x 1/n with the hinge, 0.05-0.11 with the logistic loss at :math:`s` = 10 and
    0.002-0.005 at :math:`s` = 100).  Only the logistic loss is a likelihood (of the model
    :math:`P(y_i \mid u) = 1/(1 + e^{-s y_i u_i})`, which :meth:`sample` does not draw from), so only it has a
    posterior (:meth:`posterior_terms`).
    """

    loss: str = "hinge"
    scale: float = 100.0
    flip: float = 0.0
    name = "sign"

    def __post_init__(self):
        check_choice(self.loss, "loss", SIGN_LOSSES, owner="Sign")
        check_float(self.scale, "scale", minimum=0.0, strict=True, owner="Sign")
        if check_float(self.flip, "flip", minimum=0.0, owner="Sign") > 0.5:
            raise ValueError(f"The 'flip' parameter of Sign must lie in [0, 0.5]. Got {self.flip} instead.")

    def _forward(self, u):
        return torch.where(u >= 0, 1.0, -1.0).to(u.dtype)

    def _sample(self, u, seed=None):
        y = self._forward(u)
        if self.flip == 0.0:
            return y
        flips = torch.rand(u.shape, generator=_generator(seed), dtype=torch.float64).to(u.device) < self.flip
        return torch.where(flips, -y, y)

    def _score(self, u, y):
        margin = y * u
        if self.loss == "hinge":
            return torch.relu(-margin)
        return torch.nn.functional.softplus(-self.scale * margin) / self.scale

    def _posterior_terms(self, owner):
        if self.loss != "logistic":
            raise ValueError(f"{owner}: likelihood='sign' with loss={self.loss!r} has no posterior: the hinge "
                             "max(0, -y u) is a consistency loss, not a negative log-likelihood (exp(-hinge) does "
                             "not sum to 1 over y = +-1). Give Sign(loss='logistic', scale=s), the logistic model "
                             "P(y | u) = 1 / (1 + exp(-s y u)) with a known scale s.")
        return 2.0 / self.scale, self.scale

    def _check(self, y, owner):
        t = torch.as_tensor(y)
        if not bool(((t == 1) | (t == -1)).all()):
            raise ValueError(f"The 'y' parameter of {owner} must hold signs (+1 or -1) for likelihood='sign'. "
                             f"Got values such as {float(t[(t != 1) & (t != -1)].flatten()[0]):g} instead.")


@dataclass(frozen=True)
class Poisson(Likelihood):
    r"""Photon counts: :math:`y_i \sim \mathrm{Poisson}(\phi u_i)`, :math:`u = Ax` with :math:`A \ge 0`.

    Attributes
    ----------
    photons : float
        :math:`\phi`: the expected count of a measurement whose :math:`u_i = 1` (with
        :class:`~ganprior.operators.NonNegative`, which averages pixels, the counts of a white pixel).
    floor : float
        Below this rate the deviance is continued quadratically (default 1e-3 counts).

    Notes
    -----
    Score: the Poisson deviance (half of it, :math:`-\log p(y|\lambda)` up to a term in :math:`y` alone)

    .. math:: d(\lambda, y) = \lambda - y + y \log(y / \lambda), \qquad \lambda = \phi u,

    with :math:`0 \log 0 = 0`; for :math:`\lambda < f` (the floor) its expansion of order 2 at :math:`f`,
    :math:`d(f) + (1 - y/f)(\lambda - f) + \tfrac{\max(y, f)}{2f^2}(\lambda - f)^2` (the Taylor expansion where
    :math:`y \ge f`; for a zero count a curvature that puts the minimum at :math:`\lambda = 0`), continuous with
    its first derivative, convex, and finite for every :math:`u`.
    """

    photons: float = 10.0
    floor: float = 1e-3
    name = "poisson"

    def __post_init__(self):
        check_float(self.photons, "photons", minimum=0.0, strict=True, owner="Poisson")
        check_float(self.floor, "floor", minimum=0.0, strict=True, owner="Poisson")

    def _forward(self, u):
        return self.photons * u

    def _sample(self, u, seed=None):
        rate = (self.photons * u).clamp_min(0.0).to(torch.float64).cpu()
        return torch.poisson(rate, generator=_generator(seed)).to(device=u.device, dtype=u.dtype)

    def _score(self, u, y):
        lam = self.photons * u
        f = torch.as_tensor(self.floor, dtype=lam.dtype, device=lam.device)
        at = torch.maximum(lam, f)
        ylog = torch.where(y > 0, y * torch.log(torch.where(y > 0, y, 1.0) / at), torch.zeros_like(y))
        dev = at - y + ylog
        below = lam - f
        extension = (1.0 - y / f) * below + 0.5 * torch.clamp_min(y, f) / (f * f) * below * below
        return dev + torch.where(lam < f, extension, torch.zeros_like(lam))

    def _posterior_terms(self, owner):
        return 1.0 / self.photons, 1.0

    def _check(self, y, owner):
        t = torch.as_tensor(y)
        if bool((t < 0).any()) or not bool((t == t.round()).all()):
            raise ValueError(f"The 'y' parameter of {owner} must hold counts (integers >= 0) for "
                             "likelihood='poisson'.")


#: The models by name.
LIKELIHOODS = {"gaussian": Gaussian, "magnitude": Magnitude, "sign": Sign, "poisson": Poisson}


def get_likelihood(likelihood, owner: str = "recover", name: str = "likelihood") -> Likelihood:
    """A :class:`Likelihood` from a name of :data:`LIKELIHOODS` (with its defaults), an instance, or None (Gaussian).

    Parameters
    ----------
    likelihood : None, str or Likelihood
        The model.
    owner : str
        The function named in the error message.
    name : str
        The argument named in the error message.

    Returns
    -------
    Likelihood

    Raises
    ------
    ValueError, TypeError
        For an unknown name or another type.
    """
    if likelihood is None:
        return Gaussian()
    if isinstance(likelihood, Likelihood):
        return likelihood
    if isinstance(likelihood, str):
        check_choice(likelihood, name, tuple(LIKELIHOODS), owner=owner)
        return LIKELIHOODS[likelihood]()
    raise TypeError(f"The '{name}' parameter of {owner} must be None, one of {sorted(LIKELIHOODS)} or a "
                    f"ganprior.likelihoods.Likelihood. Got {describe(likelihood)} instead.")
