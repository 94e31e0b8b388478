"""Tests that need the full datasets skip on a clone without them, and fail (never skip) under CI=true."""

import os
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, missing_dataset_files, require_data, running_under_ci

DATA_TESTS = ["tests/data/test_data.py", "tests/cli/test_priors_cli.py::test_error_vs_measurements_quick"]
N_DATA_TESTS = 7  # six reader tests in test_data.py and the benchmark smoke run


def test_require_data_skips_without_ci_and_fails_under_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPRIOR_DATA", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    assert missing_dataset_files(tmp_path, "mnist") == [
        "mnist/train-labels-idx1-ubyte.gz", "mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"]
    for value in ("", "false", "0"):
        monkeypatch.setenv("CI", value)
        assert not running_under_ci()
        with pytest.raises(pytest.skip.Exception, match=rf"dataset files not found under {tmp_path}.*t10k"):
            require_data("mnist")
    for value in ("true", "TRUE", "1"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.fail.Exception, match=r"CI=true but dataset files not found.*mnist/"):
            require_data("mnist")
    # uncompressed idx files count as present
    for f in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / "mnist" / f).write_bytes(b"")
    assert require_data("mnist") == tmp_path


def _run_data_tests(tmp_path, ci: bool):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(GANPRIOR_DATA=str(tmp_path / "empty"), PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1")
    if ci:
        env["CI"] = "true"
    (tmp_path / "empty").mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *DATA_TESTS],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_suite_without_datasets_skips_with_reasons(tmp_path):
    proc = _run_data_tests(tmp_path, ci=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"{N_DATA_TESTS} skipped" in proc.stdout and "failed" not in proc.stdout, proc.stdout[-3000:]
    reasons = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]  # -rs lists the reasons
    assert reasons and all("dataset files not found under" in line for line in reasons), reasons
    assert "FileNotFoundError" not in proc.stdout


def test_suite_without_datasets_fails_under_ci(tmp_path):
    proc = _run_data_tests(tmp_path, ci=True)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert f"{N_DATA_TESTS} failed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-3000:]
    assert "CI=true but dataset files not found" in proc.stdout


# Images loaded as they are (issue 39, class 3): every Pillow mode with its true bit depth, or refused with the
# reason; value ranges checked against the prior's data range, unless the caller gives a scale.

def _save(folder, name, image, **kw):
    folder.mkdir(exist_ok=True)
    image.save(folder / name, **kw)
    return folder / name


def test_every_image_mode_loads_with_its_true_depth_or_is_refused(tmp_path):
    import numpy as np
    import torch
    from PIL import Image

    from ganprior.data import load_image_folder

    rng = np.random.default_rng(0)
    a16 = rng.integers(0, 65536, (8, 8), dtype=np.uint16)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    grey = rgb[..., 0]
    opaque = np.full((8, 8, 1), 255, np.uint8)
    f32 = rng.random((8, 8), dtype=np.float32)
    cases = {  # mode: (image, save options, expected (H, W) or (H, W, 3) in [0, 1])
        "1": (Image.fromarray(grey > 127), {}, (grey > 127).astype(np.float32)),
        "L": (Image.fromarray(grey), {}, grey / 255.0),
        "RGB": (Image.fromarray(rgb), {}, rgb / 255.0),
        "RGBA": (Image.fromarray(np.concatenate([rgb, opaque], 2)), {}, rgb / 255.0),  # opaque: alpha dropped
        "LA": (Image.fromarray(np.concatenate([grey[..., None], opaque], 2), mode="LA"), {}, grey / 255.0),
        "P": (Image.fromarray(rgb).quantize(6), {}, None),  # through its palette
        "I;16": (Image.fromarray(a16), {}, a16 / 65535.0),
        "I;16B": (Image.frombytes("I;16B", (8, 8), a16.astype(">u2").tobytes()), {}, a16 / 65535.0),
        "F": (Image.fromarray(f32), {}, f32),
        "CMYK": (Image.fromarray(rgb).convert("CMYK"), {}, None),
        "YCbCr": (Image.fromarray(rgb).convert("YCbCr"), {}, None),
    }
    for mode, (image, kw, expected) in cases.items():
        assert image.mode == mode
        folder = tmp_path / mode.replace(";", "_")
        path = _save(folder, "a.tif" if mode in ("I;16B", "F", "CMYK", "YCbCr") else "a.png", image, **kw)
        if expected is None:
            with Image.open(path) as im:
                expected = np.asarray(im.convert("RGB")) / 255.0
        if expected.ndim == 2:
            expected = np.repeat(expected[..., None], 3, axis=2)
        x = load_image_folder(folder, 8)
        assert x.shape == (1, 3, 8, 8) and x.dtype == torch.float32, mode
        np.testing.assert_allclose(x[0].numpy().transpose(1, 2, 0), expected, atol=1e-6, err_msg=mode)

    # 16 bits resized: a gradient, not black and white, and as the 8-bit image within rounding
    ramp = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
    _save(tmp_path / "deep", "a.png", Image.fromarray(ramp))
    _save(tmp_path / "flat", "a.png", Image.fromarray((ramp / 257).round().astype(np.uint8)))
    deep, flat = load_image_folder(tmp_path / "deep", 8), load_image_folder(tmp_path / "flat", 8)
    assert len(torch.unique(deep)) > 50 and float(deep.min()) >= 0 and float(deep.max()) <= 1
    assert float((deep - flat).abs().max()) < 2 / 255
    assert torch.equal(load_image_folder(tmp_path / "deep", 8, as_uint8=True), (deep * 255).round().to(torch.uint8))

    # refused with the reason, naming the file
    alpha = np.zeros((8, 8, 4), np.uint8)
    alpha[..., 3] = grey  # the content lies in the alpha channel: black RGB
    refused = {
        "RGBA": (Image.fromarray(alpha), {}, r"transparent"),
        "P": (Image.fromarray(rgb).quantize(6), {"transparency": 0}, r"transparent"),
        "I": (Image.fromarray(a16.astype(np.int32)), {}, r"32-bit integers.*scale="),
        "F": (Image.fromarray(f32 * 255), {}, r"outside \[0, 1\].*scale="),
    }
    for mode, (image, kw, reason) in refused.items():
        folder = tmp_path / ("bad_" + mode)
        path = _save(folder, "a.png" if mode in ("RGBA", "P") else "a.tif", image, **kw)
        with pytest.raises(ValueError, match=reason) as err:
            load_image_folder(folder, 8)
        assert str(path) in str(err.value), mode
    # a scale says what full white is, for the modes whose file does not tell
    x = load_image_folder(tmp_path / "bad_I", 8, scale=65535)
    np.testing.assert_allclose(x[0, 0].numpy(), a16 / 65535.0, atol=1e-6)
    np.testing.assert_allclose(load_image_folder(tmp_path / "bad_F", 8, scale=255)[0, 0].numpy(), f32, atol=1e-6)


def test_load_images_checks_the_range_of_arrays_against_the_data_range(tmp_path):
    import numpy as np
    import torch

    from ganprior.data import load_images

    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (3, 1, 6, 6), dtype=np.uint8)
    shape = (1, 6, 6)
    np.save(tmp_path / "f255.npy", u8.astype(np.float32))  # floats in 0..255: not [0, 1]
    with pytest.raises(ValueError, match=r"f255\.npy.*\[0, 2\d\d\].*data range \(0\.0, 1\.0\).*scale="):
        load_images(tmp_path / "f255.npy", shape)
    torch.testing.assert_close(load_images(tmp_path / "f255.npy", shape, scale=255),
                               torch.from_numpy(u8 / 255.0).float())
    # integers by their dtype's range, mapped onto the data range
    np.save(tmp_path / "u8.npy", u8)
    np.save(tmp_path / "u16.npy", u8.astype(np.uint16) * 257)
    for name in ("u8.npy", "u16.npy"):
        torch.testing.assert_close(load_images(tmp_path / name, shape), torch.from_numpy(u8 / 255.0).float())
        torch.testing.assert_close(load_images(tmp_path / name, shape, data_range=(-1.0, 1.0)),
                                   torch.from_numpy(u8 / 127.5 - 1).float())
    # an int64 array's full scale is not its dtype's: refused unless a scale is given
    np.save(tmp_path / "i64.npy", u8.astype(np.int64))
    with pytest.raises(ValueError, match=r"i64\.npy.*int64.*scale="):
        load_images(tmp_path / "i64.npy", shape)
    torch.testing.assert_close(load_images(tmp_path / "i64.npy", shape, scale=255),
                               torch.from_numpy(u8 / 255.0).float())
    # floats in the prior's range are taken as they are; NaN is refused
    f = (u8 / 127.5 - 1).astype(np.float32)
    np.save(tmp_path / "pm1.npy", f)
    assert torch.equal(load_images(tmp_path / "pm1.npy", shape, data_range=(-1, 1)), torch.from_numpy(f))
    with pytest.raises(ValueError, match=r"pm1\.npy.*\[-1, 0\.9\d+\].*data range \(0\.0, 1\.0\)"):
        load_images(tmp_path / "pm1.npy", shape)
    f[0, 0, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", f)
    with pytest.raises(ValueError, match=r"nan\.npy.*not finite"):
        load_images(tmp_path / "nan.npy", shape, data_range=(-1, 1))
    # a folder's images too are mapped onto the data range
    from PIL import Image

    (tmp_path / "dir").mkdir()
    Image.fromarray(u8[0, 0]).save(tmp_path / "dir" / "a.png")
    torch.testing.assert_close(load_images(tmp_path / "dir", shape, data_range=(-1.0, 1.0))[0],
                               torch.from_numpy(u8[0] / 127.5 - 1).float())


def test_recover_dataset_refuses_integer_and_out_of_range_images(tmp_path):
    import torch
    from conftest import relu_generator

    from ganprior.jobs import recover_dataset

    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=(1, 6, 6))
    x = G(torch.randn(3, 4, generator=torch.Generator().manual_seed(1))).detach().clamp(0, 1)
    kw = dict(m=20, chunk=2, steps=2)
    with pytest.raises(TypeError, match=r"'images' parameter of recover_dataset must be a floating-point tensor.*"
                                        r"uint8.*images\.float\(\) / 255"):
        recover_dataset((x * 255).round().to(torch.uint8), G, out=tmp_path / "u8", **kw)
    with pytest.raises(ValueError, match=r"'images' parameter of recover_dataset must lie in the prior's data range "
                                         r"\(0\.0, 1\.0\).*\[0, 2\d\d"):
        recover_dataset(x * 255, G, out=tmp_path / "f", **kw)
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"'images' parameter of recover_dataset.*not finite"):
        recover_dataset(bad, G, out=tmp_path / "nan", **kw)
    # a sparse baseline: its own data_range (default (0, 1)); None turns the check off
    with pytest.raises(ValueError, match=r"data range \(0\.0, 1\.0\)"):
        recover_dataset(x * 255, None, method="lasso-dct", out=tmp_path / "s", **kw)
    assert not (tmp_path / "u8").exists() and not (tmp_path / "f").exists()


# Image folders (issue 39, class 11): load_image_folder itself skips hidden files (macOS's ``._x.png``) and
# entries that are not files (a folder named ``x.png``), and names the file in a decode error.

def test_load_image_folder_skips_hidden_files_and_folders_named_like_images(tmp_path):
    import numpy as np
    import torch
    from PIL import Image

    from ganprior.data import load_image_folder

    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    _save(tmp_path / "clean", "a.png", Image.fromarray(grey))
    _save(tmp_path / "messy", "a.png", Image.fromarray(grey))
    (tmp_path / "messy" / "._a.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (tmp_path / "messy" / ".hidden.png").write_bytes((tmp_path / "messy" / "a.png").read_bytes())
    (tmp_path / "messy" / "x.png").mkdir()
    x = load_image_folder(tmp_path / "messy", 8)
    assert x.shape == (1, 3, 8, 8) and torch.equal(x, load_image_folder(tmp_path / "clean", 8))
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "._a.png").write_bytes(b"\x00\x05")
    (tmp_path / "only" / "x.png").mkdir()
    with pytest.raises(FileNotFoundError, match=r"No image files.*hidden files"):
        load_image_folder(tmp_path / "only", 8)


@pytest.mark.parametrize("damage", ["truncated", "not an image"])
def test_an_unreadable_image_is_named(damage, tmp_path):
    import numpy as np
    from PIL import Image

    from ganprior.data import load_image_folder
    from ganprior.data import load_images

    rng = np.random.default_rng(0)
    path = _save(tmp_path / "imgs", "b.png", Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)))
    _save(tmp_path / "imgs", "a.png", Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not a PNG at all")
    import re

    with pytest.raises(ValueError, match=re.escape(f"Cannot read the image '{path}': ")):
        load_image_folder(tmp_path / "imgs", 8)
    with pytest.raises(ValueError, match=r"Cannot read the image .*b\.png"):
        load_images(tmp_path / "imgs", (1, 8, 8))


def test_the_image_folder_is_read_in_one_place_without_symlinks():
    import inspect

    import ganprior.data as data
    import ganprior.jobs as jobs

    assert "symlink" not in inspect.getsource(jobs) + inspect.getsource(data)
