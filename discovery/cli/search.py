"""``bilinear search PROBLEM --rank R``: run a search engine, save what it finds.

Every engine of :data:`discovery.search.ENGINES` runs through this command
via :func:`discovery.search.search`, which verifies, deduplicates and saves
each scheme the moment it is found.  The engine flags are built from the
engines' declared options (:mod:`discovery.cli.engine_flags`); a flag the
chosen engine does not take is an error.

Exit status: 0 when at least one exact scheme was found, 1 when none was
found within the budget (or the rank was proved infeasible), 2 on bad input.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from discovery.cli.common import (
    non_negative_int,
    out,
    positive_float,
    positive_int,
    problem_arg,
    progress_bar,
    report_path,
    silence_stdout,
    warn,
)
from discovery.cli.engine_flags import add_engine_flags, engine_options, given_options
from discovery.core.errors import InvalidInputError
from discovery.core.scheme import Scheme
from discovery.engines.flip import START_KEYWORDS
from discovery.io.formats import atomic_write_bytes, load_scheme
from discovery.search import ENGINES, get_engine, search

NAME = "search"
HELP = "search exact schemes of a problem with a given number of multiplications"


def add_arguments(p) -> None:
    p.add_argument("problem", metavar="PROBLEM", type=problem_arg,
                   help="e.g. 2x2x2, 'F(2,3)', 'F(2x2,3x3)', 'poly(2,3)'")
    p.add_argument("--rank", "-r", type=positive_int, required=True, help="number of multiplications R")
    p.add_argument("--engine", "-e", choices=list(ENGINES), default="spn",
                   help="search engine (default spn; `bilinear engines` lists them)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--time-limit", type=positive_float, metavar="SEC", help="wall-clock budget in seconds")
    p.add_argument("--max-schemes", type=positive_int, metavar="N",
                   help="stop after N distinct schemes (default: the engine's; 1 for cpsat, lm, auto)")
    p.add_argument("--out", metavar="DIR", help="catalog root to save exact schemes in (default results/)")
    p.add_argument("--no-save", action="store_true", help="do not save schemes to the catalog")
    p.add_argument("--report", metavar="FILE", help="write a JSON report of the run to FILE")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_engine_flags(p, ENGINES)


def _start_option(given: dict, problem) -> dict:
    """``--start FILE`` names a scheme file: load it (the engine takes a Scheme)."""
    start = given.get("start")
    if isinstance(start, str) and start not in START_KEYWORDS:
        scheme = load_scheme(start)
        if not isinstance(scheme, Scheme) or scheme.problem != problem:
            raise InvalidInputError(f"--start {start}: a scheme for {scheme.problem.spec}, not {problem.spec}")
        given = dict(given, start=scheme)
    return given


def run(args) -> int:
    problem = args.problem
    eng = get_engine(args.engine)
    report_file = report_path(args.report) if args.report is not None else None
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise InvalidInputError(f"--out {args.out}: not a directory")
    options = engine_options(eng, _start_option(given_options(args), problem))
    if args.rank > problem.naive_rank:
        warn(f"rank {args.rank} is above the standard algorithm's {problem.naive_rank} multiplications")

    start = time.monotonic()
    total = getattr(options, "restarts", None) if args.engine == "spn" else None
    with progress_bar(f"{args.engine} {problem.spec} rank {args.rank}", total, enabled=not args.quiet) as bar:
        result = search(problem, args.rank, engine=args.engine, options=options, seed=args.seed,
                        time_limit=args.time_limit, callback=bar, max_schemes=args.max_schemes,
                        save=not args.no_save, root=args.out)
    wall = time.monotonic() - start

    found = len(result.schemes)
    if report_file is not None:
        report = {
            "problem": problem.spec,
            "problem_kind": problem.kind,
            "rank": args.rank,
            "engine": args.engine,
            "seed": args.seed,
            "options": result.options,
            "status": result.status,
            "proof": result.proof,
            "restarts": result.restarts,
            "exact": result.exact,
            "distinct": found,
            "rejected": result.rejected,
            "wall_seconds": round(wall, 3),
            "search_seconds": round(result.wall_seconds, 3),
            "first_exact_seconds": None if result.first_exact_seconds is None else round(result.first_exact_seconds, 3),
            "best_loss": result.best_loss,
            "near_misses": [n.wrong for n in result.near_misses],
            "schemes": result.saved,
        }
        for key, value in result.stats.items():  # engine statistics (flips, flips_per_second, ...)
            report.setdefault(key, value)
        atomic_write_bytes(report_file, (json.dumps(report, indent=2, default=str) + "\n").encode())
    try:
        _print_summary(problem, args, result, wall)
    except BrokenPipeError:  # `| head`: the schemes are saved and the report written; say nothing more
        silence_stdout()
    return 0 if found else 1


def _print_summary(problem, args, result, wall: float) -> None:
    found = len(result.schemes)
    line = f"{problem.spec} rank {args.rank} ({args.engine}): {found} exact scheme{'s' if found != 1 else ''}"
    if result.restarts and args.engine in ("spn", "lm"):
        line += (f" from {result.restarts} restart{'s' if result.restarts != 1 else ''}"
                 f" ({result.exact} exact)")
    line += f" in {wall:.1f} s"
    if result.first_exact_seconds is not None:
        line += f", first after {result.first_exact_seconds:.2f} s"
    if result.stats.get("time_limit_hit"):
        line += " (time limit reached: the last batch was cut short)"
    out.print(line, markup=False)
    if result.status == "infeasible":
        out.print(f"proved infeasible: no scheme of this rank exists in the searched domain ({result.proof})",
                  markup=False)
    if result.rejected:
        warn("candidates dropped: " + ", ".join(f"{n} {why}" for why, n in result.rejected.items()))
    for path in result.saved:
        out.print(f"saved: {path}", markup=False)
    if not found and result.near_misses:
        best = result.near_misses[0]
        out.print(f"near misses: {len(result.near_misses)}, best wrong in {best.wrong} tensor "
                  f"entr{'y' if best.wrong == 1 else 'ies'}", markup=False)

