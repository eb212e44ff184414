"""``bilinear lift FILE [--time-limit S] [--out DIR]``."""

from __future__ import annotations

from pathlib import Path

from discovery.cli.common import non_negative_int, out, positive_float, progress_bar
from discovery.io.formats import load_scheme

NAME = "lift"
HELP = "lift an F2 scheme (or the mod-2 image of a Z scheme) to Z; exit 0 lifted, 1 not lifted, 2 bad input"


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", help="a bilinear-scheme/1 JSON file over F2 (Z/Q: its mod-2 image)")
    p.add_argument("--time-limit", type=positive_float, default=30.0, metavar="S", help="budget in seconds (30)")
    p.add_argument("--out", metavar="DIR", default=None, help="catalog folder to save into (default results/)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (0)")
    p.add_argument("--no-save", action="store_true", help="do not save the lifted scheme")


def run(args) -> int:
    from discovery.io.catalog import save
    from solvers.lifting import lift, mod2_image

    scheme = load_scheme(args.file)
    from discovery.core.errors import InvalidInputError
    from verify import verify_exact

    if not args.no_save and args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise InvalidInputError(f"--out {args.out}: not a directory")  # before the solve, not after it
    try:
        image = scheme if scheme.field == "F2" else mod2_image(scheme)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{args.file}: {exc}") from None
    check = verify_exact(image)
    if not check.ok:
        what = "the scheme" if scheme.field == "F2" else "the mod-2 image of the scheme"
        raise InvalidInputError(f"{args.file}: {what} is not exact mod 2: {check.reason}")
    with progress_bar("lift", enabled=True) as callback:
        res = lift(image, time_limit=args.time_limit, seed=args.seed, callback=callback)
    what = f"{scheme.problem.spec} rank {scheme.rank}" + ("" if scheme.field == "F2" else " (mod-2 image)")
    if not res.lifted:
        out.print(f"NOT LIFTED {what}: {res.summary()}", markup=False)
        return 1
    line = f"LIFTED {what}: {res.summary()}"
    if not args.no_save:
        line += f" -> {save(res.scheme, root=args.out)}"
    out.print(line, markup=False)
    return 0
