"""Whole datasets: chunked, resumable, sharded recovery whose merged result does not depend on the sharding."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, relu_generator

from ganprior.data import load_images
from ganprior.jobs import merge_dataset, recover_dataset

SHAPE = (1, 6, 6)
KW = dict(m=20, noise_norm=0.1, chunk=2, seed=3, restarts=2, steps=30, lr=0.05, schedule="constant")


def images(n=7):
    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=SHAPE)
    return G, G(torch.randn(n, 4, generator=torch.Generator().manual_seed(1))).detach().clamp(0, 1)


def test_shards_give_the_single_process_result_bitwise(tmp_path):
    G, x = images()
    one, two = tmp_path / "one", tmp_path / "two"
    assert recover_dataset(x, G, out=one, **KW) == [0, 1, 2, 3]
    assert recover_dataset(x, G, out=two, rank=1, world_size=2, **KW) == [1, 3]
    with pytest.raises(FileNotFoundError, match="4 of 7 images have no result"):
        merge_dataset(two, 7)  # rank 0's chunks are missing
    assert recover_dataset(x, G, out=two, rank=0, world_size=2, **KW) == [0, 2]
    a, b = merge_dataset(one, 7, images=x), merge_dataset(two, 7)
    assert np.array_equal(a, b) and a.shape == (7, *SHAPE)
    lines = (one / "metrics.csv").read_text().splitlines()
    assert lines[0] == "image,mse,psnr" and len(lines) == 8
    mse = float(lines[1].split(",")[1])
    assert mse == pytest.approx(float(((torch.from_numpy(a[0]) - x[0]) ** 2).mean()), rel=1e-4)
    assert len(list((one / "recovered").glob("*.png"))) == 7 and (one / "figure.png").stat().st_size > 1000


def test_a_rerun_resumes_and_recomputes_only_what_is_missing(tmp_path):
    G, x = images()
    recover_dataset(x, G, out=tmp_path, **KW)
    first = merge_dataset(tmp_path, 7, png=False)
    (tmp_path / "parts" / "000001.npz").unlink()  # as if the job died before writing chunk 1
    assert recover_dataset(x, G, out=tmp_path, **KW) == [1]
    assert recover_dataset(x, G, out=tmp_path, **KW) == []
    assert np.array_equal(merge_dataset(tmp_path, 7, png=False), first)


def test_load_images_from_arrays_and_errors(tmp_path):
    arr = (np.random.default_rng(0).random((3, 6, 6)) * 255).astype(np.uint8)
    np.save(tmp_path / "x.npy", arr)
    np.savez(tmp_path / "x.npz", x=arr[:, None].astype(np.float32) / 255)
    torch.testing.assert_close(load_images(tmp_path / "x.npy", SHAPE), load_images(tmp_path / "x.npz", SHAPE))
    with pytest.raises(ValueError, match=r"have shape \(1, 6, 6\); the prior makes \(1, 8, 8\)"):
        load_images(tmp_path / "x.npy", (1, 8, 8))
    with pytest.raises(FileNotFoundError, match="No image folder or .npy / .npz file"):
        load_images(tmp_path / "none.npy", SHAPE)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not available")
def test_cli_under_torchrun_with_two_cpu_ranks_equals_one_process(tmp_path):
    x = ganprior_sample(32)
    np.save(tmp_path / "digits.npy", x)
    args = ["recover", "--images", str(tmp_path / "digits.npy"), "--measurements", "50", "--noise-norm", "0.1",
            "--chunk", "8", "--restarts", "2", "--steps", "10", "--threads", "1", "--no-png"]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "ganprior", *args, "--out", str(tmp_path / "ddp")], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, check=False)
    assert ddp.returncode == 0, ddp.stdout[-3000:] + ddp.stderr[-3000:]
    assert "rank 0 of 2: 2 chunk(s)" in ddp.stdout and "rank 1 of 2: 2 chunk(s)" in ddp.stdout
    from ganprior.cli import main

    assert main([*args, "--out", str(tmp_path / "single")]) == 0
    a = np.load(tmp_path / "ddp" / "x_hat.npy")
    b = np.load(tmp_path / "single" / "x_hat.npy")
    assert a.shape == (32, 1, 28, 28)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)  # observed: bitwise equal (chunks do not depend on ranks)
    assert (tmp_path / "ddp" / "metrics.csv").read_text() == (tmp_path / "single" / "metrics.csv").read_text()


def ganprior_sample(n):
    from ganprior.data import load_sample

    return load_sample("mnist_test300")[:n].numpy()


def test_png_folder_round_trip_through_the_cli(tmp_path):
    from PIL import Image

    from ganprior.cli import main

    folder = tmp_path / "my_digits"
    folder.mkdir()
    x = ganprior_sample(4)
    for i, img in enumerate(x):
        Image.fromarray((img[0] * 255).round().astype(np.uint8)).save(folder / f"digit{i}.png")
    out = tmp_path / "out"
    assert main(["recover", "--images", str(folder), "--measurements", "100", "--noise-norm", "0.1", "--restarts", "2",
                 "--steps", "30", "--threads", "1", "--out", str(out)]) == 0
    pngs = sorted((out / "recovered").glob("*.png"))
    assert [p.name for p in pngs] == ["00000.png", "00001.png", "00002.png", "00003.png"]
    assert np.asarray(Image.open(pngs[0])).shape == (28, 28)
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0] == "image,mse,psnr" and len(rows) == 5
    mse = [float(r.split(",")[1]) for r in rows[1:]]
    assert np.mean(mse) < 0.04  # recovered (an all-black image scores about 0.1; observed 0.026 at 2 x 30 steps)
    assert (out / "figure.png").stat().st_size > 1000 and np.load(out / "x_hat.npy").shape == (4, 1, 28, 28)
