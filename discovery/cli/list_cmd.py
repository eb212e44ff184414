"""``bilinear list``: the catalog as a table (derived from the files)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from discovery.io.catalog import default_root, index
from discovery.cli.common import out
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
    root = args.root or default_root()
    if args.distinct:
        from discovery.cli.classes_view import print_classes

        return print_classes(root, args.kind)
    rows = [e for e in index(root) if args.kind is None or e.kind == args.kind]
    table = Table(title=f"catalog {root}: {len(rows)} schemes")
    for col in ("problem", "kind", "field", "rank", "mults", "adds", "engine", "file"):
        table.add_column(col, justify="right" if col in ("rank", "mults", "adds") else "left")
    for e in rows:
        if e.error:
            table.add_row("?", "?", "?", "", "", "", "", f"{e.path} (unreadable: {e.error})")
        else:
            table.add_row(e.problem, e.kind, e.field, str(e.rank), str(e.multiplications),
                          str(e.additions), e.engine, _rel(e.path, root))
    out.print(table)
    return 0


def _rel(path, root) -> str:
    from pathlib import Path

    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)
