r"""CSGM with a total-variation term: the worked example of "Writing a method" in the user guide.

The whole method is this module: an objective on the latent engine and one
registry entry.  The contract tests run on it because it is registered.
"""

from __future__ import annotations

from .._validation import check_float
from .csgm import LAM_GRID, CSGMObjective
from .registry import register_method

__all__ = ["TVObjective"]


class TVObjective(CSGMObjective):
    r"""CSGM plus an anisotropic total-variation penalty on the image.

    Parameters
    ----------
    y : torch.Tensor
        Measurements ``(P, m)``.
    A : ganprior.operators.LinearOperator
        The operator.
    lam : float
        Weight of :math:`\|z\|^2` (default 0).
    tv : float
        Weight :math:`\tau \ge 0` of the total variation (default 0.01).

    Notes
    -----
    .. math:: L_p(z) = \|y_p - AG(z)\|^2 + \lambda\|z\|^2
              + \tau \sum_{c,i,j} |x_{c,i+1,j} - x_{c,i,j}| + |x_{c,i,j+1} - x_{c,i,j}|,

    with :math:`x = G(z)` of shape ``(C, H, W)`` (or ``(H, W)``); flat images have no neighbours to
    compare, and are refused.  The fit stays the measurement error, so restarts are chosen as in CSGM.
    """

    def __init__(self, y, A, lam=0.0, tv=0.01):
        super().__init__(y, A, lam)
        self.tv = check_float(tv, "tv", minimum=0.0, owner="TVObjective")

    def __call__(self, x, z, rows):
        fit, total = super().__call__(x, z, rows)
        if x.ndim < 3:
            raise ValueError(f"TVObjective needs images of shape (H, W) or (C, H, W) (a batch of them); the "
                             f"generator makes flat images of shape {tuple(x.shape[1:])}.")
        if self.tv == 0.0:
            return fit, total
        dh = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).sum(dim=1)
        dw = (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(1).sum(dim=1)
        return fit, total + self.tv * (dh + dw)


def _build(y, A, G, lam=0.0, tv=0.01):
    """The ``"csgm-tv"`` entry's objective, for a prior that makes images (the total variation needs neighbours)."""
    if len(G.image_shape) < 2:
        raise ValueError(f"method='csgm-tv' of recover needs a prior that makes images of shape (H, W) or (C, H, W) "
                         f"(the total variation compares neighbouring pixels); G makes {tuple(G.image_shape)}.")
    return TVObjective(y, A, lam, tv)


register_method("csgm-tv", _build, kind="latent",
                summary="CSGM plus tv * total variation of G(z) (the 'Writing a method' example)",
                reference="this library's user guide", contract={"tv": 1e-6},
                cv_grids={"lam": LAM_GRID, "tv": (0.0, 1e-3, 1e-2, 1e-1)})
