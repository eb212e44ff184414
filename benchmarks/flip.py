"""Flip-graph random walks (engine ``flip``): measured table.

For each case (problem, target rank, field) the script runs

* ``--trials`` independent searches (seeds 0, 1, ...) that stop at the first
  scheme or after ``--trial-seconds``: success rate and median seconds to a
  scheme;
* one throughput run of ``--throughput-seconds`` that collects every distinct
  scheme.

Schemes per hour, distinct schemes and flips per second are over all runs of
the case together (trials and throughput run).

Two stretch rows walk 4x4x4 over F2 toward rank 47, from the standard scheme
and from Strassen (x) standard 2x2x2 (rank 56), for ``--stretch-seconds`` each, and
report the lowest rank reached.  With ``--save``
the first 3x3x3 rank-23 scheme of each field goes to ``results/`` (verified,
with provenance).  Everything printed is measured in this run on this
machine; the defaults take at most about 9 minutes on 2 cores.

Run::

    .venv/bin/python benchmarks/flip.py [--trials 3] [--trial-seconds 60]
        [--throughput-seconds 30] [--stretch-seconds 45] [--fields F2 Z] [--save]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = [((2, 2, 2), 7), ((2, 2, 3), 11), ((2, 3, 3), 15), ((3, 3, 3), 23)]


def case_row(shape, rank, field, args, options, save):
    from discovery.io import catalog
    from discovery.engines.flip import run
    from discovery.core.problems import matmul

    problem = matmul(*shape)
    firsts, seconds, flips, distinct = [], 0.0, 0, set()
    for seed in range(args.trials):
        res = run(problem, rank, seed=seed, field=field, time_limit=args.trial_seconds, max_schemes=1, **options)
        seconds += res.wall_seconds
        flips += res.options["flips"]
        distinct.update(s.fingerprint() for s in res.schemes)
        if res.found:
            firsts.append(res.first_exact_seconds)
            if save and shape == (3, 3, 3):
                path = catalog.save(res.schemes[0])
                print(f"  saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)
                save = False
    res = run(problem, rank, seed=1000, field=field, time_limit=args.throughput_seconds, max_schemes=10**9, **options)
    seconds += res.wall_seconds
    flips += res.options["flips"]
    distinct.update(s.fingerprint() for s in res.schemes)
    found = len(firsts) + len(res.schemes)
    median = f"{statistics.median(firsts):.2f}" if firsts else "-"
    return (f"| {problem.spec} | {rank} | {field} | {res.options['walks']} | {len(firsts)}/{args.trials} | {median} | "
            f"{found / seconds * 3600:,.0f} | {len(distinct)} | {flips / seconds / 1e6:.2f} |")


def stretch_rows(args):
    from discovery.engines.flip import run
    from discovery.algebra.literature import strassen
    from discovery.algebra.ops import kron, standard_scheme
    from discovery.core.problems import matmul

    rows = []
    strassen_x_standard = kron(strassen(), standard_scheme(matmul(2, 2, 2)))
    for name, start in (("standard (64)", None), ("Strassen x standard 2x2x2 (56)", strassen_x_standard)):
        res = run(matmul(4, 4, 4), 47, seed=0, field="F2", start=start, time_limit=args.stretch_seconds)
        rows.append(f"| 4x4x4 from {name} | 47 | F2 | {res.options['walks']} | lowest rank reached in "
                    f"{args.stretch_seconds:.0f} s: {int(res.best_loss)} | | | {len(res.schemes)} | "
                    f"{res.options['flips'] / res.wall_seconds / 1e6:.2f} |")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--trial-seconds", type=float, default=60.0)
    parser.add_argument("--throughput-seconds", type=float, default=30.0)
    parser.add_argument("--stretch-seconds", type=float, default=45.0)
    parser.add_argument("--fields", nargs="+", default=["F2", "Z"])
    parser.add_argument("--save", action="store_true", help="save the first 3x3x3 rank-23 scheme per field")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"flip engine, {os.cpu_count()} CPU cores; trials stop at the first scheme or after "
          f"{args.trial_seconds:.0f} s; throughput runs last {args.throughput_seconds:.0f} s\n")
    print("| problem | rank | field | walks | trials found | median s to a scheme | schemes / hour "
          "| distinct schemes | Mflips/s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    t0 = time.perf_counter()
    for field in args.fields:
        for shape, rank in CASES:
            print(case_row(shape, rank, field, args, {}, args.save), flush=True)
    if args.stretch_seconds > 0:
        for row in stretch_rows(args):
            print(row, flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
