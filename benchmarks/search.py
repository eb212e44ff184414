"""How often and how fast the gradient (spn) engine finds exact schemes.

Prints one row per (problem, rank, coefficients, loss, quantizer): restarts,
exact restarts, success rate, distinct schemes, median seconds per restart,
seconds to the first exact scheme and wall time -- all measured in this run
on this machine.  Restarts run in batches (one batched torch computation
each); seconds per restart is a batch's wall time divided by its size.

    .venv/bin/python benchmarks/search.py                  # all rows (~4 min on 2 idle cores)
    .venv/bin/python benchmarks/search.py --only 2x2x2     # rows whose problem matches
    .venv/bin/python benchmarks/search.py --plot success.png --json rows.json

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
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
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
