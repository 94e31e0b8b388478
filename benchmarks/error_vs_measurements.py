"""Reconstruction error vs number of measurements (Bora et al. 2017, Fig. 1), MNIST / Fashion-MNIST / CelebA-64.

Protocol (see ../shared/REFERENCE.md section 1 and benchmarks/README.md):

- test images: the first 300 MNIST (Fashion-MNIST) test images; the 64 CelebA test faces of the paper;
- A ~ N(0, 1/m) (a fresh matrix per m, shared by the test images), noise eta with per-entry std
  ||eta|| / sqrt(m), ||eta|| = 0.1 (MNIST) or 0.01 (CelebA);
- methods: CSGM with the bundled prior (or, where PRIOR_CHOICES lists several, the one the validation images
  choose per m), Lasso (pixel), Lasso-DCT, Lasso-wavelet (Haar);
- every hyperparameter (CSGM lam, each Lasso's alpha) is chosen per m on validation images drawn from the
  TRAINING split (the last --n-val = 32 images), never on the test images; the chosen values are recorded per
  row. A value chosen at an open edge of its grid widens the grid geometrically past that edge (x10 per step,
  :func:`widen_search`) until the validation error turns up, a natural bound is reached (lam = 0 is a grid point
  reachable at the low edge of lam: below 1e-3 the next step is lam = 0; alpha > 0 has no reachable bound) or
  the search limit; the whole search (every value tried and its validation MSE) is in ``selection.log``,
  ``selection.json``, ``metadata.json`` and, per validation image, ``validation.csv``;
- metric: per-pixel MSE in [0, 1] pixels and PSNR; mean with 95% CI = 1.96 std / sqrt(N).

Runs made at once into separate folders (one per method, say) are merged into one with ``--merge FOLDER ...``
(rows, searches, validation rows and commands; then the summary as with ``--summary-only``).

Outputs in --out: ``per_image.csv`` (appended one whole chunk per write as it goes: an interrupted run resumes
from it without duplicated or lost rows; a torn last line is dropped; a row solved with another value than its
search now chooses -- a search redone on a wider grid -- is solved again, a row of the chosen value is kept),
``selection.json`` (the finished searches: a resumed run reuses them),
``summary.csv``, ``error_vs_m.png``, ``savings.csv`` + ``savings.png`` (the m each method needs for a target
error, interpolated, and the Lasso-m / CSGM-m ratio), ``metadata.json`` (versions, seeds, device, times, command).

Examples::

    python benchmarks/error_vs_measurements.py --dataset mnist --out benchmarks/results/mnist
    python benchmarks/error_vs_measurements.py --dataset celeba --out benchmarks/results/celeba
    python benchmarks/error_vs_measurements.py --dataset mnist --quick --out /tmp/quick

Whether committed rows still come out of today's code (the first chunk of every (method, m) solved again, with the
chunk and threads the rows were solved with; exit status 1 on a difference)::

    python benchmarks/error_vs_measurements.py --dataset mnist --threads 1 --chunk 100 --verify 100 \
        --out benchmarks/results/mnist

How many validation images the choice needs (searches on a pool of 128, then the choice on disjoint subsets)::

    python benchmarks/error_vs_measurements.py --dataset mnist --methods csgm --m 25 100 --n-val 128 \
        --validation-only --out benchmarks/results/mnist/validation_size
    python benchmarks/error_vs_measurements.py --dataset mnist --validation-report 8 16 32 64 \
        --out benchmarks/results/mnist/validation_size
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import weights_sha256

import ganprior
from ganprior.data import load_celeba, load_fashion_mnist, load_mnist, load_sample
from ganprior.solvers.csgm import warmup_steps
from ganprior.solvers.holdout import cv_plan
from ganprior.solvers.ilo import block_ends, default_cut

PRESETS = {
    "mnist": dict(prior="mnist", sample="mnist_test300", noise=0.1, methods=["csgm", "lasso", "lasso-dct", "lasso-wavelet"],
                  m=[10, 25, 50, 100, 200, 300, 400, 500, 750], n_test=300, restarts=10, steps=300, lr=0.3,
                  lams=[0.1, 1.0, 3.0], savings_targets=[0.05, 0.02, 0.01, 0.001]),
    "fashion-mnist": dict(prior="fashion-mnist", sample="fashion_test300", noise=0.1,
                          methods=["csgm", "lasso", "lasso-dct", "lasso-wavelet"],
                          m=[10, 25, 50, 100, 200, 300, 400, 500, 750], n_test=300, restarts=10, steps=300,
                          lr=0.3, lams=[0.1, 1.0, 3.0], savings_targets=[0.05, 0.02, 0.01]),
    "celeba": dict(prior="celeba64", sample="celeba_test64", noise=0.01, methods=["csgm", "lasso-dct", "lasso-wavelet"],
                   m=[20, 50, 100, 200, 500, 1000, 2500, 5000, 7500, 10000], n_test=64, restarts=2, steps=300,
                   lr=0.1, lams=[0.0, 0.01, 0.1], savings_targets=[0.02, 0.01, 0.005],
                   # the wavelet Lasso's optimum on the 32 CelebA validation faces lies at 1-10 (m = 100, 1000:
                   # benchmarks/results/celeba/widened_check), far above the paper's 1e-5, whose solves are the
                   # slowest of the grid (40+ s a face at m = 10000): start from the DCT Lasso's grid instead
                   alphas={"lasso-wavelet": [0.01, 0.1, 1.0]}),
}
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
# Sparse-Gen's nu solver is fixed too: the committed MNIST and CelebA grids were solved with ganprior 0.1's one ISTA
# step per step (nu_solver="ista", nu_steps=1) and keep it until those grids are rerun; the Fashion-MNIST transfer
# grid was rerun with the default (FISTA, 10 nu steps per step), which converges where small alphas need it.
# The fixed arguments are part of a row's label, so rows solved with other ones are stale and solved again.
SG_V01 = dict(nu_solver="ista", nu_steps=1)
BEYOND_FIXED = {"mnist": {"sparse-gen": dict(basis="pixel", **SG_V01)},
                "fashion-mnist": {"sparse-gen": dict(basis="dct", nu_solver="fista", nu_steps=10)},
                "celeba": {"sparse-gen": dict(basis="dct", **SG_V01)}}
BEYOND_CHOICES = {"mnist": {"ilo": dict(cut="block ends")}, "celeba": {"ilo": dict(cut="block ends")}}
# Options of BEYOND_CHOICES chosen each at its own best hyperparameter rather than at ``at``: the hyperparameter's
# whole search is made for every candidate, and a candidate replaces the default only where OWN_BEST_RULE holds
# (the one-standard-error rule of PRIOR_RULE, over each candidate's errors at its own best value).  At radius 1
# alone the MNIST cut search misled itself at m = 10 (the second block's cut won there, the first block's had the
# lower error at its own best radius), and the deep cut's failures on a few test digits favour a rule that keeps
# the first block unless another is clearly better.  The CelebA grid keeps the coordinate search (four cuts: a
# radius search per cut is four times the cost, not yet spent).
CHOICE_AT_OWN_BEST = {"mnist": {"ilo": ["cut"]}}
OWN_BEST_RULE = ("each at its own best value; lower than the default's by more than one standard error of the "
                 "paired difference")
# The z-only warm-up of a method beyond the range (``warmup`` steps; the API's default is half of the steps) is
# chosen per m last, at the options and value chosen before it: each fraction of the steps listed here is solved on
# the validation images and replaces the default (half) only where WARMUP_RULE holds (the one-standard-error rule
# of PRIOR_RULE, against the default); ILO is not started without a warm-up (its box would sit around a random z).
# benchmarks/results/warmup_study measured what the choice can gain before it joined the grid.
WARMUP_CHOICES = {"mnist": {"ilo": [0.25, 0.5, 0.75], "sparse-gen": [0.0, 0.25, 0.5, 0.75]},
                  "celeba": {"ilo": [0.25, 0.5, 0.75], "sparse-gen": [0.0, 0.25, 0.5, 0.75]}}
WARMUP_RULE = "lower than the default's (half of the steps) by more than one standard error of the paired difference"
# The prior chosen per m among bundled priors (the preset's own first) by CSGM's search: lam is searched with each
# (the same widening), and the prior whose best lam has the lowest mean validation MSE is the prior of every
# latent method at that m -- CSGM's test rows, the searches and rows of the methods beyond the range (with that
# lam, as always) and ``auto``'s candidates (ties: the preset's).  A small latent (k = 20) is better determined
# by few measurements, the preset's k = 64 represents digits better.  Recorded in selection.json (CSGM's record's
# "choice": every prior's own search; a later method's record names a prior other than the preset's) and then in
# the row labels.
PRIOR_CHOICES = {"mnist": ["mnist", "mnist-k20", "mnist-vae", "mnist-bvae"]}
# Another prior replaces the preset's only where its validation errors (each prior at its own best lam) are lower
# by more than one standard error of the paired difference over the validation images (the one-standard-error rule
# of cross-validation, Hastie, Tibshirani & Friedman, ESL 7.10: keep the default unless another is clearly better);
# among such priors, the lowest mean wins. A near tie keeps the preset's: a margin within the noise of 32 images
# need not hold on the test images (the MNIST GANs were trained on the validation images; mnist-vae was not: its
# run held them out with --limit).
PRIOR_RULE = "lower than the preset's by more than one standard error of the paired difference"
FIELDS = ["method", "m", "image", "mse", "psnr", "seconds", "operator", "hyperparameter", "value"]
VAL_FIELDS = ["method", "m", "hyperparameter", "value", "image", "mse"]
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


def widen_search(evaluate, grid, *, factor=10.0, lower=None, lower_reachable=False, snap_below=None,
                 upper=None, upper_reachable=False, max_steps=5):
    """Minimise ``evaluate(value)`` over ``grid``, widening the grid while the best value lies at an open edge.

    Every value of ``grid`` is evaluated. While the best value so far is the lowest (highest) value tried, the
    grid is extended past that edge by one geometric step, ``edge / factor`` (``edge * factor``); a side stops
    when its new value does not improve strictly on the best (the error turned up, or is flat), when a natural
    bound is reached, or after ``max_steps`` steps. A bound that is reachable (``lower_reachable``: lam = 0,
    a legal value) is itself a grid point: the step that would reach it, pass it, or go below ``snap_below``
    evaluates the bound instead, which closes that side. A bound that is not reachable (alpha > 0) is never
    evaluated; the side widens geometrically only. Ties go to the value evaluated first.

    Returns a dict: ``tried`` [(value, error)] sorted by value; ``order``, the values in evaluation order;
    ``best``; ``status``: "interior" (a value on each side was tried, with an error >= the best's), "bound"
    (the best is a natural bound), "limit" (the best lies at an open edge after ``max_steps`` steps: the
    optimum may lie further out) or "single" (a one-value grid: nothing to choose, nothing evaluated).
    """
    grid = [float(v) for v in grid]
    if len(set(grid)) == 1:
        return dict(tried=[], order=[], best=grid[0], status="single")
    scores, order = {}, []
    for v in grid:
        if v not in scores:
            scores[v] = float(evaluate(v))
            order.append(v)
    best = min(order, key=lambda v: scores[v])  # min keeps the first of equal values
    steps = {"low": 0, "high": 0}
    closed = {"low": False, "high": False}
    while True:
        values = sorted(scores)
        side = "low" if best == values[0] else "high" if best == values[-1] else None
        if side is None or closed[side] or steps[side] >= max_steps:
            break
        if side == "low":
            nxt, bound, reachable = values[0] / factor, lower, lower_reachable
            if bound is not None and (nxt <= bound or (snap_below is not None and nxt < snap_below)):
                nxt = bound
        else:
            nxt, bound, reachable = values[-1] * factor, upper, upper_reachable
            if bound is not None and nxt >= bound:
                nxt = bound
        if bound is not None and nxt == bound:
            closed[side] = True  # the last step of this side: the bound itself, or nothing if not reachable
            if not reachable or bound in scores:
                continue
        steps[side] += 1
        scores[nxt] = float(evaluate(nxt))
        order.append(nxt)
        if scores[nxt] < scores[best]:
            best = nxt
        else:
            closed[side] = True  # turned up (or flat): the previous best is bracketed
    values = sorted(scores)
    if values[0] < best < values[-1]:
        status = "interior"
    elif (best == lower and lower_reachable) or (best == upper and upper_reachable):
        status = "bound"
    else:
        status = "limit"
    return dict(tried=[(v, scores[v]) for v in values], order=order, best=best, status=status)


def default_data_root():
    """$GANPRIOR_DATA, else ../shared/data beside the repository."""
    env = os.environ.get("GANPRIOR_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def validation_images(dataset, n, root):
    """The last n images of the training split (the test split is untouched), and their indices in that split.
    The MNIST and Fashion-MNIST GANs were trained on them; ``mnist-vae`` and ``celeba64`` were not (their runs
    held out the last images with ``--limit``: 32 digits, 500 faces)."""
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


def measure(x, m, noise, seed):
    """A seeded by (seed, m) and y = A x + eta with ||eta|| about `noise`.

    A ~ N(0, 1/m) (the paper's) while m * n <= DENSE_LIMIT, else SubsampledDCT (random rows of an orthonormal
    DCT with random signs, scaled like the Gaussian so that E||Ax||^2 = ||x||^2).
    """
    shape = tuple(x.shape[1:])
    if operator_name(m, x[0].numel()) == "gaussian":
        A = ganprior.operators.Gaussian(m, in_shape=shape, seed=seed * 100003 + m)
    else:
        A = ganprior.operators.SubsampledDCT(m, in_shape=shape, seed=seed * 100003 + m)
    eta = torch.randn(x.shape[0], m, generator=torch.Generator().manual_seed(seed * 7919 + m)) * noise / math.sqrt(m)
    return A, A(x) + eta


def run_method(method, y, A, G, cfg, value, precision, image_shape, lam=None, candidates=None, chosen=None):
    """One solve of the test (or validation) problems with the method's hyperparameter set to ``value``
    (``auto``: among ``candidates``, {method: validated options}; ``chosen``: options of BEYOND_CHOICES, and the
    ``prior`` of PRIOR_CHOICES, a key of ``cfg["prior_models"]``, in place of ``G``)."""
    # the layout every committed row ran with (the col2im copy), not the per-machine autotune: rows reproduce bitwise
    engine = dict(restarts=cfg["restarts"], steps=cfg["steps"], lr=cfg["lr"], seed=0, precision=precision,
                  schedule=cfg["schedule"], chunk_size=cfg["chunk"] * cfg["restarts"] if cfg.get("chunk") else None,
                  memory_format="channels_last")
    chosen = dict(chosen or {})
    if "prior" in chosen:
        G = cfg["prior_models"][chosen.pop("prior")]
    if method == "csgm":
        return ganprior.recover(y, A, G, lam=value, **engine)  # chunk_size counts rows
    if method == "auto":  # chosen per problem from its own measurements (held-out rows), never from x
        candidates = {k: {**beyond_defaults(k, cfg, G), **v} for k, v in candidates.items()}
        return ganprior.recover(y, A, G, method="auto", candidates=candidates, **cfg["auto_selection"], **engine)
    if method in BEYOND:
        fixed = cfg.get("beyond_fixed", {}).get(method, {})
        return ganprior.recover(y, A, G, method=method, lam=lam, **{BEYOND[method]["name"]: value}, **fixed,
                                **{**beyond_defaults(method, cfg, G), **chosen}, **engine)
    return ganprior.recover(y, A, method=method, alpha=value, image_shape=image_shape)


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


SEARCH_KEYS = ("tried", "order", "chosen", "status")  # a search's outcome in a selection.json record


def search_fields(res):
    """The outcome of a :func:`widen_search` as selection.json keeps it (``tried`` as lists, the best as ``chosen``)."""
    return dict(zip(SEARCH_KEYS, ([[v, e] for v, e in res["tried"]], res["order"], res["best"], res["status"])))


def preset(dataset):
    """The run's configuration for ``dataset`` before the command line's changes: PRESETS with the Lasso grids
    (ALPHAS, the preset's own first), BEYOND_FIXED, BEYOND_CHOICES, WARMUP_CHOICES and AUTO_DEFAULT."""
    cfg = dict(PRESETS[dataset])
    cfg["alphas"] = {k: list(v) for k, v in {**ALPHAS, **PRESETS[dataset].get("alphas", {})}.items()}
    cfg["beyond_fixed"] = BEYOND_FIXED.get(dataset, {})
    cfg["beyond_choices"] = BEYOND_CHOICES.get(dataset, {})
    cfg["warmup_choices"] = WARMUP_CHOICES.get(dataset, {})
    cfg["own_best"] = CHOICE_AT_OWN_BEST.get(dataset, {})
    cfg["auto_selection"] = dict(AUTO_DEFAULT)
    return cfg


def hyperparameter_grid(method, cfg):
    """(name, grid) of the hyperparameter searched for ``method``."""
    if method == "csgm":
        return "lam", cfg["lams"]
    if method in BEYOND:
        return BEYOND[method]["name"], cfg.get("beyond_grids", {}).get(method, BEYOND[method]["grid"])
    return "alpha", cfg["alphas"][method]


def choose(method, m, x_val, val_ids, G, cfg, precision, image_shape, out):
    """Pick the hyperparameter with the lowest mean validation MSE (validation images only), by
    :func:`widen_search` from the method's grid; a search finished before (``selection.json``, same grid,
    validation set, lam and fixed arguments) is reused, so a resumed run neither repeats nor duplicates it.
    A method beyond the range (``BEYOND``) takes lam from CSGM's search at the same m (run first when missing).

    Options listed in ``BEYOND_CHOICES`` (ILO's cut) are chosen first, one at a time: each candidate is solved at
    the hyperparameter's ``at`` value and the lowest mean validation MSE kept (the record's ``choice``); the
    hyperparameter's search then runs with them (its solve at ``at`` is the one already made).  An option listed in
    ``CHOICE_AT_OWN_BEST`` is chosen instead with the hyperparameter: its whole search for every candidate, then
    OWN_BEST_RULE (:func:`own_best_choice`; the record is the chosen candidate's search).  The warm-up
    (WARMUP_CHOICES) is chosen last, at everything chosen before it (:func:`choose_warmup`).  A saved search that
    differs only in its warm-up choice (none yet, other candidates) keeps everything else: only the warm-ups are
    solved.

    Returns ``(name, value, lam)`` (lam None for CSGM and the baselines).  ``auto`` has nothing of its own to
    tune: it chooses per problem, from the measurements alone, among :func:`auto_candidate_methods` run with the values
    their own searches chose (run first when missing; :func:`validated_options`)."""
    if method == "auto":
        for cand in auto_candidate_methods(cfg):
            choose(cand, m, x_val, val_ids, G, cfg, precision, image_shape, out)
        return "method", auto_rule(m, cfg["auto_selection"]), None
    if method == "csgm" and len(cfg.get("prior_models", {})) > 1:
        return choose_prior(m, x_val, val_ids, cfg, precision, image_shape, out)
    name, grid = hyperparameter_grid(method, cfg)
    # a method beyond the range takes CSGM's lam and prior at the same m
    lam = choose("csgm", m, x_val, val_ids, G, cfg, precision, image_shape, out)[1] if method in BEYOND else None
    key = f"{method} m={m}"
    state = load_selection(out)
    prior = chosen_prior(state, m) if method in BEYOND else None
    sha = prior_sha(cfg, prior) if method == "csgm" or method in BEYOND else None
    rec = state.get(key)
    fixed = cfg.get("beyond_fixed", {}).get(method, {}) if method in BEYOND else None
    options, defaults = beyond_choices(cfg, method, cfg["prior_models"][prior] if prior else G)
    own_best = [k for k in cfg.get("own_best", {}).get(method, []) if k in options]
    warmups, warmup_default = warmup_candidates(cfg, method)
    same = rec is not None and rec["grid"] == [float(v) for v in grid] and rec["val_images"] == val_ids \
        and rec.get("lam") == lam and rec.get("fixed") == fixed and rec.get("prior") == prior \
        and rec.get("prior_sha256") in (None, sha) \
        and {k: (v["candidates"], v.get("rule") if "searches" in v else None)
             for k, v in rec.get("choice", {}).items() if k != "warmup"} \
        == {k: (c, OWN_BEST_RULE if k in own_best else None) for k, c in options.items()}
    saved_warmup = (rec or {}).get("choice", {}).get("warmup")
    have = saved_warmup and (saved_warmup["candidates"], saved_warmup.get("rule"))
    if same and have == ((warmups, WARMUP_RULE) if warmups else None):
        return name, rec["chosen"], lam
    A, y = measure(x_val, m, cfg["noise"], seed=1)  # a different A and noise from the test run
    per_image, chosen, choice, extra = {}, {}, {}, []

    def solve(value, opts):
        opts = {**opts, "prior": prior} if prior else opts
        x_hat = run_method(method, y, A, G, cfg, value, precision, image_shape, lam=lam, chosen=opts)
        return [float(e) for e in ganprior.metrics.mse(x_hat, x_val)]

    if same:  # only the warm-up's choice is new (or gone): the saved search stands, with the options it chose
        rec = dict(rec, choice={k: v for k, v in rec.get("choice", {}).items() if k != "warmup"})
        if warmups:
            at = {k: v["chosen"] for k, v in rec["choice"].items()}
            rec["choice"]["warmup"], errs = choose_warmup(solve, rec["chosen"], at, warmups, warmup_default)
            write_validation(out, method, m, name, val_ids, {}, [("warmup", w, errs[w]) for w in warmups])
        if not rec["choice"]:
            del rec["choice"]
        state[key] = rec
        save_selection(out, state, cfg["methods"])
        return name, rec["chosen"], lam

    for opt, cands in options.items():  # one option at a time, at the hyperparameter's default
        if opt in own_best:
            continue
        at = BEYOND[method]["at"]
        errs = {c: solve(at, {**chosen, opt: c}) for c in cands}
        chosen[opt] = min(cands, key=lambda c: np.mean(errs[c]))  # ties: the first listed
        choice[opt] = dict(candidates=list(cands), at=at, tried=[[c, float(np.mean(errs[c]))] for c in cands],
                           chosen=chosen[opt], **({"default": defaults[opt]} if opt in defaults else {}))
        extra += [(opt, c, errs[c]) for c in cands]
        per_image[at] = errs[chosen[opt]]  # the search below reuses this solve

    def evaluate(value):
        if value not in per_image:
            per_image[value] = solve(value, chosen)
        return float(np.mean(per_image[value]))

    if own_best:  # (one such option) the hyperparameter's search for every candidate, then OWN_BEST_RULE
        opt = own_best[0]
        res, errs = own_best_choice(opt, options[opt], defaults.get(opt, options[opt][0]), chosen, solve, grid,
                                    SEARCH[name])
        chosen[opt], choice[opt] = res.pop("choice")["chosen"], res.pop("record")
        per_image.update(errs.pop(chosen[opt]))
        extra += [(f"{name} ({opt}={c})", v, e) for c, by_value in errs.items() for v, e in sorted(by_value.items())]
    else:
        res = widen_search(evaluate, grid, **SEARCH[name])
    if warmups:  # last, at what was chosen before it; the default's solve is the search's own
        choice["warmup"], errs = choose_warmup(solve, res["best"], chosen, warmups, warmup_default,
                                               known=per_image[res["best"]])
        extra += [("warmup", w, errs[w]) for w in warmups]
    if per_image:
        write_validation(out, method, m, name, val_ids, per_image, extra, fresh=True)
    state[key] = dict(method=method, m=m, hyperparameter=name, grid=[float(v) for v in grid],
                      n_val=len(val_ids), val_images=val_ids, **search_fields(res), rule=SEARCH[name])
    if lam is not None:
        state[key].update(lam=lam, fixed=fixed)
    if prior:
        state[key]["prior"] = prior
    if sha:
        state[key]["prior_sha256"] = sha
    if choice:
        state[key]["choice"] = choice
    save_selection(out, state, cfg["methods"])
    return name, res["best"], lam


def own_best_choice(opt, cands, default, chosen, solve, grid, rule):
    """The option ``opt`` chosen among ``cands`` each at its own best hyperparameter (CHOICE_AT_OWN_BEST): the
    hyperparameter's :func:`widen_search` over ``grid`` (``rule``: its SEARCH settings) with ``{**chosen, opt: c}``
    for every candidate ``c``, then OWN_BEST_RULE against ``default`` over the validation images, each candidate at
    its own best value (``solve(value, options)`` -> per-image errors).  Returns ``(res, errs)``: the chosen
    candidate's search result with ``choice`` (``{"chosen": c}``) and ``record`` (selection.json's ``choice[opt]``:
    candidates, default, rule, each candidate's best mean error, paired differences with their standard error,
    every candidate's search) added, and ``{c: {value: per-image errors}}`` of every solve made."""
    results, errs = {}, {}
    for c in cands:
        errs[c] = {}

        def evaluate(value, c=c):
            if value not in errs[c]:
                errs[c][value] = solve(value, {**chosen, opt: c})
            return float(np.mean(errs[c][value]))

        results[c] = widen_search(evaluate, grid, **rule)
    best = {c: errs[c][results[c]["best"]] for c in cands}
    pick, diffs = one_se_choice(best, default)
    record = dict(candidates=list(cands), default=default, rule=OWN_BEST_RULE,
                  tried=[[c, float(np.mean(best[c]))] for c in cands], paired=[[c, *diffs[c]] for c in diffs],
                  chosen=pick, searches={str(c): search_fields(results[c]) for c in cands})
    return dict(results[pick], choice={"chosen": pick}, record=record), errs


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


def choose_warmup(solve, value, opts, warmups, default, known=None):
    """The warm-up's choice at ``value`` and the options ``opts`` chosen before it: each of ``warmups`` solved on
    the validation images (``solve(value, options)`` -> per-image errors; ``known``: the default's, when already
    solved) and WARMUP_RULE applied against ``default``.  Returns ``(record, {warmup: errors})``; the record lists
    each mean, each paired difference to the default with its standard error, and the choice."""
    errs = {w: known if w == default and known is not None else solve(value, {**opts, "warmup": w}) for w in warmups}
    chosen, diffs = one_se_choice(errs, default)
    return dict(candidates=list(warmups), at=value, default=default, rule=WARMUP_RULE,
                tried=[[w, float(np.mean(errs[w]))] for w in warmups],
                paired=[[w, *diffs[w]] for w in diffs], chosen=chosen), errs


def choose_prior(m, x_val, val_ids, cfg, precision, image_shape, out):
    """CSGM's search at ``m`` with each prior of ``cfg["prior_models"]`` (PRIOR_CHOICES, the preset's first): the
    lam search of :func:`choose` with each, then the prior whose chosen lam has the lowest mean validation MSE
    (PRIOR_RULE: only where it is lower than the preset's by more than one standard error of the paired difference
    over the validation images; the record's ``paired`` lists each mean difference and standard error). The
    record's top level is the chosen prior's search; ``choice["prior"]`` keeps every
    prior's (``searches``). A search of the preset's prior saved before the choice existed (same grid and
    validation images) is reused, not solved again, and so is each prior's search of an earlier choice among other
    candidates (a prior added to PRIOR_CHOICES is searched alone). Returns ``(name, lam, None)``."""
    names = list(cfg["prior_models"])
    name, grid = hyperparameter_grid("csgm", cfg)
    grid = [float(v) for v in grid]
    key = f"csgm m={m}"
    state = load_selection(out)
    rec = state.get(key)
    same = rec is not None and rec["grid"] == grid and rec["val_images"] == val_ids
    sha = {p: prior_sha(cfg, p) for p in names}
    saved = rec.get("choice", {}).get("prior", {}).get("searches", {}) if same else {}
    # a search is reused only if solved with these weights (records from before fingerprints: accepted)
    saved = {p: s for p, s in saved.items() if p in sha and s.get("prior_sha256") in (None, sha[p])}
    if same and rec.get("choice", {}).get("prior", {}).get("candidates") == names \
            and rec["choice"]["prior"].get("rule") == PRIOR_RULE and set(saved) == set(names):
        return name, rec["chosen"], None
    A, y = measure(x_val, m, cfg["noise"], seed=1)
    searches, extra = {}, []
    for p in names:
        if p == names[0] and same and "choice" not in rec and rec.get("prior_sha256") in (None, sha[p]):
            searches[p] = {k: rec[k] for k in SEARCH_KEYS}  # the preset's search from before the choice
        elif p in saved:  # this prior's search from a choice among other candidates (a prior added since)
            searches[p] = {k: saved[p][k] for k in SEARCH_KEYS}
        if p in searches:
            searches[p]["prior_sha256"] = sha[p]
            continue
        per_image = {}

        def evaluate(value, p=p, per_image=per_image):
            x_hat = run_method("csgm", y, A, None, cfg, value, precision, image_shape, chosen={"prior": p})
            per_image[value] = [float(e) for e in ganprior.metrics.mse(x_hat, x_val)]
            return float(np.mean(per_image[value]))

        res = widen_search(evaluate, grid, **SEARCH[name])
        searches[p] = dict(search_fields(res), prior_sha256=sha[p])
        option = name if p == names[0] else f"{name} (prior={p})"  # the preset's rows: as without a choice
        extra += [(option, v, errs) for v, errs in sorted(per_image.items())]
    best = {p: dict((v, e) for v, e in s["tried"])[s["chosen"]] for p, s in searches.items()}
    write_validation(out, "csgm", m, name, val_ids, {}, extra)
    # the per-image validation errors of each prior at its chosen lam, against the preset's (paired over the images)
    errs = validation_errors(out, m, {p: (name if p == names[0] else f"{name} (prior={p})", searches[p]["chosen"])
                                      for p in names}, val_ids)
    chosen, diffs = one_se_choice(errs, names[0], score=best.get)
    state[key] = dict(method="csgm", m=m, hyperparameter=name, grid=grid, n_val=len(val_ids), val_images=val_ids,
                      **searches[chosen], rule=SEARCH[name],
                      choice={"prior": dict(candidates=names, default=names[0], tried=[[p, best[p]] for p in names],
                                            rule=PRIOR_RULE, paired=[[p, *diffs[p]] for p in names[1:]],
                                            chosen=chosen, searches=searches)})
    save_selection(out, state, cfg["methods"])
    return name, searches[chosen]["chosen"], None


def validation_errors(out, m, wanted, val_ids):
    """CSGM's per-image validation MSE at ``m`` from validation.csv (read once): ``wanted`` maps a key to a
    hyperparameter label and value, ``(option, value)``; returns key -> the errors in the order of ``val_ids``."""
    keys = {(option, float(value)): key for key, (option, value) in wanted.items()}
    got = {key: {} for key in wanted}
    with open(Path(out) / "validation.csv") as f:
        for r in csv.DictReader(f):
            key = keys.get((r["hyperparameter"], float(r["value"]))) if r["method"] == "csgm" and int(r["m"]) == m \
                else None
            if key is not None:
                got[key][int(r["image"])] = float(r["mse"])
    for key, (option, value) in wanted.items():
        missing = [i for i in val_ids if i not in got[key]]
        if missing:
            raise RuntimeError(f"validation.csv lacks CSGM's errors at m={m} for {option} = {value:g} on images "
                               f"{missing[:5]}: run the CSGM search again (delete its record in selection.json).")
    return {key: [got[key][i] for i in val_ids] for key in wanted}


def one_se_choice(errs, default, score=None):
    """The one-standard-error rule of PRIOR_RULE, WARMUP_RULE and OWN_BEST_RULE: among the candidates of ``errs``
    (candidate -> per-image validation errors, paired over the images), those whose paired difference to
    ``default``'s is below zero by more than its standard error, the lowest ``score`` (default: the mean error)
    of them, else ``default``.  Returns ``(chosen, {candidate: (mean difference, standard error)})``, the others
    than ``default`` in the order of ``errs``."""
    diffs = {c: paired_difference(e, errs[default]) for c, e in errs.items() if c != default}
    better = [c for c in diffs if diffs[c][0] + diffs[c][1] < 0]  # below the default's by more than 1 SE
    return (min(better, key=score or (lambda c: np.mean(errs[c]))) if better else default), diffs


def paired_difference(a, b):
    """Mean of ``a - b`` over the images and its standard error."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0


def prior_sha(cfg, prior=None):
    """The fingerprint (:func:`prior_fingerprints`) of the prior a search solves with: ``prior`` (a PRIOR_CHOICES
    name), else the run's own; None when the run has none recorded. Searches keep it as ``prior_sha256`` and are
    reused only with the same weights behind the name -- a folder started with a copy of selection.json has no
    metadata.json whose ``priors_sha256`` could catch a retrained prior."""
    return (cfg.get("fingerprints") or {}).get(prior if prior is not None else cfg.get("own_prior"))


def chosen_prior(state, m):
    """The prior CSGM's search chose at ``m`` (PRIOR_CHOICES), ``None`` for the preset's (or no choice): the prior of
    every latent method at that m."""
    return chosen_options(state.get(f"csgm m={m}")).get("prior")


def auto_rule(m, selection):
    """How ``auto`` chooses at ``m`` with the keyword arguments ``selection`` (AUTO_DEFAULT), as its rows'
    value: ``"cv (<choice>, <K>-fold)"`` or ``"cv (<choice>, <fraction> split)"``, the held-out rows as
    :func:`ganprior.solvers.holdout.cv_plan` resolves recover's defaults."""
    fraction, folds = cv_plan(m, selection.get("cv_fraction"), selection.get("cv_folds"))
    return f"cv ({selection['choice']}, {f'{folds}-fold' if folds else f'{fraction:.0%} split'})"


def row_search(state, method, m, selection=AUTO_DEFAULT, candidates=()):
    """What a row of (method, m) must have been solved with: its method's saved search; for ``auto``, which has
    none, ``{"hyperparameter": "method", "chosen": auto_rule(m, selection)}``, the prior CSGM chose at ``m`` and
    the fingerprint of its ``candidates``' validated options (:func:`candidates_digest`; ``None`` while a
    candidate's search is missing: what the rows were solved with cannot be told yet)."""
    if method != "auto":
        return state.get(f"{method} m={m}")
    prior = chosen_prior(state, m)
    digest = candidates_digest(state, m, candidates)
    if digest is None:
        return None
    return dict(hyperparameter="method", chosen=auto_rule(m, selection), **({"prior": prior} if prior else {}),
                fixed={"candidates": digest})


def candidates_digest(state, m, candidates):
    """The first 8 hex digits of the SHA-256 of ``json.dumps(options, sort_keys=True)``, ``options`` being
    ``{method: validated_options(method, m, state)}`` over ``candidates`` (metadata.json's ``auto[m]``): part of
    ``auto``'s row label, so that a candidate's search redone (another alpha, cut, fixed argument) makes the auto
    rows at ``m`` stale as it makes the candidate's own.  ``None`` if a candidate has no search at ``m``."""
    if any(f"{k} m={m}" not in state for k in candidates):
        return None
    options = {k: validated_options(k, m, state) for k in candidates}
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:8]


def auto_candidate_methods(cfg):
    """The methods ``auto`` compares: the preset's own and those beyond the range."""
    return [k for k in cfg["methods"] if k != "auto"] + [k for k in BEYOND if k not in cfg["methods"]]


def chosen_options(search, explicit=False):
    """The options a saved search chose or was given besides its hyperparameter (``{}`` if none): BEYOND_CHOICES
    (ILO's cut), the prior CSGM's search chose (PRIOR_CHOICES), or that prior in a later method's record. A choice
    of the ``default`` (the preset's prior) is left out of a row's label: its rows are the rows of the run without
    the choice. ``explicit``: every choice, the defaults too -- what a solve is given, so that no option falls back
    on the prior's recipe (``recover`` fills an option it is not given from ``G.recipe``, whose value at m need not
    be the search's default)."""
    search = search or {}
    opts = {"prior": search["prior"]} if search.get("prior") else {}
    opts.update({k: v["chosen"] for k, v in search.get("choice", {}).items()
                 if explicit or "default" not in v or v["chosen"] != v["default"]})
    return opts


def validated_options(method, m, state, explicit=False):
    """The arguments of ``recover`` that ``method``'s validation search chose at ``m`` (from selection.json):
    its hyperparameter, plus CSGM's lam and the fixed basis / cut for a method beyond the range (``explicit``:
    the choices equal to their default too, :func:`chosen_options`; what a solve is given)."""
    rec = state[f"{method} m={m}"]
    opts = {rec["hyperparameter"]: rec["chosen"]}
    if rec.get("lam") is not None:
        opts["lam"] = rec["lam"]
    opts.update(rec.get("fixed") or {})
    # the prior is not an argument of recover: auto runs every candidate with the prior chosen at m (row_search)
    opts.update({k: v for k, v in chosen_options(rec, explicit).items() if k != "prior"})
    return opts


def solve_options(method, m, state, cfg, G):
    """What a study that calls ``recover`` itself gives a solve of ``method`` at ``m`` with the prior ``G``: the
    validated options with every choice named, over :func:`beyond_defaults` (as :func:`run_method` does) -- never
    the prior's recipe."""
    return {**beyond_defaults(method, cfg, G), **validated_options(method, m, state, explicit=True)}


def solve_rows(method, m, state, search, y, A, G, cfg, precision, image_shape):
    """Solve the test problems ``y`` of ``(method, m)`` as its rows are solved: the value, lam and options of its
    saved ``search`` (:func:`row_search` of ``state``; every choice given, :func:`chosen_options` with
    ``explicit``), ``auto`` among its candidates' validated options.  The one place a test row's solve is made (the
    grid and ``--verify``)."""
    if search is None:
        raise ValueError(f"no saved search for {method} at m = {m}: its rows cannot be solved as they were")
    cands = ({k: validated_options(k, m, state, explicit=True) for k in auto_candidate_methods(cfg)}
             if method == "auto" else None)
    return run_method(method, y, A, G, cfg, search["chosen"], precision, image_shape, lam=search.get("lam"),
                      candidates=cands, chosen=chosen_options(search, explicit=True))


def verify_rows(out, methods, ms, x_test, G, cfg, precision, image_shape, k):
    """Solve the first ``k`` test images of every ``(method, m)`` with rows in ``out`` again (one batch, as the
    grid's first chunk when ``k`` is its ``--chunk``) with :func:`solve_rows`, and compare their MSE with
    per_image.csv as written (6 significant digits).  Returns one dict per (method, m): ``identical`` (how many
    of the ``k`` rows), the old and new means, the largest relative difference of a row and ``status``
    (``"checked"``, ``"stale"`` where a row is not of the saved search's value, ``"missing"`` where one of the ``k``
    images has no row).  Solves nothing new into
    ``out``; bitwise agreement needs the thread count and chunk the rows were solved with (metadata.json)."""
    state = load_selection(out)
    candidates = auto_candidate_methods(cfg)
    rows = read_rows(out / "per_image.csv")
    methods = methods or list(dict.fromkeys(r["method"] for r in rows))
    by_key = {(r["method"], int(r["m"]), int(r["image"])): r for r in rows}
    report = []
    for m in ms:
        A = y = None
        for method in methods:
            have = [by_key.get((method, m, i)) for i in range(k)]
            if not any(have):
                continue
            entry = dict(method=method, m=m, n=k, identical=0, old_mean=float("nan"), new_mean=float("nan"),
                         max_rel_diff=float("nan"))
            search = row_search(state, method, m, cfg["auto_selection"], candidates)
            if None in have:
                report.append(dict(entry, status="missing"))
                continue
            if search is None or not all(is_current(r, search) for r in have):
                report.append(dict(entry, status="stale"))
                continue
            if A is None:
                A, y = measure(x_test, m, cfg["noise"], seed=0)
            x_hat = solve_rows(method, m, state, search, y[:k], A, G, cfg, precision, image_shape)
            new = [f"{float(e):.6g}" for e in ganprior.metrics.mse(x_hat, x_test[:k])]
            old = [r["mse"] for r in have]
            a, b = np.array([float(v) for v in old]), np.array([float(v) for v in new])
            report.append(dict(entry, status="checked", identical=sum(u == v for u, v in zip(old, new)),
                               old_mean=float(a.mean()), new_mean=float(b.mean()),
                               max_rel_diff=float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-30)))))
            r = report[-1]
            print(f"verify {method:>14} m={m:>5}: {r['identical']}/{k} identical (largest relative difference "
                  f"{r['max_rel_diff']:.2g}), mean {r['old_mean']:.6g} (rows) vs {r['new_mean']:.6g} (now)",
                  flush=True)
    return report


def load_selection(out):
    path = Path(out) / "selection.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _replace(path, text):
    """Write a whole file at once (a temporary file, then an atomic rename)."""
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_csv(path, fields, rows):
    """Write a whole CSV file (header and ``rows``, dicts) at once with :func:`_replace`."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    _replace(path, buf.getvalue())


def _fmt(v):
    return f"{v:g}"


def selection_lines(state, method_order):
    """selection.log: one line per search, every value tried (sorted) with its mean validation MSE."""
    rank = {k: i for i, k in enumerate(method_order)}
    lines = []
    for rec in sorted(state.values(), key=lambda r: (rank.get(r["method"], 99), r["method"], r["m"])):
        items = ([] if rec.get("lam") is None else [f"lam = {_fmt(rec['lam'])}"]) \
            + ([f"prior = {rec['prior']}"] if rec.get("prior") else []) \
            + [f"{k} = {v}" for k, v in (rec.get("fixed") or {}).items()] \
            + [f"{k} = {c['chosen']} (" + (f"at {rec['hyperparameter']} {_fmt(c['at'])}" if "at" in c else
                                           f"each at its best {rec['hyperparameter']}") + ": "
               + ", ".join(f"{v}: {e:.5g}" + ("" if "searches" not in c else
                                             f" at {_fmt(c['searches'][str(v)]['chosen'])}")
                           for v, e in c["tried"]) + ")"
               for k, c in rec.get("choice", {}).items()]
        given = " [" + "; ".join(items) + "]" if items else ""
        if rec["status"] == "single":
            lines.append(f"{rec['method']} m={rec['m']}{given}: {rec['hyperparameter']} = {_fmt(rec['chosen'])} "
                         "(a one-value grid: no search)")
            continue
        values = [v for v, _ in rec["tried"]]
        widened = [v for v in values if v not in rec["grid"]]
        lines.append(f"{rec['method']} m={rec['m']}{given}: {rec['hyperparameter']} grid [{', '.join(map(_fmt, rec['grid']))}]"
                     + (f" + widened [{', '.join(map(_fmt, widened))}]" if widened else "")
                     + f" -> validation MSE ({rec['n_val']} images) "
                     + ", ".join(f"{_fmt(v)}: {e:.5g}" for v, e in rec["tried"])
                     + f" -> {_fmt(rec['chosen'])} ({rec['status']})")
    return lines


def save_selection(out, state, method_order):
    _replace(Path(out) / "selection.json", json.dumps(state, indent=1) + "\n")
    _replace(Path(out) / "selection.log", "\n".join(selection_lines(state, method_order)) + "\n")


def write_validation(out, method, m, name, val_ids, per_image, extra=(), fresh=False):
    """validation.csv: the per-image validation MSE of every value tried (a repeated search replaces its rows:
    those of (method, m) with a hyperparameter written here; ``fresh``: every row of (method, m), a whole search
    made anew); ``extra``: ``(option, candidate, errors)``, rows of their own (a BEYOND_CHOICES option, or the
    hyperparameter at another candidate of one chosen at its own best: ``radius (cut=6)``; CSGM's lam with a prior
    other than the preset's: ``lam (prior=NAME)``)."""
    path = Path(out) / "validation.csv"
    rows = []
    written = ({name} if per_image else set()) | {opt for opt, _, _ in extra}
    if path.exists():
        with open(path) as f:
            rows = [r for r in csv.DictReader(f)
                    if not (r["method"] == method and int(r["m"]) == m and (fresh or r["hyperparameter"] in written))]
    for value in sorted(per_image):
        rows += [dict(method=method, m=m, hyperparameter=name, value=_fmt(value), image=i, mse=f"{e:.6g}")
                 for i, e in zip(val_ids, per_image[value])]
    for opt, c, errs in extra:
        rows += [dict(method=method, m=m, hyperparameter=opt, value=str(c), image=i, mse=f"{e:.6g}")
                 for i, e in zip(val_ids, errs)]
    write_csv(path, VAL_FIELDS, rows)


def read_rows(per_image):
    """The rows of per_image.csv, repaired for a resume: a torn last line (a run killed mid-write) is cut off and
    a repeated (method, m, image) keeps its first row only; the file is rewritten if anything was dropped."""
    text = per_image.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        print(f"{per_image}: dropped a torn last line", file=sys.stderr)
        _replace(per_image, text)
    rows, seen = [], set()
    for r in csv.DictReader(io.StringIO(text)):
        key = (r["method"], int(r["m"]), int(r["image"]))
        if key not in seen and None not in r.values():
            seen.add(key)
            rows.append(r)
    if len(rows) != text.count("\n") - 1:
        print(f"{per_image}: dropped {text.count(chr(10)) - 1 - len(rows)} repeated or broken rows", file=sys.stderr)
        write_csv(per_image, FIELDS, rows)
    return rows


def row_label(name, value, lam=None, chosen=None, fixed=None):
    """The ``(hyperparameter, value)`` columns of a test row solved with ``value`` (and CSGM's ``lam``, the
    options ``chosen`` by a BEYOND_CHOICES search, and the method's ``fixed`` arguments, BEYOND_FIXED)."""
    given = ([] if lam is None else [f"lam={lam:g}"]) + [f"{k}={v}" for k, v in (chosen or {}).items()] \
        + [f"{k}={v}" for k, v in (fixed or {}).items()]
    return (f"{name} ({'; '.join(given)})" if given else name), str(value)


def is_current(row, search):
    """Whether a test row was solved with the value its method's saved search chose (``search``: the
    selection.json entry for its (method, m), ``None`` when there is none; for ``auto``, :func:`row_search`'s
    record of the prior chosen at m). A row without a saved search is not current: where it came from is
    unknown, so its (method, m) is searched and the row kept only if the search chooses its value."""
    if search is None:
        return False
    return (row["hyperparameter"], row["value"]) == row_label(
        search["hyperparameter"], search["chosen"], search.get("lam"), chosen_options(search), search.get("fixed"))


def drop_stale_rows(per_image, method, m, search):
    """Remove from per_image.csv the rows of (method, m) solved with another value than ``search`` chose (a
    search redone on a wider grid or more validation images): they are solved again, never mixed with rows of
    the current value. Rows of the chosen value are kept (the same value, A and seeds give the same solve).
    Returns the (method, m, image) keys of the rows of (method, m) kept, from the one read of the file."""
    rows = read_rows(per_image)
    stale = [r for r in rows if r["method"] == method and int(r["m"]) == m and not is_current(r, search)]
    if stale:
        print(f"{per_image}: {len(stale)} rows of {method} m={m} were solved with "
              f"{stale[0]['hyperparameter']} = {stale[0]['value']}, not the chosen value: solved again",
              file=sys.stderr)
        gone = set(map(id, stale))
        write_csv(per_image, FIELDS, [r for r in rows if id(r) not in gone])
    return {(r["method"], int(r["m"]), int(r["image"])) for r in rows
            if r["method"] == method and int(r["m"]) == m and is_current(r, search)}


def append_rows(per_image, rows):
    """Append a chunk's rows with ONE write to an O_APPEND file, then fsync: a killed run loses whole chunks."""
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n").writerows(rows)
    fd = os.open(per_image, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, buf.getvalue().encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def prior_fingerprints(models):
    """``{name: the first 16 hex digits of the SHA-256 of its weights}`` for the priors of a run (``models``:
    name -> :class:`ganprior.Generator`), recorded in metadata.json as ``priors_sha256``.  Rows are matched to
    their searches by labels that name a prior, not its weights: the fingerprint is what tells new weights behind
    the same name (a retrained ``mnist``) from the weights the rows were solved with."""
    return {name: weights_sha256(G) for name, G in models.items()}


def check_fingerprints(mine, theirs, where):
    """Raise before any work if a prior named in both ``mine`` and ``theirs`` (``priors_sha256`` records) has
    other weights in one than in the other."""
    changed = sorted(k for k in set(mine or {}) & set(theirs or {}) if mine[k] != theirs[k])
    if changed:
        raise ValueError(
            f"The weights of prior(s) {changed} differ from those the rows of {where} were solved with (SHA-256 "
            f"{', '.join(f'{k}: {theirs[k]} there, {mine[k]} here' for k in changed)}). Rows of different weights "
            "are not comparable: solve into a fresh --out, or remove the rows of the latent methods and the "
            "'priors_sha256' entry of its metadata.json.")


MERGED = "   # run into a separate folder and merged"  # the note a merged folder's commands carry


def merged_commands(target, theirs):
    """The target's commands, then those of a merged folder's that the target does not have, each once and with
    the note MERGED: a folder started with a copy of the target (of its state then or of an earlier one) carries
    the target's history, which is not recorded again."""
    have = set(target)
    own = [c if c.endswith(MERGED) else c + MERGED for c in theirs if c and c not in have]
    return list(target) + [c for c in dict.fromkeys(own) if c not in have and c[:-len(MERGED)] not in have]


def searched_methods(meta, candidates=()):
    """The methods whose searches a run recorded in ``meta`` (a folder's metadata.json) may have made: its
    ``methods``, CSGM where one of them leaves the range (its lam is CSGM's, searched first), every candidate of
    ``auto`` (``candidates``).  ``None`` where that cannot be told (no metadata or methods; auto without its
    candidates): then every record counts."""
    methods = (meta or {}).get("methods")
    if not methods or ("auto" in methods and not candidates):
        return None
    made = set(methods) | (set(candidates) if "auto" in methods else set())
    return made | {"csgm"} if made & set(BEYOND) else made


def merge_runs(out, folders, candidates=(), selection=AUTO_DEFAULT):
    """Merge the results of runs made into separate folders (e.g. one per method, run at once) into ``out``:
    their searches at the m the folder's run covered (its metadata.json "m"; selection.json entries) of the methods
    it searched (:func:`searched_methods`: a folder copied from ``out`` holds copies of the other records), their
    per_image.csv rows for (method, m, image) that ``out`` lacks (if current under the merged searches: a folder
    copied from ``out`` keeps the rows its own searches made stale), their validation.csv rows for the (method, m)
    of those searches, and their commands (metadata.json).  ``out`` is created when missing.

    A folder's search at an m it ran is the later one: where ``out`` holds another record for it (a search
    redone with other fixed arguments, a wider grid or another prior), the folder's replaces it, with its
    validation rows, and ``out``'s test rows that are not current under it are dropped first, so that the
    folder's rows take their place; so are ``out``'s ``auto`` rows at those m that are not current under the new
    searches of their ``candidates`` (:func:`row_search` with ``selection``).  Returns the number of rows added."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    per_image = out / "per_image.csv"
    have = {(r["method"], int(r["m"]), int(r["image"])) for r in read_rows(per_image)} if per_image.exists() else set()
    if not per_image.exists():
        _replace(per_image, ",".join(FIELDS) + "\n")
    state = load_selection(out)
    vpath = out / "validation.csv"
    vrows = list(csv.DictReader(io.StringIO(vpath.read_text()))) if vpath.exists() else []
    meta_path = out / "metadata.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    added = 0
    base_cmds, base_total = list(meta.get("commands", [])), meta.get("wall_time_total_s", 0.0)
    folders = [Path(f) for f in folders]
    metas = {f: json.loads((f / "metadata.json").read_text()) if (f / "metadata.json").exists() else None
             for f in folders}
    for folder in folders:  # every folder checked before anything is merged
        theirs_fp = (metas[folder] or {}).get("priors_sha256")
        check_fingerprints(theirs_fp, meta.get("priors_sha256"), out)
        if theirs_fp:
            meta["priors_sha256"] = {**theirs_fp, **meta.get("priors_sha256", {})}
    for folder in folders:
        theirs = load_selection(folder)
        # a folder started with a copy of selection.json holds every m's records; only those at the m it ran, of the
        # methods it searched, are its own
        ran = set((metas[folder] or {}).get("m") or [v["m"] for v in theirs.values()])
        made = searched_methods(metas[folder], candidates)
        fresh = {k: v for k, v in theirs.items()
                 if v["m"] in ran and (made is None or v["method"] in made) and state.get(k) != v}
        replaced = {k for k in fresh if k in state}
        state.update(fresh)
        moved = {v["m"] for v in fresh.values()} if candidates else set()
        searches = {}  # (method, m) -> row_search under the merged state, once per pair

        def stale_under(r):  # not of what the merged searches chose
            key = (r["method"], int(r["m"]))
            if key not in searches:
                searches[key] = row_search(state, *key, selection, candidates)
            return searches[key] is not None and not is_current(r, searches[key])

        def stale(r):  # out's rows: only those of the searches this folder replaced (and auto's where they moved)
            if f"{r['method']} m={r['m']}" not in replaced and not (r["method"] == "auto" and int(r["m"]) in moved):
                return False
            return stale_under(r)

        if replaced or moved:  # out's rows that the folder's searches made stale give way to the folder's
            rows = read_rows(per_image)
            keep = [r for r in rows if not stale(r)]
            if len(keep) < len(rows):
                write_csv(per_image, FIELDS, keep)
                have = {(r["method"], int(r["m"]), int(r["image"])) for r in keep}
        # the folder's rows that out lacks, if current under the merged searches (a folder copied from an earlier
        # state of out still holds the rows its own searches made stale)
        new = [r for r in read_rows(folder / "per_image.csv") if (r["method"], int(r["m"]), int(r["image"])) not in have
               and not stale_under(r)]
        if new:
            append_rows(per_image, new)
            have |= {(r["method"], int(r["m"]), int(r["image"])) for r in new}
            added += len(new)
        if (folder / "validation.csv").exists():
            keys = {(v["method"], int(v["m"])) for v in fresh.values()}
            vrows = [r for r in vrows if (r["method"], int(r["m"])) not in keys]
            theirs_v = csv.DictReader(io.StringIO((folder / "validation.csv").read_text()))
            vrows += [r for r in theirs_v if (r["method"], int(r["m"])) in keys]
        if (new or fresh) and metas[folder] is not None:  # a repeated merge records nothing twice
            other = metas[folder]
            cmds = other.get("commands", [other.get("command")])
            copied = bool(base_cmds) and cmds[:len(base_cmds)] == base_cmds
            meta["commands"] = merged_commands(meta.get("commands", []), cmds)
            meta["wall_time_total_s"] = round(meta.get("wall_time_total_s", 0.0) + other.get("wall_time_total_s", 0.0)
                                              - (base_total if copied else 0.0), 1)
    write_csv(vpath, VAL_FIELDS, vrows)
    _replace(out / "selection.json", json.dumps(state, indent=1) + "\n")
    if meta:
        meta_path.write_text(json.dumps(meta, indent=2, default=float) + "\n")
    return added


def validation_report(out, sizes):
    """How many validation images the choice needs: on the pool of validation.csv (one search per method and m),
    the choice made on each of the disjoint blocks of k consecutive images vs the choice on the whole pool, and
    what a different choice costs on the rest of the pool (excess mean validation MSE). Writes
    validation_size.csv and validation_size.md; returns the rows."""
    out = Path(out)
    with open(out / "validation.csv") as f:
        vrows = list(csv.DictReader(f))
    report = []
    for method, m, hyper in sorted({(r["method"], int(r["m"]), r["hyperparameter"]) for r in vrows}):
        sub = [r for r in vrows if r["method"] == method and int(r["m"]) == m and r["hyperparameter"] == hyper]
        values = sorted({float(r["value"]) for r in sub})
        images = sorted({int(r["image"]) for r in sub})
        col = {i: j for j, i in enumerate(images)}
        E = np.full((len(values), len(images)), np.nan)
        for r in sub:
            E[values.index(float(r["value"])), col[int(r["image"])]] = float(r["mse"])
        pool_best = int(np.argmin(E.mean(axis=1)))
        for k in sizes:
            n_blocks = len(images) // k
            if n_blocks < 2:
                continue
            agree, excess, rel, edge = [], [], [], 0
            for b in range(n_blocks):
                inside = np.zeros(len(images), bool)
                inside[len(images) - (b + 1) * k: len(images) - b * k] = True  # blocks from the end of the split
                c = int(np.argmin(E[:, inside].mean(axis=1)))
                rest_best = E[pool_best, ~inside].mean()
                agree.append(c == pool_best)
                excess.append(E[c, ~inside].mean() - rest_best)
                rel.append(excess[-1] / rest_best)
                edge += c in (0, len(values) - 1) and c != pool_best
            report.append(dict(method=method, m=m, hyperparameter=hyper, pool=len(images), k=k, blocks=n_blocks,
                               pool_choice=_fmt(values[pool_best]), agree=float(np.mean(agree)),
                               excess_mean=float(np.mean(excess)), excess_max=float(np.max(excess)),
                               excess_rel_mean=float(np.mean(rel)), excess_rel_max=float(np.max(rel)),
                               choices=" ".join(_fmt(values[int(np.argmin(E[:, len(images) - (b + 1) * k:
                                                                             len(images) - b * k].mean(axis=1)))])
                                                for b in range(n_blocks)),
                               edge_choices=edge))
    with open(out / "validation_size.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(report[0]), lineterminator="\n")
        w.writeheader()
        for r in report:
            w.writerow({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items()})
    pools = sorted({r["pool"] for r in report})
    lines = [f"Validation pool: the last {'/'.join(map(str, pools))} images of the training split, one search per "
             "method and m (validation.csv, selection.log). Each block of k consecutive images (from the end of the "
             "split, disjoint) chooses among the values the pool's search tried; 'agree' is how often it chooses the "
             "pool's value; 'excess' is the mean validation MSE of its choice minus that of the pool's choice, on the "
             "rest of the pool (the pool without the block), and relative to the latter.", "",
             "| method | m | pool choice | k | blocks | agree with pool | excess MSE mean / max (relative) |",
             "|---|---|---|---|---|---|---|"]
    for r in report:
        lines.append(f"| {r['method']} | {r['m']} | {r['pool_choice']} | {r['k']} | {r['blocks']} | "
                     f"{r['agree']:.0%} | {r['excess_mean']:.2g} / {r['excess_max']:.2g} "
                     f"({r['excess_rel_mean']:.1%} / {r['excess_rel_max']:.1%}) |")
    (out / "validation_size.md").write_text("\n".join(lines) + "\n")
    return report


def summarise(rows):
    out = []
    for method in sorted({r["method"] for r in rows}):
        for m in sorted({int(r["m"]) for r in rows if r["method"] == method}):
            errs = np.array([float(r["mse"]) for r in rows if r["method"] == method and int(r["m"]) == m])
            psnrs = np.array([float(r["psnr"]) for r in rows if r["method"] == method and int(r["m"]) == m])
            sd = errs.std(ddof=1) if len(errs) > 1 else 0.0
            out.append(dict(method=method, m=m, n=len(errs), mean=errs.mean(), std=sd,
                            ci95=1.96 * sd / math.sqrt(len(errs)), psnr_mean=psnrs.mean(),
                            psnr_ci95=1.96 * (psnrs.std(ddof=1) if len(psnrs) > 1 else 0.0) / math.sqrt(len(psnrs))))
    return out


def markdown_table(summary, methods):
    """The results' table (table.md, as benchmarks/README.md shows it): one row per m, one column per method,
    'mean +- 95% CI (PSNR)' with 3 and 2 significant figures (fixed decimals read 0.0000 +- 0.0000 where the Lasso
    is nearly exact); '–' where not run."""
    cell = {(r["method"], r["m"]): f"{r['mean']:#.3g} ± {r['ci95']:#.2g} ({r['psnr_mean']:.1f} dB)" for r in summary}
    lines = ["| m | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for m in sorted({r["m"] for r in summary}):
        lines.append(f"| {m} | " + " | ".join(cell.get((k, m), "–") for k in methods) + " |")
    return "\n".join(lines) + "\n"


def m_needed(summary, method, target):
    """Smallest m at which the method's mean error reaches `target`, by log-log interpolation (nan if never)."""
    pts = sorted((r["m"], r["mean"]) for r in summary if r["method"] == method)
    for (m0, e0), (m1, e1) in zip(pts, pts[1:]):
        if e0 <= target:
            return float(m0)
        if e1 <= target:
            t = (math.log(target) - math.log(e0)) / (math.log(e1) - math.log(e0))
            return float(math.exp(math.log(m0) + t * (math.log(m1) - math.log(m0))))
    return float(pts[0][0]) if pts and pts[0][1] <= target else float("nan")


def savings(summary, targets, out):
    methods = sorted({r["method"] for r in summary})
    rows = []
    for target in targets:
        row = {"target_mse": target}
        for method in methods:
            row[f"m_{method}"] = m_needed(summary, method, target)
        # the sparse baselines (no prior) against CSGM; each other latent method against the best baseline too
        baselines = [row[f"m_{mm}"] for mm in methods if mm in ALPHAS and not math.isnan(row[f"m_{mm}"])]
        for latent in ["csgm"] + [mm for mm in methods if mm in BEYOND or mm == "auto"]:
            key = "best_lasso_over_csgm" if latent == "csgm" else f"best_lasso_over_{latent}"
            if latent in methods and baselines and not math.isnan(row[f"m_{latent}"]):
                row[key] = min(baselines) / row[f"m_{latent}"]
            else:
                row[key] = float("nan")
        rows.append(row)
    with open(out / "savings.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method in methods:
        ax.plot(targets, [r[f"m_{method}"] for r in rows], "o-", label=method)
    reached = any(r[f"m_{method}"] > 0 for r in rows for method in methods)  # nan > 0 is False
    ax.set(xscale="log", yscale="log" if reached else "linear", xlabel="target per-pixel MSE",
           ylabel="measurements needed (interpolated)",
           title="Measurements needed for a target error")
    ax.invert_xaxis()
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "savings.png", dpi=120)
    plt.close(fig)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(PRESETS), default="mnist")
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--m", type=int, nargs="+", default=None)
    parser.add_argument("--n-images", type=int, default=None, help="test images (default: the paper's set)")
    parser.add_argument("--n-val", type=int, default=N_VAL,
                        help=f"validation images from the training split (default {N_VAL})")
    parser.add_argument("--restarts", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--chunk", type=int, default=50, help="images per batch (and per CSV append)")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                        help="auto (default): bf16 where the CPU computes it natively (the committed rows), else fp32")
    parser.add_argument("--schedule", choices=["constant", "cosine"], default="cosine")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="folder with mnist/, fashion_mnist/, celeba/ (validation images from the training split; "
                             "default $GANPRIOR_DATA or ../shared/data beside the repository)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 4 images, two m, short CSGM, no tuning")
    parser.add_argument("--random-prior", action="store_true", help="untrained generator (tests of the script only)")
    parser.add_argument("--prior", default=None,
                        help="a bundled prior's name or a prior / training-run folder instead of the preset's "
                             "(e.g. a candidate prior, compared with --validation-only)")
    parser.add_argument("--summary-only", action="store_true",
                        help="compute nothing: summarise, plot and write metadata from the rows in per_image.csv")
    parser.add_argument("--validation-only", action="store_true",
                        help="run the hyperparameter searches only (selection.log, validation.csv), no test images")
    parser.add_argument("--validation-report", type=int, nargs="+", default=None, metavar="K",
                        help="compute nothing: from validation.csv in --out, how often the choice on k validation "
                             "images agrees with the choice on the whole pool (validation_size.csv / .md)")
    parser.add_argument("--verify", type=int, default=None, metavar="K",
                        help="compute nothing new: solve the first K test images of every (method, m) with rows in "
                             "--out again, as the grid solves them, and report how many MSEs are identical (give "
                             "the --chunk and --threads the rows were solved with; exit status 1 on a difference)")
    parser.add_argument("--merge", nargs="+", default=None, metavar="FOLDER",
                        help="first merge the rows, searches and commands of runs made into these folders into --out")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    args.precision = ganprior.hardware.resolve_precision(args.precision, "cpu", owner="error_vs_measurements")[0]
    if args.merge:
        print(f"merged {merge_runs(args.out, args.merge, auto_candidate_methods(PRESETS[args.dataset]))} rows "
              f"into {args.out}")
    if args.validation_report:
        for r in validation_report(args.out, args.validation_report):
            print(f"{r['method']:>14} m={r['m']:>5} k={r['k']:>3}: agree {r['agree']:.0%} "
                  f"excess {r['excess_mean']:.2g} ({r['excess_rel_mean']:.1%})")
        return None
    torch.set_num_threads(args.threads)
    cfg = preset(args.dataset)
    if args.quick:
        cfg.update(n_test=4, restarts=3, steps=300, lr=0.05, lams=[0.0], m=cfg["m"][1:4:2])
        cfg["alphas"] = {k: [v[1]] for k, v in ALPHAS.items()}
        cfg["beyond_grids"] = {k: [v["grid"][1]] for k, v in BEYOND.items()}
        cfg["beyond_choices"] = {}
        cfg["warmup_choices"] = {}
    for key in ("restarts", "steps", "lr"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    cfg["chunk"] = args.chunk
    cfg["schedule"] = args.schedule
    methods = args.methods or cfg["methods"]
    ms = args.m or cfg["m"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()

    x_test = load_sample(cfg["sample"])[: args.n_images or cfg["n_test"]]
    image_shape = tuple(x_test.shape[1:])
    if args.random_prior:
        from ganprior.models import build_generator

        arch = "dcgan28" if image_shape[-1] == 28 else "dcgan64"
        G = ganprior.Generator(build_generator(arch, latent_dim=20, width=16, seed=0), name="random")
    else:
        G = ganprior.load_prior(args.prior or cfg["prior"])
    # CSGM's candidate priors (PRIOR_CHOICES; not with --prior or --random-prior, which fix one, nor --quick)
    names = [] if args.prior or args.random_prior or args.quick else PRIOR_CHOICES.get(args.dataset, [])
    cfg["prior_models"] = {names[0]: G, **{p: ganprior.load_prior(p) for p in names[1:]}} if names else {}
    fingerprints = prior_fingerprints(cfg["prior_models"] or {getattr(G, "name", None) or "prior": G})
    cfg["fingerprints"], cfg["own_prior"] = fingerprints, (names[0] if names else getattr(G, "name", None) or "prior")
    meta_path = out / "metadata.json"
    prev = json.loads(meta_path.read_text()) if meta_path.exists() else {}  # (after --merge wrote it)
    check_fingerprints(fingerprints, prev.get("priors_sha256"), out)

    per_image = out / "per_image.csv"
    if args.verify is not None:
        if args.verify < 1 or not per_image.is_file():
            raise SystemExit(f"--verify needs K >= 1 (got {args.verify}) and rows to check in {per_image}")
        return verify_rows(out, args.methods, ms, x_test, G, cfg, args.precision, image_shape, args.verify)
    candidates = auto_candidate_methods(cfg)
    done = set()
    if per_image.exists():
        saved = load_selection(out)
        rows = read_rows(per_image)
        searches = {key: row_search(saved, *key, cfg["auto_selection"], candidates)
                    for key in {(r["method"], int(r["m"])) for r in rows}}  # once per (method, m), not per row
        done = {(r["method"], int(r["m"]), int(r["image"])) for r in rows
                if is_current(r, searches[(r["method"], int(r["m"]))])}
    elif not args.validation_only:
        _replace(per_image, ",".join(FIELDS) + "\n")
    A_all, y_all = {}, {}
    # every (method, m) is checked, not only those with rows missing now: a search redone for another method (CSGM
    # choosing another prior) makes the current rows of a later method stale (their prior and lam)
    todo = [] if args.summary_only else [(meth, m) for m in ms for meth in methods]
    if todo:
        x_val, val_ids = validation_images(args.dataset, args.n_val, args.data_root or default_data_root())
    from tqdm.auto import tqdm

    # the rows missing now; a search made below can make more rows stale, and the total grows as it does
    missing = {(meth, m): sum((meth, m, i) not in done for i in range(len(x_test))) for meth, m in todo}
    bar = tqdm(total=0 if args.validation_only else sum(missing.values()), desc=f"{args.dataset} images",
               unit="img", file=sys.stdout, mininterval=10)
    for method, m in todo:
        name, value, lam = choose(method, m, x_val, val_ids, G, cfg, args.precision, image_shape, out)
        if args.validation_only:
            print(selection_lines({0: load_selection(out)[f"{method} m={m}"]}, methods)[0], flush=True)
            continue
        state = load_selection(out)
        search = row_search(state, method, m, cfg["auto_selection"], candidates)
        chosen = chosen_options(search)  # the row's label
        kept = drop_stale_rows(per_image, method, m, search)
        done = {k for k in done if k[:2] != (method, m)} | kept  # rows chosen again count, whatever was thought
        idx = [i for i in range(len(x_test)) if (method, m, i) not in done]
        if len(idx) != missing[(method, m)]:
            bar.total += len(idx) - missing[(method, m)]
            bar.refresh()
        if not idx:
            continue
        if m not in A_all:
            A_all[m], y_all[m] = measure(x_test, m, cfg["noise"], seed=0)
        A, y = A_all[m], y_all[m]
        for c in range(0, len(idx), args.chunk):
            part = idx[c:c + args.chunk]
            t = time.perf_counter()
            x_hat = solve_rows(method, m, state, search, y[part], A, G, cfg, args.precision, image_shape)
            sec = (time.perf_counter() - t) / len(part)
            mse = ganprior.metrics.mse(x_hat, x_test[part])
            psnr = ganprior.metrics.psnr(x_hat, x_test[part])
            label, text = row_label(name, value, lam, chosen, search.get("fixed"))
            append_rows(per_image, [dict(method=method, m=m, image=i, mse=f"{float(mse[j]):.6g}",
                                         psnr=f"{float(psnr[j]):.4f}", seconds=f"{sec:.4g}",
                                         operator=operator_name(m, x_test[0].numel()),
                                         hyperparameter=label, value=text) for j, i in enumerate(part)])
            bar.update(len(part))
    bar.close()
    state = load_selection(out)
    if state:  # selection.log from selection.json (also after merging the searches of several folders)
        save_selection(out, state, cfg["methods"])
    if args.validation_only:
        return state

    rows = [r for r in read_rows(per_image) if r["method"] in methods and int(r["m"]) in ms]
    summary = summarise(rows)
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        for r in summary:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    from ganprior.plotting import error_curves

    error_curves(summary, out / "error_vs_m.png",
                 title=f"{args.dataset}: {len(x_test)} test images, ||eta|| = {cfg['noise']}"
                       + (f", prior {args.prior}" if args.prior else ""))
    sav = savings(summary, cfg["savings_targets"], out)
    order = [k for k in cfg["methods"] if k in methods] + [k for k in methods if k not in cfg["methods"]]
    (out / "table.md").write_text(markdown_table(summary, order))
    searches = [dict(method=r["method"], m=r["m"], hyperparameter=r["hyperparameter"], n_val=r["n_val"],
                     grid=r["grid"], tried=r["tried"], chosen=r["chosen"], status=r["status"])
                for r in sorted(state.values(), key=lambda r: (r["method"], r["m"]))
                if r["method"] in methods and r["m"] in ms]
    meta = dict(command="python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
                dataset=args.dataset, n_test=len(x_test), n_val=args.n_val, methods=methods, m=ms,
                csgm=dict(restarts=cfg["restarts"], steps=cfg["steps"], lr=cfg["lr"], schedule=cfg["schedule"],
                          lam_grid=cfg["lams"], precision=args.precision, select="measurement",
                          **({"priors": list(cfg["prior_models"])} if cfg["prior_models"] else {})),
                alpha_grids={k: cfg["alphas"][k] for k in methods if k in cfg["alphas"]}, noise_norm=cfg["noise"],
                beyond={k: dict(hyperparameter=BEYOND[k]["name"], grid=hyperparameter_grid(k, cfg)[1],
                                fixed=cfg["beyond_fixed"].get(k, {}), lam="CSGM's choice at the same m",
                                **({"chosen_first": cfg["beyond_choices"][k]} if k in cfg["beyond_choices"] else {}),
                                **({"chosen_at_own_best": dict(options=cfg["own_best"][k], rule=OWN_BEST_RULE)}
                                   if cfg["own_best"].get(k) else {}),
                                **({"warmup_chosen_last": dict(fractions=cfg["warmup_choices"][k], rule=WARMUP_RULE,
                                                               **dict(zip(("steps", "default"),
                                                                          warmup_candidates(cfg, k))))}
                                   if cfg["warmup_choices"].get(k) else {}))
                        for k in methods if k in BEYOND},
                auto=({str(m): {k: validated_options(k, m, state) for k in candidates
                                if f"{k} m={m}" in state} for m in ms}
                      if "auto" in methods else None),
                auto_selection=({str(m): auto_rule(m, cfg["auto_selection"]) for m in ms}
                                if "auto" in methods else None),
                validation=dict(images=f"the last {args.n_val} images of the training split", n_val=args.n_val,
                                widening=SEARCH, open_edges=sum(r["status"] == "limit" for r in searches),
                                searches=searches),
                operator=f"gaussian N(0,1/m) while m*n <= {DENSE_LIMIT:g}, else subsampled-dct; one per m, "
                         "seed 0*100003+m (test), 1*100003+m (validation)",
                prior=getattr(G, "name", None), torch=torch.__version__, numpy=np.__version__,
                ganprior=ganprior.__version__, python=platform.python_version(), machine=platform.machine(),
                device="cpu", threads=args.threads, wall_time_s=round(time.time() - start, 1), savings=sav)
    meta["priors_sha256"] = {**prev.get("priors_sha256", {}), **fingerprints}
    # a resumed or extended run keeps the history of the commands that filled per_image.csv
    meta["commands"] = prev.get("commands", [prev["command"]] if "command" in prev else []) + [meta["command"]]
    meta["wall_time_total_s"] = round(prev.get("wall_time_total_s", prev.get("wall_time_s", 0.0)) + meta["wall_time_s"], 1)
    meta_path.write_text(json.dumps(meta, indent=2, default=float) + "\n")
    for r in summary:
        print(f"{r['method']:>14} m={r['m']:>5}  mse={r['mean']:.4f} +- {r['ci95']:.4f}  psnr={r['psnr_mean']:.2f}")
    return summary


if __name__ == "__main__":
    result = main()
    verified = any(a.startswith("--verify") for a in sys.argv[1:])
    if verified and any(r["status"] != "checked" or r["identical"] < r["n"] for r in result):
        sys.exit(1)
