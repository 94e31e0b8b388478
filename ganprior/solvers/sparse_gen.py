r"""Sparse-Gen (Dhar, Grover, Ermon, ICML 2018): a generator plus a sparse deviation, on the latent engine.

The image is :math:`x = G(z) + \Psi^T \nu` with :math:`\nu` sparse in an orthonormal basis :math:`\Psi`
(pixel, DCT or wavelet), so the result can leave the range of :math:`G` where the measurements ask for
it.  One module and one registry entry (``"sparse-gen"``).
"""

from __future__ import annotations

from typing import Literal

import torch

from .._validation import check_choice, check_float, check_int
from .csgm import LAM_GRID, CSGMObjective, check_warmup, warmup_steps
from .registry import register_method
from .updates import UpdateRule

__all__ = ["SparseGenObjective", "operator_norm"]

BASES = ("pixel", "dct", "wavelet")
NU_SOLVERS = ("fista", "ista")
#: Candidate values of an l1 weight ``alpha`` for ``"cv"`` / ``"discrepancy"`` (Sparse-Gen's, and the Lasso
#: baselines'): the paper's 1e-5 (wavelets) to 1.
ALPHA_GRID = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def operator_norm(A, iterations: int = 100, seed: int = 0) -> float:
    r"""The spectral norm :math:`\|A\|_2`: :meth:`ganprior.operators.LinearOperator.norm`.

    Parameters
    ----------
    A : ganprior.operators.LinearOperator
        The operator.
    iterations : int
        Power iterations (default 100).
    seed : int
        Seed of the starting vector.

    Returns
    -------
    float
        An estimate from below that converges to :math:`\|A\|_2`.
    """
    return A.norm(iterations, seed)


def second_stage_start(warmup, steps, owner, moves):
    r"""The step at which a staged method's second stage starts (:func:`~ganprior.solvers.csgm.warmup_steps`),
    refused where it would never start: the method would silently be CSGM.

    Parameters
    ----------
    warmup : None, float or int
        The checked warm-up (:func:`~ganprior.solvers.csgm.check_warmup`); an int (steps) warns once
        (:func:`~ganprior.solvers.csgm.warmup_steps`).
    steps : int
        :math:`T`, the steps of the solve.
    owner : str
        The function named by the message.
    moves : str
        What the second stage moves (for the message).

    Returns
    -------
    int
        :math:`t_0 < T`.

    Raises
    ------
    ValueError
        If :math:`t_0 \ge T`.
    """
    start = warmup_steps(warmup, steps, owner=owner)
    if start >= steps:
        raise ValueError(f"The 'warmup' parameter of {owner} must leave steps for the second stage: it is {start} of "
                         f"steps = {steps}, so {moves} would never move and the result would be CSGM's. Give fewer "
                         "warm-up (a fraction < 1) or more steps.")
    return start


def _basis(name, shape, device):
    from ..operators import DCT2, Identity, Wavelet

    if name == "pixel":
        return Identity(shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"basis={name!r} needs images of shape (H, W) or (C, H, W); G makes {shape}.")
    return (DCT2(shape) if name == "dct" else Wavelet(shape)).to(device)


class SparseGenObjective(CSGMObjective):
    r"""Sparse-Gen: :math:`\|y - A(G(z) + \Psi^T\nu)\|^2 + \lambda\|z\|^2 + \alpha\|\nu\|_1`.

    Parameters
    ----------
    y : torch.Tensor
        Measurements ``(P, m)``.
    A : ganprior.operators.LinearOperator
        The operator.
    G : ganprior.Generator
        The prior (for the image shape and device).
    lam : float
        Weight of :math:`\|z\|^2` (default 0).
    alpha : float
        Weight :math:`\alpha > 0` of :math:`\|\nu\|_1` (default 0.1).
    basis : {"pixel", "dct", "wavelet"}
        :math:`\Psi` (default ``"dct"``; ``"wavelet"`` is Haar at the maximum level).
    warmup : float, optional
        The fraction of the steps (in [0, 1]) on :math:`z` alone before :math:`\nu` moves (default: half
        of the steps), as the original code's z-only start.  An int counts steps: it works, with a
        FutureWarning naming the fraction to give (``warmup=1`` is one step, ``warmup=1.0`` all of them).
    nu_solver : {"fista", "ista"}
        The proximal-gradient method of :math:`\nu`: accelerated with adaptive restart (default) or
        plain.
    nu_steps : int
        Proximal-gradient steps on :math:`\nu` per step of the solve (default 10): the first at the
        step's :math:`z` through the engine, the others with :math:`G(z)` of that step held fixed
        (each costs one :math:`A` and one :math:`A^T`, no generator pass).

    Notes
    -----
    The state is :math:`(z, \nu)`.  :math:`z` takes the solve's own steps (Adam by default) on the
    smooth part; :math:`\nu` takes proximal-gradient steps: a gradient step of size
    :math:`1/L`, :math:`L = 2\|A\|_2^2` (the Lipschitz constant of the data term's gradient in
    :math:`\nu`, since :math:`\Psi` is orthonormal), then the exact proximal map of
    :math:`\alpha\|\cdot\|_1`, a soft threshold at :math:`\alpha / L`.  (A joint Adam step followed
    by a threshold barely moves :math:`\nu`; the proximal step is the real :math:`\ell_1` solver.)

    With ``nu_solver="fista"`` (Beck & Teboulle 2009) the gradient is taken at an extrapolated point:
    with :math:`\nu_k` the soft-threshold outputs,

    .. math:: \theta_{k+1} = \tfrac12\big(1 + \sqrt{1 + 4\theta_k^2}\big), \qquad
              w_{k+1} = \nu_{k+1} + \frac{\theta_k - 1}{\theta_{k+1}}(\nu_{k+1} - \nu_k),

    and the state holds :math:`w`.  For a fixed :math:`z` the objective gap of ISTA after :math:`k` steps
    falls as :math:`L\|\nu^\star\|^2/(2k)`, that of FISTA as :math:`2L\|\nu^\star\|^2/k^2`.  This matters
    when :math:`\alpha` is small and :math:`m < n`: the :math:`\nu` problem is then a badly conditioned
    Lasso, and the 150 ISTA steps of a 300-step solve stop far from its minimiser (the ``mnist`` prior on
    Fashion-MNIST images at :math:`m = 100`: 4.4x the MSE of the converged Lasso at the same
    :math:`\alpha`, against 1.14x with the default; ``benchmarks/results/sparse_gen_solver``).  As :math:`z` moves too, a row's momentum restarts (:math:`\theta = 1`) whenever the
    step goes against it, :math:`(w_k - \nu_{k+1})^T(\nu_{k+1} - \nu_k) > 0` (the gradient restart of
    O'Donoghue & Candes 2015), and whenever rows leave the batch.  The last step writes
    :math:`\nu_{k+1}` itself, so the answer's :math:`\nu` is a soft-threshold output (sparse).  The fit
    is the measurement error; the total adds :math:`\lambda\|z\|^2 + \alpha\|\nu\|_1`.
    ``nu_solver="ista", nu_steps=1`` is the solver of ganprior 0.1 (one ISTA step per step).
    :math:`\lambda\|z\|^2` is the normal latent law's penalty; with another law (``G.latent``) it is
    :math:`-2\lambda\log p(z)`, and :math:`z` starts from that law and is projected onto its support after
    every step (see :class:`~ganprior.solvers.csgm.CSGMObjective`).
    """

    #: The function named by the message of a warm-up that leaves no second stage.
    owner = "SparseGenObjective"
    state_names = ("z", "nu")

    def __init__(self, y, A, G, lam=0.0, alpha=0.1, basis="dct", warmup=None, nu_solver="fista", nu_steps=10):
        super().__init__(y, A, lam)
        owner = "SparseGenObjective"
        self.alpha = check_float(alpha, "alpha", minimum=0.0, strict=True, owner=owner)
        self.basis = check_choice(basis, "basis", BASES, owner=owner)
        self.warmup = check_warmup(warmup, owner=owner)
        self.nu_solver = check_choice(nu_solver, "nu_solver", NU_SOLVERS, owner=owner)
        self.nu_steps = check_int(nu_steps, "nu_steps", minimum=1, owner=owner)
        self.image_shape = tuple(G.image_shape)
        self.psi = _basis(self.basis, self.image_shape, G.device)
        self.step = 1.0 / (2.0 * A.norm() ** 2)
        self.state_rules = {"nu": (UpdateRule("sgd", momentum=0.0), self.step)}
        self.active = True
        self.last = False
        self._reset()

    def _reset(self):
        # FISTA's memory (the last soft-threshold output, each row's theta) and the step's G(z), rows, w.
        self._prev, self._theta, self._g, self._rows, self._point = None, None, None, None, None

    def init_state(self, G, num_problems, restarts, seeds):
        # :math:`z_0` from the latent law (seeded per problem; :math:`\mathcal{N}(0, I)` by default), :math:`\nu_0 = 0`.
        z = self.draw_latents(G, num_problems, restarts, seeds)
        return {"z": z, "nu": torch.zeros(z.shape[0], G.n, device=G.device, dtype=G.dtype)}

    def on_step(self, t, steps):
        # :math:`\nu` is held at 0 during the warm-up; its solver starts afresh when it ends (and in every chunk).
        start = second_stage_start(self.warmup, steps, self.owner, "nu")
        self.active = t >= start
        self.last = t == steps - 1
        if t <= start:
            self._reset()

    def render(self, G, state):
        # :math:`G(z) + \Psi^T \nu`.
        x = G(state["z"])
        nu = state["nu"]  # the sparse part stays in the state's dtype, also under bf16 autocast
        return x.to(nu.dtype) + self.psi.adjoint(nu).reshape(x.shape)

    def loss(self, x, state, rows):
        # Fit and total; the :math:`\ell_1` term is in the total's value but not its gradient (the prox handles it).
        fit, total = self(x, state["z"], rows)
        if self.active:  # what the steps on nu after the engine's need: the rows, w_k (FISTA), G(z) (more steps)
            nu = state["nu"].detach()
            self._rows = rows
            if self.nu_solver == "fista":
                self._point = nu.clone()
            if self.nu_steps > 1:
                self._g = x.detach() - self.psi.adjoint(nu).reshape(x.shape)
        return fit, total + self.alpha * state["nu"].detach().abs().sum(dim=1).to(total.dtype)

    def _shrink(self, v):
        # The proximal map of :math:`(\alpha/L)\|\cdot\|_1`: a soft threshold.
        return torch.sign(v) * (v.abs() - self.alpha * self.step).clamp_min(0.0)

    def _advance(self, nu, new, point, final):
        # Write the next point into ``nu``: ``new`` (ISTA, a fresh start, the answer) or FISTA's extrapolation.
        if self.nu_solver == "ista":
            nu.copy_(new)
            return
        prev = self._prev
        if prev is None or prev.shape != new.shape or point.shape != new.shape:
            nu.copy_(new)  # plain step: the first after the warm-up, or after rows left the batch
            self._prev = new.clone()
            self._theta = torch.ones(new.shape[0], 1, device=new.device, dtype=new.dtype)
            return
        theta = torch.where(((point - new) * (new - prev)).sum(dim=1, keepdim=True) > 0,
                            torch.ones_like(self._theta), self._theta)  # restart against the step
        theta_next = 0.5 * (1.0 + torch.sqrt(1.0 + 4.0 * theta * theta))
        nu.copy_(new if final else new + (theta - 1.0) / theta_next * (new - prev))
        self._prev, self._theta = new.clone(), theta_next

    def project_state(self, state):
        # The engine's gradient step on nu is done: soft-threshold it (or hold nu at 0 during the warm-up), then
        # take the other nu_steps - 1 proximal-gradient steps at this step's G(z).  z goes onto the latent law's
        # support first (a box law: clamped).
        self.project_latent(state["z"])
        nu = state["nu"]
        if not self.active:
            nu.zero_()
            return
        if self._rows is None:  # the engine projecting a starting state: no step has run
            nu.copy_(self._shrink(nu))
            return
        for i in range(self.nu_steps):
            if i:
                point = nu.clone()
                x = self._g + self.psi.adjoint(point).reshape(self._g.shape)
                residual = self.y[self._rows] - self.A(x.reshape(x.shape[0], -1))
                grad = -2.0 * self.psi(self.A.adjoint(residual)).reshape(point.shape)
                new = self._shrink(point - self.step * grad)
            else:
                point, new = self._point, self._shrink(nu)
            self._advance(nu, new, point, final=self.last and i == self.nu_steps - 1)


def named_objective(objective, owner):
    """``objective``, whose messages at solve time name ``owner`` (the caller's function)."""
    objective.owner = owner
    return objective


def _build(y, A, G, lam: float = 0.0, alpha: float = 0.1, basis: Literal[BASES] = "dct",
           warmup: int | float | None = None, nu_solver: Literal[NU_SOLVERS] = "fista", nu_steps: int = 10):
    """The ``"sparse-gen"`` entry's objective; its keyword arguments are the method's hyperparameters."""
    return named_objective(SparseGenObjective(y, A, G, lam=lam, alpha=alpha, basis=basis, warmup=warmup, nu_solver=nu_solver,
                                     nu_steps=nu_steps), "recover(method='sparse-gen')")


register_method(
    "sparse-gen", _build, kind="latent",
    summary="x = G(z) + Psi^T nu with nu sparse in a basis (pixel / dct / wavelet): leaves the range of G "
            "where the measurements ask for it",
    reference="Dhar, Grover, Ermon, ICML 2018", contract={"alpha": 100.0},
    cv_grids={"lam": LAM_GRID, "alpha": ALPHA_GRID}, auto=True,
)
