"""``bilinear import FILE --format alphatensor [--field Z|Q|F2] --out DIR``."""

from __future__ import annotations

from discovery.io import catalog
from discovery.cli.common import err, out
from discovery.io.formats import load_alphatensor, load_json

NAME = "import"
HELP = "import schemes from another format into a catalog folder (each is verified first)"


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=["alphatensor", "json"], default="alphatensor")
    p.add_argument("--field", choices=["Z", "Q", "F2"], default=None,
                   help="field of the imported schemes (default: Z if integral, else Q)")
    p.add_argument("--out", required=True, metavar="DIR", help="catalog folder to write into")
    p.add_argument("--no-symbolic", action="store_true", help="skip the symbolic check (exact check still runs)")


def run(args) -> int:
    from verify import verify_exact

    if args.format == "alphatensor":
        schemes = load_alphatensor(args.file, field=args.field)
    else:
        schemes = [load_json(args.file)]
    wrong = 0
    for s in schemes:
        check = verify_exact(s)
        if not check.ok:
            wrong += 1
            err.print(f"WRONG {s.problem.spec} rank {s.rank}: {check.reason} (not imported)", markup=False)
            continue
        path = catalog.save(s, args.out, symbolic=not args.no_symbolic)
        out.print(f"saved {s.problem.spec} rank {s.rank} over {s.field}: {path}", markup=False)
    return 1 if wrong else 0
