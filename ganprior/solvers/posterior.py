r"""Posterior sampling by annealed Langevin dynamics in the latent space (Jalal et al., ICML 2021).

Samples :math:`z \sim p(z \mid y) \propto \exp(-\|y - AG(z)\|^2 / (2\sigma^2)) \, p(z)` (a normal latent:
:math:`p(z) \propto e^{-\|z\|^2 / 2}`; see :class:`PosteriorObjective` for the other laws) with
the engine's Langevin rule, problems :math:`\times` chains as one batch, and returns the images
:math:`G(z)` of the samples, their mean and their per-pixel standard deviation (an uncertainty map).
Registered as the method ``"langevin"`` (``recover`` then returns the posterior mean);
:func:`sample_posterior` is the full interface.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from .._convert import check_measurements, to_caller
from .._validation import check_float, check_int, describe
from ..latent import NormalLaw, latent_law_of
from ..likelihoods import get_likelihood
from .csgm import CSGMObjective
from .latent import Samples, optimize_latents
from .registry import register_method
from .settings import ENGINE_KEYS, renamed_arguments, report_precision, resolve

__all__ = ["PosteriorObjective", "PosteriorResult", "sample_posterior", "jacobian_norm"]


def jacobian_norm(G, A=None, num: int = 4, iterations: int = 20, seed: int = 0) -> float:
    r"""An estimate of :math:`\max_z \|A J_G(z)\|_2` (or :math:`\|J_G(z)\|_2`) over a few :math:`z` from the latent law.

    Power iteration on :math:`(AJ)^T (AJ)` with Jacobian-vector and vector-Jacobian products; with a
    random :math:`A` this is much smaller than :math:`\|A\|_2 \|J_G\|_2`, because :math:`A` acts on
    the :math:`k`-dimensional range of :math:`J_G` only.

    Parameters
    ----------
    G : ganprior.Generator
        The prior.
    A : ganprior.operators.LinearOperator, optional
        The operator (default: none, the norm of :math:`J_G` itself).
    num : int
        Latents tried.
    iterations : int
        Power iterations per latent.
    seed : int
        Seed of the latents and starting vectors.

    Returns
    -------
    float
    """
    gen = torch.Generator().manual_seed(seed)
    z = latent_law_of(G).sample((num, *G.latent_shape), gen).to(G.device, G.dtype)  # N(0, I) by default
    v = torch.randn(num, *G.latent_shape, generator=gen).to(G.device, G.dtype)
    best = 0.0
    with G.frozen():
        _, vjp = torch.func.vjp(G, z)
        for _ in range(iterations):
            v = v / v.flatten(1).norm(dim=1).clamp_min(1e-30).view(-1, *([1] * (v.ndim - 1)))
            _, jv = torch.func.jvp(G, (z,), (v,))
            if A is not None:
                u = A(jv.reshape(num, -1))
                back = A.adjoint(u).reshape(jv.shape)
            else:
                u, back = jv, jv
            (v,) = vjp(back)
            best = max(best, float(u.flatten(1).norm(dim=1).max()))
    return best


class PosteriorObjective(CSGMObjective):
    r"""The negative log posterior :math:`U(z) = -\log p(y \mid AG(z)) - \log p(z)`, annealed (tempered).

    For the default Gaussian model :math:`U_\sigma(z) = \|y - AG(z)\|^2 / (2\sigma^2) - \log p(z)`.

    Parameters
    ----------
    y : torch.Tensor
        Measurements ``(P, m)``.
    A : ganprior.operators.LinearOperator
        The operator.
    G : ganprior.Generator
        The prior (for the default step size).
    noise_std : float, optional
        :math:`\sigma > 0`, the standard deviation of each measurement's Gaussian noise (:class:`~ganprior.
        likelihoods.Gaussian`, :class:`~ganprior.likelihoods.Magnitude`; it may come from the model's own
        ``noise_std`` instead).  A model with no Gaussian noise (Poisson, sign) takes none.
    likelihood : None, str or ganprior.likelihoods.Likelihood, optional
        The measurement model (default Gaussian); settable afterwards as the attribute ``likelihood``
        (``recover`` does so), which configures the annealing again.  Its score must be a proper negative
        log-likelihood (:meth:`~ganprior.likelihoods.Likelihood.posterior_terms`: no hinge, no noiseless model).
    sigma_init : float, optional
        First level of the annealing, in the units of the model's noise scale :math:`s`
        (:meth:`~ganprior.likelihoods.Likelihood.posterior_terms`; :math:`s = \sigma` for the Gaussian models)
        (default :math:`\max(1, 10 s)`); the level decreases geometrically to :math:`s` over ``levels``
        levels of equal length.
    levels : int, optional
        Annealing levels, at most the steps of the solve (default :math:`\min(10, T)` for :math:`T` steps;
        1 = no annealing).
    step : float, optional
        Langevin step at the last level (default: :math:`0.2 / L_s` with
        :math:`L_\rho = \|A J_G\|^2 / \rho^2 + 1` the estimated curvature of :math:`U` at level :math:`\rho`,
        :func:`jacobian_norm`); the step at level :math:`\sigma_l` is
        :math:`\eta_l = \eta\, L_s / L_{\sigma_l}` (see the notes).

    Notes
    -----
    With the engine's ``"langevin"`` rule, each step is
    :math:`z \leftarrow z - \eta_l \nabla U_{\sigma_l}(z) + \sqrt{2\eta_l}\,\xi`, which for small
    steps samples :math:`p_{\sigma_l}(z \mid y) \propto e^{-U_{\sigma_l}(z)}`; the last level is the
    posterior.  The fit reported is the model's data term (:meth:`~ganprior.likelihoods.Likelihood.data_term`,
    :math:`\|y - AG(z)\|^2` for the Gaussian model).

    **Models.** Level :math:`\rho` samples :math:`\exp(-\mathrm{NLL}(y, AG(z)) (s/\rho)^2)\, p(z)`, the posterior
    tempered by :math:`(\rho/s)^2`, where :math:`\mathrm{NLL} = w \cdot` data term
    (:meth:`~ganprior.likelihoods.Likelihood.posterior_terms`) and :math:`1/s^2` bounds the curvature of one
    measurement's NLL in :math:`u = Ax` at its data (:meth:`~ganprior.likelihoods.Likelihood.posterior_terms`):
    :math:`s = \sigma` (Gaussian, magnitude: tempering is the Gaussian's :math:`\sigma \to \rho`, the
    formula above unchanged), :math:`s = 1/\phi` (Poisson: :math:`y_i/\lambda_i^2 \le 1` at
    :math:`\lambda_i = y_i \ge 1` in counts), :math:`s = 2/\text{scale}` (logistic sign model:
    :math:`\tfrac14\text{scale}^2` bounds its curvature everywhere).  So :math:`L_\rho` above holds for every model.

    The prior term is the generator's latent law (``G.latent``, :mod:`ganprior.latent`): :math:`-\log p(z) =
    \|z\|^2 / 2` for the normal law (the default), 0 for :math:`\mathrm{Unif}[-b, b]^k`, :math:`\|z\|^2 / 2`
    for the normal law truncated to :math:`[-t, t]^k`.  For a law on a box the chains start from the law and
    run **reflected** Langevin dynamics: after every step each coordinate is folded back into the box
    (:math:`z \mapsto -2b - z` below :math:`-b`, :math:`2b - z` above :math:`b`, repeated).  The reflected
    diffusion :math:`dz = \nabla \log p(z \mid y)\,dt + \sqrt 2\,dW`, reflected at the faces, has the
    posterior restricted to the box as its stationary law; and with no data term the reflected Gaussian step
    leaves :math:`\mathrm{Unif}[-b, b]^k` exactly invariant at any step size (folding is measure-preserving
    for the periodic extension of the uniform density), whereas clamping (projected Langevin) would pile
    mass onto the faces, atoms the law does not have.

    The step of level :math:`l` is the same fraction of its stability limit :math:`2 / L_{\sigma_l}` as
    :math:`\eta` is of :math:`2 / L_s`: with the default, :math:`\eta_l = 0.2 / L_{\sigma_l}`.  Where the
    data term dominates (:math:`\|AJ_G\| \gg \sigma_l`) this is the paper's
    :math:`\eta (\sigma_l / \sigma)^2`; where the prior's curvature 1 dominates (large :math:`\sigma`) the
    step no longer grows with :math:`\sigma_l^2`, which made the first levels diverge.  The levels split the
    ``steps`` into equal parts, so ``levels`` must be at most ``steps`` (each level at least one step, the last
    at :math:`s`).
    """

    #: The function named by the messages of a schedule that does not fit the steps.
    owner = "PosteriorObjective"

    def __init__(self, y, A, G, noise_std=None, *, likelihood=None, sigma_init=None, levels=None, step=None):
        owner = "PosteriorObjective"
        self._noise_std = None if noise_std is None else check_float(noise_std, "noise_std", minimum=0.0,
                                                                     strict=True, owner=owner)
        self._sigma_init = None if sigma_init is None else check_float(sigma_init, "sigma_init", minimum=0.0,
                                                                       strict=True, owner=owner)
        self.levels = None if levels is None else check_int(levels, "levels", minimum=1, owner=owner)
        self._step = None if step is None else check_float(step, "step", minimum=0.0, strict=True, owner=owner)
        self._G, self._jnorm = G, None
        super().__init__(y, A, 0.0, likelihood)  # sets self.likelihood: the setter configures the annealing

    @property
    def likelihood(self):
        """The measurement model (:class:`~ganprior.likelihoods.Likelihood`, with the noise level it samples)."""
        return self._likelihood

    @likelihood.setter
    def likelihood(self, model):
        model = get_likelihood(model, owner=self.owner)
        if model.additive_noise:  # the noise level: noise_std, or the model's own
            own = model.noise_std
            if self._noise_std is not None and own not in (0.0, self._noise_std):
                raise ValueError(f"The 'noise_std' parameter of {self.owner} ({self._noise_std}) and the "
                                 f"likelihood's own noise_std ({own}) differ: give one of them.")
            if self._noise_std is not None and own != self._noise_std:
                model = dataclasses.replace(model, noise_std=self._noise_std)
        elif self._noise_std is not None:
            raise ValueError(f"The 'noise_std' parameter of {self.owner} is the standard deviation of Gaussian "
                             f"noise, which likelihood={model.name!r} has none of: leave it unset (the model's "
                             f"noise scale, {model.posterior_terms(self.owner)[0]:g}, sets the steps).")
        self._likelihood = model
        if model.additive_noise and model.noise_std == 0.0:  # no level yet: refused at the first step
            self.noise_std = self.scale = None
            return
        self.scale, weight = model.posterior_terms(self.owner)  # also refuses a score that is no likelihood (hinge)
        self.noise_std = self.scale if model.additive_noise else None
        # the data term times k / rho^2 is the NLL tempered at level rho (k = s^2 w: 1/2 for the Gaussian models)
        self._weight = self.scale * self.scale * weight
        default_init = max(1.0, 10.0 * self.scale)
        self.sigma_init = default_init if self._sigma_init is None else self._sigma_init
        if self.sigma_init < self.scale:
            what = "noise_std" if model.additive_noise else f"the model's noise scale"
            raise ValueError(f"The 'sigma_init' parameter of {self.owner} must be >= {what} ({self.scale}). "
                             f"Got {self.sigma_init} instead.")
        annealed = self.levels != 1 and self.sigma_init > self.scale
        # ||A J_G||: needed by the default step and by the step of every level above the last
        if self._jnorm is None and (self._step is None or annealed):
            self._jnorm = jacobian_norm(self._G, self.A)
        self.jnorm = 0.0 if self._jnorm is None else self._jnorm
        self.step = 0.2 / self._curvature(self.scale) if self._step is None else self._step
        self.sigma = self.scale

    def _curvature(self, sigma):
        # L_s = ||A J_G||^2 / s^2 + 1 (a product, not a power: no OverflowError for a tiny s)
        return (self.jnorm / sigma) * (self.jnorm / sigma) + 1.0

    def levels_for(self, steps):
        r"""The annealing levels of a solve of ``steps`` steps: ``levels``, or :math:`\min(10, T)` by default.

        Parameters
        ----------
        steps : int
            :math:`T`, the steps of the solve.

        Returns
        -------
        int
        """
        return min(10, steps) if self.levels is None else self.levels

    def _sigma_at(self, t, steps):
        levels = self.levels_for(steps)
        if levels == 1:
            return self.scale
        level = min(levels - 1, t * levels // steps)
        return self.sigma_init * (self.scale / self.sigma_init) ** (level / (levels - 1))

    def step_scale(self, t, steps):
        # the Langevin step eta_l = eta L_sigma / L_sigma_l at level l (the engine's lr is 1); the engine asks for
        # step 0 before any work, where a schedule whose last step is not at sigma is refused
        if t == 0 and self.scale is None:
            raise ValueError(self._missing_noise())
        if t == 0 and self.levels_for(steps) > steps:
            raise ValueError(f"The 'levels' parameter of {self.owner} must be <= steps = {steps} (each annealing "
                             f"level takes at least one step, and the last is the posterior's, at noise_std). Got "
                             f"{self.levels} instead: pass levels={steps} or fewer, or more steps.")
        return self.step * self._curvature(self.scale) / self._curvature(self._sigma_at(t, steps))

    def _missing_noise(self):
        name = self.likelihood.name
        if self.owner == "recover":
            return ("method='langevin' of recover needs 'noise_std' (the standard deviation of each measurement's "
                    f"noise under likelihood={name!r}: the posterior depends on it). Got none.")
        return (f"The 'noise_std' parameter of {self.owner} is needed with likelihood={name!r} (the standard "
                "deviation of each measurement's Gaussian noise: the posterior depends on it), as the argument or "
                "the model's own noise_std. Got none.")

    def on_step(self, t, steps):
        self.sigma = self._sigma_at(t, steps)

    def __call__(self, x, z, rows):
        fit, _ = super().__call__(x, z, rows)
        if self.likelihood.gaussian:  # the Gaussian model's own formula (bitwise what it always was)
            return fit, fit / (2.0 * self.sigma * self.sigma) + 0.5 * self.latent_penalty(z)
        return fit, self._weight * fit / (self.sigma * self.sigma) + 0.5 * self.latent_penalty(z)

    def project_state(self, state):
        """Keep the chains in the latent law's support: reflect them into a box law's box (see the notes).

        Parameters
        ----------
        state : dict of str to torch.Tensor
            The rows' state, modified in place.
        """
        law = self.latent_law
        if law is None or type(law) is NormalLaw or law.bound is None or "z" not in state:
            super().project_state(state)
            return
        self.project(state["z"])
        _reflect_(state["z"], law.bound)


def _reflect_(z, b):
    """Fold ``z`` into ``[-b, b]`` in place by reflection at the faces (the reflection of a periodic extension)."""
    w = torch.remainder(z + b, 4.0 * b)  # in [0, 4b): [0, 2b] maps to itself, (2b, 4b) is reflected
    z.copy_(torch.where(w > 2.0 * b, 4.0 * b - w, w) - b)


@dataclass
class PosteriorResult:
    """What :func:`sample_posterior` returns, in the caller's type; for one problem the leading axis is dropped.

    Attributes
    ----------
    samples : array
        Images :math:`G(z)` of the samples, ``(P, S, *image_shape)``.
    mean : array
        Their mean per problem, ``(P, *image_shape)`` (the posterior-mean estimate).
    std : array
        Their per-pixel standard deviation, ``(P, *image_shape)`` (the uncertainty map).
    wall_time : float
        Seconds.
    info : dict
        The settings used.
    """

    samples: object
    mean: object
    std: object
    wall_time: float
    info: dict = field(default_factory=dict)


#: The old names of :func:`sample_posterior`'s arguments (they still work, with a FutureWarning).
_RENAMED = {"num_samples": "restarts", "step": "lr", "chunk_size": "row_chunk"}


def sample_posterior(y, A, G, noise_std=None, restarts=None, *, steps=None, lr=None, levels=None, sigma_init=None,
                     seed=None, row_chunk=None, precision=None, memory_format=None, latent_shape=None,
                     progress=False, likelihood=None, **deprecated):
    r"""Sample the posterior of the image given measurements of :math:`Ax`, with a GAN prior (annealed Langevin).

    Parameters
    ----------
    y : numpy.ndarray or torch.Tensor
        One problem ``(m,)`` or a batch ``(P, m)``.
    A : LinearOperator, numpy.ndarray or torch.Tensor
        The ``(m, n)`` operator.
    G : Generator, torch.nn.Module or str
        The prior.
    noise_std : float, optional
        :math:`\sigma > 0`: the standard deviation of each measurement's Gaussian noise
        (:math:`\|\eta\| \approx \sigma\sqrt m`), for the Gaussian and magnitude models (required there,
        unless the model given carries its own ``noise_std``); the Poisson and sign models take none.
    restarts : int, optional
        Chains per problem, at least 2 (the standard deviation of one sample is undefined); each chain's last
        iterate is one sample (default 16; ``restarts`` as in :func:`~ganprior.recover`, whose restarts are
        the chains of ``method="langevin"``).
    steps : int, optional
        Langevin steps per chain, all levels together (default 1000).
    lr : float, optional
        :math:`\eta`, the Langevin step at the last level (default :math:`0.2 / L_\sigma`; see
        :class:`PosteriorObjective`, whose ``step`` it is).
    levels, sigma_init
        The annealing (see :class:`PosteriorObjective`); ``levels`` must be at most ``steps``.
    seed : None, int, torch.Generator or sequence of P seeds
        Seeds the chains' starts and their noise; one seed per problem makes a batch give the same
        samples as separate calls.
    row_chunk : int, optional
        Rows (problems x chains) run at once.
    precision : {"fp32", "bf16", "auto"}, optional
        Generator precision (default fp32; ``"auto"``: bf16 where the device computes it natively, else fp32);
        what ran is ``info["precision"]``, and why ``info["precision_reason"]``.
    memory_format : {"auto", "channels_last", "contiguous"}, optional
        The generator's layout (see :func:`~ganprior.optimize_latents`).
    latent_shape : int or tuple, optional
        For a bare module ``G``.
    progress : bool
        Show a progress bar.
    likelihood : None, str or ganprior.likelihoods.Likelihood, optional
        The measurement model (:mod:`ganprior.likelihoods`; default Gaussian): ``"gaussian"``,
        ``"magnitude"``, ``"poisson"``, or ``Sign(loss="logistic", scale=s)``.  The hinge of ``"sign"`` (its
        default) is refused: it is no likelihood (see the notes).
    **deprecated
        The old names ``num_samples`` (now ``restarts``), ``step`` (now ``lr``) and ``chunk_size`` (now
        ``row_chunk``): they work, with a
        FutureWarning the first time each is used.

    Returns
    -------
    PosteriorResult
        ``samples``, ``mean``, ``std`` in the caller's type.

    Raises
    ------
    TypeError, ValueError
        On bad input, before any work (``levels > steps`` included; measurements the model cannot produce; a
        model whose score is not a proper negative log-likelihood).
    FloatingPointError
        If a chain diverges (lower ``lr``; the default step is bounded at every level by the curvature
        estimate of :class:`PosteriorObjective`, so this needs a generator far from linear).

    Notes
    -----
    The target is :math:`p(z \mid y) \propto \exp(-\mathrm{NLL}(y, AG(z))) \, p(z)`, with
    :math:`p(z) \propto e^{-\|z\|^2/2}` for a normal latent and, for :math:`u = AG(z)`,

    - Gaussian: :math:`\mathrm{NLL} = \|y - u\|^2/(2\sigma^2)`, the posterior of a Gaussian latent under
      Gaussian measurement noise (the samples are bitwise those of the code before the models);
    - magnitude: :math:`\mathrm{NLL} = \|y - |u|\|^2/(2\sigma^2)` (Gaussian noise on :math:`|Ax|`);
      multimodal: :math:`x` and :math:`-x` (any :math:`G(z')` with the same magnitudes) are equally likely;
    - Poisson: :math:`\mathrm{NLL} = \sum_i \lambda_i - y_i\log\lambda_i` + const,
      :math:`\lambda = \phi u`, whose :math:`\exp(-\cdot)` is the Poisson likelihood wherever every rate
      :math:`\lambda_i \ge f` (the ``floor``); below it the NLL is continued by its quadratic
      (:class:`~ganprior.likelihoods.Poisson`), so the law sampled is the Poisson posterior with rates allowed
      about :math:`\sqrt f` below :math:`f` (for a zero count) instead of a hard wall at 0: proper (the
      continued NLL is convex in :math:`\lambda` and bounded below), and the Poisson posterior itself when
      :math:`G` and :math:`A \ge 0` render rates above :math:`f`;
    - sign, logistic link with known scale :math:`s`: :math:`\mathrm{NLL} = \sum_i \log(1 + e^{-s y_i u_i})`,
      the model :math:`P(y_i = \pm 1 \mid u) = 1/(1 + e^{\mp s u_i})`.  Its measurements differ from
      :meth:`~ganprior.likelihoods.Sign.sample`'s (exact signs, flipped at random): with :math:`s` large the
      two agree where :math:`|u_i| \gg 1/s`.  The hinge :math:`\max(0, -y_i u_i)` is refused:
      :math:`e^{-\text{hinge}}` does not sum to 1 over :math:`y_i = \pm 1` (it is a consistency loss of a
      noiseless model, whose "posterior" is the prior restricted to a cone, with no gradient to follow).

    Each is a proper density in :math:`z` (the likelihood is bounded, the prior proper).  The annealing
    tempers the likelihood, :math:`\exp(-\mathrm{NLL}\,(s/\rho)^2)\,p(z)` at level :math:`\rho`, and the
    steps follow the curvature :math:`\|AJ_G\|^2/\rho^2 + 1`, where :math:`1/s^2` bounds one measurement's
    curvature at its data (:meth:`~ganprior.likelihoods.Likelihood.posterior_terms`: :math:`\sigma`,
    :math:`\sigma`, :math:`1/\phi`, :math:`2/s`); see :class:`PosteriorObjective`.  For Poisson the bound
    is the curvature :math:`y_i/\lambda_i^2 = 1/y_i \le 1` at :math:`\lambda_i = y_i` (counts
    :math:`\ge 1`), not the global :math:`\max(y_i, f)/f^2`, which would make the steps :math:`10^6` times
    smaller; chains far below their counts are tempered by the first levels.  The per-pixel standard
    deviation of the samples is the uncertainty of the reconstruction *under the prior*; it is
    small where every image the prior can make agrees, whatever the truth.

    The engine settings left unset come from the row ``"posterior"`` of
    :data:`~ganprior.solvers.settings.DEFAULTS` (:func:`~ganprior.solvers.settings.resolve`);
    ``info["settings"]`` and ``info["source"]`` report them as :func:`~ganprior.recover` does.
    """
    owner = "sample_posterior"
    given = {"restarts": restarts, "steps": steps, "lr": lr, "row_chunk": row_chunk, "precision": precision,
             "memory_format": memory_format}
    renamed_arguments(owner, deprecated, _RENAMED, into=given)
    # the messages name an argument as the caller spelled it
    spelled = {new: old if old in deprecated else new for old, new in _RENAMED.items()}
    check_measurements(y, "y", owner)
    model = get_likelihood(likelihood, owner=owner)
    model.check(y, owner)
    if given["restarts"] is not None:
        check_int(given["restarts"], spelled["restarts"], minimum=2, owner=owner)
    if given["lr"] is not None:
        check_float(given["lr"], spelled["lr"], minimum=0.0, strict=True, owner=owner)
    config, _, source = resolve("posterior", given, owner=owner)
    steps = config.steps
    if levels is not None and check_int(levels, "levels", minimum=1, owner=owner) > steps:
        raise ValueError(f"The 'levels' parameter of {owner} must be <= steps = {steps} (each annealing level takes "
                         f"at least one step, and the last is the posterior's, at noise_std). Got {levels} instead: "
                         f"pass levels={steps} or fewer, or more steps.")
    if not isinstance(progress, bool):
        raise TypeError(f"The 'progress' parameter of {owner} must be a bool. Got {describe(progress)} instead.")
    from .recovery import latent_inputs

    G, op, y_t = latent_inputs(y, A, G, latent_shape, owner)
    # the step is the objective's (it anneals it); the engine multiplies it by its lr, 1
    objective = PosteriorObjective(y_t, op, G, noise_std, sigma_init=sigma_init, levels=levels, step=config.lr)
    objective.owner = owner
    objective.likelihood = model  # its messages name sample_posterior
    if objective.scale is None:
        raise ValueError(objective._missing_noise())
    try:
        res = optimize_latents(objective, G, y_t.shape[0], **config.replace(lr=1.0).settings(), seed=seed,
                               reduce=Samples(burn_in=steps), progress=progress)
    except FloatingPointError as err:  # the engine's advice is about its own lr, 1 here
        given = "" if config.lr is None else " given"
        raise FloatingPointError(f"{owner}: a chain produced a non-finite loss (it diverged); lower "
                                 f"'{spelled['lr']}' (the"
                                 f"{given} Langevin step at the last level, {objective.step:.3g}) or check y, A and "
                                 "the model's noise level.") from err
    samples = res.samples  # (P, restarts, *image_shape): the last iterate of every chain
    squeeze = y.ndim == 1
    settings = {**config.settings(ENGINE_KEYS), "lr": objective.step}
    if config.lr is None:
        source["lr"] = "default (0.2 / L at noise_std: PosteriorObjective)"
    source = {k: v for k, v in source.items() if k in ENGINE_KEYS}
    report_precision(settings, source, res.info)
    info = {"noise_std": objective.noise_std, "restarts": config.restarts, "steps": steps,
            "levels": objective.levels_for(steps), "sigma_init": objective.sigma_init, "lr": objective.step,
            **res.info, "settings": settings, "source": source}
    if not model.gaussian:
        info["likelihood"] = objective.likelihood.describe()
        info["noise_scale"] = objective.scale
    std = samples.std(dim=1)
    return PosteriorResult(samples=to_caller(samples, y, squeeze), mean=to_caller(samples.mean(dim=1), y, squeeze),
                           std=to_caller(std, y, squeeze), wall_time=res.wall_time, info=info)


def _build(y, A, G, noise_std=None, levels=None):
    """The ``"langevin"`` entry's objective: the posterior needs the noise level, there is no default for it (a
    Gaussian or magnitude model without ``noise_std`` is refused at the first step, once ``recover`` has set the
    model: a Poisson or sign model takes none)."""
    objective = PosteriorObjective(y, A, G, noise_std, levels=levels)
    objective.owner = "recover"
    return objective


register_method(
    "langevin", _build, kind="latent",
    summary="posterior mean by annealed Langevin dynamics on z (restarts = chains); sample_posterior gives the "
            "samples and a per-pixel uncertainty map",
    types={"noise_std": float, "levels": int}, reference="Jalal, Karmalkar, Dimakis, Price, ICML 2021",
    engine={"optimizer": "langevin", "lr": 1.0, "schedule": "constant", "steps": 1000, "restarts": 16,
            "reduce": "samples"},
    fixed=("optimizer", "schedule", "select"),  # the annealing sets the step, every chain is a sample
    # non-convex: a few chains lag.  Under the other models: the sign model with its logistic link (the hinge is no
    # likelihood), no Gaussian noise level for counts or signs, and 100 photons (the step's bound is the curvature at
    # a count of 1: at 10^4 photons, counts ~5000, 1500 steps leave a relative error of 0.03-0.04)
    contract={"noise_std": 1e-3, "tol": 0.3, "lr": 1.0, "steps": 1500,
              "models": {"sign": {"loss": "logistic"}, "poisson": {"photons": 100.0}},
              "options_under": {"poisson": {"noise_std": None}, "sign": {"noise_std": None}}},
    likelihoods=("gaussian", "magnitude", "sign", "poisson"),  # a proper posterior under each (sign: logistic link)
)
