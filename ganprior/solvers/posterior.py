r"""Posterior sampling by annealed Langevin dynamics in the latent space (Jalal et al., ICML 2021).

Samples :math:`z \sim p(z \mid y) \propto \exp(-\|y - AG(z)\|^2 / (2\sigma^2)) \, p(z)` (a normal latent:
:math:`p(z) \propto e^{-\|z\|^2 / 2}`; see :class:`PosteriorObjective` for the other laws) with
the engine's Langevin rule, problems :math:`\times` chains as one batch, and returns the images
:math:`G(z)` of the samples, their mean and their per-pixel standard deviation (an uncertainty map).
Registered as the method ``"langevin"`` (``recover`` then returns the posterior mean);
:func:`sample_posterior` is the full interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .._convert import check_measurements, to_caller
from .._validation import check_float, check_int, describe
from ..latent import NormalLaw, latent_law_of
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
    r"""The negative log posterior :math:`U_\sigma(z) = \|y - AG(z)\|^2 / (2\sigma^2) - \log p(z)`, annealed.

    Parameters
    ----------
    y : torch.Tensor
        Measurements ``(P, m)``.
    A : ganprior.operators.LinearOperator
        The operator.
    G : ganprior.Generator
        The prior (for the default step size).
    noise_std : float
        :math:`\sigma > 0`, the standard deviation of each measurement's noise.
    sigma_init : float, optional
        First level of the annealing (default :math:`\max(1, 10\sigma)`); :math:`\sigma` decreases
        geometrically to ``noise_std`` over ``levels`` levels of equal length.
    levels : int, optional
        Annealing levels, at most the steps of the solve (default :math:`\min(10, T)` for :math:`T` steps;
        1 = no annealing).
    step : float, optional
        Langevin step at the last level (default: :math:`0.2 / L_\sigma` with
        :math:`L_s = \|A J_G\|^2 / s^2 + 1` the estimated curvature of :math:`U_s`,
        :func:`jacobian_norm`); the step at level :math:`\sigma_l` is
        :math:`\eta_l = \eta\, L_\sigma / L_{\sigma_l}` (see the notes).

    Notes
    -----
    With the engine's ``"langevin"`` rule, each step is
    :math:`z \leftarrow z - \eta_l \nabla U_{\sigma_l}(z) + \sqrt{2\eta_l}\,\xi`, which for small
    steps samples :math:`p_{\sigma_l}(z \mid y) \propto e^{-U_{\sigma_l}(z)}`; the last level is the
    posterior.  The fit reported is the measurement error :math:`\|y - AG(z)\|^2`.

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
    :math:`\eta` is of :math:`2 / L_\sigma`: with the default, :math:`\eta_l = 0.2 / L_{\sigma_l}`.  Where the
    data term dominates (:math:`\|AJ_G\| \gg \sigma_l`) this is the paper's
    :math:`\eta (\sigma_l / \sigma)^2`; where the prior's curvature 1 dominates (large :math:`\sigma`) the
    step no longer grows with :math:`\sigma_l^2`, which made the first levels diverge.  The levels split the
    ``steps`` into equal parts, so ``levels`` must be at most ``steps`` (each level at least one step, the last
    at :math:`\sigma`).
    """

    #: The function named by the messages of a schedule that does not fit the steps.
    owner = "PosteriorObjective"

    def __init__(self, y, A, G, noise_std, *, sigma_init=None, levels=None, step=None):
        super().__init__(y, A, 0.0)
        owner = "PosteriorObjective"
        self.noise_std = check_float(noise_std, "noise_std", minimum=0.0, strict=True, owner=owner)
        default_init = max(1.0, 10.0 * self.noise_std)
        self.sigma_init = default_init if sigma_init is None else check_float(
            sigma_init, "sigma_init", minimum=0.0, strict=True, owner=owner)
        if self.sigma_init < self.noise_std:
            raise ValueError(f"The 'sigma_init' parameter of {owner} must be >= noise_std ({self.noise_std}). "
                             f"Got {self.sigma_init} instead.")
        self.levels = None if levels is None else check_int(levels, "levels", minimum=1, owner=owner)
        annealed = self.levels != 1 and self.sigma_init > self.noise_std
        # ||A J_G||: needed by the default step and by the step of every level above the last
        self.jnorm = jacobian_norm(G, A) if step is None or annealed else 0.0
        self.step = 0.2 / self._curvature(self.noise_std) if step is None else check_float(
            step, "step", minimum=0.0, strict=True, owner=owner)
        self.sigma = self.noise_std

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
            return self.noise_std
        level = min(levels - 1, t * levels // steps)
        return self.sigma_init * (self.noise_std / self.sigma_init) ** (level / (levels - 1))

    def step_scale(self, t, steps):
        # the Langevin step eta_l = eta L_sigma / L_sigma_l at level l (the engine's lr is 1); the engine asks for
        # step 0 before any work, where a schedule whose last step is not at sigma is refused
        if t == 0 and self.levels_for(steps) > steps:
            raise ValueError(f"The 'levels' parameter of {self.owner} must be <= steps = {steps} (each annealing "
                             f"level takes at least one step, and the last is the posterior's, at noise_std). Got "
                             f"{self.levels} instead: pass levels={steps} or fewer, or more steps.")
        return self.step * self._curvature(self.noise_std) / self._curvature(self._sigma_at(t, steps))

    def on_step(self, t, steps):
        self.sigma = self._sigma_at(t, steps)

    def __call__(self, x, z, rows):
        fit, _ = super().__call__(x, z, rows)
        return fit, fit / (2.0 * self.sigma * self.sigma) + 0.5 * self.latent_penalty(z)

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


def sample_posterior(y, A, G, noise_std, restarts=None, *, steps=None, lr=None, levels=None, sigma_init=None,
                     seed=None, row_chunk=None, precision=None, memory_format=None, latent_shape=None,
                     progress=False, **deprecated):
    r"""Sample the posterior of the image given linear measurements, with a GAN prior (annealed Langevin).

    Parameters
    ----------
    y : numpy.ndarray or torch.Tensor
        One problem ``(m,)`` or a batch ``(P, m)``.
    A : LinearOperator, numpy.ndarray or torch.Tensor
        The ``(m, n)`` operator.
    G : Generator, torch.nn.Module or str
        The prior.
    noise_std : float
        :math:`\sigma > 0`: the standard deviation of each measurement's noise
        (:math:`\|\eta\| \approx \sigma\sqrt m`).
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
        On bad input, before any work (``levels > steps`` included).
    FloatingPointError
        If a chain diverges (lower ``lr``; the default step is bounded at every level by the curvature
        estimate of :class:`PosteriorObjective`, so this needs a generator far from linear).

    Notes
    -----
    The target is :math:`p(z \mid y) \propto \exp(-\|y - AG(z)\|^2/(2\sigma^2) - \|z\|^2/2)`, the
    posterior of a Gaussian latent under Gaussian measurement noise.  The per-pixel standard
    deviation of the samples is the uncertainty of the reconstruction *under the prior*; it is
    small where every image the prior can make agrees, whatever the truth.

    The engine settings left unset come from the row ``"posterior"`` of
    :data:`~ganprior.solvers.settings.DEFAULTS` (:func:`~ganprior.solvers.settings.resolve`);
    ``info["settings"]`` and ``info["source"]`` report them as :func:`~ganprior.recover` does.
    """
    owner = "sample_posterior"
    given = {"restarts": restarts, "steps": steps, "lr": lr, "row_chunk": row_chunk, "precision": precision,
             "memory_format": memory_format}
    spelled = {new: new for new in _RENAMED.values()}  # the messages name an argument as the caller spelled it
    for new, value in renamed_arguments(owner, deprecated, _RENAMED).items():
        spelled[new] = next(old for old, v in _RENAMED.items() if v == new)
        if given[new] is not None:
            raise TypeError(f"{owner}() got '{new}' and its old name '{spelled[new]}'; give '{new}' only.")
        given[new] = value
    check_measurements(y, "y", owner)
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
    try:
        res = optimize_latents(objective, G, y_t.shape[0], **config.replace(lr=1.0).settings(), seed=seed,
                               reduce=Samples(burn_in=steps), progress=progress)
    except FloatingPointError as err:  # the engine's advice is about its own lr, 1 here
        given = "" if config.lr is None else " given"
        raise FloatingPointError(f"{owner}: a chain produced a non-finite loss (it diverged); lower "
                                 f"'{spelled['lr']}' (the"
                                 f"{given} Langevin step at the last level, {objective.step:.3g}) or check y, A and "
                                 "noise_std.") from err
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
    std = samples.std(dim=1)
    return PosteriorResult(samples=to_caller(samples, y, squeeze), mean=to_caller(samples.mean(dim=1), y, squeeze),
                           std=to_caller(std, y, squeeze), wall_time=res.wall_time, info=info)


def _build(y, A, G, noise_std=None, levels=None):
    """The ``"langevin"`` entry's objective: the posterior needs the noise level, there is no default for it."""
    if noise_std is None:
        raise ValueError("method='langevin' of recover needs 'noise_std' (the standard deviation of each "
                         "measurement's noise: the posterior depends on it). Got none.")
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
    contract={"noise_std": 1e-3, "tol": 0.3, "lr": 1.0, "steps": 1500},  # non-convex: a few chains lag
)
