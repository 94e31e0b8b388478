"""The report of the error-vs-m study: the summary with 95% confidence intervals, the table, the plots, and how
many measurements a prior saves over the best Lasso.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from .protocol import ALPHAS, BEYOND
from .store import fmt

__all__ = ["summarise", "m_needed", "savings", "prior_savings", "write_report", "validation_report"]


def summarise(rows):
    """Mean, standard deviation and 95% CI (1.96 standard errors) of the MSE and PSNR per (method, m).

    Parameters
    ----------
    rows : list of dict
        per_image.csv rows.

    Returns
    -------
    list of dict
        One row per (method, m): ``n``, ``mean``, ``std``, ``ci95`` (1.96 standard errors), ``psnr_mean``,
        ``psnr_ci95``.
    """
    out = []
    for method in sorted({r["method"] for r in rows}):
        for m in sorted({int(r["m"]) for r in rows if r["method"] == method}):
            errs = np.array([float(r["mse"]) for r in rows if r["method"] == method and int(r["m"]) == m])
            psnrs = np.array([float(r["psnr"]) for r in rows if r["method"] == method and int(r["m"]) == m])
            sd = errs.std(ddof=1) if len(errs) > 1 else 0.0
            out.append(dict(method=method, m=m, n=len(errs), mean=errs.mean(), std=sd,
                            ci95=1.96 * sd / math.sqrt(len(errs)), psnr_mean=psnrs.mean(),
                            psnr_ci95=1.96 * (psnrs.std(ddof=1) if len(psnrs) > 1 else 0.0) / math.sqrt(len(psnrs))))
    return out


def markdown_table(summary, methods):
    """The results' table (table.md, as benchmarks/README.md shows it): one row per m, one column per method,
    'mean +- 95% CI (PSNR)' with 3 and 2 significant figures (fixed decimals read 0.0000 +- 0.0000 where the Lasso
    is nearly exact); '–' where not run."""
    cell = {(r["method"], r["m"]): f"{r['mean']:#.3g} ± {r['ci95']:#.2g} ({r['psnr_mean']:.1f} dB)" for r in summary}
    lines = ["| m | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for m in sorted({r["m"] for r in summary}):
        lines.append(f"| {m} | " + " | ".join(cell.get((k, m), "–") for k in methods) + " |")
    return "\n".join(lines) + "\n"


def m_needed(summary, method, target):
    """Smallest m at which the method's mean error reaches `target`, by log-log interpolation (nan if never).

    Parameters
    ----------
    summary : list of dict
        :func:`summarise`'s rows.
    method : str
        The method.
    target : float
        The target mean error.

    Returns
    -------
    float
    """
    pts = sorted((r["m"], r["mean"]) for r in summary if r["method"] == method)
    for (m0, e0), (m1, e1) in zip(pts, pts[1:]):
        if e0 <= target:
            return float(m0)
        if e1 <= target:
            t = (math.log(target) - math.log(e0)) / (math.log(e1) - math.log(e0))
            return float(math.exp(math.log(m0) + t * (math.log(m1) - math.log(m0))))
    return float(pts[0][0]) if pts and pts[0][1] <= target else float("nan")


def savings(summary, targets, out):
    """The m each method needs for each target error (interpolated, :func:`m_needed`), and the best Lasso's m over each latent method's; savings.csv and savings.png.

    Parameters
    ----------
    summary : list of dict
        :func:`summarise`'s rows.
    targets : sequence of float
        Target mean errors.
    out : pathlib.Path
        The folder of savings.csv and savings.png.

    Returns
    -------
    list of dict
        One row per target: ``m_<method>`` and ``best_lasso_over_<latent>``.
    """
    methods = sorted({r["method"] for r in summary})
    rows = []
    for target in targets:
        row = {"target_mse": target}
        for method in methods:
            row[f"m_{method}"] = m_needed(summary, method, target)
        # the sparse baselines (no prior) against CSGM; each other latent method against the best baseline too
        baselines = [row[f"m_{mm}"] for mm in methods if mm in ALPHAS and not math.isnan(row[f"m_{mm}"])]
        for latent in ["csgm"] + [mm for mm in methods if mm in BEYOND or mm == "auto"]:
            key = "best_lasso_over_csgm" if latent == "csgm" else f"best_lasso_over_{latent}"
            if latent in methods and baselines and not math.isnan(row[f"m_{latent}"]):
                row[key] = min(baselines) / row[f"m_{latent}"]
            else:
                row[key] = float("nan")
        rows.append(row)
    with open(out / "savings.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method in methods:
        ax.plot(targets, [r[f"m_{method}"] for r in rows], "o-", label=method)
    reached = any(r[f"m_{method}"] > 0 for r in rows for method in methods)  # nan > 0 is False
    ax.set(xscale="log", yscale="log" if reached else "linear", xlabel="target per-pixel MSE",
           ylabel="measurements needed (interpolated)",
           title="Measurements needed for a target error")
    ax.invert_xaxis()
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "savings.png", dpi=120)
    plt.close(fig)
    return rows


def validation_report(out, sizes):
    """How many validation images the choice needs: on the pool of validation.csv (one search per method and m),
    the choice made on each of the disjoint blocks of k consecutive images vs the choice on the whole pool, and
    what a different choice costs on the rest of the pool (excess mean validation MSE). Writes
    validation_size.csv and validation_size.md; returns the rows.

    Parameters
    ----------
    out : str or os.PathLike
        The folder holding validation.csv.
    sizes : sequence of int
        The block sizes k.

    Returns
    -------
    list of dict
    """
    out = Path(out)
    with open(out / "validation.csv") as f:
        vrows = list(csv.DictReader(f))
    report = []
    for method, m, hyper in sorted({(r["method"], int(r["m"]), r["hyperparameter"]) for r in vrows}):
        sub = [r for r in vrows if r["method"] == method and int(r["m"]) == m and r["hyperparameter"] == hyper]
        values = sorted({float(r["value"]) for r in sub})
        images = sorted({int(r["image"]) for r in sub})
        col = {i: j for j, i in enumerate(images)}
        E = np.full((len(values), len(images)), np.nan)
        for r in sub:
            E[values.index(float(r["value"])), col[int(r["image"])]] = float(r["mse"])
        pool_best = int(np.argmin(E.mean(axis=1)))
        for k in sizes:
            n_blocks = len(images) // k
            if n_blocks < 2:
                continue
            agree, excess, rel, edge = [], [], [], 0
            for b in range(n_blocks):
                inside = np.zeros(len(images), bool)
                inside[len(images) - (b + 1) * k: len(images) - b * k] = True  # blocks from the end of the split
                c = int(np.argmin(E[:, inside].mean(axis=1)))
                rest_best = E[pool_best, ~inside].mean()
                agree.append(c == pool_best)
                excess.append(E[c, ~inside].mean() - rest_best)
                rel.append(excess[-1] / rest_best)
                edge += c in (0, len(values) - 1) and c != pool_best
            report.append(dict(method=method, m=m, hyperparameter=hyper, pool=len(images), k=k, blocks=n_blocks,
                               pool_choice=fmt(values[pool_best]), agree=float(np.mean(agree)),
                               excess_mean=float(np.mean(excess)), excess_max=float(np.max(excess)),
                               excess_rel_mean=float(np.mean(rel)), excess_rel_max=float(np.max(rel)),
                               choices=" ".join(fmt(values[int(np.argmin(E[:, len(images) - (b + 1) * k:
                                                                             len(images) - b * k].mean(axis=1)))])
                                                for b in range(n_blocks)),
                               edge_choices=edge))
    with open(out / "validation_size.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(report[0]), lineterminator="\n")
        w.writeheader()
        for r in report:
            w.writerow({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items()})
    pools = sorted({r["pool"] for r in report})
    lines = [f"Validation pool: the last {'/'.join(map(str, pools))} images of the training split, one search per "
             "method and m (validation.csv, selection.log). Each block of k consecutive images (from the end of the "
             "split, disjoint) chooses among the values the pool's search tried; 'agree' is how often it chooses the "
             "pool's value; 'excess' is the mean validation MSE of its choice minus that of the pool's choice, on the "
             "rest of the pool (the pool without the block), and relative to the latter.", "",
             "| method | m | pool choice | k | blocks | agree with pool | excess MSE mean / max (relative) |",
             "|---|---|---|---|---|---|---|"]
    for r in report:
        lines.append(f"| {r['method']} | {r['m']} | {r['pool_choice']} | {r['k']} | {r['blocks']} | "
                     f"{r['agree']:.0%} | {r['excess_mean']:.2g} / {r['excess_max']:.2g} "
                     f"({r['excess_rel_mean']:.1%} / {r['excess_rel_max']:.1%}) |")
    (out / "validation_size.md").write_text("\n".join(lines) + "\n")
    return report


def prior_savings(summary, prior="csgm", baselines=None):
    """How many measurements the prior saves over the best baseline: at each m of ``prior``, the m each baseline
    needs for the prior's mean error there (:func:`m_needed`, interpolated) and the ratio of the best to m.

    Parameters
    ----------
    summary : list of dict
        :func:`summarise`'s rows.
    prior : str
        The method whose errors are the targets.
    baselines : sequence of str, optional
        The methods compared (default: the Lassos in ``summary``).

    Returns
    -------
    list of dict
        One row per m of ``prior``: ``m``, ``mse`` (the prior's mean), ``m_<baseline>`` for each baseline, then
        ``best_baseline``, ``best_baseline_m`` and ``savings`` (``best_baseline_m / m``); nan where no baseline
        reaches the prior's error at the m tried (it needs more than the largest m).
    """
    have = sorted({r["method"] for r in summary})
    baselines = [b for b in (baselines or [k for k in have if k in ALPHAS]) if b in have]
    rows = []
    for r in sorted((r for r in summary if r["method"] == prior), key=lambda r: r["m"]):
        row = dict(m=r["m"], mse=float(r["mean"]))
        need = {b: m_needed(summary, b, row["mse"]) for b in baselines}
        row.update({f"m_{b}": v for b, v in need.items()})
        reached = {b: v for b, v in need.items() if not math.isnan(v)}
        best = min(reached, key=reached.get) if reached else ""
        row.update(best_baseline=best, best_baseline_m=reached.get(best, float("nan")),
                   savings=reached[best] / r["m"] if best else float("nan"))
        rows.append(row)
    return rows


def write_report(out, rows, methods, *, title="", targets=None, prior="csgm"):
    """Write the study's report from its test rows: summary.csv (mean with 95% CI), error_vs_m.png, table.md and
    the savings (savings.csv and savings.png).

    Parameters
    ----------
    out : str or os.PathLike
        The results folder.
    rows : list of dict
        per_image.csv's rows to report.
    methods : list of str
        The methods in the table's order.
    title : str
        The error plot's title.
    targets : sequence of float, optional
        Target errors: savings.csv lists the m each method needs for them (:func:`savings`).  Without them,
        savings.csv lists, at each m of ``prior``, the m the best Lasso needs for the same error
        (:func:`prior_savings`).
    prior : str
        The latent method the savings are of (without ``targets``).

    Returns
    -------
    (list of dict, list of dict)
        The summary (:func:`summarise`) and the savings rows.
    """
    out = Path(out)
    summary = summarise(rows)
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        for r in summary:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    from ganprior.plotting import error_curves

    error_curves(summary, out / "error_vs_m.png", title=title)
    if targets:
        sav = savings(summary, targets, out)
    else:
        sav = prior_savings(summary, prior)
        if sav:
            with open(out / "savings.csv", "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(sav[0]), lineterminator="\n")
                w.writeheader()
                for r in sav:
                    w.writerow({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items()})
            savings_plot(sav, out / "savings.png", prior)
    (out / "table.md").write_text(markdown_table(summary, methods))
    return summary, sav


def savings_plot(rows, path, prior="csgm"):
    """The m the best Lasso needs for the prior's error against the prior's m (:func:`prior_savings`' rows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ms = [r["m"] for r in rows]
    ax.plot(ms, [r["best_baseline_m"] for r in rows], "o-", label="best Lasso, for the prior's error")
    ax.plot(ms, ms, "k--", lw=1, label=f"{prior} (m = m)")
    ax.set(xscale="log", yscale="log", xlabel=f"measurements m ({prior})", ylabel="measurements for the same error",
           title="Measurements the prior saves")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
