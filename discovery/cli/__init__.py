"""The ``bilinear`` command line.

Each sub-command is a module of this package with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; :data:`COMMANDS` lists
them in help order.  Bad input of any kind ends with one line on stderr and
exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from discovery.core.errors import BilinearError

#: Sub-command modules, in the order ``bilinear --help`` lists them.
COMMANDS = [
    "search",
    "refine",
    "verify_cmd",
    "show",
    "list_cmd",
    "import_cmd",
    "export_cmd",
    "lift",
    "optimize",
    "wincnn",
    "train_spn",
]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bilinear",
        description="Find, prove and ship fast bilinear algorithms (Strassen-like and Winograd-like).",
    )
    from discovery import __version__

    parser.add_argument("--version", action="version", version=f"bilinear-discovery {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"discovery.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"discovery.cli.{name}":
                continue  # command not shipped in this build
            raise
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(func=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bilinear`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("bilinear: interrupted", file=sys.stderr)
        return 130
    except (BilinearError, ValueError) as exc:
        print(f"bilinear: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"bilinear: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
