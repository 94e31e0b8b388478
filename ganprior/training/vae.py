r"""Train the variational autoencoder whose decoder Bora et al. (2017) used as their MNIST prior.

The encoder :math:`q(z \mid x) = \mathcal{N}(\mu(x), \operatorname{diag}\sigma^2(x))` and the decoder
:math:`p(x \mid z) = \prod_i \operatorname{Bernoulli}(x_i; G(z)_i)` (pixels in [0, 1] read as
probabilities) are trained together by minimising the negative evidence lower bound, per image,

.. math::

    \mathcal{L}(x) = -\sum_i \bigl[x_i \log G(z)_i + (1 - x_i) \log(1 - G(z)_i)\bigr]
        + \tfrac12 \sum_j \bigl(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\bigr),
    \qquad z = \mu(x) + \sigma(x) \odot \varepsilon,\ \varepsilon \sim \mathcal{N}(0, I),

(the reparameterised one-sample estimate of the reconstruction term, and the closed-form
:math:`\mathrm{KL}(q(z \mid x) \,\|\, \mathcal{N}(0, I))`), averaged over a minibatch, with Adam.
With ``beta`` :math:`= \beta \ne 1` the KL term is weighted by :math:`\beta` (the :math:`\beta`-VAE
objective of Higgins et al., 2017): :math:`\beta < 1` trades a less Gaussian aggregate posterior for
sharper reconstructions, i.e. a smaller representation error of the decoder as a prior.  The
decoder then serves as a prior :math:`G(z)`, :math:`z \sim \mathcal{N}(0, I)`, like a GAN's generator.

Why a VAE in a GAN library: at few measurements a prior with a small, well-spread latent is
better determined, and the VAE's encoder-trained latent covers the digits more evenly than a
GAN's (the bundled ``mnist-vae`` is the best MNIST prior of the error-vs-m benchmark at m <= 50).

Determinism and resuming are as in :class:`~ganprior.training.Trainer`: one seeded noise stream,
a data order per ``(seed, epoch)``, and checkpoints (written atomically, with a SHA-256 checksum)
from which a resumed run continues bitwise as if never stopped (CPU).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import torch
from torch import nn

from .._validation import check_float, check_int, describe
from ..models.vae import VAEDecoder, VAEEncoder
from ._io import (
    CHECKPOINT,
    LossLog,
    atomic_write_json,
    load_checksummed,
    save_checksummed,
    save_weights,
)
from ._loop import TrainingLoop, derived_seed

__all__ = ["VAETrainer", "kl_to_standard_normal", "load_vae_checkpoint", "negative_elbo"]

CHECKPOINT_FORMAT = "ganprior-vae-checkpoint/1"
CONFIG_FORMAT = "ganprior-vae/1"
_REQUIRED = ("decoder", "encoder", "opt", "step", "epoch", "batch_in_epoch", "rng", "settings")


class _VAELog(LossLog):
    FIELDS = ("step", "epoch", "loss", "reconstruction", "kl", "seconds")


def kl_to_standard_normal(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    r"""Per-row :math:`\mathrm{KL}(\mathcal{N}(\mu, \operatorname{diag} e^{v}) \,\|\, \mathcal{N}(0, I))`.

    .. math:: \tfrac12 \sum_j \bigl(\mu_j^2 + e^{v_j} - v_j - 1\bigr)

    Parameters
    ----------
    mu, log_var : torch.Tensor
        ``(B, k)``: the mean and the log variance :math:`v` of the Gaussian.

    Returns
    -------
    torch.Tensor
        ``(B,)``.
    """
    return 0.5 * (mu.square() + log_var.exp() - log_var - 1.0).sum(dim=1)


def negative_elbo(decoder: VAEDecoder, encoder: VAEEncoder, x: torch.Tensor, eps: torch.Tensor,
                  beta: float = 1.0):
    r"""The per-image negative ELBO of images ``x`` with the noise ``eps`` (module docstring).

    .. math:: \mathcal{L}_\beta(x) = \mathrm{BCE}\bigl(G(\mu + \sigma\odot\varepsilon), x\bigr)
        + \beta\,\mathrm{KL}\bigl(\mathcal{N}(\mu, \operatorname{diag}\sigma^2) \,\|\, \mathcal{N}(0, I)\bigr)

    Parameters
    ----------
    decoder : VAEDecoder
    encoder : VAEEncoder
    x : torch.Tensor
        Images ``(B, C, H, W)`` in [0, 1].
    eps : torch.Tensor
        Standard normal noise ``(B, k)`` of the reparameterisation :math:`z = \mu + \sigma\varepsilon`.
    beta : float
        Weight :math:`\beta` of the KL term (1: the ELBO itself).

    Returns
    -------
    loss, reconstruction, kl : torch.Tensor
        Minibatch means (scalars): ``loss = reconstruction + beta * kl``.
    """
    mu, log_var = encoder(x)
    z = mu + (0.5 * log_var).exp() * eps
    target = x.reshape(x.shape[0], -1)
    rec = nn.functional.binary_cross_entropy_with_logits(decoder.logits(z), target, reduction="none").sum(dim=1)
    kl = kl_to_standard_normal(mu, log_var)
    return (rec + beta * kl).mean(), rec.mean(), kl.mean()


def load_vae_checkpoint(path) -> dict:
    """Load and verify a :class:`VAETrainer` checkpoint (``weights_only``; its SHA-256 must match).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict
        The state, without the checksum.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be read, is not a VAE trainer checkpoint, or is corrupted (the message
        names the file).
    """
    return load_checksummed(path, _check_vae_keys, require_checksum=True)


def _check_vae_keys(state, source: str) -> None:
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT \
            or any(k not in state for k in _REQUIRED):
        raise ValueError(f"{source[:1].upper()}{source[1:]} is not a VAE trainer checkpoint (format "
                         f"{CHECKPOINT_FORMAT!r} with entries {list(_REQUIRED)}); a GAN run's checkpoint resumes "
                         "with ganprior train.")


class VAETrainer(TrainingLoop):
    r"""Train a :class:`~ganprior.models.VAEDecoder` and its :class:`~ganprior.models.VAEEncoder` (module docstring).

    Parameters
    ----------
    data : torch.Tensor
        Training images ``(N, C, H, W)``: float in [0, 1] or uint8 in [0, 255].
    latent_dim : int
        Latent size :math:`k` (paper: 20).
    width : int
        Hidden width of both networks (paper: 500).
    batch_size : int
        Images per step (paper: 100); an epoch is ``N // batch_size`` steps (the rest is dropped).
    lr : float
        Adam's learning rate (paper: 0.001).
    beta : float
        Weight of the KL term (paper: 1, the ELBO; :func:`negative_elbo`).
    seed : int
        Seeds the initial weights, the data order and the noise.
    out_dir : str or os.PathLike, optional
        Folder for ``checkpoint.pt``, ``log.csv``, ``samples/`` and the exported prior
        (``config.json``, ``generator.pt``, ``encoder.pt``).
    checkpoint_every : int
        Steps between checkpoints (0: only at the end).
    sample_every : int
        Steps between sample grids (0: only at the end).
    device : str or torch.device, optional
        Where to train (default: CUDA when available, else the CPU).  The data stays on the CPU and
        the noise is drawn there, so a run's random draws do not depend on the device.
    data_name : str, optional
        The dataset's name, recorded in ``config.json``.
    command : str, optional
        The command recorded in ``config.json`` (default ``sys.argv``).

    Examples
    --------
    >>> import torch
    >>> from ganprior.training.vae import VAETrainer
    >>> x = torch.rand(64, 1, 8, 8).round()
    >>> t = VAETrainer(x, latent_dim=4, width=32, batch_size=16, seed=0).fit(steps=8)
    >>> t.step, t.decoder(torch.zeros(2, 4)).shape
    (8, torch.Size([2, 1, 8, 8]))
    """

    _log_class = _VAELog

    def __init__(self, data, *, latent_dim: int = 20, width: int = 500, batch_size: int = 100, lr: float = 1e-3,
                 beta: float = 1.0, seed: int = 0, out_dir=None, checkpoint_every: int = 1000,
                 sample_every: int = 1000, device=None, data_name=None, command=None):
        owner = "VAETrainer"
        if not isinstance(data, torch.Tensor) or data.ndim != 4 or data.shape[0] < 1:
            raise ValueError(f"The 'data' parameter of {owner} must be a tensor of images (N, C, H, W). "
                             f"Got {describe(data)} instead.")
        if data.dtype != torch.uint8 and (not data.is_floating_point() or float(data.min()) < 0.0
                                          or float(data.max()) > 1.0):
            raise ValueError(f"The 'data' parameter of {owner} must hold pixels in [0, 1] (float) or uint8; got "
                             f"dtype {data.dtype} with values in [{float(data.min()):g}, {float(data.max()):g}].")
        self.batch_size = check_int(batch_size, "batch_size", minimum=1, owner=owner)
        if self.batch_size > data.shape[0]:
            raise ValueError(f"The 'batch_size' parameter of {owner} must be at most the number of images "
                             f"({data.shape[0]}). Got {self.batch_size} instead.")
        self.lr = check_float(lr, "lr", minimum=0.0, owner=owner)
        if self.lr <= 0:
            raise ValueError(f"The 'lr' parameter of {owner} must be > 0. Got {lr!r} instead.")
        self.beta = check_float(beta, "beta", minimum=0.0, strict=True, owner=owner)
        self.seed = check_int(seed, "seed", minimum=0, owner=owner)
        self.checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=0, owner=owner)
        self.sample_every = check_int(sample_every, "sample_every", minimum=0, owner=owner)
        self.data = data
        shape = tuple(data.shape[1:])
        self.decoder = VAEDecoder(latent_dim, width, shape, seed=derived_seed(self.seed, 10))
        self.encoder = VAEEncoder(latent_dim, width, shape, seed=derived_seed(self.seed, 11))
        self.device = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
        self.decoder.to(self.device), self.encoder.to(self.device)
        self.opt = torch.optim.Adam([*self.decoder.parameters(), *self.encoder.parameters()], lr=self.lr)
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.command, self.data_name = command, data_name
        self.n_data = int(data.shape[0])
        self.batches_per_epoch = self.n_data // self.batch_size
        self.step = self.epoch = self.batch_in_epoch = 0
        self.wall_time = 0.0
        self._noise = torch.Generator().manual_seed(derived_seed(self.seed, 1))
        self._perm_epoch, self._perm = None, None
        fixed = torch.Generator().manual_seed(derived_seed(self.seed, 2))
        self.fixed_noise = torch.randn(64, latent_dim, generator=fixed)

    def settings(self) -> dict:
        """JSON-able hyperparameters (checkpointed; a resume must keep them)."""
        return {"latent_dim": self.decoder.latent_dim, "width": self.decoder._kwargs["width"],
                "batch_size": self.batch_size, "lr": self.lr, "beta": self.beta, "seed": self.seed,
                "n_data": self.n_data}

    def _next_batch(self) -> torch.Tensor:
        return self._next_images().to(self.device)

    def train_step(self) -> dict:
        """One Adam step on a minibatch; returns its ``loss``, ``reconstruction`` and ``kl`` (floats).

        Raises
        ------
        FloatingPointError
            If the loss is not finite (nothing is updated).
        """
        x = self._next_batch()
        eps = torch.randn(x.shape[0], self.decoder.latent_dim, generator=self._noise).to(self.device)
        self.decoder.train(), self.encoder.train()
        loss, rec, kl = negative_elbo(self.decoder, self.encoder, x, eps, self.beta)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"The VAE loss is {float(loss)} at step {self.step + 1}; lower 'lr' and resume "
                                     "from the last checkpoint.")
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return {"loss": float(loss.detach()), "reconstruction": float(rec.detach()), "kl": float(kl.detach())}

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Everything a resume needs: weights, optimiser, position in the data, the noise stream."""
        return {"decoder": self.decoder.state_dict(), "encoder": self.encoder.state_dict(),
                "opt": self.opt.state_dict(), "step": self.step, "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch, "wall_time": self.wall_time,
                "rng": self._noise.get_state(), "settings": self.settings()}

    def load_state_dict(self, state: dict, source: str = "the state") -> None:
        """Restore :meth:`state_dict`; its settings must equal this trainer's.

        Parameters
        ----------
        state : dict
            A :meth:`state_dict`.
        source : str
            Where it comes from, for the error message.

        Raises
        ------
        ValueError
            If the settings differ (the message lists them).
        """
        mine, theirs = self.settings(), {"beta": 1.0, **state["settings"]}  # checkpoints before beta: 1
        diff = {k: (theirs.get(k), v) for k, v in mine.items() if theirs.get(k) != v}
        if diff:
            raise ValueError(f"Cannot resume from {source}: its settings differ from this run's "
                             f"({', '.join(f'{k}: {a!r} there, {b!r} here' for k, (a, b) in diff.items())}). "
                             "Use the checkpoint's settings or another --out folder.")
        self.decoder.load_state_dict(state["decoder"])
        self.encoder.load_state_dict(state["encoder"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        self.batch_in_epoch = int(state["batch_in_epoch"])
        self.wall_time = float(state.get("wall_time", 0.0))
        self._noise.set_state(state["rng"])
        self._perm_epoch = None

    def save_checkpoint(self, path=None) -> Path:
        """Write the checkpoint atomically with its SHA-256; return its path.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Default ``out_dir/checkpoint.pt``.
        """
        path = Path(path) if path is not None else self._out(CHECKPOINT)
        return save_checksummed(self.state_dict(), path, CHECKPOINT_FORMAT)

    def load_checkpoint(self, path=None) -> None:
        """Resume from a checkpoint verified by :func:`load_vae_checkpoint`.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Default ``out_dir/checkpoint.pt``.
        """
        path = Path(path) if path is not None else self._out(CHECKPOINT)
        state = load_vae_checkpoint(path)  # on the CPU; load_state_dict copies onto the models' device
        state.pop("format", None)
        self.load_state_dict(state, f"the checkpoint {str(path)!r}")

    # ------------------------------------------------------------------ outputs
    @torch.no_grad()
    def sample(self) -> torch.Tensor:
        """Decoded images ``(64, C, H, W)`` in [0, 1] of 64 fixed latents."""
        self.decoder.eval()
        return self.decoder(self.fixed_noise.to(self.device)).cpu()

    def export(self, out_dir=None) -> Path:
        """Write the prior: ``generator.pt`` (the decoder), ``encoder.pt`` and ``config.json``; return the folder.

        ``config.json`` has the keys :func:`ganprior.load_prior` reads (``generator``, ``latent_shape``,
        ``image_shape``, ``output_range`` = [0, 1]) and ``format`` = ``"ganprior-vae/1"``, the
        hyperparameters, data, steps, epochs, wall time, command and the checksums of the weight files
        (``"weights_sha256"``, verified by :func:`ganprior.load_prior`).

        Parameters
        ----------
        out_dir : str or os.PathLike, optional
            Default ``out_dir``.
        """
        out = Path(out_dir) if out_dir is not None else self._out("")
        digests = save_weights({"generator.pt": self.decoder.state_dict(), "encoder.pt": self.encoder.state_dict()},
                               out)
        atomic_write_json({
            "format": CONFIG_FORMAT, "generator": self.decoder.config, "encoder": self.encoder.config,
            "latent_shape": [self.decoder.latent_dim], "image_shape": list(self.decoder.image_shape),
            "output_range": [0.0, 1.0],
            "loss": {"name": "negative-elbo", "params": {"likelihood": "bernoulli", "beta": self.beta}},
            "hyperparameters": self.settings(), "device": str(self.device),
            "data": {"name": self.data_name, "n_images": self.n_data},
            "steps": self.step, "epochs": self.step / self.batches_per_epoch, "wall_time_s": round(self.wall_time, 1),
            "command": self.command if self.command is not None else " ".join(shlex.quote(a) for a in sys.argv),
            "torch_version": torch.__version__, "weights_sha256": digests}, out / "config.json")
        return out
