"""Package a finished training run as a bundled prior, with its model card and measured quality.

Copies ``generator.pt``, ``discriminator.pt`` and ``config.json`` of a run of ``ganprior train`` into
``ganprior/priors/<name>/``, measures the prior's representation error on held-out test images

    min_z ||G(z) - x||^2 / n,

found with ``ganprior.recover`` and an identity operator (many random restarts), plots the loss curves,
copies the last sample grid, and writes ``card.md``.  With ``--measure-only`` nothing is copied: the
representation error of a run folder is printed (to compare candidate runs).

``--recipe recipe.json`` attaches the prior's validated *solver recipe* (``{"recover": {...}, "inpaint":
{...}}``, see ``ganprior.priors.recipe_for``): it is written into ``config.json`` under ``"recipe"`` and
tabled in the card.  ``--update NAME --recipe recipe.json`` attaches (or replaces) the recipe of an already
built prior without measuring anything again: its ``config.json`` and the recipe section of its ``card.md``
are rewritten.  Machine paths in the recorded training command are made relative to the repository
(``python -m ganprior train ... --data-root ../shared/data --out runs/NAME``), in new priors and in updated
ones.

Examples::

    python tools/build_prior.py --run runs/mnist_k20 --name mnist --sample mnist_test300 --recipe recipe.json
    python tools/build_prior.py --update mnist --recipe recipe.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shlex
import shutil
import time
from pathlib import Path

import torch

import ganprior
from ganprior.data import load_sample
from ganprior.priors.recipes import TASKS, check_recipe, lam_text
from ganprior.training._io import save_weights

PRIORS = Path(ganprior.__file__).resolve().parent / "priors"
REPO = Path(__file__).resolve().parents[1]


def latent_text(G):
    """The card's words for the latent law ``G`` was trained with (``config.json``'s ``"latent"``; normal without
    one): ``N(0, I)``, or the law's own repr (``UniformLaw(bound=1.0)``)."""
    return "N(0, I)" if G.latent.name == "normal" else repr(G.latent)


def live_generator(run):
    """The training run ``run``'s generator with the live weights of its checkpoint (``ganprior.load_prior`` gives
    the EMA ones when the run keeps an average), or ``None`` when the run keeps no EMA: its weights are the live
    ones already."""
    from ganprior.training.trainer import EMA_KEY, load_checkpoint

    state = load_checkpoint(Path(run) / "checkpoint.pt")
    if state.get(EMA_KEY) is None:
        return None
    G = ganprior.load_prior(run)
    G.module.load_state_dict(state["generator"])
    G.module.eval()
    return G


RECIPE_HEADING = "## Solver recipe"
# the trainer's entry points, as they appear in sys.argv[0] of `python -m ...`
_TRAIN_ENTRY = ("ganprior/training/cli.py", "ganprior/cli/train.py", "ganprior/__main__.py")


def portable_command(command: str, repo: Path | None = None) -> str:
    """The training command with machine paths replaced by paths relative to the repository.

    ``python /abs/ganprior/training/cli.py ...`` (what ``sys.argv`` records for ``python -m
    ganprior.training.cli``) and ``python /abs/ganprior/__main__.py train ...`` become ``python -m
    ganprior train ...``; the ``--out`` folder becomes ``runs/<its name>`` (where it goes is the user's
    choice); every other absolute path becomes relative to the repository root (``/home/me/shared/data`` ->
    ``../shared/data`` for a repository in ``/home/me/main``).  ``repo`` defaults to this repository.
    """
    repo = REPO if repo is None else Path(repo)
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    if not words:
        return command
    out, i = [], 0
    if Path(words[0]).name.startswith("python"):
        out.append("python")
        i = 1
    if i < len(words) and words[i].replace(os.sep, "/").endswith(_TRAIN_ENTRY):
        main = words[i].replace(os.sep, "/").endswith("ganprior/__main__.py")
        out += ["-m", "ganprior", "train"]
        i += 2 if main and i + 1 < len(words) and words[i + 1] == "train" else 1
    elif words[i:i + 2] in (["-m", "ganprior.training.cli"], ["-m", "ganprior.cli.train"]):
        out += ["-m", "ganprior", "train"]
        i += 2

    def rel(path: str) -> str:
        return os.path.relpath(path, repo).replace(os.sep, "/") if os.path.isabs(path) else path

    rest = words[i:]
    for j, w in enumerate(rest):
        key, eq, val = w.partition("=")
        if w.startswith("--") and eq:
            out.append(f"{key}={('runs/' + Path(val).name) if key == '--out' and os.path.isabs(val) else rel(val)}")
        elif j > 0 and rest[j - 1] == "--out" and os.path.isabs(w):
            out.append("runs/" + Path(w).name)
        else:
            out.append(rel(w))
    return " ".join(shlex.quote(w) for w in out)


def _num(x) -> str:
    return f"{x:g}"


def recipe_markdown(recipe: dict | None) -> str:
    """The card's solver-recipe section (heading included) for a ``config.json`` ``"recipe"`` entry."""
    head = (f"{RECIPE_HEADING}\n\n")
    if not recipe:
        return head + ("No validated solver recipe: `recover` and `inpaint` use their own defaults with this "
                       "prior.\n")
    lines = [head + "The solver settings to use with this prior, stored in `config.json` under `\"recipe\"` "
             "(`G.recipe` of `ganprior.load_prior`; `ganprior.priors.recipe_for(G, task, m)` gives the keyword "
             "arguments for one task and number of measurements m); where the numbers come from is listed "
             "below the table:\n",
             "| task | restarts x steps | lr (schedule) | precision | optimizer | lam (recover) / perceptual weight (inpaint) | other |",
             "|---|---|---|---|---|---|---|"]
    sources = []
    for task in TASKS:
        e = recipe.get(task)
        if not e:
            continue
        other = ", ".join(f"{k} {e[k]}" for k in ("window", "z_bound", "perceptual", "blend") if k in e)
        lam = lam_text(e["lam"], prefix=False) if "lam" in e else ""
        if "perceptual_weight" in e:
            lam = _num(e["perceptual_weight"])
        label = task
        if e.get("validated") is False:
            label = f"{task} (not validated on this prior)"
        lines.append(f"| {label} | {e.get('restarts', '')} x {e.get('steps', '')} | {_num(e['lr']) if 'lr' in e else ''}"
                     f" ({e.get('schedule', '')}) | {e.get('precision', '')} | {e.get('optimizer', '')} | {lam} | "
                     f"{other} |")
        for key in ("source", "note"):
            if e.get(key):
                sources.append(f"- {task} ({key}): {e[key]}")
    methods = [f"- `{name}`: " + "; ".join(lam_text(v, key=k) for k, v in args.items())
               for name, args in recipe.get("recover", {}).get("methods", {}).items()]
    if methods:  # per-method arguments (recipe_for(G, "recover", m, method=...); lam is the table's)
        lines += ["", "Arguments of the other `recover` methods (`recipe_for(G, \"recover\", m, method=name)`; "
                  "their lam is the table's):", "", *methods]
    choices = [f"- {k}: " + ", ".join(f"{row[k]} (m <= {row['m_max']})" if row["m_max"] is not None else
                                      f"{row[k]} (above)" for row in recipe["recover"][k])
               for k in ("prior", "method") if k in recipe.get("recover", {})]
    if choices:  # what recover(y, A, name) runs per m (ganprior.priors.recipe_choice)
        lines += ["", "Given by name (`recover(y, A, name)`), the prior runs per m the prior of its family and, "
                  "when no method is given, the method below (`ganprior.priors.recipe_choice`):", "", *choices]
    return "\n".join(lines) + "\n" + ("\n" + "\n".join(sources) + "\n" if sources else "")


def set_card_recipe(card: str, recipe: dict | None) -> str:
    """``card`` with its solver-recipe section replaced (or inserted before "## Samples and losses")."""
    section = recipe_markdown(recipe) + "\n"
    pattern = re.compile(re.escape(RECIPE_HEADING) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(card):
        return pattern.sub(lambda _: section, card, count=1)
    anchor = card.find("## Samples and losses")
    if anchor < 0:
        return card.rstrip("\n") + "\n\n" + section
    return card[:anchor] + section + card[anchor:]


def read_recipe(path) -> dict:
    """A validated recipe from a JSON file (``{"recover": {...}, "inpaint": {...}}``)."""
    return check_recipe(json.loads(Path(path).read_text()))


def update_prior(name: str, recipe: dict | None) -> Path:
    """Attach ``recipe`` to the bundled prior ``name`` (config.json and card) and make its command portable."""
    out = PRIORS / name
    config = json.loads((out / "config.json").read_text())
    card = (out / "card.md").read_text()
    old = config.get("command", "")
    config["command"] = portable_command(old)
    if recipe is not None:
        config["recipe"] = recipe
    card = card.replace(old, config["command"]) if old else card
    card = set_card_recipe(card, config.get("recipe"))
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "card.md").write_text(card)
    return out


def representation_error(G, x, restarts, steps, lr, precision, chunk, schedule="constant"):
    """Per-image min_z ||G(z) - x||^2 / n with an identity operator; returns (mse per image, psnr per image, s)."""
    A = ganprior.operators.Identity(G.image_shape)
    t = time.perf_counter()
    x_hat = ganprior.recover(A(x), A, G, restarts=restarts, steps=steps, lr=lr, seed=0, precision=precision,
                             row_chunk=chunk * restarts, schedule=schedule)  # chunk: images per batch
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
    keys = [k for k in ("d_loss", "g_loss", "loss", "reconstruction", "kl") if k in rows[0]]  # GAN or VAE log
    for key in keys:
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
    p.add_argument("--run", type=Path, help="the training run folder (ganprior train --out RUN)")
    p.add_argument("--name", default=None)
    p.add_argument("--sample", help="bundled held-out images: mnist_test300, celeba_test64, ...")
    p.add_argument("--recipe", type=Path, default=None,
                   help="JSON file with the validated solver recipe {\"recover\": {...}, \"inpaint\": {...}}")
    p.add_argument("--update", metavar="NAME", default=None,
                   help="attach --recipe to the bundled prior NAME (config.json and card) without measuring")
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
    p.add_argument("--weights", choices=["ema", "live"], default=None,
                   help="a run that keeps an EMA of its generator: package the averaged weights (default) or the "
                        "live ones of its checkpoint (when a comparison on validation images prefers them)")
    args = p.parse_args(argv)
    recipe = read_recipe(args.recipe) if args.recipe is not None else None
    if args.update:
        print(f"updated {update_prior(args.update, recipe)}")
        return None
    if args.run is None or args.sample is None:
        p.error("--run and --sample are required (unless --update)")
    torch.set_num_threads(args.threads)
    G = ganprior.load_prior(args.run)  # the checkpoint's EMA weights when the run has them
    live = args.weights == "live"
    if live:
        G = live_generator(args.run)
        if G is None:
            p.error(f"--weights live: the run {str(args.run)!r} keeps no EMA of its generator; its weights are the "
                    "live ones already (drop --weights)")
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
    config = json.loads((args.run / "config.json").read_text())
    vae = str(config.get("format", "")).startswith("ganprior-vae")  # a decoder; no discriminator
    weight_files = ["generator.pt"] if vae else ["generator.pt", "discriminator.pt"]
    # the weights measured above (EMA ones when the run has them), not necessarily the run's generator.pt, with
    # their checksums (load_prior verifies them)
    weights = {"generator.pt": G.module.state_dict()}
    if not vae:
        weights["discriminator.pt"] = ganprior.load_discriminator(args.run).module.state_dict()
    config["weights_sha256"] = save_weights(weights, out)
    config["command"] = portable_command(config.get("command", ""))
    if live:
        config["generator_weights"] = "live"
    config["quality"] = quality
    config["name"] = args.name
    if recipe is not None:
        config["recipe"] = recipe
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    if not live:
        shutil.copyfile(args.run / "samples" / "latest.png", out / "samples.png")
    else:  # the run's sample grids show its average: draw the live generator's own (64 seeded latents)
        from ganprior.training._io import save_image_grid

        z = G.latent.sample((64, *G.latent_shape), torch.Generator().manual_seed(0))  # the run's own latent law
        with torch.no_grad():
            save_image_grid(G(z).float(), out / "samples.png")
    plot_losses(args.run / "log.csv", out / "losses.png")
    from ganprior.plotting import recovery_grid

    recovery_grid([("held-out", x[:12]), ("closest G(z)", x_hat[:12])], out / "representation.png")
    hp = config["hyperparameters"]
    size_mb = sum((out / f).stat().st_size for f in weight_files) / 2**20
    if vae:
        rows = (f"| decoder (the prior) | `{json.dumps(config['generator'])}` |\n"
                f"| encoder (training only, not shipped) | `{json.dumps(config['encoder'])}` |\n"
                f"| latent | {config['latent_shape']} ~ {latent_text(G)}; output sigmoid in [0, 1] |\n"
                + ("| loss | negative ELBO, Bernoulli likelihood (ganprior.training.vae) |\n"
                   if hp.get("beta", 1.0) == 1.0
                   else f"| loss | negative ELBO with the KL term weighted by beta = {hp['beta']:g} (a beta-VAE), "
                        "Bernoulli likelihood (ganprior.training.vae) |\n")
                + f"| training recipe | Adam lr {hp['lr']}, batch {hp['batch_size']}, seed {hp['seed']} |")
    else:
        rows = (f"| generator | `{json.dumps(config['generator'])}` |\n"
                f"| discriminator | `{json.dumps(config['discriminator'])}` |\n"
                f"| latent | {config['latent_shape']} ~ {latent_text(G)}; output tanh in [-1, 1], served in [0, 1] |\n"
                f"| loss | {config['loss']['name']} {config['loss']['params'] or ''} |\n"
                f"| training recipe | Adam lr {hp['lr']}, betas {hp['betas']}, batch {hp['batch_size']}, k={hp['k']}, "
                f"bf16={hp['bf16']}, seed {hp['seed']} |")
    n_threads = re.search(r"--threads[ =](\d+)", config["command"])
    threads = f"{n_threads.group(1) if n_threads else 1} thread" + ("s" if n_threads and n_threads.group(1) != "1" else "")
    if str(hp.get("device", "cpu")).startswith("cuda"):
        where = f"one CUDA GPU (torch {config['torch_version']})"
    else:
        where = f"{platform.machine()} CPU (torch {config['torch_version']}, {threads}, shared 2-core machine)"
    card = f"""# Prior `{args.name}`

| | |
|---|---|
| data | {config['data']['name']} ({config['data']['n_images']} training images) |
{rows}
| steps / epochs | {config['steps']} / {config['epochs']:.1f} |
| wall time | {config['wall_time_s'] / 60:.1f} min on {where} |
| weights | {size_mb:.1f} MB ({'decoder state_dict' if vae else 'G + D state_dicts'}) |

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

{recipe_markdown(config.get('recipe'))}
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
