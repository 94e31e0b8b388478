"""Peak memory of one MNIST problem with many restarts: chunking bounds rows, so memory follows the chunk.

Each configuration runs in a fresh process (peak RSS is per process): ``recover(y, A, "mnist",
restarts=R, row_chunk=C)`` on the first bundled MNIST test digit, m = 100 Gaussian measurements,
``steps`` Adam steps (memory does not depend on the number of steps, only the time does), fp32.  The
baseline row is the same process doing everything but the solve (imports, the prior, the problem).

Usage::

    python benchmarks/studies/engine_memory.py --restarts 20000 --chunks 500 2000 5000 --steps 5 \
        --out benchmarks/results/engine_memory.csv
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for _common
from _common import command_line, write_csv  # noqa: E402

CHILD = r"""
import json, resource, sys, time, torch
torch.set_num_threads(1)
import ganprior
restarts, chunk, steps = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
G = ganprior.load_prior("mnist")
x = ganprior.data.load_sample("mnist_test300")[:1]
A = ganprior.operators.Gaussian(100, in_shape=G.image_shape, seed=0)
y = A(x)[0]
t = time.perf_counter()
err = None
if restarts:
    res = ganprior.recover(y, A, G, restarts=restarts, steps=steps, row_chunk=None if chunk == "none" else int(chunk),
                           seed=0, precision="fp32", return_result=True)
    err = float(ganprior.metrics.mse(res.x, x[0]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
print(json.dumps({"peak_rss_mib": peak, "seconds": time.perf_counter() - t, "mse": err}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restarts", type=int, default=20000)
    parser.add_argument("--chunks", nargs="+", default=["500", "2000", "5000"], help="row chunk sizes, or 'none'")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/engine_memory.csv")
    args = parser.parse_args(argv)
    rows = []
    for restarts, chunk in [(0, "none")] + [(args.restarts, c) for c in args.chunks]:
        text = subprocess.run([sys.executable, "-c", CHILD, str(restarts), str(chunk), str(args.steps)],
                              check=True, capture_output=True, text=True).stdout
        rec = {"restarts": restarts, "chunk_size": chunk, "steps": args.steps, **json.loads(text.strip().splitlines()[-1])}
        rec["peak_rss_mib"] = round(rec["peak_rss_mib"], 1)
        rec["seconds"] = round(rec["seconds"], 1)
        rows.append(rec)
        print(rec, flush=True)
    write_csv(args.out, rows, comment=command_line("studies/engine_memory.py", argv))


if __name__ == "__main__":
    main()
