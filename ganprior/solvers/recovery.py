r"""``recover``: validate, convert types, resolve the settings, dispatch through the method registry."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .._convert import (
    as_generator,
    check_measurements,
    check_rows,
    prepare_operator,
    same_device,
    to_caller,
)
from .._validation import check_choice, describe
from .latent import optimize_latents
from .objective import LatentObjective
from ..likelihoods import get_likelihood
from .registry import get_method, method_names, method_recipe
from .selection import CHOICES, rule_arguments
from .settings import (ENGINE_KEYS, PRESETS, RENAMED, SolveConfig, merge_renamed, report_precision,
                       resolve)

__all__ = ["recover", "RecoveryResult", "latent_inputs"]


@dataclass
class RecoveryResult:
    """The result of :func:`recover` with ``return_result=True``.

    Array fields are in the caller's type (NumPy or torch on the caller's
    device); for a single problem (``y`` of shape ``(m,)``) the leading
    problem axis is dropped.

    Attributes
    ----------
    x : array
        Recovered images, ``(P, *image_shape)`` or ``image_shape``.
    measurement_error : array
        :math:`\\|y - A\\hat x\\|^2` per problem.
    wall_time : float
        Seconds.
    method : str
        The method used.
    z : array or None
        Chosen latents (latent methods with a ``z``).
    fit : array or None
        The objective's data term at the chosen row (latent methods).
    loss : array or None
        Minimised objective at the chosen row.
    restart : array or None
        Index of the chosen restart.
    history : array or None
        Loss per problem, restart and step, ``(P, R, steps)``, when asked for
        with ``history=True``.
    steps : array or None
        Steps each restart ran.
    failed : array or None
        Bool ``(P, R)``: restarts whose loss became NaN or Inf (never chosen).
    info : dict
        The settings used (``info["settings"]``) and where each came from
        (``info["source"]``: ``"caller"``, ``"preset"``, ``"recipe"``,
        ``"method"`` or ``"default"``; ``"recipe (ilo)"`` for an argument
        taken from the recipe of a method this one continues,
        :attr:`~ganprior.solvers.registry.Method.recipe_from`).
    """

    x: object
    measurement_error: object
    wall_time: float
    method: str
    z: object = None
    fit: object = None
    loss: object = None
    restart: object = None
    history: object = None
    steps: object = None
    failed: object = None
    info: dict = field(default_factory=dict)


def _method_options(entry, options, owner="recover"):
    unknown = sorted(set(options) - set(entry.hyperparameters))
    if unknown:
        valid = sorted(entry.hyperparameters) or "none"
        raise ValueError(f"Unknown argument(s) {unknown} for method={entry.name!r} of {owner}: its own arguments "
                         f"are {valid}.")
    # None means 'unset' unless None is itself the default's alternative (e.g. data_range=None: no clipping)
    return {k: v for k, v in options.items() if v is not None or entry.hyperparameters[k] is not None}


def latent_inputs(y, A, G, latent_shape, owner, need_operator=True):
    """``(G, op, y_t)`` for a latent solve: the prior, ``A`` on its device and dtype, ``y`` as a ``(P, m)`` tensor.

    Checks the devices and that ``y``, ``A`` and ``G`` fit together, and that ``y`` does not overflow G's dtype.

    Parameters
    ----------
    y : numpy.ndarray or torch.Tensor
        Checked measurements ``(m,)`` or ``(P, m)``.
    A : LinearOperator, numpy.ndarray, torch.Tensor or None
        The operator (None only with ``need_operator=False``).
    G : Generator, torch.nn.Module or str
        The prior.
    latent_shape : int or tuple, optional
        For a bare module ``G``.
    owner : str
        Function name for the messages.
    need_operator : bool
        Whether ``A`` is prepared (an objective instance may bring its own).

    Returns
    -------
    G : ganprior.Generator
    op : ganprior.operators.LinearOperator or None
    y_t : torch.Tensor
    """
    G = as_generator(G, latent_shape, owner)
    device, dtype = G.device, G.dtype
    if isinstance(y, torch.Tensor) and not same_device(y.device, device):
        raise ValueError(f"Device mismatch: the 'y' parameter is on {y.device} but G is on {device}. "
                         "Move y or G so they match.")
    op = prepare_operator(A, device, dtype) if need_operator else None
    m = y.shape[-1]
    if op is not None:
        check_rows(op, m)
        if op.n != G.n:
            raise ValueError(f"Shape mismatch: the operator 'A' takes n={op.n} pixels but G makes images of shape "
                             f"{G.image_shape} (n={G.n}).")
        if len(op.in_shape) > 1 and op.in_shape != G.image_shape:
            raise ValueError(f"Shape mismatch: the operator 'A' acts on images of shape {op.in_shape} but G makes "
                             f"images of shape {G.image_shape}.")
    y_t = torch.as_tensor(y).to(device=device, dtype=dtype).reshape(-1, m)
    if not bool(torch.isfinite(y_t).all()):
        raise ValueError(f"The 'y' parameter of {owner} overflows the generator's dtype {dtype} "
                         f"(largest |y| = {float(np.abs(np.asarray(y, dtype=np.float64)).max()):.3g}); "
                         "rescale y and A, or use a float64 generator.")
    return G, op, y_t


def recover(y, A, G=None, *, method=None, restarts=None, steps=None, lr=None, optimizer=None, schedule=None,
            precision=None, select=None, preset=None, seed=None, patience=None, tol=None, row_chunk=None,
            memory_format=None, latent_shape=None, history=False, progress=False, return_result=False, noise_std=None,
            cv_fraction=None, cv_folds=None, choice=None, candidates=None, likelihood=None, **options):
    r"""Recover images from measurements :math:`y \sim p(y \mid Ax)`: :math:`y = A x + \eta` by default.

    Parameters
    ----------
    y : numpy.ndarray or torch.Tensor
        One problem ``(m,)`` or a batch ``(P, m)``.
    A : LinearOperator, numpy.ndarray or torch.Tensor
        The ``(m, n)`` measurement operator, shared by all problems.
    G : Generator, torch.nn.Module or str, optional
        The prior (latent methods only); a string names a bundled prior or a
        prior / training-run folder.  A prior **given by name** runs what its
        recipe validated at this m (:func:`~ganprior.priors.recipe_choice`):
        ``"mnist"`` is the MNIST family -- the DCGAN at m <= 15, the VAE
        ``"mnist-vae"`` up to 35, the beta-VAE ``"mnist-bvae"`` up to 141
        (whose 20-dimensional latents few measurements determine better), the
        DCGAN above -- each with the method of the benchmark's best row (ILO,
        Sparse-Gen from m = 448) and its validated options;
        ``info["source"]["prior"]`` and ``["method"]`` say so.  A
        :class:`~ganprior.Generator` object (e.g. ``load_prior("mnist")``)
        pins that prior and runs CSGM unless ``method`` is given; so does a
        ``preset``, which replaces the recipe.
    method : str or LatentObjective, optional
        A registered method (see :func:`~ganprior.method_names` and the
        methods table in the docs): ``"csgm"`` (the default, unless a prior
        given by name has a validated method for this m), ``"csgm-tv"``,
        ``"sparse-gen"``, ``"ilo"``, the sparse baselines ``"lasso"``,
        ``"lasso-dct"``, ``"lasso-wavelet"``, ``"omp"``...; ``"auto"`` to choose
        among them from the measurements; or an objective instance to run on
        the engine as is.
    restarts, steps, lr, optimizer, schedule, precision, select
        Engine settings (see :func:`~ganprior.optimize_latents`).  Each one
        left unset (``None``) comes from ``preset`` if given, else from the
        prior's validated recipe (bundled priors carry one), else from
        :data:`~ganprior.solvers.settings.ENGINE_DEFAULTS` (10 restarts x 300 Adam steps, cosine step
        size from 0.3, fp32, the restart with the lowest data term).
    preset : {"bora2017"}, optional
        A named protocol instead of the prior's recipe: ``"bora2017"`` is
        the paper's (10 x 1000 Adam steps, lr 0.01, constant, fp32, lam 0).
    seed : None, int, torch.Generator or sequence of P seeds
        Seed of the initial latents; one seed per problem makes a batch give
        the same answers as separate calls.
    patience, tol
        Per-restart early stop (see :func:`~ganprior.optimize_latents`;
        off by default, ``tol`` 1e-4).  All the engine settings of this
        function are the fields of
        :class:`~ganprior.solvers.settings.SolveConfig`, resolved by
        :func:`~ganprior.solvers.settings.resolve` from the table
        :data:`~ganprior.solvers.settings.DEFAULTS`.
    row_chunk : int, optional
        Rows (problems x restarts) optimised at once; bounds memory.  (``chunk_size`` is its old name: it
        works, with a FutureWarning the first time.)
    memory_format : {"auto", "channels_last", "contiguous"}, optional
        Layout the engine runs the generator in (default ``"auto"``; see
        :meth:`ganprior.Generator.for_solving`); ``"contiguous"`` runs the
        module exactly as given.
    latent_shape : int or tuple, optional
        Latent shape of a bare ``torch.nn.Module`` ``G``.
    history : bool
        Record the loss of every restart at every step.
    progress : bool
        Show a progress bar.
    return_result : bool
        Return a :class:`RecoveryResult` instead of just the images.
    noise_std : float, optional
        Per-measurement noise standard deviation, if known: needed by
        ``lam="discrepancy"`` and passed to methods that take it (``"langevin"``).
    cv_fraction : float, optional
        Fraction of the measurement rows held out by ``"cv"`` and ``method="auto"``
        (default 0.1, at least one row; where that is fewer than 6 rows,
        ``m <= 54``, 5-fold cross-validation instead unless ``cv_fraction``
        or ``cv_folds`` is given).
    cv_folds : int, optional
        K-fold cross-validation instead of one held-out fraction: each
        candidate is solved K times, each time without one of K parts of the
        rows, so every row is held out once (K times the cost; all :math:`m`
        rows score the candidates, the remedy at small :math:`m` where 10%
        is one or two rows: one split's rows are shared by every problem of
        the batch, and pooling problems does not average over them).
    choice : {"per-problem", "shared", "adaptive"}, optional
        With ``"cv"``, ``"discrepancy"`` or ``method="auto"``: choose for
        each problem, or one candidate for the whole batch by the held-out
        error (or fit) summed over its problems, or (``"adaptive"``, with
        held-out rows only) the shared candidate except for the problems
        whose own held-out rows show their own best better by a one-sided
        paired t-test, Bonferroni-corrected over the alternatives so that a
        problem leaves by chance at most 5% of the time (see
        :func:`~ganprior.solvers.selection.choose_candidates`).  Default: ``"shared"`` for
        an argument (``lam``, ``alpha``...: it follows the noise level and
        ``m``, which the batch shares, and ``P`` problems' held-out rows
        score it far less noisily -- on MNIST at m = 25 and 50 a per-problem
        ``lam="cv"`` was 15% and 36% worse than ``lam`` tuned with ground
        truth, the shared one 0% and 9%:
        ``benchmarks/results/selection_check``), ``"adaptive"`` for
        ``method="auto"`` (whether a signal lies near the prior's range is a
        property of each signal, but a per-problem choice from a few rows is
        noise: on the MNIST benchmark problems per-problem was 11-36% worse
        than the best single method at m = 10-100 and 2.3x better at 500;
        adaptive, with 5 folds at m <= 54, was within the 95% CI of it or
        better at every m from 10 to 750 (1.7x better at 500):
        ``benchmarks/results/mnist/auto_choice``).
    candidates : dict or sequence, optional
        With ``method="auto"``: the methods it compares and their arguments,
        ``{name: options}`` or a list of names / ``(name, options)`` pairs,
        e.g. values validated beforehand: ``{"csgm": {"lam": 0.1},
        "sparse-gen": {"lam": 0.1, "alpha": 1.0, "basis": "pixel"},
        "lasso": {"alpha": 0.01}}``.  A latent candidate may name its own
        prior, ``("csgm", {"G": "mnist-k20"})``, so the measurements choose
        the prior as well (``G`` may then be ``None``).  Default: CSGM,
        Sparse-Gen, ILO and the Lasso family with their defaults (see
        :func:`~ganprior.solvers.selection.auto_candidates`); with a prior
        given by name, the method its recipe runs at this ``m`` is then the
        incumbent, kept unless another candidate beats it on the held-out
        rows (:func:`~ganprior.solvers.selection.shared_choice`).
    likelihood : None, str or ganprior.likelihoods.Likelihood, optional
        The measurement model (:mod:`ganprior.likelihoods`): ``"gaussian"`` (the default, least squares),
        ``"magnitude"`` (phase retrieval, :math:`y = |Ax| + \eta`), ``"sign"`` (1-bit,
        :math:`y = \operatorname{sign}(Ax)`), ``"poisson"`` (counts, :math:`y \sim \mathrm{Poisson}(\phi Ax)`), or an
        instance with its parameters (``Poisson(photons=100)``).  The method minimises that model's data term
        instead of :math:`\|y - AG(z)\|^2`; methods that take a model list it in the registry
        (:attr:`~ganprior.solvers.registry.Method.likelihoods`, the ``ganprior methods`` table): ``"csgm"`` and
        ``"ilo"`` take all four; ``"langevin"`` takes all four where the model is a proper negative
        log-likelihood (Gaussian and magnitude with ``noise_std > 0``, Poisson, and the sign model only as
        ``Sign(loss="logistic", scale=s)``: the hinge is refused; see :func:`~ganprior.sample_posterior`);
        ``"csgm-tv"``, ``"sparse-gen"`` and the Lasso family only the Gaussian one; each other model has its
        classical baseline, ``"amplitude-flow"`` (magnitude), ``"biht"`` (sign), ``"poisson-tv"`` (Poisson).
        A method given a model it does not take is an error naming those that take it.  A prior given by
        name then runs as itself with CSGM unless ``method`` is given, and its recipe supplies only the engine
        settings: its per-m choices of prior, method and ``lam`` were validated for Gaussian measurements.
        ``measurement_error`` in the result is the model's data term.  Whole datasets measured and recovered
        under a model: :func:`~ganprior.jobs.recover_dataset` (``ganprior recover --images --likelihood``).
    **options
        The method's own arguments, e.g. ``lam`` (CSGM: weight of
        :math:`\|z\|^2`; default from the prior's recipe for this ``m``, else
        0), ``alpha``, ``image_shape``, ``data_range`` (sparse baselines).
        Where the prior's recipe lists the method (``recover.methods``:
        e.g. Sparse-Gen's ``alpha`` and ``basis``, ILO's ``radius``), the
        values validated for this ``m`` are the defaults.
        An argument the method does not take is an error that lists the ones
        it does.  A numeric argument set to ``"cv"`` is chosen per problem by
        cross-validation on held-out measurement rows (then refit on all
        rows), or to ``"discrepancy"`` by the discrepancy principle (needs
        ``noise_std``); ``method="auto"`` chooses the method the same way
        among CSGM, Sparse-Gen, ILO and the Lasso family (see
        :mod:`ganprior.solvers.selection`: each candidate is one batched
        solve per fold with half the restarts, and candidates clearly behind
        after a fold are dropped -- 3-5 times one solve on the benchmarks).
        The old name ``chunk_size`` of ``row_chunk`` is taken here too.

    Returns
    -------
    x : numpy.ndarray or torch.Tensor
        ``(*image_shape)`` for one problem or ``(P, *image_shape)``, of the
        type, dtype and device of ``y``; a :class:`RecoveryResult` if
        ``return_result``.

    Raises
    ------
    TypeError, ValueError
        On any bad input, before any work starts (engine settings given to a
        sparse method included).
    FloatingPointError
        If every restart of a problem produced a non-finite loss.

    Notes
    -----
    CSGM (Bora et al., 2017) returns :math:`\hat x = G(\hat z)` with

    .. math:: \hat z = \arg\min_z \|y - A G(z)\|_2^2 + \lambda \|z\|_2^2,

    found from ``restarts`` initial latents :math:`z_0 \sim \mathcal{N}(0,
    I)`, keeping per problem the restart with the lowest measurement error.
    With :math:`A_{ij} \sim \mathcal{N}(0, 1/m)`, :math:`m = O(kd \log n)`
    measurements suffice for a :math:`d`-layer ReLU generator with
    :math:`k`-dimensional latents.

    Examples
    --------
    >>> import torch, ganprior
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 64))
    >>> G = ganprior.Generator(net, latent_shape=4)
    >>> A = ganprior.operators.Gaussian(m=20, n=64, seed=0)
    >>> x_true = G(torch.randn(1, 4)).detach()[0]
    >>> x_hat = ganprior.recover(A(x_true), A, G, restarts=4, steps=500, lr=0.05, schedule="constant", seed=0)
    >>> bool(((x_hat - x_true).norm() / x_true.norm()) < 1e-2)
    True
    """
    owner = "recover"
    objective = None
    row_chunk = merge_renamed(owner, {"row_chunk": row_chunk},
                              {k: options.pop(k) for k in list(options) if k in RENAMED})["row_chunk"]
    model = get_likelihood(likelihood, owner=owner)
    if not model.gaussian:
        check_measurements(y, "y", owner)
        model.check(y, owner)
    incumbent = None
    if preset is not None or not model.gaussian:  # per-m choices were validated for Gaussian measurements
        G, method, family = G, method or "csgm", {}
    else:  # the recipe's choice at m, read once: its prior, and its method unless the caller names one
        G, recipe_method, family = _family_choice(y, G, None)
        if method is not None:
            recipe_entry = family.pop("method", None)
            if method == "auto" and candidates is None:  # the recipe's own method at m: auto's incumbent
                incumbent = recipe_entry
        method = method or recipe_method
    selecting = method == "auto" or bool(rule_arguments(method, options))
    if candidates is not None and method != "auto":
        raise ValueError(f"The 'candidates' parameter of recover is for method='auto'; got method={method!r}.")
    if method == "auto" and set(options) - {"image_shape"}:
        raise ValueError(f"method='auto' takes no method arguments ({sorted(set(options) - {'image_shape'})} "
                         "given): give them per candidate, e.g. candidates={'csgm': {'lam': 0.1}, "
                         "'lasso': {'alpha': 0.01}}.")
    if selecting:
        if history is not False:
            raise ValueError("The 'history' parameter of recover records one solve; with an argument chosen from the "
                             "measurements ('cv' / 'discrepancy') or method='auto' every candidate is solved, so it "
                             f"must be False. Got {describe(history)} instead.")
        return _recover_selected(y, A, G, method=method, options=options, noise_std=noise_std, family=family,
                                 likelihood=likelihood, incumbent=incumbent,
                                 cv_fraction=cv_fraction, cv_folds=cv_folds, seed=seed, return_result=return_result,
                                 latent_shape=latent_shape, choice=choice, candidates=candidates,
                                 engine={"restarts": restarts, "steps": steps, "lr": lr, "optimizer": optimizer,
                                         "schedule": schedule, "precision": precision, "select": select,
                                         "preset": preset, "patience": patience, "tol": tol, "row_chunk": row_chunk,
                                         "memory_format": memory_format})
    for arg_name, arg in (("cv_fraction", cv_fraction), ("cv_folds", cv_folds)):
        if arg is not None:
            raise ValueError(f"The '{arg_name}' parameter of recover applies only when something is chosen by "
                             "cross-validation (an argument set to 'cv', or method='auto'); "
                             f"got {arg_name}={arg!r} without one.")
    if choice is not None:
        check_choice(choice, "choice", CHOICES, owner=owner)
        raise ValueError("The 'choice' parameter of recover applies only when something is chosen from the "
                         "measurements (an argument set to 'cv' / 'discrepancy', or method='auto'); "
                         f"got choice={choice!r} without one.")
    if isinstance(method, LatentObjective):
        objective, entry, name = method, None, type(method).__name__
        if likelihood is not None and not hasattr(objective, "likelihood"):
            raise ValueError(f"The 'likelihood' parameter of {owner} needs an objective with a 'likelihood' "
                             f"attribute (e.g. a CSGMObjective); {name} has none.")
    else:
        entry = get_method(method)
        name = entry.name
        if model.name not in entry.likelihoods:
            takers = [n for n in method_names() if model.name in get_method(n).likelihoods]
            raise ValueError(f"The 'likelihood' parameter of {owner} is {model.name!r}, which method={name!r} does "
                             f"not take (it takes {list(entry.likelihoods)}); methods that take {model.name!r}: "
                             f"{takers}.")
    check_measurements(y, "y", owner)
    for flag_name, flag in (("return_result", return_result), ("history", history), ("progress", progress)):
        if not isinstance(flag, bool):
            raise TypeError(f"The '{flag_name}' parameter of {owner} must be a bool. Got {describe(flag)} instead.")
    squeeze = y.ndim == 1
    engine_given = {"restarts": restarts, "steps": steps, "lr": lr, "optimizer": optimizer, "schedule": schedule,
                    "precision": precision, "select": select, "patience": patience, "tol": tol,
                    "row_chunk": row_chunk, "memory_format": memory_format}
    if entry is not None and noise_std is not None and "noise_std" in entry.hyperparameters:
        options = {**options, "noise_std": noise_std}  # passed on to the methods that take it
    if entry is not None and entry.kind == "sparse":
        given = [k for k, v in {**engine_given, "preset": preset, "seed": seed,
                                "latent_shape": latent_shape}.items() if v is not None]
        given += [k for k, v in (("history", history), ("progress", progress)) if v]
        if given:
            raise ValueError(f"The argument(s) {sorted(given)} of {owner} are for latent methods; "
                             f"method={name!r} is a sparse baseline and takes only {sorted(entry.hyperparameters)}.")
        return _recover_sparse(y, A, G, entry, _method_options(entry, options), squeeze, return_result, model)

    if entry is not None:
        options = _method_options(entry, options)
        for key in entry.fixed:  # settings the method sets itself (or does not use): only its own value
            if engine_given.get(key) is not None and engine_given[key] != entry.engine.get(key):
                own = f"sets it to {entry.engine[key]!r}" if key in entry.engine else "does not use it"
                raise ValueError(f"The '{key}' parameter of {owner} cannot be {engine_given[key]!r} with "
                                 f"method={name!r}: the method {own}. Leave it unset.")
    elif options:
        raise ValueError(f"Method-specific arguments {sorted(options)} cannot be given with an objective instance; "
                         "set them on the objective.")
    if preset is not None:
        check_choice(preset, "preset", tuple(PRESETS), owner=owner)
    SolveConfig(**engine_given).check(owner)  # the caller's settings, before any work
    G, op, y_t = latent_inputs(y, A, G, latent_shape, owner, need_operator=A is not None or objective is None)
    m = y_t.shape[1]
    def settle(entry, options):
        """The settings, the method's arguments and where each came from, for ``entry`` at this ``m``."""
        inherited = {}
        recipe = {} if preset is not None else method_recipe(G, "recover", m, entry.name if entry is not None
                                                              else None, inherited=inherited)
        if not model.gaussian:  # the recipe's method options (lam, radius...) were validated for least squares
            recipe = {k: v for k, v in recipe.items() if k in ENGINE_KEYS}
        # the method's own arguments that the caller or the recipe may set (lam; Sparse-Gen's alpha, ILO's radius...)
        keys = tuple(k for k in entry.hyperparameters if k == "lam" or k in recipe) if entry is not None else ()
        config, resolved, source = resolve("recover", {k: v for k, v in {**engine_given, **options}.items()
                                                       if v is not None},
                                           preset=preset, recipe=recipe, method=entry, keys=keys, owner=owner)
        source = {k: f"recipe ({inherited[k]})" if why == "recipe" and k in inherited else why
                  for k, why in source.items()}
        return config, {**options, **resolved}, source, keys

    given_options = dict(options)
    config, options, source, method_keys = settle(entry, options)
    runs_as = None
    if objective is None:
        objective = entry.build(y_t, op, G, **options)
        runs_as = getattr(objective, "runs_as", None)
        if runs_as is not None:  # this call is, in effect, another method (a dgp whose weights cannot move: ILO)
            entry = get_method(runs_as)
            config, options, source, method_keys = settle(
                entry, {k: v for k, v in given_options.items() if k in entry.hyperparameters})
            objective = entry.build(y_t, op, G, **options)
    if likelihood is not None:
        objective.likelihood = model
    P = y_t.shape[0]
    res = optimize_latents(objective, G, P, **config.settings(), seed=seed, history=history, progress=progress,
                           reduce=entry.engine.get("reduce") if entry is not None else None)
    x = to_caller(res.x, y, squeeze)
    if not return_result:
        return x
    if op is not None:
        with torch.no_grad():
            err = model.data_term(op(res.x.reshape(P, -1).to(G.dtype)), y_t)
    else:
        err = res.fit
    # reported: the settings that change the answer (ENGINE_KEYS) and the method's own arguments
    settings = config.settings(ENGINE_KEYS)
    source = {k: why for k, why in source.items() if k in ENGINE_KEYS or k in method_keys}
    report_precision(settings, source, res.info)
    for key, (value, why) in family.items():
        settings[key], source[key] = value, why
    info = {"settings": {**settings, **options}, "source": source, "preset": preset}
    if runs_as is not None:
        info["runs_as"] = runs_as
    if not model.gaussian:
        info["likelihood"] = model.describe()
    return RecoveryResult(
        x=x, z=to_caller(res.z, y, squeeze), measurement_error=to_caller(err, y, squeeze),
        fit=to_caller(res.fit, y, squeeze), loss=to_caller(res.loss, y, squeeze),
        restart=to_caller(res.restart, y, squeeze), history=to_caller(res.history, y, squeeze),
        steps=to_caller(res.steps, y, squeeze), failed=to_caller(res.failed, y, squeeze), wall_time=res.wall_time,
        method=name, info=info)


def _family_choice(y, G, method):
    """The prior and the method to run: for a prior given by name, what its recipe chose at this m
    (:func:`~ganprior.priors.recipe_choice`); ``method`` None means that method, else CSGM.  (A ``preset`` replaces
    the recipe, its choices included: the caller does not come here then.)

    Returns ``(G, method, family)`` with ``family`` = ``{key: (value, why)}`` for what the recipe chose
    (:func:`~ganprior.priors.choose_by_name`)."""
    from ..priors.recipes import choose_by_name

    m = y.shape[-1] if isinstance(y, (np.ndarray, torch.Tensor)) and y.ndim in (1, 2) else 0
    return choose_by_name(G, int(m), method)


def _recover_selected(y, A, G, *, method, options, noise_std, cv_fraction, seed, return_result, latent_shape,
                      engine, choice=None, candidates=None, cv_folds=None, family=None, likelihood=None,
                      incumbent=None):
    """``recover`` with an argument (or the method) chosen from the measurements alone."""
    from .holdout import residual
    from .selection import select_and_recover

    if choice is None:
        choice = "adaptive" if method == "auto" else "shared"
    check_choice(choice, "choice", CHOICES, owner="recover")
    check_measurements(y, "y", "recover")
    if not isinstance(return_result, bool):
        raise TypeError(f"The 'return_result' parameter of recover must be a bool. Got {describe(return_result)}.")
    if method != "auto":
        get_method(method)
    if G is not None:
        G = as_generator(G, latent_shape, "recover")
    elif method != "auto" and get_method(method).kind == "latent":
        raise ValueError(f"The 'G' parameter of recover is required for method={method!r}.")
    from ..operators import as_operator

    op = as_operator(A, options.get("image_shape"), name="A")
    check_rows(op, y.shape[-1])
    kwargs = {k: v for k, v in engine.items() if v is not None}
    model = get_likelihood(likelihood, owner="recover")
    if likelihood is not None:
        kwargs["likelihood"] = model
    start = time.perf_counter()
    x, info = select_and_recover(recover, y, op, G, method=method, options=options, noise_std=noise_std,
                                 cv_fraction=cv_fraction, seed=seed, tau=1.5, kwargs=kwargs, choice=choice,
                                 candidates=candidates, cv_folds=cv_folds,
                                 incumbent=incumbent[0] if incumbent else None)
    wall = time.perf_counter() - start
    squeeze = y.ndim == 1
    out = to_caller(x, y, squeeze)
    if not return_result:
        return out
    if model.gaussian:
        err = residual(op, y, x)
    else:
        with torch.no_grad():
            err = model.data_term(op.float64()(torch.as_tensor(x).double().reshape(x.shape[0], -1)),
                                  torch.as_tensor(np.asarray(y) if isinstance(y, np.ndarray) else y.detach().cpu())
                                  .double().reshape(x.shape[0], -1))
    refits = info.pop("refits")
    per_problem = {name: _gather(refits, name, x.shape[0]) for name in ("z", "fit", "loss", "restart")}
    if len(refits) == 1:  # one candidate for every problem: its settings and where they came from
        settings, source = dict(refits[0][2].info.get("settings", {})), dict(refits[0][2].info.get("source", {}))
    else:  # per chosen candidate (info["selection"]["chosen"] says which problem took which)
        settings = {label: dict(res.info.get("settings", {})) for _, label, res, _ in refits}
        source = {label: dict(res.info.get("source", {})) for _, label, res, _ in refits}
    if len(refits) == 1 and info["argument"] != "method":  # the argument chosen from the measurements
        source[info["argument"]] = info["rule"]
    for key, (value, why) in (family or {}).items():
        settings[key], source[key] = value, why
    info = {"selection": info, "settings": settings, "source": source}
    if not model.gaussian:
        info["likelihood"] = model.describe()
    if info["selection"].get("warnings"):  # what the candidates' solvers said, silenced and counted
        info["warnings"] = info["selection"]["warnings"]
    return RecoveryResult(x=out, measurement_error=to_caller(err, y, squeeze), wall_time=wall, method=method,
                          info=info, **{name: to_caller(v, y, squeeze) for name, v in per_problem.items()})


def _gather(refits, name, P):
    """One field of the chosen candidates' results (``z``, ``fit``...) per problem, or None where a chosen
    candidate has none (a sparse baseline has no latent) or the candidates' shapes differ."""
    parts = []
    for idx, _, res, rows in refits:
        value = getattr(res, name, None)
        if value is None:
            return None
        value = torch.as_tensor(value).detach().cpu()
        parts.append((idx, value.reshape(-1, *value.shape[1:]) if value.ndim else value.reshape(1)))
    trailing = {tuple(v.shape[1:]) for _, v in parts}
    if len(trailing) != 1:
        return None
    out = torch.zeros(P, *trailing.pop(), dtype=parts[0][1].dtype)
    for (idx, _, _, rows), (_, value) in zip(refits, parts):
        out[idx] = value[rows]
    return out


def _recover_sparse(y, A, G, entry, options, squeeze, return_result, model=None):
    """Sparse baselines: run on the CPU in float64 (the Lasso family through scikit-learn), results in the caller's
    type; a baseline of another measurement model gets it as ``_likelihood``."""
    import copy

    from ..operators import as_operator

    if G is not None:
        raise ValueError(f"The 'G' parameter must be None for method={entry.name!r}: the sparse baselines use no "
                         "prior.")
    op = as_operator(A, options.get("image_shape"), name="A")
    if any(True for _ in op.buffers()) and op.device.type != "cpu":
        op = copy.deepcopy(op).cpu()
    y_np = y.detach().cpu().double().numpy() if isinstance(y, torch.Tensor) else np.asarray(y, dtype=np.float64)
    y_np = y_np.reshape(-1, y.shape[-1])
    check_rows(op, y_np.shape[1])
    start = time.perf_counter()
    gaussian = model is None or model.gaussian
    x = entry.build(y_np, op, **options) if gaussian else entry.build(y_np, op, **options, _likelihood=model)
    wall = time.perf_counter() - start
    x_t = torch.from_numpy(np.ascontiguousarray(x))
    op_dtype = op._dtype() or torch.float64
    with torch.no_grad():
        if gaussian:
            residual = torch.from_numpy(y_np).to(op_dtype) - op(x_t.reshape(x_t.shape[0], -1).to(op_dtype))
            err = residual.double().pow(2).sum(-1)
        else:
            err = model.data_term(op.float64()(x_t.reshape(x_t.shape[0], -1).double()), torch.from_numpy(y_np))
    out = to_caller(x_t, y, squeeze)
    if not return_result:
        return out
    settings = {**{k: v for k, v in entry.hyperparameters.items()}, **options}
    return RecoveryResult(x=out, measurement_error=to_caller(err, y, squeeze), wall_time=wall, method=entry.name,
                          info={"settings": settings, "source": {k: "caller" if k in options else "default"
                                                                 for k in settings}})
