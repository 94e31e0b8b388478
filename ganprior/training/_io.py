"""File helpers of the trainer: atomic writes, checksums, image grids, the CSV loss log."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import socket
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

__all__ = ["CHECKPOINT", "EMA_KEY", "LossLog", "atomic_save", "atomic_write_bytes", "atomic_write_json", "atomic_write_text", "image_grid",
           "load_checksummed", "read_torch_file", "remove_stale_temp_files", "save_checksummed", "save_image_grid",
           "save_weights", "state_digest", "verify_digest"]

# the layout of a training run folder, shared by the trainers and ganprior.priors.load_prior:
# the resumable checkpoint's file name, and its key for the EMA generator (load_prior prefers it)
CHECKPOINT = "checkpoint.pt"
EMA_KEY = "generator_ema"

# temp files are named .<target>.<host>.<pid>.<random>.tmp, so a later run can tell a dead writer's leftovers
_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"
_TEMP = re.compile(r"^\.(?P<target>.+)\.(?P<host>[A-Za-z0-9_-]+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")
# temp files of the writer before pid-tagged names (mkstemp's 8 random characters): stale after an hour
_LEGACY_TEMP = re.compile(r"^\.(?P<target>.+)\.[A-Za-z0-9_]{8}\.tmp$")
_LEGACY_AGE_S = 3600.0


def _umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_temp_files(folder, target: str | None = None) -> list[Path]:
    """Delete the temp files that a killed writer left in ``folder``; return the paths removed.

    A temp file of :func:`atomic_save` / :func:`atomic_write_text` is stale when the process
    that wrote it (same host, its pid in the name) no longer runs, or, for the unnamed temp
    files of earlier versions, when it is over an hour old.  Temp files of live writers and
    of other hosts are left alone.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder to clean (a missing folder is fine).
    target : str, optional
        Only the temp files of this file name (default: of every file).
    """
    folder = Path(folder)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        match = _TEMP.match(name)
        if match is not None:
            stale = match["host"] == _HOST and not _pid_alive(int(match["pid"]))
        else:
            match = _LEGACY_TEMP.match(name)
            if match is None:
                continue
            try:
                stale = now - entry.stat(follow_symlinks=False).st_mtime > _LEGACY_AGE_S
            except FileNotFoundError:
                continue
        if not stale or (target is not None and match["target"] != target) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except FileNotFoundError:
            pass
    return removed


def _atomic(path, write):
    """Write through ``write(file_object)`` to a temp file beside ``path``, fsync, then ``os.replace``.

    A crash at any point leaves the previous ``path`` intact; the temp file is removed on any
    exception, and a temp file left by a killed writer is removed by the next write to the
    same folder (:func:`remove_stale_temp_files`).  The file gets the mode a plain ``open``
    would give it: the existing file's mode, or ``0o666`` less the umask for a new file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path.parent, path.name)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_HOST}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), mode)
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


def atomic_write_bytes(data: bytes, path) -> None:
    """Write ``data`` to ``path`` atomically."""
    _atomic(path, lambda f: f.write(data))


def atomic_write_text(text: str, path) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(text.encode("utf-8"), path)


def atomic_write_json(obj, path) -> None:
    """Write ``obj`` as indented JSON atomically."""
    atomic_write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", path)


def _feed(h, obj) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}:".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(obj, dict):
        h.update(f"{{{len(obj)}:".encode())
        for key, value in obj.items():
            _feed(h, key)
            _feed(h, value)
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(f"{type(obj).__name__}[{len(obj)}:".encode())
        for value in obj:
            _feed(h, value)
        h.update(b"]")
    elif obj is None or isinstance(obj, (bool, int, float, str)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    else:
        raise TypeError(f"Cannot checksum a {type(obj).__name__} in a checkpoint.")


def state_digest(obj) -> str:
    """SHA-256 (hex) of a checkpoint's content: every tensor's dtype, shape and bytes, and every other value.

    The digest depends only on the content (nested dicts, lists, tuples, tensors, numbers, strings),
    not on how ``torch.save`` laid the file out, so it is the same before saving and after loading.

    Parameters
    ----------
    obj : dict
        The content, e.g. a :meth:`~ganprior.training.Trainer.state_dict`.

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def save_checksummed(state: dict, path, fmt: str) -> Path:
    """Write a checkpoint atomically: ``state`` plus its ``format`` and the SHA-256 (:func:`state_digest`) of both.

    Parameters
    ----------
    state : dict
        The content (not modified).
    path : str or os.PathLike
        Where to write.
    fmt : str
        The checkpoint format, stored under ``"format"``.

    Returns
    -------
    pathlib.Path
    """
    state = dict(state, format=fmt)
    state["sha256"] = state_digest(state)
    atomic_save(state, path)
    return Path(path)


def read_torch_file(path, what: str):
    """``torch.load(path)`` (``weights_only``, on the CPU), with an error that names the file if it cannot be read.

    Parameters
    ----------
    path : str or os.PathLike
        An existing file.
    what : str
        What the file is, for the message (``"checkpoint"``, ``"weights file"``).

    Returns
    -------
    object
        The loaded content.

    Raises
    ------
    ValueError
        If the file is truncated, damaged or not written by ``torch.save``.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"Cannot read the {what} {str(path)!r}: it is truncated, corrupted or not written by torch.save "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}).") from e


def save_weights(states: dict, folder) -> dict:
    """Write ``state_dict`` files atomically into ``folder``; return their checksums for ``config.json``.

    Parameters
    ----------
    states : dict of str to dict
        File name (``"generator.pt"``...) -> the ``state_dict`` to write there (moved to the CPU).
    folder : str or os.PathLike
        Where to write.

    Returns
    -------
    dict of str to str
        File name -> :func:`state_digest` of its content, which :func:`ganprior.load_prior` verifies when
        ``config.json`` records it under ``"weights_sha256"``.
    """
    digests = {}
    for name, state in states.items():
        state = {k: v.cpu() for k, v in state.items()}
        atomic_save(state, Path(folder) / name)
        digests[name] = state_digest(state)
    return digests


def load_checksummed(path, check, *, require_checksum: bool) -> dict:
    """Read a checkpoint of :func:`save_checksummed` (``weights_only``, on the CPU) and verify it.

    Parameters
    ----------
    path : str or os.PathLike
    check : callable
        ``check(state, source)`` raises ValueError if ``state`` is not the expected kind of checkpoint.
    require_checksum : bool
        Whether a checkpoint without ``sha256`` is an error (else a UserWarning: an earlier version's file).

    Returns
    -------
    dict
        The state, without the checksum.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The checkpoint {str(path)!r} does not exist.")
    state = read_torch_file(path, "checkpoint")
    check(state, f"the file {str(path)!r}")
    state = dict(state)
    expected = state.pop("sha256", None)
    if expected is None and not require_checksum:
        warnings.warn(f"The checkpoint {str(path)!r} carries no checksum (written by an earlier ganprior): "
                      "its integrity cannot be verified.", UserWarning, stacklevel=3)
        return state
    verify_digest(state, expected, f"The checkpoint {str(path)!r}", "its SHA-256 checksum",
                  "Resume from another checkpoint or start afresh.")
    return state


def verify_digest(state, expected: str, what: str, recorded: str, advice: str) -> None:
    """Raise ValueError unless ``state``'s :func:`state_digest` is ``expected``.

    Parameters
    ----------
    state : dict
        The loaded content.
    expected : str
        The recorded digest.
    what, recorded, advice : str
        The message's subject (``"The checkpoint '...'"``), where the digest was recorded and what to do.
    """
    try:
        actual = state_digest(state)
    except TypeError as e:
        raise ValueError(f"{what} is corrupted: {e}") from e
    if actual != expected:
        raise ValueError(f"{what} is corrupted: its content does not match {recorded} "
                         f"(stored {str(expected)[:16]}..., computed {actual[:16]}...). {advice}")


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
    if grid.ndim == 2:
        _atomic(path, lambda f: mpimg.imsave(f, grid, cmap="gray", vmin=0.0, vmax=1.0, format="png"))
    else:
        _atomic(path, lambda f: mpimg.imsave(f, grid, format="png"))


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
