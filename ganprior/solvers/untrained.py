r"""Untrained priors as recovery methods: the Deep Decoder and the Deep Image Prior, batched over problems.

The baselines that ask what a trained prior buys.  Each problem fits its own network :math:`f_w` (no training
data; the architecture is the prior, :mod:`ganprior.models.untrained`) from a fixed random input :math:`u` to
its measurements,

.. math:: \hat w = \arg\min_w \|y_T - A_T f_w(u)\|^2, \qquad \hat x = f_{\hat w}(u),

stopped early (:class:`~ganprior.solvers.stopping.StoppingScore`: held-out rows, or the discrepancy principle
when ``noise_std`` is known).  All problems run as the rows of one engine solve
(:func:`~ganprior.optimize_latents`), each row with its own weights
(:class:`~ganprior.solvers.rowweights.RowWeights`).  They use no generator: ``recover(y, A,
method="deep-decoder", image_shape=(1, 28, 28))`` (the registry's ``"sparse"`` kind, like the Lasso baselines),
and run on the CPU.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from .._convert import prepare_operator
from .._validation import check_choice, check_int, describe
from ..generator import Generator
from ..models.untrained import DeepDecoder, SkipNet, draw_parameters
from .latent import optimize_latents
from .objective import LatentObjective
from .registry import register_method
from .rowweights import RowWeights
from .stopping import STOPS, StoppingScore

__all__ = ["UntrainedObjective", "solve_untrained"]

DTYPES = ("float64", "float32")


class UntrainedObjective(LatentObjective):
    r"""Fit an untrained network's weights to each problem: the state of a row is its own copy of the weights.

    Parameters
    ----------
    y : torch.Tensor
        Measurements ``(P, m)``.
    A : ganprior.operators.LinearOperator
        The operator.
    net : torch.nn.Module
        The network (e.g. :class:`~ganprior.models.untrained.DeepDecoder`), with ``input_shape`` and
        ``draw_input``; its parameters are re-drawn from ``net_seed``.
    stop, noise_std, holdout
        The early stop (:class:`~ganprior.solvers.stopping.StoppingScore`).
    net_seed : int
        Seed of the weights and the fixed input (default 0).

    Notes
    -----
    Every problem starts from the same draw of :math:`w_0` and :math:`u` (seeded by ``net_seed``), so a problem
    gives the same answer alone or in a batch.  The initial per-row weights are stride-0 views of :math:`w_0`:
    the engine's ``row_chunk`` bounds the memory (each chunk copies the weights of its own rows).
    """

    def __init__(self, y, A, net, *, stop="auto", noise_std=None, holdout=0.1, net_seed=0):
        owner = type(self).__name__
        if not isinstance(net, torch.nn.Module) or not hasattr(net, "input_shape"):
            raise TypeError(f"The 'net' parameter of {owner} must be a torch.nn.Module with an 'input_shape' (e.g. a "
                            f"ganprior.models.untrained.DeepDecoder). Got {describe(net)} instead.")
        net_seed = check_int(net_seed, "net_seed", minimum=0, owner=owner)
        self.score = StoppingScore(y, A, stop=stop, noise_std=noise_std, holdout=holdout, owner=owner)
        gen = torch.Generator().manual_seed(net_seed)
        dtype = y.dtype
        self.net = draw_parameters(net.float(), gen).to(device=y.device, dtype=dtype)
        self.input = net.draw_input(gen).to(device=y.device, dtype=dtype)
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.weights = RowWeights(self.net)
        self.state_names = self.weights.keys

    def prior(self) -> Generator:
        """The network as the engine's prior: a :class:`~ganprior.Generator` whose latent is the fixed input.

        Returns
        -------
        ganprior.Generator
        """
        return Generator(self.net, latent_shape=tuple(self.net.input_shape))

    def init_state(self, G, num_problems, restarts, seeds):
        # w_0 for every row (stride-0 views); the engine's seeds are not used: the draw is net_seed's.
        return self.weights.state(num_problems * restarts)

    def render(self, G, state):
        # f_{w_i}(u) for every row i, one vmapped call.
        return self.weights(state, self.input, shared_input=True)

    def loss(self, x, state, rows):
        # The stopping rule's score of ||y - A f_w(u)||^2.
        return self.score(x, rows)

    def project_state(self, state):
        # The weights are unconstrained.
        return None


def solve_untrained(y, A, net, *, iterations=3000, step_size=0.01, stop="auto", noise_std=None, holdout=0.1,
                    wait=500, net_seed=0, dtype="float64", chunk=None, owner="solve_untrained"):
    r"""Fit an untrained network to each problem on the engine; the images as a NumPy array.

    Parameters
    ----------
    y : numpy.ndarray
        Measurements ``(P, m)``.
    A : ganprior.operators.LinearOperator
        The operator (on the CPU).
    net : torch.nn.Module
        The untrained network (:mod:`ganprior.models.untrained`).
    iterations : int
        Adam steps (default 3000).
    step_size : float
        Adam's step size (default 0.01, the papers').
    stop, noise_std, holdout
        The early stop (:class:`~ganprior.solvers.stopping.StoppingScore`).
    wait : int, optional
        Stop a problem once its criterion has not improved for this many steps (the engine's ``patience``;
        None runs every step).
    net_seed : int
        Seed of the weights and the input.
    dtype : {"float64", "float32"}
        The working precision (float64 by default, as every baseline without a generator; float32 is about
        twice as fast on a CPU).
    chunk : int, optional
        Problems fitted at once (the engine's ``row_chunk``; default all).
    owner : str
        The function named by the messages.

    Returns
    -------
    numpy.ndarray
        ``(P, *image_shape)``.
    """
    check_choice(dtype, "dtype", DTYPES, owner=owner)
    torch_dtype = torch.float64 if dtype == "float64" else torch.float32
    iterations = check_int(iterations, "iterations", minimum=1, owner=owner)
    wait = None if wait is None else check_int(wait, "wait", minimum=1, owner=owner)
    y_t = torch.as_tensor(np.asarray(y), dtype=torch_dtype)
    op = prepare_operator(A, torch.device("cpu"), torch_dtype)
    objective = UntrainedObjective(y_t, op, net, stop=stop, noise_std=noise_std, holdout=holdout, net_seed=net_seed)
    res = optimize_latents(objective, objective.prior(), y_t.shape[0], restarts=1, steps=iterations, lr=step_size,
                           optimizer="adam", select="total", patience=wait, row_chunk=chunk, precision="fp32",
                           schedule="constant", memory_format="contiguous", seed=0)
    return res.x.detach().double().numpy()


def _image_shape(image_shape, A, owner):
    shape = tuple(A.in_shape) if image_shape is None else tuple(image_shape)
    if len(shape) != 3:
        raise ValueError(f"The 'image_shape' parameter of {owner} must be given as (C, H, W) when the operator takes "
                         f"flat images (its input shape is {tuple(A.in_shape)}).")
    return shape


def _build_deep_decoder(y, A, image_shape: tuple | None = None, data_range: tuple[float, float] | None = (0.0, 1.0),
                        width: int | None = None, depth: int | None = None, iterations: int = 3000,
                        step_size: float = 0.01, stop: Literal[STOPS] = "auto", noise_std: float | None = None,
                        holdout: float = 0.1, wait: int | None = 500, net_seed: int = 0,
                        dtype: Literal[DTYPES] = "float64", chunk: int | None = None):
    """The ``"deep-decoder"`` entry: its keyword arguments are the method's hyperparameters."""
    owner = "recover(method='deep-decoder')"
    net = DeepDecoder(_image_shape(image_shape, A, owner), width=width, depth=depth, data_range=data_range)
    return solve_untrained(y, A, net, iterations=iterations, step_size=step_size, stop=stop, noise_std=noise_std,
                           holdout=holdout, wait=wait, net_seed=net_seed, dtype=dtype, chunk=chunk, owner=owner)


def _build_dip(y, A, image_shape: tuple | None = None, data_range: tuple[float, float] | None = (0.0, 1.0),
               width: int = 32, depth: int | None = None, iterations: int = 3000, step_size: float = 0.01,
               stop: Literal[STOPS] = "auto", noise_std: float | None = None, holdout: float = 0.1,
               wait: int | None = 500, net_seed: int = 0, dtype: Literal[DTYPES] = "float64",
               chunk: int | None = None):
    """The ``"dip"`` entry: its keyword arguments are the method's hyperparameters."""
    owner = "recover(method='dip')"
    net = SkipNet(_image_shape(image_shape, A, owner), width=width, depth=depth, data_range=data_range)
    return solve_untrained(y, A, net, iterations=iterations, step_size=step_size, stop=stop, noise_std=noise_std,
                           holdout=holdout, wait=wait, net_seed=net_seed, dtype=dtype, chunk=chunk, owner=owner)


register_method(
    "deep-decoder", _build_deep_decoder, kind="sparse",
    summary="untrained Deep Decoder (1x1 convolutions, bilinear upsampling, ReLU, channel normalisation; fewer "
            "weights than pixels) fitted to each problem from a fixed random input, stopped early; no generator",
    reference="Heckel & Hand, ICLR 2019",
    # the contract's 6x6 signals: one upsampling, 16 channels (more weights than pixels), 300 steps reach 2-3%;
    # the rounding of a batched product (1e-16) grows along the fit (to 1e-12 by step 60, 1e-7 by step 300), so
    # a batch is compared with single calls over 60 steps
    contract={"full_measurements": True, "width": 16, "depth": 1, "stop": "none", "iterations": 300,
              "step_size": 0.02, "wait": None, "tol": 0.05, "short": {"iterations": 60}},
)
register_method(
    "dip", _build_dip, kind="sparse",
    summary="untrained Deep Image Prior (a small encoder-decoder with skip connections) fitted to each problem "
            "from a fixed random input, stopped early; no generator",
    reference="Ulyanov, Vedaldi, Lempitsky, CVPR 2018",
    contract={"full_measurements": True, "width": 8, "depth": 1, "stop": "none", "iterations": 100,
              "step_size": 0.01, "wait": None},
)
