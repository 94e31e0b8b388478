"""``ganprior demo``: recover bundled MNIST digits with the one-line call ``recover(y, A, "mnist")`` and with the
pixel-basis Lasso.

By name, ``"mnist"`` runs at each m the prior of the MNIST family and the method the benchmarks validated there
(:func:`ganprior.priors.recipe_choice`): the VAEs with ILO at m = 25-100, the DCGAN with ILO at 200.
"""

from __future__ import annotations

import time

from ._args import (
    check_output,
    engine_arguments,
    nonnegative_float,
    positive_int,
    renamed_flag,
    threads,
)

NAME = "demo"
HELP = "recover bundled MNIST digits with the MNIST prior family and with the Lasso; print a table, save a figure"


def _add_arguments(parser):
    """Options of ``ganprior demo``."""
    parser.add_argument("--n", type=positive_int, default=16, help="number of digits (of the 300 bundled)")
    parser.add_argument("--m", type=positive_int, nargs="+", default=[25, 50, 100, 200], help="measurement counts")
    engine_arguments(parser)
    parser.add_argument("--lam", type=nonnegative_float, default=None, help="weight of ||z||^2 (default: recipe)")
    renamed_flag(parser, "--noise-norm", "--noise", type=nonnegative_float, default=0.1,
                 help="||eta||, the norm of the noise per digit (per-entry std NOISE_NORM/sqrt(m))")
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
    from ganprior.solvers.settings import ENGINE_KEYS

    torch.set_num_threads(args.threads)
    x_true = load_sample("mnist_test300")[: args.n]
    n_img, shape = x_true.shape[0], tuple(x_true.shape[1:])
    engine = {k: getattr(args, k) for k in ENGINE_KEYS if k != "select"}
    rows, images, used = [], [], None
    for m in args.m:
        A = ganprior.operators.Gaussian(m, in_shape=shape, seed=m)
        noise = torch.randn(n_img, m, generator=torch.Generator().manual_seed(1000 + m)) * args.noise_norm / m**0.5
        y = A(x_true) + noise
        t = time.perf_counter()
        res = ganprior.recover(y, A, "mnist", lam=args.lam, seed=args.seed, return_result=True, **engine)
        t_prior = time.perf_counter() - t
        used = res.info["settings"]
        t = time.perf_counter()
        with warnings.catch_warnings():  # the paper's alpha = 0.1 often stops at max_iter; the error says enough
            warnings.simplefilter("ignore", ConvergenceWarning)
            x_lasso = ganprior.recover(y, A, method="lasso", image_shape=shape)
        t_lasso = time.perf_counter() - t
        e_prior = float(ganprior.metrics.mse(res.x, x_true).mean())
        e_lasso = float(ganprior.metrics.mse(x_lasso, x_true).mean())
        rows.append((m, e_prior, e_lasso, t_prior, t_lasso, used["lam"], used.get("prior", "mnist"), res.method))
        images.append((m, res.x, x_lasso, res.method))
    print(f"ganprior demo: {n_img} MNIST test digits, recover(y, A, 'mnist'): at each m the family's prior and "
          f"method validated there; A ~ N(0, 1/m), noise ||eta|| = {args.noise_norm}; {used['restarts']} restarts x "
          f"{used['steps']} {used['optimizer']} steps (lr {used['lr']}, {used['schedule']}, {used['precision']})")
    print(f"{'m':>5} {'prior MSE':>10} {'Lasso MSE':>10} {'prior s':>8} {'Lasso s':>8} {'lam':>6}  prior, method")
    for m, ep, el, tp, tl, lam, prior, method in rows:
        print(f"{m:>5} {ep:>10.4f} {el:>10.4f} {tp:>8.1f} {tl:>8.1f} {lam:>6g}  {prior}, {method}")
    from ganprior.plotting import save_figure

    shown = min(args.show, n_img)
    panels = [("original", x_true[:shown])]
    for m, xp, xl, method in images:
        panels += [(f"{method} m={m}", xp[:shown]), (f"Lasso m={m}", xl[:shown])]
    save_figure(panels, args.out)  # atomically
    print(f"figure: {args.out}")
    return 0 if np.isfinite([r[1] for r in rows]).all() else 1
