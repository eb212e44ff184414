"""``bilinear import FILE|DIR --format auto|perminov|perminov-txt|exp|maple|alphatensor|json
[--field Z|Q|F2] --out DIR``."""

from __future__ import annotations

from pathlib import Path

from discovery.io import catalog
from discovery.cli.common import err, out
from discovery.io.formats import load_alphatensor, load_json
from discovery.io.community import FORMATS as COMMUNITY_FORMATS

NAME = "import"
HELP = "import schemes from another format into a catalog folder (each is verified first)"


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE|DIR", help="a scheme file, or a folder of them (imported recursively)")
    p.add_argument("--format", choices=["auto", *COMMUNITY_FORMATS], default="auto",
                   help="file format (default auto: from the extension and content)")
    p.add_argument("--field", choices=["Z", "Q", "F2"], default=None,
                   help="field of the imported schemes (default: Z if integral, else Q)")
    p.add_argument("--out", required=True, metavar="DIR", help="catalog folder to write into")
    p.add_argument("--no-symbolic", action="store_true", help="skip the symbolic check (exact check still runs)")


def run(args) -> int:
    from verify import verify_exact

    if args.format not in ("alphatensor", "json") or Path(args.file).is_dir():
        from discovery.cli.import_many import run_import

        return run_import(args)

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
