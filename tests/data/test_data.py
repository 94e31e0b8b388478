"""Dataset readers on the real files (../shared/data beside the repo, or $GANPRIOR_DATA) and bundled samples."""

import numpy as np
import pytest
import torch
from conftest import require_data

from ganprior import data

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_mnist_test_split():
    root = require_data("mnist")
    x, y = data.load_mnist(root / "mnist", "test")
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (10000,) and y.dtype == torch.int64
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert 0.12 < float(x.mean()) < 0.14  # MNIST mean intensity 0.1325
    assert y[:5].tolist() == [7, 2, 1, 0, 4]
    assert torch.bincount(y).tolist() == MNIST_TEST_COUNTS


def test_mnist_train_via_env_var(monkeypatch):
    root = require_data("mnist")
    monkeypatch.setenv("GANPRIOR_DATA", str(root))
    x, y = data.load_mnist()  # root from $GANPRIOR_DATA/mnist
    assert x.shape == (60000, 1, 28, 28)
    assert torch.bincount(y).tolist() == MNIST_TRAIN_COUNTS
    assert y[:3].tolist() == [5, 0, 4]


def test_fashion_mnist():
    root = require_data("fashion_mnist")
    x, y = data.load_fashion_mnist(root, "test")  # root may also be the parent of fashion_mnist/
    assert x.shape == (10000, 1, 28, 28)
    assert torch.bincount(y).tolist() == [1000] * 10
    assert y[:3].tolist() == [9, 2, 1]
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_celeba_test64_order_crop_and_range():
    root = require_data("celeba")
    x, ids = data.load_celeba(root / "celeba", "test64", return_ids=True)
    assert x.shape == (64, 3, 64, 64) and x.dtype == torch.float32
    assert ids == [str(i) for i in range(182638, 182702)]
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0 and float(x.std()) > 0.15
    # the paper's crop: 108x108 box at (35, 55) in the 178x218 image, then 64x64 bicubic
    import zipfile
    from io import BytesIO

    from PIL import Image

    with zipfile.ZipFile(root / "celeba" / "celeba_test64_178x218.zip") as zf:
        im = Image.open(BytesIO(zf.read("celebAtest/182638.jpg"))).convert("RGB")
    assert im.size == (178, 218)
    ref = np.asarray(im.crop((35, 55, 143, 163)).resize((64, 64), Image.BICUBIC), dtype=np.float32) / 255
    got = x[0].permute(1, 2, 0).numpy()
    # resizing with a crop box lets the bicubic kernel see the pixels just outside the box, so the
    # border pixels differ by a few levels; a misplaced crop (even by 1 px) differs by far more
    assert np.abs(got - ref).max() <= 4 / 255
    assert np.abs(got - ref).mean() < 0.3 / 255
    shifted = np.asarray(im.crop((36, 55, 144, 163)).resize((64, 64), Image.BICUBIC), dtype=np.float32) / 255
    assert np.abs(got - shifted).mean() > 2 * np.abs(got - ref).mean()


def test_celeba_10k_uint8():
    root = require_data("celeba")
    x = data.load_celeba(root / "celeba", "10k", size=32, as_uint8=True)
    assert x.shape == (10000, 3, 32, 32) and x.dtype == torch.uint8
    assert 60 < float(x.float().mean()) < 160


def test_missing_files_name_what_and_where(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz.*" + str(tmp_path)):
        data.load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz"):
        data.load_fashion_mnist(tmp_path, split="test")
    with pytest.raises(FileNotFoundError, match="celeba_test64_178x218.zip"):
        data.load_celeba(tmp_path, "test64")
    monkeypatch.delenv("GANPRIOR_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="GANPRIOR_DATA"):
        data.load_mnist()
    with pytest.raises(ValueError, match=r"'split' parameter must be one of \['test', 'train'\]"):
        data.load_mnist(tmp_path, split="val")


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, (w, h) in (("b.png", (40, 30)), ("a.png", (20, 20))):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(tmp_path / name)
    Image.fromarray(np.full((20, 20, 3), 255, np.uint8)).save(tmp_path / "a.png")
    x = data.load_image_folder(tmp_path, 16)
    assert x.shape == (2, 3, 16, 16)
    assert float(x[0].min()) == 1.0  # sorted by name: the white a.png first
    assert float(x[1].std()) > 0.1


def test_bundled_samples():
    assert data.list_samples() == ["celeba_test64", "fashion_test300", "mnist_test300"]
    x, y = data.load_sample("mnist_test300", return_labels=True)
    assert x.shape == (300, 1, 28, 28) and x.dtype == torch.float32
    assert y[:5].tolist() == [7, 2, 1, 0, 4]
    f = data.load_sample("fashion_test300")
    assert f.shape == (300, 1, 28, 28) and 0 <= float(f.min()) and float(f.max()) <= 1
    faces, ids = data.load_sample("celeba_test64", return_labels=True)
    assert faces.shape == (64, 3, 64, 64) and ids.tolist() == list(range(182638, 182702))
    with pytest.raises(ValueError, match="celeba_test64"):
        data.load_sample("cifar")


def test_bundled_samples_equal_the_readers():
    root = require_data("mnist", "celeba")
    x, _ = data.load_mnist(root / "mnist", "test")
    assert torch.equal(data.load_sample("mnist_test300"), x[:300])
    faces = data.load_celeba(root / "celeba", "test64")
    assert torch.equal(data.load_sample("celeba_test64"), faces)
