"""Dataset jobs never reuse stale results (issue 39, classes 1, 2 and 8).

A rerun into an existing output folder with other settings refuses and names what changed; a rerun with other
images recomputes exactly the chunks whose images differ; in every case the final ``metrics.csv`` is the one a
clean run gives, bitwise.
"""

import numpy as np
import pytest
import torch

from ganprior.cli import main
from ganprior.jobs import merge_dataset

BASE = {"--measurements": "30", "--noise-norm": "0.1", "--seed": "0", "--method": "csgm", "--prior": "mnist",
        "--chunk": "2"}
ENGINE = ["--restarts", "1", "--steps", "4", "--lr", "0.1", "--schedule", "constant", "--precision", "fp32",
          "--threads", "1", "--no-png"]


def digits(n=5):
    from ganprior.data import load_sample

    return load_sample("mnist_test300")[:n].numpy()


def run(images, out, capsys, **changed):
    flags = {**BASE, **{f"--{k.replace('_', '-')}": v for k, v in changed.items()}}
    argv = ["recover", "--images", str(images), *[w for kv in flags.items() for w in kv], *ENGINE, "--out", str(out)]
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as err:
        code = err.code
    return code, capsys.readouterr()


def write_pngs(folder, x, names):
    from PIL import Image

    folder.mkdir(exist_ok=True)
    for img, name in zip(x, names):
        Image.fromarray((img[0] * 255).round().astype(np.uint8)).save(folder / name)


@pytest.mark.parametrize("flag, value", [("measurements", "31"), ("noise_norm", "0.2"), ("seed", "1"),
                                         ("method", "csgm-tv"), ("prior", "mnist-k20"), ("chunk", "3")])
def test_a_rerun_with_other_settings_refuses_and_names_what_changed(flag, value, tmp_path, capsys):
    np.save(tmp_path / "x.npy", digits())
    out = tmp_path / "out"
    code, _ = run(tmp_path / "x.npy", out, capsys)
    assert code == 0
    before = (out / "metrics.csv").read_bytes()
    code, printed = run(tmp_path / "x.npy", out, capsys, **{flag: value})
    err = printed.err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err, printed
    flag_name = "--measurements" if flag == "measurements" else f"--{flag.replace('_', '-')}"
    assert flag_name in err and "other settings" in err, err
    assert (out / "metrics.csv").read_bytes() == before  # nothing relabelled, nothing overwritten


@pytest.mark.parametrize("change", ["added first", "removed", "edited"])
def test_a_rerun_with_other_images_recomputes_what_differs_and_equals_a_clean_run(change, tmp_path, capsys):
    x = digits(6)
    folder, out = tmp_path / "imgs", tmp_path / "out"
    write_pngs(folder, x[1:5], ["b.png", "c.png", "d.png", "e.png"])
    assert run(folder, out, capsys)[0] == 0
    if change == "added first":  # every index shifts: no old result may keep its label
        write_pngs(folder, x[5:6], ["a.png"])
    elif change == "removed":
        (folder / "c.png").unlink()
    else:
        write_pngs(folder, x[0:1], ["d.png"])
    code, printed = run(folder, out, capsys)
    assert code == 0, printed
    computed = int(printed.out.split(" chunk(s) computed")[0].split()[-1])
    assert computed == {"added first": 3, "removed": 2, "edited": 1}[change]
    assert run(folder, tmp_path / "clean", capsys)[0] == 0
    assert (out / "metrics.csv").read_bytes() == (tmp_path / "clean" / "metrics.csv").read_bytes()
    assert np.array_equal(np.load(out / "x_hat.npy"), np.load(tmp_path / "clean" / "x_hat.npy"))


def test_a_truncated_part_is_recomputed_and_merge_names_it(tmp_path, capsys):
    np.save(tmp_path / "x.npy", digits())
    out = tmp_path / "out"
    assert run(tmp_path / "x.npy", out, capsys)[0] == 0
    before = (out / "metrics.csv").read_bytes()
    part = out / "parts" / "000001.npz"
    part.write_bytes(part.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"000001\.npz.*cannot be read"):
        merge_dataset(out, 5)
    code, printed = run(tmp_path / "x.npy", out, capsys)
    assert code == 0 and "1 chunk(s) computed" in printed.out, printed
    assert (out / "metrics.csv").read_bytes() == before


def test_the_output_folder_may_not_be_or_hold_the_images(tmp_path, capsys):
    folder = tmp_path / "imgs"
    write_pngs(folder, digits(2), ["a.png", "b.png"])
    for out in (folder, folder / "sub"):
        code, printed = run(folder, out, capsys)
        assert code == 2 and "--out" in printed.err and "\n" not in printed.err.strip(), printed
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "b.png"]


def test_hidden_files_and_folders_named_like_images_are_skipped(tmp_path, capsys):
    folder = tmp_path / "imgs"
    write_pngs(folder, digits(2), ["a.png", "b.png"])
    (folder / "._a.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (folder / "x.png").mkdir()
    code, printed = run(folder, tmp_path / "out", capsys)
    assert code == 0, printed
    assert np.load(tmp_path / "out" / "x_hat.npy").shape == (2, 1, 28, 28)


def test_recover_dataset_refuses_a_folder_of_other_settings(tmp_path):
    from conftest import relu_generator

    from ganprior.jobs import recover_dataset

    G = relu_generator(k=4, hidden=32, n=36, seed=0, image_shape=(1, 6, 6))
    x = G(torch.randn(4, 4, generator=torch.Generator().manual_seed(1))).detach().clamp(0, 1)
    kw = dict(m=20, noise_norm=0.1, chunk=2, seed=3, restarts=1, steps=5, lr=0.05, schedule="constant")
    assert recover_dataset(x, G, out=tmp_path, **kw) == [0, 1]
    with pytest.raises(ValueError, match=r"other settings.*'steps' was 5, now 6"):
        recover_dataset(x, G, out=tmp_path, **{**kw, "steps": 6})
    with pytest.raises(ValueError, match=r"other settings.*'G'"):
        recover_dataset(x, relu_generator(k=4, hidden=32, n=36, seed=1, image_shape=(1, 6, 6)), out=tmp_path, **kw)
    assert recover_dataset(x, G, out=tmp_path, **kw) == []


def test_recover_images_come_in_the_priors_data_range(tmp_path, capsys, monkeypatch):
    """``recover --images`` maps black and full white onto the prior's data range, here (-1, 1)."""
    import ganprior
    from ganprior import jobs as datasets, priors

    net = torch.nn.Sequential(torch.nn.Linear(4, 36), torch.nn.Tanh(), torch.nn.Unflatten(1, (1, 6, 6)))
    G = ganprior.Generator(net, latent_shape=4, output_range=(-1, 1), data_range=(-1.0, 1.0))
    monkeypatch.setattr(priors, "load_prior", lambda name, device=None: G)
    seen = []
    real = datasets.recover_dataset
    monkeypatch.setattr(datasets, "recover_dataset",
                        lambda images, *a, **k: seen.append(images) or real(images, *a, **k))
    folder = tmp_path / "imgs"
    x = np.zeros((2, 1, 6, 6))
    x[1] = 1.0  # one black image, one white
    write_pngs(folder, x, ["a.png", "b.png"])
    code, printed = run(folder, tmp_path / "out", capsys, measurements="10")
    assert code == 0, printed
    assert torch.equal(seen[0][0], torch.full((1, 6, 6), -1.0)) and torch.equal(seen[0][1], torch.ones(1, 6, 6))
