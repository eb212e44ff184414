"""``bilinear engines``: the search engines and their options."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from discovery.cli.common import out
from discovery.search import ENGINES

NAME = "engines"
HELP = "list the search engines and their options"


def add_arguments(p) -> None:
    p.add_argument("name", nargs="?", choices=list(ENGINES), help="show one engine only")


def run(args) -> int:
    for name, eng in ENGINES.items():
        if args.name and name != args.name:
            continue
        table = Table(title=Text(f"{name}: {eng.summary}"), title_justify="left", show_lines=False)
        table.add_column("option", no_wrap=True)
        table.add_column("type", overflow="fold")
        table.add_column("default", overflow="fold")
        table.add_column("meaning", overflow="fold")
        for spec in eng.options.specs():
            if not spec.cli:
                continue
            kind = spec.kind if not spec.choices else "|".join(str(c) for c in spec.choices)
            if spec.optional and spec.kind != "bool":
                kind += " or none"
            table.add_row(*(Text(c) for c in (spec.flag, kind, spec.describe_default(), spec.help)))
        out.print(table)
    return 0
