r"""Semantic inpainting (Yeh et al., CVPR 2017) as an objective on the latent engine.

:func:`inpaint` finds the latent whose image best matches the known pixels
(contextual loss, weighted towards the hole's rim by
:func:`ganprior.inpainting.weighted_mask`) while looking real to a
discriminator (perceptual loss), then blends :math:`G(\hat z)` into the known
pixels (Poisson blending by default).  The search is
:class:`InpaintingObjective` run by
:func:`~ganprior.solvers.latent.optimize_latents`; there is no second loop.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .._convert import as_generator, same_device, to_caller
from .._validation import check_choice, check_float, describe
from ..generator import Discriminator, Generator
from ..solvers.latent import optimize_latents
from ..solvers.objective import LatentObjective
from ..solvers.settings import DEFAULTS, ENGINE_KEYS, merge_renamed, prior_recipe, report_precision, resolve
from . import blending as _blending
from .masks import rim_weights, weighted_mask
from .options import OPTION_NAMES, PERCEPTUAL, check_window

__all__ = ["PERCEPTUAL", "INPAINT_DEFAULTS", "INPAINT_OPTIONS", "InpaintResult", "InpaintingObjective", "inpaint"]

#: Engine settings of ``inpaint`` for a generator without a recipe (the budget of our inpainting benchmarks): a
#: view of ``DEFAULTS["inpaint"]`` (:data:`ganprior.solvers.settings.DEFAULTS`).
INPAINT_DEFAULTS = DEFAULTS["inpaint"].settings(ENGINE_KEYS)
logger = logging.getLogger(__name__)


def _check_discriminator(D, owner):
    if D is None or isinstance(D, Discriminator):
        return D
    if isinstance(D, str):
        from ..priors import load_discriminator

        return load_discriminator(D)
    if isinstance(D, torch.nn.Module) and not isinstance(D, Generator):
        return Discriminator(D)
    raise TypeError(f"The 'D' parameter of {owner} must be None, a ganprior.Discriminator, a torch.nn.Module "
                    f"returning logits or a bundled prior name. Got {describe(D)} instead.")


class InpaintingObjective(LatentObjective):
    r"""Per-image loss of semantic inpainting: weighted contextual :math:`\ell_1` plus perceptual loss.

    Parameters
    ----------
    y : torch.Tensor
        Observed images ``(P, C, H, W)``; only the known pixels are used.
    mask : torch.Tensor
        Known-pixel masks, 0/1, ``(P, C, H, W)`` or ``(P, 1, H, W)``, on the
        device and in the dtype of ``y``.
    D : ganprior.Discriminator, optional
        Logits :math:`\ell(x)` of real vs generated; ``None`` turns the
        perceptual term off.  Run the solve inside ``D.frozen()`` so no
        gradient reaches its weights (:func:`inpaint` does).
    perceptual_weight : float
        :math:`\lambda \ge 0`, weight of the perceptual loss (default 0.003).
    window : int
        Odd side of the window of :func:`weighted_mask` (default 7).
    perceptual : {"minimax", "non-saturating"}
        :math:`\log(1 - D(G(z)))` (default, the paper's) or :math:`-\log D(G(z))`.
    z_bound : float or None
        Latents are clipped to :math:`[-b, b]` after every step (default 1);
        ``None`` leaves them free.

    Notes
    -----
    For problem :math:`p` with known pixels :math:`y_p`, mask :math:`M_p` and
    weights :math:`W_p` (:func:`weighted_mask`),

    .. math:: L_p(z) = \|W_p \odot (G(z) - y_p)\|_1 + \lambda\, L_{\mathrm{perc}}(z),

    with :math:`L_{\mathrm{perc}} = \log(1 - \sigma(\ell)) = -\mathrm{softplus}(\ell)`
    or :math:`-\log \sigma(\ell) = \mathrm{softplus}(-\ell)`, :math:`\ell = D(G(z))`,
    both computed stably from the logit.  The contextual term is the ``fit``
    handed to the engine; ``total`` is :math:`L_p`.  :meth:`project` clips
    :math:`z` to the box (projected gradient descent, as in the paper).

    Examples
    --------
    >>> import torch
    >>> from ganprior.inpainting import InpaintingObjective
    >>> y, m = torch.ones(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    >>> m[..., 1:3, 1:3] = 0
    >>> obj = InpaintingObjective(y, m, window=3)
    >>> fit, total = obj(torch.zeros(2, 1, 4, 4), torch.zeros(2, 3), torch.tensor([0, 0]))
    >>> fit
    tensor([2.2222, 2.2222])
    """

    def __init__(self, y, mask, D=None, *, perceptual_weight=0.003, window=7, perceptual="minimax", z_bound=1.0):
        owner = "InpaintingObjective"
        for name, t in (("y", y), ("mask", mask)):
            if not isinstance(t, torch.Tensor) or t.ndim != 4 or not t.is_floating_point():
                raise TypeError(f"The '{name}' parameter of {owner} must be a floating torch.Tensor of shape "
                                f"(P, C, H, W). Got {describe(t)} instead.")
        P, C, H, W = y.shape
        if mask.shape not in ((P, C, H, W), (P, 1, H, W)):
            raise ValueError(f"Shape mismatch: the 'mask' parameter of {owner} must have shape {(P, C, H, W)} or "
                             f"{(P, 1, H, W)}. Got {tuple(mask.shape)} instead.")
        if bool(((mask != 0) & (mask != 1)).any()):
            raise ValueError(f"The 'mask' parameter of {owner} must hold only 0 (missing) and 1 (known).")
        self.perceptual_weight = check_float(perceptual_weight, "perceptual_weight", minimum=0.0, owner=owner)
        self.window = check_window(window, owner)
        self.perceptual = check_choice(perceptual, "perceptual", PERCEPTUAL, owner=owner)
        if z_bound is not None:
            z_bound = check_float(z_bound, "z_bound", minimum=0.0, strict=True, owner=owner)
        self.z_bound = z_bound
        self.D = _check_discriminator(D, owner)
        self.mask = mask.to(y.dtype)
        self.y = torch.where(self.mask.bool(), y, torch.zeros((), dtype=y.dtype, device=y.device))
        self.weight = rim_weights(self.mask, self.window)

    @property
    def uses_perceptual(self) -> bool:
        """Whether the perceptual term is on (a discriminator and :math:`\\lambda > 0`)."""
        return self.D is not None and self.perceptual_weight > 0.0

    def perceptual_loss(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`L_{perc}` per row from the discriminator's logits, computed stably.

        Parameters
        ----------
        x : torch.Tensor
            Images ``(B, C, H, W)``.

        Returns
        -------
        torch.Tensor
            Shape ``(B,)``: :math:`-\mathrm{softplus}(\ell)` or :math:`\mathrm{softplus}(-\ell)`.
        """
        logit = self.D(x.to(self.D.dtype)).to(x.dtype)
        return -F.softplus(logit) if self.perceptual == "minimax" else F.softplus(-logit)

    def __call__(self, x, z, rows):
        contextual = ((x - self.y[rows]) * self.weight[rows]).abs().flatten(1).sum(dim=1)
        if not self.uses_perceptual:
            return contextual, contextual
        return contextual, contextual + self.perceptual_weight * self.perceptual_loss(x)

    def project(self, z):
        """Clip the latents to :math:`[-b, b]` in place (nothing when ``z_bound`` is None).

        Parameters
        ----------
        z : torch.Tensor
            Latents ``(B, *latent_shape)``, modified in place.
        """
        if self.z_bound is not None:
            z.clamp_(-self.z_bound, self.z_bound)


def _own_defaults() -> dict:
    """The defaults of inpainting's own arguments (:data:`~ganprior.inpainting.options.OPTION_NAMES`), from the
    signatures that use them (not restated)."""
    objective = inspect.signature(InpaintingObjective.__init__).parameters
    blend = inspect.signature(_blending.blend).parameters["method"]
    return {k: (blend if k == "blend" else objective[k]).default for k in OPTION_NAMES}


#: Inpainting's own arguments and their defaults (those of :class:`InpaintingObjective` and
#: :func:`ganprior.inpainting.blend`): what a prior's ``inpaint`` recipe may set besides the engine settings, and
#: what :func:`inpaint` takes from it when the caller leaves them unset.
INPAINT_OPTIONS = _own_defaults()


class _Unset:
    """The default of ``inpaint``'s ``z_bound``, for which None is a value (no box)."""

    def __repr__(self):
        return "unset"


_UNSET = _Unset()


def _check_options(options: dict, owner: str) -> dict:
    """Check inpainting's own arguments (those present) as :class:`InpaintingObjective` and ``blend`` do."""
    out = dict(options)
    if options.get("perceptual_weight") is not None:
        out["perceptual_weight"] = check_float(options["perceptual_weight"], "perceptual_weight", minimum=0.0,
                                               owner=owner)
    if options.get("window") is not None:
        out["window"] = check_window(options["window"], owner)
    if options.get("perceptual") is not None:
        check_choice(options["perceptual"], "perceptual", PERCEPTUAL, owner=owner)
    if options.get("blend") is not None:
        check_choice(options["blend"], "blend", _blending.BLEND_METHODS, owner=owner)
    if options.get("z_bound") is not None:
        out["z_bound"] = check_float(options["z_bound"], "z_bound", minimum=0.0, strict=True, owner=owner)
    return out


@dataclass
class InpaintResult:
    """What :func:`inpaint` returns with ``return_result=True``, in the caller's type.

    For one image the leading problem axis is dropped.

    Attributes
    ----------
    x : array
        The blended images.
    generated : array
        :math:`G(\\hat z)` before blending.
    z : array
        Chosen latents.
    contextual_loss : array
        :math:`\\|W \\odot (G(\\hat z) - y)\\|_1` per image.
    perceptual_loss : array
        :math:`\\lambda L_{perc}(\\hat z)` per image (0 when the term is off).
    loss : array
        Their sum, the minimised loss.
    restart : array
        Index of the chosen candidate per image.
    history : array
        Loss per image, candidate and step, ``(P, R, steps)``.
    steps : array
        Steps each candidate ran.
    wall_time : float
        Seconds of the latent search (blending excluded).
    info : dict
        The settings used, ``"perceptual"`` says whether the term was on.
    """

    x: object
    generated: object
    z: object
    contextual_loss: object
    perceptual_loss: object
    loss: object
    restart: object
    history: object
    steps: object
    wall_time: float
    info: dict = field(default_factory=dict)


def inpaint(image, mask, G, D=None, *, perceptual_weight=None, window=None, perceptual=None, blend=None,
            restarts=None, steps=None, lr=None, optimizer=None, schedule=None, precision=None, preset=None,
            z_bound=_UNSET, seed=None, patience=None, tol=None, row_chunk=None, memory_format=None,
            latent_shape=None, history=False, progress=False, return_result=False, **deprecated):
    r"""Semantic inpainting with a GAN prior (Yeh et al., 2017).

    Parameters
    ----------
    image : numpy.ndarray or torch.Tensor
        Floating image ``(C, H, W)`` or batch ``(P, C, H, W)`` in G's data
        range; pixels under the hole are ignored (they may be NaN).
    mask : numpy.ndarray or torch.Tensor
        1 = known, 0 = missing: ``(H, W)``, ``(1, H, W)`` or ``(C, H, W)``
        for every image, or ``(P, 1, H, W)`` / ``(P, C, H, W)`` per image.
    G : Generator, torch.nn.Module or str
        The prior; a string names a bundled prior or a prior folder.
    D : Discriminator, torch.nn.Module or str, optional
        Discriminator (logits) for the perceptual loss.  **Without it the
        perceptual term is off** (contextual loss only) and an INFO message is
        logged.
    perceptual_weight : float, optional
        :math:`\lambda \ge 0`, perceptual weight per image.  This argument,
        ``window``, ``perceptual``, ``blend`` and ``z_bound``, left unset,
        come from the prior's inpainting recipe (bundled priors carry one),
        else from :data:`INPAINT_OPTIONS` (0.003, the paper's; 7; minimax;
        Poisson; 1); ``info["source"]`` says which.
    window : int, optional
        Odd window of the weighted mask.
    perceptual : {"minimax", "non-saturating"}, optional
        :math:`\log(1 - D(G(z)))` or :math:`-\log D(G(z))`.
    blend : {"alpha", "none", "poisson"}, optional
        Post-processing (see :func:`ganprior.inpainting.blend`).
    restarts, steps, lr, optimizer, schedule, precision
        Engine settings (see :func:`~ganprior.optimize_latents`); each one
        left unset comes from ``preset``, else the prior's inpainting recipe,
        else :data:`INPAINT_DEFAULTS` (2 candidates x 200 Adam steps, lr 0.03;
        the row ``"inpaint"`` of :data:`~ganprior.solvers.settings.DEFAULTS`).
    preset : {"bora2017"}, optional
        A named protocol instead of the recipe (see :data:`ganprior.solvers.PRESETS`).
    z_bound : float or None, optional
        Clip :math:`z` to :math:`[-b, b]` after each step and at the start
        (unset: the recipe's, else 1); ``None`` leaves it free.
    seed : None, int, torch.Generator or sequence of P seeds
        Seed of the initial latents; one seed per image makes a batch give
        the same answers as separate calls.
    patience, tol, row_chunk, memory_format, history, progress
        Passed to :func:`~ganprior.optimize_latents` (``row_chunk`` counts
        rows: images x candidates).
    latent_shape : int or tuple, optional
        For a bare module ``G``.
    return_result : bool
        Return an :class:`InpaintResult`.
    **deprecated
        The old name ``chunk_size`` (now ``row_chunk``): it works, with a
        FutureWarning the first time it is used.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The inpainted image(s) in the type, dtype, device and shape of
        ``image`` (an :class:`InpaintResult` if ``return_result``).

    Raises
    ------
    TypeError, ValueError
        On any bad input, before any work starts.
    FloatingPointError
        If every candidate of an image produced a non-finite loss (e.g. a
        generator that returns NaN).

    Notes
    -----
    .. math:: \hat z = \arg\min_{z \in [-b, b]^k} \|W \odot (G(z) - y)\|_1
              + \lambda \log(1 - D(G(z))),
              \quad W_i = M_i \tfrac{1}{n^2}\textstyle\sum_{j \in N_n(i)} (1 - M_j),

    solved on the latent engine from ``restarts`` initial latents
    :math:`z_0 \sim \mathcal{N}(0, I)` projected onto the box.  The box
    constraint is kept by **clipping** (projected gradient steps), not a
    reparametrisation.  Each image keeps the candidate with the lowest total
    loss.  Then :math:`\hat x` is :math:`G(\hat z)` Poisson-blended into the
    known pixels (:func:`ganprior.inpainting.poisson_blend`).

    Examples
    --------
    >>> import torch, ganprior
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Unflatten(1, (1, 4, 4)))
    >>> G = ganprior.Generator(net, latent_shape=3)
    >>> y = G(torch.full((1, 3), 0.5)).detach()[0]
    >>> mask = torch.ones(4, 4); mask[1:3, 1:3] = 0
    >>> x = ganprior.inpaint(y, mask, G, restarts=2, steps=50, lr=0.05, seed=0)
    >>> x.shape, bool((x[:, mask == 1] == y[:, mask == 1]).all())
    (torch.Size([1, 4, 4]), True)
    """
    owner = "inpaint"
    y = _blending.check_image(image, "image", owner)
    squeeze = image.ndim == 3
    known = _blending.check_mask(mask, y.shape, owner)
    blind = [p for p in range(known.shape[0]) if not known[p].any()]
    if blind:  # nothing to inpaint from: the answer is whatever the prior draws
        warnings.warn(f"inpaint: the mask of image(s) {blind[:10]}{' ...' if len(blind) > 10 else ''} has no known "
                      "pixel (mask == 1 nowhere), so the result is an unconditioned draw of the prior, not a "
                      "recovery.", UserWarning, stacklevel=2)
    if not np.isfinite(y[known]).all():
        raise ValueError("The 'image' parameter of inpaint must be finite on the known pixels (mask == 1).")
    if isinstance(image, torch.Tensor) and isinstance(mask, torch.Tensor) and mask.device != image.device:
        raise ValueError(f"Device mismatch: 'mask' is on {mask.device} but 'image' is on {image.device}.")
    own = {k: v for k, v in (("perceptual_weight", perceptual_weight), ("window", window),
                             ("perceptual", perceptual), ("blend", blend)) if v is not None}
    if z_bound is not _UNSET:  # None is a value here: no box
        own["z_bound"] = z_bound
    own = _check_options(own, owner)
    for flag_name, flag in (("return_result", return_result), ("history", history), ("progress", progress)):
        if not isinstance(flag, bool):
            raise TypeError(f"The '{flag_name}' parameter of {owner} must be a bool. Got {describe(flag)} instead.")
    given = {"restarts": restarts, "steps": steps, "lr": lr, "optimizer": optimizer, "schedule": schedule,
             "precision": precision, "patience": patience, "tol": tol, "row_chunk": row_chunk,
             "memory_format": memory_format}
    merge_renamed(owner, given, deprecated)
    G = as_generator(G, latent_shape, owner)
    D = _check_discriminator(D, owner)
    if len(G.image_shape) != 3 or tuple(y.shape[1:]) != G.image_shape:
        raise ValueError(f"Shape mismatch: 'image' holds images of shape {tuple(y.shape[1:])} but G makes images "
                         f"of shape {G.image_shape}.")
    if isinstance(image, torch.Tensor) and not same_device(image.device, G.device):
        raise ValueError(f"Device mismatch: the 'image' parameter is on {image.device} but G is on {G.device}.")
    if D is not None and not same_device(D.device, G.device):
        raise ValueError(f"Device mismatch: the discriminator 'D' is on {D.device} but G is on {G.device}.")

    recipe = {} if preset is not None else prior_recipe(G, "inpaint", None)
    # caller > preset or recipe > defaults, for the engine settings and inpainting's own arguments alike
    config, options, source = resolve("inpaint", {**given, **own}, preset=preset, recipe=recipe, own=INPAINT_OPTIONS,
                                      owner=owner)
    options = _check_options(options, owner)
    perceptual_weight, window, perceptual, blend, z_bound = (
        options[k] for k in ("perceptual_weight", "window", "perceptual", "blend", "z_bound"))
    device, dtype = G.device, G.dtype
    P = y.shape[0]
    y_t = torch.from_numpy(y).to(device=device, dtype=dtype)
    m_t = torch.from_numpy(known).to(device=device, dtype=dtype)
    objective = InpaintingObjective(y_t, m_t, D, perceptual_weight=perceptual_weight, window=window,
                                    perceptual=perceptual, z_bound=z_bound)
    if D is None:
        logger.info("inpaint: no discriminator D given, so the perceptual term is off (contextual loss only).")
    elif perceptual_weight == 0.0:
        logger.info("inpaint: perceptual_weight=0, so the perceptual term is off (contextual loss only).")
    with D.frozen() if D is not None else contextlib.nullcontext():
        res = optimize_latents(objective, G, P, **config.settings(), seed=seed, history=history, progress=progress)
    generated = res.x[0] if squeeze else res.x
    x = _blending.blend(image, generated, mask, method=blend)
    if not return_result:
        return x
    settings = config.settings(ENGINE_KEYS)
    source = {k: why for k, why in source.items() if k in ENGINE_KEYS or k in INPAINT_OPTIONS}
    report_precision(settings, source, res.info)
    info = {"settings": {**settings, **options}, "source": source,
            "perceptual": perceptual if objective.uses_perceptual else "off"}
    out = {k: to_caller(getattr(res, k), image, squeeze) for k in ("z", "loss", "restart", "history", "steps")}
    return InpaintResult(x=x, generated=to_caller(res.x, image, squeeze), wall_time=res.wall_time, info=info,
                         contextual_loss=to_caller(res.fit, image, squeeze),
                         perceptual_loss=to_caller(res.loss - res.fit, image, squeeze), **out)
