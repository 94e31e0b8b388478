"""The benchmark runner resumes an interrupted grid without duplicated or lost rows (issue 17).

A tiny grid (random prior, 6 test digits, m = 10 and 25, 3 CSGM steps, 4 validation digits) is interrupted after
a few chunks (an exception raised by the function that appends rows), then a kill in the middle of a write is
imitated (a torn last line), and the run is resumed: per_image.csv must hold every (method, m, image) once, with
the values of an uninterrupted run. The validation digits are the last bundled test digits (the fixture
:func:`bundled_validation_digits`), so no test here needs a dataset file.
"""

import csv
import hashlib
import json

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, load_benchmark

import ganprior
from ganprior.benchmark import grid, protocol, report
from ganprior.benchmark import search as searching


SG_FIXED = "basis=pixel; nu_solver=ista; nu_steps=1"  # Sparse-Gen's fixed arguments on MNIST, in row labels

NO_DATA = REPO_ROOT / "no-data-needed"  # the grids' --data-root: nothing is read from it (bundled_validation_digits)


MNIST = protocol.PROTOCOLS["mnist"]


@pytest.fixture(autouse=True)
def bundled_validation_digits(bench, monkeypatch):
    """The grid's validation digits without the MNIST training files: the last ``n`` of the 300 bundled test
    digits (the grids here solve at most the first 6), handed to ``run_grid``'s ``validation`` callable through the
    script's ``validation_images``."""
    digits = ganprior.data.load_sample("mnist_test300")

    def validation_images(dataset, n, root):
        assert dataset == "mnist", dataset
        return digits[-n:], list(range(len(digits) - n, len(digits)))

    monkeypatch.setitem(bench.main.__globals__, "validation_images", validation_images)


@pytest.fixture(autouse=True)
def no_warmup_choice(bench, monkeypatch):
    """The warm-up's choice (the protocols' warmup_choices, MNIST's methods beyond the range) off, except where a test turns it on:
    the other tests' labels and solve counts are those of the options they choose."""
    for p in protocol.PROTOCOLS.values():
        monkeypatch.setattr(p, "warmup_choices", {})


def argv(root, out):
    return ["--dataset", "mnist", "--random-prior", "--methods", "csgm", "lasso-dct", "--m", "10", "25",
            "--n-images", "6", "--chunk", "2", "--restarts", "1", "--steps", "3", "--n-val", "4", "--threads", "1",
            "--data-root", str(root), "--out", str(out)]


def rows(out):
    with open(out / "per_image.csv") as f:
        return list(csv.DictReader(f))


def values(rs):
    """(method, m, image) -> the row without its timing."""
    return {(r["method"], r["m"], r["image"]): {k: v for k, v in r.items() if k != "seconds"} for r in rs}


def fake_prior(name):
    """Stand-ins for bundled priors: "dark" outputs nearly black images, closer to digits than the grey of an
    untrained DCGAN (any other name), so CSGM's search prefers it."""
    import torch

    import ganprior
    from ganprior.models import build_generator

    class Dark(torch.nn.Module):
        output_range = (-1.0, 1.0)

        def __init__(self):
            super().__init__()
            self.base = build_generator("dcgan28", latent_dim=8, width=8, seed=1)
            self.latent_dim = 8

        def forward(self, z):
            return 0.02 * self.base(z) - 0.97

        def split(self, cut):  # for ILO, one of auto's candidates
            lower, upper = self.base.split(cut)
            return lower, (lambda h: 0.02 * upper(h) - 0.97)

    if name == "dark":
        return ganprior.Generator(Dark(), name="dark")
    return ganprior.Generator(build_generator("dcgan28", latent_dim=20, width=16, seed=len(name)), name=name)


def ilo_args(root, out):
    """A tiny ILO grid: the random prior, m = 25, 2 test and 3 validation digits, 4 steps."""
    return ["--dataset", "mnist", "--random-prior", "--methods", "ilo", "--m", "25", "--n-images", "2",
            "--restarts", "1", "--steps", "4", "--n-val", "3", "--threads", "1", "--data-root", str(root),
            "--out", str(out)]


class Interrupt(Exception):
    pass


def test_interrupted_run_resumes_without_duplicated_or_lost_rows(bench, tmp_path, monkeypatch):
    root = NO_DATA
    bench.main(argv(root, tmp_path / "ref"))
    ref = rows(tmp_path / "ref")
    assert len(ref) == len(values(ref)) == 2 * 2 * 6

    out = tmp_path / "resumed"
    append = bench.append_rows
    calls = []

    def append_then_fail(path, chunk):
        if len(calls) == 5:  # 5 chunks written: csgm m=10 done, lasso-dct m=10 part-way
            raise Interrupt
        calls.append(len(chunk))
        append(path, chunk)

    monkeypatch.setattr(grid, "append_rows", append_then_fail)
    with pytest.raises(Interrupt):
        bench.main(argv(root, out))
    assert len(rows(out)) == 10
    log_before = (out / "selection.log").read_text()
    with open(out / "per_image.csv", "a") as f:  # a kill in the middle of a write: a torn, unterminated line
        f.write("lasso-dct,10,4,0.08")
    monkeypatch.setattr(grid, "append_rows", append)
    bench.main(argv(root, out))

    got = rows(out)
    keys = [(r["method"], r["m"], r["image"]) for r in got]
    assert len(keys) == len(set(keys)), "duplicated rows"
    assert set(keys) == set(values(ref)), "missing or extra rows"
    assert values(got) == values(ref)
    # the finished searches were reused, not repeated: one line per (method, m), the same as before plus the rest
    log = (out / "selection.log").read_text().splitlines()
    assert len(log) == len(set(log)) == 4 and set(log_before.splitlines()) <= set(log)
    assert log == (tmp_path / "ref" / "selection.log").read_text().splitlines()


def test_read_rows_repairs_a_torn_line_and_repeats(bench, tmp_path):
    path = tmp_path / "per_image.csv"
    row = "csgm,10,0,0.1,10.0,1.0,gaussian,lam,0.1\n"
    path.write_text(",".join(bench.FIELDS) + "\n" + row + row + "csgm,10,1,0.2,7.0,1.0,gaussian,lam,0.1\ncsgm,10,2,0.")
    got = bench.read_rows(path)
    assert [r["image"] for r in got] == ["0", "1"]
    assert path.read_text() == ",".join(bench.FIELDS) + "\n" + row + "csgm,10,1,0.2,7.0,1.0,gaussian,lam,0.1\n"


def test_methods_beyond_the_range_take_lam_from_the_csgm_search_and_search_their_own(bench, tmp_path):
    # sparse-gen alone: CSGM's lam search at the same m runs first, its choice is the lam of every sparse-gen
    # solve; sparse-gen's alpha is searched (here a 2-value grid), recorded with that lam in selection.json/log
    root = NO_DATA
    out = tmp_path / "beyond"
    bench.BEYOND["sparse-gen"] = dict(bench.BEYOND["sparse-gen"], grid=[0.5, 5.0])
    try:
        bench.main(["--dataset", "mnist", "--random-prior", "--methods", "sparse-gen", "auto", "--m", "25",
                    "--n-images", "2", "--restarts", "1", "--steps", "4", "--n-val", "3", "--threads", "1",
                    "--data-root", str(root), "--out", str(out)])
    finally:
        bench.BEYOND["sparse-gen"]["grid"] = [0.1, 1.0, 10.0]
    state = bench.load_selection(out)
    csgm, sg = state["csgm m=25"], state["sparse-gen m=25"]
    fixed = MNIST.beyond_fixed["sparse-gen"]  # the basis and nu solver of the committed MNIST grid
    assert fixed == {"basis": "pixel", "nu_solver": "ista", "nu_steps": 1}
    assert sg["lam"] == csgm["chosen"] and sg["fixed"] == fixed and sg["hyperparameter"] == "alpha"
    assert sg["order"][:2] == [0.5, 5.0] and sg["chosen"] in [v for v, _ in sg["tried"]]  # the grid, then widening
    got = rows(out)
    assert {r["method"] for r in got} == {"sparse-gen", "auto"} and len(got) == 4
    # the fixed arguments are in the label: a row solved with other ones (or before they were recorded) is stale
    label = f"alpha (lam={csgm['chosen']:g}; {SG_FIXED})"
    assert {r["hyperparameter"] for r in got if r["method"] == "sparse-gen"} == {label}
    row = next(r for r in got if r["method"] == "sparse-gen")
    assert bench.is_current(row, sg)
    assert not bench.is_current(dict(row, hyperparameter=f"alpha (lam={csgm['chosen']:g})"), sg)
    assert not bench.is_current(row, dict(sg, fixed=dict(fixed, nu_solver="fista", nu_steps=10)))
    # auto compares every method with the value its own search chose at this m (searched first when missing)
    auto = json.loads((out / "metadata.json").read_text())["auto"]["25"]
    assert set(auto) == {"csgm", "lasso", "lasso-dct", "lasso-wavelet", "sparse-gen", "ilo"}
    assert auto["csgm"] == {"lam": csgm["chosen"]} and auto["lasso"] == {"alpha": state["lasso m=25"]["chosen"]}
    assert auto["sparse-gen"] == {"alpha": sg["chosen"], "lam": csgm["chosen"], **fixed}
    ilo = state["ilo m=25"]  # the cut chosen among the random DCGAN's block ends; the first is the default
    assert ilo["choice"]["cut"]["candidates"] == [3, 6] and ilo["choice"]["cut"]["default"] == 3
    assert auto["ilo"] == {"radius": ilo["chosen"], "lam": csgm["chosen"], "cut": ilo["choice"]["cut"]["chosen"]}
    # the rule auto chose by (recover's default at m = 25: adaptive, 5 folds) and the fingerprint of those
    # candidates' options (SHA-256 of metadata.json's auto[m]) are in its rows
    digest = hashlib.sha256(json.dumps(auto, sort_keys=True).encode()).hexdigest()[:8]
    assert {(r["hyperparameter"], r["value"]) for r in got if r["method"] == "auto"} == {
        (f"method (candidates={digest})", "cv (adaptive, 5-fold)")}
    assert "[lam = " in (out / "selection.log").read_text()
    # a candidate's search that chose another value makes auto's rows stale: they are solved again with it
    sel = json.loads((out / "selection.json").read_text())
    other = next(v for v, _ in sel["lasso m=25"]["tried"] if v != sel["lasso m=25"]["chosen"])
    sel["lasso m=25"]["chosen"] = other
    (out / "selection.json").write_text(json.dumps(sel))
    bench.main(["--dataset", "mnist", "--random-prior", "--methods", "auto", "--m", "25", "--n-images", "2",
                "--restarts", "1", "--steps", "4", "--n-val", "3", "--threads", "1", "--data-root", str(root),
                "--out", str(out)])
    auto = json.loads((out / "metadata.json").read_text())["auto"]["25"]
    assert auto["lasso"] == {"alpha": other}
    new = hashlib.sha256(json.dumps(auto, sort_keys=True).encode()).hexdigest()[:8]
    assert new != digest and {r["hyperparameter"] for r in rows(out) if r["method"] == "auto"} == {
        f"method (candidates={new})"} and len(rows(out)) == 4
    assert not bench.is_current(next(r for r in got if r["method"] == "auto"),
                                bench.row_search(bench.load_selection(out), "auto", 25, candidates=list(auto)))
    # a search made with other fixed arguments (another basis) is not reused: it is made again
    sel = json.loads((out / "selection.json").read_text())
    sel["sparse-gen m=25"].update(fixed={"basis": "dct"}, chosen=123.0)
    (out / "selection.json").write_text(json.dumps(sel))
    bench.BEYOND["sparse-gen"] = dict(bench.BEYOND["sparse-gen"], grid=[0.5, 5.0])
    try:
        bench.main(["--dataset", "mnist", "--random-prior", "--methods", "sparse-gen", "--m", "25",
                    "--validation-only", "--restarts", "1", "--steps", "4", "--n-val", "3", "--threads", "1",
                    "--data-root", str(root), "--out", str(out)])
    finally:
        bench.BEYOND["sparse-gen"]["grid"] = [0.1, 1.0, 10.0]
    again = bench.load_selection(out)["sparse-gen m=25"]
    assert again["fixed"] == fixed and again["chosen"] == sg["chosen"]


def test_merge_adds_the_rows_and_searches_of_separate_runs_once(bench, tmp_path):
    root = NO_DATA
    common = ["--dataset", "mnist", "--random-prior", "--m", "10", "--n-images", "3", "--restarts", "1", "--steps",
              "3", "--n-val", "3", "--threads", "1", "--data-root", str(root)]
    bench.main([*common, "--methods", "csgm", "--out", str(tmp_path / "main")])
    bench.main([*common, "--methods", "lasso-dct", "--out", str(tmp_path / "other")])
    for _ in range(2):  # merging twice adds nothing the second time
        bench.main([*common, "--methods", "csgm", "lasso-dct", "--summary-only", "--merge", str(tmp_path / "other"),
                    "--out", str(tmp_path / "main")])
        got = rows(tmp_path / "main")
        assert sorted((r["method"], r["image"]) for r in got) == sorted(
            [("csgm", str(i)) for i in range(3)] + [("lasso-dct", str(i)) for i in range(3)])
    assert set(bench.load_selection(tmp_path / "main")) == {"csgm m=10", "lasso-dct m=10"}
    summary = (tmp_path / "main" / "summary.csv").read_text()
    assert "lasso-dct,10,3," in summary and "csgm,10,3," in summary
    meta = json.loads((tmp_path / "main" / "metadata.json").read_text())
    assert sum("merged" in c for c in meta["commands"]) == 1
    # runs merged into a folder that does not exist yet: it is made, with the same rows
    bench.main([*common, "--methods", "csgm", "lasso-dct", "--summary-only", "--merge", str(tmp_path / "main"),
                "--out", str(tmp_path / "new" / "merged")])
    assert sorted(map(str, rows(tmp_path / "new" / "merged"))) == sorted(map(str, rows(tmp_path / "main")))


def test_merge_leaves_out_a_folders_rows_that_the_merged_searches_make_stale(bench, tmp_path):
    # a folder copied from the target keeps rows its own searches no longer choose; where the target lacks that row
    # (deleted to be solved again elsewhere) the stale copy must not come back with the merge, a current one must
    root = NO_DATA
    common = ["--dataset", "mnist", "--random-prior", "--m", "10", "--n-images", "2", "--restarts", "1", "--steps",
              "3", "--n-val", "3", "--threads", "1", "--data-root", str(root)]
    bench.main([*common, "--methods", "csgm", "lasso-dct", "--out", str(tmp_path / "main")])
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in ("per_image.csv", "selection.json", "validation.csv", "metadata.json"):
        (folder / name).write_text((tmp_path / "main" / name).read_text())
    lines = (folder / "per_image.csv").read_text().splitlines()
    edited = [",".join(f[:-1] + ["123"]) if f[:3] == ["lasso-dct", "10", "0"] else line
              for line in lines for f in [line.split(",")]]  # image 0 of the Lasso: another value than chosen
    (folder / "per_image.csv").write_text("\n".join(edited) + "\n")
    target = (tmp_path / "main" / "per_image.csv")
    target.write_text("\n".join(line for line in target.read_text().splitlines()
                                if not line.startswith(("lasso-dct,10,0,", "csgm,10,1,"))) + "\n")
    added = bench.merge_runs(tmp_path / "main", [folder])
    got = {(r["method"], r["image"]): r for r in rows(tmp_path / "main")}
    assert added == 1 and ("csgm", "1") in got and ("lasso-dct", "0") not in got
    assert len(got) == 3


def test_merge_takes_a_folders_searches_only_of_the_methods_it_searched(bench, tmp_path):
    # a folder copied from an earlier state of the target that ran CSGM alone at m = 200 still holds that state's
    # ILO record at 200; the target's newer ILO record must stay, the folder's new CSGM record must come in
    def folder(name, records, methods):
        f = tmp_path / name
        f.mkdir()
        (f / "selection.json").write_text(json.dumps(records))
        (f / "metadata.json").write_text(json.dumps({"m": [200], "methods": methods, "commands": [f"run {name}"]}))
        (f / "per_image.csv").write_text(",".join(bench.FIELDS) + "\n")
        return f

    rec = dict(method="ilo", m=200, hyperparameter="radius", chosen=1.0)
    target = folder("target", {"ilo m=200": dict(rec, new=True), "csgm m=200": dict(method="csgm", m=200, chosen=0.1)},
                    ["csgm", "ilo"])
    copy = folder("copy", {"ilo m=200": rec, "csgm m=200": dict(method="csgm", m=200, chosen=0.3)}, ["csgm"])
    bench.merge_runs(target, [copy], candidates=["csgm", "ilo"])
    state = bench.load_selection(target)
    assert state["ilo m=200"] == dict(rec, new=True) and state["csgm m=200"]["chosen"] == 0.3
    assert bench.searched_methods({"methods": ["sparse-gen"]}) == {"sparse-gen", "csgm"}
    assert bench.searched_methods({"methods": ["auto"]}, ["csgm", "lasso"]) == {"auto", "csgm", "lasso"}
    assert bench.searched_methods({"methods": ["auto"]}) is None and bench.searched_methods(None) is None


def test_merge_takes_a_folders_searches_only_at_the_m_it_ran(bench, tmp_path):
    # a folder started with a copy of selection.json (benchmarks/README.md's recipe for parallel runs) still holds the
    # copied records at every other m: after the target's stale record at such an m was deleted, the copy must
    # not come back from that folder; the folder that ran the m brings its own
    root = NO_DATA
    common = ["--dataset", "mnist", "--random-prior", "--n-images", "2", "--restarts", "1", "--steps", "3",
              "--n-val", "3", "--threads", "1", "--data-root", str(root), "--methods", "lasso"]
    main, a, b = tmp_path / "main", tmp_path / "a", tmp_path / "b"
    bench.main([*common, "--m", "10", "25", "--out", str(main)])
    old = bench.load_selection(main)
    a.mkdir()
    (a / "selection.json").write_text(json.dumps({k: dict(v, chosen=123.0) for k, v in old.items()}))  # marked copy
    bench.main([*common, "--m", "10", "--out", str(a)])  # reuses the copy at m = 10
    bench.main([*common, "--m", "25", "--out", str(b)])  # its own search at m = 25
    assert bench.load_selection(a)["lasso m=25"]["chosen"] == 123.0 != bench.load_selection(b)["lasso m=25"]["chosen"]
    state = {k: v for k, v in old.items() if v["m"] != 25}  # the target's record at m = 25 deleted
    (main / "selection.json").write_text(json.dumps(state))
    bench.main([*common, "--m", "10", "25", "--summary-only", "--merge", str(a), str(b), "--out", str(main)])
    merged = bench.load_selection(main)
    assert merged["lasso m=25"] == bench.load_selection(b)["lasso m=25"]  # from b, which ran m = 25, not a's copy
    # a ran m = 10: its record there (the marked copy it reused) is the later word, and the one its rows were made with
    assert merged["lasso m=10"] == bench.load_selection(a)["lasso m=10"] != old["lasso m=10"]


def redo_sparse_gen_in_a_copy(bench, tmp_path, monkeypatch, common):
    """Run ``common`` into tmp_path/main, copy its files into tmp_path/a and run it there again with another
    Sparse-Gen nu solver (FISTA, 2 steps), so that a's Sparse-Gen search differs from main's; returns both."""
    main, a = tmp_path / "main", tmp_path / "a"
    bench.main([*common, "--out", str(main)])
    a.mkdir()
    for name in ("selection.json", "per_image.csv", "validation.csv", "metadata.json"):
        (a / name).write_text((main / name).read_text())
    monkeypatch.setitem(MNIST.beyond_fixed, "sparse-gen", dict(basis="pixel", nu_solver="fista", nu_steps=2))
    bench.main([*common, "--out", str(a)])
    return main, a


def test_merge_replaces_a_search_the_folder_redid_and_the_rows_it_made_stale(bench, tmp_path, monkeypatch):
    # a folder started with a copy of the target (selection.json and rows) redoes Sparse-Gen's search with another
    # nu solver: merged back, its search, validation rows and test rows replace the target's, none twice
    root = NO_DATA
    common = ["--dataset", "mnist", "--random-prior", "--n-images", "2", "--restarts", "1", "--steps", "3",
              "--n-val", "3", "--threads", "1", "--data-root", str(root), "--methods", "sparse-gen", "--m", "10"]
    main, a = redo_sparse_gen_in_a_copy(bench, tmp_path, monkeypatch, common)
    theirs = bench.load_selection(a)["sparse-gen m=10"]
    assert theirs["fixed"]["nu_solver"] == "fista" != bench.load_selection(main)["sparse-gen m=10"]["fixed"]["nu_solver"]
    bench.main([*common, "--summary-only", "--merge", str(a), "--out", str(main)])
    assert bench.load_selection(main)["sparse-gen m=10"] == theirs
    assert bench.load_selection(main)["csgm m=10"] == bench.load_selection(a)["csgm m=10"]  # the same, kept
    got = [r for r in rows(main) if r["method"] == "sparse-gen"]
    assert len(got) == 2 and all("nu_solver=fista; nu_steps=2" in r["hyperparameter"] for r in got)
    assert got == [r for r in rows(a) if r["method"] == "sparse-gen"]
    val = [r for r in csv.DictReader(open(main / "validation.csv")) if r["method"] == "sparse-gen"]
    assert val == [r for r in csv.DictReader(open(a / "validation.csv")) if r["method"] == "sparse-gen"]
    # the history: the target's commands once, then the folder's own run (not the copied history again)
    before = json.loads((a / "metadata.json").read_text())["commands"][:1]
    cmds = json.loads((main / "metadata.json").read_text())["commands"]
    assert len(cmds) == 3 and cmds[0] == before[0] and cmds[1].endswith("# run into a separate folder and merged")
    assert "--merge" in cmds[2]


def test_merge_replaces_the_auto_rows_a_candidates_search_redone_made_stale(bench, tmp_path, monkeypatch):
    # a folder copied from the target redoes Sparse-Gen's search (another nu solver) and so auto's rows (their
    # candidates' fingerprint changed): merged back, the folder's auto rows replace the target's
    root = NO_DATA
    common = ["--dataset", "mnist", "--random-prior", "--n-images", "2", "--restarts", "1", "--steps", "3",
              "--n-val", "3", "--threads", "1", "--data-root", str(root), "--methods", "sparse-gen", "auto",
              "--m", "10"]
    main, a = redo_sparse_gen_in_a_copy(bench, tmp_path, monkeypatch, common)
    old_auto = {r["hyperparameter"] for r in rows(main) if r["method"] == "auto"}
    new_auto = {r["hyperparameter"] for r in rows(a) if r["method"] == "auto"}
    assert len(old_auto) == len(new_auto) == 1 and old_auto != new_auto  # solved again in the folder
    bench.main([*common, "--summary-only", "--merge", str(a), "--out", str(main)])
    got = [r for r in rows(main) if r["method"] == "auto"]
    assert len(got) == 2 and got == [r for r in rows(a) if r["method"] == "auto"]
    cands = list(json.loads((main / "metadata.json").read_text())["auto"]["10"])
    assert all(bench.is_current(r, bench.row_search(bench.load_selection(main), "auto", 10, candidates=cands))
               for r in got)


def test_a_search_is_redone_when_other_weights_stand_behind_its_prior_name(bench, tmp_path, monkeypatch):
    # a folder started with a copy of selection.json has no metadata.json to compare fingerprints with: each search
    # records its prior's fingerprint, and a copy made with other weights behind the same name is not reused
    root = NO_DATA
    monkeypatch.setattr(bench.ganprior, "load_prior", fake_prior)
    monkeypatch.setattr(MNIST, "prior_choices", ["mnist"])
    args = ["--dataset", "mnist", "--methods", "csgm", "--m", "10", "--n-images", "2", "--restarts", "1", "--steps",
            "3", "--n-val", "3", "--threads", "1", "--data-root", str(root), "--validation-only"]
    bench.main([*args, "--out", str(tmp_path / "a")])
    rec = bench.load_selection(tmp_path / "a")["csgm m=10"]
    from ganprior.models import build_generator

    expected = bench.prior_fingerprints({"mnist": bench.ganprior.Generator(
        build_generator("dcgan28", latent_dim=20, width=16, seed=5), name="mnist")})["mnist"]
    assert rec["prior_sha256"] == expected
    calls = []
    real = bench.run_method
    monkeypatch.setattr(searching, "run_method", lambda *a, **k: calls.append(1) or real(*a, **k))
    for folder, retrained in (("same", False), ("retrained", True)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "selection.json").write_text((tmp_path / "a" / "selection.json").read_text())
        if retrained:  # other weights behind the name "mnist"
            monkeypatch.setattr(bench.ganprior, "load_prior", lambda name: bench.ganprior.Generator(
                build_generator("dcgan28", latent_dim=20, width=16, seed=7), name=name))
        calls.clear()
        bench.main([*args, "--out", str(tmp_path / folder)])
        new = bench.load_selection(tmp_path / folder)["csgm m=10"]
        assert (len(calls) > 0) == retrained
        assert (new["prior_sha256"] != rec["prior_sha256"]) == retrained


def test_rows_of_other_weights_behind_a_prior_name_are_refused_before_any_work(bench, tmp_path, monkeypatch):
    root = NO_DATA
    common = ["--dataset", "mnist", "--random-prior", "--m", "10", "--n-images", "2", "--restarts", "1", "--steps",
              "3", "--n-val", "3", "--threads", "1", "--data-root", str(root)]
    bench.main([*common, "--methods", "csgm", "--out", str(tmp_path / "a")])
    bench.main([*common, "--methods", "lasso", "--out", str(tmp_path / "b")])
    recorded = json.loads((tmp_path / "a" / "metadata.json").read_text())["priors_sha256"]
    from ganprior.models import build_generator

    G = ganprior.Generator(build_generator("dcgan28", latent_dim=20, width=16, seed=0), name="random")
    assert recorded == bench.prior_fingerprints({"random": G}) and len(recorded["random"]) == 16
    with torch.no_grad():  # one weight changed by one step of float32: another fingerprint
        p = next(G.parameters())
        p.view(-1)[0] = torch.nextafter(p.view(-1)[0], torch.tensor(1.0))
    assert bench.prior_fingerprints({"random": G})["random"] != recorded["random"]
    # a run into a folder whose rows were solved with other weights stops before it solves anything
    meta = json.loads((tmp_path / "a" / "metadata.json").read_text())
    meta["priors_sha256"] = {"random": "0" * 16}
    (tmp_path / "a" / "metadata.json").write_text(json.dumps(meta))
    solved = []
    monkeypatch.setattr(searching, "run_method", lambda *a, **k: solved.append(a))
    with pytest.raises(ValueError, match=r"prior\(s\) \['random'\] differ from those the rows of .* were solved"):
        bench.main([*common, "--methods", "csgm", "--m", "25", "--out", str(tmp_path / "a")])
    with pytest.raises(ValueError, match="solve into a fresh --out"):  # nor are such folders merged
        bench.main([*common, "--methods", "csgm", "lasso", "--summary-only", "--merge", str(tmp_path / "a"),
                    "--out", str(tmp_path / "b")])
    assert not solved and len(rows(tmp_path / "b")) == 2


def test_rows_of_another_value_than_the_search_chose_are_solved_again(bench, tmp_path):
    # a search redone (a wider grid) that chooses another value: that (method, m)'s rows are solved again with it,
    # the rows whose value is still the chosen one are kept as they are (not solved again)
    root = NO_DATA
    out = tmp_path / "run"
    bench.main(argv(root, out))
    before = values(rows(out))
    sel = json.loads((out / "selection.json").read_text())
    old = sel["lasso-dct m=25"]["chosen"]
    sel["lasso-dct m=25"]["chosen"] = new = old * 7.0  # as if a wider search had chosen another alpha
    (out / "selection.json").write_text(json.dumps(sel))
    seconds = {(r["method"], r["m"], r["image"]): r["seconds"] for r in rows(out)}
    bench.main(argv(root, out))
    got = rows(out)
    keys = [(r["method"], r["m"], r["image"]) for r in got]
    assert len(keys) == len(set(keys)) == 24
    redone = {k: v for k, v in values(got).items() if k[:2] == ("lasso-dct", "25")}
    assert {v["value"] for v in redone.values()} == {str(new)} and len(redone) == 6
    assert all(redone[k]["mse"] != before[k]["mse"] for k in redone)  # alpha x 7 changes every solve
    kept = {k: v for k, v in values(got).items() if k[:2] != ("lasso-dct", "25")}
    assert kept == {k: v for k, v in before.items() if k[:2] != ("lasso-dct", "25")}
    assert all(r["seconds"] == seconds[(r["method"], r["m"], r["image"])] for r in got
               if (r["method"], r["m"]) != ("lasso-dct", "25"))  # kept rows were not solved again
    assert "lasso-dct,25,6," in (out / "summary.csv").read_text()  # the summary: the 6 rows of the chosen value


def test_rows_without_a_saved_search_are_searched_and_kept_only_if_chosen_again(bench, tmp_path, monkeypatch):
    # rows brought in from another folder without their search (selection.json lacks it): the (method, m) is
    # searched; rows of the value it chooses are kept as they are, rows of another value are solved again
    root = NO_DATA
    out = tmp_path / "run"
    bench.main(argv(root, out))
    before = rows(out)
    sel = json.loads((out / "selection.json").read_text())
    chosen = sel["lasso-dct m=10"]["chosen"]
    del sel["lasso-dct m=10"], sel["lasso-dct m=25"]
    (out / "selection.json").write_text(json.dumps(sel))
    text = (out / "per_image.csv").read_text().splitlines()
    # lasso-dct m=25's rows now claim another alpha: they must not survive the search
    text = [ln if not ln.startswith("lasso-dct,25,") else ",".join(ln.split(",")[:-1] + ["123.0"]) for ln in text]
    (out / "per_image.csv").write_text("\n".join(text) + "\n")
    appended, append = [], bench.append_rows

    def recording(path, chunk):
        appended.extend((r["method"], r["m"]) for r in chunk)
        append(path, chunk)

    monkeypatch.setattr(grid, "append_rows", recording)
    bench.main(argv(root, out))
    after = bench.load_selection(out)
    assert after["lasso-dct m=10"]["chosen"] == chosen and "lasso-dct m=25" in after
    got = {(r["method"], r["m"], r["image"]): r for r in rows(out)}
    assert len(got) == 24 and all(r["value"] != "123.0" for r in got.values())
    old = {(r["method"], r["m"], r["image"]): r for r in before}
    assert all(got[k] == old[k] for k in old if k[:2] != ("lasso-dct", "25"))  # kept, seconds and all
    assert all(got[k]["value"] == old[k]["value"] and got[k]["mse"] == old[k]["mse"]
               for k in old if k[:2] == ("lasso-dct", "25"))  # solved again, with the value chosen before
    assert appended == [("lasso-dct", 25)] * 6  # m=10's rows, searched for and chosen again, were not solved again


def test_an_option_chosen_before_the_search_is_recorded_used_and_part_of_the_row_label(bench, tmp_path, monkeypatch):
    # BEYOND_CHOICES (ILO's cut; here a list of candidates): each candidate solved at the hyperparameter's default on the
    # validation images, the lowest kept; the radius search then runs at that cut and reuses that solve; the test
    # rows are solved with it and carry it in their label, so rows of another cut are stale
    root = NO_DATA
    out = tmp_path / "choice"
    monkeypatch.setattr(MNIST, "beyond_choices", {"ilo": {"cut": [3, 6]}})
    monkeypatch.setattr(MNIST, "own_best", {})  # the coordinate search (CelebA's)
    bench.main(["--dataset", "mnist", "--random-prior", "--methods", "ilo", "--m", "25", "--n-images", "2",
                "--restarts", "1", "--steps", "4", "--n-val", "3", "--threads", "1", "--data-root", str(root),
                "--out", str(out)])
    rec = bench.load_selection(out)["ilo m=25"]
    choice = rec["choice"]["cut"]
    errs = dict((c, e) for c, e in choice["tried"])
    assert choice["candidates"] == [3, 6] and choice["at"] == 1.0 and set(errs) == {3, 6}
    assert choice["chosen"] == min(errs, key=errs.get)
    assert dict(rec["tried"])[1.0] == errs[choice["chosen"]]  # the search reused the solve at radius 1
    with open(out / "validation.csv") as f:
        val = [r for r in csv.DictReader(f) if r["method"] == "ilo"]
    assert sorted({r["value"] for r in val if r["hyperparameter"] == "cut"}) == ["3", "6"]
    assert abs(sum(float(r["mse"]) for r in val if r["hyperparameter"] == "cut" and r["value"] == "6") / 3
               - errs[6]) < 1e-5
    label = f"radius (lam={rec['lam']:g}; cut={choice['chosen']})"
    got = [r for r in rows(out) if r["method"] == "ilo"]
    assert len(got) == 2 and {(r["hyperparameter"], r["value"]) for r in got} == {(label, str(rec["chosen"]))}
    assert bench.validated_options("ilo", 25, bench.load_selection(out))["cut"] == choice["chosen"]
    assert "cut = " in (out / "selection.log").read_text()
    # a row of another cut (or of none, from before the choice) is not current; the search's own rows are
    assert bench.is_current(got[0], rec)
    assert not bench.is_current(dict(got[0], hyperparameter=f"radius (lam={rec['lam']:g})"), rec)
    other = 6 if choice["chosen"] == 3 else 3
    assert not bench.is_current(dict(got[0], hyperparameter=f"radius (lam={rec['lam']:g}; cut={other})"), rec)
    # the same run again reuses the search (same candidates) and solves nothing
    before = (out / "per_image.csv").read_text()
    bench.main(["--dataset", "mnist", "--random-prior", "--methods", "ilo", "--m", "25", "--n-images", "2",
                "--restarts", "1", "--steps", "4", "--n-val", "3", "--threads", "1", "--data-root", str(root),
                "--out", str(out)])
    assert (out / "per_image.csv").read_text() == before and bench.load_selection(out)["ilo m=25"] == rec


def test_ilo_cut_is_chosen_among_the_block_ends_of_the_prior_that_solves(bench, tmp_path, monkeypatch):
    # BEYOND_CHOICES "block ends" (ILO's cut on MNIST and CelebA): the candidates are block_ends of the prior that
    # solves at that m (the 28x28 DCGAN's 3 and 6, the VAE decoder's 2 and 4), the first the default: rows of the
    # default cut keep the label of a run without the choice; a generator without blocks has no choice
    from ganprior.models import build_generator
    from ganprior.models.vae import VAEDecoder

    cfg = {"beyond_choices": {"ilo": {"cut": "block ends"}}, "prior_models": {}}
    dcgan = ganprior.Generator(build_generator("dcgan28", latent_dim=8, width=8, seed=0))
    vae = ganprior.Generator(VAEDecoder(latent_dim=4, width=16), output_range=(0.0, 1.0))
    assert bench.beyond_choices(cfg, "ilo", dcgan) == ({"cut": [3, 6]}, {"cut": 3})
    assert bench.beyond_choices(cfg, "ilo", vae) == ({"cut": [2, 4]}, {"cut": 2})
    assert bench.beyond_choices(cfg, "ilo", fake_prior("dark")) == ({}, {})
    assert bench.beyond_choices(cfg, "sparse-gen", dcgan) == ({}, {})
    assert bench.beyond_choices({"beyond_choices": {"ilo": {"cut": [3, 6, 9]}}}, "ilo", dcgan) == (
        {"cut": [3, 6, 9]}, {})
    root = NO_DATA
    monkeypatch.setattr(MNIST, "own_best", {})  # the coordinate search (CelebA's)
    out = tmp_path / "blocks"
    args = ilo_args(root, out)
    bench.main(args)
    rec = bench.load_selection(out)["ilo m=25"]
    choice = rec["choice"]["cut"]
    assert choice["candidates"] == [3, 6] and choice["default"] == 3 and choice["at"] == 1.0
    assert choice["chosen"] == min(dict(choice["tried"]).items(), key=lambda kv: kv[1])[0]
    base = f"radius (lam={rec['lam']:g})"
    label = base if choice["chosen"] == 3 else f"radius (lam={rec['lam']:g}; cut=6)"
    assert {r["hyperparameter"] for r in rows(out)} == {label}
    for cut, cur in ((3, base), (6, f"radius (lam={rec['lam']:g}; cut=6)")):  # either choice, its own label
        flipped = dict(rec, choice={"cut": dict(choice, chosen=cut)})
        assert bench.is_current(dict(rows(out)[0], hyperparameter=cur), flipped)
        assert not bench.is_current(dict(rows(out)[0], hyperparameter=f"radius (lam={rec['lam']:g}; cut=9)"), flipped)
    before = (out / "per_image.csv").read_text()
    bench.main(args)  # reused: nothing solved again
    assert (out / "per_image.csv").read_text() == before and bench.load_selection(out)["ilo m=25"] == rec


def test_own_best_choice_searches_every_candidate_and_keeps_the_default_unless_clearly_better(bench):
    # CHOICE_AT_OWN_BEST: each candidate gets the hyperparameter's whole search; a candidate replaces the default only
    # where its errors at its own best value are lower by more than one standard error of the paired difference.
    # A made-up error surface over 4 images: cut 3 is best at radius 0.1, cut 6 at radius 1 and lower at radius 1
    # (what a coordinate search at radius 1 would see), yet not clearly lower than cut 3 at 0.1
    surface = {(3, 0.1): [0.50, 0.52, 0.49, 0.51], (3, 0.3): [0.6] * 4, (3, 1.0): [0.9] * 4,
               (6, 0.1): [0.8] * 4, (6, 0.3): [0.7] * 4, (6, 1.0): [0.40, 0.60, 0.46, 0.50]}
    calls = []

    def solve(value, opts):
        calls.append((opts["cut"], value))
        return surface.get((opts["cut"], value), [1.0] * 4)

    rule = dict(factor=3.0, lower=0.0, lower_reachable=True, snap_below=0.01, max_steps=5)
    res, errs = bench.own_best_choice("cut", [3, 6], 3, {}, solve, [0.1, 0.3, 1.0], rule)
    rec = res["record"]
    assert rec["searches"]["3"]["chosen"] == 0.1 and rec["searches"]["6"]["chosen"] == 1.0
    assert [c for c, _ in rec["tried"]] == [3, 6]
    assert dict(rec["tried"]) == pytest.approx({3: 0.505, 6: 0.49})
    d = np.array(surface[(6, 1.0)]) - np.array(surface[(3, 0.1)])
    assert rec["paired"] == [[6, pytest.approx(d.mean()), pytest.approx(d.std(ddof=1) / 2)]]
    assert d.mean() < 0 < d.mean() + d.std(ddof=1) / 2  # lower in mean, within one standard error
    assert rec["chosen"] == 3 and res["choice"] == {"chosen": 3} and res["best"] == 0.1
    assert set(errs) == {3, 6} and errs[6][1.0] == surface[(6, 1.0)] and len(calls) == len(set(calls))
    # clearly lower: the other candidate is chosen, with its own best value
    surface[(6, 1.0)] = [0.30, 0.31, 0.29, 0.30]
    res, _ = bench.own_best_choice("cut", [3, 6], 3, {}, solve, [0.1, 0.3, 1.0], rule)
    assert res["record"]["chosen"] == 6 and res["best"] == 1.0
    assert [v for v, _ in res["tried"]] == [0.1, 0.3, 1.0, 3.0]  # cut 6's own search, widened past radius 1


def test_the_ilo_cut_chosen_at_each_cuts_own_best_radius_is_recorded_and_its_rows_labelled(bench, tmp_path):
    # the MNIST grid (CHOICE_AT_OWN_BEST): ILO's radius searched at both block ends of the random DCGAN; the record
    # is the chosen cut's search, keeps both searches, and every radius solved at the other cut is in validation.csv
    root = NO_DATA
    assert MNIST.own_best == {"ilo": ["cut"]}
    out = tmp_path / "own"
    args = ilo_args(root, out)
    bench.main(args)
    rec = bench.load_selection(out)["ilo m=25"]
    choice = rec["choice"]["cut"]
    assert choice["candidates"] == [3, 6] and choice["default"] == 3 and choice["rule"] == bench.OWN_BEST_RULE
    assert "at" not in choice and set(choice["searches"]) == {"3", "6"}
    own = choice["searches"][str(choice["chosen"])]
    assert [rec[k] for k in ("tried", "chosen", "status")] == [own[k] for k in ("tried", "chosen", "status")]
    with open(out / "validation.csv") as f:
        val = [r for r in csv.DictReader(f) if r["method"] == "ilo"]
    other = 6 if choice["chosen"] == 3 else 3
    for cut, label in ((choice["chosen"], "radius"), (other, f"radius (cut={other})")):
        for v, e in choice["searches"][str(cut)]["tried"]:
            got = [float(r["mse"]) for r in val if r["hyperparameter"] == label and float(r["value"]) == v]
            assert len(got) == 3 and abs(np.mean(got) - e) < 1e-5
    assert "cut = " in (out / "selection.log").read_text() and "each at its best radius" in (
        out / "selection.log").read_text()
    before = (out / "per_image.csv").read_text()
    bench.main(args)  # reused: nothing solved again
    assert (out / "per_image.csv").read_text() == before and bench.load_selection(out)["ilo m=25"] == rec
    # a search of the coordinate kind (cut at radius 1) is not reused under the own-best rule: it is made again
    sel = json.loads((out / "selection.json").read_text())
    sel["ilo m=25"]["choice"]["cut"] = dict(candidates=[3, 6], at=1.0, tried=[[3, 0.5], [6, 0.4]], chosen=6,
                                            default=3)
    (out / "selection.json").write_text(json.dumps(sel))
    bench.main(args + ["--validation-only"])
    assert bench.load_selection(out)["ilo m=25"]["choice"]["cut"] == choice


def test_the_prior_chosen_per_m_by_csgm_is_recorded_named_in_the_labels_and_used_by_every_latent_method(
        bench, tmp_path, monkeypatch):
    # PRIOR_CHOICES (mnist: the k = 64 and k = 20 priors): CSGM's lam searched with each prior on the validation
    # digits; the prior with the lowest best error solves CSGM's test rows, and Sparse-Gen's search and rows (with
    # CSGM's lam) and auto's candidates use it too. Here the second prior ("dark") outputs nearly black images,
    # closer to digits than an untrained DCGAN's grey: it must be chosen and every latent row labelled with it.
    root = NO_DATA
    monkeypatch.setattr(bench.ganprior, "load_prior", fake_prior)
    monkeypatch.setattr(MNIST, "prior_choices", ["mnist", "dark"])
    out = tmp_path / "prior"
    args = ["--dataset", "mnist", "--methods", "csgm", "sparse-gen", "auto", "--m", "25", "--n-images", "2",
            "--restarts", "1", "--steps", "4", "--n-val", "3", "--threads", "1", "--data-root", str(root),
            "--out", str(out)]
    seen = []
    real = bench.run_method
    monkeypatch.setattr(searching, "run_method",
                        lambda method, *a, **k: seen.append((method, (k.get("chosen") or {}).get("prior")))
                        or real(method, *a, **k))
    bench.main(args)
    state = bench.load_selection(out)
    rec = state["csgm m=25"]
    c = rec["choice"]["prior"]
    assert c["candidates"] == ["mnist", "dark"] and c["default"] == "mnist"
    best = dict((p, e) for p, e in c["tried"])
    for p in ("mnist", "dark"):  # each prior's own lam search, the best of it kept
        tried = dict((v, e) for v, e in c["searches"][p]["tried"])
        assert len(tried) >= 3 and best[p] == tried[c["searches"][p]["chosen"]] == min(tried.values())
    assert c["chosen"] == "dark" and best["dark"] < best["mnist"]
    assert rec["chosen"] == c["searches"]["dark"]["chosen"] and rec["tried"] == c["searches"]["dark"]["tried"]
    with open(out / "validation.csv") as f:  # every prior's validation errors, its own rows
        val = [r for r in csv.DictReader(f) if r["method"] == "csgm"]
    lam = c["searches"]["dark"]["chosen"]
    dark = [float(r["mse"]) for r in val if r["hyperparameter"] == "lam (prior=dark)" and float(r["value"]) == lam]
    assert len(dark) == 3 and abs(sum(dark) / 3 - best["dark"]) < 1e-5
    assert {r["hyperparameter"] for r in val} == {"lam", "lam (prior=dark)"}  # the preset's: as without a choice
    log = (out / "selection.log").read_text()
    assert "prior = dark (each at its best lam" in log and f"sparse-gen m=25 [lam = {lam:g}; prior = dark;" in log
    # Sparse-Gen searched and solved with "dark" and CSGM's lam; auto solved with "dark"; every row says so
    sg = state["sparse-gen m=25"]
    assert sg["prior"] == "dark" and sg["lam"] == lam
    assert bench.validated_options("sparse-gen", 25, state) == {"alpha": sg["chosen"], "lam": lam,
                                                                 **MNIST.beyond_fixed["sparse-gen"]}
    assert {p for meth, p in seen if meth in ("sparse-gen", "auto")} == {"dark"}
    got = {r["method"]: r for r in rows(out)}
    assert (got["csgm"]["hyperparameter"], got["csgm"]["value"]) == ("lam (prior=dark)", str(lam))
    assert got["sparse-gen"]["hyperparameter"] == f"alpha (lam={lam:g}; prior=dark; {SG_FIXED})"
    cands = list(json.loads((out / "metadata.json").read_text())["auto"]["25"])
    digest = bench.candidates_digest(state, 25, cands)
    assert (got["auto"]["hyperparameter"], got["auto"]["value"]) == (f"method (prior=dark; candidates={digest})",
                                                                      "cv (adaptive, 5-fold)")
    assert all(float(r["mse"]) < 0.2 for r in rows(out) if r["method"] == "csgm")
    # rows of the preset's prior (labels without a prior) are not current while "dark" is chosen
    for meth in ("csgm", "sparse-gen", "auto"):
        search = bench.row_search(state, meth, 25, candidates=cands)
        assert bench.is_current(got[meth], search)
        assert not bench.is_current(dict(got[meth], hyperparameter=got[meth]["hyperparameter"]
                                          .replace("; prior=dark", "").replace(" (prior=dark)", "")
                                          .replace("prior=dark; ", "")), search)
    # had the preset's prior been chosen, its rows keep the labels of the run without a choice
    kept = dict(state, **{"csgm m=25": dict(rec, choice={"prior": dict(c, chosen="mnist")})})
    assert bench.is_current(dict(got["auto"], hyperparameter=f"method (candidates={digest})"),
                            bench.row_search(kept, "auto", 25, candidates=cands))
    # no row of auto is current while a candidate's search is missing (what it was solved with is unknown)
    assert bench.row_search({k: v for k, v in state.items() if k != "lasso m=25"}, "auto", 25, candidates=cands) \
        is None
    # rows of another selection rule (the per-problem 10% split of the first auto rows, labelled "cv") are stale
    search = bench.row_search(state, "auto", 25, candidates=cands)
    assert not bench.is_current(dict(got["auto"], value="cv"), search)
    per_problem = bench.row_search(state, "auto", 25, dict(choice="per-problem", cv_fraction=0.1), cands)
    assert per_problem["chosen"] == "cv (per-problem, 10% split)" and not bench.is_current(got["auto"], per_problem)
    assert bench.auto_rule(54, bench.AUTO_DEFAULT) == "cv (adaptive, 5-fold)"  # 5 held-out rows: folds
    assert bench.auto_rule(55, bench.AUTO_DEFAULT) == "cv (adaptive, 10% split)"  # 6 held-out rows: one split
    # the same run again reuses every search and solves nothing
    before = (out / "per_image.csv").read_text()
    bench.main(args)
    assert (out / "per_image.csv").read_text() == before and bench.load_selection(out) == state


def test_a_preset_search_saved_before_the_prior_choice_is_reused(bench, tmp_path, monkeypatch):
    # the committed CSGM searches predate PRIOR_CHOICES: the preset's is adopted (not solved again), only the
    # other prior is searched
    root = NO_DATA
    monkeypatch.setattr(bench.ganprior, "load_prior", fake_prior)
    out = tmp_path / "old"
    args = ["--dataset", "mnist", "--methods", "csgm", "--m", "10", "--n-images", "2", "--restarts", "1",
            "--steps", "3", "--n-val", "3", "--threads", "1", "--data-root", str(root), "--out", str(out),
            "--validation-only"]
    monkeypatch.setattr(MNIST, "prior_choices", ["mnist"])  # one prior: no choice, the old record
    bench.main(args)
    old = bench.load_selection(out)["csgm m=10"]
    assert "choice" not in old
    old_val = [r for r in csv.DictReader(open(out / "validation.csv"))]
    monkeypatch.setattr(MNIST, "prior_choices", ["mnist", "other"])
    calls = []
    real = bench.run_method
    monkeypatch.setattr(searching, "run_method", lambda *a, **k: calls.append(k.get("chosen")) or real(*a, **k))
    bench.main(args)
    rec = bench.load_selection(out)["csgm m=10"]
    keys = ("tried", "order", "chosen", "status")
    assert {k: rec["choice"]["prior"]["searches"]["mnist"][k] for k in keys} == {k: old[k] for k in keys}
    assert rec["choice"]["prior"]["searches"]["mnist"]["prior_sha256"] == old["prior_sha256"]
    assert calls and all(c == {"prior": "other"} for c in calls)
    val = [r for r in csv.DictReader(open(out / "validation.csv"))]
    assert [r for r in val if r["hyperparameter"] == "lam"] == old_val  # the preset's rows kept
    assert {r["hyperparameter"] for r in val} == {"lam", "lam (prior=other)"}
    # "other" is the same network as the preset's stand-in (seed = len(name)): a tie keeps the preset's (PRIOR_RULE)
    assert rec["choice"]["prior"]["paired"] == [["other", 0.0, 0.0]] and rec["choice"]["prior"]["chosen"] == "mnist"
    # a third prior added later: both earlier searches are reused, only the new prior is searched
    monkeypatch.setattr(MNIST, "prior_choices", ["mnist", "other", "dark"])
    calls.clear()
    bench.main(args)
    rec3 = bench.load_selection(out)["csgm m=10"]
    assert calls and all(c == {"prior": "dark"} for c in calls)
    assert rec3["choice"]["prior"]["candidates"] == ["mnist", "other", "dark"]
    for p in ("mnist", "other"):
        assert rec3["choice"]["prior"]["searches"][p] == rec["choice"]["prior"]["searches"][p]
    assert rec3["choice"]["prior"]["chosen"] == "dark"  # nearly black images: closest to the digits
    # its paired difference against the preset's, from validation.csv: lower by more than one standard error
    lam = {p: rec3["choice"]["prior"]["searches"][p]["chosen"] for p in ("mnist", "dark")}
    val = [r for r in csv.DictReader(open(out / "validation.csv")) if r["method"] == "csgm"]
    err = {p: [float(r["mse"]) for r in val if r["hyperparameter"] == ("lam" if p == "mnist" else "lam (prior=dark)")
               and float(r["value"]) == lam[p]] for p in lam}
    d = np.array(err["dark"]) - np.array(err["mnist"])
    (name, mean, se), = [e for e in rec3["choice"]["prior"]["paired"] if e[0] == "dark"]
    assert len(d) == 3 and abs(mean - d.mean()) < 1e-6 and abs(se - d.std(ddof=1) / np.sqrt(3)) < 1e-6
    assert mean + se < 0


def test_rows_of_a_later_method_are_solved_again_when_csgm_chooses_another_prior(bench, tmp_path, monkeypatch):
    # Sparse-Gen's rows were current (the preset's prior); CSGM's search is redone with a second prior, which it
    # chooses: a rerun of the same methods must search Sparse-Gen again with that prior and solve its rows again
    root = NO_DATA
    monkeypatch.setattr(bench.ganprior, "load_prior", fake_prior)
    out = tmp_path / "later"
    args = ["--dataset", "mnist", "--methods", "csgm", "sparse-gen", "--m", "10", "--n-images", "2", "--restarts",
            "1", "--steps", "3", "--n-val", "3", "--threads", "1", "--data-root", str(root), "--out", str(out)]
    monkeypatch.setattr(MNIST, "prior_choices", ["mnist"])
    bench.main(args)
    assert {r["hyperparameter"] for r in rows(out) if r["method"] == "sparse-gen"} == {
        f"alpha (lam={bench.load_selection(out)['csgm m=10']['chosen']:g}; {SG_FIXED})"}
    monkeypatch.setattr(MNIST, "prior_choices", ["mnist", "dark"])
    bench.main(args)
    state = bench.load_selection(out)
    assert state["csgm m=10"]["choice"]["prior"]["chosen"] == "dark"
    assert state["sparse-gen m=10"]["prior"] == "dark"
    labels = {r["method"]: r["hyperparameter"] for r in rows(out)}
    assert labels["csgm"] == "lam (prior=dark)" and labels["sparse-gen"].endswith(f"; prior=dark; {SG_FIXED})")
    assert len(rows(out)) == 4


def test_choose_warmup_applies_the_one_standard_error_rule_against_the_default(bench):
    # three warm-ups against the default 2: warm-up 3 has the lowest mean (0.8) but a paired difference within one
    # standard error (-0.2 +- 0.38), warm-up 1 a small but clear one (-0.075 +- 0.014): 1 is chosen; the default's
    # errors given as known are not solved again
    errs = {1: [0.9, 0.95, 0.9, 0.95], 2: [1.0, 1.0, 1.0, 1.0], 3: [0.2, 1.8, 0.2, 1.0]}
    calls = []

    def solve(value, opts):
        calls.append((value, opts))
        return errs[opts["warmup"]]

    rec, got = bench.choose_warmup(solve, 0.3, {"cut": 6}, [1, 2, 3], 2, known=errs[2])
    assert calls == [(0.3, {"cut": 6, "warmup": 1}), (0.3, {"cut": 6, "warmup": 3})]
    assert got == errs and rec["chosen"] == 1 and rec["default"] == 2 and rec["at"] == 0.3
    assert rec["tried"] == [[1, pytest.approx(0.925)], [2, 1.0], [3, pytest.approx(0.8)]]
    paired = {w: (d, se) for w, d, se in rec["paired"]}
    assert paired[3][0] == pytest.approx(-0.2) and paired[3][1] == pytest.approx(np.std([-0.8, 0.8, -0.8, 0], ddof=1) / 2)
    assert paired[1][0] == pytest.approx(-0.075) and paired[1][0] + paired[1][1] < 0
    # nothing clearly better: the default stays, even with a lower mean elsewhere
    errs[1] = [0.2, 1.8, 0.2, 1.0]
    assert bench.choose_warmup(solve, 0.3, {}, [1, 2, 3], 2, known=errs[2])[0]["chosen"] == 2
    # steps from fractions: the default (half) always among them
    cfg = {"warmup_choices": {"ilo": [0.25, 0.75]}, "steps": 300}
    assert bench.warmup_candidates(cfg, "ilo") == ([75, 150, 225], 150)
    assert bench.warmup_candidates(cfg, "sparse-gen") == ([], None)
    assert bench.warmup_candidates(dict(cfg, warmup_choices={"csgm": [0.25]}), "csgm") == ([], None)


def test_the_warmup_is_chosen_last_recorded_and_part_of_the_label_only_when_not_the_default(
        bench, tmp_path, monkeypatch):
    # WARMUP_CHOICES: after the radius search (and the cut), each warm-up solved at the chosen radius on the
    # validation digits, the default's solve being the search's own; a non-default choice solves the test rows with
    # that warm-up and names it in their label. A search saved before the choice keeps its radius search: only the
    # warm-ups are solved, and the rows stay when the default is kept.
    root = NO_DATA
    monkeypatch.setattr(MNIST, "warmup_choices", {"ilo": [0.25, 0.5, 0.75]})
    out = tmp_path / "warmup"
    args = ilo_args(root, out)
    seen = []  # ILO's solves: (validation or test, value, options)
    real_run = bench.run_method
    monkeypatch.setattr(searching, "run_method", lambda method, y, *a, **k: (method == "ilo" and seen.append(
        ("val" if len(y) == 3 else "test", a[3], dict(k.get("chosen") or {})))) or real_run(method, y, *a, **k))
    bench.main(args)
    rec = bench.load_selection(out)["ilo m=25"]
    w = rec["choice"]["warmup"]
    assert w["candidates"] == [1, 2, 3] and w["default"] == 2 and w["at"] == rec["chosen"]
    assert list(rec["choice"]) == ["cut", "warmup"]  # chosen last
    tried = dict(w["tried"])
    assert tried[2] == dict(rec["tried"])[rec["chosen"]]  # the default's errors are the search's own solve
    with open(out / "validation.csv") as f:
        val = [r for r in csv.DictReader(f) if r["hyperparameter"] == "warmup"]
    per = {k: [float(r["mse"]) for r in val if r["value"] == str(k)] for k in (1, 2, 3)}
    assert all(len(v) == 3 for v in per.values())
    assert all(abs(np.mean(per[k]) - tried[k]) < 1e-5 for k in per)
    d = {k: np.array(per[k]) - np.array(per[2]) for k in (1, 3)}
    better = [k for k in d if d[k].mean() + d[k].std(ddof=1) / np.sqrt(3) < 0]  # the rule, computed here
    assert w["chosen"] == (min(better, key=lambda k: tried[k]) if better else 2)
    warm = [s for s in seen if s[0] == "val" and "warmup" in s[2]]
    assert sorted(s[2]["warmup"] for s in warm) == [1, 3] and {s[1] for s in warm} == {rec["chosen"]}
    tests = [s for s in seen if s[0] == "test"]
    cut = {} if rec["choice"]["cut"]["chosen"] == 3 else {"cut": 6}  # the default cut is not named in the label
    given = {"cut": rec["choice"]["cut"]["chosen"]}  # but every choice is given to the solve, the defaults too
    assert tests == [("test", rec["chosen"], {**given, "warmup": w["chosen"]})]
    named = "".join(f"; {k}={v}" for k, v in cut.items())
    label = f"radius (lam={rec['lam']:g}{named}" + ("" if w["chosen"] == 2 else f"; warmup={w['chosen']}") + ")"
    assert {r["hyperparameter"] for r in rows(out) if r["method"] == "ilo"} == {label}
    assert "warmup = " in (out / "selection.log").read_text()
    # a record from before the warm-up's choice: only the warm-ups are solved (the default again, paired in one run),
    # the radius search and the cut stay; with the default kept (forced here) the rows are the rows without a choice
    state = bench.load_selection(out)
    state["ilo m=25"]["choice"].pop("warmup")
    (out / "selection.json").write_text(json.dumps(state))
    real_choose = bench.choose_warmup
    monkeypatch.setattr(searching, "choose_warmup", lambda *a, **k: (
        lambda r: (dict(r[0], chosen=2), r[1]))(real_choose(*a, **k)))
    seen.clear()
    bench.main(args)
    again = bench.load_selection(out)["ilo m=25"]
    assert {k: v for k, v in again.items() if k != "choice"} == {k: v for k, v in rec.items() if k != "choice"}
    assert again["choice"]["cut"] == rec["choice"]["cut"] and again["choice"]["warmup"]["chosen"] == 2
    assert sorted(s[2]["warmup"] for s in seen if s[0] == "val") == [1, 2, 3]  # no radius solved again
    assert [s for s in seen if s[0] == "test"] == ([] if w["chosen"] == 2 else [("test", rec["chosen"],
                                                                                   {**given, "warmup": 2})])
    assert {r["hyperparameter"] for r in rows(out) if r["method"] == "ilo"} == {f"radius (lam={rec['lam']:g}{named})"}
    # the choice taken off again: the record loses it and nothing is solved
    monkeypatch.setattr(MNIST, "warmup_choices", {})
    seen.clear()
    before = (out / "per_image.csv").read_text()
    bench.main(args)
    assert "warmup" not in bench.load_selection(out)["ilo m=25"]["choice"] and not seen
    assert (out / "per_image.csv").read_text() == before


def test_inpainting_benchmark_refuses_rows_of_other_weights_before_any_work(tmp_path, monkeypatch):
    # the inpainting benchmark resumes from its per_image.csv; rows solved with other weights behind the same
    # prior name (a retrained celeba64) are refused, by the fingerprint of G and D that metadata.json records
    inp = load_benchmark("inpainting")
    args = ["--sample", "mnist_test300", "--quick", "--random-prior", "--n", "2", "--masks", "center", "--threads",
            "1", "--show", "2", "--out-dir", str(tmp_path)]
    inp.main(args)
    meta_path = tmp_path / "inpainting_mnist_test300_quick_metadata.json"
    meta = json.loads(meta_path.read_text())
    G, D = inp.load_models(inp.argparse.Namespace(random_prior=True), (1, 28, 28))
    assert meta["priors_sha256"] == inp.weights_sha256(G, D) and len(meta["priors_sha256"]) == 16
    n_rows = len((tmp_path / "inpainting_mnist_test300_quick_per_image.csv").read_text().splitlines())
    solved = []
    monkeypatch.setattr(inp, "run_chunk", lambda *a, **k: solved.append(a))
    inp.main(args)  # same weights: every row is there, nothing is solved again
    assert not solved
    meta["priors_sha256"] = "0" * 16
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"differ from those the rows of .* were solved with \(0{16}\)"):
        inp.main([*args, "--masks", "center", "half"])
    assert not solved
    assert len((tmp_path / "inpainting_mnist_test300_quick_per_image.csv").read_text().splitlines()) == n_rows


def test_every_solve_is_given_the_searchs_options_never_the_priors_recipe(bench, monkeypatch):
    # A choice equal to its default is left out of a row's label, but the solve must still be given it: recover
    # fills an option it is not given from G.recipe, whose value at m need not be the search's default (the CelebA
    # grid's ILO rows at m = 200 and 500 were once solved at the recipe's cut 6 where the search chose the default 3)
    from ganprior.models import build_generator

    G = ganprior.Generator(build_generator("dcgan28", latent_dim=20, width=16, seed=0), name="random")
    G.recipe = {"recover": {"methods": {"ilo": {"cut": 6, "warmup": 0.75}, "sparse-gen": {"warmup": 0.25}}}}
    cfg = dict(bench.preset("mnist"), restarts=1, steps=4, lr=0.1, chunk=None, schedule="cosine", prior_models={})
    search = {"hyperparameter": "radius", "chosen": 1.0, "lam": 0.1,
              "choice": {"cut": {"chosen": 3, "default": 3}, "warmup": {"chosen": 2, "default": 2}}}
    assert bench.chosen_options(search) == {}  # the label: as without the choices
    assert bench.chosen_options(search, explicit=True) == {"cut": 3, "warmup": 2}
    seen = []
    real = ganprior.recover

    def recording(*args, **kwargs):
        res = real(*args, **kwargs, return_result=True)
        seen.append(res.info["settings"])
        return res.x

    monkeypatch.setattr(ganprior, "recover", recording)
    A = ganprior.operators.Gaussian(10, in_shape=(1, 28, 28), seed=0)
    y = torch.randn(1, 10, generator=torch.Generator().manual_seed(0))
    for method in ("ilo", "sparse-gen"):
        bench.run_method(method, y, A, G, cfg, 1.0, "fp32", (1, 28, 28), lam=0.1)  # no choice at all
    bench.run_method("ilo", y, A, G, cfg, 1.0, "fp32", (1, 28, 28), lam=0.1,
                     chosen=bench.chosen_options(search, explicit=True))
    # the defaults: cut 3, a warm-up of 4 // 2 = 2 steps, given to recover as the fraction 2 / 4 of the steps
    assert [(s.get("cut"), s["warmup"]) for s in seen] == [(3, 0.5), (None, 0.5), (3, 0.5)]
    assert ganprior.priors.recipe_for(G, "recover", 10, method="ilo") == {"cut": 6, "warmup": 0.75}  # not used


def test_a_merge_records_a_folders_own_commands_once(bench):
    # a folder copied from an earlier state of the target (the target ran more since) carries the target's history:
    # only its own commands are added, once each, with one note (they used to come again, the note doubled)
    note = bench.MERGED
    target = ["run a", "run b" + note, "merge", "run c"]
    theirs = ["run a", "run b" + note, "merge", "run d", "run d", "summary d"]
    assert bench.merged_commands(target, theirs) == target + ["run d" + note, "summary d" + note]
    assert bench.merged_commands(target + ["run d" + note], theirs) == target + ["run d" + note, "summary d" + note]
    assert bench.merged_commands([], ["x", ""]) == ["x" + note]


def test_verify_solves_the_first_rows_again_as_the_grid_did_and_reports_differences(bench, tmp_path):
    # rows of CSGM, a Lasso, Sparse-Gen and auto solved in chunks of 2; --verify 2 solves images 0 and 1 of every
    # (method, m) again through the grid's own solve and finds every MSE as written; a row edited by hand, a row of
    # another value than its search chose and a missing row are each reported, and nothing is written
    root = NO_DATA
    out = tmp_path / "grid"
    common = ["--dataset", "mnist", "--random-prior", "--m", "10", "--n-images", "3", "--chunk", "2",
              "--restarts", "1", "--steps", "3", "--n-val", "3", "--threads", "1", "--data-root", str(root),
              "--out", str(out)]
    bench.BEYOND["sparse-gen"] = dict(bench.BEYOND["sparse-gen"], grid=[0.5, 5.0])
    try:
        bench.main(common + ["--methods", "csgm", "lasso-dct", "sparse-gen"])
        before = (out / "per_image.csv").read_text()
        report = bench.main(common + ["--methods", "csgm", "lasso-dct", "sparse-gen", "--verify", "2"])
    finally:
        bench.BEYOND["sparse-gen"]["grid"] = [0.1, 1.0, 10.0]
    assert [(r["method"], r["status"], r["identical"], r["n"]) for r in report] == [
        ("csgm", "checked", 2, 2), ("lasso-dct", "checked", 2, 2), ("sparse-gen", "checked", 2, 2)]
    assert (out / "per_image.csv").read_text() == before
    lines = before.splitlines()
    # image 1 of CSGM: another MSE; image 0 of the Lasso: another value in its label; Sparse-Gen: image 1 gone
    edited = []
    for line in lines:
        f = line.split(",")
        if f[:3] == ["csgm", "10", "1"]:
            f[3] = f"{float(f[3]) * 1.001:.6g}"
        elif f[:3] == ["lasso-dct", "10", "0"]:
            f[-1] = "123"
        elif f[:3] == ["sparse-gen", "10", "1"]:
            continue
        edited.append(",".join(f))
    (out / "per_image.csv").write_text("\n".join(edited) + "\n")
    report = bench.main(common + ["--verify", "2"])  # every method with rows
    got = {r["method"]: (r["status"], r["identical"]) for r in report}
    assert got == {"csgm": ("checked", 1), "lasso-dct": ("stale", 0), "sparse-gen": ("missing", 0)}
    csgm = next(r for r in report if r["method"] == "csgm")
    assert csgm["new_mean"] != csgm["old_mean"] and np.isfinite(csgm["new_mean"])
