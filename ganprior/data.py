"""Dataset readers that never download, and the small sample sets bundled with the package.

Full datasets live outside the package.  Each reader takes ``root`` (a folder
holding the files) or, when ``root`` is None, reads ``$GANPRIOR_DATA/<name>/``
(``mnist/``, ``fashion_mnist/``, ``celeba/``).  A missing file raises
:class:`FileNotFoundError` naming the files expected and the folders searched.

Every reader returns float32 tensors of shape ``(N, C, H, W)`` in ``[0, 1]``
(MNIST-style readers also return int64 labels).  :func:`load_images` reads a user's own images (a folder of
image files, a ``.npy`` or ``.npz`` array) for a prior: at its shape, in its data range.

Bundled samples (:func:`load_sample`): ``"mnist_test300"`` and
``"fashion_test300"`` (first 300 test images, 1x28x28) and ``"celeba_test64"``
(the 64 CelebA test faces of the CSGM paper, ids 182638-182701, 3x64x64 with the
paper's 108-pixel centre crop).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
import torch

from ._validation import check_choice, check_float, check_int, describe

__all__ = [
    "celeba_crop_resize",
    "data_root",
    "default_data_root",
    "list_samples",
    "load_celeba",
    "load_fashion_mnist",
    "load_image_folder",
    "load_images",
    "load_mnist",
    "load_sample",
]

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_CELEBA_FILES = {"10k": "celeba_10k_89x109.zip", "test64": "celeba_test64_178x218.zip"}
_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
_SAMPLES = {"mnist_test300": "mnist_test300.npz", "fashion_test300": "fashion_test300.npz",
            "celeba_test64": "celeba_test64.npz"}


DATA_ENV = "GANPRIOR_DATA"  # the environment variable naming the folder that holds mnist/, fashion_mnist/, celeba/


def _checkout() -> Path | None:
    """The repository checkout ganprior is imported from (the folder above the package, holding ``.git`` or
    ``pyproject.toml``), or None when ganprior is an installed package."""
    top = Path(__file__).resolve().parents[1]
    return top if (top / ".git").exists() or (top / "pyproject.toml").is_file() else None


def default_data_root() -> Path:
    """The folder holding the full datasets (``mnist/``, ``fashion_mnist/``, ``celeba/``) for scripts and tests.

    The rule: ``$GANPRIOR_DATA`` when set, else ``../shared/data`` beside the repository checkout ganprior is
    imported from (the folder ``shared/data`` next to the checkout's top folder, whether or not it exists).  An
    installed ganprior (in ``site-packages``) has no repository beside it, so there ``$GANPRIOR_DATA`` must be set.
    The dataset readers (:func:`load_mnist` and the others) do not use this fallback: with no ``root`` they read
    ``$GANPRIOR_DATA`` only (:func:`data_root`).

    Returns
    -------
    pathlib.Path
        The data root.

    Raises
    ------
    FileNotFoundError
        If ``$GANPRIOR_DATA`` is unset and ganprior is not imported from a repository checkout.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    checkout = _checkout()
    if checkout is None:
        raise FileNotFoundError(f"No data root: set {DATA_ENV} to the folder holding mnist/, fashion_mnist/ and "
                                f"celeba/ (ganprior is installed at {str(Path(__file__).resolve().parent)!r}, "
                                "not imported from a repository checkout, so there is no ../shared/data beside it).")
    return checkout.parent / "shared" / "data"


def data_root(subdir: str, root=None) -> list[Path]:
    """Folders searched for a dataset: ``root`` and ``root/subdir`` if given, else ``$GANPRIOR_DATA/subdir``.

    Parameters
    ----------
    subdir : str
        The dataset's folder name, e.g. ``"mnist"``.
    root : str or os.PathLike, optional
        A folder given by the caller.

    Returns
    -------
    list of pathlib.Path
        The candidate folders in the order they are searched; empty when
        ``root`` is None and ``$GANPRIOR_DATA`` is unset.

    Raises
    ------
    TypeError
        If ``root`` is not a path.
    """
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"The 'root' parameter must be a path (str or os.PathLike) or None. "
                            f"Got {describe(root)} instead.")
        root = Path(root)
        return [root, root / subdir]
    env = os.environ.get(DATA_ENV)
    if not env:
        return []
    return [Path(env) / subdir]


def _missing(what: str, files, folders, subdir: str) -> FileNotFoundError:
    where = ", ".join(str(f) for f in folders) if folders else "nowhere (no 'root' given and $GANPRIOR_DATA unset)"
    return FileNotFoundError(
        f"{what} not found: expected {', '.join(files)} in {where}. ganprior never downloads data: put the files "
        f"in a folder and pass it as 'root', or set GANPRIOR_DATA so that they lie in $GANPRIOR_DATA/{subdir}/."
    )


def _find(folders, name):
    """Path of ``name`` (or ``name.gz`` / without ``.gz``) in the first folder that has it."""
    for folder in folders:
        for cand in (name + ".gz", name):
            p = folder / cand
            if p.is_file():
                return p
    return None


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte idx file (bad magic number).")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(np.int64)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: header says {tuple(dims)}, found {data.size} bytes.")
    return data.reshape(tuple(dims))


def _load_idx_dataset(subdir, what, root, split):
    check_choice(split, "split", _IDX_FILES)
    folders = data_root(subdir, root)
    img_name, lab_name = _IDX_FILES[split]
    img_path, lab_path = _find(folders, img_name), _find(folders, lab_name)
    if img_path is None or lab_path is None:
        raise _missing(f"{what} ({split} split)", [img_name + ".gz", lab_name + ".gz"], folders, subdir)
    images = _read_idx(img_path)
    labels = _read_idx(lab_path)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{img_path} holds {images.shape[0]} images but {lab_path} {labels.shape[0]} labels.")
    x = torch.from_numpy(images.copy()).unsqueeze(1).float().div_(255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def load_mnist(root=None, split: str = "train"):
    """MNIST from the standard idx files (``train-images-idx3-ubyte.gz`` etc.).

    Parameters
    ----------
    root : path or None
        Folder holding the files (or holding ``mnist/``); None reads ``$GANPRIOR_DATA/mnist/``.
    split : {"train", "test"}
        The 60,000 training or the 10,000 test images.

    Returns
    -------
    images : torch.Tensor
        float32, shape ``(N, 1, 28, 28)``, values in [0, 1] (N = 60000 or 10000).
    labels : torch.Tensor
        int64, shape ``(N,)``.
    """
    return _load_idx_dataset("mnist", "MNIST", root, split)


def load_fashion_mnist(root=None, split: str = "train"):
    """Fashion-MNIST from the standard idx files; as :func:`load_mnist` but ``$GANPRIOR_DATA/fashion_mnist/``.

    Parameters
    ----------
    root : path or None
        Folder holding the files (or holding ``fashion_mnist/``); None reads
        ``$GANPRIOR_DATA/fashion_mnist/``.
    split : {"train", "test"}
        The 60,000 training or the 10,000 test images.

    Returns
    -------
    images : torch.Tensor
        float32, shape ``(N, 1, 28, 28)``, values in [0, 1].
    labels : torch.Tensor
        int64, shape ``(N,)``.

    Raises
    ------
    FileNotFoundError
        If the files are not found (the message names them and the folders searched).
    """
    return _load_idx_dataset("fashion_mnist", "Fashion-MNIST", root, split)


def celeba_crop_resize(image, size: int = 64, crop: float = 108.0, reference_width: float = 178.0) -> np.ndarray:
    """The CSGM / DCGAN CelebA preprocessing of one PIL image: centre crop, then resize to ``size x size``.

    Parameters
    ----------
    image : PIL.Image.Image
        An aligned CelebA face (any mode; converted to RGB).
    size : int
        Output side in pixels (default 64).
    crop : float
        Side of the square crop on an image ``reference_width`` pixels wide
        (default 108, the paper's).
    reference_width : float
        Width the ``crop`` refers to (default 178, the aligned images).

    Returns
    -------
    numpy.ndarray
        uint8, shape ``(size, size, 3)``.

    Notes
    -----
    The square crop side is ``crop * width / reference_width`` (108 px on the
    178x218 aligned images, 54 px on the 89x109 ones), centred exactly (the box
    may have fractional corners); the crop is resampled to ``size x size`` with
    PIL's antialiased bicubic filter.
    """
    from PIL import Image

    image = image.convert("RGB")
    w, h = image.size
    side = crop * w / reference_width
    box = ((w - side) / 2.0, (h - side) / 2.0, (w + side) / 2.0, (h + side) / 2.0)
    out = image.resize((size, size), resample=Image.BICUBIC, box=box, reducing_gap=None)
    return np.asarray(out, dtype=np.uint8)


def _decode_all(items, size, square):
    """items: iterable of (name, bytes-loader) -> uint8 array (N, 3|C, size, size)."""
    from PIL import Image

    arrays = []
    for _, load in items:
        with Image.open(io.BytesIO(load())) as im:
            if square:
                arr = celeba_crop_resize(im, size)
            else:
                im = im.convert("RGB")
                arr = np.asarray(im.resize((size, size), resample=Image.BICUBIC), dtype=np.uint8)
        arrays.append(arr)
    if not arrays:
        return np.zeros((0, 3, size, size), dtype=np.uint8)
    return np.stack(arrays).transpose(0, 3, 1, 2)


def _image_members(names):
    return sorted((n for n in names if n.lower().endswith(_IMAGE_EXTS) and not n.endswith("/")),
                  key=lambda n: os.path.basename(n))


def load_celeba(root=None, which: str = "10k", size: int = 64, return_ids: bool = False, as_uint8: bool = False):
    """CelebA aligned faces with the CSGM paper's preprocessing (centre crop 108/178 of the width, resize).

    Reads ``celeba_10k_89x109.zip`` (``which="10k"``: 10,000 images at 89x109) or
    ``celeba_test64_178x218.zip`` (``which="test64"``: the paper's 64 test faces,
    ids 182638-182701, at 178x218), or a folder of the extracted images
    (``root`` itself, or ``root/celebA`` / ``root/celebAtest``).  Images are
    sorted by file name.

    Parameters
    ----------
    root : path or None
        Folder holding the zip (or ``celeba/``); None reads ``$GANPRIOR_DATA/celeba/``.
    which : {"10k", "test64"}
        The 10,000 training faces or the paper's 64 test faces.
    size : int
        Output side in pixels.
    return_ids : bool
        Also return the file stems (e.g. ``"182638"``) as a list.
    as_uint8 : bool
        Return uint8 in [0, 255] instead of float32 in [0, 1] (4x less memory).

    Returns
    -------
    images : torch.Tensor
        ``(N, 3, size, size)``, float32 in [0, 1] (uint8 with ``as_uint8``).
    """
    check_choice(which, "which", _CELEBA_FILES)
    size = check_int(size, "size", minimum=1)
    folders = data_root("celeba", root)
    zip_name = _CELEBA_FILES[which]
    sub = "celebA" if which == "10k" else "celebAtest"
    zpath = None
    for folder in folders:
        if (folder / zip_name).is_file():
            zpath = folder / zip_name
            break
    if zpath is not None:
        with zipfile.ZipFile(zpath) as zf:
            names = _image_members(zf.namelist())
            arr = _decode_all([(n, (lambda n=n: zf.read(n))) for n in names], size, True)
    else:
        files = []
        for folder in folders:
            for cand in (folder / sub, folder):
                if cand.is_dir():
                    files = _image_members(str(p) for p in cand.iterdir())
                    if files:
                        break
            if files:
                break
        if not files:
            raise _missing(f"CelebA ({which})", [zip_name, f"or a folder {sub}/ of .jpg files"], folders, "celeba")
        arr = _decode_all([(n, (lambda n=n: Path(n).read_bytes())) for n in files], size, True)
        names = files
    x = torch.from_numpy(arr)
    if not as_uint8:
        x = x.float().div_(255.0)
    if return_ids:
        return x, [os.path.splitext(os.path.basename(n))[0] for n in names]
    return x


_DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N")  # 16-bit grey: full white is 65535


def _image_values(im, name, scale):
    """One opened PIL image as an RGB ``PIL.Image`` (8-bit modes) or a float32 ``(H, W, 3)`` array in [0, 1].

    Every mode is read with its own bit depth; a mode whose full white the file does not tell ('I': 32-bit
    integers, 'F': floats) is divided by ``scale`` ('F' may also come in [0, 1]).  Transparent pixels are
    refused: ganprior will not guess a background.
    """
    mode = im.mode
    bands = im.getbands()
    if "A" in bands or "a" in bands or ("transparency" in im.info and mode in ("1", "L", "P", "RGB")):
        try:
            rgba = im.convert("RGBA")
        except ValueError as err:
            raise ValueError(f"The image {name!r} has Pillow mode {mode!r}, which cannot be converted to RGBA: "
                             f"{err}") from None
        low = rgba.getchannel("A").getextrema()[0]
        if low < 255:
            raise ValueError(f"The image {name!r} has transparent pixels (mode {mode!r}, alpha down to {low} of "
                             "255); ganprior does not guess a background: flatten it onto one (e.g. PIL's "
                             "Image.alpha_composite) or save it without alpha.")
        return rgba.convert("RGB")
    if mode in _DEEP_MODES or (mode == "I" and im.format == "PNG"):  # older Pillow reads 16-bit PNG as 'I'
        arr = np.asarray(im)
        if "transparency" in im.info and (arr == im.info["transparency"]).any():
            raise ValueError(f"The image {name!r} has transparent pixels (mode {mode!r}, a transparent grey level "
                             f"{im.info['transparency']}); ganprior does not guess a background: save it "
                             "without transparency.")
        arr = arr.astype(np.float32) / np.float32(65535.0)
    elif mode in ("I", "F"):
        arr = np.asarray(im).astype(np.float64)
        if scale is not None:
            arr = arr / scale
        elif mode == "I":
            raise ValueError(f"The image {name!r} holds 32-bit integers (mode 'I'), whose full white the file does "
                             "not tell; pass scale= (the value of full white, e.g. scale=65535 or scale=4095).")
        if not np.isfinite(arr).all():
            raise ValueError(f"The image {name!r} has values that are not finite (mode {mode!r}).")
        if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
            how = f"divided by scale={scale:g}" if scale is not None else "without a scale"
            raise ValueError(f"The image {name!r} (mode {mode!r}) has values in [{arr.min():.6g}, {arr.max():.6g}] "
                             f"{how}, outside [0, 1]; pass scale= (the value of full white, e.g. scale=255).")
        arr = arr.astype(np.float32)
    elif ";" in mode:
        raise ValueError(f"The image {name!r} has Pillow mode {mode!r}, which ganprior does not read; save it as "
                         "8- or 16-bit grey or 8-bit RGB.")
    else:
        try:
            return im.convert("RGB")  # 1, L, P (through its palette), RGB, RGBX, CMYK, YCbCr, LAB, HSV
        except ValueError as err:
            raise ValueError(f"The image {name!r} has Pillow mode {mode!r}, which cannot be converted to RGB: "
                             f"{err}") from None
    return np.repeat(arr[..., None], 3, axis=2)


def _square_resize(values, size):
    """Centre square crop and antialiased bicubic resize: uint8 ``(size, size, 3)`` or float32 in [0, 1]."""
    from PIL import Image

    h, w = (values.size[1], values.size[0]) if isinstance(values, Image.Image) else values.shape[:2]
    s = min(w, h)
    box = ((w - s) / 2.0, (h - s) / 2.0, (w + s) / 2.0, (h + s) / 2.0)
    if isinstance(values, Image.Image):
        return np.asarray(values.resize((size, size), resample=Image.BICUBIC, box=box), dtype=np.uint8)
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(values[..., c])).resize(
        (size, size), resample=Image.BICUBIC, box=box)) for c in range(values.shape[2])]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0).astype(np.float32)


def load_image_folder(path, size: int, as_uint8: bool = False, scale=None) -> torch.Tensor:
    """Every image file in ``path`` (not recursive), sorted by name, as RGB resized to ``size x size``.

    Hidden files (a name starting with ``"."``, such as macOS's ``._x.png``) and entries that are not
    files (a folder named ``x.png``) are skipped.

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    size : int
        Output side in pixels.
    as_uint8 : bool
        Return uint8 in [0, 255] instead of float32 in [0, 1].
    scale : float, optional
        The value of full white in images whose file does not tell it: 32-bit integer (Pillow mode ``"I"``) and
        float (``"F"``, e.g. float TIFF) images are divided by it.  Without it, ``"F"`` images must lie in
        [0, 1] and ``"I"`` images are refused.  Other modes ignore it.

    Returns
    -------
    torch.Tensor
        ``(N, 3, size, size)``, float32 in [0, 1] (uint8 with ``as_uint8``).

    Raises
    ------
    FileNotFoundError
        If the folder does not exist or holds no image file.
    ValueError
        If an image cannot be read as it is (the message names the file and why): a file that cannot be
        decoded (``"Cannot read the image 'DIR/x.png': ..."``: truncated, not an image), transparent pixels,
        values outside [0, 1], a mode without a known full white and no ``scale``.

    Notes
    -----
    Each mode is read with its true bit depth: 1-bit as 0 / 1, 8-bit modes (``"L"``, ``"P"`` through its
    palette, ``"RGB"``, ``"CMYK"``, ``"YCbCr"``, ...) over 255, 16-bit grey (``"I;16"``, ``"I;16B"``, ...) over
    65535; grey images give three equal channels.  An alpha channel (or a palette's transparent colour) is
    dropped when every pixel is opaque, else the image is refused: a background would be a guess.
    Non-square images are centre-cropped to a square first (side = the shorter edge), then resized with PIL's
    antialiased bicubic filter (16-bit and float images in float, clipped to [0, 1]).
    """
    return _read_image_folder(path, size, as_uint8, scale)[0]


def _read_image_folder(path, size, as_uint8=False, scale=None):
    """:func:`load_image_folder`, and the names of the files read, in order (one listing of the folder)."""
    from PIL import Image

    owner = "load_image_folder"
    size = check_int(size, "size", minimum=1, owner=owner)
    if scale is not None:
        scale = check_float(scale, "scale", minimum=0.0, strict=True, owner=owner)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The 'path' parameter of {owner} must be a path. Got {describe(path)} instead.")
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"The image folder {str(folder)!r} does not exist.")
    files = _image_members(str(p) for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())
    if not files:
        raise FileNotFoundError(f"No image files ({', '.join(_IMAGE_EXTS)}) found in {str(folder)!r} (hidden files "
                                "and sub-folders are skipped).")
    arrays = []
    for name in files:
        try:
            with Image.open(name) as im:
                arr = _square_resize(_image_values(im, name, scale), size)
        except (OSError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError) as err:
            reason = " ".join(str(err).split()) or type(err).__name__
            raise ValueError(f"Cannot read the image {name!r}: {reason}") from None
        if as_uint8:
            arr = arr if arr.dtype == np.uint8 else (arr * 255.0).round().astype(np.uint8)
        else:
            arr = arr.astype(np.float32) / np.float32(255.0) if arr.dtype == np.uint8 else arr
        arrays.append(arr)
    return torch.from_numpy(np.stack(arrays).transpose(0, 3, 1, 2).copy()), [os.path.basename(n) for n in files]


def list_samples() -> list[str]:
    """Names of the bundled sample sets, sorted.

    Returns
    -------
    list of str
        Each can be given to :func:`load_sample`.
    """
    return sorted(_SAMPLES)


def load_sample(name: str, return_labels: bool = False):
    """A bundled sample set as float32 images ``(N, C, H, W)`` in [0, 1].

    Parameters
    ----------
    name : {"celeba_test64", "fashion_test300", "mnist_test300"}
        ``"mnist_test300"`` / ``"fashion_test300"``: the first 300 test images
        (1x28x28).  ``"celeba_test64"``: the CSGM paper's 64 CelebA test faces
        (3x64x64, the paper's crop), sorted by id (182638-182701).
    return_labels : bool
        Also return the int64 labels (MNIST, Fashion-MNIST) or the image ids
        (CelebA).

    Returns
    -------
    images : torch.Tensor
        float32, ``(N, C, H, W)``, values in [0, 1].
    labels : torch.Tensor
        int64, ``(N,)``; only with ``return_labels``.

    Raises
    ------
    ValueError
        If ``name`` is not a bundled sample set (the message lists them).

    Examples
    --------
    >>> from ganprior.data import load_sample
    >>> load_sample("mnist_test300").shape
    torch.Size([300, 1, 28, 28])
    """
    check_choice(name, "name", _SAMPLES, owner="load_sample")
    path = _SAMPLES_DIR / _SAMPLES[name]
    if not path.is_file():
        raise FileNotFoundError(f"The bundled sample file {str(path)!r} is missing from this installation; "
                                "regenerate it with tools/make_samples.py.")
    with np.load(path) as f:
        images = torch.from_numpy(f["images"].copy()).float().div_(255.0)
        labels = torch.from_numpy(f["labels"].astype(np.int64)) if return_labels else None
    return (images, labels) if return_labels else images


def load_images(path, image_shape, *, data_range=(0.0, 1.0), scale=None, return_names=False):
    """Images from a folder of image files or a ``.npy`` / ``.npz`` array, as float32 ``(N, *image_shape)``.

    Parameters
    ----------
    path : str or os.PathLike
        A folder (every PNG / JPEG / ... file, sorted by name, hidden files and sub-folders skipped, read
        with its true bit depth by :func:`ganprior.data.load_image_folder`; resized to the prior's size;
        averaged to one channel for a one-channel prior), a ``.npy`` file or a ``.npz`` file (its array ``"x"``, else its first array) of
        shape ``(N, C, H, W)`` or ``(N, H, W)``.
    image_shape : tuple of int
        ``(C, H, W)`` of the prior.
    data_range : (float, float)
        The prior's data range (``G.data_range``): black and full white of images and of integer arrays
        are mapped linearly onto it, and float arrays must lie in it.
    scale : float, optional
        The stored value of full white (e.g. ``255`` for floats in 0..255): the values are divided by it,
        then mapped from [0, 1] onto ``data_range``.  Needed for integer arrays other than uint8 / uint16,
        float arrays stored in another range, and 32-bit integer or float image files.
    return_names : bool
        Also return one name per image: its file name, or ``"x.npy[i]"`` for an array.

    Returns
    -------
    torch.Tensor or (torch.Tensor, list of str)
        float32 ``(N, *image_shape)`` in ``data_range`` (and the names).

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing path, no images, arrays of another shape or dtype, or values outside ``data_range``
        or not finite, or a file that cannot be read (the message names the file and how to give a ``scale``).

    Notes
    -----
    Without ``scale``: bool, uint8 and uint16 arrays are read by their dtype's range (full white 1, 255,
    65535), other integer dtypes are refused (an int64 array's full scale is not its dtype's), and float
    arrays are taken as they are.
    """
    owner = "load_images"
    try:
        lo, hi = (float(v) for v in data_range)
    except (TypeError, ValueError):
        raise TypeError(f"The 'data_range' parameter of {owner} must be a pair (low, high). "
                        f"Got {describe(data_range)} instead.") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"The 'data_range' parameter of {owner} must be a finite pair with low < high. "
                         f"Got {data_range!r} instead.")
    if scale is not None:
        scale = check_float(scale, "scale", minimum=0.0, strict=True, owner=owner)
    p = Path(path)
    C, H, W = image_shape
    if p.is_dir():
        if H != W:
            raise ValueError(f"Images from a folder are resized to squares; the prior makes {image_shape}.")
        x, names = _read_image_folder(p, H, scale=scale)  # hidden files skipped, an unreadable file named
        if C == 1:
            x = x.mean(dim=1, keepdim=True)
        x = x if (lo, hi) == (0.0, 1.0) else x * (hi - lo) + lo
        return (x, names) if return_names else x
    if not p.is_file():
        raise FileNotFoundError(f"No image folder or .npy / .npz file at {str(p)!r}.")
    if p.suffix not in (".npy", ".npz"):
        raise ValueError(f"Expected a folder, a .npy or a .npz file; got {str(p)!r}.")
    try:
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as f:
                arr = f["x"] if "x" in f.files else f[f.files[0]]
        else:
            arr = np.load(p, allow_pickle=False)
    except (OSError, ValueError, IndexError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"The file {str(p)!r} cannot be read as an array: {err}") from None
    white = scale
    if white is None and arr.dtype.kind in "bu" and arr.dtype.itemsize <= 2:
        white = float(np.iinfo(arr.dtype).max) if arr.dtype.kind == "u" else 1.0
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"The images in {str(p)!r} have dtype {arr.dtype}; expected floats or integers.")
    if white is None and arr.dtype.kind != "f":
        raise ValueError(f"The images in {str(p)!r} are {arr.dtype} integers, whose full white is not their dtype's "
                         "maximum; pass scale= (the value of full white, e.g. scale=255).")
    arr = arr.astype(np.float64) * ((hi - lo) / white) + lo if white is not None else arr
    x = torch.from_numpy(np.ascontiguousarray(arr)).float()
    if x.ndim == 3 and C == 1:
        x = x[:, None]
    if tuple(x.shape[1:]) != tuple(image_shape):
        raise ValueError(f"The images in {str(p)!r} have shape {tuple(x.shape[1:])}; the prior makes {image_shape}.")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"The images in {str(p)!r} have values that are not finite.")
    if x.numel() and (float(x.min()) < lo - 1e-6 * (hi - lo) or float(x.max()) > hi + 1e-6 * (hi - lo)):
        how = f" after scale={scale:g}" if scale is not None else ""
        raise ValueError(f"The images in {str(p)!r} have values in [{float(x.min()):.6g}, {float(x.max()):.6g}]"
                         f"{how}, outside the prior's data range ({lo}, {hi}); pass scale= (the stored value of "
                         "full white, e.g. scale=255 for values in 0..255) or rescale them.")
    return (x, [f"{p.name}[{i}]" for i in range(len(x))]) if return_names else x
