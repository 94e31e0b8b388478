r"""What a latent method is: an objective on the engine (state, render, score, project).

Every latent method -- CSGM, semantic inpainting, Sparse-Gen, ILO, Langevin
posterior sampling, your own -- is a :class:`LatentObjective` handed to the
one batched engine, :func:`~ganprior.optimize_latents`
(:mod:`ganprior.solvers.latent`), which owns the loop, the update rule and
the reducer.  An objective declares the named tensors of one row's state,
draws them (seeded per problem: :func:`normal_state`), renders them to an
image, scores each row (``fit`` and ``total``) and projects the state after
every step.

The latent's prior comes from the generator's latent law ``G.latent``
(:mod:`ganprior.latent`): :meth:`LatentObjective.init_state` draws the
starting latents from it (:func:`latent_state`) and records it as
:attr:`LatentObjective.latent_law`, :meth:`LatentObjective.latent_penalty`
is its :math:`-2\log p(z)` and :meth:`LatentObjective.project_state`
projects onto its support.
"""

from __future__ import annotations

import torch

from ..latent import NormalLaw, latent_law_of

__all__ = ["LatentObjective", "normal_state", "latent_state"]


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
    return latent_state(NormalLaw(), shape, num_problems, restarts, seeds, device=device, dtype=dtype)


def latent_state(law, shape, num_problems, restarts, seeds, *, device=None, dtype=torch.float32):
    r"""Draw ``num_problems * restarts`` latents of ``shape`` from a latent law, seeded per problem.

    For the normal law this is :func:`normal_state` (the same numbers for the same seeds); another law
    draws from the same generators in the same order (e.g. :math:`\mathrm{Unif}[-1, 1]^k` for
    ``"uniform"``).

    Parameters
    ----------
    law : ganprior.latent.LatentLaw
        The law (``G.latent``).
    shape : tuple of int
        Shape of one latent.
    num_problems, restarts : int
        :math:`P` and :math:`R`.
    seeds : torch.Generator or list of torch.Generator
        One generator for all rows (drawn in problem order) or one per problem.
    device, dtype
        Where the result goes (the draw is made on the CPU in float32).

    Returns
    -------
    torch.Tensor
        Shape ``(P * R, *shape)``, rows in problem order.
    """
    law = NormalLaw() if law is None else law
    if isinstance(seeds, list):
        out = torch.cat([law.sample((restarts, *shape), g) for g in seeds])
    else:
        out = law.sample((num_problems * restarts, *shape), seeds)
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
    latent_law : ganprior.latent.LatentLaw or None
        The latent law of the prior the objective was last initialised for
        (set by :meth:`init_state` / :meth:`draw_latents` from ``G.latent``);
        None before, which counts as the normal law.
    runs_as : str or None
        A registered method this instance is, in effect, for its arguments (a ``dgp`` whose weights cannot move
        is ILO): ``recover`` then runs that method instead, with its own recipe and settings, and reports it in
        ``info["runs_as"]``.  None (default): itself.

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
    latent_law = None
    runs_as = None

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

        The default draws :math:`z_0` from the prior's latent law with
        :meth:`draw_latents` (:math:`\mathcal{N}(0, I)`: :func:`normal_state`).
        Draw every random tensor from ``seeds`` so that the seed fixes the result.

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
        return {"z": self.draw_latents(G, num_problems, restarts, seeds)}

    def draw_latents(self, G, num_problems: int, restarts: int, seeds) -> torch.Tensor:
        """Starting latents from ``G``'s latent law (:func:`latent_state`); records the law as :attr:`latent_law`.

        An objective that overrides :meth:`init_state` calls this for its :math:`z`.

        Parameters
        ----------
        G : ganprior.Generator
            The prior (its ``latent``, ``latent_shape``, ``device`` and ``dtype``).
        num_problems, restarts : int
            :math:`P` and :math:`R`.
        seeds : torch.Generator or list of torch.Generator
            One generator, or one per problem.

        Returns
        -------
        torch.Tensor
            ``(P * R, *latent_shape)``.
        """
        self.latent_law = latent_law_of(G)
        return latent_state(self.latent_law, G.latent_shape, num_problems, restarts, seeds, device=G.device,
                            dtype=G.dtype)

    def latent_penalty(self, z: torch.Tensor) -> torch.Tensor:
        r"""The latent prior's penalty :math:`-2\log p(z)` per row, up to a constant.

        Normal law (and before :meth:`init_state`): :math:`\|z\|_2^2`.  Uniform law: 0 (constant inside
        the box, which the projection keeps).  Truncated normal: :math:`\|z\|_2^2` inside its box.

        Parameters
        ----------
        z : torch.Tensor
            Latents ``(B, *latent_shape)``.

        Returns
        -------
        torch.Tensor
            Shape ``(B,)``.
        """
        return (self.latent_law or NormalLaw()).penalty(z)

    def project_latent(self, z: torch.Tensor) -> None:
        """Project latents onto the support of :attr:`latent_law` in place (a box law: clamp; normal: nothing).

        Parameters
        ----------
        z : torch.Tensor
            Latents ``(B, *latent_shape)``, modified in place.
        """
        if self.latent_law is not None:
            self.latent_law.project(z)

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
        update.  The default calls :meth:`project` on ``state["z"]``, then
        :meth:`project_latent` (the latent law's support).

        Parameters
        ----------
        state : dict of str to torch.Tensor
            The rows' state, modified in place.
        """
        if "z" in state:
            self.project(state["z"])
            self.project_latent(state["z"])
