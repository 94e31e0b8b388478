r"""Classical baselines for the non-Gaussian measurement models of :mod:`ganprior.likelihoods`.

Each is the standard algorithm of its model, run on all :math:`P` problems at once in torch (float64, CPU),
using only :math:`A` and its adjoint (never an ``n x n`` matrix, nor all of :math:`A` at once), and registered as
a sparse-kind method of :func:`ganprior.recover`:

``"amplitude-flow"`` (:func:`amplitude_flow`, ``likelihood="magnitude"``)
    Truncated amplitude flow (Wang, Giannakis & Eldar, IEEE T-IT 2018) from the spectral initialisation
    (:func:`spectral_init`), with an optional hard-thresholding step in a basis (SPARTA: Wang, Zhang, Giannakis,
    Akcakaya & Chen, IEEE TSP 2018).  Recovers :math:`x` up to its global sign.
``"biht"`` (:func:`biht`, ``likelihood="sign"``)
    Binary iterative hard thresholding (Jacques, Laska, Boufounos & Baraniuk, IEEE T-IT 2013) in the pixel, DCT
    or wavelet basis.  Returns **unit-norm** images: signs do not see the scale of :math:`x`.
``"poisson-tv"`` (:func:`poisson_tv`, ``likelihood="poisson"``)
    The Poisson negative log-likelihood plus a total-variation penalty over :math:`x \ge 0`, in the spirit of
    SPIRAL-TV (Harmany, Marcia & Willett, IEEE TIP 2012), solved by monotone FISTA with backtracking (Beck &
    Teboulle, IEEE TIP 2009) on a smoothed total variation.

Sparsity is counted in an orthonormal basis :math:`\Psi` (:func:`ganprior.operators.bases.get_basis`):
:math:`H_s(x) = \Psi^T T_s(\Psi x)`, with :math:`T_s` keeping the :math:`s` coefficients of largest magnitude,
is the Euclidean projection onto the images with at most :math:`s` non-zero coefficients.
"""

from __future__ import annotations

import math
import numbers
from typing import Literal

import numpy as np
import torch

from .._convert import check_rows
from .._validation import check_choice, check_data_range, check_float, check_int, describe
from ..operators import LinearOperator, as_operator
from ..operators.bases import BASES, get_basis

__all__ = ["SPARSITY_GRID", "WEIGHT_GRID", "amplitude_flow", "biht", "poisson_tv", "spectral_init",
           "spectral_latents"]

#: Candidate sparsities of ``sparsity="cv"`` (``"amplitude-flow"``, ``"biht"``); a value at or above ``n`` is the
#: dense method.
SPARSITY_GRID = (25, 50, 100, 200, 400)
#: Candidate total-variation weights of ``weight="cv"`` (``"poisson-tv"``).
WEIGHT_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)

_Basis = Literal["pixel", "dct", "wavelet"]  # the annotation of a build's 'basis' (the command line's choices)
# poisson_tv: the trial L of a step is the last one times this (then doubled until it majorises).
_SHRINK = 0.8
#: poisson_tv stops once each problem's last two steps moved its image by less than this, relative.
_STOP = 1e-13
# poisson_tv: doublings of L tried in one step, and the roundoff its majorisation test allows, relative to the size
# of the terms of F (counts: the deviance's terms y log(y / lam) ~ y cancel to its value, which may be far smaller)
_DOUBLINGS = 60
_ROUNDOFF = 1e-12
# Probes of the Hutchinson estimate of ||A||_F^2 (the step sizes of amplitude_flow and biht): for a Gaussian A its
# relative error is about sqrt(2 / (probes * n)).
_PROBES = 32
# Bytes of float64 rows of A formed at once by _support_scores.
_CHUNK_BYTES = 2**25


# -- validation ---------------------------------------------------------------------------------------------------
def _measurements(y, owner: str) -> torch.Tensor:
    """``y`` as a float64 CPU tensor ``(P, m)`` (a single ``(m,)`` problem becomes ``(1, m)``)."""
    if isinstance(y, np.ndarray):
        if y.dtype == bool or not (np.issubdtype(y.dtype, np.floating) or np.issubdtype(y.dtype, np.integer)):
            raise TypeError(f"The 'y' parameter of {owner} must hold real numbers. Got {describe(y)} instead.")
        t = torch.from_numpy(np.asarray(y, dtype=np.float64))
    elif isinstance(y, torch.Tensor):
        if y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"The 'y' parameter of {owner} must hold real numbers. Got {describe(y)} instead.")
        t = y.detach().cpu().double()
    else:
        raise TypeError(f"The 'y' parameter of {owner} must be a numpy.ndarray or torch.Tensor of shape (P, m). "
                        f"Got {describe(y)} instead.")
    if t.ndim == 1:
        t = t[None]
    if t.ndim != 2 or 0 in t.shape:
        raise ValueError(f"The 'y' parameter of {owner} must have shape (P, m) or (m,) with P, m >= 1. "
                         f"Got shape {tuple(t.shape)} instead.")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"The 'y' parameter of {owner} must hold only finite values.")
    return t


def _operator(A, m: int, image_shape, owner: str) -> tuple[LinearOperator, tuple[int, ...]]:
    """A float64 CPU operator with ``m`` rows and the image shape (``image_shape`` or the operator's)."""
    shape = None
    if image_shape is not None:
        try:
            shape = tuple(int(s) for s in image_shape)
        except TypeError:
            raise TypeError(f"The 'image_shape' parameter of {owner} must be a tuple of ints. "
                            f"Got {describe(image_shape)} instead.") from None
        if not shape or any(s < 1 for s in shape):
            raise ValueError(f"The 'image_shape' parameter of {owner} must be a tuple of positive ints. "
                             f"Got {image_shape!r} instead.")
    op = as_operator(A, shape if isinstance(A, (np.ndarray, torch.Tensor)) else None, name="A")
    check_rows(op, m)
    if shape is None:
        shape = op.in_shape
    elif int(np.prod(shape)) != op.n:
        raise ValueError(f"Shape mismatch: 'image_shape' {shape} holds {int(np.prod(shape))} pixels but the "
                         f"operator 'A' takes n={op.n} (A.shape = {op.shape}).")
    if op._dtype() not in (None, torch.float64) or op.device.type != "cpu":
        op = op.float64()
    return op, shape


def _sparsity(sparsity, n: int, owner: str) -> int | None:
    """``None`` (dense) or the sparsity, capped at ``n`` (where it is the dense method: ``None``)."""
    if sparsity is None:
        return None
    s = check_int(sparsity, "sparsity", minimum=1, owner=owner)
    return None if s >= n else s


def _basis(basis, shape, owner: str):
    r"""The basis as a torch operator (``None`` for the pixel basis: :math:`\Psi = I`)."""
    check_choice(basis, "basis", BASES, owner=owner)
    if basis == "pixel":
        return None
    if len(shape) < 2:
        raise ValueError(f"basis={basis!r} of {owner} transforms 2-D images, but the images are flat, of shape "
                         f"{shape}. Give 'image_shape', e.g. (1, 28, 28).")
    return get_basis(basis, shape).operator().double()


def _seed(seed, owner: str) -> int:
    return check_int(seed, "seed", minimum=0, owner=owner)


# -- shared pieces ------------------------------------------------------------------------------------------------
def _threshold(x: torch.Tensor, s: int | None, psi) -> torch.Tensor:
    r""":math:`H_s(x) = \Psi^T T_s(\Psi x)` for flat ``x`` ``(P, n)`` (``x`` itself for ``s = None``)."""
    if s is None:
        return x
    w = x if psi is None else psi(x)
    index = w.abs().topk(s, dim=1, sorted=False).indices
    kept = torch.zeros_like(w).scatter_(1, index, w.gather(1, index))
    return kept if psi is None else psi.adjoint(kept).reshape(x.shape)


def _normalise(v: torch.Tensor) -> torch.Tensor:
    """Rows of ``v`` scaled to unit norm (a zero row stays zero)."""
    norm = v.norm(dim=1, keepdim=True)
    return torch.where(norm > 0, v / torch.where(norm > 0, norm, 1.0), torch.zeros_like(v))


def _power(Y: torch.Tensor, op: LinearOperator, iterations: int, seed: int, support=None, psi=None) -> torch.Tensor:
    r"""Unit leading eigenvectors of :math:`\operatorname{Re}\frac1m\sum_i y_i^2 a_i a_i^H`, one per problem,
    by power iteration; with ``support`` (a boolean ``(P, n)`` mask of coefficients in the basis ``psi``), of
    the matrix restricted to the span of those coefficients."""
    P, m = Y.shape
    weights = Y.pow(2) / m
    start = torch.randn(1, op.n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    v = _normalise(start).expand(P, op.n).clone()  # one start for every problem: a batch equals separate calls

    def restrict(x):
        if support is None:
            return x
        if psi is None:
            return x * support
        return psi.adjoint(psi(x) * support).reshape(x.shape)

    v = _normalise(restrict(v))
    for _ in range(iterations):
        v = _normalise(restrict(op.adjoint(weights * op(restrict(v))).reshape(P, op.n)))
    return v


def _support_scores(Y: torch.Tensor, op: LinearOperator, psi) -> torch.Tensor:
    r"""SPARTA's statistic :math:`Z_j = \frac1m \sum_i y_i^2 |(\Psi a_i)_j|^2` of every coefficient, ``(P, n)``.

    Row :math:`i` of :math:`A` is :math:`A^H e_i` (its real part; the imaginary part, for a complex operator, is
    :math:`A^H(\mathrm{i}\,e_i)`), formed a chunk of rows at a time."""
    P, m = Y.shape
    complex_op = op(torch.zeros(1, op.n, dtype=torch.float64)).is_complex()
    scores = torch.zeros(P, op.n, dtype=torch.float64)
    chunk = max(1, _CHUNK_BYTES // (8 * op.n))
    for start in range(0, m, chunk):
        stop = min(m, start + chunk)
        unit = torch.zeros(stop - start, m, dtype=torch.float64)
        unit[torch.arange(stop - start), torch.arange(start, stop)] = 1.0
        parts = [unit] + ([torch.complex(torch.zeros_like(unit), unit)] if complex_op else [])
        for e in parts:
            rows = op.adjoint(e).reshape(stop - start, op.n)
            if psi is not None:
                rows = psi(rows)
            scores += Y[:, start:stop].pow(2) @ rows.pow(2)
    return scores / m


def _frobenius_squared(op: LinearOperator) -> float:
    r"""Hutchinson's estimate of :math:`\|A\|_F^2 = \mathbb E\|Ag\|^2`, :math:`g` Rademacher (seeded)."""
    g = torch.randint(0, 2, (_PROBES, op.n), generator=torch.Generator().manual_seed(0)).double() * 2 - 1
    return float(op(g).abs().pow(2).sum(1).mean())


def _images(x: torch.Tensor, shape) -> torch.Tensor:
    return x.reshape(x.shape[0], *shape)


# -- phase retrieval ----------------------------------------------------------------------------------------------
def spectral_init(y, A, *, iterations: int = 100, seed: int = 0) -> torch.Tensor:
    r"""The spectral initialisation of phase retrieval: the leading eigenvector of the weighted covariance.

    Parameters
    ----------
    y : numpy.ndarray or torch.Tensor, shape (P, m) or (m,)
        Magnitudes :math:`y_i = |a_i^H x|` (plus noise), one row per problem.
    A : ganprior.operators.LinearOperator or array of shape (m, n)
        The operator, real or complex (:class:`~ganprior.operators.ComplexGaussian`).
    iterations : int
        Power iterations (default 100).
    seed : int
        Seed of the starting vector, shared by every problem (default 0).

    Returns
    -------
    torch.Tensor, shape (P, n)
        Float64: :math:`\hat x_0 = \sqrt{\textstyle\sum_i y_i^2}\; v`, up to sign.

    Raises
    ------
    TypeError, ValueError
        For ``y`` that is not a finite real ``(P, m)`` array, ``A`` with another number of rows, or
        ``iterations < 1``.

    Notes
    -----
    :math:`v` is the unit leading eigenvector of

    .. math:: Y = \frac1m \sum_{i=1}^m y_i^2 \operatorname{Re}(a_i a_i^H),

    found by power iteration :math:`v \leftarrow Yv / \|Yv\|` with :math:`Yv = \frac1m A^H(y^2 \odot Av)`
    (:meth:`~ganprior.operators.LinearOperator.adjoint` of a complex vector is the real part of
    :math:`A^H`), never a dense ``n x n`` matrix (Netrapalli, Jain & Sanghavi, NeurIPS 2013; Candes, Li &
    Soltanolkotabi, IEEE T-IT 2015).  For :math:`a_i \sim \mathcal N(0, I/m)`,
    :math:`\mathbb E\, Y = (\|x\|^2 I + 2xx^T)/m^2`, whose leading eigenvector is :math:`\pm x/\|x\|` (for a complex
    Gaussian, :math:`(\|x\|^2 I + xx^T)/m^2`); and :math:`\mathbb E\, y_i^2 = \|x\|^2/m`, so
    :math:`\sum_i y_i^2` estimates :math:`\|x\|^2` (for any :math:`A` with :math:`\mathbb E\|Ax\|^2 = \|x\|^2`).
    Power iteration converges at the rate of the ratio of the two leading eigenvalues (about 1/3 per iteration
    in expectation for a real Gaussian :math:`A` with :math:`m \gg n`).  The starting vector is the same for
    every problem, so a batch gives the answers of separate calls.

    Examples
    --------
    >>> import torch, ganprior
    >>> A = ganprior.operators.Gaussian(m=1000, n=20, seed=0, dtype=torch.float64)
    >>> x = torch.randn(1, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    >>> x0 = spectral_init(A(x).abs(), A)  # m = 50 n: a direction near x, not x itself
    >>> bool(torch.nn.functional.cosine_similarity(x0, x).abs() > 0.9)
    True
    """
    owner = "spectral_init"
    Y = _measurements(y, owner)
    op, _ = _operator(A, Y.shape[1], None, owner)
    iterations = check_int(iterations, "iterations", minimum=1, owner=owner)
    with torch.no_grad():
        return _power(Y, op, iterations, _seed(seed, owner)) * Y.pow(2).sum(1, keepdim=True).sqrt()


def _amplitude_gradient(Y: torch.Tensor, op: LinearOperator, x: torch.Tensor, truncation) -> torch.Tensor:
    r"""The (truncated) amplitude-flow gradient :math:`\operatorname{Re} A^H\big(1_{\mathcal I}\odot(u - y\odot
    u/|u|)\big)`, :math:`u = Ax`, of :math:`\frac12\sum_{i\in\mathcal I}(|u_i| - y_i)^2`."""
    u = op(x)
    mag = u.abs()
    phase = torch.where(mag > 0, u / torch.where(mag > 0, mag, 1.0), torch.zeros_like(u))
    residual = u - Y * phase
    if truncation is not None:
        residual = torch.where(mag >= Y / (1.0 + truncation), residual, torch.zeros_like(residual))
    return op.adjoint(residual).reshape(x.shape)


def amplitude_flow(y, A, *, sparsity: int | None = None, basis: str = "pixel", iterations: int = 500,
                   step: float = 0.6, truncation: float | None = 0.7, power_iterations: int = 100,
                   data_range: tuple[float, float] | None = None, image_shape=None, seed: int = 0) -> torch.Tensor:
    r"""Phase retrieval by (sparse) truncated amplitude flow from the spectral initialisation.

    Parameters
    ----------
    y : numpy.ndarray or torch.Tensor, shape (P, m) or (m,)
        Magnitudes :math:`y = |Ax| + \eta`, one row per problem.
    A : ganprior.operators.LinearOperator or array of shape (m, n)
        The operator, real or complex (:class:`~ganprior.operators.ComplexGaussian`).
    sparsity : int, optional
        :math:`s`: after every step keep the :math:`s` largest coefficients in ``basis`` (SPARTA).  Default
        ``None``, the dense method (TAF); a value at or above ``n`` is the dense method too.
    basis : {"pixel", "dct", "wavelet"}
        Basis of the sparsity (default ``"pixel"``; the others need 2-D images).
    iterations : int
        Gradient steps (default 500).
    step : float
        :math:`\mu > 0` (default 0.6, the paper's; see the Notes).
    truncation : float, optional
        :math:`\gamma > 0` of the truncation rule (default 0.7, the paper's); ``None`` keeps every measurement
        (plain amplitude flow).
    power_iterations : int
        Power iterations of the spectral initialisation (default 100).
    data_range : (float, float), optional
        If given, each image's sign (:math:`x` or :math:`-x`, equally consistent with :math:`y`) is the one closer
        to the box, and the image is clipped to it (default ``None``: neither).
    image_shape : tuple of int, optional
        Shape of one image (default ``A.in_shape``); needed for ``basis="dct"`` / ``"wavelet"`` with a flat ``A``.
    seed : int
        Seed of the power iteration's start (default 0).

    Returns
    -------
    torch.Tensor
        Shape ``(P, *image_shape)``.
        Float64 images, each up to its global sign unless ``data_range`` is given.

    Raises
    ------
    TypeError, ValueError
        For bad ``y`` or ``A`` (as :func:`spectral_init`), an unknown ``basis``, ``sparsity < 1``,
        ``step <= 0``, ``truncation <= 0``, ``iterations < 1``, a bad ``data_range`` or ``image_shape``; each
        message names the argument.

    Notes
    -----
    Truncated amplitude flow (TAF; Wang, Giannakis & Eldar, IEEE T-IT 64(2), 2018) minimises the amplitude loss

    .. math:: \ell(x) = \frac12 \sum_{i=1}^m \big(|a_i^H x| - y_i\big)^2

    (:class:`~ganprior.likelihoods.Magnitude`'s data term, halved) by gradient steps over the measurements
    whose current magnitude is not too small against the data,
    :math:`\mathcal I = \{i : |u_i| \ge y_i / (1 + \gamma)\}`, :math:`u = Ax`:

    .. math:: x \leftarrow x - \mu\,\frac{n}{\|A\|_F^2}\,\operatorname{Re} A^H\Big(1_{\mathcal I} \odot
              \big(u - y \odot \tfrac{u}{|u|}\big)\Big),

    from :math:`x_0` = :func:`spectral_init` (TAF's own initialisation is a variant of it).  The paper's step
    :math:`\mu/m` for rows :math:`a_i \sim \mathcal N(0, I_n)` is :math:`\mu` for this library's
    :math:`a_i \sim \mathcal N(0, I/m)`, for which :math:`\|A\|_F^2 \approx n`: dividing by
    :math:`\|A\|_F^2/n` (the mean eigenvalue of :math:`A^HA`; Hutchinson's estimate with 32 seeded Rademacher
    probes) keeps that meaning for an operator of another scale.  Measured with 20 real Gaussian problems at
    :math:`n = 60`: :math:`\mu = 0.6` recovers all at :math:`m = 3n` (16 of 20 at :math:`2.5n`), and
    :math:`\mu = 1` none at :math:`m \le 4n`; without truncation 1 of 20 at :math:`3n`.  Without noise TAF
    recovers :math:`\pm x` exactly from :math:`m \gtrsim 2n`–:math:`3n` real Gaussian measurements with high
    probability (complex: fewer).

    With ``sparsity`` each step is followed by :math:`x \leftarrow H_s(x)`, and the initialisation is
    SPARTA's (Wang, Zhang, Giannakis, Akcakaya & Chen, IEEE TSP 66(2), 2018): the support :math:`\hat S` is
    the :math:`s` coefficients of largest :math:`Z_j = \frac1m\sum_i y_i^2 |(\Psi a_i)_j|^2` (the rows of
    :math:`A` are formed from its adjoint a chunk at a time, once: :math:`m` adjoint applications), and
    :math:`x_0` the leading eigenvector of the matrix above restricted to the span of :math:`\hat S`, scaled as
    in :func:`spectral_init`.  Theory asks :math:`m \gtrsim s^2 \log n`; measured on 40 images of
    :math:`16 \times 16` pixels with :math:`s = 3` DCT coefficients, :math:`m = 200 < n = 256` real Gaussian
    magnitudes recover 37 exactly (the dense method none).

    Examples
    --------
    >>> import torch, ganprior
    >>> A = ganprior.operators.Gaussian(m=160, n=20, seed=0, dtype=torch.float64)
    >>> x = torch.randn(2, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    >>> x_hat = amplitude_flow(A(x).abs(), A)
    >>> bool(torch.minimum((x_hat - x).norm(dim=1), (x_hat + x).norm(dim=1)).max() < 1e-8)
    True
    """
    owner = "amplitude_flow"
    Y = _measurements(y, owner)
    op, shape = _operator(A, Y.shape[1], image_shape, owner)
    s = _sparsity(sparsity, op.n, owner)
    check_choice(basis, "basis", BASES, owner=owner)
    psi = _basis(basis, shape, owner) if s is not None else None
    iterations = check_int(iterations, "iterations", minimum=1, owner=owner)
    power_iterations = check_int(power_iterations, "power_iterations", minimum=1, owner=owner)
    step = check_float(step, "step", minimum=0.0, strict=True, owner=owner)
    if truncation is not None:
        truncation = check_float(truncation, "truncation", minimum=0.0, strict=True, owner=owner)
    box = check_data_range(data_range, owner)
    seed = _seed(seed, owner)
    with torch.no_grad():
        support = None
        if s is not None:  # SPARTA: the s coefficients of largest Z_j
            scores = _support_scores(Y, op, psi)
            support = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, scores.topk(s, dim=1).indices, True)
        x = _power(Y, op, power_iterations, seed, support, psi) * Y.pow(2).sum(1, keepdim=True).sqrt()
        scale = _frobenius_squared(op) / op.n  # 1 for a_i ~ N(0, I/m)
        if scale == 0.0:
            return _images(torch.zeros_like(x), shape)
        # the paper's step is for m >> n, where ||A||_2^2 is near the mean eigenvalue; below that (||A||_2^2 about
        # (1 + sqrt(n/m))^2 for a Gaussian A) a step of mu / mean eigenvalue diverges: cap it at 2 mu / ||A||_2^2
        rate = step / max(scale, op.norm(iterations=50) ** 2 / 2.0)
        for _ in range(iterations):
            x = _threshold(x - rate * _amplitude_gradient(Y, op, x, truncation), s, psi)
        bad = ~torch.isfinite(x).all(dim=1)
        if bool(bad.any()):  # never a silent NaN image
            raise FloatingPointError(f"{owner}: the iterates of problem(s) {torch.nonzero(bad).flatten().tolist()[:20]} "
                                     f"diverged; give a smaller 'step' (it was {step}).")
        if box is not None:
            low, high = box
            away = lambda v: (v - v.clamp(low, high)).pow(2).sum(1)
            x = torch.where((away(-x) < away(x))[:, None], -x, x).clamp(low, high)
    return _images(x, shape)


# -- 1-bit compressed sensing -------------------------------------------------------------------------------------
def _sign(u: torch.Tensor) -> torch.Tensor:
    """:math:`\\operatorname{sign}` with :math:`\\operatorname{sign}(0) = +1` (:class:`~ganprior.likelihoods.Sign`)."""
    return torch.where(u >= 0, 1.0, -1.0).to(u.dtype)


def _hinge_subgradient(Y: torch.Tensor, op: LinearOperator, x: torch.Tensor) -> torch.Tensor:
    r""":math:`\frac12 A^T(\operatorname{sign}(Ax) - y)`, a subgradient of :math:`\sum_i \max(0, -y_i a_i^T x)`."""
    return op.adjoint(0.5 * (_sign(op(x)) - Y)).reshape(x.shape)


def biht(y, A, *, sparsity: int | None = None, basis: str = "pixel", iterations: int = 300, step: float = 0.5,
         image_shape=None) -> torch.Tensor:
    r"""1-bit compressed sensing by binary iterative hard thresholding; returns unit-norm images.

    Parameters
    ----------
    y : numpy.ndarray or torch.Tensor, shape (P, m) or (m,)
        Signs :math:`y = \operatorname{sign}(Ax) \in \{-1, +1\}` (some possibly flipped), one row per problem.
    A : ganprior.operators.LinearOperator or array of shape (m, n)
        A real operator.
    sparsity : int, optional
        :math:`s`, the coefficients kept in ``basis`` (default ``None``: no thresholding, the dense method; a
        value at or above ``n`` is the dense method too).
    basis : {"pixel", "dct", "wavelet"}
        Basis of the sparsity (default ``"pixel"``; the others need 2-D images).
    iterations : int
        Steps (default 300).
    step : float
        :math:`\mu > 0`, in the units of the Notes (default 0.5).
    image_shape : tuple of int, optional
        Shape of one image (default ``A.in_shape``); needed for ``basis="dct"`` / ``"wavelet"`` with a flat ``A``.

    Returns
    -------
    torch.Tensor
        Shape ``(P, *image_shape)``.
        Float64 images of unit Euclidean norm (zero where ``A^T y`` is zero).

    Raises
    ------
    TypeError, ValueError
        For bad ``y`` or ``A``, signs other than :math:`\pm 1`, an unknown ``basis``, ``sparsity < 1``,
        ``step <= 0``, ``iterations < 1`` or a bad ``image_shape``; each message names the argument.

    Notes
    -----
    **Only the direction of** :math:`x` **is identifiable**: :math:`\operatorname{sign}(A(cx)) =
    \operatorname{sign}(Ax)` for every :math:`c > 0`, so the images returned have norm 1; compare them with
    normalised images (:func:`ganprior.metrics.normalized_mse`).

    BIHT (Jacques, Laska, Boufounos & Baraniuk, IEEE T-IT 59(4), 2013) is projected subgradient descent on the
    one-sided hinge of sign consistency (:class:`~ganprior.likelihoods.Sign` with ``loss="hinge"``),

    .. math:: J(x) = \sum_{i=1}^m \max(0, -y_i a_i^T x), \qquad
              \partial J(x) \ni \tfrac12 A^T\big(\operatorname{sign}(Ax) - y\big),

    over the :math:`s`-sparse unit vectors:

    .. math:: x \leftarrow \frac{H_s(x + \tau\, \tfrac12 A^T(y - \operatorname{sign}(Ax)))}
              {\|H_s(\cdots)\|}, \qquad x_0 = \frac{H_s(A^T y)}{\|H_s(A^T y)\|},

    (the start is the one-step estimate of Plan & Vershynin; normalising every step, as in normalised BIHT,
    Friedlander, Jeong, Plan & Yilmaz, IEEE T-IT 2021, keeps the step meaningful since :math:`J` is positively
    homogeneous).  For rows :math:`a_i \sim \mathcal N(0, I/m)` and unit :math:`x, x^\star`,
    :math:`\mathbb E\,\tfrac12 A^T(y - \operatorname{sign}(Ax)) = \kappa\,(x^\star - x)` with
    :math:`\kappa = \sqrt{m/(2\pi)}`; the step is :math:`\tau = \mu/\kappa` with :math:`\kappa` estimated for any
    :math:`A` as :math:`\sqrt{m\|A\|_F^2 / (2\pi n)}` (:math:`\|A\|_F^2` by Hutchinson's estimator with 32
    seeded Rademacher probes), so :math:`\mu = 1` would jump to :math:`x^\star` in expectation; the default 0.5
    damps the noise of the :math:`m` signs.  A consistent :math:`x` (:math:`J(x) = 0`) is a fixed point.
    With :math:`m \gtrsim s \log(n/s)/\epsilon` noiseless signs the direction is recovered to about
    :math:`\epsilon`.

    Examples
    --------
    >>> import torch, ganprior
    >>> A = ganprior.operators.Gaussian(m=1000, n=50, seed=0, dtype=torch.float64)
    >>> x = torch.zeros(1, 50, dtype=torch.float64)
    >>> x[0, [3, 10, 40]] = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    >>> x_hat = biht(torch.sign(A(x)), A, sparsity=3)
    >>> bool((x_hat - x / x.norm()).norm() < 0.05)
    True
    """
    owner = "biht"
    Y = _measurements(y, owner)
    if not bool(((Y == 1) | (Y == -1)).all()):
        raise ValueError(f"The 'y' parameter of {owner} must hold signs (+1 or -1).")
    op, shape = _operator(A, Y.shape[1], image_shape, owner)
    s = _sparsity(sparsity, op.n, owner)
    check_choice(basis, "basis", BASES, owner=owner)
    psi = _basis(basis, shape, owner) if s is not None else None
    iterations = check_int(iterations, "iterations", minimum=1, owner=owner)
    step = check_float(step, "step", minimum=0.0, strict=True, owner=owner)
    with torch.no_grad():
        P, m = Y.shape
        frobenius = _frobenius_squared(op)
        x = _normalise(_threshold(op.adjoint(Y).reshape(P, op.n), s, psi))
        if frobenius == 0.0:
            return _images(x, shape)
        rate = step / math.sqrt(m * frobenius / (2.0 * math.pi * op.n))
        for _ in range(iterations):
            x = _normalise(_threshold(x - rate * _hinge_subgradient(Y, op, x), s, psi))
    return _images(x, shape)


# -- photon-limited imaging ---------------------------------------------------------------------------------------
def _total_variation(x: torch.Tensor, shape, smoothing: float) -> torch.Tensor:
    r"""Smoothed isotropic total variation per problem, :math:`\sum_j \sqrt{|\nabla x|_j^2 + \epsilon^2} - \epsilon`
    (forward differences, none across the last row / column; 1-D for flat images)."""
    img = x.reshape(x.shape[0], *shape)
    if len(shape) == 1:
        sq = torch.nn.functional.pad(img[:, 1:] - img[:, :-1], (0, 1)).pow(2)
    else:
        dh = torch.nn.functional.pad(img[..., 1:, :] - img[..., :-1, :], (0, 0, 0, 1))
        dw = torch.nn.functional.pad(img[..., :, 1:] - img[..., :, :-1], (0, 1))
        sq = dh.pow(2) + dw.pow(2)
    return ((sq + smoothing**2).sqrt() - smoothing).flatten(1).sum(1)


def _poisson_objective(model, Y, op, shape, weight, smoothing):
    """``F(x, rows) -> (len(rows),)`` for the problems ``rows`` (default all): the Poisson deviance of ``model``
    (where a count is 0, the exact deviance, linear in the rate) plus ``weight`` times the smoothed total
    variation."""
    def objective(x, rows=None):
        y = Y if rows is None else Y[rows]
        u = op(x)
        lam = model.photons * u
        # y (r - log(1 + r)), r = lam / y - 1: the deviance without the cancellation of lam - y + y log(y / lam)
        ratio = torch.where(y > 0, lam / torch.where(y > 0, y, 1.0), 1.0) - 1.0
        exact = y * (ratio - torch.log1p(ratio.clamp_min(-0.5)))
        data = torch.where(y == 0, lam, torch.where((lam >= y / 2) & (lam >= model.floor), exact, model.score(u, y)))
        return data.sum(1) + weight * _total_variation(x, shape, smoothing)
    return objective


def _mfista(objective, x, project, iterations: int, metric, roundoff, history=None) -> torch.Tensor:
    r"""Monotone FISTA with adaptive backtracking and restarts in the metric :math:`\|v\|_D^2 = \sum_j D_j v_j^2`
    (``metric`` :math:`D > 0`, ``(P, n)``), per problem, on ``objective`` over the box ``project`` clamps to (see
    :func:`poisson_tv`), from a feasible ``x``; it stops early once every problem's last two steps moved it by
    less than :data:`_STOP` relative.  ``roundoff`` ``(P,)`` is the size of the terms summed in :math:`F` (the
    majorisation test allows :data:`_ROUNDOFF` of it).  ``history`` (a list) receives :math:`F(x_k)` per step."""
    def value_and_gradient(v):
        with torch.enable_grad():
            v = v.detach().requires_grad_(True)
            f = objective(v)
            (g,) = torch.autograd.grad(f.sum(), v)
        return f.detach(), g

    P = x.shape[0]
    lipschitz = torch.ones(P, dtype=x.dtype)
    t = torch.ones(P, dtype=x.dtype)
    still = torch.zeros(P, dtype=torch.long)
    fx = objective(x)
    z = x
    if history is not None:
        history.append(fx.clone())
    for _ in range(iterations):
        fz, gz = value_and_gradient(z)
        previous, trial = lipschitz, lipschitz * _SHRINK
        p = project(z - gz / (trial[:, None] * metric))
        fp = objective(p)
        rows = torch.arange(P)
        for _ in range(_DOUBLINGS):  # per problem: double L until the quadratic model majorises F at the step
            d = p[rows] - z[rows]
            bound = fz[rows] + (gz[rows] * d).sum(1) + 0.5 * trial[rows] * (metric[rows] * d * d).sum(1)
            rows = rows[~(fp[rows] <= bound + _ROUNDOFF * roundoff[rows])]
            if rows.numel() == 0:
                break
            trial[rows] *= 2.0
            p[rows] = project(z[rows] - gz[rows] / (trial[rows, None] * metric[rows]))
            fp[rows] = objective(p[rows], rows)
        else:  # no L majorises (F at z is off by more than roundoff): no step for these problems
            p[rows], fp[rows], trial[rows] = x[rows], fx[rows], previous[rows]
        lipschitz = trial
        better = fp <= fx
        x_new = torch.where(better[:, None], p, x)
        t_new = (1.0 + (1.0 + 4.0 * (lipschitz / previous) * t * t).sqrt()) / 2.0
        t_new = torch.where(better, t_new, torch.ones_like(t_new))  # a step that would raise F: restart
        z = x_new + (t / t_new)[:, None] * (p - x_new) + ((t - 1.0) / t_new)[:, None] * (x_new - x)
        z = torch.where(better[:, None], z, x_new)
        moved = (x_new - x).norm(dim=1) > _STOP * x.norm(dim=1)
        still = torch.where(moved, torch.zeros_like(still), still + 1)
        x, fx, t = x_new, torch.where(better, fp, fx), t_new
        if history is not None:
            history.append(fx.clone())
        if bool((still >= 2).all()):
            break
    return x


def poisson_tv(y, A, *, photons: float = 10.0, weight: float = 1.0, smoothing: float = 1e-2, iterations: int = 1000,
               floor: float = 1e-3, data_range: tuple[float, float] | None = None, image_shape=None) -> torch.Tensor:
    r"""Photon-limited reconstruction: Poisson negative log-likelihood plus total variation, over :math:`x \ge 0`.

    Parameters
    ----------
    y : numpy.ndarray or torch.Tensor, shape (P, m) or (m,)
        Counts :math:`y_i \sim \mathrm{Poisson}(\phi (Ax)_i)`, one row per problem.
    A : ganprior.operators.LinearOperator or array of shape (m, n)
        A non-negative operator (:class:`~ganprior.operators.NonNegative`, :class:`~ganprior.operators.Identity`).
    photons : float
        :math:`\phi > 0`, the expected count of a measurement with :math:`(Ax)_i = 1` (default 10, as
        :class:`~ganprior.likelihoods.Poisson`).
    weight : float
        :math:`\tau \ge 0`, the weight of the total variation (default 1).
    smoothing : float
        :math:`\epsilon > 0` of the smoothed total variation (default 0.01, in units of the image).
    iterations : int
        The most FISTA steps (default 1000; it stops earlier once converged, see the Notes).
    floor : float
        Rate below which the deviance is continued quadratically (default 1e-3, as
        :class:`~ganprior.likelihoods.Poisson`).
    data_range : (float, float), optional
        A box :math:`[\max(l, 0), h]` for the pixels instead of :math:`x \ge 0` alone (default ``None``).
    image_shape : tuple of int, optional
        Shape of one image (default ``A.in_shape``): the total variation compares neighbours along its last two
        axes (along the one axis of flat images).

    Returns
    -------
    torch.Tensor
        Shape ``(P, *image_shape)``.
        Float64 non-negative images.

    Raises
    ------
    TypeError, ValueError
        For bad ``y`` or ``A``, counts that are negative or not integers, ``photons <= 0``, ``weight < 0``,
        ``smoothing <= 0``, ``iterations < 1``, a bad ``data_range`` or ``image_shape``; each message names the
        argument.

    Notes
    -----
    Minimises, for every problem,

    .. math:: F(x) = \sum_{i=1}^m d\big(\phi (Ax)_i, y_i\big)
              + \tau \sum_j \Big(\sqrt{|\nabla x|_j^2 + \epsilon^2} - \epsilon\Big)
              \quad \text{subject to } x \ge 0,

    with :math:`d(\lambda, y) = \lambda - y + y\log(y/\lambda)` the Poisson deviance, which is
    :math:`-\log p(y \mid \lambda)` up to a term in :math:`y` alone (:class:`~ganprior.likelihoods.Poisson`'s
    data term, computed as :math:`y\,(r - \log(1 + r))`, :math:`r = \lambda/y - 1`, where :math:`\lambda \ge y/2`,
    free of the cancellation of its terms of size :math:`y`; below ``floor`` continued by its quadratic
    expansion, so :math:`F` is finite, convex and differentiable everywhere; for a zero count the exact
    :math:`d = \lambda`, linear, as :math:`\lambda \ge 0` on :math:`x \ge 0`: the continuation, which differs from
    it by at most ``floor``/2, would only make the problem stiff), and :math:`|\nabla x|_j` the length of the
    forward-difference gradient at pixel :math:`j` of each channel (isotropic total variation; no difference
    across the last row or column).  This is the SPIRAL-TV problem (Harmany, Marcia & Willett, IEEE TIP 21(3),
    2012) with the total variation smoothed by :math:`\epsilon`, which a penalised Richardson-Lucy (Dey et al.,
    Microsc. Res. Tech. 69(4), 2006) minimises too.

    The smoothed :math:`F` has a Lipschitz gradient, so it is minimised by monotone FISTA with backtracking (Beck
    & Teboulle, IEEE TIP 18(11), 2009) in the metric :math:`\|v\|_D^2 = \sum_j D_j v_j^2`: projected steps
    :math:`p = \Pi(z - D^{-1}\nabla F(z)/L)` onto :math:`x \ge 0` (a clamp: :math:`D` is diagonal) from
    extrapolated points, :math:`L` per problem tried at 0.8 times its last value and doubled until
    :math:`F(p) \le F(z) + \langle\nabla F(z), p - z\rangle + \tfrac L2\|p - z\|_D^2`, the momentum adapted to
    the change of :math:`L` (Scheinberg, Goldfarb & Bai, Found. Comput. Math. 2014), and a step kept only where
    it lowers :math:`F`, the momentum restarted where it would not (O'Donoghue & Candes, Found. Comput. Math.
    2015) -- so :math:`F(x_k)` never increases.  :math:`D = \phi^2 A^T\big((A\mathbf 1)/\max(y, 1)\big) +
    4\tau d/\epsilon` (:math:`d` the image's axes, at most 2): the first term is the separable bound
    :math:`\operatorname{diag}(M\mathbf 1) \succeq M` of :math:`M = \phi^2 A^T \operatorname{diag}(1/y) A`, the
    deviance's Hessian where :math:`\lambda = y` (for :math:`A \ge 0`; only :math:`A` and :math:`A^T` are
    applied), the second the total variation's curvature bound; it makes photon counts of any size and dark
    pixels cost no more steps than bright ones.  The start is the constant image whose expected counts sum to
    :math:`\sum_i y_i`; the solver stops once every problem's last two steps moved its image by less than
    :math:`10^{-13}` relative (converged to what :math:`F` resolves in float64).  Measured on 100 MNIST-sized
    images (:math:`28 \times 28`) at 100 photons, ``weight=1``: 239 steps with
    :class:`~ganprior.operators.Identity`, 348 with 500 rows of :class:`~ganprior.operators.NonNegative`, about
    17 ms a step for all 100 on one core (4-6 s).  With counts :math:`F` is in units of log-likelihood, so
    ``weight`` is the strength of the prior and need not change with ``photons``.  A small :math:`\epsilon` makes the problem
    ill-conditioned (the smoothed total variation is nearly flat along an edge's gradient), and the result is then
    accurate to about :math:`10^{-6}`, not to float64's precision.

    Examples
    --------
    >>> import torch, ganprior
    >>> A = ganprior.operators.NonNegative(m=64, in_shape=(1, 8, 8), seed=0, dtype=torch.float64)
    >>> x = torch.full((1, 1, 8, 8), 0.5, dtype=torch.float64)
    >>> y = A.measure(x, ganprior.likelihoods.Poisson(photons=1000), seed=0)
    >>> x_hat = poisson_tv(y, A, photons=1000, weight=10.0)
    >>> bool((x_hat - x).abs().max() < 0.05)
    True
    """
    return _poisson_tv(y, A, photons=photons, weight=weight, smoothing=smoothing, iterations=iterations, floor=floor,
                       data_range=data_range, image_shape=image_shape)


def _poisson_tv(y, A, *, photons, weight, smoothing, iterations, floor, data_range, image_shape, history=None):
    """:func:`poisson_tv`; ``history`` (a list) receives the objective of every problem at every step."""
    from ..likelihoods import Poisson

    owner = "poisson_tv"
    Y = _measurements(y, owner)
    if bool((Y < 0).any()) or not bool((Y == Y.round()).all()):
        raise ValueError(f"The 'y' parameter of {owner} must hold counts (integers >= 0).")
    op, shape = _operator(A, Y.shape[1], image_shape, owner)
    photons = check_float(photons, "photons", minimum=0.0, strict=True, owner=owner)
    weight = check_float(weight, "weight", minimum=0.0, owner=owner)
    smoothing = check_float(smoothing, "smoothing", minimum=0.0, strict=True, owner=owner)
    iterations = check_int(iterations, "iterations", minimum=1, owner=owner)
    floor = check_float(floor, "floor", minimum=0.0, strict=True, owner=owner)
    box = check_data_range(data_range, owner)
    low, high = (0.0, None) if box is None else (max(box[0], 0.0), box[1])
    if high is not None and high <= low:
        raise ValueError(f"The 'data_range' parameter of {owner} must reach above 0 (x >= 0). Got {data_range!r}.")
    model = Poisson(photons=photons, floor=floor)
    project = lambda v: v.clamp(low, high)
    with torch.no_grad():
        P = Y.shape[0]
        rate_of_one = float(op(torch.ones(1, op.n, dtype=torch.float64)).sum()) * photons  # F's counts at x = 1
        level = Y.sum(1, keepdim=True) / rate_of_one if rate_of_one > 0 else torch.zeros(P, 1, dtype=torch.float64)
        x = project(level.expand(P, op.n).clone())
        objective = _poisson_objective(model, Y, op, shape, weight, smoothing)
        # D_j: the separable bound diag(M 1) >= M of M = phi^2 A^T diag(1 / max(y, 1)) A >= 0, the deviance's
        # Hessian where lambda = y, plus the total variation's curvature bound (||grad||^2 <= 4 per axis) / eps
        rows = op(torch.ones(1, op.n, dtype=torch.float64))
        metric = photons**2 * op.adjoint(rows / Y.clamp_min(1.0)).reshape(P, op.n)
        metric = metric + weight * 4.0 * min(len(shape), 2) / smoothing
        top = metric.amax(1, keepdim=True)  # per problem: a batch gives the answers of separate calls
        metric = torch.maximum(metric, torch.where(top > 0, 1e-6 * top, torch.ones_like(top)))
        roundoff = objective(x).abs() + Y.shape[1]
        x = _mfista(objective, x, project, iterations, metric, roundoff, history)
    return _images(x, shape)


def spectral_latents(y, A, G, *, restarts: int = 10, seed: int = 0, iterations: int = 100, **fit):
    r"""Starting latents for phase retrieval with a prior: the spectral estimate, projected onto the range.

    Parameters
    ----------
    y : numpy.ndarray or torch.Tensor, shape (P, m) or (m,)
        Magnitudes.
    A : ganprior.operators.LinearOperator or array of shape (m, n)
        The operator.
    G : ganprior.Generator
        The prior.
    restarts : int
        :math:`R \ge 2`, starting latents per problem (default 10).
    seed : int
        Seeds the random draws (problem :math:`p` draws from ``seed + p``) and the projection's restarts.
    iterations : int
        Power iterations of :func:`spectral_init`.
    **fit
        Engine settings of the projection (:func:`ganprior.recover`'s, e.g. ``steps``).

    Returns
    -------
    torch.Tensor
        Shape ``(P, R, *G.latent_shape)``.
        For :func:`~ganprior.optimize_latents`'s ``z_init``: row 0 is the latent of the CSGM fit to
        :math:`+\hat x_0`, row 1 to :math:`-\hat x_0`, rows 2.. are draws from the latent law.

    Notes
    -----
    The amplitude loss is non-convex in :math:`x`; Hand, Leong & Voroninski (NeurIPS 2018) show that with a
    generative prior its landscape has, besides the truth, essentially one spurious basin, near :math:`-\rho x`.
    The spectral estimate :math:`\hat x_0` (:func:`spectral_init`) points at :math:`\pm x` when :math:`m` is a
    few times :math:`n`, and at a correlated direction below that; its projection
    :math:`\hat z_\pm = \arg\min_z \|G(z) \mp \hat x_0\|^2` (a CSGM fit with :math:`A = I`, both signs since
    a real :math:`A` does not see it) starts the search where the measurements point, while the random rows keep
    the search as wide as random restarts are.  Measured against random restarts alone:
    ``benchmarks/studies/spectral_init.py``.

    Examples
    --------
    >>> import torch, ganprior
    >>> from ganprior.solvers.csgm import CSGMObjective
    >>> G = ganprior.Generator(torch.nn.Sequential(torch.nn.Linear(3, 30), torch.nn.ReLU(), torch.nn.Linear(30, 20)),
    ...                        latent_shape=3)
    >>> A = ganprior.operators.Gaussian(m=60, n=20, seed=0)
    >>> y = A(G.generate(torch.randn(2, 3, generator=torch.Generator().manual_seed(1)))).abs().detach()
    >>> z0 = spectral_latents(y, A, G, restarts=4, steps=50)
    >>> res = ganprior.optimize_latents(CSGMObjective(y, A, likelihood="magnitude"), G, 2, restarts=4, z_init=z0)
    >>> tuple(z0.shape), tuple(res.x.shape)
    ((2, 4, 3), (2, 20))
    """
    from .._convert import as_generator
    from ..operators import Identity
    from .recovery import recover

    owner = "spectral_latents"
    restarts = check_int(restarts, "restarts", minimum=2, owner=owner)
    seed = check_int(seed, "seed", minimum=0, owner=owner)
    G = as_generator(G, None, owner)
    x0 = spectral_init(y, A, iterations=iterations)
    P = x0.shape[0]
    seeds = [seed + p for p in range(P)]
    rows = []
    for sign in (1.0, -1.0):
        target = (sign * x0).to(device=G.device, dtype=G.dtype)
        res = recover(target, Identity(G.n).to(device=G.device, dtype=G.dtype), G, method="csgm", seed=seeds,
                      return_result=True, **fit)
        rows.append(torch.as_tensor(res.z).reshape(P, 1, *G.latent_shape))
    draws = torch.stack([G.latent.sample((restarts - 2, *G.latent_shape), torch.Generator().manual_seed(s))
                         for s in seeds]).to(device=G.device, dtype=G.dtype)
    return torch.cat(rows + [draws], dim=1)


# -- registration -------------------------------------------------------------------------------------------------
def _register():
    from .registry import register_method

    def build_amplitude_flow(y, A, sparsity: int | None = None, basis: _Basis = "pixel", iterations: int = 500,
                             step: float = 0.6, truncation: float | None = 0.7,
                             data_range: tuple[float, float] | None = None, image_shape: tuple | None = None,
                             _likelihood=None):
        return amplitude_flow(y, A, sparsity=sparsity, basis=basis, iterations=iterations, step=step,
                              truncation=truncation, data_range=data_range, image_shape=image_shape).numpy()

    register_method("amplitude-flow", build_amplitude_flow, kind="sparse",
                    summary="truncated amplitude flow from the spectral initialisation (phase retrieval), with "
                            "hard thresholding to 'sparsity' coefficients in 'basis' (SPARTA) if given",
                    reference="Wang, Giannakis & Eldar, IEEE T-IT 2018; Wang et al., IEEE TSP 2018 (SPARTA)",
                    cv_grids={"sparsity": SPARSITY_GRID}, regularisation={"sparsity": -1}, auto=True,
                    likelihoods=("magnitude",))

    def build_biht(y, A, sparsity: int | None = None, basis: _Basis = "pixel", iterations: int = 300,
                   step: float = 0.5, data_range: tuple[float, float] | None = None, image_shape: tuple | None = None,
                   _likelihood=None):
        if data_range is not None:  # the sparse baselines' common argument, which a unit-norm image cannot honour
            raise ValueError(f"The 'data_range' parameter of method='biht' must be None: its images have norm 1 "
                             f"(signs do not see the scale). Got {data_range!r} instead.")
        return biht(y, A, sparsity=sparsity, basis=basis, iterations=iterations, step=step,
                    image_shape=image_shape).numpy()

    # not in method="auto": its images have norm 1, and the held-out sign scores depend on the scale
    register_method("biht", build_biht, kind="sparse",
                    summary="binary iterative hard thresholding (1-bit), 'sparsity' coefficients in 'basis'; "
                            "unit-norm images (signs do not see the scale)",
                    reference="Jacques, Laska, Boufounos & Baraniuk, IEEE T-IT 2013",
                    cv_grids={"sparsity": SPARSITY_GRID}, regularisation={"sparsity": -1},
                    likelihoods=("sign",))

    def build_poisson_tv(y, A, weight: float = 1.0, smoothing: float = 1e-2, iterations: int = 1000,
                         data_range: tuple[float, float] | None = None, image_shape: tuple | None = None,
                         _likelihood=None):
        from ..likelihoods import Poisson

        model = _likelihood if isinstance(_likelihood, Poisson) else Poisson()
        return poisson_tv(y, A, photons=model.photons, floor=model.floor, weight=weight, smoothing=smoothing,
                          iterations=iterations, data_range=data_range, image_shape=image_shape).numpy()

    register_method("poisson-tv", build_poisson_tv, kind="sparse",
                    summary="Poisson negative log-likelihood plus weight * smoothed total variation over x >= 0 "
                            "(monotone FISTA)",
                    reference="Harmany, Marcia & Willett, IEEE TIP 2012 (SPIRAL-TV)",
                    cv_grids={"weight": WEIGHT_GRID}, auto=True, likelihoods=("poisson",),
                    # the contract asks a batch to equal separate calls to 1e-9, which needs a solution accurate
                    # to that: at smoothing 0.01 its problem (30 rows of 36 pixels, 10^4 photons) is too
                    # ill-conditioned for what F resolves in float64 (3.8e-7 apart), at 1 it is not (3e-14)
                    contract={"smoothing": 1.0})


_register()
