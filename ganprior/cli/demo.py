"""``ganprior demo``: recover bundled MNIST digits with CSGM and with the pixel-basis Lasso."""

from __future__ import annotations

import time

from ._args import (
    check_output,
    engine_arguments,
    nonnegative_float,
    positive_int,
    threads,
)

NAME = "demo"
HELP = "recover bundled MNIST digits with CSGM and Lasso; print a table, save a figure"


def _add_arguments(parser):
    """Options of ``ganprior demo``."""
    parser.add_argument("--n", type=positive_int, default=16, help="number of digits (of the 300 bundled)")
    parser.add_argument("--m", type=positive_int, nargs="+", default=[25, 50, 100, 200], help="measurement counts")
    engine_arguments(parser)
    parser.add_argument("--lam", type=nonnegative_float, default=None, help="weight of ||z||^2 (default: recipe)")
    parser.add_argument("--noise", type=nonnegative_float, default=0.1,
                        help="||eta|| (per-entry std noise/sqrt(m))")
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--show", type=positive_int, default=8, help="digits shown in the figure")
    parser.add_argument("--out", default="ganprior_demo.png")
    parser.set_defaults(check=lambda a: check_output(a.out, "--out", (".png", ".pdf", ".svg", ".jpg")))
    return parser


def _run(args) -> int:
    """Run the demo; exit status 0 when every error is finite."""
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
    engine = {k: getattr(args, k) for k in ("restarts", "steps", "lr", "schedule", "precision", "optimizer")}
    rows, images, used = [], [], None
    for m in args.m:
        A = ganprior.operators.Gaussian(m, in_shape=G.image_shape, seed=m)
        noise = torch.randn(n_img, m, generator=torch.Generator().manual_seed(1000 + m)) * args.noise / m**0.5
        y = A(x_true) + noise
        t = time.perf_counter()
        res = ganprior.recover(y, A, G, lam=args.lam, seed=args.seed, return_result=True, **engine)
        t_csgm = time.perf_counter() - t
        used = res.info["settings"]
        t = time.perf_counter()
        with warnings.catch_warnings():  # the paper's alpha = 0.1 often stops at max_iter; the error says enough
            warnings.simplefilter("ignore", ConvergenceWarning)
            x_lasso = ganprior.recover(y, A, method="lasso", image_shape=G.image_shape)
        t_lasso = time.perf_counter() - t
        e_csgm = float(ganprior.metrics.mse(res.x, x_true).mean())
        e_lasso = float(ganprior.metrics.mse(x_lasso, x_true).mean())
        rows.append((m, e_csgm, e_lasso, t_csgm, t_lasso, used["lam"]))
        images.append((m, res.x, x_lasso))
    print(f"ganprior demo: {n_img} MNIST test digits, prior 'mnist' (k={G.k}), A ~ N(0, 1/m), "
          f"noise ||eta|| = {args.noise}; CSGM: {used['restarts']} restarts x {used['steps']} {used['optimizer']} "
          f"steps (lr {used['lr']}, {used['schedule']}, {used['precision']})")
    print(f"{'m':>5} {'CSGM MSE':>10} {'Lasso MSE':>10} {'CSGM s':>8} {'Lasso s':>8} {'lam':>6}")
    for m, ec, el, tc, tl, lam in rows:
        print(f"{m:>5} {ec:>10.4f} {el:>10.4f} {tc:>8.1f} {tl:>8.1f} {lam:>6g}")
    from ganprior.datasets import save_figure

    shown = min(args.show, n_img)
    panels = [("original", x_true[:shown])]
    for m, xc, xl in images:
        panels += [(f"CSGM m={m}", xc[:shown]), (f"Lasso m={m}", xl[:shown])]
    save_figure(panels, args.out)  # atomically
    print(f"figure: {args.out}")
    return 0 if np.isfinite([r[1] for r in rows]).all() else 1
