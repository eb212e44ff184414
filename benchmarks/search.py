"""How often and how fast the gradient (spn) engine finds exact schemes.

Prints one row per (problem, rank, coefficients, loss, quantizer): restarts,
exact restarts, success rate, distinct schemes, median seconds per restart,
seconds to the first exact scheme and wall time -- all measured in this run
on this machine.  Restarts run in batches (one batched torch computation
each); seconds per restart is a batch's wall time divided by its size.

    .venv/bin/python benchmarks/search.py                  # all rows (~4 min on 2 idle cores)
    .venv/bin/python benchmarks/search.py --only 2x2x2     # rows whose problem matches
    .venv/bin/python benchmarks/search.py --plot success.png --json rows.json
    .venv/bin/python benchmarks/search.py --route              # spn + CP-SAT refinement rows (~1 h)
    .venv/bin/python benchmarks/search.py --route --only 3x3x3

``--route`` measures the StrassenNets route as one pipeline (gradient
restarts whose near misses CP-SAT refinement finishes, overlapping with the
next batch; issue 13) through :func:`discovery.search.search`: per row the
restarts run, how many were exact after rounding, exact after refinement and
still wrong, the first exact scheme's time, the wall time and wall seconds
per exact scheme; convolution rows name the Cook-Toom points of the scheme
found (:func:`discovery.winograd.cooktoom.identify`).

The ``ste`` rows are the paper's recipe (full-precision pre-training, then a
ternary forward pass with Li et al.'s threshold and straight-through
gradients); ``ste+l1`` adds the engine's L1 sparsity phase before it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from discovery.engines import spn  # noqa: E402
from discovery.core.problems import parse_problem  # noqa: E402

# (problem, rank, coefficients, loss, quantizer label, restarts, batch, extra options)
ROWS = [
    ("2x2x2", 7, "ternary", "samples", "ste", 128, 16, {}),
    ("2x2x2", 7, "ternary", "tensor", "ste", 128, 16, {}),
    ("2x2x2", 7, "ternary", "tensor", "ste+l1", 128, 16, {"sparsity": 0.03}),
    ("2x2x2", 7, "ternary", "tensor", "stochastic", 128, 16, {}),
    ("2x2x2", 7, "ternary", "tensor", "anneal", 128, 16, {}),
    ("2x2x2", 7, "ternary", "samples", "anneal", 128, 16, {}),
    ("2x2x2", 7, "ternary", "samples-fresh", "anneal", 128, 16, {"fresh_samples": True}),
    ("2x2x3", 11, "ternary", "tensor", "ste", 64, 32, {}),
    ("2x2x3", 11, "ternary", "tensor", "anneal", 128, 32, {}),
    ("2x3x3", 15, "ternary", "tensor", "anneal", 128, 32, {}),
    ("2x3x3", 15, "dyadic", "tensor", "anneal", 128, 32, {}),
    ("3x3x3", 23, "ternary", "tensor", "anneal", 64, 32, {}),
    ("F(2,3)", 4, "dyadic", "tensor", "ste", 128, 32, {}),
    ("F(2,3)", 4, "dyadic", "tensor", "anneal", 128, 32, {}),
]

#: The rational set that holds F(4,3) rank 6 (the Cook-Toom algorithm at 0, 1, -1, 2, -2, inf with
#: its products rescaled): the numerator 5 is unavoidable, so the named set ``rational`` (|p| <= 2)
#: cannot express any rank-6 F(4,3) scheme at these points.
F43_SET = "0,1,-1,2,-2,4,-4,5,-5,1/2,-1/2,1/3,-1/3,2/3,-2/3,1/4,-1/4,5/4,-5/4,1/5,-1/5"

# (problem, rank, engine, coefficients, restarts, batch, time limit s, extra options)
ROUTE_ROWS = [
    ("2x2x2", 7, "spn", "ternary", 128, 16, 300, {"loss": "samples", "quantizer": "ste"}),  # the paper's baseline
    ("2x3x3", 15, "spn", "ternary", 128, 32, 600, {}),
    ("2x3x3", 15, "spn", "ternary", 128, 32, 300, {"repair": "none"}),
    ("3x3x3", 23, "spn", "ternary", 64, 32, 600, {}),
    ("3x3x3", 23, "spn", "ternary", 64, 32, 300, {"repair": "none"}),
    ("F(2,3)", 4, "spn", "rational", 64, 32, 60, {}),
    ("F(4,3)", 6, "spn", F43_SET, 256, 64, 60, {"steps": 8000}),
    ("F(2x2,3x3)", 16, "spn", "dyadic", 64, 16, 300, {}),
    ("2x2x4", 14, "spn", "ternary", 64, 32, 600, {}),
    ("2x3x4", 20, "spn", "ternary", 64, 32, 600, {}),
    ("2x4x4", 26, "spn", "ternary", 32, 16, 600, {}),
    ("3x3x4", 29, "spn", "ternary", 32, 16, 600, {}),
    ("3x4x4", 38, "spn", "ternary", 32, 16, 600, {}),
    ("3x3x3", 23, "lm", "ternary", None, None, 600, {}),
]


def measure_route(spec, rank, engine, coefficients, restarts, batch, time_limit, extra, seed=0):
    from discovery.search import search
    from discovery.core.problems import Correlation

    problem = parse_problem(spec)
    options = {"coefficients": coefficients, **extra}
    if engine == "spn":
        options.update(restarts=restarts, batch=batch)
    t0 = time.perf_counter()
    result = search(problem, rank, engine, options=options, seed=seed, time_limit=time_limit,
                    max_schemes=10 ** 6 if engine == "spn" else None)
    wall = time.perf_counter() - t0
    st = result.stats
    done = result.restarts
    rounded = st.get("exact_rounded", 0)
    refined = st.get("exact_refined", 0)
    if engine == "lm":  # lm's tally: restarts and refined near misses
        refined = sum(1 for s in result.schemes if s.meta.get("provenance", {}).get("refined"))
        rounded = result.exact - refined
    exact = rounded + refined
    points = None
    if result.schemes and isinstance(problem, Correlation):
        from discovery.winograd.cooktoom import identify

        points = identify(result.schemes[0]).get("points")
    label = coefficients if len(coefficients) < 20 else f"{len(coefficients.split(','))} rationals"
    if "quantizer" in extra:
        label += f", {extra['quantizer']} ({extra.get('loss', 'tensor')} loss)"
    if engine == "spn":
        label += ", CP-SAT only" if extra.get("repair") == "none" else ", CP-SAT + flip repair"
    return {
        "problem": spec, "rank": rank, "engine": engine, "coefficients": label, "restarts": done,
        "exact_rounded": rounded, "exact_refined": refined, "wrong": done - exact,
        "rate": exact / done if done else 0.0, "distinct": len(result.schemes),
        "first_exact_s": result.first_exact_seconds, "wall_s": wall,
        "s_per_exact": wall / exact if exact else None, "time_limit": time_limit,
        "time_limit_hit": bool(st.get("time_limit_hit")), "points": points,
    }


def format_route(r) -> str:
    first = f"{r['first_exact_s']:.1f}" if r["first_exact_s"] is not None else "-"
    per = f"{r['s_per_exact']:.1f}" if r["s_per_exact"] is not None else "-"
    pts = ", ".join(r["points"]) if r["points"] else "-"
    return (f"| {r['problem']} | {r['rank']} | {r['engine']} | {r['coefficients']} | {r['restarts']} | "
            f"{r['exact_rounded']} | {r['exact_refined']} | {r['wrong']} | {100 * r['rate']:.0f}% | "
            f"{r['distinct']} | {first} | {r['wall_s']:.1f} | {per} | {pts} |")


ROUTE_HEADER = ("| problem | rank | engine | coefficients | restarts | exact rounded | exact refined | wrong | "
                "exact rate | distinct | first exact (s) | wall (s) | wall s / exact | points |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def measure(spec, rank, coefficients, loss, label, restarts, batch, extra, seed=0, time_limit=None):
    problem = parse_problem(spec)
    quantizer = label.split("+")[0]
    per_restart, exact, distinct, first, elapsed, steps = [], 0, set(), None, 0.0, None
    best_wrong = []
    for start in range(0, restarts, batch):
        n = min(batch, restarts - start)
        t0 = time.perf_counter()
        result = spn.run(problem, rank, seed=seed, restarts=n, batch=n, first_restart=start, loss=loss.split("-")[0],
                         quantizer=quantizer, coefficients=coefficients, **extra)
        dt = time.perf_counter() - t0
        per_restart.append(dt / n)
        exact += result.exact
        distinct |= {s.fingerprint() for s in result.schemes}
        if first is None and result.first_exact_seconds is not None:
            first = elapsed + result.first_exact_seconds
        best_wrong += [m.wrong for m in result.near_misses]
        elapsed += dt
        steps = result.options["steps"]
        if time_limit is not None and elapsed > time_limit:
            restarts = start + n
            break
    return {
        "problem": spec, "rank": rank, "coefficients": coefficients, "loss": loss, "quantizer": label,
        "restarts": restarts, "exact": exact, "success": exact / restarts, "distinct": len(distinct),
        "median_s_per_restart": statistics.median(per_restart), "first_exact_s": first,
        "wall_s": elapsed, "steps": steps, "best_near_miss": min(best_wrong) if best_wrong else None,
    }


def format_row(r) -> str:
    first = f"{r['first_exact_s']:.2f}" if r["first_exact_s"] is not None else "-"
    return (f"| {r['problem']} | {r['rank']} | {r['coefficients']} | {r['loss']} | {r['quantizer']} | "
            f"{r['restarts']} | {r['exact']} | {100 * r['success']:.0f}% | {r['distinct']} | "
            f"{r['median_s_per_restart']:.3f} | {first} | {r['wall_s']:.1f} |")


HEADER = ("| problem | rank | coefficients | loss | quantizer | restarts | exact | success | distinct | "
          "median s/restart | first exact (s) | wall (s) |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="run only rows whose problem spec contains this text")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--plot", help="write a success-rate bar plot to this file")
    ap.add_argument("--json", help="write the rows as JSON to this file")
    ap.add_argument("--route", action="store_true", help="the spn + refinement (and lm + refinement) rows")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.route:
        print(f"spn + CP-SAT refinement route, seed {args.seed}, torch {torch.__version__}", flush=True)
        print(ROUTE_HEADER, flush=True)
        measured = []
        for row in ROUTE_ROWS:
            if args.only and args.only not in row[0]:
                continue
            r = measure_route(*row, seed=args.seed)
            measured.append(r)
            print(format_route(r), flush=True)
            if args.json:  # after every row: a long run interrupted keeps what it measured
                Path(args.json).write_text(json.dumps(measured, indent=2) + "\n")
        return 0
    rows = [r for r in ROWS if not args.only or args.only in r[0]]
    print(f"spn engine benchmark, seed {args.seed}, torch {torch.__version__}, {args.threads} thread(s), "
          f"device {'cuda' if torch.cuda.is_available() else 'cpu'}")
    print(HEADER, flush=True)
    measured = []
    for spec, rank, coeffs, loss, label, restarts, batch, extra in rows:
        r = measure(spec, rank, coeffs, loss, label, restarts, batch, extra, seed=args.seed)
        measured.append(r)
        print(format_row(r), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(measured, indent=2) + "\n")
    if args.plot:
        from discovery.cli.plots import plot_success

        plot_success([dict(r, label=f"{r['problem']} r{r['rank']} {r['coefficients']} {r['loss']} {r['quantizer']}")
                      for r in measured],
                     args.plot)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
