r"""What a latent method is: an objective on the engine (state, render, score, project).

Every latent method -- CSGM, semantic inpainting, Sparse-Gen, ILO, Langevin
posterior sampling, your own -- is a :class:`LatentObjective` handed to the
one batched engine, :func:`~ganprior.optimize_latents`
(:mod:`ganprior.solvers.latent`), which owns the loop, the update rule and
the reducer.  An objective declares the named tensors of one row's state,
draws them (seeded per problem: :func:`normal_state`), renders them to an
image, scores each row (``fit`` and ``total``) and projects the state after
every step.
"""

from __future__ import annotations

import torch

__all__ = ["LatentObjective", "normal_state"]


def normal_state(shape, num_problems, restarts, seeds, *, device=None, dtype=torch.float32):
    r"""Draw ``num_problems * restarts`` tensors of ``shape`` from :math:`\mathcal{N}(0, I)`, seeded per problem.

    Parameters
    ----------
    shape : tuple of int
        Shape of one row's tensor (e.g. the latent shape).
    num_problems, restarts : int
        :math:`P` and :math:`R`.
    seeds : torch.Generator or list of torch.Generator
        One generator for all rows (drawn in problem order) or one per problem
        (as returned by :func:`ganprior._validation.check_seeds`).
    device, dtype
        Where the result goes (the draw itself is made on the CPU in float32,
        so a seed gives the same numbers on every device).

    Returns
    -------
    torch.Tensor
        Shape ``(P * R, *shape)``, rows in problem order.
    """
    if isinstance(seeds, list):
        out = torch.cat([torch.randn(restarts, *shape, generator=g) for g in seeds])
    else:
        out = torch.randn(num_problems * restarts, *shape, generator=seeds)
    return out.to(device=device, dtype=dtype)


class LatentObjective:
    r"""A per-row objective on the engine: state, render, score, project.

    The simplest objective optimises only :math:`z` and implements
    :meth:`__call__` ``(x, z, rows) -> (fit, total)``; everything else has a
    default.  An objective with more state overrides :attr:`state_names`,
    :meth:`init_state`, :meth:`render`, :meth:`loss` and
    :meth:`project_state`.

    Attributes
    ----------
    state_names : tuple of str
        Names of the tensors optimised per row (default ``("z",)``).

    Notes
    -----
    For rows :math:`i` with state :math:`s_i` the engine minimises
    :math:`\sum_i L_{p(i)}(s_i)`, where :math:`L_p` is ``total`` and
    :math:`p(i)` the problem of row :math:`i`.  Objectives must index their
    per-problem data by ``rows`` (never by batch position): rows leave the
    batch when they stop early or fail.
    """

    state_names: tuple = ("z",)
    #: Per-state update rules that replace the solve's own: ``{name: (UpdateRule, lr)}`` with a constant step
    #: size (e.g. a proximal-gradient step of size ``1 / L`` for a sparse part).  Empty by default.
    state_rules: dict | None = None

    def on_step(self, t: int, steps: int) -> None:
        """Called by the engine before step ``t`` of ``steps`` of every chunk (default: nothing).

        A staged method switches stages here (e.g. a warm-up on :math:`z` alone, then an
        intermediate layer); after the last step the engine leaves the objective in its final stage,
        in which it renders and scores the best iterates.

        Parameters
        ----------
        t : int
            The step about to run, ``0 <= t < steps``.
        steps : int
            Steps of the solve.
        """

    def step_scale(self, t: int, steps: int):
        """A factor on the solve's step size at step ``t``, or None to keep the solve's ``schedule`` (default).

        An objective whose step must follow its own state, such as an annealed sampler
        (:class:`~ganprior.solvers.posterior.PosteriorObjective`), returns the factor here; the
        engine then uses ``lr * step_scale(t, steps)`` in place of the schedule.

        Parameters
        ----------
        t, steps : int
            The step and the number of steps.

        Returns
        -------
        float or None
        """
        return None

    def init_state(self, G, num_problems: int, restarts: int, seeds) -> dict:
        r"""The initial state of every row, ``(P * R, ...)`` tensors in problem order.

        The default draws :math:`z_0 \sim \mathcal{N}(0, I)` with
        :func:`normal_state`.  Draw every random tensor from ``seeds`` so that
        the seed fixes the result.

        Parameters
        ----------
        G : ganprior.Generator
            The prior (its ``latent_shape``, ``device`` and ``dtype``).
        num_problems, restarts : int
            :math:`P` and :math:`R`.
        seeds : torch.Generator or list of torch.Generator
            One generator, or one per problem.

        Returns
        -------
        dict of str to torch.Tensor
            One entry per name in :attr:`state_names`.
        """
        return {"z": normal_state(G.latent_shape, num_problems, restarts, seeds, device=G.device, dtype=G.dtype)}

    def render(self, G, state: dict) -> torch.Tensor:
        """The images of a batch of rows (default :math:`G(z)`).

        Parameters
        ----------
        G : ganprior.Generator
            The prior.
        state : dict of str to torch.Tensor
            The rows' state.

        Returns
        -------
        torch.Tensor
            Images ``(B, *image_shape)``.
        """
        return G(state["z"])

    def loss(self, x: torch.Tensor, state: dict, rows: torch.Tensor):
        """``(fit, total)`` per row; the default calls ``self(x, state["z"], rows)``.

        Parameters
        ----------
        x : torch.Tensor
            Rendered images ``(B, *image_shape)``.
        state : dict of str to torch.Tensor
            The rows' state.
        rows : torch.Tensor
            Long tensor ``(B,)``: the problem of each row.

        Returns
        -------
        fit, total : torch.Tensor
            Each ``(B,)``: the data term (used to pick restarts) and the
            minimised loss.
        """
        return self(x, state["z"], rows)

    def __call__(self, x: torch.Tensor, z: torch.Tensor, rows: torch.Tensor):
        r"""Return ``(fit, total)`` of a :math:`z`-only objective, each of shape ``(B,)``.

        Parameters
        ----------
        x : torch.Tensor
            ``G(z)``, shape ``(B, *image_shape)``.
        z : torch.Tensor
            Latents, shape ``(B, *latent_shape)``.
        rows : torch.Tensor
            Long tensor ``(B,)``: the problem each row belongs to.

        Returns
        -------
        fit : torch.Tensor
            The data term per row (for CSGM :math:`\|y - AG(z)\|^2`); used to
            pick the best restart.
        total : torch.Tensor
            The minimised loss per row.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(x, z, rows) or loss(x, state, rows).")

    def project(self, z: torch.Tensor) -> None:
        """Project latents onto the feasible set in place (default: none).

        Parameters
        ----------
        z : torch.Tensor
            The latents ``(B, *latent_shape)``; modify them in place (e.g.
            ``z.clamp_(-1, 1)``).
        """

    def project_state(self, state: dict) -> None:
        """Project (or take the proximal step on) the whole state in place.

        Called under ``torch.no_grad()`` on the initial state and after every
        update.  The default calls :meth:`project` on ``state["z"]``.

        Parameters
        ----------
        state : dict of str to torch.Tensor
            The rows' state, modified in place.
        """
        if "z" in state:
            self.project(state["z"])
