r"""Intermediate layer optimisation (ILO; Daras et al., ICML 2021), on the latent engine.

After a search over :math:`z` (as CSGM), the activation :math:`h` of an intermediate layer of the
generator is optimised directly, kept inside a box of radius :math:`r` around the range of the
layers below, and rendered by the layers above: :math:`x = G_{hi}(h)`.  The result may leave the
range of :math:`G` by as much as the radius allows.  One module and one registry entry (``"ilo"``).
"""

from __future__ import annotations

import torch

from .._validation import check_float, check_int
from .csgm import LAM_GRID, CSGMObjective, check_warmup
from .registry import register_method
from .sparse_gen import named_objective, second_stage_start

__all__ = ["ILOObjective", "block_ends", "default_cut"]


def _layers(G):
    """The generator's layer list: its ``net`` (the bundled DCGAN / MLP generators) or the module itself."""
    return getattr(G.module, "net", G.module)


#: The activations that end a block for :func:`block_ends` (the DCGANs' ReLU, the VAE decoder's softplus).
_BLOCK_ENDS = (torch.nn.ReLU, torch.nn.LeakyReLU, torch.nn.Softplus, torch.nn.ELU, torch.nn.GELU, torch.nn.SiLU)


def block_ends(G) -> list:
    """The cuts that end a block of the generator: after each activation (ReLU, softplus, ...) of its layer
    list that has layers after it, in order.  These are where an intermediate-layer method is usually cut
    (Daras et al. cut a DCGAN only between blocks); the bundled 28x28 DCGANs have two (3 and 6: 7x7 and 14x14
    activations), the 64x64 DCGAN four (3, 6, 9, 12: 4x4 ... 32x32), the MLP and VAE decoders two.

    Parameters
    ----------
    G : ganprior.Generator
        The prior.

    Returns
    -------
    list of int
        Valid ``cut`` values of :class:`ILOObjective`; empty when the layer list is not a
        :class:`torch.nn.Sequential` or has no such activation.
    """
    net = _layers(G)
    if not isinstance(net, torch.nn.Sequential):
        return []
    return [i + 1 for i, layer in enumerate(net) if isinstance(layer, _BLOCK_ENDS) and i + 1 < len(net)]


def default_cut(G) -> int:
    """The first of :func:`block_ends` (the end of the generator's first block), else the middle of its
    layer list (1 when it is not a :class:`torch.nn.Sequential`).

    Parameters
    ----------
    G : ganprior.Generator
        The prior.

    Returns
    -------
    int
    """
    ends = block_ends(G)
    if ends:
        return ends[0]
    net = _layers(G)
    return max(1, len(net) // 2) if isinstance(net, torch.nn.Sequential) else 1


class ILOObjective(CSGMObjective):
    r"""CSGM on :math:`z`, then on an intermediate activation :math:`h` within a box around the range.

    Parameters
    ----------
    y : torch.Tensor
        Measurements ``(P, m)``.
    A : ganprior.operators.LinearOperator
        The operator.
    G : ganprior.Generator
        The prior; it must be splittable (:meth:`ganprior.Generator.split`).
    lam : float
        Weight of :math:`\|z\|^2` during the :math:`z` stage (default 0).
    cut : int, optional
        Where to cut the generator (default :func:`default_cut`: after its first block).
    radius : float
        Half-width :math:`r` of the box :math:`\|h - G_{lo}(z)\|_\infty \le r` (default 1).
    warmup : float, optional
        The fraction of the steps (in [0, 1]) in the :math:`z` stage (default: half of the steps).  An
        int counts steps: it works, with a FutureWarning naming the fraction to give (``warmup=1`` is one
        step, ``warmup=1.0`` all of them).

    Notes
    -----
    Stage 1 (the fraction ``warmup`` of the steps) minimises :math:`\|y - AG(z)\|^2 + \lambda\|z\|^2` over
    :math:`z` while :math:`h` follows :math:`G_{lo}(z)`.  Stage 2 minimises
    :math:`\|y - AG_{hi}(h)\|^2 + \lambda\|z\|^2` over :math:`h` and :math:`z`, projecting after
    every step onto :math:`\{h : \|h - G_{lo}(z)\|_\infty \le r\}` (intersected with :math:`h \ge 0`
    when the lower part ends in a ReLU): the data term no longer depends on :math:`z`, so :math:`z`
    moves only by the gradient of :math:`\lambda\|z\|^2` (slowly, as the optimiser's second moment
    still holds stage 1's gradients), and the box follows :math:`G_{lo}(z)`.  With :math:`\lambda = 0`
    :math:`z` stays where stage 1 left it.  The engine's best-iterate bookkeeping covers both stages.
    :math:`\lambda\|z\|^2` is the normal latent law's penalty; with another law (``G.latent``) it is
    :math:`-2\lambda\log p(z)`, and :math:`z` starts from that law and is projected onto its support after
    every step (see :class:`~ganprior.solvers.csgm.CSGMObjective`).
    """

    #: The function named by the message of a warm-up that leaves no second stage.
    owner = "ILOObjective"
    state_names = ("z", "h")

    def __init__(self, y, A, G, lam=0.0, cut=None, radius=1.0, warmup=None):
        super().__init__(y, A, lam)
        owner = "ILOObjective"
        self.cut = default_cut(G) if cut is None else check_int(cut, "cut", minimum=1, owner=owner)
        self.lower, self.upper = G.split(self.cut)
        self.radius = check_float(radius, "radius", minimum=0.0, owner=owner)
        self.warmup = check_warmup(warmup, owner=owner)
        net = _layers(G)
        self._G, self._net = G, net
        self.nonnegative = isinstance(net, torch.nn.Sequential) and isinstance(net[self.cut - 1], torch.nn.ReLU)
        self.stage = 2

    def _split_runner(self, G):
        """Split the network the engine runs (:meth:`ganprior.Generator.for_solving`: batch norm folded, another
        layout) at the same cut, unless the cut falls between a layer and the batch norm folded into it."""
        net = _layers(G)
        if G is self._G or not isinstance(net, torch.nn.Sequential) or len(net) != len(self._net):
            return
        if isinstance(self._net[self.cut], torch.nn.modules.batchnorm._BatchNorm):
            return  # h is the pre-normalisation activation there: keep the original layers
        self.lower, self.upper = G.split(self.cut)

    def init_state(self, G, num_problems, restarts, seeds):
        # :math:`z_0` from the latent law (seeded per problem; :math:`\mathcal{N}(0, I)` by default) and
        # :math:`h_0 = G_{lo}(z_0)` (after the engine's first projection: of the projected :math:`z_0`).
        self._split_runner(G)
        z = self.draw_latents(G, num_problems, restarts, seeds)
        with torch.no_grad():
            h = self.lower(z).to(G.dtype)
        return {"z": z, "h": h}

    def on_step(self, t, steps):
        # Stage 1 before ``warmup``, stage 2 after.
        self.stage = 1 if t < second_stage_start(self.warmup, steps, self.owner, "the activation h") else 2

    def render(self, G, state):
        # :math:`G(z)` in stage 1, :math:`G_{hi}(h)` in stage 2 (equal while :math:`h = G_{lo}(z)`).
        return self.upper(self.lower(state["z"]) if self.stage == 1 else state["h"])

    def loss(self, x, state, rows):
        # The CSGM fit and total (:math:`\lambda\|z\|^2` is constant in stage 2).
        return self(x, state["z"], rows)

    def project_state(self, state):
        # :math:`z` onto the latent law's support; then stage 1: :math:`h \leftarrow G_{lo}(z)`; stage 2: clip
        # :math:`h` to the box (and to :math:`h \ge 0`).
        self.project_latent(state["z"])
        h0 = self.lower(state["z"]).to(state["h"].dtype)
        h = state["h"]
        if self.stage == 1:
            h.copy_(h0)
        else:
            h.copy_(torch.maximum(torch.minimum(h, h0 + self.radius), h0 - self.radius))
        if self.nonnegative:
            h.clamp_(min=0.0)


def _build(y, A, G, lam: float = 0.0, cut: int | None = None, radius: float = 1.0,
           warmup: int | float | None = None):
    """The ``"ilo"`` entry's objective; its keyword arguments are the method's hyperparameters."""
    return named_objective(ILOObjective(y, A, G, lam=lam, cut=cut, radius=radius, warmup=warmup), "recover(method='ilo')")


register_method(
    "ilo", _build, kind="latent",
    summary="CSGM on z, then the activation h of an intermediate layer within a box of the given radius "
            "around the range of the layers below",
    reference="Daras, Dean, Jalal, Dimakis, ICML 2021", contract={"radius": 0.0},
    likelihoods=("gaussian", "magnitude", "sign", "poisson"),
    # radius 0 is CSGM: a smaller radius regularises more
    cv_grids={"lam": LAM_GRID, "radius": (0.0, 0.1, 0.3, 1.0, 3.0)}, regularisation={"radius": -1},
    auto=True, needs_split=True,
)
