"""``bilinear list --distinct``: the catalog's equivalence classes as a table."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from discovery.cli.common import err, out
from discovery.io.classes import class_index, count_classes

__all__ = ["print_classes"]


def print_classes(root, kind=None) -> int:
    """Print one row per scheme with its class, and the number of classes."""
    with err.status("classifying the catalog (invariants, then exact decisions)..."):
        rows = class_index(root)
    if kind is not None:
        rows = [r for r in rows if _kind(r.path, root) == kind]
    table = Table(title=f"catalog {root}: {len(rows)} schemes in {count_classes(rows)} classes")
    for col in ("class", "problem", "field", "rank", "status", "engine", "file"):
        table.add_column(col, justify="right" if col in ("class", "rank") else "left")
    for r in sorted(rows, key=lambda r: (r.problem, r.field, r.rank, r.cls, r.date, str(r.path))):
        status = r.status
        if r.status == "equivalent":
            status = f"= {_rel(r.representative, root)}"
        table.add_row(str(r.cls), r.problem, r.field, str(r.rank), status, r.engine, _rel(r.path, root))
    out.print(table)
    undecided = sum(r.status == "undecided" for r in rows)
    line = f"{len(rows)} schemes, {count_classes(rows)} classes"
    if undecided:
        line += f" ({undecided} share invariants with another class but were not decided; counted apart)"
    out.print(line, markup=False)
    return 0


def _kind(path, root) -> str:
    name = Path(path).resolve().relative_to(Path(root).resolve()).parts[0]
    return name.split("-", 1)[0]


def _rel(path, root) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)
