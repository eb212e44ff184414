"""Benchmark of the exact solvers (issue 4): prints one measured table.

Run (about 15 minutes on 2 cores)::

    .venv/bin/python benchmarks/exact_solvers.py

Rows:

1. 2x2x2 rank 7 from scratch with ``cpsat`` (5 seeds; goal <= 10 s each);
2. 3x3x3 rank 23 exact over Z from random starts with ``auto``
   (``--auto-seconds``, default 600; goal >= 1 scheme; schemes per hour),
   and the ``lm`` route alone for ``--lm-seconds`` (default 300);
3. refinement of a rank-23 scheme with 20 random coefficients corrupted
   (``--trials``, default 5; goal exact in <= 60 s each);
4. lifting the mod-2 images of the catalog's and the toolkit's Z schemes up
   to 3x3x3, and F2 schemes from the flip engine and CP-SAT (goal <= 30 s each);
5. optional (``--stretch-seconds S``): 2x2x2 rank 6 over ternary, proved
   infeasible or how far CP-SAT gets in S seconds.

``--save`` stores the 3x3x3 schemes found in row 2 in ``results/``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from discovery.io import catalog  # noqa: E402
from discovery.algebra.literature import strassen, strassen_winograd  # noqa: E402
from discovery.core.problems import matmul  # noqa: E402
from discovery.search import search  # noqa: E402
from solvers.lifting import lift, mod2_image  # noqa: E402
from solvers.refine import refine  # noqa: E402
from verify import verify_all, wrong_entries  # noqa: E402

ROWS: list[tuple[str, str, str]] = []


def row(task: str, goal: str, measured: str) -> None:
    ROWS.append((task, goal, measured))
    print(f"  {task}: {measured}", file=sys.stderr, flush=True)


def bench_cpsat(seeds: int = 5) -> None:
    times = []
    for seed in range(seeds):
        res = search(matmul(2, 2, 2), 7, engine="cpsat", seed=seed, time_limit=60)
        ok = res.status == "found" and verify_all(res.schemes[0]).ok
        times.append(res.wall_seconds if ok else float("inf"))
    row("2x2x2 rank 7 from scratch, `--engine cpsat` (5 seeds)", "exact in <= 10 s",
        f"{sum(t < 60 for t in times)}/{seeds} exact; median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s")


def bench_auto(seconds: float, save: bool) -> list:
    root = None if save else tempfile.mkdtemp(prefix="bench-auto-")
    res = search(matmul(3, 3, 3), 23, engine="auto", seed=0, time_limit=seconds, max_schemes=10**6,
                 save=True, root=root)
    schemes = res.schemes
    ok = [s for s in schemes if s.field == "Z" and verify_all(s).ok]
    routes = {}
    for s in ok:
        key = s.meta["provenance"]["route"] + "/" + s.meta["provenance"].get("lift", "-")
        routes[key] = routes.get(key, 0) + 1
    first = f"{res.first_exact_seconds:.1f} s" if res.first_exact_seconds is not None else "-"
    row(f"3x3x3 rank 23 over Z, `--engine auto`, {seconds:.0f} s", ">= 1 verified scheme in 10 min",
        f"{len(ok)} verified Z schemes (first after {first}); {len(ok) / res.wall_seconds * 3600:.0f} "
        f"schemes/hour; routes {routes}")
    return ok


def bench_lm(seconds: float) -> None:
    res = search(matmul(3, 3, 3), 23, engine="lm", seed=0, time_limit=seconds, max_schemes=10**6)
    near = [n.wrong for n in res.near_misses]
    row(f"3x3x3 rank 23, `lm` route alone, {seconds:.0f} s", "(numerical route)",
        f"{res.restarts} restarts, best residual {res.best_loss:.3g}, "
        f"{len(near)} near misses (fewest wrong: {min(near) if near else '-'}), {len(res.schemes)} exact")


def corrupt(scheme, n, rng):
    mats = [m.tolist() for m in scheme.factors]
    flat = [(f, r, i) for f in range(3) for r in range(scheme.rank) for i in range(len(mats[f][0]))]
    for k in rng.choice(len(flat), n, replace=False):
        f, r, i = flat[k]
        mats[f][r][i] = int(rng.choice([v for v in (-1, 0, 1) if v != mats[f][r][i]]))
    return scheme.replace(U=mats[0], V=mats[1], W=mats[2])


def bench_refine(base, trials: int) -> None:
    times = []
    wrong = []
    for seed in range(trials):
        bad = corrupt(base, 20, np.random.default_rng(seed))
        wrong.append(wrong_entries(bad))
        res = refine(bad, time_limit=60, seed=seed)
        times.append(res.seconds if res.exact and verify_all(res.scheme).ok else None)
    done = [t for t in times if t is not None]
    med = f"median {statistics.median(done):.1f} s, max {max(done):.1f} s" if done else "-"
    row("refine rank-23 scheme with 20 corrupted coefficients", "exact in <= 60 s",
        f"{len(done)}/{trials} exact within 60 s ({med}); {min(wrong)}-{max(wrong)} wrong entries at the start")


def lifting_corpus() -> list[tuple[str, object]]:
    corpus = [("Strassen (known)", mod2_image(strassen())), ("Strassen-Winograd (known)", mod2_image(strassen_winograd()))]
    for path, s in catalog.load_all():
        if s.field == "F2" or s.problem.tensor().size > 729:
            continue
        try:
            corpus.append((f"catalog {s.problem.spec} rank {s.rank} ({s.field})", mod2_image(s)))
        except Exception:  # even denominators: no mod-2 image
            corpus.append((f"catalog {s.problem.spec} rank {s.rank} ({s.field})", None))
    for problem, rank in ((matmul(2, 2, 2), 7), (matmul(2, 2, 3), 11), (matmul(2, 3, 3), 15), (matmul(3, 3, 3), 23)):
        try:
            res = search(problem, rank, engine="flip", seed=1, time_limit=60, field="F2", max_schemes=2)
        except Exception as exc:  # flip engine not installed
            print(f"  flip unavailable: {exc}", file=sys.stderr)
            break
        for i, s in enumerate(res.schemes):
            corpus.append((f"flip F2 {problem.spec} rank {rank} #{i + 1}", s))
    from solvers.brent import build_model, solve_model

    f2 = solve_model(build_model(matmul(2, 2, 2), 7, field="F2"), time_limit=30).scheme
    corpus.append(("cpsat F2 2x2x2 rank 7", f2))
    return corpus


def bench_lifting() -> None:
    worst = 0.0
    counts = {"catalog/known": [0, 0], "engines (F2)": [0, 0]}
    methods: dict = {}
    no_image = 0
    failed = []
    for name, s in lifting_corpus():
        if s is None:
            no_image += 1
            print(f"    {name}: no mod-2 image (even denominators)", file=sys.stderr)
            continue
        res = lift(s, time_limit=30)
        print(f"    {name}: {res.summary()}", file=sys.stderr)
        worst = max(worst, res.seconds)
        group = counts["engines (F2)" if name.startswith(("flip", "cpsat")) else "catalog/known"]
        group[0] += res.lifted
        group[1] += 1
        if res.lifted:
            methods[res.method] = methods.get(res.method, 0) + 1
        else:
            failed.append(f"{name}: {res.summary()}")
    parts = [f"{k}: {a}/{b} lifted" for k, (a, b) in counts.items()]
    row("lifting mod-2 images of Z schemes (<= 3x3x3) and F2 schemes from engines", "lifted or reported, <= 30 s each",
        "; ".join(parts) + f"; methods {methods}; slowest {worst:.1f} s; {no_image} catalog Q schemes have even "
        "denominators (no mod-2 image)" + ("; not lifted: " + "; ".join(failed) if failed else ""))


def bench_stretch(seconds: float) -> None:
    res = search(matmul(2, 2, 2), 6, engine="cpsat", seed=0, time_limit=seconds)
    row(f"2x2x2 rank 6 ternary (stretch, {seconds:.0f} s)", "proved infeasible",
        f"{res.status} after {res.wall_seconds:.1f} s ({res.options.get('proof', 'no proof')}, "
        f"F2 solutions tried {res.options.get('f2_solutions', 0)})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--auto-seconds", type=float, default=600.0)
    p.add_argument("--lm-seconds", type=float, default=300.0)
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--stretch-seconds", type=float, default=0.0)
    p.add_argument("--save", action="store_true", help="save 3x3x3 schemes found by auto in results/")
    p.add_argument("--only", default="cpsat,auto,lm,refine,lift,stretch")
    args = p.parse_args(argv)
    only = set(args.only.split(","))
    t0 = time.time()
    found = []
    if "cpsat" in only:
        bench_cpsat()
    if "auto" in only and args.auto_seconds > 0:
        found = bench_auto(args.auto_seconds, args.save)
    if "lm" in only and args.lm_seconds > 0:
        bench_lm(args.lm_seconds)
    if "refine" in only and args.trials > 0:
        base = next((s for s in found if set(s.coefficient_set) <= {-1, 0, 1}), None)
        if base is None:
            base = next((s for s in catalog.find(matmul(3, 3, 3), field="Z", max_rank=23)
                         if set(s.coefficient_set) <= {-1, 0, 1}), None)
        if base is None:
            row("refine rank-23 scheme with 20 corrupted coefficients", "exact in <= 60 s", "no ternary rank-23 scheme")
        else:
            bench_refine(base, args.trials)
    if "lift" in only:
        bench_lifting()
    if "stretch" in only and args.stretch_seconds > 0:
        bench_stretch(args.stretch_seconds)
    print(f"\nbenchmarks/exact_solvers.py ({time.time() - t0:.0f} s in all, 2 shared CPU cores)\n")
    print("| task | goal | measured |")
    print("|---|---|---|")
    for task, goal, measured in ROWS:
        print(f"| {task} | {goal} | {measured} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
