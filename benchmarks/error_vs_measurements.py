"""Reconstruction error vs number of measurements (Bora et al. 2017, Fig. 1), MNIST / Fashion-MNIST / CelebA-64.

Protocol (see ../shared/REFERENCE.md section 1 and the README):

- test images: the first 300 MNIST (Fashion-MNIST) test images; the 64 CelebA test faces of the paper;
- A ~ N(0, 1/m) (a fresh matrix per m, shared by the test images), noise eta with per-entry std
  ||eta|| / sqrt(m), ||eta|| = 0.1 (MNIST) or 0.01 (CelebA);
- methods: CSGM with the bundled prior, Lasso (pixel), Lasso-DCT, Lasso-wavelet (Haar);
- every hyperparameter (CSGM lam, each Lasso's alpha) is chosen per m on validation images drawn from the
  TRAINING split, never on the test images; the chosen values are recorded per row;
- metric: per-pixel MSE in [0, 1] pixels and PSNR; mean with 95% CI = 1.96 std / sqrt(N).

Outputs in --out: ``per_image.csv`` (appended as it goes: an interrupted run resumes from it),
``summary.csv``, ``error_vs_m.png``, ``savings.csv`` + ``savings.png`` (the m each method needs for a target
error, interpolated, and the Lasso-m / CSGM-m ratio), ``metadata.json`` (versions, seeds, device, times, command).

Examples::

    python benchmarks/error_vs_measurements.py --dataset mnist --out benchmarks/results/mnist
    python benchmarks/error_vs_measurements.py --dataset celeba --out benchmarks/results/celeba
    python benchmarks/error_vs_measurements.py --dataset mnist --quick --out /tmp/quick
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

import ganprior
from ganprior.data import load_celeba, load_fashion_mnist, load_mnist, load_sample

PRESETS = {
    "mnist": dict(prior="mnist", sample="mnist_test300", noise=0.1, methods=["csgm", "lasso", "lasso-dct", "lasso-wavelet"],
                  m=[10, 25, 50, 100, 200, 300, 400, 500, 750], n_test=300, restarts=10, steps=300, lr=0.3,
                  lams=[0.1, 1.0, 3.0], savings_targets=[0.05, 0.02, 0.01]),
    "fashion-mnist": dict(prior="fashion-mnist", sample="fashion_test300", noise=0.1,
                          methods=["csgm", "lasso", "lasso-dct", "lasso-wavelet"],
                          m=[10, 25, 50, 100, 200, 300, 400, 500, 750], n_test=300, restarts=10, steps=300,
                          lr=0.3, lams=[0.1, 1.0, 3.0], savings_targets=[0.05, 0.02, 0.01]),
    "celeba": dict(prior="celeba64", sample="celeba_test64", noise=0.01, methods=["csgm", "lasso-dct", "lasso-wavelet"],
                   m=[20, 50, 100, 200, 500, 1000, 2500, 5000, 7500, 10000], n_test=64, restarts=2, steps=300,
                   lr=0.1, lams=[0.0, 0.01, 0.1], savings_targets=[0.02, 0.01, 0.005]),
}
ALPHAS = {"lasso": [0.01, 0.1, 1.0], "lasso-dct": [0.01, 0.1, 1.0], "lasso-wavelet": [1e-5, 1e-3, 1e-1]}
FIELDS = ["method", "m", "image", "mse", "psnr", "seconds", "operator", "hyperparameter", "value"]


def default_data_root():
    """$GANPRIOR_DATA, else ../shared/data beside the repository."""
    env = os.environ.get("GANPRIOR_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def validation_images(dataset, n, root):
    """The last n images of the training split (the priors were trained on it; the test split is untouched)."""
    if dataset == "mnist":
        return load_mnist(root / "mnist", split="train")[0][-n:]
    if dataset == "fashion-mnist":
        return load_fashion_mnist(root / "fashion_mnist", split="train")[0][-n:]
    return load_celeba(root / "celeba", which="10k")[-n:]


# Above this many matrix entries (m * n) a dense Gaussian is replaced by the structured SubsampledDCT:
# at CelebA's n = 12288 and m >= 2500 the Gaussian is >= 120 MB and every CSGM step pays m * n per row.
DENSE_LIMIT = 2.5e7


def operator_name(m, n):
    return "gaussian" if m * n <= DENSE_LIMIT else "subsampled-dct"


def measure(x, m, noise, seed):
    """A seeded by (seed, m) and y = A x + eta with ||eta|| about `noise`.

    A ~ N(0, 1/m) (the paper's) while m * n <= DENSE_LIMIT, else SubsampledDCT (random rows of an orthonormal
    DCT with random signs, scaled like the Gaussian so that E||Ax||^2 = ||x||^2).
    """
    shape = tuple(x.shape[1:])
    if operator_name(m, x[0].numel()) == "gaussian":
        A = ganprior.operators.Gaussian(m, in_shape=shape, seed=seed * 100003 + m)
    else:
        A = ganprior.operators.SubsampledDCT(m, in_shape=shape, seed=seed * 100003 + m)
    eta = torch.randn(x.shape[0], m, generator=torch.Generator().manual_seed(seed * 7919 + m)) * noise / math.sqrt(m)
    return A, A(x) + eta


def run_method(method, y, A, G, cfg, value, precision, image_shape):
    if method == "csgm":
        return ganprior.recover(y, A, G, lam=value, restarts=cfg["restarts"], steps=cfg["steps"], lr=cfg["lr"],
                                seed=0, precision=precision, chunk_size=cfg.get("chunk"), schedule=cfg["schedule"])
    return ganprior.recover(y, A, method=method, alpha=value, image_shape=image_shape)


def choose(method, m, x_val, G, cfg, precision, image_shape, log):
    """Pick the hyperparameter with the lowest mean validation MSE (validation images only)."""
    name, grid = ("lam", cfg["lams"]) if method == "csgm" else ("alpha", ALPHAS[method])
    if len(grid) == 1:
        return name, grid[0]
    A, y = measure(x_val, m, cfg["noise"], seed=1)  # a different A and noise from the test run
    scores = []
    for value in grid:
        x_hat = run_method(method, y, A, G, cfg, value, precision, image_shape)
        scores.append(float(ganprior.metrics.mse(x_hat, x_val).mean()))
    best = grid[int(np.argmin(scores))]
    log.write(f"{method} m={m}: {name} grid {grid} -> validation MSE {[round(s, 5) for s in scores]} -> {best}\n")
    return name, best


def summarise(rows):
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
    """The README's table: one row per m, one column per method, 'mean +- 95% CI (PSNR)'; '–' where not run."""
    cell = {(r["method"], r["m"]): f"{r['mean']:.4f} ± {r['ci95']:.4f} ({r['psnr_mean']:.1f} dB)" for r in summary}
    lines = ["| m | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for m in sorted({r["m"] for r in summary}):
        lines.append(f"| {m} | " + " | ".join(cell.get((k, m), "–") for k in methods) + " |")
    return "\n".join(lines) + "\n"


def m_needed(summary, method, target):
    """Smallest m at which the method's mean error reaches `target`, by log-log interpolation (nan if never)."""
    pts = sorted((r["m"], r["mean"]) for r in summary if r["method"] == method)
    for (m0, e0), (m1, e1) in zip(pts, pts[1:]):
        if e0 <= target:
            return float(m0)
        if e1 <= target:
            t = (math.log(target) - math.log(e0)) / (math.log(e1) - math.log(e0))
            return float(math.exp(math.log(m0) + t * (math.log(m1) - math.log(m0))))
    return float(pts[0][0]) if pts and pts[0][1] <= target else float("nan")


def savings(summary, targets, out):
    methods = sorted({r["method"] for r in summary})
    rows = []
    for target in targets:
        row = {"target_mse": target}
        for method in methods:
            row[f"m_{method}"] = m_needed(summary, method, target)
        baselines = [row[f"m_{mm}"] for mm in methods if mm != "csgm" and not math.isnan(row[f"m_{mm}"])]
        if "csgm" in methods and baselines and not math.isnan(row["m_csgm"]):
            row["best_lasso_over_csgm"] = min(baselines) / row["m_csgm"]
        else:
            row["best_lasso_over_csgm"] = float("nan")
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
    ax.set(xscale="log", yscale="log", xlabel="target per-pixel MSE", ylabel="measurements needed (interpolated)",
           title="Measurements needed for a target error")
    ax.invert_xaxis()
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "savings.png", dpi=120)
    plt.close(fig)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(PRESETS), default="mnist")
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--m", type=int, nargs="+", default=None)
    parser.add_argument("--n-images", type=int, default=None, help="test images (default: the paper's set)")
    parser.add_argument("--n-val", type=int, default=8, help="validation images from the training split")
    parser.add_argument("--restarts", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--chunk", type=int, default=50, help="images per batch (and per CSV append)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    parser.add_argument("--schedule", choices=["constant", "cosine"], default="cosine")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="folder with mnist/, fashion_mnist/, celeba/ (validation images from the training split; "
                             "default $GANPRIOR_DATA or ../shared/data beside the repository)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 4 images, two m, short CSGM, no tuning")
    parser.add_argument("--random-prior", action="store_true", help="untrained generator (tests of the script only)")
    parser.add_argument("--summary-only", action="store_true",
                        help="compute nothing: summarise, plot and write metadata from the rows in per_image.csv")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = dict(PRESETS[args.dataset])
    if args.quick:
        cfg.update(n_test=4, restarts=3, steps=300, lr=0.05, lams=[0.0], m=cfg["m"][1:4:2])
        ALPHAS.update({k: [v[1]] for k, v in ALPHAS.items()})
    for key in ("restarts", "steps", "lr"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    cfg["chunk"] = args.chunk
    cfg["schedule"] = args.schedule
    methods = args.methods or cfg["methods"]
    ms = args.m or cfg["m"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()

    x_test = load_sample(cfg["sample"])[: args.n_images or cfg["n_test"]]
    image_shape = tuple(x_test.shape[1:])
    if args.random_prior:
        from ganprior.models import build_generator

        arch = "dcgan28" if image_shape[-1] == 28 else "dcgan64"
        G = ganprior.Generator(build_generator(arch, latent_dim=20, width=16, seed=0), name="random")
    else:
        G = ganprior.load_prior(cfg["prior"])
    x_val = validation_images(args.dataset, args.n_val, args.data_root or default_data_root())

    per_image = out / "per_image.csv"
    done = set()
    if per_image.exists():
        with open(per_image) as f:
            for r in csv.DictReader(f):
                done.add((r["method"], int(r["m"]), int(r["image"])))
    else:
        with open(per_image, "w", newline="") as f:
            csv.DictWriter(f, fieldnames=FIELDS).writeheader()
    A_all, y_all = {}, {}
    todo = [(meth, m) for m in ms for meth in methods
            if any((meth, m, i) not in done for i in range(len(x_test)))]
    if args.summary_only:
        todo = []
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo) * len(x_test), desc=f"{args.dataset} images", unit="img", file=sys.stdout,
               mininterval=10)
    with open(out / "selection.log", "a") as log:
        for method, m in todo:
            if m not in A_all:
                A_all[m], y_all[m] = measure(x_test, m, cfg["noise"], seed=0)
            A, y = A_all[m], y_all[m]
            name, value = choose(method, m, x_val, G, cfg, args.precision, image_shape, log)
            log.flush()
            idx = [i for i in range(len(x_test)) if (method, m, i) not in done]
            for c in range(0, len(idx), args.chunk):
                part = idx[c:c + args.chunk]
                t = time.perf_counter()
                x_hat = run_method(method, y[part], A, G, cfg, value, args.precision, image_shape)
                sec = (time.perf_counter() - t) / len(part)
                mse = ganprior.metrics.mse(x_hat, x_test[part])
                psnr = ganprior.metrics.psnr(x_hat, x_test[part])
                with open(per_image, "a", newline="") as f:
                    w = csv.DictWriter(f, fieldnames=FIELDS)
                    for j, i in enumerate(part):
                        w.writerow(dict(method=method, m=m, image=i, mse=f"{float(mse[j]):.6g}",
                                        psnr=f"{float(psnr[j]):.4f}", seconds=f"{sec:.4g}",
                                        operator=operator_name(m, x_test[0].numel()),
                                        hyperparameter=name, value=value))
                bar.update(len(part))
    bar.close()

    with open(per_image) as f:
        rows = [r for r in csv.DictReader(f) if r["method"] in methods and int(r["m"]) in ms]
    summary = summarise(rows)
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        for r in summary:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    from ganprior.plotting import error_curves

    error_curves(summary, out / "error_vs_m.png",
                 title=f"{args.dataset}: {len(x_test)} test images, ||eta|| = {cfg['noise']}")
    sav = savings(summary, cfg["savings_targets"], out)
    (out / "table.md").write_text(markdown_table(summary, [k for k in cfg["methods"] if k in methods]))
    meta = dict(command="python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
                dataset=args.dataset, n_test=len(x_test), n_val=args.n_val, methods=methods, m=ms,
                csgm=dict(restarts=cfg["restarts"], steps=cfg["steps"], lr=cfg["lr"], schedule=cfg["schedule"],
                          lam_grid=cfg["lams"],
                          precision=args.precision, select="measurement"),
                alpha_grids={k: ALPHAS[k] for k in methods if k in ALPHAS}, noise_norm=cfg["noise"],
                operator=f"gaussian N(0,1/m) while m*n <= {DENSE_LIMIT:g}, else subsampled-dct; one per m, "
                         "seed 0*100003+m (test), 1*100003+m (validation)",
                prior=getattr(G, "name", None), torch=torch.__version__, numpy=np.__version__,
                ganprior=ganprior.__version__, python=platform.python_version(), machine=platform.machine(),
                device="cpu", threads=args.threads, wall_time_s=round(time.time() - start, 1), savings=sav)
    meta_path = out / "metadata.json"
    prev = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    # a resumed or extended run keeps the history of the commands that filled per_image.csv
    meta["commands"] = prev.get("commands", [prev["command"]] if "command" in prev else []) + [meta["command"]]
    meta["wall_time_total_s"] = round(prev.get("wall_time_total_s", prev.get("wall_time_s", 0.0)) + meta["wall_time_s"], 1)
    meta_path.write_text(json.dumps(meta, indent=2, default=float) + "\n")
    for r in summary:
        print(f"{r['method']:>14} m={r['m']:>5}  mse={r['mean']:.4f} +- {r['ci95']:.4f}  psnr={r['psnr_mean']:.2f}")
    return summary


if __name__ == "__main__":
    main()
