"""``ganprior benchmark`` on a folder of the user's own images: 64 bundled MNIST test digits written as PNGs (no
dataset file), a tiny budget; it writes the summary with CIs, the searches, the plots and the savings over the
Lasso, and refuses bad arguments in one line with exit status 2."""

import csv

import numpy as np
import pytest
from PIL import Image

import ganprior
from ganprior.cli import main


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    for i, im in enumerate(ganprior.data.load_sample("mnist_test300")[:64]):
        Image.fromarray((im[0].numpy() * 255).round().astype(np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def test_benchmark_on_64_user_images(digits, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["benchmark", "--prior", "mnist", "--images", str(digits), "--m", "25", "50", "--restarts", "1",
                 "--steps", "5", "--n-val", "8", "--out", str(out)]) == 0
    with open(out / "summary.csv") as f:
        summary = list(csv.DictReader(f))
    assert {(r["method"], r["m"]) for r in summary} == {(k, m) for k in ("csgm", "lasso", "lasso-dct", "lasso-wavelet")
                                                         for m in ("25", "50")}
    assert all(r["n"] == "56" and float(r["ci95"]) > 0 for r in summary)  # 64 images, 8 split off for validation
    log = (out / "selection.log").read_text()
    assert "csgm m=25: lam grid" in log and "(8 images)" in log and "lasso-wavelet m=50" in log
    for f in ("error_vs_m.png", "savings.png", "per_image.csv", "metadata.json"):
        assert (out / f).is_file(), f
    with open(out / "savings.csv") as f:
        savings = list(csv.DictReader(f))
    assert [r["m"] for r in savings] == ["25", "50"] and {"best_baseline_m", "savings"} <= set(savings[0])
    printed = capsys.readouterr().out
    assert "m = 25: the prior's MSE" in printed


@pytest.mark.parametrize("extra, message", [
    (["--images", "/nonexistent/folder"], "argument --images: expected a folder"),
    (["--m", "25", "25"], "argument --m: expected distinct numbers"),
    (["--methods", "lasso"], "argument --methods: expected csgm among them"),
    (["--m", "0"], "argument --m"),
    (["--n-val", "63"], "--images: expected at least --n-val + 2 = 65 images"),
])
def test_benchmark_refuses_bad_arguments_in_one_line(digits, tmp_path, capsys, extra, message):
    args = {"--prior": "mnist", "--images": str(digits), "--m": ["25"], "--out": str(tmp_path / "out")}
    argv = ["benchmark"]
    for k, v in args.items():
        if k not in extra:
            argv += [k, *(v if isinstance(v, list) else [v])]
    with pytest.raises(SystemExit) as err:
        main(argv + extra)
    assert err.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("ganprior benchmark")
