r"""Choosing hyperparameters and the method from the measurements alone (no ground truth).

``recover(..., lam="cv")``, ``alpha="cv"`` (any numeric argument of a method, in fact) and
``method="auto"`` hold out a fraction of the measurement rows (or, with ``cv_folds=K``, each of K folds in
turn, so that every row is held out once), solve every candidate on the others
(each candidate is one batched solve of all problems per split), score the candidates by their error on the
held-out rows -- summed over the batch (``choice="shared"``, ``recover``'s default for an argument), per
problem (``"per-problem"``), or shared unless a problem's own rows clearly say otherwise (``"adaptive"``, its
default for the method) -- and refit the best on all rows.  By default 10% of the rows are held out, or 5 folds
where 10% would be fewer than 6 rows (``m <= 54``).  ``method="auto"`` costs a small multiple of one solve: its
held-out fits run half of the refit's restarts (:func:`holdout_restarts`), and after each fold but the last
the candidates clearly behind the best -- by a one-sided paired t-test over the problems, family-wise level
:data:`HALVING_LEVEL` -- are dropped and not solved again (successive halving, :func:`halving_drops`).
``lam="discrepancy"``
with ``noise_std`` instead picks the most regularising value whose fit stays within the noise level (the largest
weight ``lam``, ``alpha`` or ``tv``; the smallest ``radius``: :attr:`Method.regularisation
<ganprior.solvers.registry.Method.regularisation>`).  The candidate values of an argument, which way it
regularises, and which methods ``"auto"`` compares are entries of the method registry
(:attr:`~ganprior.solvers.registry.Method.cv_grids`, :attr:`~ganprior.solvers.registry.Method.auto`);
:data:`CV_GRIDS`, :data:`REGULARISATION` and :data:`AUTO_METHODS` are read-only views of it.

Cross-validation (Ward, IEEE T-IT 2009): with held-out rows :math:`a_i \sim \mathcal{N}(0, I/m)`
independent of :math:`\hat x`, the held-out mean squared residual
:math:`\frac1r\|y_{cv} - A_{cv}\hat x\|^2` has expectation :math:`\|x - \hat x\|^2/m + \sigma^2`,
so ranking candidates by it ranks them by their true error, with no noise level needed.  The
discrepancy principle picks the largest regularisation with :math:`\|y - A\hat x\|^2 \le \tau m
\sigma^2`; ``recover`` uses :math:`\tau = 1.5` (a fit with :math:`k` free latent dimensions leaves
about :math:`(m - k)\sigma^2`, and the noise's own :math:`\|\eta\|^2` scatters by
:math:`\sqrt{2m}\,\sigma^2` around :math:`m\sigma^2`, so :math:`\tau = 1` often admits nothing).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from .._convert import as_generator
from .._validation import check_choice, check_float, check_int
from .holdout import held_count, as_float64, cv_plan, float64_copy, holdout_folds, holdout_rows, residual
from ..likelihoods import get_likelihood
from .registry import auto_methods, get_method, method_names, method_recipe
from .settings import resolve_settings

__all__ = ["CV_GRIDS", "REGULARISATION", "AUTO_METHODS", "CHOICES", "HALVING_LEVEL", "auto_candidates", "rule_arguments",
           "holdout_errors", "holdout_restarts", "holdout_steps", "halving_drops", "choose_candidates", "shared_choice",
           "select_and_recover", "INCUMBENT_LEVEL",
           "INTERNAL_WARNINGS", "quiet_solver_warnings"]



class _ArgumentView(Mapping):
    """A read-only ``{argument: value}`` view of one field of the registered methods (the first method, by name,
    that has the argument gives its value); it follows the registry as methods are added."""

    def __init__(self, attribute):
        self._attribute = attribute

    def _merged(self):
        out = {}
        for name in method_names():
            for key, value in getattr(get_method(name), self._attribute).items():
                out.setdefault(key, value)
        return out

    def __getitem__(self, key):
        return self._merged()[key]

    def __iter__(self):
        return iter(self._merged())

    def __len__(self):
        return len(self._merged())

    def __repr__(self):
        return repr(self._merged())


class _AutoView(Sequence):
    """A read-only view of :func:`~ganprior.solvers.registry.auto_methods`, as a tuple."""

    def __getitem__(self, index):
        return tuple(auto_methods())[index]

    def __len__(self):
        return len(auto_methods())

    def __repr__(self):
        return repr(tuple(auto_methods()))


#: Candidate values per argument name for ``"cv"`` / ``"discrepancy"``: a read-only view of the registered
#: methods' :attr:`~ganprior.solvers.registry.Method.cv_grids` (where a method states its own grids).
CV_GRIDS = _ArgumentView("cv_grids")
#: Candidates of ``method="auto"`` (the latent methods need G, the baselines do not): a read-only view of the
#: methods registered with ``auto=True``, in the order they were registered.
AUTO_METHODS = _AutoView()
#: Which way each argument of :data:`CV_GRIDS` regularises: +1 where a larger value is more regularisation (a
#: penalty's weight), -1 where a smaller one is (ILO's ``radius``, the box around the range: 0 is CSGM).  The
#: discrepancy principle takes the most regularising value whose fit is within the noise.  A read-only view of
#: the registered methods' :attr:`~ganprior.solvers.registry.Method.regularisation`.
REGULARISATION = _ArgumentView("regularisation")
RULES = ("cv", "discrepancy")


def rule_arguments(method, options):
    """The arguments of ``options`` left to a rule (``"cv"`` / ``"discrepancy"``): those whose value names a rule and
    whose default is not a string.  A method's own string option may take the same word as a value (``dgp``'s
    ``stop="discrepancy"`` is how it stops, not an argument to choose).

    Parameters
    ----------
    method : str or None
        A registered method (``None`` or ``"auto"``: every string value naming a rule counts).
    options : dict
        The method's arguments as given.

    Returns
    -------
    dict
        ``{name: rule}``.
    """
    own = get_method(method).hyperparameters if method not in (None, "auto") and method in method_names() else {}
    return {k: v for k, v in options.items() if isinstance(v, str) and v in RULES and not isinstance(own.get(k), str)}
#: How a choice is made across the problems of a batch.
CHOICES = ("per-problem", "shared", "adaptive")
#: One-sided level of the paired test by which ``choice="adaptive"`` lets a problem leave the shared choice.
ADAPTIVE_LEVEL = 0.05
#: One-sided level (Bonferroni over the challengers) by which a candidate replaces ``method="auto"``'s incumbent, the
#: method a bundled prior's recipe validated at this :math:`m` (:func:`shared_choice`).
INCUMBENT_LEVEL = 0.05
#: Family-wise level of successive halving in ``method="auto"`` (:func:`halving_drops`): the chance that a best
#: candidate is dropped before the last fold.
HALVING_LEVEL = 0.05


def auto_candidates(candidates, G, image_shape=None, likelihood=None):
    """The candidates of ``method="auto"`` as ``[(label, name, options)]``, checked before any solve.

    Parameters
    ----------
    candidates : None, sequence or mapping
        ``None``: every method registered with ``auto=True`` (:data:`AUTO_METHODS`) that can run (the latent
        ones only with ``G``, those with ``needs_split`` such as ILO only with a generator that splits, those in
        a DCT or wavelet basis only for images), each with its
        defaults (a bundled prior's recipe supplies ``lam`` per ``m``, and Sparse-Gen's / ILO's arguments where it
        lists them).  A mapping
        ``{name: options}``, or a sequence whose items are a name or a ``(name, options)`` pair (the same
        method may then appear with different options, e.g. two bases): typically hyperparameters validated
        beforehand, ``{"csgm": {"lam": 0.1}, "lasso": {"alpha": 0.01}}``.  A latent candidate's options may
        name its own prior, ``"G"`` (a :class:`~ganprior.Generator`, a ``torch.nn.Module`` whose latent shape
        :class:`~ganprior.Generator` can infer, or a bundled prior's name, whose recipe then supplies its
        ``lam``): ``[("csgm", {"G": "mnist"}), ("csgm", {"G": "mnist-k20"})]`` lets the measurements choose
        the prior too.  It must make images of the shape of ``G``'s (or of ``image_shape``).
    G : Generator or None
        The prior of the latent candidates that do not name their own (one of the two is needed).
    image_shape : tuple, optional
        Image shape given to the sparse candidates that do not set their own.
    likelihood : None, str or ganprior.likelihoods.Likelihood
        The measurement model: by default only the methods that take it
        (:attr:`~ganprior.solvers.registry.Method.likelihoods`); a candidate given that does not is an error.

    Returns
    -------
    list of (str, str, dict)
        Label (the name, or the name and its options where a name appears twice; a candidate's own prior by
        its name), name, options (with ``"G"`` a :class:`~ganprior.Generator` where a candidate names one).

    Raises
    ------
    TypeError, ValueError
        On a malformed list, an unknown method or argument, ``"auto"`` itself, a value left to
        ``"cv"`` / ``"discrepancy"``, a latent candidate without a prior, a prior given to a sparse
        candidate, a candidate's prior whose images have another shape, or a candidate in a DCT or wavelet
        basis for flat images.
    """
    owner = "recover"
    model = get_likelihood(likelihood, owner=owner)
    if candidates is None:
        shape = tuple(G.image_shape) if G is not None else image_shape
        names = [n for n in auto_methods() if get_method(n).can_run(G) and model.name in get_method(n).likelihoods
                 and (shape is None or _basis(n, {}) == "pixel" or len(shape) >= 2)]  # DCT / wavelets need images
        items = [(n, {}) for n in names]
    else:
        if isinstance(candidates, dict):
            items = list(candidates.items())
        elif isinstance(candidates, (list, tuple)):
            items = [(c, {}) if isinstance(c, str) else c for c in candidates]
        else:
            raise TypeError(f"The 'candidates' parameter of {owner} must be a dict {{name: options}} or a list of "
                            f"names / (name, options) pairs. Got {type(candidates).__name__} instead.")
        if not items:
            raise ValueError(f"The 'candidates' parameter of {owner} must name at least one method. Got none.")
        for item in items:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                    and isinstance(item[1], dict)):
                raise TypeError(f"Each candidate of {owner} must be a method name or a (name, options dict) "
                                f"pair. Got {item!r} instead.")
    out = []
    for name, opts in items:
        if name == "auto":
            raise ValueError(f"The 'candidates' of {owner} cannot include 'auto' itself.")
        entry = get_method(name)  # an unknown name: ValueError listing the registered ones
        if model.name not in entry.likelihoods:
            raise ValueError(f"Candidate {name!r} of {owner} does not take likelihood={model.name!r} (it takes "
                             f"{list(entry.likelihoods)}).")
        opts, given = dict(opts), dict(opts)
        own = opts.pop("G", None)
        if own is not None:
            if entry.kind == "sparse":
                raise ValueError(f"Candidate {name!r} of {owner} is a sparse baseline and uses no prior; 'G' is "
                                 "for the latent candidates.")
            own = as_generator(own, None, f"{owner}'s candidate {name!r}")
            want = tuple(G.image_shape) if G is not None else image_shape
            # against recover's G the shape itself; against an operator's (possibly flat) in_shape, the pixel count
            fits = (tuple(own.image_shape) == want if G is not None
                    else want is None or own.n == int(np.prod(want)))
            if not fits:
                raise ValueError(f"The prior 'G' of candidate {name!r} of {owner} makes images of shape "
                                 f"{tuple(own.image_shape)}; the problem's are {tuple(want)}.")
            given["G"] = own.name or f"G{len(out)}"
        unknown = sorted(set(opts) - set(entry.hyperparameters))
        if unknown:
            raise ValueError(f"Unknown argument(s) {unknown} for candidate {name!r} of {owner}: its own arguments "
                             f"are {sorted(entry.hyperparameters) or 'none'}.")
        left = sorted(rule_arguments(name, opts))
        if left:
            raise ValueError(f"Candidate {name!r} of {owner} leaves {left} to {opts[left[0]]!r}; method='auto' "
                             "compares fixed candidates: give values (or one candidate per value).")
        shape = tuple((own or G).image_shape) if entry.kind == "latent" and (own or G) is not None else (
            opts.get("image_shape") or image_shape)
        if shape is not None and len(tuple(np.atleast_1d(shape))) < 2 and _basis(name, opts) != "pixel":
            raise ValueError(f"Candidate {name!r} of {owner} needs images of shape (H, W) or (C, H, W) for its basis "
                             f"{_basis(name, opts)!r}; the problem's are {tuple(np.atleast_1d(shape))}. Leave it out "
                             "of 'candidates' (or give it basis='pixel' where it takes one).")
        if entry.kind == "sparse":
            if image_shape is not None:
                opts = {"image_shape": image_shape, **opts}
        elif G is None and own is None:
            raise ValueError(f"Candidate {name!r} of {owner} is a latent method and needs 'G' (recover's, or its "
                             "own in its options); without a prior only the sparse baselines can be candidates.")
        elif candidates is not None and not entry.can_run(own or G):
            (own or G).split(1)  # raise the splitting error itself
        if own is not None:
            opts["G"] = own
        out.append((name, given, opts))
    names = [n for n, _, _ in out]
    return [(n if names.count(n) == 1 else f"{n}({', '.join(f'{k}={v!r}' for k, v in g.items())})", n, o)
            for n, g, o in out]


def holdout_errors(recover, y, A, G, candidates, *, cv_fraction=0.1, cv_folds=None, seed=0, kwargs=None,
                   restarts=None, steps=None, halving=None, choice="shared", report=None, incumbent=None):
    r"""Every candidate fitted on the rows kept, scored on each held-out row (one split, or K folds).

    Parameters
    ----------
    recover : callable
        :func:`ganprior.recover`.
    y : array, shape (P, m)
        Measurements.
    A : ganprior.operators.LinearOperator
        The ``(m, n)`` operator shared by the problems.
    G : Generator or None
        The prior (``None`` when every candidate is a sparse baseline).
    candidates : list of (str, dict)
        ``(method, options)`` pairs, each one batched solve.
    cv_fraction : float
        Held-out fraction of the rows (:func:`~ganprior.solvers.holdout.holdout_rows`), with ``cv_folds=None``.
    cv_folds : int, optional
        K-fold instead (:func:`~ganprior.solvers.holdout.holdout_folds`): every candidate is solved once per
        fold, on the rows the fold keeps, and every row is scored by the fold that held it out -- K times the
        solves of one split, all :math:`m` rows scored instead of :math:`r`.
    seed : None, int or sequence
        The solves' seed (also seeds the split when an int).
    kwargs : dict, optional
        Engine settings passed to every latent solve.
    restarts : sequence, optional
        One entry per candidate: the restarts of its held-out fits (``None``: those of ``kwargs``).
        ``method="auto"`` gives :func:`holdout_restarts` of the refit's count.
    steps : sequence, optional
        One entry per candidate: the steps of its held-out fits (``None``: those of ``kwargs``).
        ``method="auto"`` with an incumbent and K folds gives :func:`holdout_steps` of the refit's count.
    halving : float, optional
        Successive halving over the folds at this level (:func:`halving_drops`): after each fold but the last,
        the candidates clearly behind the best on the rows scored so far are dropped and not solved again.
        ``None`` (default): every candidate on every fold.
    choice : {"per-problem", "shared", "adaptive"}
        The choice that will be made (with ``halving``: a candidate that some problem would choose is kept --
        with an ``incumbent`` for those problems only: it is dropped for the batch, still solved for them, and its
        errors are NaN for the others from then on).
    incumbent : int, optional
        With ``halving``: the index of the candidate the shared choice keeps unless beaten
        (:func:`shared_choice`); after each fold the challengers not ahead of it are dropped too
        (:func:`halving_drops`).
    report : dict, optional
        Filled with ``"dropped"`` (``{candidate index: record}``, see :func:`halving_drops`; the record adds
        ``"after_fold"``, 1-based) and ``"solves"`` (how many candidate solves were made).

    Returns
    -------
    torch.Tensor, shape (P, len(candidates), r)
        :math:`(y_i - a_i^T \hat x_c)^2` for each problem, candidate :math:`c` (fitted without row :math:`i`)
        and held-out row :math:`i` (with K folds, :math:`r = m`, in row order), float64 on the CPU; NaN on
        the rows of the folds a dropped candidate was no longer solved on.  Its mean over the last axis is
        the held-out mean squared residual that estimates :math:`\|x - \hat x_c\|^2/m + \sigma^2` (see the
        module notes).

    Notes
    -----
    The rows of one operator are shared by every problem of the batch, so one split sees every problem's error
    along the same :math:`r` random directions: summing over problems averages the errors, not those
    directions.  K folds score along all :math:`m` of them -- the remedy at small :math:`m`, where
    :math:`r` is one or two rows.
    """
    y2 = y.reshape(-1, y.shape[-1])
    split_seed = seed if isinstance(seed, int) else 0
    m = y2.shape[1]
    splits = ([holdout_rows(m, cv_fraction, split_seed)] if cv_folds is None
              else holdout_folds(m, cv_folds, split_seed))
    restarts = list(restarts) if restarts is not None else [None] * len(candidates)
    steps = list(steps) if steps is not None else [None] * len(candidates)
    for arg_name, arg in (("restarts", restarts), ("steps", steps)):
        if len(arg) != len(candidates):
            raise ValueError(f"The '{arg_name}' parameter of holdout_errors must give one count per candidate "
                             f"({len(candidates)}). Got {len(arg)} instead.")
    if halving is not None:
        halving = check_float(halving, "halving", minimum=0.0, strict=True, owner="holdout_errors")
    held_all = torch.cat([held for _, held in splits])
    out = torch.full((y2.shape[0], len(candidates), held_all.numel()), torch.nan, dtype=torch.float64)
    alive, dropped, solves = list(range(len(candidates))), {}, 0
    only = {}  # candidate -> the problems it is still solved for (dropped for the others)
    model = get_likelihood((kwargs or {}).get("likelihood"), owner="holdout_errors")
    start = 0
    for k, (fit_rows, held) in enumerate(splits):
        A_fit, A_held = A.take_rows(fit_rows), A.take_rows(held)
        for c in alive + list(only):
            n, opts = candidates[c]
            fit_kwargs = dict(kwargs or {}) if restarts[c] is None else {**(kwargs or {}), "restarts": restarts[c]}
            if steps[c] is not None:
                fit_kwargs["steps"] = steps[c]
            idx = only.get(c, torch.arange(y2.shape[0]))
            seeds = [seed[i] for i in idx.tolist()] if isinstance(seed, (list, tuple)) else seed
            x = as_float64(_call(recover, n, y2[idx][:, fit_rows], A_fit, G, opts, seeds, fit_kwargs))
            solves += 1
            with torch.no_grad():
                out[idx, c, start:start + held.numel()] = model.score(
                    float64_copy(A_held)(x.reshape(x.shape[0], -1)), as_float64(y2[idx][:, held]))
        start += held.numel()
        if halving is not None and k < len(splits) - 1 and len(alive) > 1:
            drops = halving_drops(out[:, alive, :start], choice=choice, level=halving,
                                  comparisons=len(candidates) - 1, looks=len(splits) - 1,
                                  incumbent=alive.index(incumbent) if incumbent in alive else None)
            if incumbent is None:  # candidates as equals: one that some problem would choose stays in for all
                drops = {j: record for j, record in drops.items() if not record["kept_for"]}
            for j, record in drops.items():
                dropped[alive[j]] = {**record, "behind": alive[record["behind"]], "after_fold": k + 1}
                if record["kept_for"]:
                    only[alive[j]] = torch.tensor(record["kept_for"])
            alive = [c for j, c in enumerate(alive) if j not in drops]
    if cv_folds is not None:  # the rows back in their own order
        out = out[:, :, held_all.argsort()]
    if report is not None:
        report.update(dropped=dropped, solves=solves)
    return out


def holdout_restarts(restarts):
    r"""The restarts of a held-out fit of ``method="auto"``: :math:`\lceil R/2 \rceil` for a refit of :math:`R`.

    The held-out fits only rank the candidates, and the refit on all rows, with the full :math:`R`, makes the
    answer.  A latent fit keeps the best of its restarts, so fewer restarts can only raise a candidate's
    held-out error, by about as much for every latent candidate (they share the prior and the seeds), except
    where a problem's few restarts all fail: then another candidate looks better for it by chance.  Measured on
    the error-vs-m benchmark's problems (``benchmarks/results/auto_cost``, 100 MNIST digits): a quarter of the
    restarts (3 of 10) left auto's error at m = 25 within the committed row's 95% CI, but at m = 100 three digits
    left ILO for Sparse-Gen on such failures (mean 0.00251 against 0.00182); half of them is the default.
    Nor does the count shrink with the folds: a fifth of the restarts on each of 5 folds (2 of 10, as many in
    all as the refit) raised auto's error at m = 25 from 0.0241 to 0.0268 (same 100 digits, one thread, an AMD
    EPYC with native bf16), the inflated latent errors handing some digits to the DCT Lasso.

    Parameters
    ----------
    restarts : int
        The refit's restarts :math:`R`.

    Returns
    -------
    int
    """
    return _half_up(restarts, "restarts", "holdout_restarts")


def holdout_steps(steps):
    r"""The steps of a held-out fit of ``method="auto"`` with an incumbent and K folds: :math:`\lceil T/2 \rceil`
    for a refit of :math:`T`.

    With K folds (:math:`m \le 54` by default) every candidate is fitted K times, and the incumbent -- the method a
    bundled prior's recipe validated at this :math:`m` (:func:`shared_choice`) -- on every fold.  Its held-out fits
    then only have to show whether a challenger beats it, and the challengers not ahead of it leave after the first
    fold (:func:`halving_drops`), so they run half of the refit's steps (the schedule compressed, not cut: a cosine
    schedule still ends at its floor).  The refit on all rows runs the full count.  Measured on the error-vs-m
    benchmark's problems (100 MNIST digits, m = 25, one-line ``recover(y, A, "mnist", method="auto")``, one thread,
    an AMD EPYC with AVX2, fp32): the one-line call's cost over the recipe's one solve fell from 5.9x (the same call
    with the candidates as equals) to 2.7x, and its error is the recipe's (``benchmarks/results/auto_cost``).  Without an incumbent (candidates given,
    or a prior whose recipe names no method) the fits keep the refit's steps: there the argmin of the held-out
    errors decides, and half-converged fits flipped CSGM against ILO at m = 25 (the two are tied there).

    Parameters
    ----------
    steps : int
        The refit's steps :math:`T`.

    Returns
    -------
    int
    """
    return _half_up(steps, "steps", "holdout_steps")


def _half_up(count, name, owner):
    # ceil(count / 2) of a positive int count (a held-out fit's share of the refit's restarts or steps)
    return -(-check_int(count, name, minimum=1, owner=owner) // 2)


def halving_drops(errors, *, choice="shared", level=None, comparisons=None, looks=1, incumbent=None):
    r"""The candidates successive halving drops: those clearly behind the best on the rows scored so far.

    Parameters
    ----------
    errors : torch.Tensor, shape (P, C, r)
        Squared held-out residuals of the candidates still in, on the rows scored so far (no NaN).
    choice : {"per-problem", "shared", "adaptive"}
        The choice to be made: a dropped candidate that some problem would choose on these rows
        (:func:`choose_candidates`) is kept for those problems (``"kept_for"``); the shared choice is never
        dropped.
    level : float, optional
        Family-wise level :math:`\alpha` (default :data:`HALVING_LEVEL`).
    comparisons : int, optional
        :math:`C_0 - 1`, with :math:`C_0` the candidates at the start (default ``C - 1``).
    looks : int
        How many times halving is applied (:math:`K - 1` for :math:`K` folds).
    incumbent : int, optional
        The candidate the shared choice keeps unless a challenger beats it (:func:`shared_choice`): a challenger
        that is not ahead of it on the rows so far is dropped too.

    Returns
    -------
    dict
        ``{index into C: record}`` with ``"reason"`` (``"behind"``, ``"duplicate"`` or ``"not ahead of"``),
        ``"behind"`` (the index of the candidate it is behind, a duplicate of, or not ahead of), ``"rows"``
        (held-out rows per problem so far), ``"mean_difference"`` :math:`\bar d`, ``"t"`` and ``"critical"``
        (``None`` for a duplicate or a challenger not ahead), and ``"kept_for"``: the problems (indices) that
        would choose it on these rows, for which it stays in (empty: dropped for all).

    Notes
    -----
    Let :math:`s = \arg\min_c \sum_p \bar e_{pc}` be the best candidate on the rows so far and, for another
    candidate :math:`c`, :math:`d_i = \frac1P \sum_p (e_{pci} - e_{psi})` the paired difference on held-out row
    :math:`i`, averaged over the problems.  Given the fits, the held-out rows :math:`a_i \sim \mathcal N(0, I/m)`
    are independent of each other and of the fits, so the :math:`d_i` are independent, with mean
    :math:`\frac{1}{Pm}\sum_p (\|x_p - \hat x_{pc}\|^2 - \|x_p - \hat x_{ps}\|^2)`: the difference of the two
    candidates' true errors summed over the batch, which the shared choice ranks by.  The :math:`P r` values
    :math:`e_{pci} - e_{psi}` are not independent samples -- every problem is scored along the same rows, and on
    the MNIST benchmark problems at m = 25 the t statistic over problems was twice the one over rows -- so the
    test counts :math:`r` samples.  :math:`c` is dropped when the one-sided paired t-test says it is worse than
    :math:`s`,

    .. math:: t = \frac{\bar d}{s_d / \sqrt{r}} > t_{1 - \alpha / ((C_0 - 1) L),\, r - 1},

    for the batch; the problems that would choose :math:`c` on these rows keep it (``"kept_for"``: it is solved for
    them alone on the next folds, so one problem's exception costs one problem's fits; :func:`holdout_errors` does so
    with an incumbent, and keeps such a candidate for every problem without one).  Family-wise guarantee:
    let :math:`b` be a candidate whose expected held-out error is the lowest.  :math:`b` can only be dropped if, at
    one of the :math:`L` looks, its test against one of the :math:`C_0 - 1` others rejects although
    :math:`E[d] \le 0` there, each of probability at most :math:`\alpha / ((C_0 - 1) L)` (the test is valid for any
    fixed pair; :math:`s`, chosen on the same rows, is one of them): by the union bound the best is dropped with
    probability at most :math:`\alpha`.  A candidate within noise of the best (a near tie) is kept.

    With an incumbent :math:`s_0`, a challenger :math:`c` can only be chosen for the batch by ending significantly
    ahead of it over all the rows (:func:`shared_choice`), so :math:`c` is also dropped once
    :math:`\bar d = \frac1r \sum_i \frac1P \sum_p (e_{pci} - e_{ps_0 i}) \ge 0` on the rows so far (kept, as
    above, for the problems that would choose it): a futility rule.  Its price in power: a challenger whose true
    advantage the final test (over :math:`m = 25` rows, level :math:`\alpha/(C-1)`, :math:`C = 6`) detects with
    probability 0.8 has
    :math:`E[\bar d]/\mathrm{se} \approx -(2.5 + 0.84)` over all rows, :math:`-3.3/\sqrt K` over the first of
    :math:`K = 5` folds, so it is behind after the first fold with probability :math:`\Phi(-1.49) \approx 0.07`;
    a larger advantage loses less.

    A candidate whose held-out errors equal an earlier one's on every row of every problem (e.g. a Sparse-Gen
    whose :math:`\alpha` keeps :math:`\nu = 0`, which is then CSGM) is dropped as a duplicate: every choice breaks
    ties towards the earlier candidate, so it could only be chosen by solves that diverge later.
    """
    if not isinstance(errors, torch.Tensor) or errors.ndim != 3 or 0 in errors.shape \
            or not bool(torch.isfinite(errors).all()):
        raise ValueError("The 'errors' parameter of halving_drops must be finite held-out errors of shape (P, C, r). "
                         f"Got {type(errors).__name__} of shape {tuple(getattr(errors, 'shape', ()))}.")
    level = HALVING_LEVEL if level is None else check_float(level, "level", minimum=0.0, strict=True,
                                                           owner="halving_drops")
    looks = check_int(looks, "looks", minimum=1, owner="halving_drops")
    P, C, r = errors.shape
    comparisons = max(1, C - 1 if comparisons is None else check_int(comparisons, "comparisons", minimum=1,
                                                                      owner="halving_drops"))
    from scipy.stats import t as student_t

    mean = errors.mean(dim=-1)  # (P, C)
    best = int(mean.sum(dim=0).argmin())
    chosen = choose_candidates(errors, choice, incumbent=incumbent)
    shared = int(chosen[0]) if choice == "shared" else shared_choice(errors, incumbent)
    samples = errors.mean(dim=0).T  # (r, C): each held-out row's error averaged over the problems
    dof = samples.shape[0] - 1
    crit = float(student_t.ppf(1.0 - level / (comparisons * looks), dof)) if dof > 0 else float("inf")
    drops = {}
    for c in range(C):
        if c == shared or (c == best and incumbent is None):
            continue
        twin = next((b for b in range(c) if b not in drops and torch.equal(errors[:, b], errors[:, c])), None)
        if twin is not None:
            drops[c] = dict(reason="duplicate", behind=twin, rows=r, mean_difference=0.0, t=None, critical=None,
                            kept_for=[])
            continue
        d = samples[:, c] - samples[:, best]
        dbar, sd = float(d.mean()), float(d.std(unbiased=True)) if dof > 0 else 0.0
        t = dbar / (sd / samples.shape[0] ** 0.5) if sd > 0 else (float("inf") if dbar > 0 and dof > 0 else 0.0)
        if c != best and t > crit:
            drops[c] = dict(reason="behind", behind=best, rows=r, mean_difference=dbar, t=t, critical=crit)
        elif incumbent is not None and c != incumbent:  # the best itself only on an exact tie with the incumbent
            d = samples[:, c] - samples[:, incumbent]
            if float(d.mean()) >= 0:
                drops[c] = dict(reason="not ahead of", behind=incumbent, rows=r, mean_difference=float(d.mean()),
                                t=None, critical=None)
        if c in drops:
            drops[c]["kept_for"] = torch.nonzero(chosen == c).flatten().tolist()
    return drops


def choose_candidates(errors, choice="per-problem", level=ADAPTIVE_LEVEL, incumbent=None):
    r"""The candidate each problem takes, from its held-out errors (:func:`holdout_errors`).

    Parameters
    ----------
    errors : torch.Tensor, shape (P, C, r)
        Squared held-out residuals per problem, candidate and held-out row.
    choice : {"per-problem", "shared", "adaptive"}
        ``"per-problem"``: each problem's lowest mean :math:`\bar e_{pc}`. ``"shared"``: one candidate for the
        batch, :math:`s = \arg\min_c \sum_p \bar e_{pc}` (its :math:`P r` rows score it far less noisily).
        ``"adaptive"``: the shared :math:`s`, except where a problem's own rows show, by a one-sided paired
        t-test, that its own best :math:`b_p` is better: with :math:`d_i = e_{p b_p i} - e_{p s i}`
        over its :math:`r` rows, :math:`t = \bar d / (s_d / \sqrt r) < -t_{1-\text{level}/(C-1), r-1}`.
        :math:`b_p` is the best of the :math:`C - 1` alternatives to :math:`s`, picked on the same rows, so each
        comparison is made at ``level`` / (C - 1) (Bonferroni): a problem for which no candidate beats
        :math:`s` leaves it with probability at most ``level``.  With fewer than 3 held-out rows no problem
        leaves the shared choice.
    level : float
        Chance, for a problem whose candidates are all as good as the shared one, of leaving it (default 0.05).
    incumbent : int, optional
        A candidate validated beforehand (``method="auto"`` with a bundled prior: the method its recipe runs at
        this :math:`m`): the shared choice keeps it unless another candidate is better by a test over the held-out
        rows (:func:`shared_choice`).  ``None``: the lowest summed error.

    Notes
    -----
    A candidate with NaN errors for a problem (successive halving kept it only for the problems that would choose
    it, :func:`holdout_errors`) is not available to that problem, nor to the shared choice, which is made among the
    candidates scored on every problem.

    Returns
    -------
    torch.Tensor, shape (P,)
        The index of each problem's candidate.
    """
    check_choice(choice, "choice", CHOICES, owner="choose_candidates")
    level = check_float(level, "level", minimum=0.0, strict=True, owner="choose_candidates")
    if level >= 1.0 or not isinstance(errors, torch.Tensor) or errors.ndim != 3 or 0 in errors.shape:
        raise ValueError("choose_candidates takes held-out errors of shape (P, C, r) (holdout_errors) and a level "
                         f"in (0, 1). Got {type(errors).__name__} of shape {tuple(getattr(errors, 'shape', ()))} "
                         f"and level={level}.")
    avail = ~torch.isnan(errors).any(dim=-1)  # (P, C): a candidate dropped for some problems has NaN rows there
    full = torch.nonzero(avail.all(dim=0)).flatten().tolist()
    if not full:
        raise ValueError("choose_candidates needs a candidate scored on every problem (held-out errors without NaN "
                         "in at least one column).")
    mean = errors.mean(dim=-1)
    own = torch.where(avail, mean, torch.inf).argmin(dim=1)
    if choice == "per-problem":
        return own
    inc = full.index(incumbent) if incumbent in full else None
    shared = torch.tensor(full[shared_choice(errors[:, full], inc)]).expand(errors.shape[0])
    r = errors.shape[-1]
    if choice == "shared" or r < 3:
        return shared.clone()
    from scipy.stats import t as student_t

    idx = torch.arange(errors.shape[0])
    d = errors[idx, own] - errors[idx, shared]  # (P, r) paired differences, own best minus shared
    sd = d.std(dim=1, unbiased=True)
    tstat = torch.where(sd > 0, d.mean(dim=1) / (sd / r ** 0.5),
                        torch.where(d.mean(dim=1) < 0, -torch.inf, 0.0).double())
    alternatives = max(1, errors.shape[1] - 1)
    switch = tstat < -float(student_t.ppf(1.0 - level / alternatives, r - 1))
    return torch.where(switch, own, shared)


def shared_choice(errors, incumbent=None, level=None):
    r"""The candidate of the shared choice: the lowest summed held-out error, or an incumbent kept unless beaten.

    Parameters
    ----------
    errors : torch.Tensor, shape (P, C, r)
        Squared held-out residuals per problem, candidate and held-out row (:func:`holdout_errors`).
    incumbent : int, optional
        The index of a candidate validated beforehand.  ``method="auto"`` with a bundled prior given by name
        makes the method its recipe runs at this :math:`m` the incumbent: the benchmark chose it on validation
        images with ground truth, far more evidence than the :math:`r` held-out rows of one operator.
    level : float, optional
        One-sided level of the test by which a challenger replaces the incumbent (default
        :data:`INCUMBENT_LEVEL`), Bonferroni-corrected over the :math:`C - 1` challengers.

    Returns
    -------
    int

    Notes
    -----
    Let :math:`b = \arg\min_c \sum_p \bar e_{pc}`.  Without an incumbent (or when :math:`b` is the incumbent
    :math:`s_0`) the choice is :math:`b`.  Otherwise, with :math:`d_i = \frac1P \sum_p (e_{pbi} - e_{ps_0 i})`
    over the :math:`r` held-out rows (independent given the fits, as in :func:`halving_drops`), :math:`b`
    replaces :math:`s_0` only where

    .. math:: t = \frac{\bar d}{s_d / \sqrt r} < -t_{1 - \alpha / (C - 1),\, r - 1}.

    Where the candidates tie -- at small :math:`m`, CSGM and ILO on one prior are within the held-out rows'
    noise -- the argmin is a coin toss that any change to the held-out fits (their restarts, steps or folds)
    flips; the incumbent makes the choice stable, and a candidate that is truly better by a margin the rows can
    see still wins.  With fewer than 2 held-out rows the incumbent is kept.
    """
    if not isinstance(errors, torch.Tensor) or errors.ndim != 3 or 0 in errors.shape:
        raise ValueError("The 'errors' parameter of shared_choice must be held-out errors of shape (P, C, r). "
                         f"Got {type(errors).__name__} of shape {tuple(getattr(errors, 'shape', ()))}.")
    C, r = errors.shape[1], errors.shape[2]
    best = int(errors.mean(dim=-1).sum(dim=0).argmin())
    if incumbent is None:
        return best
    incumbent = check_int(incumbent, "incumbent", minimum=0, owner="shared_choice")
    if incumbent >= C:
        raise ValueError(f"The 'incumbent' parameter of shared_choice must index one of the {C} candidates. "
                         f"Got {incumbent} instead.")
    level = INCUMBENT_LEVEL if level is None else check_float(level, "level", minimum=0.0, strict=True,
                                                             owner="shared_choice")
    if best == incumbent or r < 2:
        return incumbent
    from scipy.stats import t as student_t

    samples = errors.mean(dim=0)  # (C, r): each row's error averaged over the problems
    d = samples[best] - samples[incumbent]
    dbar, sd = float(d.mean()), float(d.std(unbiased=True))
    t = dbar / (sd / r ** 0.5) if sd > 0 else (-float("inf") if dbar < 0 else 0.0)
    return best if t < -float(student_t.ppf(1.0 - level / max(1, C - 1), r - 1)) else incumbent


def select_and_recover(recover, y, A, G, *, method, options, noise_std, cv_fraction, seed, tau, kwargs,
                       choice="per-problem", candidates=None, cv_folds=None, incumbent=None):
    r"""Run ``recover`` on every candidate, choose (per problem or for the batch) without ground truth, refit.

    Parameters
    ----------
    recover : callable
        :func:`ganprior.recover` (passed in to avoid an import cycle).
    y, A, G
        As for ``recover`` (``y`` already checked, ``A`` an operator).
    method : str
        A registered method or ``"auto"``.
    options : dict
        The method's arguments; the ones set to ``"cv"`` / ``"discrepancy"`` are chosen.
    noise_std : float or None
        Per-measurement noise standard deviation (needed by ``"discrepancy"``).
    cv_fraction : float or None
        Held-out fraction of the rows (one split).  ``None``: 0.1, or
        :data:`~ganprior.solvers.holdout.DEFAULT_FOLDS` folds (at most ``m``) where a 10% split would hold out
        fewer than :data:`~ganprior.solvers.holdout.MIN_HELD_OUT` rows (``m <= 54``) and ``cv_folds`` is not
        given.
    seed : None, int or sequence
        The solves' seed (also seeds the split when an int).
    tau : float
        Discrepancy factor :math:`\tau`.
    kwargs : dict
        The other ``recover`` arguments (engine settings), passed to every solve.
    candidates : None, sequence or mapping
        With ``method="auto"``: the methods to compare and their arguments (see :func:`auto_candidates`).
    choice : {"per-problem", "shared", "adaptive"}
        Choose per problem (default), or one candidate for the whole batch: the one with the lowest
        held-out error summed over the problems (``"cv"``), or the most regularising value
        (the method's :attr:`~ganprior.solvers.registry.Method.regularisation`) whose summed fit stays within :math:`\tau P m \sigma^2`
        (``"discrepancy"``).  Shared pools the held-out rows of
        all problems, :math:`P r` instead of :math:`r`: far less noisy at small :math:`m`, right when
        the problems are alike (one operator, one noise level, images of one kind).  ``"adaptive"``
        (``"cv"`` only): the shared choice, left by a problem whose own held-out rows show its own best
        candidate better by a paired test (:func:`choose_candidates`).
    cv_folds : int, optional
        ``"cv"`` and ``method="auto"``: K-fold cross-validation instead of one split (:func:`holdout_errors`).
    incumbent : str, optional
        With ``method="auto"``: a method validated beforehand (``recover`` gives the method a bundled prior's
        recipe runs at this :math:`m` when the prior is given by name and ``candidates`` is not), kept for the
        batch unless a candidate beats it (:func:`shared_choice`); the challengers not ahead of it leave after a
        fold, and with K folds the held-out fits run :func:`holdout_steps`.  Ignored when no candidate is that
        method.

    Returns
    -------
    x : torch.Tensor
        ``(P, *image_shape)`` float64 on the CPU.
    info : dict
        The rule, the candidates, the held-out (or fit) scores ``(P, candidates)`` and the choice per problem;
        with held-out rows, ``held_out_solves`` (candidate solves before the refit); with ``method="auto"``,
        ``halving`` (its level and ``dropped``: ``{label: record}`` of :func:`halving_drops` with ``after_fold``,
        the candidate it was behind by label), ``held_out_restarts`` and ``held_out_steps`` (per latent
        candidate, the latter where they are not the refit's) and ``incumbent`` (its label, or ``None``).
        ``refits``: ``[(problems, label, result, rows)]``, the :class:`~ganprior.RecoveryResult` of each chosen
        candidate's solve on all rows, for the problems (indices) that chose it, whose rows of ``result`` are
        ``rows`` (with an incumbent the shared choice is solved for the whole batch, so that a problem keeping it
        gets that method's one solve exactly).
        ``warnings``: what the candidates' solvers warned and was not shown (:func:`quiet_solver_warnings`),
        ``{"<category>: <first sentence>": count}``, empty when nothing was silenced.

    Notes
    -----
    ``method="auto"``: the held-out fits of a latent candidate run :func:`holdout_restarts` of the restarts its
    refit runs (the caller's ``restarts``, else the preset's or the prior's recipe, else the defaults), the refit
    on all rows the full count.  With K folds, after each of the first :math:`K - 1` folds
    :func:`halving_drops` removes the candidates clearly behind (a dropped candidate keeps the held-out errors of
    the folds it was solved on and is never chosen; the choice is made among the others on all :math:`m` rows).
    With one split there is nothing to halve.  An argument chosen by ``"cv"`` solves every value on every fold
    with the caller's settings, as before.

    The candidates' internal solver warnings (scikit-learn's ``ConvergenceWarning`` from the Lasso candidates,
    dozens per call at small :math:`m`) are not shown: a candidate that did not converge scores worse on the
    held-out rows and is not chosen, which is the selection doing its job, and the caller has nothing to change.
    They are counted in ``info["warnings"]``; any other warning is shown once.
    """
    with quiet_solver_warnings() as silenced:
        x, info = _select_and_recover(recover, y, A, G, method=method, options=options, noise_std=noise_std,
                                      cv_fraction=cv_fraction, seed=seed, tau=tau, kwargs=kwargs, choice=choice,
                                      candidates=candidates, cv_folds=cv_folds, incumbent=incumbent)
    info["warnings"] = dict(silenced)
    return x, info


#: Categories (by class name) of the warnings that solvers run inside another method raise about their own
#: iterations, which :func:`quiet_solver_warnings` counts instead of showing.
INTERNAL_WARNINGS = ("ConvergenceWarning",)


@contextlib.contextmanager
def quiet_solver_warnings():
    """Count the internal solver warnings raised inside the block instead of showing them; show the others once.

    A warning whose category (or a base class of it) is named in :data:`INTERNAL_WARNINGS` is counted under
    ``"<category>: <first sentence of the message>"`` (so the per-call numbers in scikit-learn's message, the
    duality gap, do not split the count); every other warning is shown once at the end of the block (the
    repeats of one category and message are dropped), from where it was raised.

    Yields
    ------
    dict of str to int
        Filled when the block ends: the counts of the silenced warnings.

    Examples
    --------
    >>> import warnings
    >>> class ConvergenceWarning(UserWarning): pass
    >>> with quiet_solver_warnings() as silenced:
    ...     for _ in range(3):
    ...         warnings.warn("Objective did not converge. Duality gap: 0.1", ConvergenceWarning)
    >>> silenced
    {'ConvergenceWarning: Objective did not converge': 3}
    """
    silenced: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield silenced
        finally:
            records = list(caught)
    shown = set()
    for w in records:
        if any(c.__name__ in INTERNAL_WARNINGS for c in w.category.__mro__):
            key = f"{w.category.__name__}: {str(w.message).strip().split('. ')[0].rstrip('.')}"
            silenced[key] = silenced.get(key, 0) + 1
            continue
        if (w.category, str(w.message)) in shown:
            continue
        shown.add((w.category, str(w.message)))
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _select_and_recover(recover, y, A, G, *, method, options, noise_std, cv_fraction, seed, tau, kwargs,
                        choice="per-problem", candidates=None, cv_folds=None, incumbent=None):
    """The work of :func:`select_and_recover` (its warnings not yet sorted)."""
    from ..operators import as_operator

    op = as_operator(A, kwargs.get("image_shape") or None, name="A")
    y2 = y.reshape(-1, y.shape[-1])
    P, m = y2.shape
    image_shape = tuple(G.image_shape) if G is not None else op.in_shape
    labels = None
    if method == "auto":
        checked = auto_candidates(candidates, G, image_shape, likelihood=kwargs.get("likelihood"))
        labels = [label for label, _, _ in checked]
        candidates = [(n, opts) for _, n, opts in checked]
        rule, what = "cv", "method"
    else:
        chosen = rule_arguments(method, options)
        if len(chosen) != 1:
            raise ValueError(f"recover chooses one argument at a time from the measurements; got {sorted(chosen)} "
                             "set to 'cv' / 'discrepancy'. Fix the others to values.")
        (what, rule), = chosen.items()
        entry = get_method(method)
        if what not in entry.cv_grids:
            raise ValueError(f"recover has no candidate grid for {what!r} with method={method!r}; choosing it from "
                             f"the measurements works for {sorted(entry.cv_grids) or 'none of its arguments'}.")
        grid = entry.cv_grids[what]
        if rule == "discrepancy":
            if not get_likelihood(kwargs.get("likelihood")).gaussian:
                raise ValueError(f"{what}='discrepancy' compares the least-squares fit with the noise level; with "
                                 f"likelihood={get_likelihood(kwargs.get('likelihood')).name!r} use 'cv'.")
            if noise_std is None:
                raise ValueError(f"{what}='discrepancy' needs 'noise_std' (the per-measurement noise standard "
                                 "deviation); without it use 'cv'.")
            noise_std = check_float(noise_std, "noise_std", minimum=0.0, strict=True, owner="recover")
        candidates = [(method, {**options, what: v}) for v in grid]
    if cv_fraction is not None:
        cv_fraction = check_float(cv_fraction, "cv_fraction", minimum=0.0, strict=True, owner="recover")
        if cv_fraction >= 1.0:
            raise ValueError(f"The 'cv_fraction' parameter of recover must be < 1 (some rows must be kept for the "
                             f"fit). Got {cv_fraction} instead.")
    if cv_folds is not None:
        cv_folds = check_int(cv_folds, "cv_folds", minimum=2, owner="recover")
        if cv_fraction is not None:
            raise ValueError(f"recover takes 'cv_fraction' (one held-out split) or 'cv_folds' (K folds), not both; "
                             f"got cv_fraction={cv_fraction!r} and cv_folds={cv_folds}.")
    if rule == "cv" and m < 2:
        raise ValueError(f"The 'y' parameter of recover must have at least 2 measurements (its last axis) to choose "
                         f"{what!r} by cross-validation, which holds some rows out. Got {m} instead.")
    if rule == "cv":  # the default: 10% held out, or K folds where 10% is one or two rows
        cv_fraction, cv_folds = cv_plan(m, cv_fraction, cv_folds)
    for arg_name, arg in (("cv_fraction", cv_fraction), ("cv_folds", cv_folds)):
        if rule == "discrepancy" and arg is not None:
            raise ValueError(f"{what}='discrepancy' fits every candidate on all rows; '{arg_name}' is for 'cv' and "
                             f"method='auto'. Got {arg_name}={arg!r}.")
    if cv_folds is not None and cv_folds > m:
        raise ValueError(f"The 'cv_folds' parameter of recover must be at most m = {m} (each fold holds out at "
                         f"least one row). Got {cv_folds} instead.")
    if rule == "discrepancy" and choice == "adaptive":
        raise ValueError(f"{what}='discrepancy' compares each candidate's fit on all rows, with no held-out rows "
                         "to test a problem's own choice against the shared one: use choice='per-problem' or "
                         "'shared' with it, or 'cv' with choice='adaptive'.")
    if rule == "discrepancy":
        # every candidate on all rows; the most regularising value whose residual is within tau * m * sigma^2
        results = [_call(recover, n, y2, A, G, opts, seed, kwargs, result=True) for n, opts in candidates]
        xs = [res.x for res in results]
        scores = torch.stack([residual(op, y2, x) for x in xs], dim=1)  # (P, candidates)
        if choice == "shared":  # one value for the batch: the summed fit against the summed budget
            scores = scores.sum(dim=0, keepdim=True).expand(P, -1)
            ok = scores <= tau * P * m * noise_std ** 2
        else:
            ok = scores <= tau * m * noise_std ** 2
        grid_t = get_method(method).regularisation[what] * torch.tensor([opts[what] for _, opts in candidates], dtype=torch.float64)
        masked = torch.where(ok, grid_t, torch.full_like(grid_t, -torch.inf))
        pick = torch.where(ok.any(dim=1), masked.argmax(dim=1), scores.argmin(dim=1))
        x = torch.stack([as_float64(xs[int(c)][p]) for p, c in enumerate(pick)])
        refits = [(idx, candidates[c][1][what], results[c], idx) for c in pick.unique().tolist()
                  for idx in [torch.nonzero(pick == c).flatten()]]
        return x, {"rule": "discrepancy", "argument": what, "candidates": [o[what] for _, o in candidates],
                   "fit_error": scores, "chosen": [candidates[int(c)][1][what] for c in pick], "tau": tau,
                   "choice": choice, "refits": refits}
    auto = method == "auto"
    fit_rows = m - (held_count(m, cv_fraction) if cv_folds is None else -(-m // cv_folds))
    report = {}
    held = next((c for c, (n, _) in enumerate(candidates) if n == incumbent), None) if auto else None
    plan = [_holdout_fit(n, o, G, fit_rows, kwargs, short=held is not None and cv_folds is not None)
            for n, o in candidates] if auto else None
    errors = holdout_errors(recover, y2, op, G, candidates, cv_fraction=cv_fraction, cv_folds=cv_folds, seed=seed,
                            kwargs=kwargs, choice=choice, report=report, halving=HALVING_LEVEL if auto else None,
                            restarts=[r for r, _ in plan] if auto else None,
                            steps=[t for _, t in plan] if auto else None, incumbent=held)
    scores = errors.nanmean(dim=-1)  # (P, candidates): held-out mean squared residual (a dropped one: its rows)
    # a dropped candidate is never chosen, one kept for some problems only by those (NaN for the others)
    kept = [c for c in range(len(candidates)) if c not in report["dropped"] or report["dropped"][c]["kept_for"]]
    alive = torch.tensor(kept)
    inc = kept.index(held) if held in kept else None
    pick = alive[choose_candidates(errors[:, alive], choice, incumbent=inc)]
    # with an incumbent the shared choice refits the whole batch: a problem that keeps it gets exactly that method's
    # one solve of the batch (an int seed draws each problem's restarts by its place in the batch)
    whole = None
    if held is not None:
        shared = pick if choice == "shared" else alive[choose_candidates(errors[:, alive], "shared", incumbent=inc)]
        whole = int(shared[0])
    x = torch.zeros(P, *image_shape, dtype=torch.float64)
    label = (lambda c: labels[c]) if what == "method" else (lambda c: candidates[c][1][what])
    refits = []
    for c in pick.unique().tolist():  # refit each chosen candidate on all rows, for the problems that chose it
        n, opts = candidates[c]
        idx = torch.nonzero(pick == c).flatten()
        solved = torch.arange(P) if c == whole else idx
        seeds = [seed[i] for i in solved.tolist()] if isinstance(seed, (list, tuple)) else seed
        sub = _call(recover, n, y2[solved], A, G, opts, seeds, kwargs, result=True)
        rows = idx if c == whole else torch.arange(len(idx))
        x[idx] = as_float64(sub.x).reshape(len(solved), *x.shape[1:])[rows]
        refits.append((idx, label(c), sub, rows))
    info = {"rule": "cv", "argument": what, "candidates": [label(c) for c in range(len(candidates))],
            "held_out_rows": errors.shape[-1], "folds": cv_folds, "held_out_error": scores,
            "chosen": [label(int(c)) for c in pick], "choice": choice, "held_out_solves": report["solves"],
            "refits": refits}
    if auto:
        info["halving"] = {"level": HALVING_LEVEL, "dropped": {
            label(c): {**r, "behind": label(r["behind"])} for c, r in report["dropped"].items()}}
        info["held_out_restarts"] = {label(c): plan[c][0] for c, (n, o) in enumerate(candidates)
                                     if get_method(n).kind == "latent"}
        info["held_out_steps"] = {label(c): plan[c][1] for c, (n, o) in enumerate(candidates)
                                  if get_method(n).kind == "latent" and plan[c][1] is not None}
        info["incumbent"] = label(held) if held is not None else None
    return x, info


def _call(recover, name, y, A, G, opts, seed, kwargs, result=False):
    """One candidate's solve: a latent method with the caller's engine settings and seed (and its own prior, where
    its options name one), a baseline with neither; its images, or (``result``) its whole RecoveryResult."""
    if get_method(name).kind == "sparse":
        given = {"likelihood": kwargs["likelihood"]} if kwargs.get("likelihood") is not None else {}
        return recover(y, A, method=name, return_result=result, **given, **opts)
    opts = dict(opts)
    G = opts.pop("G", G)
    return recover(y, A, G, method=name, seed=seed, return_result=result, **kwargs, **opts)


def _holdout_fit(name, opts, G, m, kwargs, short=False):
    """The restarts and steps of a latent candidate's held-out fits: :func:`holdout_restarts` of the count its refit
    runs (the caller's ``restarts``, else the preset's, the prior's recipe at the fits' ``m``, the defaults), and
    with ``short`` :func:`holdout_steps` of the refit's steps (else ``None``: the refit's); ``(None, None)`` for a
    sparse baseline or a method that sets its own."""
    entry = get_method(name)
    if entry.kind == "sparse" or "restarts" in entry.fixed:
        return None, None
    preset = kwargs.get("preset")
    recipe = {} if preset is not None else method_recipe(opts.get("G", G), "recover", m, name)
    full = resolve_settings({k: kwargs[k] for k in ("restarts", "steps") if kwargs.get(k) is not None},
                            preset=preset, recipe=recipe, method=entry, keys=("restarts", "steps"))[0]
    return holdout_restarts(full["restarts"]), holdout_steps(full["steps"]) if short else None


def _basis(name, opts):
    """The basis a candidate transforms its images in: a Lasso's own, or its ``basis`` argument (else pixels)."""
    fixed = {"lasso-dct": "dct", "lasso-wavelet": "wavelet"}
    if name in fixed:
        return fixed[name]
    return opts.get("basis", get_method(name).hyperparameters.get("basis", "pixel"))
