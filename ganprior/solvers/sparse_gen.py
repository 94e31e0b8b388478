r"""Sparse-Gen (Dhar, Grover, Ermon, ICML 2018): a generator plus a sparse deviation, on the latent engine.

The image is :math:`x = G(z) + \Psi^T \nu` with :math:`\nu` sparse in an orthonormal basis :math:`\Psi`
(pixel, DCT or wavelet), so the result can leave the range of :math:`G` where the measurements ask for
it.  One module and one registry entry (``"sparse-gen"``).
"""

from __future__ import annotations

import torch

from .._validation import check_choice, check_float, check_int
from .csgm import CSGMObjective
from .latent import UpdateRule, normal_state
from .registry import register_method

__all__ = ["SparseGenObjective", "operator_norm"]

BASES = ("pixel", "dct", "wavelet")


def operator_norm(A, iterations: int = 100, seed: int = 0) -> float:
    r"""The spectral norm :math:`\|A\|_2` by power iteration on :math:`A^T A` (in float64).

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
    iterations = check_int(iterations, "iterations", minimum=1, owner="operator_norm")
    dtype = next((b.dtype for b in A.buffers() if b.is_floating_point()), torch.float64)
    v = torch.randn(1, A.n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    v = (v / v.norm()).to(device=A.device, dtype=dtype)
    with torch.no_grad():
        for _ in range(iterations):
            w = A.adjoint(A(v)).reshape(1, -1)
            v = w / w.norm()
        return float(A(v).double().norm())


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
    warmup : int, optional
        Steps on :math:`z` alone before :math:`\nu` moves (default: half of the steps), as the
        original code's z-only start.

    Notes
    -----
    The state is :math:`(z, \nu)`.  :math:`z` takes the solve's own steps (Adam by default) on the
    smooth part; :math:`\nu` takes proximal-gradient (ISTA) steps: a gradient step of size
    :math:`1/L`, :math:`L = 2\|A\|_2^2` (the Lipschitz constant of the data term's gradient in
    :math:`\nu`, since :math:`\Psi` is orthonormal), then the exact proximal map of
    :math:`\alpha\|\cdot\|_1`, a soft threshold at :math:`\alpha / L`.  (A joint Adam step followed
    by a threshold barely moves :math:`\nu`; the ISTA step is the real :math:`\ell_1` solver.)  The
    fit is the measurement error; the total adds :math:`\lambda\|z\|^2 + \alpha\|\nu\|_1`.
    """

    state_names = ("z", "nu")

    def __init__(self, y, A, G, lam=0.0, alpha=0.1, basis="dct", warmup=None):
        super().__init__(y, A, lam)
        owner = "SparseGenObjective"
        self.alpha = check_float(alpha, "alpha", minimum=0.0, strict=True, owner=owner)
        self.basis = check_choice(basis, "basis", BASES, owner=owner)
        self.warmup = None if warmup is None else check_int(warmup, "warmup", minimum=0, owner=owner)
        self.image_shape = tuple(G.image_shape)
        self.psi = _basis(self.basis, self.image_shape, G.device)
        self.step = 1.0 / (2.0 * operator_norm(A) ** 2)
        self.state_rules = {"nu": (UpdateRule("sgd", momentum=0.0), self.step)}
        self.active = True

    def init_state(self, G, num_problems, restarts, seeds):
        # :math:`z_0 \sim \mathcal{N}(0, I)` (seeded per problem) and :math:`\nu_0 = 0`.
        z = normal_state(G.latent_shape, num_problems, restarts, seeds, device=G.device, dtype=G.dtype)
        return {"z": z, "nu": torch.zeros(z.shape[0], G.n, device=G.device, dtype=G.dtype)}

    def on_step(self, t, steps):
        # :math:`\nu` is held at 0 during the warm-up.
        self.active = t >= (steps // 2 if self.warmup is None else self.warmup)

    def render(self, G, state):
        # :math:`G(z) + \Psi^T \nu`.
        x = G(state["z"])
        nu = state["nu"]  # the sparse part stays in the state's dtype, also under bf16 autocast
        return x.to(nu.dtype) + self.psi.adjoint(nu).reshape(x.shape)

    def loss(self, x, state, rows):
        # Fit and total; the :math:`\ell_1` term is in the total's value but not its gradient (the prox handles it).
        fit, total = self(x, state["z"], rows)
        return fit, total + self.alpha * state["nu"].detach().abs().sum(dim=1).to(total.dtype)

    def project_state(self, state):
        # Soft-threshold :math:`\nu` at :math:`\alpha / L` (or hold it at 0 during the warm-up).
        nu = state["nu"]
        if not self.active:
            nu.zero_()
            return
        nu.copy_(torch.sign(nu) * (nu.abs() - self.alpha * self.step).clamp_min(0.0))


register_method(
    "sparse-gen", lambda y, A, G, lam=0.0, alpha=0.1, basis="dct", warmup=None:
    SparseGenObjective(y, A, G, lam=lam, alpha=alpha, basis=basis, warmup=warmup), kind="latent",
    summary="x = G(z) + Psi^T nu with nu sparse in a basis (pixel / dct / wavelet): leaves the range of G "
            "where the measurements ask for it",
    hyperparameters={"lam": 0.0, "alpha": 0.1, "basis": "dct", "warmup": None},
    reference="Dhar, Grover, Ermon, ICML 2018", contract={"alpha": 100.0},
)
