"""``bilinear import FILE|DIR --format auto|perminov|perminov-txt|exp|maple|alphatensor|json
[--field Z|Q|F2] --out DIR [--symbolic]``.

Every scheme is checked exactly (complete: every tensor entry) before it is
written; ``--symbolic`` adds the sympy check, which for schemes of rank ~1000
takes seconds each.  A folder, and the community formats, go through
:mod:`discovery.cli.import_many` (progress bar, orientations decided by the
Brent equations).  Exit 0 when all were imported, 1 when any was wrong (not
imported), 2 on bad input or when a scheme could not be saved.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from discovery.cli.common import say, tell
from discovery.cli.import_many import run_import
from discovery.core.errors import CatalogError, NotExactError
from discovery.io import catalog
from discovery.io.community import FORMATS as COMMUNITY_FORMATS
from discovery.io.formats import load_alphatensor, load_json

NAME = "import"
HELP = "import schemes from another format into a catalog folder (each is verified exactly first)"


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE|DIR", help="a scheme file, or a folder of them (imported recursively)")
    p.add_argument("--format", choices=["auto", *COMMUNITY_FORMATS], default="auto",
                   help="file format (default auto: from the extension and content)")
    p.add_argument("--field", choices=["Z", "Q", "F2"], default=None,
                   help="field of the imported schemes (default: Z if integral, else Q)")
    p.add_argument("--out", required=True, metavar="DIR", help="catalog folder to write into")
    p.add_argument("--symbolic", action="store_true",
                   help="also verify each scheme symbolically with sympy (the exact check always runs)")
    p.add_argument("--no-symbolic", action="store_true", help=argparse.SUPPRESS)  # the old default, kept


def run(args) -> int:
    if args.format not in ("alphatensor", "json") or Path(args.file).is_dir():
        return run_import(args)
    if args.format == "alphatensor":
        schemes = load_alphatensor(args.file, field=args.field)
    else:
        schemes = [load_json(args.file)]
    wrong = failed = 0
    for s in schemes:
        what = f"{s.problem.spec} rank {s.rank} over {s.field}"
        try:
            path = catalog.save(s, args.out, symbolic=args.symbolic)
        except NotExactError as exc:
            wrong += 1
            tell(f"WRONG {what}: {str(exc).removeprefix('not saved: ')} (not imported)")
            continue
        except CatalogError as exc:
            failed += 1
            tell(f"NOT SAVED {what}: {exc}")
            continue
        say(f"saved {what}: {path}")
    return 2 if failed else 1 if wrong else 0
