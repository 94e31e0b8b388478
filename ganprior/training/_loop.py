"""What the GAN and VAE trainers share: the seeded data order and the resumable ``fit`` loop.

A subclass sets, in its ``__init__``, ``seed``, ``data`` (images on the CPU), ``n_data``,
``batch_size``, ``batches_per_epoch``, ``out_dir`` (a :class:`~pathlib.Path` or None), the counters
``step`` / ``epoch`` / ``batch_in_epoch`` / ``wall_time``, ``checkpoint_every`` and ``sample_every``,
and ``_perm_epoch = None``; a data-parallel one also ``rank`` and ``local_batch``.  It provides
``train_step`` (returns the step's losses as a dict of floats), ``save_checkpoint``,
``load_checkpoint(path)``, ``sample`` (an image grid in [0, 1]) and ``export``, and names its log's columns with
``_log_class``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch

from .._validation import check_float, check_int
from ._io import CHECKPOINT, LossLog, remove_stale_temp_files, save_image_grid


def derived_seed(*words: int) -> int:
    """A seed in [0, 2**63) for the stream named by ``words`` (e.g. ``(seed, 3, epoch)``), via NumPy's SeedSequence."""
    return int(np.random.SeedSequence([int(w) for w in words]).generate_state(1, dtype=np.uint64)[0] >> 1)


class TrainingLoop:
    """Mix-in: data order, output paths and :meth:`fit` for :class:`Trainer` and :class:`VAETrainer`."""

    rank = 0  # the process's rank under torchrun; only rank 0 writes files
    world_size = 1
    progress = False  # a tqdm bar on rank 0
    minibatches_per_step = 1  # a GAN step uses k discriminator minibatches
    _log_class = LossLog

    def _batch_indices(self) -> torch.Tensor:
        """Indices of the next minibatch (this rank's slice of it) in the seeded order of the current epoch.

        Epoch ``e``'s order is a permutation drawn from a generator seeded with ``(seed, e)``, so the
        position (``epoch``, ``batch_in_epoch``) alone says which images come next: a resumed run
        draws exactly the batches the uninterrupted run would have.  The last ``n_data mod
        batch_size`` images of an epoch's order are dropped.
        """
        if self.batch_in_epoch >= self.batches_per_epoch:
            self.epoch += 1
            self.batch_in_epoch = 0
        if self._perm_epoch != self.epoch:
            gen = torch.Generator().manual_seed(derived_seed(self.seed, 3, self.epoch))
            self._perm, self._perm_epoch = torch.randperm(self.n_data, generator=gen), self.epoch
        local = getattr(self, "local_batch", self.batch_size)
        start = self.batch_in_epoch * self.batch_size + self.rank * local
        self.batch_in_epoch += 1
        return self._perm[start:start + local]

    def _next_images(self) -> torch.Tensor:
        """The next minibatch (:meth:`_batch_indices`) as float images in [0, 1], still on the CPU."""
        x = self.data[self._batch_indices()]
        return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()

    def _out(self, name) -> Path:
        if self.out_dir is None:
            raise ValueError(f"This {type(self).__name__} has no 'out_dir'; pass one to write files.")
        return self.out_dir / name

    def save_samples(self) -> Path | None:
        """Save the :meth:`sample` grid as ``samples/step_NNNNNNN.png`` and ``samples/latest.png``.

        Returns the step's PNG (None on ranks other than 0 or without an ``out_dir``).
        """
        if self.rank != 0 or self.out_dir is None:
            return None
        imgs = self.sample()
        path = self._out(f"samples/step_{self.step:07d}.png")
        save_image_grid(imgs, path)
        save_image_grid(imgs, self._out("samples/latest.png"))
        return path

    def _postfix(self, out: dict) -> dict:
        """What the progress bar shows of a step's losses."""
        return {}

    def fit(self, steps: int | None = None, epochs: float | None = None, resume=False):
        """Train until ``steps`` steps (or ``epochs`` passes over the data) in total have been done.

        Targets are totals, so a resumed run with the same arguments finishes where the
        uninterrupted run would.  Checkpoints are written every ``checkpoint_every`` steps
        (atomically) and at the end, sample grids every ``sample_every`` steps, one row per step
        goes to ``log.csv`` (rows after the checkpoint's step are dropped on resume); then the
        model is exported to ``out_dir``.  Without an ``out_dir`` nothing is written.

        Parameters
        ----------
        steps : int, optional
            Total training steps.
        epochs : float, optional
            Total passes over the data (instead of ``steps``): ``ceil(epochs * batches_per_epoch /
            minibatches_per_step)`` steps.
        resume : bool or path
            False (default); True: resume from ``out_dir/checkpoint.pt`` if it exists (a fresh
            start if not); a path: resume from that checkpoint, which must exist.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Unless exactly one of ``steps`` and ``epochs`` is given; if ``resume`` is True without
            an ``out_dir``; if the checkpoint's settings differ from this run's.
        FileNotFoundError
            If the checkpoint given as ``resume`` does not exist.
        FloatingPointError
            On a non-finite loss (the last checkpoint is kept).
        """
        owner = f"{type(self).__name__}.fit"
        if (steps is None) == (epochs is None):
            raise ValueError(f"{owner} needs exactly one of 'steps' and 'epochs'. "
                             f"Got steps={steps!r}, epochs={epochs!r}.")
        if steps is None:
            epochs = check_float(epochs, "epochs", minimum=0.0, owner=owner)
            steps = math.ceil(epochs * self.batches_per_epoch / self.minibatches_per_step)
        steps = check_int(steps, "steps", minimum=0, owner=owner)
        writer = self.rank == 0 and self.out_dir is not None
        if writer:  # leftovers of a writer killed mid-write
            for folder in (self.out_dir, self.out_dir / "samples"):
                remove_stale_temp_files(folder)
        if resume:
            path = self._out(CHECKPOINT) if resume is True else Path(resume)
            if path.is_file():
                self.load_checkpoint(path)
            elif resume is not True:
                raise FileNotFoundError(f"The checkpoint {str(path)!r} given as 'resume' does not exist.")
        log = self._log_class(self._out("log.csv"), resume_step=self.step if resume else None) if writer else None
        bar = None
        if self.progress and self.rank == 0:
            from tqdm.auto import tqdm

            bar = tqdm(total=steps, initial=min(self.step, steps), desc="train", dynamic_ncols=True)
        try:
            t_last = time.perf_counter()
            while self.step < steps:
                out = self.train_step()
                now = time.perf_counter()
                self.wall_time += now - t_last
                t_last = now
                out.update(step=self.step, epoch=self.epoch, seconds=round(self.wall_time, 3))
                if log is not None:
                    log.write(**out)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(**self._postfix(out))
                if writer and self.sample_every and self.step % self.sample_every == 0:
                    self.save_samples()
                if writer and self.checkpoint_every and self.step % self.checkpoint_every == 0:
                    self.save_checkpoint()
        finally:
            if bar is not None:
                bar.close()
            if log is not None:
                log.close()
        if writer:
            self.save_checkpoint()
            self.save_samples()
            self.export()
        if self.world_size > 1:
            torch.distributed.barrier()
        return self
