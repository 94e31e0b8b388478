"""Package a finished training run as a bundled prior, with its model card and measured quality.

Copies ``generator.pt``, ``discriminator.pt`` and ``config.json`` of a run of ``ganprior train`` into
``ganprior/priors/<name>/``, measures the prior's representation error on held-out test images

    min_z ||G(z) - x||^2 / n,

found with ``ganprior.recover`` and an identity operator (many random restarts), plots the loss curves,
copies the last sample grid, and writes ``card.md``.  With ``--measure-only`` nothing is copied: the
representation error of a run folder is printed (to compare candidate runs).

Example::

    python benchmarks/build_prior.py --run /work/runs/mnist_k20 --name mnist --sample mnist_test300
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import shutil
import time
from pathlib import Path

import torch

import ganprior
from ganprior.data import load_sample
from ganprior.models import from_config

PRIORS = Path(ganprior.__file__).resolve().parent / "priors"


def load_run(run: Path) -> ganprior.Generator:
    config = json.loads((run / "config.json").read_text())
    module = from_config(config["generator"], role="generator")
    module.load_state_dict(torch.load(run / "generator.pt", map_location="cpu", weights_only=True))
    return ganprior.Generator(module, tuple(config["latent_shape"]), output_range=tuple(config["output_range"]))


def representation_error(G, x, restarts, steps, lr, precision, chunk, schedule="constant"):
    """Per-image min_z ||G(z) - x||^2 / n with an identity operator; returns (mse per image, psnr per image, s)."""
    A = ganprior.operators.Identity(G.image_shape)
    t = time.perf_counter()
    x_hat = ganprior.recover(A(x), A, G, restarts=restarts, steps=steps, lr=lr, seed=0, precision=precision,
                             chunk_size=chunk, schedule=schedule)
    sec = time.perf_counter() - t
    return ganprior.metrics.mse(x_hat, x), ganprior.metrics.psnr(x_hat, x), sec, x_hat


def plot_losses(log_csv: Path, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(log_csv) as f:
        rows = list(csv.DictReader(f))
    step = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in ("d_loss", "g_loss"):
        vals = torch.tensor([float(r[key]) for r in rows])
        k = max(1, len(vals) // 200)
        smooth = vals.unfold(0, k, k).mean(1) if len(vals) >= k else vals
        ax.plot(step[::k][: len(smooth)], smooth.numpy(), label=key)
    ax.set(xlabel="generator step", ylabel="loss (moving mean)", title="Training losses")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, type=Path)
    p.add_argument("--name", default=None)
    p.add_argument("--sample", required=True, help="bundled held-out images: mnist_test300, celeba_test64, ...")
    p.add_argument("--n", type=int, default=None, help="number of held-out images (default all)")
    p.add_argument("--restarts", type=int, default=10)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--schedule", default="constant", choices=["constant", "cosine"])
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--chunk", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--note", default="", help="free text for the card (e.g. other runs compared)")
    p.add_argument("--measure-only", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    G = load_run(args.run)
    x = load_sample(args.sample)[: args.n]
    mse, psnr, sec, x_hat = representation_error(G, x, args.restarts, args.steps, args.lr, args.precision, args.chunk,
                                                 args.schedule)
    quality = dict(held_out=args.sample, n_images=int(x.shape[0]), restarts=args.restarts, steps=args.steps,
                   lr=args.lr, schedule=args.schedule, precision=args.precision,
                   representation_mse_mean=float(mse.mean()), representation_mse_median=float(mse.median()),
                   representation_psnr_mean=float(psnr.mean()), seconds=round(sec, 1))
    print(json.dumps(quality, indent=2))
    if args.measure_only:
        return quality
    out = PRIORS / args.name
    out.mkdir(parents=True, exist_ok=True)
    for f in ("generator.pt", "discriminator.pt"):
        shutil.copyfile(args.run / f, out / f)
    config = json.loads((args.run / "config.json").read_text())
    config["quality"] = quality
    config["name"] = args.name
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    shutil.copyfile(args.run / "samples" / "latest.png", out / "samples.png")
    plot_losses(args.run / "log.csv", out / "losses.png")
    from ganprior.plotting import recovery_grid

    recovery_grid([("held-out", x[:12]), ("closest G(z)", x_hat[:12])], out / "representation.png")
    hp = config["hyperparameters"]
    size_mb = sum((out / f).stat().st_size for f in ("generator.pt", "discriminator.pt")) / 2**20
    card = f"""# Prior `{args.name}`

| | |
|---|---|
| data | {config['data']['name']} ({config['data']['n_images']} training images) |
| generator | `{json.dumps(config['generator'])}` |
| discriminator | `{json.dumps(config['discriminator'])}` |
| latent | {config['latent_shape']} ~ N(0, I); output tanh in [-1, 1], served in [0, 1] |
| loss | {config['loss']['name']} {config['loss']['params'] or ''} |
| recipe | Adam lr {hp['lr']}, betas {hp['betas']}, batch {hp['batch_size']}, k={hp['k']}, bf16={hp['bf16']}, seed {hp['seed']} |
| steps / epochs | {config['steps']} / {config['epochs']:.1f} |
| wall time | {config['wall_time_s'] / 60:.1f} min on {platform.machine()} CPU (torch {config['torch_version']}, 1 thread, shared 2-core machine) |
| weights | {size_mb:.1f} MB (G + D state_dicts) |

Training command:

```
{config['command']}
```

## Representation error (held-out)

min over z of ||G(z) - x||^2 / n on {quality['n_images']} held-out images (`{args.sample}`), found with
`ganprior.recover` and an identity operator, {args.restarts} restarts x {args.steps} Adam steps (lr {args.lr}, {args.schedule}, {args.precision}):

- per-pixel MSE ([0, 1] pixels): mean **{quality['representation_mse_mean']:.4f}**, median {quality['representation_mse_median']:.4f}
- PSNR: mean **{quality['representation_psnr_mean']:.2f} dB**

![representation](representation.png)

## Samples and losses

![samples](samples.png)

![losses](losses.png)

{args.note}
"""
    (out / "card.md").write_text(card)
    print(f"wrote {out}")
    return quality


if __name__ == "__main__":
    main()
