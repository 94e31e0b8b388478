"""Command line: ``ganprior demo | recover | inpaint | train`` (also ``python -m ganprior``)."""

from __future__ import annotations

import argparse
import sys
import time


def _demo(args) -> int:
    """Recover bundled MNIST digits from Gaussian measurements with CSGM and with pixel-basis Lasso."""
    import warnings

    import numpy as np
    import torch
    from sklearn.exceptions import ConvergenceWarning

    import ganprior
    from ganprior.data import load_sample

    torch.set_num_threads(args.threads)
    G = ganprior.load_prior("mnist")
    x_true = load_sample("mnist_test300")[: args.n]
    n_img = x_true.shape[0]
    print(f"ganprior demo: {n_img} MNIST test digits, prior 'mnist' (k={G.k}), A ~ N(0, 1/m), "
          f"noise ||eta|| = {args.noise}; CSGM: {args.restarts} restarts x {args.steps} Adam steps "
          f"(lr {args.lr}, {args.schedule}, {args.precision}), lam={args.lam}")
    rows, images = [], []
    for m in args.m:
        A = ganprior.operators.Gaussian(m, in_shape=G.image_shape, seed=m)
        noise = torch.randn(n_img, m, generator=torch.Generator().manual_seed(1000 + m)) * args.noise / m**0.5
        y = A(x_true) + noise
        t = time.perf_counter()
        x_csgm = ganprior.recover(y, A, G, restarts=args.restarts, steps=args.steps, lam=args.lam, lr=args.lr,
                                  seed=0, precision=args.precision, schedule=args.schedule)
        t_csgm = time.perf_counter() - t
        t = time.perf_counter()
        with warnings.catch_warnings():  # the paper's alpha = 0.1 often stops at max_iter; the error says enough
            warnings.simplefilter("ignore", ConvergenceWarning)
            x_lasso = ganprior.recover(y, A, method="lasso", image_shape=G.image_shape)
        t_lasso = time.perf_counter() - t
        e_csgm = float(ganprior.metrics.mse(x_csgm, x_true).mean())
        e_lasso = float(ganprior.metrics.mse(x_lasso, x_true).mean())
        rows.append((m, e_csgm, e_lasso, t_csgm, t_lasso))
        images.append((m, x_csgm, x_lasso))
    print(f"{'m':>5} {'CSGM MSE':>10} {'Lasso MSE':>10} {'CSGM s':>8} {'Lasso s':>8}")
    for m, ec, el, tc, tl in rows:
        print(f"{m:>5} {ec:>10.4f} {el:>10.4f} {tc:>8.1f} {tl:>8.1f}")
    from ganprior.plotting import recovery_grid

    shown = min(args.show, n_img)
    panels = [("original", x_true[:shown])]
    for m, xc, xl in images:
        panels += [(f"CSGM m={m}", xc[:shown]), (f"Lasso m={m}", xl[:shown])]
    recovery_grid(panels, args.out)
    print(f"figure: {args.out}")
    return 0 if np.isfinite([r[1] for r in rows]).all() else 1


def _recover(args) -> int:
    """Recover images from measurements stored as .npy files."""
    import numpy as np

    import ganprior

    y = np.load(args.y)
    A = np.load(args.A)
    if args.method == "csgm":
        x = ganprior.recover(y, A, args.prior, restarts=args.restarts, steps=args.steps, lam=args.lam, lr=args.lr,
                             seed=args.seed, progress=True)
    else:
        shape = tuple(args.image_shape) if args.image_shape else None
        x = ganprior.recover(y, A, method=args.method, image_shape=shape, alpha=args.alpha)
    np.save(args.out, x)
    print(f"wrote {args.out} with shape {x.shape}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganprior", description="Inverse problems with GAN priors.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="recover bundled MNIST digits with CSGM and Lasso; print a table, save a figure")
    p.add_argument("--n", type=int, default=16, help="number of digits (of the 300 bundled)")
    p.add_argument("--m", type=int, nargs="+", default=[25, 50, 100, 200], help="measurement counts")
    p.add_argument("--restarts", type=int, default=4)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=0.3)
    p.add_argument("--schedule", choices=["constant", "cosine"], default="cosine")
    p.add_argument("--lam", type=float, default=0.1)
    p.add_argument("--noise", type=float, default=0.1, help="||eta|| (per-entry std noise/sqrt(m))")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--show", type=int, default=8, help="digits shown in the figure")
    p.add_argument("--out", default="ganprior_demo.png")
    p.set_defaults(func=_demo)

    p = sub.add_parser("recover", help="recover images from y.npy and A.npy")
    p.add_argument("--y", required=True, help=".npy file, shape (m,) or (P, m)")
    p.add_argument("--A", required=True, help=".npy file, shape (m, n)")
    p.add_argument("--method", default="csgm", choices=["csgm", "lasso", "lasso-dct", "lasso-wavelet", "omp"])
    p.add_argument("--prior", default="mnist", help="bundled prior name (csgm)")
    p.add_argument("--image-shape", type=int, nargs="+", default=None, help="image shape (baselines)")
    p.add_argument("--alpha", type=float, default=None)
    p.add_argument("--restarts", type=int, default=10)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--lam", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output .npy file")
    p.set_defaults(func=_recover)

    from ganprior.training.cli import add_arguments
    from ganprior.training.cli import main as train_main

    p = sub.add_parser("train", help="train a GAN prior (runs under torchrun too)")
    add_arguments(p)
    p.set_defaults(func=train_main)

    try:
        from ganprior.solvers.inpainting import add_cli_arguments, cli_main
    except ImportError:  # pragma: no cover - inpainting not installed
        pass
    else:
        p = sub.add_parser("inpaint", help="inpaint bundled test images and write a comparison figure")
        add_cli_arguments(p)
        p.set_defaults(func=cli_main)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``ganprior`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
