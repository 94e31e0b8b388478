#!/usr/bin/env bash
# The GPU checks, prepared to run as one short script on a CUDA machine (e.g. one lent by the `device` tool),
# from the repository root with the project installed:
#
#     bash benchmarks/gpu.sh "${OUT:-benchmarks/results/gpu}"
#
# 1. the tests that need a GPU (they skip on the CPU);
# 2. benchmarks/speed.py on cuda: fp32 and bf16, channels_last vs contiguous (whether Generator.for_solving's
#    "auto" should pick channels_last on CUDA too: today it does so only on the CPU, where it was measured);
# 3. the 10,000-problem scale run, one call vs torchrun over the visible GPUs (nccl).
# Everything lands in the output folder (default benchmarks/results/gpu); about 5 minutes on one H200.
# The lent machines' image has no PyWavelets: without it four test modules fail to import (hence
# --continue-on-collection-errors).  Carry wheels and name their folder to run them too, e.g.
#     pip download PyWavelets --only-binary=:all: --no-deps --python-version 3.12 \
#         --platform manylinux_2_17_x86_64 -d .gpu/wheels      # here, once per Python version
#     WHEELS=.gpu/wheels bash benchmarks/gpu.sh "$OUT"          # there (no index is reachable from it)
set -euo pipefail
out="${1:-benchmarks/results/gpu}"
mkdir -p "$out"
if ! python -c "import pywt" 2>/dev/null && [ -n "${WHEELS:-}" ]; then
    python -m pip install -q --no-index --find-links "$WHEELS" PyWavelets || echo "PyWavelets: no wheel in $WHEELS fits"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/device.txt"
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$out/device.txt"
python -m pytest -q -rs -p no:cacheprovider --continue-on-collection-errors tests -k "gpu or cuda" 2>&1 | tail -n 30 | tee "$out/tests.txt"
python benchmarks/speed.py --device cuda --threads 4 --repeats 2 --formats channels_last contiguous \
    --problems 1 100 1000 10000 --out "$out/speed"
gpus=$(python -c "import torch; print(torch.cuda.device_count())")
python benchmarks/scale.py --device cuda --n 10000 --m 200 --restarts 1 --steps 100 --chunk 2500 \
    --workers "$gpus" --out "$out/scale"
