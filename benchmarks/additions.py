"""Fewest additions: the catalog's matmul schemes before and after ``bilinear optimize``.

For each scheme prints the additions naive, after the plain greedy
elimination (what the toolkit reported before), after
:func:`discovery.codegen.optimize.optimize` (symmetric variants, sandwich-
orbit walks, randomised / potential greedy with transposition, CP-SAT on
small maps) with the per-map breakdown and lower bound, and the
alternative-basis form: the core's additions and the basis changes' cost
per level (Karstadt & Schwartz count the core; the basis changes cost
``O(n^2 log n)`` in a recursion).  Every optimised scheme is exactly
verified (same problem, same rank); ``--save DIR`` stores the best one of
each problem there (``discovery.io.catalog.save``: verified again, with its
program in its meta).

It also runs the exact CP-SAT model on Strassen-Winograd's maps and prints
what it proves.

Usage::

    python benchmarks/additions.py                         # 60 s per scheme
    python benchmarks/additions.py --time-limit 300 --save results
    python benchmarks/additions.py --quick                 # 10 s per scheme
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from discovery.algebra.literature import strassen, strassen_winograd  # noqa: E402
from discovery.codegen.exact import shortest_program  # noqa: E402
from discovery.codegen.generate import plan  # noqa: E402
from discovery.codegen.minimize import minimize  # noqa: E402
from discovery.codegen.optimize import optimize  # noqa: E402
from discovery.io import catalog  # noqa: E402


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    print("\n".join(lines), flush=True)


def schemes(root):
    out = [("Strassen (literature)", strassen()), ("Strassen-Winograd (literature)", strassen_winograd())]
    for path, s in catalog.load_all(root):
        if s.problem.kind == "matmul" and s.field == "Z" and s.rank in (23, 49):
            out.append((f"{path.parent.name}/{path.name}", s))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per scheme (60)")
    parser.add_argument("--quick", action="store_true", help="10 s per scheme")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default=None, help="catalog to read (default results/)")
    parser.add_argument("--save", default=None, metavar="DIR", help="save the best scheme of each problem here")
    args = parser.parse_args(argv)
    limit = 10.0 if args.quick else args.time_limit
    print(f"# benchmarks/additions.py: {limit:.0f} s per scheme, seed {args.seed}, load average {load()}\n")

    print("## The exact model (CP-SAT) on Strassen-Winograd's maps\n")
    rows = []
    sw = strassen_winograd()
    for name, mat in (("U (left)", sw.U), ("V (right)", sw.V), ("W.T (output)", sw.W.T)):
        hint = minimize(mat, time_limit=2).program
        start = time.perf_counter()
        r = shortest_program(mat, time_limit=60, hint=hint)
        rows.append([name, hint.additions, r.program.additions if r.program else "-", r.lower_bound,
                     "optimal (proved)" if r.optimal else r.status, f"{time.perf_counter() - start:.1f}"])
    table(["map", "heuristic", "CP-SAT", "lower bound", "status", "s"], rows)
    print()

    print(f"## Additions before and after `bilinear optimize --time-limit {limit:.0f}`\n")
    rows, best = [], {}
    for name, s in schemes(args.root):
        before = plan(s, stored=False)
        start = time.perf_counter()
        r = optimize(s, time_limit=limit, seed=args.seed)
        seconds = time.perf_counter() - start
        b = r.plan.breakdown
        alt = r.alternative_additions
        rows.append([
            name, f"{s.problem.spec} rank {s.rank}", s.additions, before.additions,
            f"**{r.additions}** ({b['left']} + {b['right']} + {b['output']})", r.lower_bound,
            ", ".join(sorted(set(r.methods.values()))),
            "-" if alt is None else f"{alt['core']} ({' + '.join(map(str, alt['core_breakdown']))})",
            "-" if alt is None else " + ".join(map(str, alt["basis"])),
            f"{seconds:.0f}",
        ])
        key = s.problem.spec
        if key not in best or r.additions < best[key].additions:
            best[key] = r
    table(["scheme", "problem", "naive", "greedy (before)", "optimised (left + right + output)", "lower bound",
           "methods", "alternative basis: core", "basis changes per level", "s"], rows)
    print()
    if args.save:
        for key, r in best.items():
            path = catalog.scheme_path(r.scheme, args.save)
            if path.exists():
                print(f"{key}: {r.additions} additions; same factors as {path} (kept; never replaced)")
            else:
                print(f"{key}: {r.additions} additions -> saved {catalog.save(r.scheme, args.save)}")
    print(f"\nload average now {load()}")


if __name__ == "__main__":
    main()
