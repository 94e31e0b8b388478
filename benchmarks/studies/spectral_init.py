"""Phase retrieval with a prior: random restarts against starts from the spectral estimate.

On the error-vs-m grid's MNIST test digits (the first ``--n``), real Gaussian A ~ N(0, 1/m), y = |Ax| + eta with
||eta|| about 0.1 (seeded as ``benchmarks/nonlinear.py`` seeds its problems), CSGM with the magnitude likelihood on
the prior and ``lam`` that ``nonlinear.py``'s validation chose at each m (``--choices``), R = 10 restarts x the
prior's recipe steps, three ways of starting:

- ``random``: R draws from the latent law (``recover``'s default);
- ``spectral+random``: :func:`ganprior.solvers.nonlinear.spectral_latents` -- the CSGM fits to +x0 and -x0, x0 the
  spectral estimate, then R - 2 draws;
- ``spectral only``: the two fits alone (R = 2).

Writes ``spectral_init.csv`` (mean error up to sign with its 95% CI, the paired difference to ``random``, seconds,
and the mean |cosine| between the spectral estimate and the digit)
and prints it.  Usage (the committed run)::

    python benchmarks/studies/spectral_init.py --m 50 100 200 400 --n 100 --threads 1 \
        --out benchmarks/results/spectral_init
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import command_line, hardware_text, mean_ci, write_csv  # noqa: E402

import ganprior  # noqa: E402
from ganprior.likelihoods import Magnitude  # noqa: E402
from ganprior.metrics import mse_up_to_sign  # noqa: E402
from ganprior.solvers.csgm import CSGMObjective  # noqa: E402
from ganprior.solvers.nonlinear import spectral_init, spectral_latents  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--m", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--choices", default="benchmarks/results/nonlinear/magnitude_mnist/choices.json")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/spectral_init")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    choices = json.loads(Path(args.choices).read_text())
    x = ganprior.data.load_sample("mnist_test300")[: args.n]
    rows = []
    for m in args.m:
        chosen = choices[str(m)]["csgm"]
        G = ganprior.load_prior(chosen["prior"])
        A = ganprior.operators.Gaussian(m, in_shape=G.image_shape, seed=m)
        model = Magnitude.from_norm(0.1, m)
        y = A.measure(x, model, seed=m)
        seeds = list(range(args.n))
        errs = {}
        for label in ("random", "spectral+random", "spectral only"):
            start = time.perf_counter()
            if label == "random":
                res = ganprior.recover(y, A, G, method="csgm", likelihood=model, lam=chosen["lam"], seed=seeds,
                                       return_result=True)
                x_hat, used = res.x, res.info["settings"]  # the prior's recipe settings, which the others take
                engine = {k: used[k] for k in ("steps", "lr", "schedule", "precision", "optimizer", "select")}
            else:
                R = 10 if label == "spectral+random" else 2
                z0 = spectral_latents(y, A, G, restarts=max(R, 2))[:, :R]
                x_hat = ganprior.optimize_latents(CSGMObjective(y, A, chosen["lam"], likelihood=model), G, args.n,
                                                  restarts=R, z_init=z0, **engine).x
            seconds = time.perf_counter() - start
            errs[label] = mse_up_to_sign(x_hat.reshape(x.shape), x)
            mean, ci = mean_ci(errs[label].numpy())
            diff, dci = mean_ci((errs[label] - errs["random"]).numpy())
            cos = torch.nn.functional.cosine_similarity(spectral_init(y, A).float(), x.flatten(1)).abs()
            rows.append(dict(m=m, start=label, spectral_cosine=f"{float(cos.mean()):.3f}", prior=chosen["prior"], lam=chosen["lam"], n=args.n, mean=f"{mean:.6g}",
                             ci95=f"{ci:.3g}", diff_to_random=f"{diff:.3g}", diff_ci95=f"{dci:.3g}",
                             seconds=f"{seconds:.1f}"))
            print(rows[-1], flush=True)
    write_csv(Path(args.out) / "spectral_init.csv", rows,
              comment=f"{command_line('studies/spectral_init.py', argv)} -- {hardware_text(threads=args.threads)}")


if __name__ == "__main__":
    main()
