"""``bilinear search PROBLEM --rank R``: run a search engine, save what it finds.

Every engine of :data:`discovery.search.ENGINES` runs through this command
via :func:`discovery.search.search`.  Engine options (``--loss``,
``--quantizer``, ``--coefficients``, ``--restarts``, ``--steps``) are passed
only when the user gives them and the engine's ``run`` accepts them (a named
parameter, or ``**options``); an option the chosen engine does not take is
reported with a warning and not passed.  Exact schemes are saved to the
catalog (``--out``, default ``results/``) with the engine's provenance.

Exit status: 0 when at least one exact scheme was found, 1 when none was
found within the budget, 2 on bad input.
"""

from __future__ import annotations

import datetime
import inspect
import json
import os
import time
from pathlib import Path

from discovery.io import catalog
from discovery.cli.common import out, positive_float, positive_int, non_negative_int, problem_arg, progress_bar, warn
from discovery.core.errors import InvalidInputError
from discovery.search import ENGINES, engine_function, search

NAME = "search"
HELP = "search exact schemes of a problem with a given number of multiplications"

#: CLI option -> engine keyword, for the options passed only when given.
ENGINE_OPTIONS = ("loss", "quantizer", "coefficients", "restarts", "steps", "batch")


def add_arguments(p) -> None:
    p.add_argument("problem", metavar="PROBLEM", type=problem_arg,
                   help="e.g. 2x2x2, 'F(2,3)', 'F(2x2,3x3)', 'poly(2,3)'")
    p.add_argument("--rank", "-r", type=positive_int, required=True, help="number of multiplications R")
    p.add_argument("--engine", "-e", choices=sorted(ENGINES), default="spn", help="search engine (default spn)")
    p.add_argument("--loss", choices=("tensor", "samples"), help="spn: loss (default tensor)")
    p.add_argument("--quantizer", choices=("ste", "anneal", "stochastic"),
                   help="spn: how real weights become exact coefficients (default anneal)")
    p.add_argument("--coefficients", choices=("ternary", "int2", "dyadic"),
                   help="coefficient set (default ternary)")
    p.add_argument("--restarts", type=positive_int, help="random restarts (spn default 32)")
    p.add_argument("--steps", type=positive_int, help="gradient steps per restart (spn default by problem size)")
    p.add_argument("--batch", type=positive_int, help="restarts advanced together (spn default min(restarts, 64))")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--time-limit", type=positive_float, metavar="SEC", help="wall-clock budget in seconds")
    p.add_argument("--out", metavar="DIR", help="catalog root to save exact schemes in (default results/)")
    p.add_argument("--no-save", action="store_true", help="do not save schemes to the catalog")
    p.add_argument("--report", metavar="FILE", help="write a JSON report of the run to FILE")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def engine_options(engine: str, given: dict) -> tuple[dict, list[str]]:
    """Split user-given options into those ``engine`` accepts and those it ignores.

    Examples
    --------
    >>> engine_options("spn", {"loss": "tensor", "restarts": 4})
    ({'loss': 'tensor', 'restarts': 4}, [])
    >>> engine_options("flip", {"loss": "tensor", "coefficients": "ternary"})
    ({'coefficients': 'ternary'}, ['loss'])
    """
    params = inspect.signature(engine_function(engine)).parameters
    named = {k for k, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
    # ``**ignored`` is an engine's way of accepting and dropping other engines' options: not "takes any"
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD and k != "ignored" for k, p in params.items())
    accepted, ignored = {}, []
    for key, value in given.items():
        if takes_any or key in named:
            accepted[key] = value
        else:
            ignored.append(key)
    return accepted, ignored


def _check_report_path(path: str) -> Path:
    report = Path(path)
    parent = report.parent if str(report.parent) else Path(".")
    if report.is_dir():
        raise InvalidInputError(f"--report {path}: is a directory")
    if not parent.is_dir():
        raise InvalidInputError(f"--report {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InvalidInputError(f"--report {path}: folder {parent} is not writable")
    return report


def run(args) -> int:
    problem = args.problem
    report_path = _check_report_path(args.report) if args.report else None
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise InvalidInputError(f"--out {args.out}: not a directory")
    if args.rank > problem.naive_rank:
        warn(f"rank {args.rank} is above the standard algorithm's {problem.naive_rank} multiplications")
    given = {k: getattr(args, k) for k in ENGINE_OPTIONS if getattr(args, k, None) is not None}
    options, ignored = engine_options(args.engine, given)
    for key in ignored:
        warn(f"--{key} is not used by engine {args.engine!r}; ignored")

    start = time.monotonic()
    total = options.get("restarts")
    with progress_bar(f"{args.engine} {problem.spec} rank {args.rank}", total, enabled=not args.quiet) as bar:
        result = search(problem, args.rank, engine=args.engine, seed=args.seed,
                        time_limit=args.time_limit, callback=bar, **options)
    wall = time.monotonic() - start

    paths = []
    if not args.no_save:
        date = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
        for scheme in result.schemes:
            if not isinstance(scheme.meta.get("provenance"), dict):
                scheme = scheme.with_meta(provenance={"engine": args.engine, "seed": args.seed,
                                                      "seconds": round(wall, 3), "date": date, **options})
            paths.append(str(catalog.save(scheme, root=args.out)))

    found = len(result.schemes)
    line = f"{problem.spec} rank {args.rank} ({args.engine}): {found} exact scheme{'s' if found != 1 else ''}"
    if result.restarts:
        line += (f" from {result.restarts} restart{'s' if result.restarts != 1 else ''}"
                 f" ({result.exact} exact)")
    line += f" in {wall:.1f} s"
    if result.first_exact_seconds is not None:
        line += f", first after {result.first_exact_seconds:.2f} s"
    if result.options.get("time_limit_hit"):
        line += " (time limit reached: the last batch was cut short)"
    out.print(line, markup=False)
    if result.status == "infeasible":
        out.print("proved infeasible: no scheme of this rank exists in the searched domain", markup=False)
    for path in paths:
        out.print(f"saved: {path}", markup=False)
    if not found and result.near_misses:
        best = result.near_misses[0]
        out.print(f"near misses: {len(result.near_misses)}, best wrong in {best.wrong} tensor "
                  f"entr{'y' if best.wrong == 1 else 'ies'}", markup=False)

    if report_path is not None:
        report = {
            "problem": problem.spec,
            "problem_kind": problem.kind,
            "rank": args.rank,
            "engine": args.engine,
            "seed": args.seed,
            "options": {k: v for k, v in options.items()},
            "status": result.status,
            "restarts": result.restarts,
            "exact": result.exact,
            "distinct": found,
            "wall_seconds": round(wall, 3),
            "first_exact_seconds": None if result.first_exact_seconds is None else round(result.first_exact_seconds, 3),
            "best_loss": result.best_loss,
            "near_misses": [n.wrong for n in result.near_misses],
            "schemes": paths,
        }
        tmp = report_path.with_name(f".{report_path.name}.tmp")
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        tmp.replace(report_path)
    return 0 if found else 1
