r"""Recover whole datasets: measurements simulated from image files, recovered in chunks, sharded across processes.

:func:`recover_dataset` cuts ``N`` images into fixed chunks of ``chunk`` images.  Chunk ``c`` belongs
to process ``c mod W`` (``W`` processes, e.g. under ``torchrun``); each process measures its chunks
(a seeded operator shared by all, noise seeded per image, under any measurement model of
:mod:`ganprior.likelihoods`), recovers them with any registered method that takes the model
(per-image latent seeds ``seed + i``) and writes each chunk's results atomically to
``out/parts/<c>.npz``, with the job's settings and the names and content hashes of the chunk's images.
A rerun skips the chunks already written for the same images, so an interrupted job resumes where it
stopped; it recomputes a chunk whose images changed (added, removed, edited) or whose file is unreadable,
and refuses a folder written with other settings (the measurement model among them), naming what changed.
:func:`merge_dataset` collects the parts into ``x_hat.npy``, ``metrics.csv`` (per-image MSE and PSNR against the
images, and the error the model identifies: up to sign for magnitudes, of unit-norm images for signs), one PNG
per recovered image and a comparison figure.

Because chunks, seeds and operator do not depend on how many processes share the work, the merged
result is the same bitwise for any number of processes.  ``ganprior recover --images ...`` is the
command line (see :mod:`ganprior.cli.recover`).  Image files are read by :func:`ganprior.data.load_images`, and
the operator is :func:`ganprior.operators.measurement_operator`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from ._validation import check_float, check_int, describe
from .operators.factory import measurement_operator
from .plotting import save_figure

__all__ = ["recover_dataset", "merge_dataset"]

#: The error a measurement model identifies, beside the MSE (a column of ``metrics.csv``): magnitudes lose the
#: sign of x, signs its scale (a function of :mod:`ganprior.metrics`).
_MODEL_ERRORS = {"magnitude": "mse_up_to_sign", "sign": "normalized_mse"}


def image_noise(index, m, noise_norm=None, seed=None, **deprecated):
    """Per-image noise with norm about ``noise_norm`` (:math:`\\|\\eta\\|`; entries :math:`\\mathcal{N}(0,
    \\text{noise\\_norm}^2/m)`): seeded by (seed, image index), so it never depends on the sharding.  ``noise``
    is the old name of ``noise_norm`` (it warns once)."""
    noise_norm = _noise_norm("image_noise", noise_norm, deprecated)
    if seed is None:
        raise TypeError("image_noise() missing required argument: 'seed'")
    out = torch.empty(len(index), m)
    for j, i in enumerate(index):
        out[j] = torch.randn(m, generator=torch.Generator().manual_seed(_image_seed(seed, i)))
    return out * noise_norm / math.sqrt(m)


def _image_seed(seed, i):
    """The seed of image ``i``'s measurement noise in a job seeded by ``seed``: the same in every process."""
    return seed * 1_000_003 + int(i)


def _job_likelihood(likelihood, noise, operator, images, owner):
    """The job's measurement model, checked before any work: None for the Gaussian default (whose measurements
    and settings stay those of before, bitwise), else a :class:`~ganprior.likelihoods.Likelihood`."""
    from .likelihoods import get_likelihood
    from .operators.factory import NONNEGATIVE_OPERATORS

    model = get_likelihood(likelihood, owner=owner)
    if model.additive_noise and model.noise_std != 0.0:
        raise ValueError(f"The 'likelihood' parameter of {owner} has noise_std={model.noise_std}; the noise of a "
                         f"dataset job is 'noise_norm' (per image): give {type(model).__name__}() and noise_norm.")
    if model.gaussian:
        return None
    if model.name in ("sign", "poisson") and noise != 0.0:
        raise ValueError(f"The 'noise_norm' parameter of {owner} must be 0 with likelihood={model.name!r}, whose "
                         "noise is the model's own (" + ("Sign(flip=...): signs flipped at random" if model.name ==
                         "sign" else "the Poisson draw of the counts") + f"). Got {noise}.")
    if model.name == "poisson":
        if operator not in NONNEGATIVE_OPERATORS:
            raise ValueError(f"The 'operator' parameter of {owner} must be one of {list(NONNEGATIVE_OPERATORS)} with "
                             f"likelihood='poisson' (counts need rates A x >= 0). Got {operator!r}.")
        if float(images.min()) < 0.0:
            raise ValueError(f"The 'images' parameter of {owner} must be >= 0 with likelihood='poisson' (intensities"
                             f" of counts); got values down to {float(images.min()):.6g}: a prior whose data range "
                             "is not >= 0 cannot render counts.")
    return model


def _measure(A, x, index, model, noise_norm, seed):
    r"""The measurements of the images ``x`` (numbers ``index`` in the job): :math:`y = Ax +` :func:`image_noise`
    for the Gaussian default (``model`` None), else each image measured alone by ``A.measure`` with the model
    (additive ones with noise of norm ``noise_norm``), seeded by (seed, image number), so that the measurements of
    an image never depend on the chunk it is in."""
    if model is None:
        return A(x) + image_noise(index, A.m, noise_norm, seed).to(x.device)
    draw = type(model).from_norm(noise_norm, A.m) if model.additive_noise else model
    return torch.cat([A.measure(x[j:j + 1], draw, seed=_image_seed(seed, i)) for j, i in enumerate(index)])


def _noise_norm(owner, noise_norm, deprecated, default=None):
    """``noise_norm``, or its old name ``noise`` (the norm of the noise, beside the per-entry ``noise_std`` of
    ``recover``; it warns once), or ``default``; both given: refused."""
    from .solvers.settings import merge_renamed

    value = merge_renamed(owner, {"noise_norm": noise_norm}, deprecated, {"noise": "noise_norm"})["noise_norm"]
    if value is None and default is None:
        raise TypeError(f"{owner}() missing required argument: 'noise_norm'")
    return default if value is None else value


def _part(out, c):
    return Path(out) / "parts" / f"{c:06d}.npz"


def _write_npz(path, **arrays):
    from .training._io import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(buf.getvalue(), path)


class OtherSettingsError(ValueError):
    """An output folder whose parts were computed with other settings; ``changes`` holds (name, was, now)."""

    def __init__(self, message, changes):
        super().__init__(message)
        self.changes = changes


def _settings(G, kwargs, **named):
    """What a part's results depend on besides its images, as text: named settings, G's weights, ``recover``'s."""
    from .training._io import state_digest

    prior = None if G is None else f"weights sha256 {state_digest(G.state_dict())[:16]}"
    return {k: repr(v) for k, v in {**named, "G": prior, **kwargs}.items() if v is not None}


def _digests(x):
    """SHA-256 of each image's pixels (dtype, shape and bytes): the identity of an image, whatever its name."""
    from .training._io import state_digest

    return [state_digest(img) for img in x.detach().cpu()]


def _read_part(path):
    """A part file's arrays, or the reason it cannot be read (a string)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            part = {k: f[k] for k in f.files}
        part["index"], part["x_hat"], part["mse"], part["psnr"]  # noqa: B018 (every part has them)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        return f"{type(err).__name__}: {err}"
    part["settings"] = json.loads(str(part["settings"])) if "settings" in part else None
    return part


def _check_settings(out, settings, owner):
    """Refuse an output folder any of whose readable parts was computed with other settings."""
    for path in sorted((Path(out) / "parts").glob("*.npz")):
        part = _read_part(path)
        if isinstance(part, str) or part["settings"] in (None, settings):
            continue  # unreadable or written before parts recorded their settings: recomputed
        old = part["settings"]
        changes = [(k, old.get(k, "unset"), settings.get(k, "unset")) for k in sorted({*old, *settings})
                   if old.get(k) != settings.get(k)]
        what = "; ".join(f"{k!r} was {a}, now {b}" for k, a, b in changes)
        raise OtherSettingsError(f"The 'out' folder {str(out)!r} of {owner} holds results computed with other settings "
                             f"({path.name}: {what}). Give another 'out', or delete {str(Path(out) / 'parts')!r} to "
                             "recompute everything.", changes)


def recover_dataset(images, G, *, m, out, operator="gaussian", noise_norm=None, method="csgm", chunk=64, seed=0,
                    rank=0, world_size=1, progress=False, names=None, likelihood=None, **kwargs) -> list[int]:
    """Measure and recover the chunks of a dataset that belong to this process; skip the chunks already done.

    A part records the settings and the names and content hashes (SHA-256 of the pixels) of its images.  A
    chunk whose part is missing, unreadable or holds other images (an image added, removed or edited) is
    recomputed, and parts past the last chunk are deleted; an ``out`` folder written with other settings is
    refused, so old results are never relabelled.

    Parameters
    ----------
    images : torch.Tensor
        ``(N, *G.image_shape)``, floating point, in G's data range (``G.data_range``; for a sparse baseline
        its ``data_range`` argument, default (0, 1), None for no check).  Integer tensors are refused rather
        than guessed at: convert uint8 images with ``images.float() / 255`` (for a (0, 1) range), or load
        files with :func:`~ganprior.data.load_images`, which maps them onto the data range.
    G : ganprior.Generator or str
        The prior (a latent method) or None for a sparse baseline.
    m : int
        Measurements per image.
    out : str or os.PathLike
        The output folder (``parts/`` holds one file per chunk).
    operator : {"gaussian", "subsampled-dct", "nonnegative", "identity"}
        The operator (:func:`~ganprior.operators.measurement_operator`, seeded by ``seed``, the same in every
        process); ``likelihood="poisson"`` needs ``"nonnegative"`` or ``"identity"`` (``m`` = the pixels).
    noise_norm : float, optional
        :math:`\\|\\eta\\|` per image, the norm of the noise (entries :math:`\\mathcal{N}(0,
        \\text{noise\\_norm}^2/m)`, seeded per image; default 0), added to :math:`Ax` (Gaussian) or
        :math:`|Ax|` (magnitude); must be 0 for signs and counts, whose noise is the model's own.  ``noise`` is its
        old name: it works, with a FutureWarning the first time.  (Not ``recover``'s ``noise_std``, the standard
        deviation of each entry.)
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
    names : list of str, optional
        One name per image (e.g. file names), recorded in the parts (default ``"#0"``, ``"#1"``, ...).
    likelihood : None, str or ganprior.likelihoods.Likelihood, optional
        The measurement model (``recover``'s ``likelihood``): None or ``"gaussian"`` (the default,
        :math:`y = Ax + \\eta`, bitwise the job of before), ``"magnitude"``, ``"sign"``, ``"poisson"``, or an
        instance with its parameters (``Poisson(photons=100)``, ``Sign(flip=0.05)``; an additive model's noise is
        ``noise_norm``, not its ``noise_std``).  Image ``i`` is measured alone by
        :meth:`A.measure <ganprior.operators.LinearOperator.measure>`, its noise seeded by (``seed``, ``i``), so
        its :math:`y` does not depend on the chunk or the process; the chunk is solved with the same model, which
        the parts record.
    **kwargs
        Passed to :func:`ganprior.recover` (engine settings, the method's arguments), but ``noise`` (above).

    Returns
    -------
    list of int
        The chunks this call computed.

    Raises
    ------
    TypeError, ValueError
        On bad input (a method that does not take the model, Poisson counts with an operator that is not
        :math:`\\ge 0`, noise given to signs or counts...), or an ``out`` folder written with other settings (the
        message names them), before any work.
    """
    from . import metrics
    from .solvers.recovery import recover
    from .solvers.registry import get_method

    owner = "recover_dataset"
    if not isinstance(images, torch.Tensor) or images.ndim < 2 or images.shape[0] == 0:
        raise TypeError(f"The 'images' parameter of {owner} must be a tensor (N, ...). Got {describe(images)}.")
    if not images.is_floating_point():
        raise TypeError(f"The 'images' parameter of {owner} must be a floating-point tensor in the prior's data "
                        f"range; integer images are not guessed at (convert uint8 images with images.float() / 255 "
                        f"for a (0, 1) range, or load files with load_images). Got {describe(images)}.")
    chunk = check_int(chunk, "chunk", minimum=1, owner=owner)
    world_size = check_int(world_size, "world_size", minimum=1, owner=owner)
    rank = check_int(rank, "rank", minimum=0, owner=owner)
    if rank >= world_size:
        raise ValueError(f"The 'rank' parameter of {owner} must be < world_size ({world_size}). Got {rank}.")
    noise = _noise_norm(owner, noise_norm, {k: kwargs.pop(k) for k in ("noise",) if k in kwargs}, default=0.0)
    noise = check_float(noise, "noise_norm", minimum=0.0, owner=owner)
    seed = check_int(seed, "seed", minimum=0, owner=owner)
    latent = get_method(method).kind == "latent" if method != "auto" else G is not None
    if latent:
        from ._convert import as_generator

        G = as_generator(G, None, owner)  # a prior's name is loaded once, not per chunk
    if not bool(torch.isfinite(images).all()):
        raise ValueError(f"The 'images' parameter of {owner} has values that are not finite.")
    data_range = G.data_range if latent else kwargs.get("data_range", (0.0, 1.0))  # a baseline's own clipping
    if data_range is not None:
        lo, hi = (float(v) for v in data_range)
        low, high = float(images.min()), float(images.max())
        if low < lo - 1e-6 * (hi - lo) or high > hi + 1e-6 * (hi - lo):
            raise ValueError(f"The 'images' parameter of {owner} must lie in the prior's data range ({lo}, {hi}). "
                             f"Got values in [{low:.6g}, {high:.6g}]; rescale them (e.g. images / 255 for 0..255).")
    N = images.shape[0]
    names = [f"#{i}" for i in range(N)] if names is None else [str(n) for n in names]
    if len(names) != N:
        raise ValueError(f"The 'names' parameter of {owner} must hold one name per image ({N}). "
                         f"Got {len(names)} instead.")
    model = _job_likelihood(likelihood, noise, operator, images, owner)
    if model is not None and method != "auto" and model.name not in get_method(method).likelihoods:
        raise ValueError(f"The 'likelihood' parameter of {owner} is {model.name!r}, which method={method!r} does not "
                         f"take (it takes {list(get_method(method).likelihoods)}; 'ganprior methods' lists them).")
    shape = tuple(images.shape[1:])
    A = measurement_operator(operator, m, shape, seed).to(images.device)
    settings = _settings(G if latent else None, kwargs, m=m, operator=operator, noise=noise, likelihood=model,
                         method=method, chunk=chunk, seed=seed)
    _check_settings(out, settings, owner)
    n_chunks = -(-N // chunk)
    for path in (Path(out) / "parts").glob("*.npz"):
        if not path.stem.isdigit() or int(path.stem) >= n_chunks:  # images removed: no chunk of theirs remains
            path.unlink(missing_ok=True)
    done = []
    for c in range(rank, n_chunks, world_size):
        path = _part(out, c)
        idx = list(range(c * chunk, min(N, (c + 1) * chunk)))
        digests = _digests(images[idx])
        part = _read_part(path) if path.exists() else None
        recorded = {} if part is None or isinstance(part, str) else {
            k: part[k].tolist() for k in ("index", "names", "digests") if k in part}
        if recorded == {"index": idx, "names": names[idx[0]:idx[-1] + 1], "digests": digests} and \
                part["settings"] == settings:
            continue
        why = "" if part is None else f" (recomputed: {part if isinstance(part, str) else 'its images changed'})"
        x = images[idx].float()
        y = _measure(A, x, idx, model, noise, seed)
        t = time.perf_counter()
        if latent:
            x_hat = recover(y, A, G, method=method, seed=[seed + i for i in idx], likelihood=model, **kwargs)
        else:
            x_hat = recover(y, A, method=method, likelihood=model, **kwargs)
        sec = time.perf_counter() - t
        x_hat, x = x_hat.reshape(x.shape).float().cpu(), x.cpu()
        extra = {}
        if model is not None and model.name in _MODEL_ERRORS:  # what the model identifies: x up to sign or scale
            extra = {"error_name": np.asarray(_MODEL_ERRORS[model.name]),
                     "error": getattr(metrics, _MODEL_ERRORS[model.name])(x_hat, x).numpy()}
        _write_npz(path, index=np.asarray(idx), x_hat=x_hat.numpy(), mse=metrics.mse(x_hat, x).numpy(),
                   psnr=metrics.psnr(x_hat, x).numpy(), seconds=np.asarray(sec), settings=np.asarray(json.dumps(
                       settings, sort_keys=True)), names=np.asarray(names[idx[0]:idx[-1] + 1]),
                   digests=np.asarray(digests), **extra)
        done.append(c)
        if progress:
            print(f"rank {rank}: chunk {c} (images {idx[0]}-{idx[-1]}) in {sec:.1f} s{why}", flush=True)
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
    ValueError
        If a part cannot be read (the message names it), the parts hold other images than ``images`` or
        than ``n_images`` images, or were computed with different settings.

    Notes
    -----
    ``metrics.csv`` holds ``image,mse,psnr`` per image and, for a job under a model that loses the sign or the
    scale of :math:`x`, the error it identifies: ``mse_up_to_sign`` (magnitudes,
    :func:`~ganprior.metrics.mse_up_to_sign`) or ``normalized_mse`` (signs, :func:`~ganprior.metrics.normalized_mse`).
    """
    from .training._io import atomic_write_bytes, atomic_write_text

    out = Path(out)
    parts = sorted((out / "parts").glob("*.npz"))
    rows, blocks, settings, error_names = [], [], set(), set()
    for p in parts:
        f = _read_part(p)
        if isinstance(f, str):
            raise ValueError(f"The part file {str(p)!r} cannot be read ({f}); delete it and rerun the same command "
                             "to recompute it.")
        if images is not None and f.get("digests", np.asarray([])).tolist() != _digests(images[f["index"]]):
            raise ValueError(f"The part file {str(p)!r} holds results of other images than the 'images' given to "
                             "merge_dataset; rerun the same command to recompute it.")
        settings.add(json.dumps(f["settings"], sort_keys=True))
        blocks.append((f["index"], f["x_hat"]))
        error_names.add(str(f["error_name"]) if "error" in f else None)
        rows += [(int(i), float(e), float(s), *([float(v)] if "error" in f else []))
                 for i, e, s, v in zip(f["index"], f["mse"], f["psnr"], f.get("error", f["mse"]))]
    have = sorted(r[0] for r in rows)
    if len(settings) > 1 or len(error_names) > 1:
        raise ValueError(f"The parts in {str(out / 'parts')!r} were computed with different settings; delete them "
                         "and rerun the command.")
    if have and (have[-1] >= n_images or len(set(have)) < len(have)):
        raise ValueError(f"The parts in {str(out / 'parts')!r} hold results for images up to index {have[-1]}, not "
                         f"for images 0 to {n_images - 1}; rerun the recovery command to bring them up to date.")
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
    w.writerow(["image", "mse", "psnr", *sorted(n for n in error_names if n)])
    for i, e, s, *v in sorted(rows):
        w.writerow([i, f"{e:.6g}", f"{s:.4f}", *(f"{u:.6g}" for u in v)])
    atomic_write_text(text.getvalue(), out / "metrics.csv")
    if png:
        from PIL import Image

        (out / "recovered").mkdir(exist_ok=True)
        for i, img in enumerate(x_hat):
            a = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)).save(buf, format="PNG")
            atomic_write_bytes(buf.getvalue(), out / "recovered" / f"{i:05d}.png")
    if images is not None:
        k = min(8, n_images)
        save_figure([("truth", images[:k].cpu()), ("recovered", torch.from_numpy(x_hat[:k]))], out / "figure.png")
    return x_hat
