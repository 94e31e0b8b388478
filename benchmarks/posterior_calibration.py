"""Is the posterior sampler calibrated?  Coverage of the true pixels by the central 90% posterior interval.

On the first ``--n`` bundled MNIST test digits, for each m: Gaussian A, ||eta|| = 0.1 (sigma = 0.1/sqrt(m)),
``sample_posterior`` with ``--chains`` chains x ``--steps`` annealed Langevin steps per digit (bf16).  Reports
per m: the fraction of pixels whose true value lies in the central 90% interval of the samples (nominal 90%),
the posterior-mean MSE, and the error-vs-predicted-std relation (mean |x - mean| in ten bins of predicted
std); writes CSV and a figure (coverage by bin, and an uncertainty map).

Usage::

    python benchmarks/posterior_calibration.py --n 50 --m 25 50 100 --chains 16 --steps 1000 --threads 1 \
        --out benchmarks/results/posterior_calibration
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from _common import command_line, write_csv

import ganprior


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--m", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--chains", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/posterior_calibration")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    G = ganprior.load_prior("mnist")
    x = ganprior.data.load_sample("mnist_test300")[: args.n]
    rows, bins, maps = [], [], {}
    for m in args.m:
        A = ganprior.operators.Gaussian(m, in_shape=G.image_shape, seed=m)
        sigma = 0.1 / m**0.5
        y = A(x) + sigma * torch.randn(args.n, m, generator=torch.Generator().manual_seed(7919 + m))
        post = ganprior.sample_posterior(y, A, G, noise_std=sigma, restarts=args.chains, steps=args.steps,
                                         seed=list(range(args.n)), precision="bf16")
        lo, hi = post.samples.quantile(0.05, dim=1), post.samples.quantile(0.95, dim=1)
        inside = (x >= lo) & (x <= hi)
        err = (x - post.mean).abs()
        row = {"m": m, "n": args.n, "chains": args.chains, "steps": args.steps,
               "coverage_90": round(float(inside.float().mean()), 4),
               "mse_posterior_mean": round(float(ganprior.metrics.mse(post.mean, x).mean()), 5),
               "mean_predicted_std": round(float(post.std.mean()), 4), "mean_abs_error": round(float(err.mean()), 4),
               "seconds": round(post.wall_time, 1)}
        rows.append(row)
        print(row, flush=True)
        edges = torch.quantile(post.std.flatten(), torch.linspace(0, 1, 11))
        for b in range(10):
            sel = (post.std >= edges[b]) & (post.std <= edges[b + 1])
            bins.append({"m": m, "bin": b, "std_mid": round(float(post.std[sel].mean()), 4),
                         "mean_abs_error": round(float(err[sel].mean()), 4),
                         "coverage_90": round(float(inside[sel].float().mean()), 4)})
        maps[m] = post
    write_csv(out / "calibration.csv", rows, comment=command_line("posterior_calibration.py", argv))
    write_csv(out / "calibration_bins.csv", bins)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for m in args.m:
        bs = [b for b in bins if b["m"] == m]
        axes[0].plot([b["std_mid"] for b in bs], [b["mean_abs_error"] for b in bs], "o-", label=f"m = {m}")
        axes[1].plot([b["std_mid"] for b in bs], [b["coverage_90"] for b in bs], "o-", label=f"m = {m}")
    lim = max(b["std_mid"] for b in bins)
    axes[0].plot([0, lim], [0, 0.8 * lim], "k:", lw=1, label="|error| = 0.8 std (Gaussian)")
    axes[0].set(xlabel="predicted std (bin mean)", ylabel="mean |x - posterior mean|", title="error vs predicted std")
    axes[1].axhline(0.9, color="k", ls=":", lw=1, label="nominal 90%")
    axes[1].set(xlabel="predicted std (bin mean)", ylabel="coverage of the central 90% interval", ylim=(0, 1.02),
                title="coverage by predicted std")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "calibration.png", dpi=120)
    from ganprior.plotting import recovery_grid

    k = min(8, args.n)
    panels = [("truth", x[:k])]
    for m, post in maps.items():
        panels += [(f"mean m={m}", post.mean[:k]), (f"std m={m}", post.std[:k] / post.std[:k].amax())]
    recovery_grid(panels, out / "uncertainty_maps.png")


if __name__ == "__main__":
    main()
