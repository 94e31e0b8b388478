"""ganprior.benchmark's search, run store and report, reached directly on synthetic problems: a tiny random
generator and random images, no dataset file (these tests never skip)."""

import csv
import json
import math

import numpy as np
import pytest
import torch
from conftest import relu_generator

from ganprior.benchmark import (Protocol, m_needed, merge_runs, one_se_choice, paired_difference, prior_savings,
                                run_grid, summarise, widen_search, write_report)
from ganprior.benchmark import search as searching
from ganprior.benchmark import store

SHAPE = (1, 8, 8)


def tiny_prior():
    return relu_generator(k=4, hidden=32, n=64, seed=0, image_shape=SHAPE)


def images(n, seed):
    """Images the tiny prior can represent (its outputs, clipped to [0, 1]), so that CSGM has something to find."""
    G = tiny_prior()
    z = torch.randn(n, 4, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return G(z).clamp(0, 1).float()


def config(methods=("csgm", "lasso"), lams=(0.0, 0.1)):
    cfg = Protocol(prior="tiny", sample=None, noise=0.05, methods=list(methods), m=[16, 32], n_test=4, restarts=1,
                   steps=5, lr=0.1, lams=list(lams), savings_targets=[]).config()
    cfg.update(chunk=None, schedule="cosine", prior_models={}, fingerprints={"tiny": "0" * 16}, own_prior="tiny")
    return cfg


def test_one_standard_error_rule_keeps_the_default_unless_another_is_clearly_better():
    base = [1.0, 2.0, 3.0, 4.0]
    noisy = [0.5, 2.6, 2.4, 4.3]  # lower on average, but within one standard error of the paired difference
    clear = [0.8, 1.8, 2.7, 3.9]
    d, se = paired_difference(noisy, base)
    assert d == pytest.approx(-0.05) and se > abs(d)
    assert one_se_choice({"a": base, "b": noisy}, "a")[0] == "a"
    chosen, diffs = one_se_choice({"a": base, "b": noisy, "c": clear}, "a")
    assert chosen == "c" and set(diffs) == {"b", "c"} and diffs["c"][0] + diffs["c"][1] < 0
    assert paired_difference([1.0], [2.0]) == (-1.0, 0.0)  # one image: no standard error


def test_widen_search_widens_past_an_open_edge_of_a_synthetic_curve():
    res = widen_search(lambda v: (math.log10(v) + 3) ** 2, [0.1, 1.0], factor=10.0, lower=0.0, max_steps=5)
    assert res["best"] == pytest.approx(1e-3) and res["status"] == "interior"
    assert res["order"][:2] == [0.1, 1.0]


def test_choose_searches_on_validation_images_and_reuses_its_record(tmp_path, monkeypatch):
    G, cfg = tiny_prior(), config()
    x_val = images(3, seed=1)
    name, value, lam = searching.choose("csgm", 16, x_val, [7, 8, 9], G, cfg, "fp32", SHAPE, tmp_path)
    rec = store.load_selection(tmp_path)["csgm m=16"]
    assert name == "lam" and lam is None and rec["chosen"] == value
    tried = dict((v, e) for v, e in rec["tried"])
    assert value == min(tried, key=tried.get) and rec["val_images"] == [7, 8, 9]
    with open(tmp_path / "validation.csv") as f:
        val = list(csv.DictReader(f))
    assert len(val) == 3 * len(tried) and {int(r["image"]) for r in val} == {7, 8, 9}
    assert (tmp_path / "selection.log").read_text().startswith("csgm m=16: lam grid [0, 0.1]")
    calls, real = [], searching.run_method
    monkeypatch.setattr(searching, "run_method", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert searching.choose("csgm", 16, x_val, [7, 8, 9], G, cfg, "fp32", SHAPE, tmp_path) == (name, value, None)
    assert not calls  # the saved search is reused
    searching.choose("lasso", 16, x_val, [7, 8, 9], G, cfg, "fp32", SHAPE, tmp_path)
    assert calls  # another method's search is made


def test_store_writes_whole_files_and_tells_stale_rows(tmp_path):
    path = tmp_path / "per_image.csv"
    store.replace_text(path, ",".join(store.FIELDS) + "\n")
    assert not list(tmp_path.glob("*.tmp"))
    search = {"hyperparameter": "lam", "chosen": 0.1}
    label = store.row_label("lam", 0.1)
    row = dict(method="csgm", m=16, mse="0.1", psnr="10", seconds="1", operator="gaussian")
    store.append_rows(path, [dict(row, image=i, hyperparameter=label[0], value=label[1]) for i in range(2)]
                      + [dict(row, image=2, hyperparameter="lam", value="1")])
    rows = store.read_rows(path)
    assert [store.is_current(r, search) for r in rows] == [True, True, False]
    assert not store.is_current(rows[0], None)  # no saved search: where the row came from is unknown
    kept = store.drop_stale_rows(path, "csgm", 16, search)
    assert kept == {("csgm", 16, 0), ("csgm", 16, 1)} and len(store.read_rows(path)) == 2
    with pytest.raises(ValueError, match="differ from those the rows"):
        store.check_fingerprints({"tiny": "a" * 16}, {"tiny": "b" * 16}, tmp_path)
    assert store.weights_sha256(tiny_prior()) == store.weights_sha256(tiny_prior()) != store.weights_sha256(
        relu_generator(k=4, hidden=32, n=64, seed=1, image_shape=SHAPE))


def test_report_summary_ci_interpolation_and_savings(tmp_path):
    rows = [dict(method=k, m=m, image=i, mse=f"{e * (1 + 0.1 * i):.6g}", psnr="20")
            for k, errs in {"csgm": {10: 0.04, 100: 0.01}, "lasso": {10: 0.1, 100: 0.04, 1000: 0.01}}.items()
            for m, e in errs.items() for i in range(3)]
    summary = summarise(rows)
    s = {(r["method"], r["m"]): r for r in summary}
    e = np.array([0.04, 0.044, 0.048])
    assert s[("csgm", 10)]["mean"] == pytest.approx(e.mean())
    assert s[("csgm", 10)]["ci95"] == pytest.approx(1.96 * e.std(ddof=1) / math.sqrt(3))
    assert m_needed(summary, "lasso", s[("lasso", 100)]["mean"]) == pytest.approx(100.0)
    assert math.isnan(m_needed(summary, "lasso", 1e-4))
    sav = prior_savings(summary, "csgm")
    assert [r["m"] for r in sav] == [10, 100] and sav[0]["best_baseline"] == "lasso"
    assert sav[0]["best_baseline_m"] == pytest.approx(100.0, rel=0.01) and sav[0]["savings"] == pytest.approx(10, 0.01)
    got, sav2 = write_report(tmp_path, rows, ["csgm", "lasso"], title="synthetic")
    assert got == summary and sav2 == sav
    for f in ("summary.csv", "error_vs_m.png", "savings.csv", "savings.png", "table.md"):
        assert (tmp_path / f).is_file(), f
    assert "ci95" in (tmp_path / "summary.csv").read_text().splitlines()[0]


def test_run_grid_on_a_synthetic_problem_resumes_and_merges(tmp_path, monkeypatch):
    G, cfg = tiny_prior(), config()
    x_test, x_val = images(4, seed=2), images(3, seed=3)
    kw = dict(methods=["csgm", "lasso"], ms=[16, 32], precision="fp32", dataset="synthetic", n_val=3, chunk=2)
    summary = run_grid(tmp_path / "a", cfg, G, x_test, lambda: (x_val, [0, 1, 2]), **kw)
    assert {(r["method"], r["m"], r["n"]) for r in summary} == {(k, m, 4) for k in ("csgm", "lasso") for m in (16, 32)}
    for f in ("summary.csv", "selection.log", "selection.json", "validation.csv", "metadata.json", "error_vs_m.png"):
        assert (tmp_path / "a" / f).is_file(), f
    before = (tmp_path / "a" / "per_image.csv").read_text()
    calls = []
    monkeypatch.setattr(searching, "run_method", lambda *a, **k: calls.append(a))
    run_grid(tmp_path / "a", cfg, G, x_test, lambda: (x_val, [0, 1, 2]), **kw)  # everything done: nothing solved
    assert not calls and (tmp_path / "a" / "per_image.csv").read_text() == before
    monkeypatch.undo()
    run_grid(tmp_path / "b", cfg, G, x_test, lambda: (x_val, [0, 1, 2]), **dict(kw, methods=["lasso"], ms=[16]))
    meta = json.loads((tmp_path / "b" / "metadata.json").read_text())
    assert meta["commands"] == [""] and meta["m"] == [16]
    added = merge_runs(tmp_path / "c", [tmp_path / "a", tmp_path / "b"])
    merged = store.read_rows(tmp_path / "c" / "per_image.csv")
    assert added == len(merged) == 16  # b's rows are a's: each (method, m, image) once
