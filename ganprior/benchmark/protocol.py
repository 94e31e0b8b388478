"""The error-vs-m protocol (Bora et al. 2017, Fig. 1): what a dataset's study measures, with what, and how it chooses.

A :class:`Protocol` holds one dataset's settings (test images, noise, methods, m, the CSGM budget, the grids and
the options chosen on validation images); :data:`PROTOCOLS` holds the three of ``benchmarks/error_vs_measurements.py``
(MNIST, Fashion-MNIST, CelebA-64).  The problems are :func:`measure`'s: A ~ N(0, 1/m) seeded by (seed, m) (a
structured SubsampledDCT above :data:`DENSE_LIMIT` entries) and noise of norm about ``noise`` per image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

import ganprior
from ganprior.data import default_data_root, load_celeba, load_fashion_mnist, load_mnist
from ganprior.solvers.csgm import warmup_steps
from ganprior.solvers.holdout import cv_plan
from ganprior.solvers.ilo import block_ends, default_cut
from ganprior.solvers.settings import merge_renamed

__all__ = ["Protocol", "PROTOCOLS", "preset", "measure", "validation_images", "default_data_root"]


@dataclass
class Protocol:
    """One dataset's error-vs-m protocol: the problems, the methods and what is chosen on validation images.

    Attributes
    ----------
    prior : str
        The prior of the latent methods: a bundled prior's name or a prior folder.
    sample : str or None
        The bundled test images (:func:`ganprior.data.load_sample`); None where the caller gives them.
    noise : float
        ||eta|| per image, the norm of the noise (per-entry standard deviation ``noise / sqrt(m)``; the key
        ``"noise"`` of the run's configuration and metadata.json; :func:`measure`'s ``noise_norm``).
    methods : list of str
        The methods of the study (CSGM, the Lassos; methods beyond the range and ``auto`` on request).
    m : list of int
        The numbers of measurements.
    n_test : int
        Test images (the first ``n_test`` of ``sample``).
    restarts : int
        CSGM's random restarts (kept by the lowest measurement error).
    steps : int
        Adam steps per restart.
    lr : float
        Adam's initial step size (cosine schedule unless the caller says otherwise).
    lams : list of float
        CSGM's lam grid, widened past an open edge (:data:`SEARCH`).
    savings_targets : list of float
        Target errors of the savings table (the m each method needs for them).
    alphas : dict
        Lasso grids that replace :data:`ALPHAS`'s for this dataset, ``{method: grid}``.
    beyond_fixed : dict
        Fixed arguments of a method beyond the range, ``{method: {argument: value}}`` (part of a row's label:
        rows solved with other ones are stale and solved again).
    beyond_choices : dict
        Options of a method beyond the range chosen first, ``{method: {option: candidates}}``; ``"block ends"``
        stands for ``block_ends(G)`` with ``default_cut(G)`` the default (ILO's cut).
    warmup_choices : dict
        Fractions of the steps tried as the z-only warm-up of a method beyond the range, chosen last by
        :data:`WARMUP_RULE`, ``{method: fractions}``.
    own_best : dict
        Options of ``beyond_choices`` chosen each at its own best hyperparameter (:data:`OWN_BEST_RULE`),
        ``{method: [option]}``; the others are chosen at the hyperparameter's ``at`` value.
    prior_choices : list of str
        The priors CSGM's search chooses among per m (the preset's first, :data:`PRIOR_RULE`); empty: no choice.
    """

    prior: str
    sample: str | None
    noise: float
    methods: list
    m: list
    n_test: int
    restarts: int
    steps: int
    lr: float
    lams: list
    savings_targets: list
    alphas: dict = field(default_factory=dict)
    beyond_fixed: dict = field(default_factory=dict)
    beyond_choices: dict = field(default_factory=dict)
    warmup_choices: dict = field(default_factory=dict)
    own_best: dict = field(default_factory=dict)
    prior_choices: list = field(default_factory=list)

    def config(self) -> dict:
        """The run's configuration (a dict the search and the store read) before the command line's changes.

        Returns
        -------
        dict
            The fields, with the Lasso grids of :data:`ALPHAS` (this protocol's ``alphas`` first) and
            ``auto_selection`` (:data:`AUTO_DEFAULT`).
        """
        cfg = dict(prior=self.prior, sample=self.sample, noise=self.noise, methods=list(self.methods),
                   m=list(self.m), n_test=self.n_test, restarts=self.restarts, steps=self.steps, lr=self.lr,
                   lams=list(self.lams), savings_targets=list(self.savings_targets))
        cfg["alphas"] = {k: list(v) for k, v in {**ALPHAS, **self.alphas}.items()}
        cfg["beyond_fixed"] = self.beyond_fixed
        cfg["beyond_choices"] = self.beyond_choices
        cfg["warmup_choices"] = self.warmup_choices
        cfg["own_best"] = self.own_best
        cfg["auto_selection"] = dict(AUTO_DEFAULT)
        return cfg


def preset(dataset) -> dict:
    """The configuration of the named protocol (:meth:`Protocol.config` of ``PROTOCOLS[dataset]``).

    Parameters
    ----------
    dataset : str
        A key of :data:`PROTOCOLS`.

    Returns
    -------
    dict
    """
    if dataset not in PROTOCOLS:
        raise ValueError(f"dataset: expected one of {sorted(PROTOCOLS)}, got {dataset!r}")
    return PROTOCOLS[dataset].config()


ALPHAS = {"lasso": [0.01, 0.1, 1.0], "lasso-dct": [0.01, 0.1, 1.0], "lasso-wavelet": [1e-5, 1e-3, 1e-1]}


# Methods that leave the range of G (issue: beyond the prior's range).  Their own hyperparameter is searched on
# the validation images like lam; lam itself is the one CSGM's search chose at the same m (run first if needed).
# Sparse-Gen's alpha weighs ||Psi^T nu||_1 against ||y - Ax||^2 (not scikit-learn's 1/(2m) scaling: alpha_sg =
# 2 m alpha_sklearn), hence a grid around 1; ILO's radius bounds |h - G_lo(z)| per activation (0 = CSGM).
# The basis is fixed per dataset (not searched): the basis of the best Lasso on the dataset's validation images
# (pixels for digits; the DCT for Fashion-MNIST and for faces).  ILO's cut is chosen per m among BEYOND_CHOICES's
# layers -- "block ends": the ends of the prior's blocks (ganprior.solvers.ilo.block_ends; 3 and 6 for the 28x28
# DCGANs, 2 and 4 for the VAE decoder, 3 ... 12 for the 64x64 DCGAN), with the API default (the first) as the
# choice's default -- on CelebA each solved at the hyperparameter's API default ("at": radius 1) on the validation
# images, before the radius search at the chosen cut (a coordinate search: the deeper cuts pass the Lassos at large
# m, the first block does not); on MNIST each cut at its own best radius (CHOICE_AT_OWN_BEST).  On the
# Fashion-MNIST transfer ILO is not run.
BEYOND = {"sparse-gen": dict(name="alpha", grid=[0.1, 1.0, 10.0]),
          "ilo": dict(name="radius", grid=[0.1, 0.3, 1.0], at=1.0)}


OWN_BEST_RULE = ("each at its own best value; lower than the default's by more than one standard error of the "
                 "paired difference")


WARMUP_RULE = "lower than the default's (half of the steps) by more than one standard error of the paired difference"


# Another prior replaces the preset's only where its validation errors (each prior at its own best lam) are lower
# by more than one standard error of the paired difference over the validation images (the one-standard-error rule
# of cross-validation, Hastie, Tibshirani & Friedman, ESL 7.10: keep the default unless another is clearly better);
# among such priors, the lowest mean wins. A near tie keeps the preset's: a margin within the noise of 32 images
# need not hold on the test images (the MNIST GANs were trained on the validation images; mnist-vae was not: its
# run held them out with --limit).
PRIOR_RULE = "lower than the preset's by more than one standard error of the paired difference"


# How the auto row chooses on every dataset: recover's own default for method="auto" made explicit ("adaptive",
# one 10% split, 5 folds where 10% is under MIN_HELD_OUT = 6 rows). The rule is part of a row's label (auto_rule,
# e.g. "cv (adaptive, 5-fold)"), so rows solved with another rule are stale and solved again.
AUTO_DEFAULT = dict(choice="adaptive")


N_VAL = 32  # validation images; benchmarks/results/mnist/validation_size/ measures how many the choice needs


# How each hyperparameter's grid may widen (keyword arguments of widen_search): x10 per step past an open edge.
# lam = 0 is reachable (no prior term): a step of the low edge below 1e-3 evaluates lam = 0 and closes that side.
# alpha must be > 0 (scikit-learn's Lasso), so its low side only widens geometrically. A later method's step
# size or radius gets an entry here (e.g. dict(factor=3.0, lower=0.0)) and the same search.
SEARCH = {
    "lam": dict(factor=10.0, lower=0.0, lower_reachable=True, snap_below=1e-3, max_steps=5),
    "alpha": dict(factor=10.0, lower=0.0, lower_reachable=False, max_steps=5),
    "radius": dict(factor=3.0, lower=0.0, lower_reachable=True, snap_below=0.01, max_steps=5),
}


def validation_images(dataset, n, root):
    """The last n images of the training split (the test split is untouched), and their indices in that split.
    The MNIST and Fashion-MNIST GANs were trained on them; ``mnist-vae`` and ``celeba64`` were not (their runs
    held out the last images with ``--limit``: 32 digits, 500 faces).

    Parameters
    ----------
    dataset : str
        ``"mnist"``, ``"fashion-mnist"`` or ``"celeba"``.
    n : int
        How many.
    root : pathlib.Path
        The folder holding ``mnist/``, ``fashion_mnist/``, ``celeba/`` (:func:`~ganprior.data.default_data_root`).

    Returns
    -------
    (torch.Tensor, list of int)
    """
    if dataset == "mnist":
        x = load_mnist(root / "mnist", split="train")[0]
    elif dataset == "fashion-mnist":
        x = load_fashion_mnist(root / "fashion_mnist", split="train")[0]
    else:
        x = load_celeba(root / "celeba", which="10k")
    return x[-n:], list(range(len(x) - n, len(x)))


# Above this many matrix entries (m * n) a dense Gaussian is replaced by the structured SubsampledDCT:
# at CelebA's n = 12288 and m >= 2500 the Gaussian is >= 120 MB and every CSGM step pays m * n per row.
DENSE_LIMIT = 2.5e7


def operator_name(m, n):
    return "gaussian" if m * n <= DENSE_LIMIT else "subsampled-dct"


def measure(x, m, noise_norm=None, seed=None, **deprecated):
    """A seeded by (seed, m) and y = A x + eta with ||eta|| about ``noise_norm``.

    A ~ N(0, 1/m) (the paper's) while m * n <= DENSE_LIMIT, else SubsampledDCT (random rows of an orthonormal
    DCT with random signs, scaled like the Gaussian so that E||Ax||^2 = ||x||^2).

    Parameters
    ----------
    x : torch.Tensor
        Images ``(N, C, H, W)`` in [0, 1].
    m : int
        Measurements per image.
    noise_norm : float
        ||eta|| per image, the norm of the noise (per-entry standard deviation ``noise_norm / sqrt(m)``).
    seed : int
        0 for the test problems, 1 for the validation problems.
    **deprecated
        ``noise``, the old name of ``noise_norm``: it works, with a FutureWarning the first time.

    Returns
    -------
    (ganprior.operators.Operator, torch.Tensor)
        ``A`` and ``y`` ``(N, m)``.
    """
    noise_norm = merge_renamed("measure", {"noise_norm": noise_norm}, deprecated, {"noise": "noise_norm"})["noise_norm"]
    for name, value in (("noise_norm", noise_norm), ("seed", seed)):
        if value is None:
            raise TypeError(f"measure() missing required argument: {name!r}")
    shape = tuple(x.shape[1:])
    if operator_name(m, x[0].numel()) == "gaussian":
        A = ganprior.operators.Gaussian(m, in_shape=shape, seed=seed * 100003 + m)
    else:
        A = ganprior.operators.SubsampledDCT(m, in_shape=shape, seed=seed * 100003 + m)
    eta = torch.randn(x.shape[0], m, generator=torch.Generator().manual_seed(seed * 7919 + m))
    eta = eta * noise_norm / math.sqrt(m)
    return A, A(x) + eta


def beyond_defaults(method, cfg, G):
    """The options of a method beyond the range that every solve is given unless chosen otherwise: the API's
    defaults (the warm-up, half of the steps; ILO's cut, ``default_cut(G)``), never the prior's recipe, which
    ``recover`` would fill in for an option not given and which need not be the default at m."""
    if method not in BEYOND:
        return {}
    out = {"warmup": warmup_steps(None, cfg["steps"])}
    if method == "ilo" and block_ends(G):
        out["cut"] = default_cut(G)
    return out


def warmup_fraction(options, steps):
    """``options`` with a warm-up recorded in steps (the benchmark's records -- selection.json, row labels,
    :func:`beyond_defaults` -- count steps) given as the fraction of ``steps`` that ``recover`` takes: ``w / steps``,
    whose second stage starts at exactly step ``w`` (``round((w / steps) * steps) == w`` in floating point).

    Parameters
    ----------
    options : dict
        A solve's options; an int ``"warmup"`` counts steps.
    steps : int
        The solve's steps.

    Returns
    -------
    dict
        A copy with ``"warmup"`` a float, or ``options`` itself where it holds no int warm-up.
    """
    w = options.get("warmup")
    if isinstance(w, int) and not isinstance(w, bool):
        return {**options, "warmup": w / steps}
    return options


def hyperparameter_grid(method, cfg):
    """(name, grid) of the hyperparameter searched for ``method``."""
    if method == "csgm":
        return "lam", cfg["lams"]
    if method in BEYOND:
        return BEYOND[method]["name"], cfg.get("beyond_grids", {}).get(method, BEYOND[method]["grid"])
    return "alpha", cfg["alphas"][method]


def beyond_choices(cfg, method, G):
    """The options of ``method`` chosen first (BEYOND_CHOICES) with the prior ``G`` that solves them:
    ``({option: candidates}, {option: default})``.  ``"block ends"`` stands for ``block_ends(G)`` with
    ``default_cut(G)`` as the default (its rows are labelled as without the choice); a list has no default; an
    option with no candidate (a generator without blocks) is left to the API's default."""
    spec = cfg.get("beyond_choices", {}).get(method, {}) if method in BEYOND else {}
    options, defaults = {}, {}
    for opt, cands in spec.items():
        if cands == "block ends":
            cands = block_ends(G)
            if cands:
                defaults[opt] = default_cut(G)
        if cands:
            options[opt] = list(cands)
    return options, defaults


def warmup_candidates(cfg, method):
    """The warm-ups (steps) WARMUP_CHOICES lists for ``method``, with the API's default (half of the steps) among
    them, and that default: ``([], None)`` where the warm-up is not chosen."""
    fractions = cfg.get("warmup_choices", {}).get(method, []) if method in BEYOND else []
    if not fractions:
        return [], None
    default = warmup_steps(None, cfg["steps"])
    return sorted({int(round(f * cfg["steps"])) for f in fractions} | {default}), default


def auto_rule(m, selection):
    """How ``auto`` chooses at ``m`` with the keyword arguments ``selection`` (AUTO_DEFAULT), as its rows'
    value: ``"cv (<choice>, <K>-fold)"`` or ``"cv (<choice>, <fraction> split)"``, the held-out rows as
    :func:`ganprior.solvers.holdout.cv_plan` resolves recover's defaults."""
    fraction, folds = cv_plan(m, selection.get("cv_fraction"), selection.get("cv_folds"))
    return f"cv ({selection['choice']}, {f'{folds}-fold' if folds else f'{fraction:.0%} split'})"


def auto_candidate_methods(cfg):
    """The methods ``auto`` compares: the preset's own and those beyond the range."""
    return [k for k in cfg["methods"] if k != "auto"] + [k for k in BEYOND if k not in cfg["methods"]]


# Sparse-Gen's nu solver is fixed too: the committed MNIST and CelebA grids were solved with ganprior 0.1's one ISTA
# step per step (nu_solver="ista", nu_steps=1) and keep it until those grids are rerun; the Fashion-MNIST transfer
# grid was rerun with the default (FISTA, 10 nu steps per step), which converges where small alphas need it.
SG_V01 = dict(nu_solver="ista", nu_steps=1)
# The warm-up's fractions (Protocol.warmup_choices): ILO is not started without a warm-up (its box would sit around
# a random z); benchmarks/results/warmup_study measured what the choice can gain before it joined the grid.
WARMUPS = {"ilo": [0.25, 0.5, 0.75], "sparse-gen": [0.0, 0.25, 0.5, 0.75]}
PROTOCOLS = {
    # The prior chosen per m among bundled priors (prior_choices, the preset's own first) by CSGM's search: lam is
    # searched with each (the same widening), and the prior whose best lam has the lowest mean validation MSE
    # (PRIOR_RULE) is the prior of every latent method at that m -- CSGM's test rows, the searches and rows of the
    # methods beyond the range and ``auto``'s candidates.  A small latent (k = 20) is better determined by few
    # measurements, the preset's k = 64 represents digits better.  ILO's cut: each at its own best radius
    # (own_best): at radius 1 alone the MNIST cut search misled itself at m = 10 (the second block's cut won there,
    # the first block's had the lower error at its own best radius).
    "mnist": Protocol(prior="mnist", sample="mnist_test300", noise=0.1,
                      methods=["csgm", "lasso", "lasso-dct", "lasso-wavelet"],
                      m=[10, 25, 50, 100, 200, 300, 400, 500, 750], n_test=300, restarts=10, steps=300, lr=0.3,
                      lams=[0.1, 1.0, 3.0], savings_targets=[0.05, 0.02, 0.01, 0.001],
                      beyond_fixed={"sparse-gen": dict(basis="pixel", **SG_V01)},
                      beyond_choices={"ilo": dict(cut="block ends")}, warmup_choices=dict(WARMUPS),
                      own_best={"ilo": ["cut"]}, prior_choices=["mnist", "mnist-k20", "mnist-vae", "mnist-bvae"]),
    # the Fashion-MNIST transfer: ILO is not run; Sparse-Gen rerun with the FISTA default
    "fashion-mnist": Protocol(prior="fashion-mnist", sample="fashion_test300", noise=0.1,
                              methods=["csgm", "lasso", "lasso-dct", "lasso-wavelet"],
                              m=[10, 25, 50, 100, 200, 300, 400, 500, 750], n_test=300, restarts=10, steps=300,
                              lr=0.3, lams=[0.1, 1.0, 3.0], savings_targets=[0.05, 0.02, 0.01],
                              beyond_fixed={"sparse-gen": dict(basis="dct", nu_solver="fista", nu_steps=10)}),
    # the wavelet Lasso's optimum on the 32 CelebA validation faces lies at 1-10 (m = 100, 1000:
    # benchmarks/results/celeba/widened_check), far above the paper's 1e-5, whose solves are the slowest of the grid
    # (40+ s a face at m = 10000): start from the DCT Lasso's grid instead.  ILO's cut: the coordinate search (four
    # cuts: a radius search per cut is four times the cost, not yet spent).
    "celeba": Protocol(prior="celeba64", sample="celeba_test64", noise=0.01,
                       methods=["csgm", "lasso-dct", "lasso-wavelet"],
                       m=[20, 50, 100, 200, 500, 1000, 2500, 5000, 7500, 10000], n_test=64, restarts=2, steps=300,
                       lr=0.1, lams=[0.0, 0.01, 0.1], savings_targets=[0.02, 0.01, 0.005],
                       alphas={"lasso-wavelet": [0.01, 0.1, 1.0]},
                       beyond_fixed={"sparse-gen": dict(basis="dct", **SG_V01)},
                       beyond_choices={"ilo": dict(cut="block ends")}, warmup_choices=dict(WARMUPS)),
}
