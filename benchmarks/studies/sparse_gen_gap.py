"""Why Sparse-Gen trails the Lasso at large m: the nu solver, or the model?

At the largest m of the error-vs-m grids Sparse-Gen (x = G(z) + Psi^T nu, nu sparse in Psi) is behind the Lasso
in the same basis (CelebA m = 7500: 0.0013 vs Lasso-DCT's 0.0009; MNIST m = 750: 47.0 vs 47.7 dB).  Two causes
are possible: nu's proximal-gradient stage (half of the steps, after the z warm-up) stops short of the l1
optimum, or the model itself is worse there -- the residual x - G(z) less sparse in Psi than x.  This benchmark
separates them on the benchmark's validation images (the last ``--n`` images of the training split), with the
error-vs-m benchmark's operator, noise and engine settings at one m, and one alpha for every variant:

* ``lasso``: the Lasso in Psi on y (scikit-learn, to convergence) at ``--lasso-alpha``;
* ``sparse-gen``: ``recover(method="sparse-gen")`` with the benchmark's settings (nu moves for half the steps;
  the basis and nu solver of the dataset's grid, BEYOND_FIXED: one ISTA step per step on MNIST and CelebA);
* ``sparse-gen-long``: the same with ``--long-steps`` steps and the same warm-up, so nu gets many more steps;
* ``csgm`` and ``csgm+lasso-residual``: z fixed at CSGM's answer, then the converged Lasso in Psi on the
  residual y - A G(z) -- the Sparse-Gen model with an exact nu and no joint z update (at Sparse-Gen's alpha, and
  also at the Lasso's where the two differ).

If ``sparse-gen-long`` closes the gap the solver is the cause; if ``csgm+lasso-residual`` (exact nu) stays
behind the Lasso, the model is.  Writes ``summary.csv`` (mean MSE, 95% CI, paired difference to ``lasso``),
``gap.png`` and ``metadata.json``.  Usage (the committed runs)::

    python benchmarks/studies/sparse_gen_gap.py --dataset celeba --m 7500 --n 8 --alpha 0.01 --lasso-alpha 0.01 \\
        --lam 0.1 --threads 1 --out benchmarks/results/sparse_gen_gap
    python benchmarks/studies/sparse_gen_gap.py --dataset mnist --m 750 --n 16 --alpha 0.01 --lasso-alpha 0.001 \\
        --lam 0.01 --residual-alphas 0.0001 0.0003 0.001 0.003 0.01 0.03 0.1 --threads 1 \\
        --out benchmarks/results/sparse_gen_gap
    python benchmarks/studies/sparse_gen_gap.py --dataset fashion-mnist --prior mnist --m 200 --n 16 --alpha 0.1 \\
        --lasso-alpha 0.001 --lam 0.1 --residual-alphas 0.0001 0.0003 0.001 0.003 0.01 0.03 0.1 --threads 1 \\
        --out benchmarks/results/sparse_gen_gap

(alpha, lam and the Lasso's alpha are the values the error-vs-m searches chose at that m; the Fashion-MNIST run is
the transfer grid's, the MNIST prior on Fashion-MNIST images.  ``--residual-alphas``: the exact nu at each of
these alphas, so that the verdict on the model does not rest on one alpha.)
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import ganprior
from ganprior.solvers.lasso import solve_sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for _common
from _common import command_line, mean_ci, write_csv  # noqa: E402
from ganprior.benchmark import PROTOCOLS, preset  # noqa: E402
PRESETS = {name: preset(name) for name in PROTOCOLS}  # the protocols as the study reads them
BEYOND_FIXED = {name: p.beyond_fixed for name, p in PROTOCOLS.items()}
from ganprior.benchmark import default_data_root, measure, validation_images  # noqa: E402

FIELDS = ["dataset", "m", "n_images", "variant", "alpha", "lam", "steps", "mse", "mse_ci95", "diff_vs_lasso",
          "diff_ci95", "seconds"]


def run(args):
    cfg = PRESETS[args.dataset]
    fixed = BEYOND_FIXED[args.dataset]["sparse-gen"]  # the grid's basis and nu solver (ISTA, one step: mnist, celeba)
    basis = fixed["basis"]
    G = ganprior.load_prior(args.prior or cfg["prior"])
    x, _ = validation_images(args.dataset, args.n, args.data_root or default_data_root())
    A, y = measure(x, args.m, cfg["noise"], seed=1)
    shape = tuple(x.shape[1:])
    engine = dict(restarts=cfg["restarts"], lr=cfg["lr"], seed=0, precision="bf16", schedule="cosine")
    warmup = cfg["steps"] // 2  # the default warm-up of the benchmark's solves (steps), kept for the long run

    def per_image(xh):
        return ((torch.as_tensor(np.asarray(xh)).reshape(x.shape).float() - x) ** 2).flatten(1).mean(1).numpy()

    results = {}

    def timed(name, alpha, steps, f):
        t = time.time()
        results[name] = (alpha, steps, per_image(f()), time.time() - t)
        print(f"{args.dataset} m={args.m} {name:>20}: {results[name][2].mean():.4e}", flush=True)

    timed("lasso", args.lasso_alpha, None,
          lambda: solve_sparse(y.numpy(), A, basis=basis, alpha=args.lasso_alpha, image_shape=shape))
    for name, steps in [("sparse-gen", cfg["steps"]), ("sparse-gen-long", args.long_steps)]:
        timed(name, args.alpha, steps, lambda steps=steps: ganprior.recover(
            y, A, G, method="sparse-gen", lam=args.lam, alpha=args.alpha, warmup=warmup / steps, steps=steps, **fixed,
            **engine))
    xc = {}
    timed("csgm", None, cfg["steps"], lambda: xc.setdefault(
        "x", torch.as_tensor(ganprior.recover(y, A, G, lam=args.lam, steps=cfg["steps"], **engine)).reshape(x.shape)))
    r = (y - A(xc["x"])).numpy()
    # Sparse-Gen's alpha, and the Lasso's if it differs; or every --residual-alphas value (the exact nu at each)
    for a in dict.fromkeys(args.residual_alphas or [args.alpha, args.lasso_alpha]):
        name = "csgm+lasso-residual" + ("" if a == args.alpha else " (lasso alpha)" if a == args.lasso_alpha
                                        else f" (alpha {a:g})")
        timed(name, a, None, lambda a=a: xc["x"] + torch.as_tensor(
            solve_sparse(r, A, basis=basis, alpha=a, image_shape=shape, data_range=None)).reshape(x.shape))

    base = results["lasso"][2]
    rows = []
    for name, (alpha, steps, e, sec) in results.items():
        d = e - base
        rows.append(dict(dataset=args.dataset, m=args.m, n_images=args.n, variant=name, alpha=alpha,
                         lam=None if name == "lasso" else args.lam, steps=steps, mse=f"{e.mean():.4e}",
                         mse_ci95=f"{mean_ci(e)[1]:.2e}", diff_vs_lasso=f"{d.mean():.3e}",
                         diff_ci95=f"{mean_ci(d)[1]:.2e}",
                         seconds=round(sec, 1)))
    return rows


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys((r["dataset"], int(r["m"])) for r in rows))
    fig, axes = plt.subplots(1, len(keys), figsize=(6.5 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        sel = [r for r in rows if (r["dataset"], int(r["m"])) == key]
        ax.barh([r["variant"] for r in sel], [float(r["mse"]) for r in sel],
                xerr=[float(r["mse_ci95"]) for r in sel], color="tab:blue")
        ax.axvline(float(sel[0]["mse"]), color="k", lw=0.8, ls="--")
        ax.set_title(f"{key[0]}, m = {key[1]} ({sel[0]['n_images']} validation images)", fontsize=10)
        ax.set_xscale("log")
        ax.set_xlabel("MSE per pixel (95% CI; dashed: the Lasso)")
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(BEYOND_FIXED))
    parser.add_argument("--m", type=int)
    parser.add_argument("--n", type=int, default=8, help="validation images")
    parser.add_argument("--alpha", type=float, help="Sparse-Gen's alpha (and the residual Lasso's)")
    parser.add_argument("--lasso-alpha", type=float, help="the Lasso's alpha")
    parser.add_argument("--lam", type=float)
    parser.add_argument("--long-steps", type=int, default=1000)
    parser.add_argument("--prior", default=None, help="a bundled prior in place of the preset's (the transfer: mnist)")
    parser.add_argument("--residual-alphas", type=float, nargs="+", default=None,
                        help="the residual Lasso's alphas (default: --alpha and --lasso-alpha)")
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plot-only", action="store_true", help="only redraw gap.png from --out's summary.csv")
    args = parser.parse_args(argv)
    if args.plot_only:
        with open(args.out / "summary.csv") as f:
            return plot(list(csv.DictReader(f)), args.out / "gap.png")
    missing = [f"--{k.replace('_', '-')}" for k in ("dataset", "m", "alpha", "lasso_alpha", "lam")
               if getattr(args, k) is None]
    if missing:
        parser.error(f"{', '.join(missing)} required (all but --plot-only runs)")
    if args.n < 2 or args.m < 1 or args.long_steps <= PRESETS[args.dataset]["steps"]:
        parser.error(f"--n must be >= 2, --m >= 1 and --long-steps > {PRESETS[args.dataset]['steps']}; "
                     f"got {args.n}, {args.m}, {args.long_steps}")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "summary.csv"
    old = list(csv.DictReader(path.open())) if path.exists() else []
    old = [r for r in old if (r["dataset"], int(r["m"])) != (args.dataset, args.m)]  # a rerun replaces its rows
    rows = old + run(args)
    write_csv(path, rows, fieldnames=FIELDS)
    plot(rows, args.out / "gap.png")
    meta_path = args.out / "metadata.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"commands": []}
    meta["commands"] = [c for c in meta["commands"] if f"--dataset {args.dataset} --m {args.m} " not in c]
    if args.prior:
        meta.setdefault("priors", {})[f"{args.dataset} m={args.m}"] = args.prior
    meta["commands"].append(command_line("studies/sparse_gen_gap.py", argv))
    meta.update(torch=torch.__version__, python=platform.python_version(), threads=args.threads)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
