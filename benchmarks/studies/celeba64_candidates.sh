#!/usr/bin/env bash
# Candidate celeba64 priors, trained side by side on one GPU for the same wall-clock budget, then measured on
# held-out faces; prepared to run as one short script on a lent CUDA machine, from the repository root, with the
# CelebA files in ../shared/data/celeba (a copy of the data carried along and linked there on such a machine):
#
#     OUT=runs/celeba64_best bash benchmarks/studies/celeba64_candidates.sh
#
# Every run trains on the first 9500 of the 10,000 faces (--limit 9500), so that the last 500 stay unseen: the
# error-vs-m benchmark's validation faces (the last 128) are among them.  Each run gets --steps 1000000 and is
# stopped by the clock after TRAIN_S seconds; it is then exported at its last checkpoint by its own command with
# --steps N (which trains no further steps: the checkpoints resume bitwise), and measured with the model card's
# protocol on 64 held-out faces (images 9500-9563) and on the 64 test faces (benchmarks/studies/celeba64_measure.py).
# The run with the best validation PSNR (EMA or live weights) is copied to $OUT (generator.pt, discriminator.pt),
# with every run's measurements (candidates.json) and a tarball of the runs' configs, logs and sample grids.
# DEV=cpu TRAIN_S=100 CKPT=1 makes a dry run on a CPU.  About 8 minutes on one H200 (TRAIN_S=400).
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
DEV=${DEV:-cuda}; TRAIN_S=${TRAIN_S:-400}; CKPT=${CKPT:-1000}; PY=${PY:-python3}
OUT=${OUT:-runs/celeba64_best}; mkdir -p "$OUT"
R=runs/celeba64_candidates; mkdir -p $R
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; $PY -c "import torch; print('torch', torch.__version__, torch.version.cuda)"; nproc) > $R/device.txt 2>&1
common="--data celeba --data-root ../shared/data --limit 9500 --arch dcgan64 --latent-dim 100 --width 64 --batch-size 64 --seed 0 --bf16 --channels-last --device $DEV --threads 3 --checkpoint-every $CKPT --sample-every $((CKPT*5)) --resume"
declare -A cfg
cfg[ns_ema]="--loss non-saturating --ema-decay 0.999"
cfg[ns]="--loss non-saturating"
cfg[hinge_ema]="--loss hinge --ema-decay 0.999"
cfg[wgangp_ema]="--loss wgan-gp --k 5 --lr 0.0001 --betas 0 0.9 --ema-decay 0.999"
names="ns_ema ns hinge_ema wgangp_ema"
for n in $names; do
  timeout -s INT $TRAIN_S $PY -m ganprior train $common ${cfg[$n]} --steps 1000000 --out $R/$n > $R/$n.train.log 2>&1 &
done
wait
for n in $names; do
  (step=$($PY -c "import torch; print(torch.load('$R/$n/checkpoint.pt', map_location='cpu', weights_only=False)['step'])") &&
   echo "$n: exporting step $step" &&
   $PY -m ganprior train $common ${cfg[$n]} --steps $step --out $R/$n > $R/$n.export.log 2>&1 &&
   $PY benchmarks/studies/celeba64_measure.py $R/$n.measure.json $R/$n > $R/$n.measure.log 2>&1) &
done
wait
$PY - "$R" "$OUT" <<'PYEOF'
import json, shutil, sys, tarfile, torch
from pathlib import Path
R, OUT = Path(sys.argv[1]), Path(sys.argv[2])
rows = [r for f in sorted(R.glob("*.measure.json")) for r in json.loads(f.read_text())]
(OUT / "candidates.json").write_text(json.dumps(rows, indent=1) + "\n")
best = max(rows, key=lambda r: r["val_psnr"])
print("best", best)
run = R / best["run"]
if best["weights"] == "live" and json.loads((run / "config.json").read_text()).get("generator_weights") == "ema":
    torch.save(torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)["generator"], OUT / "generator.pt")
else:
    shutil.copyfile(run / "generator.pt", OUT / "generator.pt")
shutil.copyfile(run / "discriminator.pt", OUT / "discriminator.pt")
with tarfile.open(OUT / "runs.tar.gz", "w:gz") as tar:
    for p in R.rglob("*"):
        if p.is_file() and p.suffix != ".pt":
            tar.add(p, arcname=str(p.relative_to(R.parent)))
PYEOF
