"""Engine throughput of two checkouts of ganprior, side by side in one run (e.g. before and after a refactor).

For each checkout (a folder holding the ``ganprior`` package, e.g. a ``git worktree`` of the old commit) a
fresh Python process times ``optimize_latents`` on the CSGM objective with the 28x28 DCGAN of
``benchmarks/speed.py`` (k = 20, width 64, an m x 784 Gaussian A, 1 restart per problem) at the given row
counts -- the marginal time per step, ``(t(3s) - t(s)) / 2s``, so the fixed cost of a solve cancels -- and a bare
forward + backward of G on the same batch: of the module as given (``bare_fwd_bwd_ms``) and of the network the
engine runs (``bare_run_ms``: :meth:`ganprior.Generator.for_solving` where the checkout has it), the reference of
``overhead_pct``.  The checkouts are run alternately, ``--rounds``
times, and each figure is the fastest of its rounds (the machine is shared).

Usage::

    git worktree add ../ganprior-old <old-commit>
    python benchmarks/studies/engine_compare.py --trees ../ganprior-old . --labels old new \
        --rows 100 500 --steps 30 --rounds 5 --threads 1 --out benchmarks/results/engine_compare.csv
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for _common
from _common import command_line, hardware_text, write_csv  # noqa: E402

CHILD = r"""
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
import ganprior
from ganprior.models import build_generator
from ganprior.solvers.csgm import CSGMObjective
rows_list, steps, precision, m = json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
torch.manual_seed(0)
G = ganprior.Generator(build_generator("dcgan28", latent_dim=20, width=64))
A = ganprior.operators.Gaussian(m, in_shape=G.image_shape, seed=0)
# the network the engine runs: a checkout with Generator.for_solving runs its solving copy
run = G.for_solving() if hasattr(G, "for_solving") else G
out = {"file": ganprior.__file__}
def solve(obj, rows, n):
    t = time.perf_counter()
    ganprior.optimize_latents(obj, G, rows, restarts=1, steps=n, seed=0, precision=precision)
    return time.perf_counter() - t
def bare(g, rows):
    z = torch.randn(rows, 20, requires_grad=True)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else torch.autocast("cpu", enabled=False)
    with g.frozen():
        for i in range(steps + 2):
            if i == 2:
                t = time.perf_counter()
            z.grad = None
            with ctx:
                x = g(z)
            x.float().sum().backward()
    return (time.perf_counter() - t) / steps
for rows in rows_list:
    obj = CSGMObjective(torch.zeros(rows, m), A, 0.0)
    solve(obj, rows, 2)
    t1, t3 = solve(obj, rows, steps), solve(obj, rows, 3 * steps)
    eng = (t3 - t1) / (2 * steps)  # marginal time per step: the solve's fixed cost cancels
    out[str(rows)] = {"engine": eng, "fixed": t1 - steps * eng, "bare": bare(G, rows), "bare_run": bare(run, rows)}
print(json.dumps(out))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", nargs=2, required=True, help="two folders that hold a ganprior package")
    parser.add_argument("--labels", nargs=2, default=["old", "new"])
    parser.add_argument("--rows", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--m", type=int, default=100, help="measurements (rows of A)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/engine_compare.csv")
    args = parser.parse_args(argv)
    best = {}
    for r in range(args.rounds):
        for label, tree in zip(args.labels, args.trees):
            env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()))
            # run in the tree: 'python -c' puts the working directory first on sys.path
            text = subprocess.run([sys.executable, "-c", CHILD, str(args.threads), json.dumps(args.rows),
                                   str(args.steps), args.precision, str(args.m)], env=env, cwd=Path(tree).resolve(), check=True,
                                  capture_output=True, text=True).stdout
            res = json.loads(text.strip().splitlines()[-1])
            for rows in args.rows:
                cur = best.setdefault((label, rows), {})
                for k, v in res[str(rows)].items():
                    cur[k] = min(cur.get(k, float("inf")), v)
            print(f"round {r}: {label} ({res['file']}) " + ", ".join(
                f"{rows}: {1e3 * res[str(rows)]['engine']:.2f} ms/step" for rows in args.rows), flush=True)
    records = []
    for rows in args.rows:
        old, new = best[(args.labels[0], rows)], best[(args.labels[1], rows)]
        for label in args.labels:
            b = best[(label, rows)]
            records.append({"label": label, "rows": rows, "precision": args.precision,
                            "engine_ms_per_step": round(1e3 * b["engine"], 3),
                            "fixed_ms": round(1e3 * b["fixed"], 1),
                            "bare_fwd_bwd_ms": round(1e3 * b["bare"], 3),
                            "bare_run_ms": round(1e3 * b["bare_run"], 3),
                            "overhead_pct": round(100 * (b["engine"] / b["bare_run"] - 1), 1),
                            "problem_steps_per_s": round(rows / b["engine"], 1),
                            f"{args.labels[1]}_over_{args.labels[0]}_throughput":
                                round(old["engine"] / new["engine"], 3)})
    write_csv(args.out, records, comment=f"{command_line('studies/engine_compare.py', argv)}  | "
                                         f"{hardware_text(threads=args.threads)}")
    for rec in records:
        print(rec)


if __name__ == "__main__":
    main()
