"""Flip-graph engine (``discovery.engines.flip``): the measured figures of issue 11.

Two parts, each one run of this script:

``speed``
    search time to the first scheme (3x3x3 rank 23 from the standard scheme,
    F2 and Z, one thread, one walk, over ``--seeds`` seeds: median wall and
    CPU seconds, without process start and without JIT compile -- the kernel
    is compiled and warmed up first), flips per second per thread on 4x4x4
    over F2, and 2 threads against 1 (repeated short runs, alternating, wall
    and CPU based).
``records``
    for each format, walks toward its best-known rank with a time limit;
    prints the rank reached, seconds to it, flips and flips/s, and with
    ``--save`` puts every scheme of the target rank into ``results/``
    (through ``discovery.io.catalog.save``, which verifies; the provenance
    records field, start, flips, seconds and seed).

Run::

    .venv/bin/python benchmarks/flip.py speed [--seeds 20] [--rate-seconds 10]
    .venv/bin/python benchmarks/flip.py records --field Z --minutes 10 --threads 2 \\
        [--formats 224,234,...] [--start standard|best|...] [--save]

Everything printed is measured in this run on this machine; the machine
load (``os.getloadavg``) is printed with each figure, since the machine may be
shared.
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

#: Best-known ranks (Z unless the field is F2): issue 11.
KNOWN_Z = {"222": 7, "223": 11, "224": 14, "233": 15, "234": 20, "244": 26, "333": 23, "334": 29, "344": 38,
           "444": 49, "225": 18, "235": 25, "245": 33, "255": 40, "335": 36, "345": 47, "355": 58, "445": 61,
           "455": 76, "555": 93}
KNOWN_F2 = dict(KNOWN_Z, **{"444": 47, "445": 60, "455": 73})


def load() -> str:
    return "load %.1f/%.1f/%.1f on %d cores" % (*os.getloadavg(), os.cpu_count())


# ------------------------------------------------------------------- speed
def first_scheme_times(field: str, seeds: int) -> tuple[list, list, list]:
    from discovery.core.problems import matmul
    from discovery.engines.flip import drain, walk

    walls, cpus, flips = [], [], []
    for seed in range(seeds):
        found, st = drain(walk(matmul(3, 3, 3), 23, field=field, seed=seed, walks=1, threads=1, time_limit=120))
        if found:
            walls.append(st["first_exact_seconds"])
            cpus.append(st["cpu_seconds"])
        flips.append(st["flips"])
    return walls, cpus, flips


def rate(shape, field: str, threads: int, seconds: float, walks: int | None = None) -> tuple[float, float]:
    """Flips per second (wall, CPU) of a run that cannot finish (target rank 1)."""
    from discovery.core.problems import matmul
    from discovery.engines.flip import drain, walk

    _, st = drain(walk(matmul(*shape), 1, field=field, seed=1, walks=walks or threads, threads=threads,
                       time_limit=seconds, chunk=200_000))
    return st["flips"] / st["kernel_seconds"], st["flips"] / st["cpu_seconds"]


def speed(args) -> None:
    from discovery.core.problems import matmul
    from discovery.engines.flip import drain, ensure_compiled, walk

    t = time.perf_counter()
    mode = ensure_compiled()
    drain(walk(matmul(2, 2, 2), 7, walks=2, threads=2, max_steps=1000))  # warm the threads up
    print(f"kernel: {mode} (compiled or loaded from cache in {time.perf_counter() - t:.1f} s)\n")
    print("| task | goal | measured | machine |")
    print("|---|---|---|---|")
    for field, goal in (("F2", 0.03), ("Z", 0.4)):
        walls, cpus, flips = first_scheme_times(field, args.seeds)
        print(f"| 3x3x3 rank 23 from standard, {field}, 1 thread, {args.seeds} seeds | median <= {goal} s | "
              f"median {statistics.median(walls):.3f} s wall, {statistics.median(cpus):.3f} s CPU "
              f"({len(walls)}/{args.seeds} found, median {statistics.median(flips) / 1e3:.0f}k flips) | {load()} |",
              flush=True)
    w, c = rate((4, 4, 4), "F2", 1, args.rate_seconds)
    print(f"| flips/s per thread, 4x4x4 F2 | >= 5 M | {w / 1e6:.2f} M wall, {c / 1e6:.2f} M per CPU second | "
          f"{load()} |", flush=True)
    w, c = rate((4, 4, 4), "Z", 1, args.rate_seconds)
    print(f"| flips/s per thread, 4x4x4 Z | - | {w / 1e6:.2f} M wall, {c / 1e6:.2f} M per CPU second | "
          f"{load()} |", flush=True)
    ones, twos = [], []
    for _ in range(args.repeats):  # alternate, so that load changes hit both alike
        ones.append(rate((4, 4, 4), "F2", 1, args.rate_seconds / 2, walks=2))
        twos.append(rate((4, 4, 4), "F2", 2, args.rate_seconds / 2, walks=2))
    w1 = statistics.median(x[0] for x in ones)
    w2 = statistics.median(x[0] for x in twos)
    c1 = statistics.median(x[1] for x in ones)
    c2 = statistics.median(x[1] for x in twos)
    print(f"| 2 threads vs 1 (4x4x4 F2, 2 walks, {args.repeats} alternating runs of {args.rate_seconds / 2:.0f} s) "
          f"| >= 1.8x | {w2 / w1:.2f}x wall ({w1 / 1e6:.2f} -> {w2 / 1e6:.2f} M/s), {c2 / c1:.2f} per CPU second "
          f"| {load()} |", flush=True)


# ----------------------------------------------------------------- records
def records(args) -> None:
    from discovery.core.problems import matmul
    from discovery.engines.flip import ensure_compiled, walk
    from discovery.io import catalog

    ensure_compiled()
    known = KNOWN_F2 if args.field == "F2" else KNOWN_Z
    formats = args.formats.split(",") if args.formats else list(known)
    print(f"field {args.field}, {args.threads} threads, {args.minutes:g} min per format, start {args.start}, "
          f"seed {args.seed}\n")
    print("| format | best known | start (rank) | reached | seconds to it | flips | Mflips/s | machine | saved |")
    print("|---|---:|---|---:|---:|---:|---:|---|---|")
    for spec in formats:
        k, m, n = (int(c) for c in spec)
        target = known[spec] if args.target is None else args.target
        problem = matmul(k, m, n)
        gen = walk(problem, target, field=args.field, seed=args.seed, threads=args.threads, walks=args.walks,
                   start=args.start, time_limit=60 * args.minutes, stop_after=args.max_schemes,
                   pool=args.pool, path_length=args.path_length, lift=args.lift or None)
        saved, first = [], None
        while True:
            try:
                scheme, info = next(gen)
            except StopIteration as stop:
                st = stop.value
                break
            first = first if first is not None else info["seconds"]
            if args.save:
                saved.append(catalog.save(scheme))
        reached = st["best_rank"]
        rel = ", ".join(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p) for p in saved[:2])
        more = f" (+{len(saved) - 2})" if len(saved) > 2 else ""
        print(f"| {spec} | {target} | {st['start']} ({st['start_rank']}) | {reached} | "
              f"{'' if first is None else f'{first:.1f}'} | {st['flips'] / 1e6:.0f}M | "
              f"{st['flips_per_second'] / 1e6:.2f} | {load()} | {rel}{more} |", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--seeds", type=int, default=20)
    s.add_argument("--rate-seconds", type=float, default=10.0)
    s.add_argument("--repeats", type=int, default=5)
    r = sub.add_parser("records")
    r.add_argument("--field", default="Z", choices=("F2", "Z", "F3"))
    r.add_argument("--formats", help="comma-separated, e.g. 224,234 (default: all of the table)")
    r.add_argument("--target", type=int, help="target rank (default: the best known)")
    r.add_argument("--minutes", type=float, default=10.0)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--walks", type=int)
    r.add_argument("--start", default="standard")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--pool", type=int, default=0)
    r.add_argument("--path-length", type=int)
    r.add_argument("--max-schemes", type=int, default=1)
    r.add_argument("--lift", action="store_true", help="F2: lift the finds to Z and save those")
    r.add_argument("--save", action="store_true")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # results/ is the default catalog
    (speed if args.part == "speed" else records)(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
