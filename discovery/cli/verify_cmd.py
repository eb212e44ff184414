"""``bilinear verify FILE|DIR... [--symbolic] [--numeric]``.

Exit 0 when every file is exact, 1 when any is wrong, 2 when any cannot be
read (missing, malformed, too large, not a regular file).  Inside folders,
anything that is not a regular file is skipped with a warning.
"""

from __future__ import annotations

from pathlib import Path

from discovery.io.catalog import iter_files
from discovery.cli.common import say, tell, warn
from discovery.core.errors import InvalidInputError, SchemeFormatError
from discovery.io.formats import load_scheme

NAME = "verify"
HELP = "verify scheme files exactly (and symbolically); exit 0 all exact, 1 any wrong, 2 bad input"


def add_arguments(p) -> None:
    p.add_argument("paths", nargs="+", metavar="FILE|DIR", help="scheme files or folders of them")
    p.add_argument("--symbolic", action="store_true", help="also verify symbolically with sympy")
    p.add_argument("--numeric", action="store_true",
                   help="also run the numeric level: an identity test on random integer inputs, and the "
                        "float64/float32/float16 error next to the standard algorithm's")


def run(args) -> int:
    from verify import verify_exact, verify_numeric, verify_symbolic

    files: list[Path] = []
    bad = 0
    for raw in args.paths:
        p = Path(raw)
        if p.is_dir():
            skipped: list = []
            found = list(iter_files(p, skipped))
            for path, reason in skipped:
                warn(f"{path}: {reason}; skipped")
                bad += reason.startswith("cannot read")
            if not found and not skipped:
                raise SchemeFormatError(f"{p}: no scheme files (*.json) in this folder")
            files.extend(found)
        else:
            files.append(p)
    wrong = exact = 0
    for path in files:
        try:
            scheme = load_scheme(path)
            checks = [verify_exact(scheme)]
            if args.symbolic and checks[-1].ok:
                checks.append(verify_symbolic(scheme))
            if args.numeric and checks[-1].ok:
                checks += [verify_numeric(scheme, dt) for dt in ("float64", "float32", "float16")]
        except InvalidInputError as exc:
            tell(f"ERROR {exc}" if str(path) in str(exc) else f"ERROR {path}: {exc}")
            bad += 1
            continue
        failed = next((c for c in checks if not c.ok), None)
        what = f"{scheme.problem.spec} rank {scheme.rank} over {scheme.field}"
        if failed is not None:
            wrong += 1
            say(f"WRONG {path}: {what}: {failed.reason}")
            continue
        levels = "+".join(dict.fromkeys(c.level for c in checks))
        extra = "".join(f"; {c.reason}" for c in checks if c.level == "numeric")
        say(f"OK    {path}: {what} ({levels}){extra}")
        exact += 1
    if len(files) > 1 or bad:
        say(f"{exact} exact, {wrong} wrong, {bad} unreadable")
    return 2 if bad else 1 if wrong else 0
