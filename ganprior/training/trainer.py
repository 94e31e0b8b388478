r"""GAN trainer: one process, or DistributedDataParallel under ``torchrun``.

One training *step* is ``k`` discriminator updates (each on a fresh real
minibatch and fresh noise) followed by one generator update, as in Goodfellow
et al. (2014); the last discriminator update's fake batch is reused for the
generator update (as in the reference DCGAN loop).  Real images in [0, 1] are
mapped to the models' [-1, 1] range.

Determinism and resuming
------------------------
Every random draw comes from one CPU generator seeded from ``seed`` (the noise
stream), and the data order of epoch ``e`` is a permutation drawn from a
generator seeded with ``(seed, e)``, so a checkpoint (weights, optimizers,
step, epoch position, RNG states) resumes *exactly*: training ``N`` steps,
saving and resuming for ``N`` more gives bitwise the weights of ``2N`` steps in
one go (CPU).

Data parallel
-------------
Under ``torchrun`` (after ``torch.distributed.init_process_group``) the models
are wrapped in DistributedDataParallel.  ``batch_size`` is the *global* batch:
every rank draws the same global permutation and the same global noise and
takes its ``batch_size / world_size`` slice, so a run's samples do not depend
on the number of processes; for models without batch norm the averaged
gradients equal the single-process gradients of the same global batch (up to
floating-point summation order).  Batch-norm statistics are per rank, and
running statistics differ between ranks, so checkpoints, logs, sample grids and
the exported weights are written by rank 0 only.

Weight averaging
----------------
With ``ema_decay`` the trainer also keeps an exponential moving average (EMA) of
the generator's parameters, updated after every generator step from the
(synchronised) weights, so every rank holds the same average; it is
checkpointed under ``"generator_ema"`` and exported as the prior.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._validation import check_float, check_int, describe
from ..latent import NormalLaw, as_latent_law, latent_law_of
from ._io import (
    CHECKPOINT,
    EMA_KEY,
    atomic_write_json,
    load_checksummed,
    save_checksummed,
    save_weights,
)
from ._loop import TrainingLoop, derived_seed
from .losses import GANLoss, get_loss

__all__ = ["Trainer", "load_checkpoint"]

CHECKPOINT_FORMAT = "ganprior-checkpoint/2"
# what a checkpoint must hold to resume from
_REQUIRED = ("generator", "discriminator", "opt_g", "opt_d", "step", "epoch", "batch_in_epoch", "rng")
# settings a resume must keep unless allow_changed_config; the others (device, world_size,
# channels_last) only say how the run executes and may change freely
_EXECUTION_SETTINGS = ("device", "world_size", "channels_last")


def _check_checkpoint_keys(state, source: str) -> None:
    if not isinstance(state, dict) or not all(k in state for k in _REQUIRED):
        if isinstance(state, dict):
            keys = sorted(map(str, state))
            got = f"a dict with the keys {keys[:8]}{' ...' if len(keys) > 8 else ''}"
        else:
            got = describe(state)
        raise ValueError(
            f"{source[:1].upper()}{source[1:]} is not a trainer checkpoint: a checkpoint (written by "
            f"Trainer.save_checkpoint) is a dict holding {', '.join(_REQUIRED)}; got {got}. A model state_dict "
            "such as generator.pt holds only weights and cannot be resumed from: resume from OUT/checkpoint.pt, "
            "or load the weights with model.load_state_dict.")


def load_checkpoint(path) -> dict:
    """Load and verify a trainer checkpoint (a :meth:`Trainer.state_dict`).

    The file is read with ``torch.load(..., weights_only=True)`` (no code runs), must hold
    everything a resume needs, and its SHA-256 checksum (written by
    :meth:`Trainer.save_checkpoint`) must match its content.

    Parameters
    ----------
    path : str or os.PathLike
        A ``checkpoint.pt`` written by :meth:`Trainer.save_checkpoint`.

    Returns
    -------
    dict
        The state, without the checksum.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be read, is not a trainer checkpoint (e.g. a plain model
        ``state_dict``), or its checksum does not match (a corrupted file); the message
        names the file.

    Warns
    -----
    UserWarning
        For a checkpoint of an earlier version, which carries no checksum.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The 'path' parameter of load_checkpoint must be a path. Got {describe(path)} instead.")
    return load_checksummed(path, _check_checkpoint_keys, require_checksum=False)


def _check_ema_decay(value) -> float | None:
    """``ema_decay`` as a float in (0, 1), or None for off (None or 0)."""
    if value is None:
        return None
    value = check_float(value, "ema_decay", owner="Trainer")
    if value == 0.0:
        return None
    if not 0.0 < value < 1.0:
        raise ValueError(f"The 'ema_decay' parameter of Trainer must lie in [0, 1) (0 or None: no average; "
                         f"e.g. 0.999). Got {value} instead.")
    return value


def _dist():
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class Trainer(TrainingLoop):
    r"""Train a generator / discriminator pair.

    Parameters
    ----------
    generator, discriminator : torch.nn.Module
        Generator ``(B, latent_dim) -> (B, C, H, W)`` in [-1, 1] with a ``latent_shape``
        attribute; discriminator ``(B, C, H, W) -> (B,)`` logits.  Models from
        :mod:`ganprior.models` also carry a ``config`` that is written to ``config.json``.
    data : torch.Tensor or (images, labels)
        Images ``(N, C, H, W)``, float in [0, 1] or uint8 in [0, 255], kept on the CPU.
    loss : str
        "non-saturating" (default), "minimax", "lsgan", "wgan-gp" or "hinge"; or a :class:`GANLoss`.
    loss_params : dict, optional
        Extra loss parameters, e.g. ``{"a": -1, "b": 1, "c": 0}`` (lsgan), ``{"gp_weight": 10}``.
    k : int
        Discriminator updates per generator update.
    smoothing : float
        One-sided label smoothing kappa (real target 1 - kappa), minimax / non-saturating only.
    lr, betas : float, (float, float)
        Adam settings of both players (default 2e-4 and (0.5, 0.999)).
    lr_d : float, optional
        The discriminator's learning rate (default: ``lr``).
    batch_size : int
        Global minibatch size (divided across ranks under torchrun).
    seed : int
        Seeds the noise stream, the fixed sample noise and the data order.
    device : str or torch.device
    precision : {"fp32", "bf16", "auto"}
        ``"bf16"``: bfloat16 autocast for the forward passes (losses in float32), as
        ``precision`` means in :func:`ganprior.recover` and :func:`ganprior.inpaint`; ``"auto"``: bf16 where
        ``device`` computes it natively (:func:`ganprior.hardware.native_bf16`), else fp32, decided once here
        (the checkpoint records what ran).  Default fp32: a training run gives the same weights on every
        machine.
    bf16 : bool, optional
        Deprecated spelling of ``precision="bf16"`` / ``"fp32"``.
    channels_last : bool
        Use the channels-last memory format (faster convolutions on CPU).
    out_dir : path, optional
        Where ``checkpoint.pt``, ``log.csv``, ``samples/`` and the export go; None writes nothing.
    checkpoint_every, sample_every : int
        Intervals in steps (0 = only at the end of :meth:`fit`).
    progress : bool
        Show a tqdm progress bar.
    n_samples : int
        Size of the fixed-noise sample grid.
    data_name, command : str, optional
        Recorded in ``config.json``.
    allow_changed_config : bool
        Let a resume continue from a checkpoint written with other hyperparameters (loss and
        its parameters, ``k``, ``lr``, ``lr_d``, ``betas``, ``batch_size``, ``seed``, ``bf16``,
        ``ema_decay``, the data's name and size); the new values take effect and ``config.json`` records
        them and the change.  By default such a resume raises a ValueError listing the
        differences.  Device, number of processes and memory format may always change.
    latent : {"normal", "uniform", "truncated-normal"} or ganprior.latent.LatentLaw, optional
        The law the noise :math:`z` is drawn from (:mod:`ganprior.latent`).  Default: the generator's own
        ``latent`` law where it has one (a :class:`ganprior.Generator`), else ``"normal"``,
        :math:`\mathcal{N}(0, I)`.  Recorded in the checkpoint and in ``config.json`` (``"latent"``), so
        :func:`ganprior.load_prior` gives the prior this law; a run-defining setting.
    ema_decay : float, optional
        Keep an exponential moving average of the generator's weights with this decay
        :math:`\beta \in (0, 1)`, e.g. 0.999: after every generator step each parameter's
        average becomes :math:`\beta\,\bar w + (1 - \beta)\,w`, starting from the initial
        weights; buffers (batch-norm running statistics) are copied from the live generator.
        The average is :attr:`generator_ema`, is checkpointed under ``"generator_ema"`` and is
        what :meth:`export` writes as ``generator.pt``.  None or 0 (default): no average.  A
        run-defining hyperparameter: a resume with another value is refused unless
        ``allow_changed_config`` (then a new decay applies from the resumed step; an average
        switched on at a resume starts from the resumed generator's weights).

    Attributes
    ----------
    generator_ema : torch.nn.Module or None
        The averaged generator (a copy of ``generator``, in eval mode, without gradients), or
        None when ``ema_decay`` is off.

    Raises
    ------
    TypeError, ValueError
        On an invalid argument, before any work.
    """

    def __init__(self, generator, discriminator, data, *, loss="non-saturating", loss_params=None, k=1,
                 smoothing=0.0, lr=2e-4, lr_d=None, betas=(0.5, 0.999), batch_size=64, seed=0, device="cpu",
                 precision="fp32", bf16=None, channels_last=False, out_dir=None, checkpoint_every=500, sample_every=500,
                 progress=False, n_samples=64, data_name=None, command=None, allow_changed_config=False,
                 ema_decay=None, latent=None):
        for name, m in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(m, nn.Module):
                raise TypeError(f"The '{name}' parameter of Trainer must be a torch.nn.Module. "
                                f"Got {describe(m)} instead.")
        if not hasattr(generator, "latent_shape"):
            raise ValueError("The 'generator' parameter of Trainer must have a 'latent_shape' attribute "
                             "(e.g. (latent_dim,)).")
        if isinstance(data, (tuple, list)):
            data = data[0]
        if not isinstance(data, torch.Tensor) or data.dim() != 4:
            raise ValueError(f"The 'data' parameter of Trainer must be an image tensor (N, C, H, W). "
                             f"Got {describe(data)} instead.")
        self.k = check_int(k, "k", minimum=1, owner="Trainer")
        self.batch_size = check_int(batch_size, "batch_size", minimum=1, owner="Trainer")
        self.seed = check_int(seed, "seed", minimum=0, owner="Trainer")
        self.lr = check_float(lr, "lr", minimum=0.0, strict=True, owner="Trainer")
        self.lr_d = self.lr if lr_d is None else check_float(lr_d, "lr_d", minimum=0.0, strict=True, owner="Trainer")
        try:
            b1, b2 = (float(b) for b in betas)
        except (TypeError, ValueError):
            raise TypeError(f"The 'betas' parameter of Trainer must be a pair of floats. Got {describe(betas)} instead.")
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"The 'betas' parameter of Trainer must lie in [0, 1). Got {betas!r} instead.")
        self.betas = (b1, b2)
        if isinstance(loss, GANLoss):
            self.loss = loss
        else:
            params = dict(loss_params or {})
            if smoothing:
                params["smoothing"] = smoothing
            self.loss = get_loss(loss, **params)
        self.smoothing = float(self.loss.params.get("smoothing", 0.0))
        self.checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=0, owner="Trainer")
        self.sample_every = check_int(sample_every, "sample_every", minimum=0, owner="Trainer")
        self.n_samples = check_int(n_samples, "n_samples", minimum=1, owner="Trainer")
        if bf16 is not None:
            import warnings

            if precision != "fp32" and bool(bf16) != (precision == "bf16"):
                raise ValueError(f"Trainer got precision={precision!r} and bf16={bf16!r}; give precision only.")
            warnings.warn("Trainer(bf16=...) is deprecated: use precision='bf16' or 'fp32'.", DeprecationWarning,
                          stacklevel=2)
            precision = "bf16" if bf16 else "fp32"
        from .._validation import check_choice

        from ..hardware import PRECISIONS, resolve_precision

        check_choice(precision, "precision", PRECISIONS, owner="Trainer")
        self.precision = resolve_precision(precision, device, owner="Trainer")[0]  # "auto": bf16 where native
        self.bf16 = self.precision == "bf16"
        self.channels_last, self.progress = bool(channels_last), bool(progress)
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.data_name, self.command = data_name, command
        if not isinstance(allow_changed_config, (bool, np.bool_)):
            raise TypeError(f"The 'allow_changed_config' parameter of Trainer must be a bool. "
                            f"Got {describe(allow_changed_config)} instead.")
        self.allow_changed_config = bool(allow_changed_config)
        self.ema_decay = _check_ema_decay(ema_decay)
        self.latent = latent_law_of(generator) if latent is None else as_latent_law(latent, owner="Trainer")
        self.config_changes: list[dict] = []
        self.device = torch.device(device)

        self.rank, self.world_size = _dist()
        if self.batch_size % self.world_size:
            raise ValueError(f"The 'batch_size' parameter of Trainer (the global batch) must be divisible by the "
                             f"number of processes ({self.world_size}). Got {self.batch_size} instead.")
        self.local_batch = self.batch_size // self.world_size
        self.data = data
        self.n_data = data.shape[0]
        self.batches_per_epoch = self.n_data // self.batch_size
        if self.batches_per_epoch < 1:
            raise ValueError(f"The 'batch_size' parameter of Trainer ({self.batch_size}) exceeds the number of "
                             f"images ({self.n_data}).")

        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.generator = generator.to(self.device, memory_format=fmt).train()
        self.discriminator = discriminator.to(self.device, memory_format=fmt).train()
        self.generator_ema = self._new_ema() if self.ema_decay is not None else None
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.lr, betas=self.betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.lr_d, betas=self.betas)
        self._G, self._D = self.generator, self.discriminator
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self._G = DDP(self.generator, device_ids=ids, forward_sync_buffers=True)
            self._D = DDP(self.discriminator, device_ids=ids, forward_sync_buffers=True)

        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.wall_time = 0.0
        self._noise = torch.Generator().manual_seed(derived_seed(self.seed, 1))
        self._perm_epoch, self._perm = None, None
        fixed = torch.Generator().manual_seed(derived_seed(self.seed, 2))
        self.fixed_noise = self._latents(self.n_samples, fixed)
        self.history: list[dict] = []

    # ------------------------------------------------------------------ data and noise
    def _next_batch(self) -> torch.Tensor:
        x = self._next_images().mul_(2.0).sub_(1.0).to(self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _local(self, t: torch.Tensor) -> torch.Tensor:
        """This rank's slice of a global draw, moved to the device."""
        return t[self.rank * self.local_batch:(self.rank + 1) * self.local_batch].to(self.device)

    def _latents(self, num: int, gen: torch.Generator) -> torch.Tensor:
        """``num`` latents from the training law (the normal law: ``torch.randn`` as always)."""
        if type(self.latent) is NormalLaw:
            return torch.randn(num, *self.generator.latent_shape, generator=gen)
        return self.latent.sample((num, *self.generator.latent_shape), gen)

    def _draw_noise(self) -> torch.Tensor:
        return self._local(self._latents(self.batch_size, self._noise))

    def _autocast(self):
        if self.bf16:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _check(self, value: torch.Tensor, what: str, *extra: torch.Tensor) -> list[float]:
        """Global means of a scalar loss (and ``extra`` scalars); FloatingPointError on a NaN / Inf loss.

        Under torchrun the values are all-reduced first, so every rank raises together.
        """
        v = torch.stack([value.detach().float().reshape(())] + [e.detach().float().reshape(()) for e in extra])
        if self.world_size > 1:
            v = v.to(self.device)
            torch.distributed.all_reduce(v)
            v /= self.world_size
        vals = v.tolist()
        out = vals[0]
        if not math.isfinite(out):
            ck = self.out_dir / CHECKPOINT if self.out_dir is not None else None
            where = (f"; the last good checkpoint {str(ck)!r} is left untouched"
                     if ck is not None and ck.is_file() else "")
            raise FloatingPointError(f"Non-finite {what} loss ({out}) at step {self.step + 1} "
                                     f"(epoch {self.epoch}){where}. Lower the learning rate or change the loss.")
        return vals

    def _logits(self, out, n: int) -> torch.Tensor:
        """The discriminator's output for ``n`` images as ``(n,)`` float logits; a clear error otherwise."""
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"The discriminator must return a tensor of logits, shape (B,). "
                            f"It returned {describe(out)}.")
        if tuple(out.shape) not in ((n,), (n, 1)):
            raise ValueError(f"The discriminator must return one logit per image, shape (B,) or (B, 1). For a "
                             f"batch of {n} images it returned shape {tuple(out.shape)}.")
        return out.reshape(n).float()

    def _check_fake(self, fake) -> None:
        if not isinstance(fake, torch.Tensor) or tuple(fake.shape[1:]) != tuple(self.data.shape[1:]):
            got = f"shape {tuple(fake.shape)}" if isinstance(fake, torch.Tensor) else describe(fake)
            raise ValueError(f"The generator must make images of the data's shape (B, "
                             f"{', '.join(map(str, self.data.shape[1:]))}). It returned {got}.")

    # ------------------------------------------------------------------ one step
    def train_step(self) -> dict:
        """One step: ``k`` discriminator updates then one generator update.

        Returns the global means of the last D loss, the G loss, and the last D update's mean
        logits on the real (``d_real``) and fake (``d_fake``) batches.
        """
        G, D, loss = self._G, self._D, self.loss
        for i in range(self.k):
            real = self._next_batch()
            z = self._draw_noise()
            eps = self._local(torch.rand(self.batch_size, generator=self._noise)) if loss.needs_penalty else None
            last = i == self.k - 1
            with self._autocast():
                if last:
                    fake = G(z)
                else:
                    with torch.no_grad():
                        fake = self.generator(z)
                self._check_fake(fake)
                d_real = self._logits(D(real), real.shape[0])
                d_fake = self._logits(D(fake.detach()), fake.shape[0])
            d_loss = loss.d_loss(d_real, d_fake)
            if loss.needs_penalty:
                d_loss = d_loss + loss.penalty(self.discriminator, real, fake.detach().float(), eps=eps)
            d_value, d_real_mean, d_fake_mean = self._check(d_loss, "discriminator", d_real.mean(), d_fake.mean())
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
        sync = D.no_sync() if self.world_size > 1 else contextlib.nullcontext()
        with sync:
            with self._autocast():
                g_logits = self._logits(D(fake), fake.shape[0])
            g_loss = loss.g_loss(g_logits)
            (g_value,) = self._check(g_loss, "generator")
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
        self.opt_g.step()
        if self.generator_ema is not None:
            self._update_ema()
        self.step += 1
        return {"d_loss": d_value, "g_loss": g_value, "d_real": d_real_mean, "d_fake": d_fake_mean}

    # ------------------------------------------------------------------ weight average
    def _new_ema(self) -> nn.Module:
        """A frozen copy of the live generator (weights, buffers, memory format), in eval mode."""
        ema = copy.deepcopy(self.generator).eval()
        ema.requires_grad_(False)
        return ema

    @torch.no_grad()
    def _update_ema(self) -> None:
        """``ema = decay * ema + (1 - decay) * w`` for every parameter; buffers copied from the live generator.

        Computed from this rank's parameters after the optimiser step; under DDP they are equal
        on every rank (same start, all-reduced gradients), so the averages are equal too.
        """
        decay = self.ema_decay
        live = dict(self.generator.named_parameters())
        for name, avg in self.generator_ema.named_parameters():
            avg.mul_(decay).add_(live[name], alpha=1.0 - decay)
        live = dict(self.generator.named_buffers())
        for name, buf in self.generator_ema.named_buffers():
            buf.copy_(live[name])

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Everything needed to resume exactly; loadable with ``weights_only=True``.

        Holds the averaged generator under ``"generator_ema"`` when ``ema_decay`` is on.
        """
        return {
            "generator": self.generator.state_dict(),
            **({EMA_KEY: self.generator_ema.state_dict()} if self.generator_ema is not None else {}),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "wall_time": self.wall_time,
            "rng": {"noise": self._noise.get_state(), "torch": torch.get_rng_state(),
                    "data_seed": derived_seed(self.seed, 3)},
            "settings": self.settings(),
            "data": self._data_info(),
            "config_changes": [dict(c) for c in self.config_changes],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (weights, optimizers, position, RNG states).

        The hyperparameters the state was trained with must equal this Trainer's, unless
        ``allow_changed_config`` is set: then this Trainer's values (learning rates, betas,
        loss, batch size, seed, ...) take effect from here on.

        Parameters
        ----------
        state : dict
            From :meth:`state_dict` or :func:`load_checkpoint`.

        Raises
        ------
        ValueError
            If ``state`` is not a trainer state, holds models of another architecture, or was
            trained with other hyperparameters and ``allow_changed_config`` is false.
        """
        self._restore(state, "the given state")

    def _data_info(self) -> dict:
        return {"name": self.data_name, "n_images": int(self.n_data)}

    def _changed_settings(self, state: dict) -> dict:
        """``{key: (value in the state, value now)}`` for every run-defining setting that differs."""
        now = dict(self.settings(), data=self._data_info())
        saved = dict(state.get("settings") or {})
        if "data" in state:
            saved["data"] = state["data"]
        changed = {}
        for key, old in saved.items():
            if key in _EXECUTION_SETTINGS or key not in now:
                continue
            new = now[key]
            if isinstance(old, tuple):
                old = list(old)
            if old != new:
                changed[key] = (old, new)
        return changed

    def _restore(self, state, source: str) -> None:
        _check_checkpoint_keys(state, source)
        changed = self._changed_settings(state)
        if changed and not self.allow_changed_config:
            lines = "; ".join(f"{k}: {old!r} in the checkpoint, {new!r} now" for k, (old, new) in changed.items())
            raise ValueError(
                f"Cannot resume from {source}: it was trained with other hyperparameters ({lines}). Resume with "
                "the same values, or allow the change explicitly (Trainer(..., allow_changed_config=True), or "
                "--allow-changed-config on the command line).")
        for name in ("generator", "discriminator"):
            try:
                getattr(self, name).load_state_dict(state[name])
            except RuntimeError as e:
                raise ValueError(f"{source[:1].upper()}{source[1:]} holds a {name} that does not fit this "
                                 f"Trainer's {name} (another architecture?): {str(e).splitlines()[0]} Resume "
                                 "with the model options it was trained with.") from e
        if self.generator_ema is not None:
            if state.get(EMA_KEY) is not None:
                try:
                    self.generator_ema.load_state_dict(state[EMA_KEY])
                except RuntimeError as e:
                    raise ValueError(f"{source[:1].upper()}{source[1:]} holds a {EMA_KEY} that does not fit this "
                                     f"Trainer's generator: {str(e).splitlines()[0]}") from e
            else:  # EMA switched on at this resume (an allowed change, or a checkpoint of an earlier version)
                self.generator_ema.load_state_dict(self.generator.state_dict())
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        # the optimisers' hyperparameters are this Trainer's (equal to the saved ones unless a change was allowed)
        for opt, lr in ((self.opt_g, self.lr), (self.opt_d, self.lr_d)):
            for group in opt.param_groups:
                group["lr"], group["betas"] = lr, self.betas
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        self.batch_in_epoch, self.wall_time = int(state["batch_in_epoch"]), float(state.get("wall_time", 0.0))
        old_batch = (state.get("settings") or {}).get("batch_size", self.batch_size)
        if old_batch != self.batch_size:  # keep the position in images, not in batches
            self.batch_in_epoch = self.batch_in_epoch * int(old_batch) // self.batch_size
        if "seed" not in changed:  # a changed seed restarts the noise stream from the new seed
            self._noise.set_state(state["rng"]["noise"])
        torch.set_rng_state(state["rng"]["torch"])
        self._perm_epoch = None
        self.config_changes = [dict(c) for c in state.get("config_changes", [])]
        if changed:
            self.config_changes.append({"step": self.step, "changed": {
                k: {"checkpoint": old, "now": new} for k, (old, new) in changed.items()}})
            warnings.warn(f"Resuming at step {self.step} with changed hyperparameters: "
                          + "; ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items()),
                          UserWarning, stacklevel=3)

    def settings(self) -> dict:
        """JSON-able hyperparameters (recorded in checkpoints and ``config.json``)."""
        return {"loss": self.loss.name, "loss_params": dict(self.loss.params), "k": self.k, "lr": self.lr,
                "lr_d": self.lr_d, "betas": list(self.betas), "batch_size": self.batch_size, "seed": self.seed,
                "bf16": self.bf16, "precision": self.precision, "channels_last": self.channels_last,
                "world_size": self.world_size, "device": str(self.device), "ema_decay": self.ema_decay,
                "latent": self.latent.spec()}

    def save_checkpoint(self, path=None) -> Path | None:
        """Write the checkpoint atomically (rank 0 only); return its path (None on other ranks).

        Parameters
        ----------
        path : str or os.PathLike, optional
            Where to write (default ``out_dir/checkpoint.pt``).
        """
        if self.rank != 0:
            return None
        path = Path(path) if path is not None else self._out(CHECKPOINT)
        return save_checksummed(self.state_dict(), path, CHECKPOINT_FORMAT)

    def load_checkpoint(self, path=None) -> None:
        """Resume from a checkpoint, verified by :func:`load_checkpoint`.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Default ``out_dir/checkpoint.pt``.

        Raises
        ------
        FileNotFoundError, ValueError
            As :func:`load_checkpoint` and :meth:`load_state_dict`.
        """
        path = Path(path) if path is not None else self._out(CHECKPOINT)
        self._restore(load_checkpoint(path), f"the checkpoint {str(path)!r}")

    # ------------------------------------------------------------------ outputs
    @torch.no_grad()
    def sample(self, n: int | None = None, *, ema: bool | None = None) -> torch.Tensor:
        """Images ``(n, C, H, W)`` in [0, 1] from the fixed noise, generator in eval mode.

        Parameters
        ----------
        n : int, optional
            How many of the ``n_samples`` fixed latents to use (default all).
        ema : bool, optional
            Draw from the averaged generator :attr:`generator_ema` (True) or the live one
            (False).  Default: the averaged one when the trainer keeps it (what
            :meth:`export` writes), else the live one.

        Raises
        ------
        ValueError
            If ``ema`` is True and the trainer keeps no average (``ema_decay`` off).
        """
        if ema is None:
            ema = self.generator_ema is not None
        elif ema and self.generator_ema is None:
            raise ValueError("Trainer.sample(ema=True) needs a weight average: create the Trainer with ema_decay.")
        G = self.generator_ema if ema else self.generator
        z = self.fixed_noise[: n or self.n_samples].to(self.device)
        was = G.training
        G.eval()
        try:
            x = G(z).float()
        finally:
            G.train(was)
        return (x + 1.0) / 2.0

    def export(self, out_dir=None) -> Path | None:
        """Write ``generator.pt``, ``discriminator.pt`` (state_dicts) and ``config.json`` (rank 0 only).

        ``generator.pt`` holds the prior: the averaged weights :attr:`generator_ema` when the
        trainer keeps them (``ema_decay``), else the live generator's (the live weights stay in
        ``checkpoint.pt``).  ``config.json`` records the architectures (for
        :func:`ganprior.models.from_config`), shapes, loss, hyperparameters, data, steps, wall
        time, command, ``ema_decay`` and which weights ``generator.pt`` holds
        (``"generator_weights"``: ``"ema"`` or ``"live"``) and the checksums of the two weight files
        (``"weights_sha256"``, verified by :func:`ganprior.load_prior`).  Returns the folder (None on ranks
        other than 0).

        Parameters
        ----------
        out_dir : str or os.PathLike, optional
            Folder to write to (default ``out_dir``).
        """
        if self.rank != 0:
            return None
        out = Path(out_dir) if out_dir is not None else self._out("")
        prior = self.generator_ema if self.generator_ema is not None else self.generator
        digests = save_weights({"generator.pt": prior.state_dict(), "discriminator.pt": self.discriminator.state_dict()},
                               out)
        config = {
            "format": "ganprior-gan/1",
            "generator": getattr(self.generator, "config", None),
            "discriminator": getattr(self.discriminator, "config", None),
            "latent_shape": list(self.generator.latent_shape),
            "image_shape": list(self.data.shape[1:]),
            "output_range": [-1.0, 1.0],
            "latent": self.latent.spec(),
            "loss": {"name": self.loss.name, "params": dict(self.loss.params)},
            "hyperparameters": self.settings(),
            "ema_decay": self.ema_decay,
            "generator_weights": "ema" if self.generator_ema is not None else "live",
            "resumed_with_changes": [dict(c) for c in self.config_changes],
            "data": self._data_info(),
            "steps": self.step,
            "epochs": self.step * self.k / self.batches_per_epoch,
            "wall_time_s": round(self.wall_time, 1),
            "command": self.command if self.command is not None else " ".join(shlex.quote(a) for a in sys.argv),
            "torch_version": torch.__version__,
            "weights_sha256": digests,
        }
        atomic_write_json(config, out / "config.json")
        return out

    @property
    def minibatches_per_step(self) -> int:
        """Real minibatches a step uses: ``k`` (one per discriminator update)."""
        return self.k

    def _postfix(self, out: dict) -> dict:
        return {"d": f"{out['d_loss']:.3f}", "g": f"{out['g_loss']:.3f}"}

