"""``bilinear verify FILE|DIR... [--symbolic] [--numeric]``."""

from __future__ import annotations

from pathlib import Path

from discovery.io.catalog import iter_files
from discovery.cli.common import err, out
from discovery.core.errors import SchemeFormatError
from discovery.io.formats import load_scheme

NAME = "verify"
HELP = "verify scheme files exactly (and symbolically); exit 0 all exact, 1 any wrong, 2 bad input"


def add_arguments(p) -> None:
    p.add_argument("paths", nargs="+", metavar="FILE|DIR", help="scheme files or folders of them")
    p.add_argument("--symbolic", action="store_true", help="also verify symbolically with sympy")
    p.add_argument("--numeric", action="store_true", help="also report float64/float32 error")


def run(args) -> int:
    from verify import verify_exact, verify_numeric, verify_symbolic

    files: list[Path] = []
    for raw in args.paths:
        p = Path(raw)
        if p.is_dir():
            found = list(iter_files(p))
            if not found:
                raise SchemeFormatError(f"{p}: no scheme files (*.json) in this folder")
            files.extend(found)
        else:
            files.append(p)
    wrong = bad = 0
    for path in files:
        try:
            scheme = load_scheme(path)
        except SchemeFormatError as exc:
            err.print(f"ERROR {exc}", markup=False)
            bad += 1
            continue
        checks = [verify_exact(scheme)]
        if args.symbolic and checks[-1].ok:
            checks.append(verify_symbolic(scheme))
        failed = next((c for c in checks if not c.ok), None)
        what = f"{scheme.problem.spec} rank {scheme.rank} over {scheme.field}"
        if failed is not None:
            wrong += 1
            out.print(f"WRONG {path}: {what}: {failed.reason}", markup=False)
            continue
        levels = "+".join(c.level for c in checks)
        extra = ""
        if args.numeric:
            extra = "; " + "; ".join(
                verify_numeric(scheme, dt, tolerance=float("inf")).reason for dt in ("float64", "float32")
            )
        out.print(f"OK    {path}: {what} ({levels}){extra}", markup=False)
    if len(files) > 1:
        out.print(f"{len(files) - wrong - bad} exact, {wrong} wrong, {bad} unreadable", markup=False)
    return 2 if bad else 1 if wrong else 0
