r"""Wrappers that turn any PyTorch module into a prior :math:`G(z)` (and a discriminator :math:`D(x)`).

:class:`Generator` records the latent shape, the image shape and the pixel
range, maps the module's output range (e.g. ``tanh`` in :math:`[-1, 1]`) to
the data range (default :math:`[0, 1]`), and runs batched forwards in chunks.
:class:`Discriminator` maps data-range images back to the module's input
range and returns one logit per image.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import time
import warnings

import numpy as np
import torch

from ._solving import CONVS, fuse_batch_norm, replace_gray_deconvs
from ._validation import check_choice, check_int, check_seed, describe, renamed_arguments
from .latent import as_latent_law

__all__ = ["Generator", "Discriminator", "MEMORY_FORMATS", "layout_choices"]

logger = logging.getLogger("ganprior")

#: Layouts of :meth:`Generator.for_solving`.
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")

_TUNE_ROWS = 64  # the most rows a layout is timed at (16 mis-ranked the layouts of a 160-row solve on AVX2)
_MARGIN = 0.25  # another layout replaces the usual one only when it is faster by more than this
_LAYOUT_CHOICES: dict = {}  # (architecture, device, dtype, rows, precision) -> the layout chosen, for the process
_LAYOUT_LOG: list = []


def layout_choices() -> list:
    """The layouts ``Generator.for_solving("auto")`` chose in this process, with their timings.

    Returns
    -------
    list of dict
        One per (architecture, rows, precision, device) timed: ``generator``, ``rows``, ``precision``,
        ``device``, ``choice`` and ``<layout>_ms`` (its fastest forward + backward pass) for every candidate.
    """
    return [dict(entry) for entry in _LAYOUT_LOG]


def _one_pass(G, z, precision) -> float:
    """Seconds of one forward + backward pass of ``z`` through ``G``."""
    autocast = torch.autocast(device_type=G.device.type, dtype=torch.bfloat16) if precision == "bf16" \
        else contextlib.nullcontext()
    if G.device.type == "cuda":
        torch.cuda.synchronize(G.device)
    start = time.perf_counter()
    with autocast:
        out = G(z)
    out.float().square().sum().backward()
    z.grad = None
    if G.device.type == "cuda":
        torch.cuda.synchronize(G.device)
    return time.perf_counter() - start


def _time_layouts(candidates, rows, precision, budget=0.3, most=20) -> dict:
    """Seconds of the fastest forward + backward pass of ``rows`` latents through each candidate network.

    After one warm-up pass each, the candidates take turns (so a change in the machine's load hits them all
    alike), at least twice each and up to ``most`` times while the rounds fit in about ``budget`` seconds.
    """
    nets = dict(candidates)
    first = next(iter(nets.values()))
    z = torch.randn(rows, *first.latent_shape, generator=torch.Generator().manual_seed(0))
    z = z.to(first.device, first.dtype).requires_grad_(True)
    best = {}
    with contextlib.ExitStack() as stack:
        for G in nets.values():
            stack.enter_context(G.frozen())
        one_round = sum(_one_pass(G, z, precision) for G in nets.values())  # warm-up
        rounds = int(min(most, max(2, budget // max(one_round, 1e-9))))
        for _ in range(rounds):
            for name, G in nets.items():
                best[name] = min(best.get(name, float("inf")), _one_pass(G, z, precision))
    return best


def _check_range(value, name):
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"The '{name}' parameter must be a pair (low, high). Got {describe(value)} instead.")
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"The '{name}' parameter must be a finite pair with low < high. Got {value!r} instead.")
    return (lo, hi)


def _check_module(module, name):
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"The '{name}' parameter must be a torch.nn.Module. Got {describe(module)} instead.")


def _module_device_dtype(module):
    for t in list(module.parameters()) + list(module.buffers()):
        if t.is_floating_point():
            return t.device, t.dtype
    return torch.device("cpu"), torch.float32


def _load_state_dict(path, name):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The '{name}' file {path!r} does not exist.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"The file {path!r} does not hold a state_dict (got {type(state).__name__}).")
    return state


def _row_chunk(owner, row_chunk, deprecated):
    """``generate`` / ``sample``'s rows per pass: ``row_chunk`` (or its old name ``chunk_size``, which warns), 256."""
    row_chunk = renamed_arguments(owner, deprecated, {"chunk_size": "row_chunk"}, into={"row_chunk": row_chunk})[
        "row_chunk"]
    return 256 if row_chunk is None else check_int(row_chunk, "row_chunk", minimum=1, owner=owner)


class _Wrapper(torch.nn.Module):
    """Shared device / dtype / frozen-weights behaviour of the two wrappers."""

    @property
    def device(self) -> torch.device:
        """Device of the wrapped module's weights."""
        return _module_device_dtype(self.module)[0]

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the wrapped module's weights."""
        return _module_device_dtype(self.module)[1]

    @contextlib.contextmanager
    def frozen(self):
        """Context in which the module is in eval mode and its weights need no gradient.

        Batch norm then uses its running statistics, so every row of a batch is
        processed independently, and backpropagation reaches only the inputs.
        Both settings are restored on exit.
        """
        was_training = self.module.training
        flags = [(p, p.requires_grad) for p in self.module.parameters()]
        self.module.eval()
        for p, _ in flags:
            p.requires_grad_(False)
        try:
            yield self
        finally:
            for p, flag in flags:
                p.requires_grad_(flag)
            self.module.train(was_training)


class Generator(_Wrapper):
    r"""A pretrained generator :math:`G: \mathbb{R}^k \to \mathbb{R}^n` used as a prior.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a batch of latents ``(B, *latent_shape)`` to images ``(B, *image_shape)``.
    latent_shape : int or tuple of int, optional
        Shape of one latent.  Inferred from the module's ``latent_shape``,
        ``latent_dim`` or ``nz`` attribute when omitted.
    image_shape : tuple of int, optional
        Shape of one image; inferred with one forward pass when omitted.
    output_range : (float, float), optional
        Range of the module's raw output, e.g. ``(-1, 1)`` for ``tanh`` or
        ``(0, 1)`` for a sigmoid; it is mapped linearly onto ``data_range``.
        Default: the module's own ``output_range`` attribute if it declares
        one (the DCGANs of :mod:`ganprior.models` declare ``(-1, 1)``),
        otherwise **no mapping**: the module's output is taken as the image
        as it is.  A bare module is never rescaled silently.
    data_range : (float, float)
        Range of the images the prior produces, default ``(0, 1)``; used only
        when an output range is known.
    name : str, optional
        A label for reprs and model cards.
    latent : {"normal", "uniform", "truncated-normal"} or ganprior.latent.LatentLaw
        The law :math:`p(z)` the generator's latents were drawn from in training (default ``"normal"``,
        :math:`\mathcal{N}(0, I)`, the law of the bundled priors; ``"uniform"`` is
        :math:`\mathrm{Unif}[-1, 1]^k`, the law of many public DCGANs).  Every latent method takes from it
        its starting latents, its penalty :math:`-\log p(z)` and its support (see :mod:`ganprior.latent`).

    Notes
    -----
    The prior is :math:`G(z) = d_0 + (d_1 - d_0)\,(g(z) - o_0) / (o_1 - o_0)`
    where :math:`g` is the module, :math:`[o_0, o_1]` its output range and
    :math:`[d_0, d_1]` the data range (:math:`G = g` when no output range is
    known).  A bundled prior carries its output range in its config, and its
    validated solver settings in :attr:`recipe`.

    Attributes
    ----------
    latent : ganprior.latent.LatentLaw
        The latent law (:meth:`sample_latent` draws from it).
    recipe : dict or None
        The solver recipe of a prior loaded with
        :func:`ganprior.load_prior` (see :func:`ganprior.priors.recipe_for`);
        None for a generator made by hand.  The wrapper puts the module in eval
    mode at construction, so batch norm uses running statistics and rows of a
    batch never interact.

    Examples
    --------
    >>> import torch, ganprior
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh())
    >>> G = ganprior.Generator(net, latent_shape=8, output_range=(-1, 1))   # tanh output -> images in [0, 1]
    >>> G.image_shape, G.n
    ((16,), 16)
    >>> G(torch.zeros(3, 8)).shape
    torch.Size([3, 16])
    """

    recipe = None

    def __init__(self, module, latent_shape=None, *, image_shape=None, output_range=None,
                 data_range=(0.0, 1.0), name=None, latent="normal"):
        super().__init__()
        _check_module(module, "module")
        self.latent = as_latent_law(latent, owner="Generator")
        if latent_shape is None:
            for attr in ("latent_shape", "latent_dim", "nz"):
                if hasattr(module, attr):
                    latent_shape = getattr(module, attr)
                    break
            else:
                raise ValueError(
                    "Cannot infer the latent shape of the generator: give 'latent_shape' (e.g. latent_shape=20) "
                    f"or set a 'latent_shape' attribute on the {type(module).__name__} module."
                )
        if isinstance(latent_shape, int) and not isinstance(latent_shape, bool):
            latent_shape = (latent_shape,)
        try:
            latent_shape = tuple(check_int(s, "latent_shape", minimum=1) for s in latent_shape)
        except TypeError:
            raise TypeError(f"The 'latent_shape' parameter must be an int or tuple of ints. Got {describe(latent_shape)}.")
        self.module = module
        self.latent_shape = latent_shape
        if output_range is None:
            output_range = getattr(module, "output_range", None)
        self.data_range = _check_range(data_range, "data_range")
        self.output_range = self.data_range if output_range is None else _check_range(output_range, "output_range")
        self.name = name
        module.eval()
        device, dtype = _module_device_dtype(module)
        shape_text = ", ".join(map(str, latent_shape))
        try:
            with torch.no_grad():
                out = module(torch.zeros(1, *latent_shape, device=device, dtype=dtype))
        except (RuntimeError, ValueError, TypeError, IndexError) as err:
            raise ValueError(
                f"The generator module failed on a latent of shape (1, {shape_text}); check the 'latent_shape' "
                f"parameter (got {latent_shape}). The module raised: {type(err).__name__}: {err}"
            ) from err
        if not isinstance(out, torch.Tensor) or out.ndim < 2 or out.shape[0] != 1:
            raise ValueError(
                f"The generator module must map latents (B, {shape_text}) to a tensor "
                f"(B, *image_shape). A batch of 1 gave {describe(out)}."
            )
        if image_shape is None:
            image_shape = tuple(out.shape[1:])
        elif int(np.prod(image_shape)) != out[0].numel():
            raise ValueError(f"The 'image_shape' parameter {tuple(image_shape)} does not match the module's output "
                             f"{tuple(out.shape[1:])}.")
        self.image_shape = tuple(int(s) for s in image_shape)
        self.n = int(np.prod(self.image_shape))
        self.k = int(np.prod(self.latent_shape))
        o0, o1 = self.output_range
        d0, d1 = self.data_range
        self._scale = (d1 - d0) / (o1 - o0)
        self._shift = d0 - o0 * self._scale

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``G(z)`` in the data range (differentiable in ``z``).

        Parameters
        ----------
        z : torch.Tensor
            Latents, shape ``(B, *latent_shape)``, on the generator's device.

        Returns
        -------
        torch.Tensor
            Images, shape ``(B, *image_shape)``.
        """
        out = self.module(z)
        if self._scale == 1.0 and self._shift == 0.0:
            return out
        return out * self._scale + self._shift

    def split(self, cut: int):
        r"""Cut the generator into a lower and an upper part: :math:`G(z) = G_{hi}(G_{lo}(z))`.

        For methods that optimise an intermediate activation :math:`h = G_{lo}(z)` instead of
        :math:`z`.  Supported: a module with its own ``split(cut)`` method (the DCGAN and MLP
        generators of :mod:`ganprior.models`) and a :class:`torch.nn.Sequential`.

        Parameters
        ----------
        cut : int
            Where to cut: the lower part is the first ``cut`` layers.

        Returns
        -------
        lower, upper : callable
            ``lower(z)`` gives the activation; ``upper(h)`` gives images in the data range.

        Raises
        ------
        TypeError
            If the module cannot be split (the message says what is supported).
        ValueError
            If ``cut`` is out of range.
        """
        module = self.module
        if hasattr(module, "split") and callable(module.split):
            lower, upper_raw = module.split(cut)
        elif isinstance(module, torch.nn.Sequential):
            if isinstance(cut, bool) or not isinstance(cut, int) or not 1 <= cut < len(module):
                raise ValueError(f"The 'cut' parameter of Generator.split must be an int in [1, {len(module) - 1}] "
                                 f"(the Sequential has {len(module)} layers). Got {cut!r} instead.")
            lower, upper_raw = module[:cut], module[cut:]
        else:
            raise TypeError(f"Generator.split needs a torch.nn.Sequential or a module with a split(cut) method; "
                            f"{type(module).__name__} has neither. Wrap your network's layers in an nn.Sequential "
                            "(or give it a split method) to use intermediate-layer methods.")
        scale, shift = self._scale, self._shift

        def upper(h):
            out = upper_raw(h)
            return out if scale == 1.0 and shift == 0.0 else out * scale + shift

        return lower, upper

    def for_solving(self, memory_format: str = "auto", *, rows: int = 64, precision: str = "fp32") -> "Generator":
        r"""The prior laid out for fast latent solves: the latent engine runs on what this returns.

        With ``channels_last`` it is a frozen copy (eval mode, weights that need no gradient) in which
        every batch norm that follows a convolution or linear layer in a :class:`torch.nn.Sequential` is
        folded into that layer (:func:`torch.nn.utils.fusion.fuse_conv_bn_eval`: in eval mode
        :math:`\mathrm{BN}(Wx + b) = \gamma \odot (Wx + b - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta` is
        itself affine, so the pair is one layer with weights :math:`W' = \mathrm{diag}(\gamma /
        \sqrt{\sigma^2 + \epsilon})\,W`), whose 4-D weights are stored ``channels_last``, and whose
        one-output-channel transposed convolutions (a grayscale image layer) run as a matrix product and
        a col2im (:func:`torch.nn.functional.fold`);
        ``G_fast(z)`` equals ``G(z)`` up to float rounding (about 1e-7 relative in float32).  The copy is
        cached: a second call returns the same object while the weights are unchanged (their in-place
        version counters are part of the key).  With ``contiguous`` it is the generator itself, run as
        given.

        Parameters
        ----------
        memory_format : {"auto", "channels_last", "contiguous"}
            ``"auto"`` (default): for a generator with 2-D convolutions, the fastest of the candidate
            layouts -- the generator as given, the folded ``channels_last`` copy, and that copy with the
            col2im output layer where it has one -- **measured** on this machine: forward and backward
            passes of ``min(rows, 64)`` latents, the candidates in turns after a warm-up (2 to 20 rounds, about
            0.3 s), timed once per (architecture, rows, precision, device) and kept for the process (two
            loads of one prior share the choice, and so their float rounding), as
            ``torch.backends.cudnn.benchmark`` does (a fraction of a second with AVX-512, up to a few seconds for
            a 28x28 DCGAN on a 2-core AVX2 CPU, where timing 16 latents had ranked a layout 2-4x slower at 160
            rows first; logged on the ``ganprior`` logger; :func:`layout_choices` lists the choices made).  The
            layout measured fastest on our machines (the col2im copy on the CPU, the module as given on CUDA)
            is kept unless another is faster by more than 25% (the best pass of each), so timing noise
            does not flip the choice (and the result's float rounding) between runs.  A generator without
            convolutions runs as given.  ``"channels_last"`` (the col2im copy) and ``"contiguous"`` force a
            layout: what a study that must reproduce bitwise on another machine gives.
        rows : int
            Rows (problems x restarts) the solve runs at once: the batch size the layouts are timed at.
        precision : {"fp32", "bf16"}
            The precision of the solve (bf16: timed under bfloat16 autocast).

        Returns
        -------
        Generator
            A wrapper with the same latent shape, image shape, ranges and name.
        """
        check_choice(memory_format, "memory_format", MEMORY_FORMATS, owner="Generator.for_solving")
        if memory_format == "contiguous":
            return self
        if memory_format == "auto":
            if not any(isinstance(m, CONVS) for m in self.module.modules()):
                return self
            return self._tuned_layout(check_int(rows, "rows", minimum=1, owner="Generator.for_solving"),
                                      check_choice(precision, "precision", ("fp32", "bf16"),
                                                   owner="Generator.for_solving"))
        return self._solving_copy(col2im=True)

    def _weights_key(self):
        params = list(self.module.parameters()) + list(self.module.buffers())
        return (self.device, self.dtype, self._scale, self._shift, tuple((id(p), p._version) for p in params))

    def _solving_copy(self, col2im: bool) -> "Generator":
        """The folded ``channels_last`` copy (with the col2im output layer or not), cached per weights."""
        key = (col2im, self._weights_key())
        copies = self.__dict__.setdefault("_for_solving", {})
        if key in copies:
            return copies[key]
        was_training = self.module.training
        self.module.eval()
        try:
            module = copy.deepcopy(self.module)
        except (TypeError, RuntimeError, copy.Error) as err:  # a module that cannot be copied runs as it is
            warnings.warn(f"Generator.for_solving could not copy the {type(self.module).__name__} module "
                          f"({type(err).__name__}: {err}); the solve runs on the module as it is.", stacklevel=3)
            return self
        finally:
            self.module.train(was_training)
        for p in module.parameters():
            p.requires_grad_(False)
        fuse_batch_norm(module)
        if col2im:
            replace_gray_deconvs(module)
        module = module.to(memory_format=torch.channels_last)
        fast = copy.copy(self)  # same metadata (and subclass), a shallow copy of its attributes; its own module
        fast._modules = dict(self._modules)
        fast._modules["module"] = module
        fast.__dict__.pop("_for_solving", None)
        for stale in [k for k in copies if k[1] != key[1]]:  # copies of older weights
            del copies[stale]
        copies[key] = fast
        return fast

    def _tuned_layout(self, rows: int, precision: str) -> "Generator":
        """The fastest candidate layout for (architecture, rows, precision, device), timed once per process."""
        rows = min(rows, _TUNE_ROWS)
        # the architecture, not the weights' values or identity, sets the speed: two loads of one prior (or two
        # priors of one architecture) share the choice, so they also share its float rounding within a process
        key = (type(self.module).__module__, type(self.module).__qualname__, self.device, self.dtype,
               tuple((name, tuple(p.shape)) for name, p in self.module.named_parameters()), rows, precision)
        choice = _LAYOUT_CHOICES.get(key)
        if choice is None:
            candidates = {"contiguous": lambda: self, "channels_last": lambda: self._solving_copy(col2im=False)}
            gray = any(isinstance(c, torch.nn.ConvTranspose2d) and c.out_channels == 1 for c in self.module.modules())
            if gray:
                candidates["channels_last+col2im"] = lambda: self._solving_copy(col2im=True)
            times = _time_layouts({name: build() for name, build in candidates.items()}, rows, precision)
            # the layout measured best on the machines we had (benchmarks/results/speed.csv) stays unless another
            # is clearly faster here: a choice that flipped on timing noise would change results by float rounding
            usual = "contiguous" if self.device.type != "cpu" else "channels_last+col2im" if gray else "channels_last"
            fastest = min(times, key=times.get)
            choice = usual if times[usual] <= (1 + _MARGIN) * times[fastest] else fastest
            _LAYOUT_CHOICES[key] = choice
            _LAYOUT_LOG.append({"generator": self.name or type(self.module).__name__, "rows": rows,
                                "precision": precision, "device": str(self.device), "choice": choice,
                                **{f"{name}_ms": 1e3 * t for name, t in times.items()}})
            logger.info("Generator.for_solving: layout for %s (%d rows, %s, %s): %s -> %s",
                        self.name or type(self.module).__name__, rows, precision, self.device,
                        ", ".join(f"{n} {1e3 * t:.1f} ms" for n, t in times.items()), choice)
        if choice == "contiguous":
            return self
        return self._solving_copy(col2im=choice == "channels_last+col2im")

    def sample_latent(self, num: int, seed=None) -> torch.Tensor:
        """Draw ``num`` latents from the generator's latent law :attr:`latent` on its device.

        For the default normal law this is :math:`\\mathcal{N}(0, I)`, drawn as ``torch.randn`` draws it.

        Parameters
        ----------
        num : int
            Number of latents, >= 1.
        seed : None, int or torch.Generator
            Seed of the draw (made on the CPU in float32, then moved), so a seed
            gives the same latents on every device.

        Returns
        -------
        torch.Tensor
            Shape ``(num, *latent_shape)``, in the generator's dtype.
        """
        num = check_int(num, "num", minimum=1, owner="sample_latent")
        gen = check_seed(seed)
        z = self.latent.sample((num, *self.latent_shape), gen)
        return z.to(device=self.device, dtype=self.dtype)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, row_chunk: int | None = None, **deprecated) -> torch.Tensor:
        """``G(z)`` without gradients, in chunks of ``row_chunk`` rows to bound memory.

        Parameters
        ----------
        z : torch.Tensor
            Latents, shape ``(B, *latent_shape)``.
        row_chunk : int, optional
            Rows (latents) per forward pass (default 256).
        **deprecated
            The old name ``chunk_size`` (now ``row_chunk``): it works, with a FutureWarning the first time.

        Returns
        -------
        torch.Tensor
            Images ``(B, *image_shape)``, computed in eval mode (see :meth:`frozen`).
        """
        row_chunk = _row_chunk("generate", row_chunk, deprecated)
        with self.frozen():
            return torch.cat([self(c) for c in z.split(row_chunk)])

    def sample(self, num: int, seed=None, row_chunk: int | None = None, **deprecated) -> torch.Tensor:
        """``num`` random images ``G(z)``, :math:`z` drawn from the latent law (see :meth:`sample_latent`).

        Parameters
        ----------
        num : int
            Number of images.
        seed : None, int or torch.Generator
            Seed of the latents (see :meth:`sample_latent`).
        row_chunk : int, optional
            Rows per forward pass (see :meth:`generate`).
        **deprecated
            The old name ``chunk_size`` (now ``row_chunk``): it works, with a FutureWarning the first time.

        Returns
        -------
        torch.Tensor
            Images ``(num, *image_shape)`` in the data range, without gradients.
        """
        row_chunk = _row_chunk("sample", row_chunk, deprecated)
        return self.generate(self.sample_latent(num, seed), row_chunk)

    @classmethod
    def from_checkpoint(cls, path, module, **kwargs) -> "Generator":
        """Load a ``state_dict`` saved with :func:`torch.save` into ``module`` and wrap it.

        Parameters
        ----------
        path : str or os.PathLike
            File holding the module's ``state_dict``, loaded with
            ``torch.load(..., weights_only=True)`` (no arbitrary unpickling).
        module : torch.nn.Module
            An instance of the architecture the weights belong to.
        **kwargs
            Passed to :class:`Generator`.

        Returns
        -------
        Generator
        """
        _check_module(module, "module")
        module.load_state_dict(_load_state_dict(path, "path"))
        return cls(module, **kwargs)

    def extra_repr(self) -> str:
        law = "" if self.latent.name == "normal" else f", latent={self.latent.spec()!r}"
        return (f"name={self.name!r}, latent_shape={self.latent_shape}, image_shape={self.image_shape}, "
                f"data_range={self.data_range}{law}")


class Discriminator(_Wrapper):
    r"""A discriminator :math:`D(x) = \sigma(\ell(x))` on data-range images.

    Parameters
    ----------
    module : torch.nn.Module
        Maps images ``(B, *image_shape)`` in ``input_range`` to logits ``(B,)``
        (or ``(B, 1)``, flattened).
    input_range : (float, float)
        Pixel range the module was trained on, default ``(-1, 1)``.
    data_range : (float, float)
        Pixel range of the images given to :meth:`forward`, default ``(0, 1)``.

    Notes
    -----
    :meth:`forward` returns the logit :math:`\ell(x)`; the probability that
    :math:`x` is real is :math:`\sigma(\ell(x))`, and
    :math:`\log(1 - D(x)) = -\mathrm{softplus}(\ell(x))`,
    :math:`-\log D(x) = \mathrm{softplus}(-\ell(x))`, both computed stably.
    """

    def __init__(self, module, *, input_range=(-1.0, 1.0), data_range=(0.0, 1.0)):
        super().__init__()
        _check_module(module, "module")
        self.module = module
        self.input_range = _check_range(input_range, "input_range")
        self.data_range = _check_range(data_range, "data_range")
        i0, i1 = self.input_range
        d0, d1 = self.data_range
        self._scale = (i1 - i0) / (d1 - d0)
        self._shift = i0 - d0 * self._scale
        module.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of data-range images.

        Parameters
        ----------
        x : torch.Tensor
            Images ``(B, *image_shape)`` in the data range.

        Returns
        -------
        torch.Tensor
            Logits :math:`\\ell(x)`, shape ``(B,)``.
        """
        out = self.module(x * self._scale + self._shift)
        return out.reshape(out.shape[0])

    @classmethod
    def from_checkpoint(cls, path, module, **kwargs) -> "Discriminator":
        """Load a ``state_dict`` (``weights_only=True``) into ``module`` and wrap it.

        Parameters
        ----------
        path : str or os.PathLike
            File holding the module's ``state_dict``.
        module : torch.nn.Module
            An instance of the architecture the weights belong to.
        **kwargs
            Passed to :class:`Discriminator` (``input_range``, ``data_range``).

        Returns
        -------
        Discriminator
        """
        _check_module(module, "module")
        module.load_state_dict(_load_state_dict(path, "path"))
        return cls(module, **kwargs)
