"""Winograd-like convolution algorithms: discovery, accuracy, verification, costs.

Run::

    .venv/bin/python benchmarks/winograd.py            # everything (a few minutes)
    .venv/bin/python benchmarks/winograd.py --quick    # smaller budgets

Prints, in one run:

1. F(2,3), F(3,2), F(4,3) found by search at rank m+r-1 (exact), with the
   interpolation points each found scheme corresponds to: the gradient
   engine ``spn`` over the dyadic set, the ``cpsat`` engine over the dyadic
   set and over {0, ±1/2, ±1}, and the ``cooktoom`` engine: a real least-squares search plus point
   snapping (:func:`discovery.engines.cooktoom.discover`).  Goal: each <= 60 s.
2. The float32 error of F(4,3) with the point set the toolkit picks
   (:func:`discovery.winograd.accuracy.rank_point_sets`) against {0, ±1, 1/2, -2},
   measured in the same run.  Goal: within 1.2x.
3. Symbolic verification time of F(6x6,3x3).  Goal: <= 30 s.
4. The point-set rankings of F(4,3) and F(6,3).
5. Costs (multiplications per output, additions naive/CSE) and fp32/fp16
   error of the catalog tiles.

Timings are wall-clock on whatever machine runs it (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


from discovery.winograd.accuracy import measure_error, rank_point_sets  # noqa: E402
from discovery.winograd.cooktoom import cook_toom, identify  # noqa: E402
from discovery.codegen.cse import transform_costs  # noqa: E402
from discovery.core.errors import BilinearError  # noqa: E402
from discovery.core.problems import correlation  # noqa: E402
from discovery.search import search  # noqa: E402
from discovery.winograd.cooktoom import best_known  # noqa: E402
from verify import verify_exact, verify_symbolic  # noqa: E402

PUBLISHED = {(4, 3): "0,1,-1,1/2,-2", (6, 3): "0,1,-1,1/2,-1/2,2,-2"}
HALVES = ["-1", "-1/2", "0", "1/2", "1"]
DYADIC_CANDIDATES = ["0", "1", "-1", "2", "-2", "1/2", "-1/2", "4", "-4", "1/4", "-1/4"]


def table(headers, rows) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    print()
    sys.stdout.flush()


def points_text(scheme) -> str:
    info = identify(scheme)
    if not info["points"]:
        return "not an evaluation at points"
    label = "{" + ", ".join(info["points"]) + "}"
    return label + ("" if info["cook_toom"] else " (not Cook-Toom up to scaling)")


def engine_row(name, problem, rank, run):
    t = time.perf_counter()
    try:
        result = run()
    except (BilinearError, ValueError, TypeError) as exc:
        return [problem.spec, name, "error", f"{time.perf_counter() - t:.1f}", str(exc)[:60]]
    seconds = time.perf_counter() - t
    if hasattr(result, "schemes"):
        schemes = result.schemes
        status = result.status
    else:
        schemes, status = [result], "found"
    if not schemes:
        return [problem.spec, name, status, f"{seconds:.1f}", "-"]
    s = schemes[0]
    exact = verify_exact(s).ok
    return [problem.spec, name, f"{status}, rank {s.rank}" + (", exact" if exact else ", NOT EXACT"),
            f"{seconds:.1f}", points_text(s)]


def discovery_section(quick: bool) -> None:
    print("## 1. Search at rank m+r-1 (no points given)\n")
    limit = 20 if quick else 60
    rows = []
    for m, r in [(2, 3), (3, 2), (4, 3)]:
        p = correlation(m, r)
        R = m + r - 1
        spn_limit = 10 if (m, r) == (4, 3) else limit
        rows.append(engine_row("spn, dyadic", p, R, lambda: search(
            p, R, engine="spn", coefficients="dyadic", seed=0, time_limit=spn_limit, stop_after=1)))
        if (m, r) != (4, 3):
            rows.append(engine_row("cpsat, dyadic", p, R, lambda: search(
                p, R, engine="cpsat", coefficients="dyadic", seed=0, time_limit=limit)))
            rows.append(engine_row("cpsat, {0, ±1/2, ±1}", p, R, lambda: search(
                p, R, engine="cpsat", coefficients=HALVES, seed=0, time_limit=limit)))
        rows.append(engine_row("cooktoom (least squares + snap)", p, R, lambda: search(
            p, R, engine="cooktoom", seed=0, time_limit=limit)))
    table(["problem", "engine", "result", "seconds", "points of the found scheme"], rows)
    print("F(4,3) has no rank-6 scheme over the dyadic set {0, ±1/2, ±1, ±2}: a column of A^T is\n"
          "[1, a, a^2, a^3] up to scale, which forces a in {0, ±1, inf} -- 4 points where 6 are needed\n"
          "(the spn run above finds none). The cooktoom engine finds real rank-6 solutions by least squares; every one\n"
          "is an evaluation at 6 real points, which are snapped to simple rationals and rebuilt exactly.\n")


def accuracy_section(quick: bool) -> dict:
    print("## 2. Point-set ranking by measured float32 error\n")
    tiles = 256 if quick else 1024
    ranks = {}
    for m, r in [(4, 3), (6, 3)]:
        for label, cands in (("all candidates", None), ("dyadic candidates", DYADIC_CANDIDATES)):
            t = time.perf_counter()
            kwargs = {} if cands is None else {"candidates": cands}
            top = rank_point_sets(m, r, keep=8 if quick else 16, tiles=tiles, **kwargs)
            seconds = time.perf_counter() - t
            ranks[(m, r, label)] = top
            published = set(PUBLISHED[(m, r)].split(","))
            rows = []
            for i, s in enumerate(top[:8]):
                mark = " (published)" if {str(p) for p in s.points} == published else ""
                c = s.conditions
                rows.append([i + 1, s.label + mark, f"{s.report.rms[0]:.3e}", f"{s.report.rms[1]:.3e}",
                             f"{s.report.rms[2]:.3e}", f"{s.error:.3e}",
                             f"{c['G']:.3g} / {c['BT']:.3g} / {c['AT']:.3g}"])
            print(f"F({m},{r}), {label} (+ inf), {seconds:.1f} s:\n")
            table(["#", "points", "C=1", "C=8", "C=64", "mean", "cond G / B^T / A^T"], rows)

    print("## 3. F(4,3): the toolkit's pick vs {0, ±1, 1/2, -2}, same run, same inputs\n")
    reps = 4096 if not quick else 1024
    published = cook_toom(4, 3, PUBLISHED[(4, 3)])
    ref = measure_error(published, "float32", (1, 8, 64), reps, seed=123)
    rows = [["{0, 1, -1, 1/2, -2} (published)", f"{ref.error:.3e}", "1.00"]]
    for label in ("all candidates", "dyadic candidates"):
        best = ranks[(4, 3, label)][0]
        rep = measure_error(cook_toom(4, 3, list(best.points)), "float32", (1, 8, 64), reps, seed=123)
        rows.append([f"{best.label} (best, {label})", f"{rep.error:.3e}", f"{rep.error / ref.error:.2f}"])
    table(["F(4,3) points (+ inf)", "fp32 relative error", "ratio to published"], rows)
    print("goal: the toolkit's pick within 1.2x of the published set's error (ratio <= 1.2).\n")

    print("Where the fractions go (published points, same inputs):\n")
    rows = []
    for m, r in [(4, 3), (6, 3)]:
        for fractions in ("G", "BT", "AT"):
            s = cook_toom(m, r, PUBLISHED[(m, r)], fractions)
            e32 = measure_error(s, "float32", (1, 8, 64), reps // 4, seed=7).error
            e16 = measure_error(s, "float16", (1, 8, 64), reps // 4, seed=7).error
            rows.append([f"F({m},{r})", fractions, f"{e32:.3e}", f"{e16:.3e}"])
    table(["tile", "fractions in", "fp32 error", "fp16 error"], rows)
    return ranks


def verification_section() -> None:
    print("## 4. Symbolic verification (sympy)\n")
    rows = []
    for m, r in [((2, 2), (3, 3)), ((4, 4), (3, 3)), ((6, 6), (3, 3))]:
        s = best_known(m, r)
        t = time.perf_counter()
        ok = verify_symbolic(s).ok
        rows.append([s.problem.spec, s.rank, "ok" if ok else "FAILED", f"{time.perf_counter() - t:.2f}"])
    table(["problem", "rank", "symbolic", "seconds"], rows)
    print("goal: F(6x6,3x3) <= 30 s.\n")


def costs_section(quick: bool) -> None:
    print("## 5. Costs and accuracy of the catalog tiles (published points, fractions in G)\n")
    rows = []
    tiles = [(2, 3), (3, 2), (4, 3), (6, 3), (2, 5), (4, 5), ((2, 2), (3, 3)), ((4, 4), (3, 3)),
             ((6, 6), (3, 3))]
    for m, r in tiles:
        s = best_known(m, r)
        c = transform_costs(s)

        def adds(key):
            d = c[key].get("separable", c[key])
            return f"{d['naive']}/{d['cse']}"

        n = 256 if s.problem.shape[1] <= 16 else 64
        if quick:
            n = min(n, 64)
        e32 = measure_error(s, "float32", (1, 8, 64), n).error
        e16 = measure_error(s, "float16", (1, 8, 64), n).error
        rows.append([s.problem.spec, s.rank, f"{c['multiplications_per_output']:.3g}",
                     f"{c['naive_multiplications_per_output']:.3g}", adds("filter"), adds("data"),
                     adds("output"), f"{e32:.2e}", f"{e16:.2e}"])
    table(["tile", "mults", "mults/output", "standard", "adds G naive/CSE", "adds B^T", "adds A^T",
           "fp32 error", "fp16 error"], rows)
    print("2-D tiles are evaluated separably (1-D transforms along one axis, then the other), for the\n"
          "additions and the errors alike.\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller budgets and sample sizes")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    print("# Winograd-like convolution benchmark\n")
    discovery_section(args.quick)
    accuracy_section(args.quick)
    verification_section()
    costs_section(args.quick)
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
