"""Error vs m beyond y = Ax + Gaussian noise: phase retrieval, 1-bit compressed sensing and Poisson counts.

For one measurement model (``--model``) and dataset, at each ``--m`` (for ``poisson``: each ``--photons``, with
A the identity: photon-limited imaging of every pixel), every method is validated on ``--n-val`` images of the
training split (the last ones, as the error-vs-m grid takes them) and then run on ``--n-test`` test images (the
bundled sample, the grid's test images), with the options validation chose there:

- the latent methods minimise the model's data term (``recover(..., likelihood=model)``): ``csgm`` (prior and
  ``lam`` chosen), ``ilo`` (CSGM's prior and ``lam``, its ``radius`` chosen);
- for ``poisson`` also ``csgm-ls``: CSGM with the least-squares loss on the rescaled counts ``y / photons``
  (the Gaussian approximation), prior and ``lam`` chosen alike; for ``poisson`` ILO's radii are ``POISSON_RADII``
  and the ``lam`` grid is ``POISSON_LAMS`` in that loss's units, times the photons for the Poisson likelihood
  (whose curvature is about photons / x times the least-squares loss's), so that both losses are validated over
  the same effective penalties;
- the classical baseline of the model (``amplitude-flow``, ``biht``, ``poisson-tv``) over its registry grid (a
  sparsity grid scaled with the pixel count, and the dense solve) and its basis (pixels, DCT, wavelet) where it takes one.

Problems are seeded as the grid seeds them (operator seed ``100003 * s + m``, noise seed ``7919 * s + m``; s = 0
for the test images, 1 for validation): A ~ N(0, 1/m) while m * n <= 2.5e7, else the subsampled DCT with random
signs.  Phase retrieval: y = |Ax| + eta, ||eta|| about ``--noise`` (0.1), error up to the global sign; 1-bit:
y = sign(Ax), noiseless, error of the unit-norm images (``normalized_mse``); Poisson: y ~ Poisson(photons * x),
per-pixel MSE.  Writes ``per_image.csv`` (appended per (method, m), so a stopped run resumes), ``choices.json``,
``summary.csv`` (mean, 95% CI; the CPU and threads in its comment), ``savings.csv`` (the m the best latent method
needs for the baseline's error at ``--target-m``) and ``error_vs_m.png``.  Usage (the committed runs)::

    python benchmarks/nonlinear.py --model magnitude --dataset mnist --m 50 100 200 400 800 1600 --target-m 400 \
        --threads 1 --out benchmarks/results/nonlinear/magnitude_mnist
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch
from _common import command_line, hardware_text, mean_ci, write_csv

import ganprior
from ganprior.benchmark.protocol import operator_name, validation_images
from ganprior.benchmark.report import m_needed
from ganprior.data import default_data_root, load_sample
from ganprior.likelihoods import Magnitude, Poisson, Sign
from ganprior.metrics import mse, mse_up_to_sign, normalized_mse
from ganprior.plotting import error_curves

BASELINE = {"magnitude": "amplitude-flow", "sign": "biht", "poisson": "poisson-tv"}
ERROR = {"magnitude": mse_up_to_sign, "sign": normalized_mse, "poisson": mse}
PRIORS = {"mnist": ("mnist", "mnist-bvae"), "celeba": ("celeba64",)}
SAMPLE = {"mnist": "mnist_test300", "celeba": "celeba_test64"}
LAMS = (0.0, 0.1, 1.0)
# Poisson counts: lam in the units of the least-squares loss on y / photons, finer and wider (the Poisson NLL's
# curvature is about photons / x times that loss's, so its lam is these times the photons: both losses compare the
# same effective penalties; with LAMS for both, the NLL's choice at 10 photons was its grid's largest value)
POISSON_LAMS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0)
RADII = (0.1, 0.3, 1.0)
# RADII's choice for Poisson counts was at its edge (0.1 on MNIST at 10 photons, 1 on CelebA at 100): one more each side
POISSON_RADII = (0.03, 0.1, 0.3, 1.0, 3.0)


def problem(x, model, m, noise, seed):
    """``(A, y, likelihood)`` for images x (N, C, H, W) in [0, 1], seeded as the grid seeds its problems."""
    shape, n = tuple(x.shape[1:]), x[0].numel()
    if model == "poisson":
        A, lik = ganprior.operators.Identity(shape), Poisson(photons=float(m))
    else:
        cls = ganprior.operators.Gaussian if operator_name(m, n) == "gaussian" else ganprior.operators.SubsampledDCT
        A = cls(m, in_shape=shape, seed=seed * 100003 + m)
        lik = Magnitude.from_norm(noise, m) if model == "magnitude" else Sign()
    return A, A.measure(x, lik, seed=seed * 7919 + m), lik


def solve(method, opts, x, model, m, noise, seed, priors):
    """The method's images for the problems of x (latent methods: per-image seeds 0..N-1)."""
    A, y, lik = problem(x, model, m, noise, seed)
    seeds = list(range(x.shape[0]))
    opts = dict(opts)
    if method == "csgm-ls":
        G = priors[opts.pop("prior")]
        out = ganprior.recover(y / lik.photons, A, G, method="csgm", seed=seeds, **opts)
    elif method in ("csgm", "ilo"):
        G = priors[opts.pop("prior")]
        out = ganprior.recover(y, A, G, method=method, likelihood=lik, seed=seeds, **opts)
    else:
        out = ganprior.recover(y, A, method=method, likelihood=lik, image_shape=tuple(x.shape[1:]), **opts)
    return torch.as_tensor(out).reshape(x.shape).float()


def candidates(method, model, dataset, chosen, m=None):
    """The options validation compares for a method (ILO's after CSGM's choice); for ``poisson`` m is the photons."""
    if method in ("csgm", "csgm-ls"):
        lams = LAMS if model != "poisson" else [lam * (m if method == "csgm" else 1) for lam in POISSON_LAMS]
        return [{"prior": p, "lam": lam} for p, lam in itertools.product(PRIORS[dataset], lams)]
    if method == "ilo":
        return [{**chosen["csgm"], "radius": r} for r in (POISSON_RADII if model == "poisson" else RADII)]
    entry = ganprior.get_method(method)
    n = {"mnist": 784, "celeba": 12288}[dataset]
    # a sparsity grid is for 28 x 28 digits: scaled with the pixel count, and the dense solve beside it
    grids = [[(k, v) for v in (grid if k != "sparsity" else [int(round(s * n / 784)) for s in grid] + [None])]
             for k, grid in entry.cv_grids.items()]
    if "basis" in entry.hyperparameters:
        grids.append([("basis", b) for b in ("pixel", "dct", "wavelet")])
    combos = [dict(combo) for combo in itertools.product(*grids)] or [{}]
    # a dense solve has no basis: once
    return [c for c in combos if c.get("sparsity", 0) is not None or c.get("basis") == "pixel"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(BASELINE), required=True)
    parser.add_argument("--dataset", choices=sorted(PRIORS), default="mnist")
    parser.add_argument("--m", type=int, nargs="+", help="measurements (poisson: photons per pixel)")
    parser.add_argument("--methods", nargs="+", default=None, help="default: csgm ilo (csgm-ls for poisson) and the "
                        "model's baseline")
    parser.add_argument("--n-test", type=int, default=100)
    parser.add_argument("--n-val", type=int, default=32)
    parser.add_argument("--noise", type=float, default=0.1, help="||eta|| (phase retrieval)")
    parser.add_argument("--target-m", type=int, default=None, help="the baseline's m whose error the savings use")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    methods = args.methods or (["csgm", "csgm-ls" if args.model == "poisson" else "ilo", BASELINE[args.model]])
    x_test = load_sample(SAMPLE[args.dataset])[: args.n_test]
    x_test = torch.as_tensor(x_test).float()
    x_val = validation_images(args.dataset, args.n_val, args.data_root or default_data_root())[0].float()
    priors = {p: ganprior.load_prior(p) for p in PRIORS[args.dataset]}
    error = ERROR[args.model]
    per_image_path, choices_path = out / "per_image.csv", out / "choices.json"
    rows = list(csv.DictReader(open(per_image_path))) if per_image_path.exists() else []
    choices = json.loads(choices_path.read_text()) if choices_path.exists() else {}
    for m in args.m:
        chosen = choices.setdefault(str(m), {})
        for method in methods:
            if method not in chosen:  # validation: the lowest mean error on the validation images
                scores = []
                for opts in candidates(method, args.model, args.dataset, chosen, m):
                    x_hat = solve(method, opts, x_val, args.model, m, args.noise, 1, priors)
                    scores.append((float(error(x_hat, x_val).mean()), opts))
                    print(f"m={m} {method} {opts}: validation {scores[-1][0]:.5g}", flush=True)
                best = min(scores, key=lambda s: s[0])
                chosen[method] = best[1]
                choices[str(m)] = chosen
                tmp = choices_path.with_suffix(".tmp")
                tmp.write_text(json.dumps(choices, indent=1))
                tmp.replace(choices_path)
            if any(r["method"] == method and int(r["m"]) == m for r in rows):
                continue
            start = time.perf_counter()
            x_hat = solve(method, chosen[method], x_test, args.model, m, args.noise, 0, priors)
            seconds = (time.perf_counter() - start) / x_test.shape[0]
            errs = error(x_hat, x_test)
            new = [dict(method=method, m=m, image=i, error=f"{float(e):.6g}", seconds=f"{seconds:.3f}",
                        options=json.dumps(chosen[method], sort_keys=True)) for i, e in enumerate(errs)]
            with open(per_image_path, "a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(new[0]))
                if f.tell() == 0:
                    writer.writeheader()
                writer.writerows(new)
            rows += new
            print(f"m={m} {method}: test {float(errs.mean()):.5g}", flush=True)
    summary = []
    for method in methods:
        for m in sorted({int(r["m"]) for r in rows if r["method"] == method}):
            mean, ci = mean_ci([float(r["error"]) for r in rows if r["method"] == method and int(r["m"]) == m])
            summary.append(dict(method=method, m=m, n=sum(1 for r in rows if r["method"] == method
                                                          and int(r["m"]) == m), mean=mean, ci95=ci))
    comment = f"{command_line('nonlinear.py', argv)} -- {hardware_text(threads=args.threads)}"
    write_csv(out / "summary.csv", [{**r, "mean": f"{r['mean']:.6g}", "ci95": f"{r['ci95']:.3g}"} for r in summary],
              comment=comment)
    if args.target_m is not None:
        base = BASELINE[args.model]
        target = next((r for r in summary if r["method"] == base and r["m"] == args.target_m), None)
        if target is not None:
            saved = []
            for method in methods:
                if method == base:
                    continue
                need = m_needed(summary, method, target["mean"])
                saved.append(dict(method=method, baseline=base, baseline_m=args.target_m,
                                  baseline_error=f"{target['mean']:.6g}", m_needed=f"{need:.1f}",
                                  fewer_measurements=f"{args.target_m / need:.2f}" if need == need else "nan"))
            write_csv(out / "savings.csv", saved, comment=comment)
    label = {"magnitude": "per-pixel MSE up to sign", "sign": "per-pixel MSE of unit-norm images",
             "poisson": "per-pixel MSE"}[args.model]
    error_curves(summary, out / "error_vs_m.png", ylabel=label,
                                   title=f"{args.model}, {args.dataset}: {args.n_test} test images")
    meta = dict(command=command_line("nonlinear.py", argv), hardware=ganprior.hardware.hardware_info(),
                threads=args.threads, n_test=args.n_test, n_val=args.n_val, noise=args.noise, methods=methods,
                m=args.m, priors=list(PRIORS[args.dataset]),
                lams=list(POISSON_LAMS if args.model == "poisson" else LAMS),
                radii=list(POISSON_RADII if args.model == "poisson" else RADII),
                torch=torch.__version__, numpy=np.__version__)
    (out / "metadata.json").write_text(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
