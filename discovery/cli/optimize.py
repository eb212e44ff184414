"""``bilinear optimize FILE --objective additions [--time-limit S] [--out DIR] [--seed N]``."""

from __future__ import annotations

from pathlib import Path

from discovery.cli.common import non_negative_int, out, positive_float, progress_bar
from discovery.core.errors import InvalidInputError
from discovery.io.formats import load_scheme

NAME = "optimize"
HELP = ("find the equivalent scheme (same problem and rank, exactly verified) with the fewest additions "
        "and save it with its straight-line program; exit 0 saved, 2 bad input")


def add_arguments(p) -> None:
    from discovery.codegen.optimize import OBJECTIVES

    p.add_argument("file", metavar="FILE", help="an exact bilinear-scheme/1 JSON file over Z or Q")
    p.add_argument("--objective", choices=OBJECTIVES, default="additions",
                   help="what to minimise: additions after elimination (default)")
    p.add_argument("--time-limit", type=positive_float, default=60.0, metavar="S", help="budget in seconds (60)")
    p.add_argument("--out", metavar="DIR", default=None, help="catalog folder to save into (default results/)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (0)")
    p.add_argument("--no-basis", action="store_true", help="skip the alternative-basis search")
    p.add_argument("--no-save", action="store_true", help="report only; do not save")


def run(args) -> int:
    from discovery.codegen.optimize import check_optimizable, optimize
    from discovery.io.catalog import save, scheme_path

    if not args.no_save and args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise InvalidInputError(f"--out {args.out}: not a directory")  # before the search, not after it
    scheme = check_optimizable(load_scheme(args.file))
    with progress_bar("optimize", enabled=True) as callback:
        res = optimize(scheme, objective=args.objective, time_limit=args.time_limit, seed=args.seed,
                       callback=callback, basis=not args.no_basis)
    out.print(f"OPTIMIZED {scheme.problem.spec} {res.summary()} [{res.candidates} equivalent schemes, "
              f"{res.seconds:.1f}s]", markup=False)
    if args.no_save:
        return 0
    target = scheme_path(res.scheme, args.out)
    if target.exists():
        out.print(f"the catalog already holds this scheme as {target} and never replaces a file: the program "
                  "is not stored there; give --out DIR to save it elsewhere", markup=False)
        return 0
    out.print(f"saved: {save(res.scheme, root=args.out)}", markup=False)
    return 0
