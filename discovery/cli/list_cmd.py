"""``bilinear list``: the catalog as a table (derived from the files).

Files that cannot be read are listed as unreadable rows; anything that is not
a regular file (a FIFO, a device, a dangling link) is skipped with a warning.
Exit 0, or 1 when a folder inside the catalog could not be read (the listing
is incomplete); a root that is missing or unreadable is bad input (2).
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from discovery.io.catalog import default_root, index
from discovery.cli.classes_view import print_classes
from discovery.cli.common import out, safe_text, warn
from discovery.core.errors import InvalidInputError

NAME = "list"
HELP = "list the catalog of verified schemes"


def add_arguments(p) -> None:
    p.add_argument("--root", default=None, help="catalog folder (default: results/)")
    p.add_argument("--kind", default=None, help="only this problem kind (matmul, correlation, ...)")
    p.add_argument("--distinct", action="store_true",
                   help="group schemes into equivalence classes (term order, scalings, change of basis, "
                        "cyclic/transpose symmetries) and count the classes")


def run(args) -> int:
    if args.root is not None and not Path(args.root).is_dir():
        raise InvalidInputError(f"--root {args.root}: not a directory")
    root = Path(args.root) if args.root is not None else default_root()
    if args.distinct:
        return print_classes(root, args.kind)
    skipped: list = []
    rows = [e for e in index(root, skipped) if args.kind is None or e.kind == args.kind]
    incomplete = False
    for path, reason in skipped:
        warn(f"{path}: {reason}; skipped")
        incomplete = incomplete or reason.startswith("cannot read")
    table = Table(title=Text(safe_text(f"catalog {root}: {len(rows)} schemes")))
    for col in ("problem", "kind", "field", "rank", "mults", "adds", "engine", "file"):
        table.add_column(col, justify="right" if col in ("rank", "mults", "adds") else "left")
    for e in rows:
        if e.error:
            cells = ["?", "?", "?", "", "", "", "", f"{e.path} (unreadable: {e.error})"]
        else:
            cells = [e.problem, e.kind, e.field, str(e.rank), str(e.multiplications), str(e.additions), e.engine,
                     _rel(e.path, root)]
        table.add_row(*(Text(safe_text(c)) for c in cells))
    out.print(table)
    return 1 if incomplete else 0


def _rel(path, root) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except (ValueError, OSError):
        return str(path)
