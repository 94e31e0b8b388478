"""Representation PSNR of finished training runs: the card's protocol (3 restarts x 300 Adam steps, lr 0.1 cosine,
bf16) on 64 held-out validation faces (images 9500-9563 of the 10k set; the runs trained on the first 9500 with
--limit 9500) and on the 64 paper test faces (celeba_test64), for the EMA and the live weights of each run.

    python benchmarks/studies/celeba64_measure.py OUT.json RUN [RUN ...]

On a CUDA device when there is one; on a CPU it measures 4 faces of each set with 5 steps only (the dry run of
benchmarks/studies/celeba64_candidates.sh).  Reads celeba/ in the data root (ganprior.data.default_data_root).
"""
import json
import sys
import time
from pathlib import Path

import torch

import ganprior
from ganprior.data import default_data_root, load_celeba, load_sample

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))  # for build_prior
from build_prior import live_generator, representation_error  # noqa: E402

dev = "cuda" if torch.cuda.is_available() else "cpu"
val = load_celeba(default_data_root() / "celeba", which="10k")[9500:9564]
test = load_sample("celeba_test64")
if dev == "cpu":  # the dry run
    val, test = val[:4], test[:4]
steps = 300 if dev == "cuda" else 5
rows = []
for run in sys.argv[2:]:
    run = Path(run)
    cfg = json.loads((run / "config.json").read_text())
    ema = cfg.get("generator_weights") == "ema"  # then load_prior gives the average, live_generator the live weights
    for weights in ("ema", "live") if ema else ("live",):
        G = (live_generator(run) if ema and weights == "live" else ganprior.load_prior(run)).to(dev)
        row = dict(run=run.name, weights=weights, steps=cfg["steps"], wall_time_s=cfg["wall_time_s"])
        for name, x in (("val", val), ("test", test)):
            t = time.perf_counter()
            mse, psnr, _, _ = representation_error(G, x.to(dev), 3, steps, 0.1, "bf16", 64, "cosine")
            row[f"{name}_psnr"] = round(float(psnr.mean()), 3)
            row[f"{name}_mse"] = float(mse.mean())
            row[f"{name}_s"] = round(time.perf_counter() - t, 1)
        print(json.dumps(row), flush=True)
        rows.append(row)
Path(sys.argv[1]).write_text(json.dumps(rows, indent=1) + "\n")
