"""``bilinear refine FILE [--domain D] [--time-limit S] [--out DIR] [--seed N]``."""

from __future__ import annotations

from pathlib import Path

from discovery.cli.common import allow_negative_values, non_negative_int, positive_float, problem_arg, progress_bar, say
from discovery.core.errors import InvalidInputError
from discovery.io.formats import load_scheme

NAME = "refine"
HELP = "refine a (possibly wrong) scheme file to an exact one with CP-SAT; exit 0 exact, 1 not found, 2 bad input"


def domain_arg(text: str):
    """A domain name (ternary, int2, dyadic) or comma-separated values."""
    from solvers.brent import as_domain

    text = text.strip()
    if text in ("ternary", "int2", "dyadic"):
        return as_domain(text)
    values = [v for v in text.split(",") if v.strip()]
    return as_domain(values)


def add_arguments(p) -> None:
    allow_negative_values(p)  # --domain -1,0,1,2 is a value, not an option
    p.add_argument("file", metavar="FILE", help="a bilinear-scheme/1 JSON file (may be wrong)")
    p.add_argument("--domain", default="ternary", metavar="D",
                   help="coefficient domain: ternary (default), int2, dyadic, or values like -1,0,1,2 "
                        "(both --domain -1,0,1,2 and --domain=-1,0,1,2 work)")
    p.add_argument("--time-limit", type=positive_float, default=60.0, metavar="S", help="budget in seconds (60)")
    p.add_argument("--out", metavar="DIR", default=None, help="catalog folder to save into (default results/)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (0)")
    p.add_argument("--problem", type=problem_arg, default=None, metavar="SPEC",
                   help="refuse a file whose scheme is for another problem")
    p.add_argument("--no-save", action="store_true", help="do not save the exact scheme")


def run(args) -> int:
    from discovery.io.catalog import save
    from solvers.refine import refine

    dom = domain_arg(args.domain)
    scheme = load_scheme(args.file)
    if args.problem is not None and scheme.problem != args.problem:
        raise InvalidInputError(
            f"{args.file}: scheme is for {scheme.problem.kind} {scheme.problem.spec}, not {args.problem.spec}")
    if not args.no_save and args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise InvalidInputError(f"--out {args.out}: not a directory")  # before the solve, not after it
    if scheme.field == "F2":
        raise InvalidInputError(f"{args.file}: an F2 scheme; use `bilinear lift` to lift it to Z")
    with progress_bar("refine", enabled=True) as callback:
        res = refine(scheme, domain=dom, time_limit=args.time_limit, seed=args.seed, callback=callback)
    what = f"{scheme.problem.spec} rank {scheme.rank}"
    if not res.exact:
        say(f"NOT FOUND {what}: {res.wrong_before} wrong entries, no exact scheme over {dom.label()} "
            f"in {res.seconds:.1f}s ({res.rounds} rounds; nothing proved)")
        return 1
    how = res.scheme.meta.get("provenance", {}).get("refined", {}).get("method", "already exact")
    line = f"EXACT {what} over {res.scheme.field} ({res.wrong_before} wrong entries fixed by {how}, {res.seconds:.1f}s)"
    if not args.no_save:
        line += f" -> {save(res.scheme, root=args.out)}"
    say(line)
    return 0
