"""What the benchmark scripts share: the command line that made a result, and a CSV written under it.

The scripts run as ``python benchmarks/<script>.py ...``, which puts this folder on ``sys.path``; the
studies in ``studies/`` put it there themselves.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from ganprior.benchmark import weights_sha256  # noqa: F401  (benchmarks/inpainting.py's)


def command_line(script: str, argv=None) -> str:
    """``python benchmarks/<script> <arguments>``: the command as benchmarks/README.md and the results record it."""
    return f"python benchmarks/{script} " + " ".join(argv if argv is not None else sys.argv[1:])


def hardware_text(device="cpu", threads=None) -> str:
    """The machine in one line for a result's comment: CPU model, its capability, native bf16, threads
    (:func:`ganprior.hardware.hardware_info`; ``threads`` when the measurement ran in child processes)."""
    import ganprior

    hw = ganprior.hardware.hardware_info(device)
    return (f"CPU {hw['cpu']} ({hw['cpu_capability']}, {hw['bf16_reason']}), "
            f"{threads if threads is not None else hw['threads']} thread(s), torch {hw['torch']}"
            + (f", GPU {hw['gpu']}" if "gpu" in hw else ""))


def write_csv(path, rows, comment=None, fieldnames=None):
    """Write ``rows`` (dicts) to ``path`` with a header, after a ``# comment`` line when given; the folder is made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        if comment is not None:
            f.write(f"# {comment}\n")
        writer = csv.DictWriter(f, fieldnames=fieldnames or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def mean_ci(v):
    """Mean and 95% half-width (1.96 standard errors; 0 for a single value) of ``v``."""
    v = np.asarray(v, dtype=float)
    return float(v.mean()), float(1.96 * v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0


def psnr(x_hat, x):
    """Per-image PSNR in dB of images in [0, 1] (a numpy array)."""
    import torch

    err = (torch.as_tensor(x_hat, dtype=torch.float64) - x.double()).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(1.0 / err)).numpy()
