r"""Recover whole datasets: measurements simulated from image files, recovered in chunks, sharded across processes.

:func:`recover_dataset` cuts ``N`` images into fixed chunks of ``chunk`` images.  Chunk ``c`` belongs
to process ``c mod W`` (``W`` processes, e.g. under ``torchrun``); each process measures its chunks
(a seeded operator shared by all, noise seeded per image), recovers them with any registered method
(per-image latent seeds ``seed + i``) and writes each chunk's results atomically to
``out/parts/<c>.npz``.  A rerun skips the chunks already written, so an interrupted job resumes where
it stopped.  :func:`merge_dataset` collects the parts into ``x_hat.npy``, ``metrics.csv`` (per-image
MSE and PSNR against the images), one PNG per recovered image and a comparison figure.

Because chunks, seeds and operator do not depend on how many processes share the work, the merged
result is the same bitwise for any number of processes.  ``ganprior recover --images ...`` is the
command line (see :mod:`ganprior.cli.recover`).
"""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path

import numpy as np
import torch

from ._validation import check_choice, check_float, check_int, describe

__all__ = ["OPERATORS", "load_images", "measurement_operator", "recover_dataset", "merge_dataset"]

OPERATORS = ("gaussian", "subsampled-dct")


def load_images(path, image_shape) -> torch.Tensor:
    """Images from a folder of image files or a ``.npy`` / ``.npz`` array, as float32 ``(N, *image_shape)`` in [0, 1].

    Parameters
    ----------
    path : str or os.PathLike
        A folder (every PNG / JPEG / ... file, sorted by name; resized to the prior's size; averaged to
        one channel for a one-channel prior), a ``.npy`` file or a ``.npz`` file (its array ``"x"``,
        else its first array) of shape ``(N, C, H, W)`` or ``(N, H, W)``, floats in [0, 1] or uint8.
    image_shape : tuple of int
        ``(C, H, W)`` of the prior.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing path, no images, or arrays of another shape.
    """
    from .data import load_image_folder

    p = Path(path)
    C, H, W = image_shape
    if p.is_dir():
        if H != W:
            raise ValueError(f"Images from a folder are resized to squares; the prior makes {image_shape}.")
        x = load_image_folder(p, H)
        if C == 1:
            x = x.mean(dim=1, keepdim=True)
        return x
    if not p.is_file():
        raise FileNotFoundError(f"No image folder or .npy / .npz file at {str(p)!r}.")
    if p.suffix == ".npz":
        with np.load(p, allow_pickle=False) as f:
            arr = f["x"] if "x" in f.files else f[f.files[0]]
    elif p.suffix == ".npy":
        arr = np.load(p, allow_pickle=False)
    else:
        raise ValueError(f"Expected a folder, a .npy or a .npz file; got {str(p)!r}.")
    x = torch.from_numpy(np.ascontiguousarray(arr))
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if x.ndim == 3 and C == 1:
        x = x[:, None]
    if tuple(x.shape[1:]) != tuple(image_shape):
        raise ValueError(f"The images in {str(p)!r} have shape {tuple(x.shape[1:])}; the prior makes {image_shape}.")
    return x


def measurement_operator(name, m, image_shape, seed=0):
    """The seeded operator every process builds alike: Gaussian :math:`\\mathcal{N}(0, 1/m)` or subsampled DCT.

    Parameters
    ----------
    name : {"gaussian", "subsampled-dct"}
        The operator.
    m : int
        Measurements per image.
    image_shape : tuple of int
        Shape of one image.
    seed : int
        Seed of the operator.

    Returns
    -------
    ganprior.operators.LinearOperator
    """
    from . import operators

    check_choice(name, "operator", OPERATORS, owner="measurement_operator")
    cls = operators.Gaussian if name == "gaussian" else operators.SubsampledDCT
    return cls(check_int(m, "m", minimum=1, owner="measurement_operator"), in_shape=image_shape, seed=seed)


def _noise(index, m, noise, seed):
    """Per-image noise with norm about ``noise``: seeded by (seed, image index), so it never depends on the sharding."""
    out = torch.empty(len(index), m)
    for j, i in enumerate(index):
        out[j] = torch.randn(m, generator=torch.Generator().manual_seed(seed * 1_000_003 + int(i)))
    return out * noise / math.sqrt(m)


def _part(out, c):
    return Path(out) / "parts" / f"{c:06d}.npz"


def _write_npz(path, **arrays):
    from .training._io import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(buf.getvalue(), path)


def recover_dataset(images, G, *, m, out, operator="gaussian", noise=0.0, method="csgm", chunk=64, seed=0,
                    rank=0, world_size=1, progress=False, **kwargs) -> list[int]:
    """Measure and recover the chunks of a dataset that belong to this process; skip the chunks already done.

    Parameters
    ----------
    images : torch.Tensor
        ``(N, *G.image_shape)`` in G's data range.
    G : ganprior.Generator or str
        The prior (a latent method) or None for a sparse baseline.
    m : int
        Measurements per image.
    out : str or os.PathLike
        The output folder (``parts/`` holds one file per chunk).
    operator : {"gaussian", "subsampled-dct"}
        The operator (seeded by ``seed``, the same in every process).
    noise : float
        :math:`\\|\\eta\\|` per image (entries :math:`\\mathcal{N}(0, \\text{noise}^2/m)`, seeded per image).
    method : str
        A registered method (``recover``'s ``method``), or ``"auto"`` (among the latent methods and the
        baselines with ``G``, the baselines without; a ``"shared"`` choice is shared by a chunk).
    chunk : int
        Images per chunk: the unit of work, of resumption and of sharding.
    seed : int
        Seeds the operator, the noise and the latents (image ``i`` gets latent seed ``seed + i``).
    rank, world_size : int
        This process and the number of processes; chunk ``c`` belongs to rank ``c % world_size``.
    progress : bool
        Print one line per chunk.
    **kwargs
        Passed to :func:`ganprior.recover` (engine settings, the method's arguments).

    Returns
    -------
    list of int
        The chunks this call computed.

    Raises
    ------
    TypeError, ValueError
        On bad input, before any work.
    """
    from . import metrics
    from .solvers.recovery import recover
    from .solvers.registry import get_method

    owner = "recover_dataset"
    if not isinstance(images, torch.Tensor) or images.ndim < 2 or images.shape[0] == 0:
        raise TypeError(f"The 'images' parameter of {owner} must be a tensor (N, ...). Got {describe(images)}.")
    chunk = check_int(chunk, "chunk", minimum=1, owner=owner)
    world_size = check_int(world_size, "world_size", minimum=1, owner=owner)
    rank = check_int(rank, "rank", minimum=0, owner=owner)
    if rank >= world_size:
        raise ValueError(f"The 'rank' parameter of {owner} must be < world_size ({world_size}). Got {rank}.")
    noise = check_float(noise, "noise", minimum=0.0, owner=owner)
    seed = check_int(seed, "seed", minimum=0, owner=owner)
    latent = get_method(method).kind == "latent" if method != "auto" else G is not None
    if latent:
        from ._convert import as_generator

        G = as_generator(G, None, owner)  # a prior's name is loaded once, not per chunk
    shape = tuple(images.shape[1:])
    A = measurement_operator(operator, m, shape, seed).to(images.device)
    N = images.shape[0]
    done = []
    for c in range(rank, -(-N // chunk), world_size):
        path = _part(out, c)
        if path.exists():
            continue
        idx = list(range(c * chunk, min(N, (c + 1) * chunk)))
        x = images[idx].float()
        y = A(x) + _noise(idx, m, noise, seed).to(x.device)
        t = time.perf_counter()
        if latent:
            x_hat = recover(y, A, G, method=method, seed=[seed + i for i in idx], **kwargs)
        else:
            x_hat = recover(y, A, method=method, **kwargs)
        sec = time.perf_counter() - t
        x_hat, x = x_hat.reshape(x.shape).float().cpu(), x.cpu()
        _write_npz(path, index=np.asarray(idx), x_hat=x_hat.numpy(), mse=metrics.mse(x_hat, x).numpy(),
                   psnr=metrics.psnr(x_hat, x).numpy(), seconds=np.asarray(sec))
        done.append(c)
        if progress:
            print(f"rank {rank}: chunk {c} (images {idx[0]}-{idx[-1]}) in {sec:.1f} s", flush=True)
    return done


def merge_dataset(out, n_images, images=None, png=True):
    """Collect every chunk into ``x_hat.npy``, ``metrics.csv``, ``recovered/*.png`` and ``figure.png``.

    Parameters
    ----------
    out : str or os.PathLike
        The folder :func:`recover_dataset` wrote to.
    n_images : int
        The number of images ``N`` (every chunk must be present).
    images : torch.Tensor, optional
        The images, for the comparison figure.
    png : bool
        Write one PNG per recovered image.

    Returns
    -------
    numpy.ndarray
        ``x_hat``, ``(N, *image_shape)``.

    Raises
    ------
    FileNotFoundError
        If a chunk is missing (the message says which: rerun to compute it).
    """
    from .training._io import atomic_write_bytes, atomic_write_text

    out = Path(out)
    parts = sorted((out / "parts").glob("*.npz"))
    rows, blocks = [], []
    for p in parts:
        with np.load(p, allow_pickle=False) as f:
            blocks.append((f["index"], f["x_hat"]))
            rows += [(int(i), float(e), float(s)) for i, e, s in zip(f["index"], f["mse"], f["psnr"])]
    have = sorted(i for i, _, _ in rows)
    if have != list(range(n_images)):
        missing = sorted(set(range(n_images)) - set(have))
        raise FileNotFoundError(f"{len(missing)} of {n_images} images have no result in {str(out / 'parts')!r} "
                                f"(e.g. {missing[:5]}); rerun the same command to compute them.")
    x_hat = np.zeros((n_images, *blocks[0][1].shape[1:]), dtype=np.float32)
    for idx, xb in blocks:
        x_hat[idx] = xb
    buf = io.BytesIO()
    np.save(buf, x_hat)
    atomic_write_bytes(buf.getvalue(), out / "x_hat.npy")
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(["image", "mse", "psnr"])
    for i, e, s in sorted(rows):
        w.writerow([i, f"{e:.6g}", f"{s:.4f}"])
    atomic_write_text(text.getvalue(), out / "metrics.csv")
    if png:
        from PIL import Image

        (out / "recovered").mkdir(exist_ok=True)
        for i, img in enumerate(x_hat):
            a = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
            Image.fromarray(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)).save(out / "recovered" / f"{i:05d}.png")
    if images is not None:
        from .plotting import recovery_grid

        k = min(8, n_images)
        recovery_grid([("truth", images[:k].cpu()), ("recovered", torch.from_numpy(x_hat[:k]))], out / "figure.png")
    return x_hat
