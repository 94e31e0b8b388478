"""File helpers of the trainer: atomic writes, image grids, the CSV loss log."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

__all__ = ["LossLog", "atomic_save", "atomic_write_json", "atomic_write_text", "image_grid", "save_image_grid"]


def _atomic(path, write):
    """Write through ``write(file_object)`` to a temp file beside ``path``, fsync, then ``os.replace``.

    A crash at any point leaves the previous ``path`` intact, and the temp file is removed
    on any exception.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_save(obj, path) -> None:
    """``torch.save(obj, path)`` atomically (temp file in the same folder, then ``os.replace``)."""
    _atomic(path, lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    _atomic(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write_json(obj, path) -> None:
    """Write ``obj`` as indented JSON atomically."""
    atomic_write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", path)


def image_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile ``(N, C, H, W)`` images in [0, 1] into one ``(rows*(H+pad)+pad, ...)`` array (H x W or H x W x 3)."""
    x = images.detach().float().clamp(0, 1).cpu().numpy()
    n, c, h, w = x.shape
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / nrow))
    grid = np.ones((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), dtype=np.float32)
    for i in range(n):
        r, q = divmod(i, nrow)
        grid[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = x[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def save_image_grid(images: torch.Tensor, path, nrow: int | None = None) -> None:
    """Save ``(N, C, H, W)`` images in [0, 1] as one PNG grid (matplotlib, imported here)."""
    from matplotlib import image as mpimg

    grid = image_grid(images, nrow)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp.png")
    if grid.ndim == 2:
        mpimg.imsave(tmp, grid, cmap="gray", vmin=0.0, vmax=1.0)
    else:
        mpimg.imsave(tmp, grid)
    os.replace(tmp, path)


class LossLog:
    """Append-only CSV log, one row per step; on resume rows after the checkpoint step are dropped."""

    FIELDS = ("step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "seconds")

    def __init__(self, path, resume_step: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keep = []
        if resume_step is not None and self.path.is_file():
            with open(self.path, newline="") as f:
                for row in csv.DictReader(f):
                    try:
                        if int(row["step"]) <= resume_step:
                            keep.append(row)
                    except (KeyError, ValueError):
                        continue
        lines = [",".join(self.FIELDS)] + [",".join(str(r.get(k, "")) for k in self.FIELDS) for r in keep]
        atomic_write_text("\n".join(lines) + "\n", self.path)
        self._file = open(self.path, "a", buffering=1)  # noqa: SIM115 - open for the run, see close()

    def write(self, **row) -> None:
        vals = []
        for k in self.FIELDS:
            v = row.get(k, "")
            vals.append(f"{v:.6g}" if isinstance(v, float) else str(v))
        self._file.write(",".join(vals) + "\n")

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
