r"""Sparse baselines: Lasso and OMP in the pixel, DCT or wavelet basis.

The parts
---------
- :func:`solve_sparse` -- recover images from :math:`y = Ax + \eta` assuming
  :math:`x = \Psi^T w` with a sparse :math:`w`, through scikit-learn.
- :func:`select_alpha` -- pick the Lasso weight on validation images, so that
  benchmarks never tune on their test images.
- :data:`DEFAULT_ALPHA` -- the paper's weights per basis.

scikit-learn needs the explicit dictionary :math:`A\Psi^T`; it is built from
the rows of :math:`A` with the fast basis transform (never an ``n x n`` basis
matrix) in Fortran order, so scikit-learn uses it without a copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .._convert import check_rows
from .._validation import (
    check_choice,
    check_data_range,
    check_finite,
    check_float,
    check_int,
    check_seed,
    describe,
)
from ..operators.bases import BASES, Wavelet, get_basis, orthogonal_wavelets
from ..operators import LinearOperator, Matrix, as_operator

__all__ = ["solve_sparse", "select_alpha", "DEFAULT_ALPHA", "SOLVERS"]

#: The paper's Lasso weights (Bora et al., 2017): 0.1 in the pixel and DCT bases, 1e-5 for Haar wavelets.
DEFAULT_ALPHA = {"pixel": 0.1, "dct": 0.1, "wavelet": 1e-5}
SOLVERS = ("lasso", "omp")

# Rows of A transformed at once while building the dictionary (about 32 MB of float64 per chunk).
_CHUNK_BYTES = 2**25


# -- validation -----------------------------------------------------------------------------------------------------
def _check_y(y) -> np.ndarray:
    if not isinstance(y, np.ndarray):
        raise TypeError(f"The 'y' parameter of solve_sparse must be a numpy.ndarray of shape (P, m). "
                        f"Got {describe(y)} instead.")
    if y.dtype == bool or not (np.issubdtype(y.dtype, np.floating) or np.issubdtype(y.dtype, np.integer)):
        raise TypeError(f"The 'y' parameter of solve_sparse must hold real numbers. Got {describe(y)} instead.")
    if y.ndim != 2 or 0 in y.shape:
        raise ValueError(f"The 'y' parameter of solve_sparse must have shape (P, m) with P, m >= 1 "
                         f"(one row per problem). Got {describe(y)} instead.")
    check_finite(y, "y")
    return y


def _check_operators(A, P: int, m: int) -> list[LinearOperator]:
    """One operator per problem (the same object repeated when ``A`` is shared)."""
    is_list = isinstance(A, (list, tuple))
    if is_list:
        if len(A) != P:
            raise ValueError(f"The 'A' parameter of solve_sparse, given as a list, must hold one operator per "
                             f"problem (P = {P}). Got a list of length {len(A)} instead.")
        ops = [as_operator(a, name=f"A[{i}]") for i, a in enumerate(A)]
    else:
        ops = [as_operator(A, name="A")] * P
    first = ops[0]
    for i, op in enumerate(ops):
        name = f"A[{i}]" if is_list else "A"
        check_rows(op, m, name)
        if op.in_shape != first.in_shape:
            raise ValueError(f"The operators in 'A' must share one input shape. 'A[0]' takes {first.in_shape} "
                             f"but 'A[{i}]' takes {op.in_shape}.")
    return ops


def _check_image_shape(image_shape, op: LinearOperator, basis: str) -> tuple[int, ...]:
    if image_shape is None:
        shape = op.in_shape
    else:
        try:
            shape = tuple(int(s) for s in image_shape)
        except TypeError:
            raise TypeError(f"The 'image_shape' parameter of solve_sparse must be a tuple of ints. "
                            f"Got {describe(image_shape)} instead.")
        if not shape or any(s < 1 for s in shape):
            raise ValueError(f"The 'image_shape' parameter of solve_sparse must be a tuple of positive ints. "
                             f"Got {image_shape!r} instead.")
        if int(np.prod(shape)) != op.n:
            raise ValueError(f"Shape mismatch: 'image_shape' {shape} holds {int(np.prod(shape))} pixels but the "
                             f"operator 'A' takes n={op.n} (A.shape = {op.shape}).")
        if len(op.in_shape) > 1 and shape != op.in_shape:
            raise ValueError(f"Shape mismatch: 'image_shape' is {shape} but the operator 'A' acts on images of "
                             f"shape {op.in_shape}.")
    if basis != "pixel" and len(shape) < 2:
        raise ValueError(f"basis={basis!r} transforms 2-D images, but the operator 'A' takes flat inputs of shape "
                         f"{shape}. Give 'image_shape', e.g. (1, 28, 28) or (3, 64, 64).")
    return shape


def _check_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"The 'dtype' parameter of solve_sparse must be numpy.float32 or numpy.float64. "
                         f"Got {dtype!r} instead.")
    return dt


# -- the dictionary A Psi^T -------------------------------------------------------------------------------------------
def _row_source(op: LinearOperator):
    """A function ``rows(start, stop) -> torch.Tensor (stop - start, n)`` giving rows of ``A``."""
    if isinstance(op, Matrix):
        return lambda start, stop: op.matrix[start:stop]
    dtype = op._dtype() or torch.float64
    device = op.device

    def by_adjoint(start, stop):  # row i of A is A^T e_i
        unit = torch.zeros(stop - start, op.m, dtype=dtype, device=device)
        unit[torch.arange(stop - start), torch.arange(start, stop)] = 1
        with torch.no_grad():
            return op._adjoint(unit)

    try:
        by_adjoint(0, 1)
    except NotImplementedError:  # no adjoint: fall back to the dense matrix
        with torch.no_grad():
            dense = op.to_dense()
        return lambda start, stop: dense[start:stop]
    return by_adjoint


def _dictionary(op: LinearOperator, basis, shape, dtype) -> np.ndarray:
    r"""The ``(m, n)`` matrix :math:`A\Psi^T` in Fortran order: row :math:`i` is :math:`\Psi a_i`."""
    m, n = op.m, op.n
    rows = _row_source(op)
    out = np.empty((m, n), dtype=dtype, order="F")
    chunk = max(1, _CHUNK_BYTES // (8 * n))
    for start in range(0, m, chunk):
        stop = min(m, start + chunk)
        block = rows(start, stop).detach().cpu().numpy().astype(dtype, copy=False)
        block = basis.analysis(block.reshape(stop - start, *shape))
        if not np.isfinite(block).all():
            raise ValueError("The operator 'A' holds NaN or Inf entries.")
        out[start:stop] = block
    return out


# -- fits -------------------------------------------------------------------------------------------------------------
def _fit_lasso(D, Y, alpha, m, max_iter, tol):
    """Coefficients ``(P, n)`` for targets ``Y`` of shape ``(m, P)``; see the Notes of :func:`solve_sparse`."""
    from sklearn.linear_model import Lasso

    # copy_X=False: with fit_intercept=False scikit-learn never writes into X, so the copy it makes by default
    # is waste.  check_input=False: D is ours (F-ordered, finite, of Y's dtype), which skips a full pass over it.
    model = Lasso(alpha=alpha / (2.0 * m), fit_intercept=False, copy_X=False, max_iter=max_iter, tol=tol)
    model.fit(D, Y if Y.shape[1] > 1 else Y[:, 0], check_input=False)
    return np.asarray(model.coef_, dtype=D.dtype).reshape(Y.shape[1], -1)


def _fit_omp(D, Y, k):
    from sklearn.linear_model import orthogonal_mp

    coef = orthogonal_mp(D, Y, n_nonzero_coefs=k, precompute=False, copy_X=True)
    return np.asarray(coef, dtype=D.dtype).reshape(D.shape[1], Y.shape[1]).T


def solve_sparse(y, A, *, basis="pixel", alpha=None, image_shape=None, data_range=(0.0, 1.0), wavelet="db1",
                 level=None, solver="lasso", n_nonzero_coefs=None, max_iter=1000, tol=1e-4, dtype=np.float64):
    r"""Recover images that are sparse in an orthonormal basis (Lasso or OMP).

    Parameters
    ----------
    y : numpy.ndarray, shape (P, m)
        Measurements, one row per problem.
    A : LinearOperator or list of P LinearOperator
        One ``(m, n)`` operator shared by all problems, or one per problem (a
        dense ``(m, n)`` array is also accepted).
    basis : {"pixel", "dct", "wavelet"}
        Sparsifying basis :math:`\Psi` (see :mod:`ganprior.bases`).
    alpha : float, optional
        :math:`\lambda > 0` of the objective below (``solver="lasso"`` only).
        Default: the paper's value, :data:`DEFAULT_ALPHA` -- 0.1 for
        ``"pixel"`` and ``"dct"``, 1e-5 for ``"wavelet"``.
    image_shape : tuple of int, optional
        Shape of one image; default ``A.in_shape``.  Required for ``"dct"`` and
        ``"wavelet"`` when ``A`` takes flat inputs.
    data_range : (float, float) or None
        Clip the output to this range (default ``(0, 1)``); ``None`` leaves it
        unclipped.
    wavelet : str
        Orthogonal wavelet for ``basis="wavelet"`` (default ``"db1"``, Haar).
    level : int, optional
        Wavelet levels (default: the maximum, see :class:`ganprior.bases.Wavelet`).
    solver : {"lasso", "omp"}
        :class:`sklearn.linear_model.Lasso` (default) or orthogonal matching
        pursuit (:func:`sklearn.linear_model.orthogonal_mp`, the routine behind
        ``OrthogonalMatchingPursuit``).
    n_nonzero_coefs : int, optional
        Atoms OMP selects (``solver="omp"`` only); default ``max(1, m // 4)``,
        capped at ``n``.
    max_iter : int
        Coordinate-descent sweeps of the Lasso (default 1000, scikit-learn's).
    tol : float
        Lasso stopping tolerance on the duality gap relative to
        :math:`\|y\|^2` (default 1e-4, scikit-learn's).
    dtype : numpy.float64 or numpy.float32
        Precision of the dictionary and the fit; float32 halves time and memory.

    Returns
    -------
    numpy.ndarray, shape ``(P, *image_shape)``
        :math:`\hat x = \Psi^T \hat w`, clipped to ``data_range``, in ``dtype``.

    Raises
    ------
    TypeError, ValueError
        On any bad input, before any work starts: unknown ``basis``, ``solver``
        or ``wavelet`` (the valid names are listed), ``y`` not a finite
        ``(P, m)`` array, ``y.shape[1] != A.m``, a list of operators of the
        wrong length, ``image_shape`` inconsistent with ``A.n``, ``alpha <= 0``,
        options of the other solver or basis, and so on.

    Notes
    -----
    The Lasso solves, for every problem :math:`p`,

    .. math:: \hat w_p = \arg\min_w \|y_p - A_p\Psi^T w\|_2^2 + \lambda \|w\|_1,
              \qquad \hat x_p = \Psi^T \hat w_p,

    the objective of Bora et al. (2017).  scikit-learn's ``Lasso`` minimises
    :math:`\frac{1}{2m}\|\tilde y - \tilde X w\|_2^2 + a\|w\|_1`.  Scaling
    :math:`\tilde X = \sqrt{2m}\,X`, :math:`\tilde y = \sqrt{2m}\,y` turns this
    into :math:`\|y - Xw\|^2 + a\|w\|_1`, so :math:`a = \lambda`.  Dividing
    that objective by :math:`2m` shows the same minimiser is reached with the
    unscaled :math:`X, y` and :math:`a = \lambda / (2m)`, which is what is
    done here: it saves a pass over the ``m x n`` dictionary, and because
    scikit-learn's stopping rule compares the duality gap with
    ``tol`` :math:`\cdot\|y\|^2`, both forms stop at the same iterate.

    The dictionary :math:`X = A\Psi^T` is formed without any ``n x n`` matrix:
    its row :math:`i` is :math:`(\Psi a_i)^T` for the row :math:`a_i` of
    :math:`A` (as :math:`\Psi` is orthonormal, :math:`a_i^T\Psi^T = (\Psi
    a_i)^T`), so the fast analysis transform is run on the rows of :math:`A`
    viewed as images.  Rows come from a dense operator's matrix directly and
    otherwise from :math:`A^T e_i` (so a custom operator's adjoint must be
    exact; check it with :func:`ganprior.operators.dottest`).  ``X`` is built
    in Fortran order and handed over with ``copy_X=False``, so scikit-learn
    does not copy it; its memory is ``m n`` times 8 bytes (float64).

    With a shared ``A`` all problems go to ONE scikit-learn call with an
    ``(m, P)`` target; scikit-learn fits each column independently from zero,
    so the results equal separate calls, and the dictionary is built once.
    With a list of operators each problem builds its own dictionary in turn.

    OMP greedily selects ``n_nonzero_coefs`` atoms and least-squares fits
    them; it ignores ``alpha``, ``max_iter`` and ``tol``.  It copies the
    dictionary once per problem (scikit-learn swaps its columns).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from ganprior.operators import Gaussian
    >>> from ganprior.operators.bases import DCT2
    >>> w = np.zeros((1, 256)); w[0, [0, 3, 17]] = [4.0, 1.0, -0.5]
    >>> x = DCT2((1, 16, 16)).synthesis(w)
    >>> A = Gaussian(m=60, in_shape=(1, 16, 16), seed=0, dtype=torch.float64)
    >>> y = A(torch.from_numpy(x)).numpy()
    >>> x_hat = solve_sparse(y, A, basis="dct", alpha=1e-3, data_range=None, tol=1e-8)
    >>> bool(np.linalg.norm(x_hat - x) / np.linalg.norm(x) < 1e-2)
    True
    """
    basis = check_choice(basis, "basis", BASES, owner="solve_sparse")
    solver = check_choice(solver, "solver", SOLVERS, owner="solve_sparse")
    y = _check_y(y)
    P, m = y.shape
    ops = _check_operators(A, P, m)
    shape = _check_image_shape(image_shape, ops[0], basis)
    if basis == "wavelet":
        if not isinstance(wavelet, str) or wavelet not in orthogonal_wavelets():
            raise ValueError(f"The 'wavelet' parameter of solve_sparse must be one of the orthogonal wavelets "
                             f"{orthogonal_wavelets()}. Got {wavelet!r} instead.")
        psi = Wavelet(wavelet, level=level, image_shape=shape)
    else:
        if level is not None or wavelet != "db1":
            raise ValueError(f"The 'wavelet' and 'level' parameters of solve_sparse are for basis='wavelet', "
                             f"not basis={basis!r}.")
        psi = get_basis(basis, shape)
    if solver == "lasso":
        if n_nonzero_coefs is not None:
            raise ValueError("The 'n_nonzero_coefs' parameter of solve_sparse is for solver='omp', not 'lasso'.")
        alpha = DEFAULT_ALPHA[basis] if alpha is None else check_float(alpha, "alpha", minimum=0.0, strict=True,
                                                                          owner="solve_sparse")
    else:
        if alpha is not None:
            raise ValueError("The 'alpha' parameter of solve_sparse is for solver='lasso'; OMP is controlled by "
                             "'n_nonzero_coefs'.")
        n = ops[0].n
        if n_nonzero_coefs is None:
            n_nonzero_coefs = min(max(1, m // 4), n)
        n_nonzero_coefs = check_int(n_nonzero_coefs, "n_nonzero_coefs", minimum=1, owner="solve_sparse")
        if n_nonzero_coefs > min(m, n):
            raise ValueError(f"The 'n_nonzero_coefs' parameter of solve_sparse must be at most min(m, n) = "
                             f"{min(m, n)}. Got {n_nonzero_coefs} instead.")
    max_iter = check_int(max_iter, "max_iter", minimum=1, owner="solve_sparse")
    tol = check_float(tol, "tol", minimum=0.0, owner="solve_sparse")
    data_range = check_data_range(data_range, "solve_sparse")
    dtype = _check_dtype(dtype)

    Y = np.asfortranarray(y.T, dtype=dtype)  # (m, P)
    shared = all(op is ops[0] for op in ops)
    groups = [(ops[0], np.arange(P))] if shared else [(op, np.array([p])) for p, op in enumerate(ops)]
    W = np.empty((P, int(np.prod(shape))), dtype=dtype)
    for op, idx in groups:
        D = _dictionary(op, psi, shape, dtype)
        target = Y[:, idx] if not shared else Y
        if solver == "lasso":
            W[idx] = _fit_lasso(D, np.asfortranarray(target), alpha, m, max_iter, tol)
        else:
            W[idx] = _fit_omp(D, np.asfortranarray(target), n_nonzero_coefs)
        del D
    x = psi.synthesis(W)
    if data_range is not None:
        np.clip(x, data_range[0], data_range[1], out=x)
    return x


def select_alpha(x_val, A, basis="pixel", alphas=(1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0), noise_std=0.0, seed=0, **kw):
    r"""Choose the Lasso weight on validation images.

    Parameters
    ----------
    x_val : numpy.ndarray or torch.Tensor, shape ``(N, *image_shape)``
        Validation images (never the test images).
    A : LinearOperator
        The measurement operator the benchmark uses (shared by all images).
    basis : {"pixel", "dct", "wavelet"}
        Sparsifying basis.
    alphas : sequence of float
        Candidate :math:`\lambda > 0` (default: a decade grid from 1e-5 to 1).
    noise_std : float
        Per-entry standard deviation of the simulated Gaussian noise (default 0).
    seed : None, int or torch.Generator
        Seed of the noise.
    **kw
        Passed to :func:`solve_sparse` (``image_shape``, ``data_range``,
        ``wavelet``, ``level``, ``max_iter``, ``tol``, ``dtype``); ``image_shape``
        defaults to ``x_val.shape[1:]``.

    Returns
    -------
    best_alpha : float
        The candidate with the lowest mean per-pixel MSE (the smallest such
        candidate on a tie).
    table : list of dict
        One row per candidate, in the given order: ``{"alpha", "mse", "mse_std"}``
        (mean and standard deviation over the images of the per-image MSE).

    Raises
    ------
    TypeError, ValueError
        For bad ``x_val``, ``alphas``, ``noise_std`` or keywords
        (``alpha``, ``solver`` and ``n_nonzero_coefs`` are not accepted), and
        everything :func:`solve_sparse` rejects.

    Notes
    -----
    Measurements :math:`y_i = A x_i + \sigma \varepsilon_i`,
    :math:`\varepsilon_i \sim \mathcal{N}(0, I_m)`, are simulated once and
    every candidate is scored by
    :math:`\frac{1}{N}\sum_i \frac{1}{n}\|\hat x_i(\lambda) - x_i\|_2^2`
    with :math:`\hat x_i(\lambda)` from :func:`solve_sparse` (clipped to
    ``data_range`` as in use).
    """
    for key in ("alpha", "solver", "n_nonzero_coefs"):
        if key in kw:
            raise ValueError(f"select_alpha does not take {key!r}: it tunes the Lasso weight over 'alphas'.")
    if isinstance(x_val, torch.Tensor):
        x_val = x_val.detach().cpu().double().numpy()
    if not isinstance(x_val, np.ndarray) or x_val.ndim < 2 or x_val.shape[0] < 1:
        raise TypeError(f"The 'x_val' parameter of select_alpha must be an array of shape (N, *image_shape). "
                        f"Got {describe(x_val)} instead.")
    check_finite(x_val, "x_val")
    if isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence) or len(alphas) == 0:
        raise TypeError(f"The 'alphas' parameter of select_alpha must be a non-empty sequence of floats > 0. "
                        f"Got {describe(alphas)} instead.")
    alphas = [check_float(a, f"alphas[{i}]", minimum=0.0, strict=True, owner="select_alpha")
              for i, a in enumerate(alphas)]
    noise_std = check_float(noise_std, "noise_std", minimum=0.0, owner="select_alpha")
    if isinstance(A, (list, tuple)):
        raise TypeError("The 'A' parameter of select_alpha must be one operator shared by the validation images.")
    op = as_operator(A, name="A")
    gen = check_seed(seed)
    image_shape = kw.pop("image_shape", None) or tuple(x_val.shape[1:])
    x_flat = x_val.reshape(x_val.shape[0], -1).astype(np.float64)
    if x_flat.shape[1] != op.n:
        raise ValueError(f"Shape mismatch: 'x_val' images hold {x_flat.shape[1]} pixels but the operator 'A' "
                         f"takes n={op.n}.")
    op_dtype = op._dtype() or torch.float64
    with torch.no_grad():
        y = op(torch.from_numpy(x_flat).to(device=op.device, dtype=op_dtype)).detach().cpu().double()
    y = y + noise_std * torch.randn(y.shape, generator=gen, dtype=torch.float64)
    y = y.numpy()
    table = []
    for a in alphas:
        x_hat = solve_sparse(y, op, basis=basis, alpha=a, image_shape=image_shape, **kw)
        err = ((x_hat.reshape(x_flat.shape).astype(np.float64) - x_flat) ** 2).mean(axis=1)
        table.append({"alpha": a, "mse": float(err.mean()), "mse_std": float(err.std())})
    best = min(table, key=lambda row: (row["mse"], row["alpha"]))
    return best["alpha"], table


def _register():
    from .registry import register_method
    from .sparse_gen import ALPHA_GRID

    for name, basis, summary in (
        ("lasso", "pixel", "Lasso in the pixel basis (scikit-learn), clipped to data_range"),
        ("lasso-dct", "dct", "Lasso on the orthonormal 2-D DCT coefficients of every channel"),
        ("lasso-wavelet", "wavelet", "Lasso on orthonormal Haar wavelet coefficients (maximum level)"),
    ):
        def build(y, A, alpha: float | None = None, image_shape: tuple | None = None,
                  data_range: tuple[float, float] | None = (0.0, 1.0), _basis=basis):
            return solve_sparse(y, A, basis=_basis, alpha=alpha, image_shape=image_shape, data_range=data_range)

        register_method(name, build, kind="sparse", summary=summary, reference="Bora et al., ICML 2017 (baseline)",
                        contract={"alpha": 1e-6, "full_measurements": True}, cv_grids={"alpha": ALPHA_GRID},
                        auto=True)

    def build_omp(y, A, n_nonzero_coefs: int | None = None, image_shape: tuple | None = None,
                  data_range: tuple[float, float] | None = (0.0, 1.0)):
        return solve_sparse(y, A, basis="pixel", solver="omp", n_nonzero_coefs=n_nonzero_coefs,
                            image_shape=image_shape, data_range=data_range)

    register_method("omp", build_omp, kind="sparse", summary="orthogonal matching pursuit in the pixel basis",
                    reference="Bora et al., ICML 2017 (baseline)",
                    contract={"full_measurements": True, "n_nonzero_coefs": 36})


_register()
