"""Semantic inpainting benchmark (Yeh et al. 2017): PSNR / SSIM per mask type, ours vs the harmonic fill.

Protocol (see ../shared/REFERENCE.md section 2):

- test images: the 64 CelebA test faces of the CSGM paper (``--sample celeba_test64``, prior ``celeba64``) or
  the first 300 MNIST test digits (``--sample mnist_test300``, prior ``mnist``);
- masks: centre block (25% of the area), random (80% of the pixels missing), half (one of the four halves,
  drawn per image), pattern (blobs, 30% missing); each image gets its own seeded mask, the same in every run;
- ours: ``ganprior.inpaint`` (contextual loss with the weighted mask, window 7, z clipped to [-1, 1], Adam,
  several candidates per image, lowest total loss kept) twice: with the perceptual term (the bundled
  discriminator, lam = 0.003, log(1 - D)) and without it (lam = 0).  Each optimisation's G(z_hat) is reported
  with three post-processings: none (G(z_hat) itself), alpha (pasted into the hole) and Poisson blending;
- baseline: the harmonic (Laplace) fill of the hole, ``ganprior.blending.harmonic_fill``;
- metrics: PSNR and SSIM of the whole image in [0, 1] pixels, and the MSE inside the hole; mean with a 95%
  CI = 1.96 std / sqrt(N).

Outputs in --out-dir (default benchmarks/results), with PREFIX = inpainting_<sample> (inpainting_<sample>_quick
with --quick): PREFIX_per_image.csv (appended chunk by chunk: an interrupted run resumes from it),
PREFIX_summary.csv, PREFIX.png (masked / ours / harmonic / truth per mask type), PREFIX_psnr.png (bars),
PREFIX_examples.npz (uint8 images of the first --show test images, for the figure) and PREFIX_metadata.json
(the command, settings, versions, wall time).

Examples::

    python benchmarks/inpainting.py --sample celeba_test64
    python benchmarks/inpainting.py --sample mnist_test300 --restarts 4 --steps 1000
    python benchmarks/inpainting.py --sample mnist_test300 --quick --random-prior --out-dir /tmp/inpaint
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import weights_sha256

import ganprior
from ganprior.blending import alpha_blend, harmonic_fill, poisson_blend
from ganprior.data import load_sample
from ganprior.masks import MASK_TYPES, make_mask

PRIOR_FOR_SAMPLE = {"celeba_test64": "celeba64", "mnist_test300": "mnist"}
MASK_OPTIONS = {"center": {"area": 0.25}, "random": {"missing": 0.8}, "half": {}, "pattern": {"missing": 0.3}}
RUNS = ("yeh2017+D", "yeh2017", "harmonic")   # with the perceptual term, without it, the classical baseline
FIELDS = ["mask", "method", "perceptual", "blend", "image", "missing", "psnr", "ssim", "mse_hole",
          "contextual_loss", "seconds"]


def masks_for(kind, shape, seed):
    """One mask per image, (N, 1, H, W); image i's mask does not depend on N (draws are sequential)."""
    return make_mask(kind, (shape[0], 1, *shape[2:]), seed=seed * 1000 + MASK_TYPES.index(kind),
                     **MASK_OPTIONS[kind])


def load_models(args, image_shape):
    if not args.random_prior:
        return ganprior.load_prior(args.prior), ganprior.load_discriminator(args.prior)
    from ganprior.models import build_discriminator, build_generator

    arch, k = ("dcgan28", 20) if image_shape[-1] == 28 else ("dcgan64", 100)
    G = ganprior.Generator(build_generator(arch, latent_dim=k, width=16, seed=0), name="random")
    D = ganprior.Discriminator(build_discriminator(arch, width=16, seed=1))
    return G, D


def score(x_hat, x, mask):
    """PSNR, SSIM and hole MSE per image (torch, CPU)."""
    x_hat, x = x_hat.detach().cpu().double(), x.detach().cpu().double()
    hole = (1 - mask.cpu().double()).expand_as(x)
    mse_hole = ((x_hat - x) ** 2 * hole).flatten(1).sum(1) / hole.flatten(1).sum(1).clamp_min(1)
    return ganprior.metrics.psnr(x_hat, x), ganprior.metrics.ssim(x_hat, x), mse_hole


def run_chunk(run, x, mask, G, D, cfg, seeds):
    """Outputs {(perceptual, blend): images} of one run on a chunk, the contextual losses and seconds per image."""
    t = time.perf_counter()
    if run == "harmonic":
        out = {("n/a", "n/a"): harmonic_fill(x, mask)}
        return out, [float("nan")] * x.shape[0], (time.perf_counter() - t) / x.shape[0]
    with_d = run == "yeh2017+D"
    res = ganprior.inpaint(x, mask, G, D if with_d else None, perceptual_weight=cfg["lam"] if with_d else 0.0,
                           window=cfg["window"], blend="none", restarts=cfg["restarts"], steps=cfg["steps"],
                           lr=cfg["lr"], z_bound=cfg["z_bound"], seed=seeds, precision=cfg["precision"],
                           schedule="constant", return_result=True)
    sec = (time.perf_counter() - t) / x.shape[0]
    p = "on" if with_d else "off"
    g = res.generated
    out = {(p, "none"): g, (p, "alpha"): alpha_blend(x, g, mask), (p, "poisson"): poisson_blend(x, g, mask)}
    return out, [float(v) for v in res.contextual_loss], sec


# PSNR is capped here before averaging (n_exact counts the capped images).
PSNR_CAP = 60.0


def summarise(rows):
    groups = {}
    for r in rows:
        groups.setdefault((r["mask"], r["method"], r["perceptual"], r["blend"]), []).append(r)
    out = []
    for (mask, method, perc, blend), rs in sorted(groups.items()):
        row = {"mask": mask, "method": method, "perceptual": perc, "blend": blend, "n": len(rs)}
        for key in ("psnr", "ssim", "mse_hole"):
            v = np.array([float(r[key]) for r in rs])
            if key == "psnr":  # an exact fill (e.g. a hole on MNIST's black background) has PSNR = inf
                row["n_exact"] = int(np.isinf(v).sum())
                v = np.minimum(v, PSNR_CAP)
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            row[f"{key}_mean"], row[f"{key}_ci95"] = v.mean(), 1.96 * sd / math.sqrt(len(v))
        row["seconds_per_image"] = float(np.mean([float(r["seconds"]) for r in rs]))
        out.append(row)
    return out


def label(key):
    method, perc, blend = key
    return "harmonic" if method == "harmonic" else f"ours{' +D' if perc == 'on' else ''} ({blend})"


def figures(summary, examples, masks, x_true, seed, prefix, out_dir, title):
    from ganprior.plotting import recovery_grid

    panels = []
    for kind in masks:
        m = masks_for(kind, x_true.shape, seed)   # the first images' masks, as in the run
        panels.append((f"{kind}: masked", x_true * m + 0.5 * (1 - m)))
        for key in (("yeh2017", "on", "poisson"), ("yeh2017", "off", "poisson"), ("harmonic", "n/a", "n/a")):
            name = f"{kind}|{'|'.join(key)}"
            if name in examples:
                panels.append((label(key), torch.from_numpy(examples[name]).float() / 255))
    panels.append(("truth", x_true))
    recovery_grid(panels, out_dir / f"{prefix}.png")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({(r["method"], r["perceptual"], r["blend"]) for r in summary})
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(masks), 3.8))
    width = 0.8 / max(1, len(keys))
    for j, key in enumerate(keys):
        vals = [next((r for r in summary if r["mask"] == kind and (r["method"], r["perceptual"], r["blend"]) == key),
                     None) for kind in masks]
        ax.bar(np.arange(len(masks)) + j * width, [v["psnr_mean"] if v else np.nan for v in vals], width,
               yerr=[v["psnr_ci95"] if v else 0 for v in vals], capsize=2, label=label(key))
    ax.set_xticks(np.arange(len(masks)) + 0.4 - width / 2, masks)
    ax.set(ylabel="PSNR (dB), whole image", title=title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out_dir / f"{prefix}_psnr.png", dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", choices=sorted(PRIOR_FOR_SAMPLE), default="celeba_test64")
    parser.add_argument("--prior", default=None, help="bundled prior (default: the sample's)")
    parser.add_argument("--n", type=int, default=None, help="test images (default: all of the sample)")
    parser.add_argument("--masks", nargs="+", choices=list(MASK_TYPES), default=["center", "random", "half", "pattern"])
    parser.add_argument("--restarts", type=int, default=4, help="candidates per image")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--lam", type=float, default=0.003, help="perceptual weight of the +D run")
    parser.add_argument("--window", type=int, default=7)
    parser.add_argument("--z-bound", type=float, default=1.0, help="clip z to [-b, b]; 0 for no clipping")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--chunk", type=int, default=16, help="images per batch (and per CSV append)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the masks and of the initial latents")
    parser.add_argument("--show", type=int, default=6, help="images in the figure")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="smoke run: 4 images, 2 candidates x 50 steps")
    parser.add_argument("--random-prior", action="store_true", help="untrained DCGAN pair (tests of the script only)")
    parser.add_argument("--out-dir", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.prior = args.prior or PRIOR_FOR_SAMPLE[args.sample]
    if args.quick:
        args.n, args.restarts, args.steps, args.lr = min(args.n or 4, 4), 2, 50, 0.05
    cfg = {"restarts": args.restarts, "steps": args.steps, "lr": args.lr, "lam": args.lam, "window": args.window,
           "z_bound": args.z_bound or None, "precision": args.precision}
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"inpainting_{args.sample}" + ("_quick" if args.quick else "")
    start = time.time()

    x_all = load_sample(args.sample)[: args.n]
    N = x_all.shape[0]
    G, D = load_models(args, tuple(x_all.shape[1:]))
    G, D = G.to(args.device), D.to(args.device)

    per_image = out_dir / f"{prefix}_per_image.csv"
    sha = weights_sha256(G, D)
    meta_path = out_dir / f"{prefix}_metadata.json"
    if per_image.exists() and meta_path.exists():
        theirs = json.loads(meta_path.read_text()).get("priors_sha256")
        if theirs not in (None, sha):
            raise ValueError(
                f"The weights of prior {args.prior!r} (G and D, SHA-256 {sha}) differ from those the rows of "
                f"{str(per_image)!r} were solved with ({theirs}): rows of different weights are not comparable. "
                "Solve into a fresh --out-dir, or move that run's files away.")
    done = set()
    if per_image.exists():
        with open(per_image) as f:
            for r in csv.DictReader(f):
                run = "harmonic" if r["method"] == "harmonic" else ("yeh2017+D" if r["perceptual"] == "on" else "yeh2017")
                done.add((r["mask"], run, int(r["image"])))
    else:
        with open(per_image, "w", newline="") as f:
            csv.DictWriter(f, fieldnames=FIELDS).writeheader()
    ex_path = out_dir / f"{prefix}_examples.npz"
    examples = dict(np.load(ex_path)) if ex_path.exists() else {}
    shown = min(args.show, N)

    from tqdm.auto import tqdm

    todo = [(kind, run) for kind in args.masks for run in RUNS if any((kind, run, i) not in done for i in range(N))]
    bar = tqdm(total=sum(sum((k, r, i) not in done for i in range(N)) for k, r in todo), desc=f"{args.sample} images",
               unit="img", file=sys.stdout, mininterval=10)
    for kind, run in todo:
        masks = masks_for(kind, x_all.shape, args.seed)
        idx = [i for i in range(N) if (kind, run, i) not in done]
        for c in range(0, len(idx), args.chunk):
            part = idx[c:c + args.chunk]
            x, m = x_all[part].to(args.device), masks[part].to(args.device)
            seeds = [args.seed * 100003 + i for i in part]
            outs, ctx, sec = run_chunk(run, x, m, G, D, cfg, seeds)
            with open(per_image, "a", newline="") as f:
                w = csv.DictWriter(f, fieldnames=FIELDS)
                for (perc, blend), xh in outs.items():
                    p, s, mh = score(xh, x, m)
                    for j, i in enumerate(part):
                        w.writerow({"mask": kind, "method": "harmonic" if run == "harmonic" else "yeh2017",
                                    "perceptual": perc, "blend": blend, "image": i,
                                    "missing": f"{float(1 - m[j].mean()):.4f}", "psnr": f"{float(p[j]):.4f}",
                                    "ssim": f"{float(s[j]):.5f}", "mse_hole": f"{float(mh[j]):.6g}",
                                    "contextual_loss": f"{ctx[j]:.6g}", "seconds": f"{sec:.4g}"})
                    if blend in ("poisson", "n/a"):
                        name = f"{kind}|{'harmonic' if run == 'harmonic' else 'yeh2017'}|{perc}|{blend}"
                        arr = examples.get(name, np.zeros((shown, *x_all.shape[1:]), np.uint8))
                        for j, i in enumerate(part):
                            if i < shown:
                                arr[i] = np.round(xh[j].detach().cpu().clamp(0, 1).numpy() * 255).astype(np.uint8)
                        examples[name] = arr
            np.savez_compressed(ex_path, **examples)
            bar.update(len(part))
    bar.close()

    with open(per_image) as f:
        rows = [r for r in csv.DictReader(f) if r["mask"] in args.masks and int(r["image"]) < N]
    summary = summarise(rows)
    with open(out_dir / f"{prefix}_summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        for r in summary:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    figures(summary, examples, args.masks, x_all[:shown], args.seed, prefix, out_dir,
            f"{args.sample}: {N} images, prior {G.name!r}")
    meta = {"command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
            "sample": args.sample, "n_images": N, "prior": G.name, "priors_sha256": sha,
            "masks": {k: MASK_OPTIONS[k] for k in args.masks},
            "mask_seed": f"make_mask(kind, (N, 1, H, W), seed={args.seed}*1000 + index of kind in {list(MASK_TYPES)})",
            "latent_seeds": f"{args.seed}*100003 + image index", "inpaint": cfg, "perceptual": "minimax log(1-D)",
            "select": "lowest total loss", "optimizer": "adam", "chunk": args.chunk, "quick": args.quick,
            "random_prior": args.random_prior, "torch": torch.__version__, "numpy": np.__version__,
            "ganprior": ganprior.__version__, "python": platform.python_version(), "machine": platform.machine(),
            "device": args.device, "threads": args.threads, "wall_time_s": round(time.time() - start, 1)}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    for r in summary:
        print(f"{r['mask']:>8} {label((r['method'], r['perceptual'], r['blend'])):>22}  "
              f"PSNR {r['psnr_mean']:6.2f} +- {r['psnr_ci95']:.2f}  SSIM {r['ssim_mean']:.3f} +- {r['ssim_ci95']:.3f}")
    return summary


if __name__ == "__main__":
    main()
