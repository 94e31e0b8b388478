"""The run store of the error-vs-m study: per_image.csv, selection.json / .log, validation.csv, metadata.json.

Every whole file is written at once (a temporary file, then an atomic rename: :func:`replace_text`); test rows are
appended one whole chunk per write (:func:`append_rows`), so that an interrupted run resumes from them without
duplicated or lost rows (:func:`read_rows` drops a torn last line).  A row is labelled with what its method's saved
search chose (:func:`row_label`); a row of another value is stale (:func:`is_current`) and solved again.  Runs made
into separate folders are merged with :func:`merge_runs`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
from pathlib import Path

import torch

from .protocol import AUTO_DEFAULT, BEYOND, auto_rule

__all__ = ["load_selection", "read_rows", "append_rows", "is_current", "merge_runs", "weights_sha256"]

# the columns of per_image.csv (one row per test image) and validation.csv (one row per value tried and image)
FIELDS = ["method", "m", "image", "mse", "psnr", "seconds", "operator", "hyperparameter", "value"]
VAL_FIELDS = ["method", "m", "hyperparameter", "value", "image", "mse"]


def load_selection(out):
    """selection.json of a results folder.

    Parameters
    ----------
    out : str or os.PathLike
        The results folder.

    Returns
    -------
    dict
        selection.json (``{"<method> m=<m>": record}``), empty if absent.
    """
    path = Path(out) / "selection.json"
    return json.loads(path.read_text()) if path.exists() else {}


def replace_text(path, text):
    """Write a whole file at once (a temporary file, then an atomic rename)."""
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_csv(path, fields, rows):
    """Write a whole CSV file (header and ``rows``, dicts) at once with :func:`_replace`."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    replace_text(path, buf.getvalue())


def fmt(v):
    return f"{v:g}"


def selection_lines(state, method_order):
    """selection.log: one line per search, every value tried (sorted) with its mean validation MSE."""
    rank = {k: i for i, k in enumerate(method_order)}
    lines = []
    for rec in sorted(state.values(), key=lambda r: (rank.get(r["method"], 99), r["method"], r["m"])):
        items = ([] if rec.get("lam") is None else [f"lam = {fmt(rec['lam'])}"]) \
            + ([f"prior = {rec['prior']}"] if rec.get("prior") else []) \
            + [f"{k} = {v}" for k, v in (rec.get("fixed") or {}).items()] \
            + [f"{k} = {c['chosen']} (" + (f"at {rec['hyperparameter']} {fmt(c['at'])}" if "at" in c else
                                           f"each at its best {rec['hyperparameter']}") + ": "
               + ", ".join(f"{v}: {e:.5g}" + ("" if "searches" not in c else
                                             f" at {fmt(c['searches'][str(v)]['chosen'])}")
                           for v, e in c["tried"]) + ")"
               for k, c in rec.get("choice", {}).items()]
        given = " [" + "; ".join(items) + "]" if items else ""
        if rec["status"] == "single":
            lines.append(f"{rec['method']} m={rec['m']}{given}: {rec['hyperparameter']} = {fmt(rec['chosen'])} "
                         "(a one-value grid: no search)")
            continue
        values = [v for v, _ in rec["tried"]]
        widened = [v for v in values if v not in rec["grid"]]
        lines.append(f"{rec['method']} m={rec['m']}{given}: {rec['hyperparameter']} grid [{', '.join(map(fmt, rec['grid']))}]"
                     + (f" + widened [{', '.join(map(fmt, widened))}]" if widened else "")
                     + f" -> validation MSE ({rec['n_val']} images) "
                     + ", ".join(f"{fmt(v)}: {e:.5g}" for v, e in rec["tried"])
                     + f" -> {fmt(rec['chosen'])} ({rec['status']})")
    return lines


def save_selection(out, state, method_order):
    replace_text(Path(out) / "selection.json", json.dumps(state, indent=1) + "\n")
    replace_text(Path(out) / "selection.log", "\n".join(selection_lines(state, method_order)) + "\n")


def write_validation(out, method, m, name, val_ids, per_image, extra=(), fresh=False):
    """validation.csv: the per-image validation MSE of every value tried (a repeated search replaces its rows:
    those of (method, m) with a hyperparameter written here; ``fresh``: every row of (method, m), a whole search
    made anew); ``extra``: ``(option, candidate, errors)``, rows of their own (a BEYOND_CHOICES option, or the
    hyperparameter at another candidate of one chosen at its own best: ``radius (cut=6)``; CSGM's lam with a prior
    other than the preset's: ``lam (prior=NAME)``)."""
    path = Path(out) / "validation.csv"
    rows = []
    written = ({name} if per_image else set()) | {opt for opt, _, _ in extra}
    if path.exists():
        with open(path) as f:
            rows = [r for r in csv.DictReader(f)
                    if not (r["method"] == method and int(r["m"]) == m and (fresh or r["hyperparameter"] in written))]
    for value in sorted(per_image):
        rows += [dict(method=method, m=m, hyperparameter=name, value=fmt(value), image=i, mse=f"{e:.6g}")
                 for i, e in zip(val_ids, per_image[value])]
    for opt, c, errs in extra:
        rows += [dict(method=method, m=m, hyperparameter=opt, value=str(c), image=i, mse=f"{e:.6g}")
                 for i, e in zip(val_ids, errs)]
    write_csv(path, VAL_FIELDS, rows)


def read_rows(per_image):
    """The rows of per_image.csv, repaired for a resume: a torn last line (a run killed mid-write) is cut off and
    a repeated (method, m, image) keeps its first row only; the file is rewritten if anything was dropped.

    Parameters
    ----------
    per_image : pathlib.Path
        per_image.csv.

    Returns
    -------
    list of dict
    """
    text = per_image.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        print(f"{per_image}: dropped a torn last line", file=sys.stderr)
        replace_text(per_image, text)
    rows, seen = [], set()
    for r in csv.DictReader(io.StringIO(text)):
        key = (r["method"], int(r["m"]), int(r["image"]))
        if key not in seen and None not in r.values():
            seen.add(key)
            rows.append(r)
    if len(rows) != text.count("\n") - 1:
        print(f"{per_image}: dropped {text.count(chr(10)) - 1 - len(rows)} repeated or broken rows", file=sys.stderr)
        write_csv(per_image, FIELDS, rows)
    return rows


def row_label(name, value, lam=None, chosen=None, fixed=None):
    """The ``(hyperparameter, value)`` columns of a test row solved with ``value`` (and CSGM's ``lam``, the
    options ``chosen`` by a BEYOND_CHOICES search, and the method's ``fixed`` arguments, BEYOND_FIXED)."""
    given = ([] if lam is None else [f"lam={lam:g}"]) + [f"{k}={v}" for k, v in (chosen or {}).items()] \
        + [f"{k}={v}" for k, v in (fixed or {}).items()]
    return (f"{name} ({'; '.join(given)})" if given else name), str(value)


def chosen_options(search, explicit=False):
    """The options a saved search chose or was given besides its hyperparameter (``{}`` if none): BEYOND_CHOICES
    (ILO's cut), the prior CSGM's search chose (PRIOR_CHOICES), or that prior in a later method's record. A choice
    of the ``default`` (the preset's prior) is left out of a row's label: its rows are the rows of the run without
    the choice. ``explicit``: every choice, the defaults too -- what a solve is given, so that no option falls back
    on the prior's recipe (``recover`` fills an option it is not given from ``G.recipe``, whose value at m need not
    be the search's default)."""
    search = search or {}
    opts = {"prior": search["prior"]} if search.get("prior") else {}
    opts.update({k: v["chosen"] for k, v in search.get("choice", {}).items()
                 if explicit or "default" not in v or v["chosen"] != v["default"]})
    return opts


def chosen_prior(state, m):
    """The prior CSGM's search chose at ``m`` (PRIOR_CHOICES), ``None`` for the preset's (or no choice): the prior of
    every latent method at that m."""
    return chosen_options(state.get(f"csgm m={m}")).get("prior")


def validated_options(method, m, state, explicit=False):
    """The arguments of ``recover`` that ``method``'s validation search chose at ``m`` (from selection.json):
    its hyperparameter, plus CSGM's lam and the fixed basis / cut for a method beyond the range (``explicit``:
    the choices equal to their default too, :func:`chosen_options`; what a solve is given)."""
    rec = state[f"{method} m={m}"]
    opts = {rec["hyperparameter"]: rec["chosen"]}
    if rec.get("lam") is not None:
        opts["lam"] = rec["lam"]
    opts.update(rec.get("fixed") or {})
    # the prior is not an argument of recover: auto runs every candidate with the prior chosen at m (row_search)
    opts.update({k: v for k, v in chosen_options(rec, explicit).items() if k != "prior"})
    return opts


def candidates_digest(state, m, candidates):
    """The first 8 hex digits of the SHA-256 of ``json.dumps(options, sort_keys=True)``, ``options`` being
    ``{method: validated_options(method, m, state)}`` over ``candidates`` (metadata.json's ``auto[m]``): part of
    ``auto``'s row label, so that a candidate's search redone (another alpha, cut, fixed argument) makes the auto
    rows at ``m`` stale as it makes the candidate's own.  ``None`` if a candidate has no search at ``m``."""
    if any(f"{k} m={m}" not in state for k in candidates):
        return None
    options = {k: validated_options(k, m, state) for k in candidates}
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:8]


def row_search(state, method, m, selection=AUTO_DEFAULT, candidates=()):
    """What a row of (method, m) must have been solved with: its method's saved search; for ``auto``, which has
    none, ``{"hyperparameter": "method", "chosen": auto_rule(m, selection)}``, the prior CSGM chose at ``m`` and
    the fingerprint of its ``candidates``' validated options (:func:`candidates_digest`; ``None`` while a
    candidate's search is missing: what the rows were solved with cannot be told yet)."""
    if method != "auto":
        return state.get(f"{method} m={m}")
    prior = chosen_prior(state, m)
    digest = candidates_digest(state, m, candidates)
    if digest is None:
        return None
    return dict(hyperparameter="method", chosen=auto_rule(m, selection), **({"prior": prior} if prior else {}),
                fixed={"candidates": digest})


def is_current(row, search):
    """Whether a test row was solved with the value its method's saved search chose (``search``: the
    selection.json entry for its (method, m), ``None`` when there is none; for ``auto``, :func:`row_search`'s
    record of the prior chosen at m). A row without a saved search is not current: where it came from is
    unknown, so its (method, m) is searched and the row kept only if the search chooses its value.

    Parameters
    ----------
    row : dict
        A per_image.csv row.
    search : dict or None
        Its (method, m)'s search.

    Returns
    -------
    bool
    """
    if search is None:
        return False
    return (row["hyperparameter"], row["value"]) == row_label(
        search["hyperparameter"], search["chosen"], search.get("lam"), chosen_options(search), search.get("fixed"))


def drop_stale_rows(per_image, method, m, search):
    """Remove from per_image.csv the rows of (method, m) solved with another value than ``search`` chose (a
    search redone on a wider grid or more validation images): they are solved again, never mixed with rows of
    the current value. Rows of the chosen value are kept (the same value, A and seeds give the same solve).
    Returns the (method, m, image) keys of the rows of (method, m) kept, from the one read of the file."""
    rows = read_rows(per_image)
    stale = [r for r in rows if r["method"] == method and int(r["m"]) == m and not is_current(r, search)]
    if stale:
        print(f"{per_image}: {len(stale)} rows of {method} m={m} were solved with "
              f"{stale[0]['hyperparameter']} = {stale[0]['value']}, not the chosen value: solved again",
              file=sys.stderr)
        gone = set(map(id, stale))
        write_csv(per_image, FIELDS, [r for r in rows if id(r) not in gone])
    return {(r["method"], int(r["m"]), int(r["image"])) for r in rows
            if r["method"] == method and int(r["m"]) == m and is_current(r, search)}


def append_rows(per_image, rows):
    """Append a chunk's rows with ONE write to an O_APPEND file, then fsync: a killed run loses whole chunks.

    Parameters
    ----------
    per_image : str or os.PathLike
        per_image.csv (with its header).
    rows : list of dict
        Rows with the columns ``FIELDS``.
    """
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n").writerows(rows)
    fd = os.open(per_image, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, buf.getvalue().encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def weights_sha256(*models) -> str:
    """The fingerprint of the models' weights: what tells new weights behind the same prior name from the weights a
    result was solved with.

    Parameters
    ----------
    *models : torch.nn.Module or ganprior.Generator
        The models, hashed one after the other (their state_dicts, key by key in sorted order).

    Returns
    -------
    str
        The first 16 hex digits of the SHA-256.
    """
    h = hashlib.sha256()
    for model in models:
        for key, value in sorted(model.state_dict().items()):
            h.update(key.encode())
            h.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def prior_fingerprints(models):
    """``{name: the first 16 hex digits of the SHA-256 of its weights}`` for the priors of a run (``models``:
    name -> :class:`ganprior.Generator`), recorded in metadata.json as ``priors_sha256``.  Rows are matched to
    their searches by labels that name a prior, not its weights: the fingerprint is what tells new weights behind
    the same name (a retrained ``mnist``) from the weights the rows were solved with."""
    return {name: weights_sha256(G) for name, G in models.items()}


def check_fingerprints(mine, theirs, where):
    """Raise before any work if a prior named in both ``mine`` and ``theirs`` (``priors_sha256`` records) has
    other weights in one than in the other."""
    changed = sorted(k for k in set(mine or {}) & set(theirs or {}) if mine[k] != theirs[k])
    if changed:
        raise ValueError(
            f"The weights of prior(s) {changed} differ from those the rows of {where} were solved with (SHA-256 "
            f"{', '.join(f'{k}: {theirs[k]} there, {mine[k]} here' for k in changed)}). Rows of different weights "
            "are not comparable: solve into a fresh --out, or remove the rows of the latent methods and the "
            "'priors_sha256' entry of its metadata.json.")


MERGED = "   # run into a separate folder and merged"  # the note a merged folder's commands carry


def merged_commands(target, theirs):
    """The target's commands, then those of a merged folder's that the target does not have, each once and with
    the note MERGED: a folder started with a copy of the target (of its state then or of an earlier one) carries
    the target's history, which is not recorded again."""
    have = set(target)
    own = [c if c.endswith(MERGED) else c + MERGED for c in theirs if c and c not in have]
    return list(target) + [c for c in dict.fromkeys(own) if c not in have and c[:-len(MERGED)] not in have]


def searched_methods(meta, candidates=()):
    """The methods whose searches a run recorded in ``meta`` (a folder's metadata.json) may have made: its
    ``methods``, CSGM where one of them leaves the range (its lam is CSGM's, searched first), every candidate of
    ``auto`` (``candidates``).  ``None`` where that cannot be told (no metadata or methods; auto without its
    candidates): then every record counts."""
    methods = (meta or {}).get("methods")
    if not methods or ("auto" in methods and not candidates):
        return None
    made = set(methods) | (set(candidates) if "auto" in methods else set())
    return made | {"csgm"} if made & set(BEYOND) else made


def merge_runs(out, folders, candidates=(), selection=AUTO_DEFAULT):
    """Merge the results of runs made into separate folders (e.g. one per method, run at once) into ``out``:
    their searches at the m the folder's run covered (its metadata.json "m"; selection.json entries) of the methods
    it searched (:func:`searched_methods`: a folder copied from ``out`` holds copies of the other records), their
    per_image.csv rows for (method, m, image) that ``out`` lacks (if current under the merged searches: a folder
    copied from ``out`` keeps the rows its own searches made stale), their validation.csv rows for the (method, m)
    of those searches, and their commands (metadata.json).  ``out`` is created when missing.

    A folder's search at an m it ran is the later one: where ``out`` holds another record for it (a search
    redone with other fixed arguments, a wider grid or another prior), the folder's replaces it, with its
    validation rows, and ``out``'s test rows that are not current under it are dropped first, so that the
    folder's rows take their place; so are ``out``'s ``auto`` rows at those m that are not current under the new
    searches of their ``candidates`` (:func:`row_search` with ``selection``).  Returns the number of rows added.

    Parameters
    ----------
    out : str or os.PathLike
        The folder merged into.
    folders : sequence of str or os.PathLike
        The folders merged.
    candidates : sequence of str
        ``auto``'s candidate methods.
    selection : dict
        ``auto``'s selection arguments (:data:`~ganprior.benchmark.protocol.AUTO_DEFAULT`).

    Returns
    -------
    int
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    per_image = out / "per_image.csv"
    have = {(r["method"], int(r["m"]), int(r["image"])) for r in read_rows(per_image)} if per_image.exists() else set()
    if not per_image.exists():
        replace_text(per_image, ",".join(FIELDS) + "\n")
    state = load_selection(out)
    vpath = out / "validation.csv"
    vrows = list(csv.DictReader(io.StringIO(vpath.read_text()))) if vpath.exists() else []
    meta_path = out / "metadata.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    added = 0
    base_cmds, base_total = list(meta.get("commands", [])), meta.get("wall_time_total_s", 0.0)
    folders = [Path(f) for f in folders]
    metas = {f: json.loads((f / "metadata.json").read_text()) if (f / "metadata.json").exists() else None
             for f in folders}
    for folder in folders:  # every folder checked before anything is merged
        theirs_fp = (metas[folder] or {}).get("priors_sha256")
        check_fingerprints(theirs_fp, meta.get("priors_sha256"), out)
        if theirs_fp:
            meta["priors_sha256"] = {**theirs_fp, **meta.get("priors_sha256", {})}
    for folder in folders:
        theirs = load_selection(folder)
        # a folder started with a copy of selection.json holds every m's records; only those at the m it ran, of the
        # methods it searched, are its own
        ran = set((metas[folder] or {}).get("m") or [v["m"] for v in theirs.values()])
        made = searched_methods(metas[folder], candidates)
        fresh = {k: v for k, v in theirs.items()
                 if v["m"] in ran and (made is None or v["method"] in made) and state.get(k) != v}
        replaced = {k for k in fresh if k in state}
        state.update(fresh)
        moved = {v["m"] for v in fresh.values()} if candidates else set()
        searches = {}  # (method, m) -> row_search under the merged state, once per pair

        def stale_under(r):  # not of what the merged searches chose
            key = (r["method"], int(r["m"]))
            if key not in searches:
                searches[key] = row_search(state, *key, selection, candidates)
            return searches[key] is not None and not is_current(r, searches[key])

        def stale(r):  # out's rows: only those of the searches this folder replaced (and auto's where they moved)
            if f"{r['method']} m={r['m']}" not in replaced and not (r["method"] == "auto" and int(r["m"]) in moved):
                return False
            return stale_under(r)

        if replaced or moved:  # out's rows that the folder's searches made stale give way to the folder's
            rows = read_rows(per_image)
            keep = [r for r in rows if not stale(r)]
            if len(keep) < len(rows):
                write_csv(per_image, FIELDS, keep)
                have = {(r["method"], int(r["m"]), int(r["image"])) for r in keep}
        # the folder's rows that out lacks, if current under the merged searches (a folder copied from an earlier
        # state of out still holds the rows its own searches made stale)
        new = [r for r in read_rows(folder / "per_image.csv") if (r["method"], int(r["m"]), int(r["image"])) not in have
               and not stale_under(r)]
        if new:
            append_rows(per_image, new)
            have |= {(r["method"], int(r["m"]), int(r["image"])) for r in new}
            added += len(new)
        if (folder / "validation.csv").exists():
            keys = {(v["method"], int(v["m"])) for v in fresh.values()}
            vrows = [r for r in vrows if (r["method"], int(r["m"])) not in keys]
            theirs_v = csv.DictReader(io.StringIO((folder / "validation.csv").read_text()))
            vrows += [r for r in theirs_v if (r["method"], int(r["m"])) in keys]
        if (new or fresh) and metas[folder] is not None:  # a repeated merge records nothing twice
            other = metas[folder]
            cmds = other.get("commands", [other.get("command")])
            copied = bool(base_cmds) and cmds[:len(base_cmds)] == base_cmds
            meta["commands"] = merged_commands(meta.get("commands", []), cmds)
            meta["wall_time_total_s"] = round(meta.get("wall_time_total_s", 0.0) + other.get("wall_time_total_s", 0.0)
                                              - (base_total if copied else 0.0), 1)
    write_csv(vpath, VAL_FIELDS, vrows)
    replace_text(out / "selection.json", json.dumps(state, indent=1) + "\n")
    if meta:
        meta_path.write_text(json.dumps(meta, indent=2, default=float) + "\n")
    return added
