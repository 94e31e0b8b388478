"""Regenerate the sample sets bundled in ganprior/samples/ from the full datasets.

Usage::

    python tools/make_samples.py [DATA_ROOT]

DATA_ROOT holds mnist/, fashion_mnist/ and celeba/ (default: ganprior.data.default_data_root(),
$GANPRIOR_DATA, else ../shared/data beside the repository).  Writes uint8 arrays: mnist_test300.npz and
fashion_test300.npz (first 300 test
images, images (300, 1, 28, 28), labels (300,)), celeba_test64.npz (the CSGM paper's 64 test faces,
images (64, 3, 64, 64) with the 108-pixel centre crop, labels = the image ids 182638-182701).
"""

import sys
from pathlib import Path

import numpy as np

from ganprior import data

REPO = Path(__file__).resolve().parents[1]


def _u8(x):
    return np.round(x.numpy() * 255.0).astype(np.uint8)


def main(root=None):
    root = Path(root) if root else data.default_data_root()
    out = REPO / "ganprior" / "samples"
    out.mkdir(parents=True, exist_ok=True)
    for name, loader, sub in (("mnist_test300", data.load_mnist, "mnist"),
                              ("fashion_test300", data.load_fashion_mnist, "fashion_mnist")):
        x, y = loader(root / sub, "test")
        np.savez_compressed(out / f"{name}.npz", images=_u8(x[:300]), labels=y[:300].numpy().astype(np.uint8))
        print(f"wrote {out / name}.npz: {tuple(x[:300].shape)}")
    faces, ids = data.load_celeba(root / "celeba", "test64", size=64, return_ids=True, as_uint8=True)
    np.savez_compressed(out / "celeba_test64.npz", images=faces.numpy(),
                        labels=np.array([int(i) for i in ids], dtype=np.int64))
    print(f"wrote {out / 'celeba_test64.npz'}: {tuple(faces.shape)}, ids {ids[0]}-{ids[-1]}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
