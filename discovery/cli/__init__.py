"""The ``bilinear`` command line.

Each sub-command is a module of this package with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; :data:`COMMANDS` lists
them in help order.

Exit codes, the same for every command:

* 0 -- done (all exact, found, lifted, ...);
* 1 -- a negative result: a wrong scheme, nothing found in the budget, not lifted;
* 2 -- invalid input (:class:`~discovery.core.errors.InvalidInputError` and its
  family, argparse errors, files that cannot be read or written): one line on
  stderr, never a traceback;
* 3 -- an internal error (a bug): one line saying so and how to report it;
  ``bilinear --debug ...`` prints the traceback as well;
* 130 -- interrupted; 141 -- the reader of stdout went away (``| head``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from typing import Sequence

from discovery.cli.common import silence_stdout
from discovery.core.version import __version__
from discovery.core.errors import InfeasibleError, InvalidInputError, NotExactError, NotFoundError

#: Sub-commands -> their modules, in the order ``bilinear --help`` lists them.  A module has
#: ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; it is imported only
#: when its command runs (or ``--help`` lists it), so that ``bilinear show`` does not load torch.
COMMANDS = {
    "search": "search",
    "engines": "engines_cmd",
    "refine": "refine",
    "verify": "verify_cmd",
    "show": "show",
    "list": "list_cmd",
    "import": "import_cmd",
    "export": "export_cmd",
    "optimize": "optimize",
    "compare": "compare_cmd",
    "campaign": "campaign_cmd",
    "lift": "lift",
    "wincnn": "wincnn",
    "train-spn": "train_spn",
}


#: Exit codes (see the module docstring).
EXIT_OK, EXIT_NEGATIVE, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3

REPORT = ("this is a bug in bilinear-discovery; please report it with the command line and the "
          "traceback that `bilinear --debug ...` prints")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def _module(name: str):
    return importlib.import_module(f"discovery.cli.{COMMANDS[name]}")


def build_parser(command: str | None = None, *, everything: bool = False) -> argparse.ArgumentParser:
    """The parser; only ``command``'s own arguments are built (every command's with ``everything``)."""
    parser = _Parser(
        prog="bilinear",
        description="Find, prove and ship fast bilinear algorithms (Strassen-like and Winograd-like).",
        epilog="exit codes: 0 done, 1 negative result (wrong, not found), 2 invalid input, 3 internal error",
    )
    parser.add_argument("--version", action="version", version=f"bilinear-discovery {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an internal error, print the traceback (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        if not everything and name != command:
            sub.add_parser(name, help=_HELP.get(name), add_help=False)  # listed, not built
            continue
        mod = _module(name)
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(func=mod.run)
    return parser


#: One line per command for ``bilinear --help`` (checked against the modules by the tests).
_HELP = {
    "search": "search exact schemes of a problem with a given number of multiplications",
    "engines": "list the search engines and their options",
    "refine": "refine a (possibly wrong) scheme file to an exact one with CP-SAT; exit 0 exact, 1 not found, 2 bad input",
    "verify": "verify scheme files exactly (and symbolically); exit 0 all exact, 1 any wrong, 2 bad input",
    "show": "print a scheme as formulas (products, then outputs) with its costs; exit 1 if it is not exact",
    "list": "list the catalog of verified schemes",
    "import": "import schemes from another format into a catalog folder (each is verified exactly first)",
    "optimize": "find the equivalent scheme (same problem and rank, exactly verified) with the fewest additions and save it with its straight-line program; exit 0 saved, 2 bad input",
    "compare": "decide whether two schemes are equivalent (exit 0) or not (1); print the transformation",
    "campaign": "run a campaign of searches from a TOML spec, on all cores or a Dask cluster; safe to stop and resume",
    "export": "write a scheme in another format (alphatensor .npz, json)",
    "lift": "lift an F2 scheme (or the mod-2 image of a Z scheme) to Z; exit 0 lifted, 1 not lifted, 2 bad input",
    "wincnn": "build a Winograd F(m,r) algorithm from Cook-Toom points (verified; Aᵀ, G, Bᵀ; costs)",
    "train-spn": "train StrassenNets (SPN) models at several multiplication budgets: digits CNN or character LSTM",
}


def _split_debug(argv: list[str]) -> tuple[list[str], bool]:
    """``--debug`` anywhere before a ``--`` separator."""
    if "--" in argv:
        cut = argv.index("--")
        head, tail = argv[:cut], argv[cut:]
    else:
        head, tail = argv, []
    return [a for a in head if a != "--debug"] + tail, "--debug" in head


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bilinear`` console script; returns the exit code.

    Usage errors found by argparse raise ``SystemExit(2)`` after one line on
    stderr (``--help`` and ``--version``: ``SystemExit(0)``), as argparse does.
    """
    argv, debug = _split_debug(list(sys.argv[1:] if argv is None else argv))
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)  # usage errors: one line and SystemExit(2); --help, --version: SystemExit(0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_INVALID
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        _say("bilinear: interrupted")
        return 130
    except BrokenPipeError:
        silence_stdout()
        return 141
    except InvalidInputError as exc:
        _say(f"bilinear: error: {_one_line(exc)}")
        return EXIT_INVALID
    except (NotExactError, InfeasibleError, NotFoundError) as exc:
        _say(f"bilinear: {_one_line(exc)}")
        return EXIT_NEGATIVE
    except OSError as exc:  # the file system, not a bug: a path that cannot be read or written
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _say(f"bilinear: error: {_one_line(where + (exc.strerror or str(exc)))}")
        return EXIT_INVALID
    except Exception as exc:  # everything else is a bug, ours
        return _internal(exc, debug)


def _internal(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    _say(f"bilinear: internal error: {type(exc).__name__}: {_one_line(exc)} ({REPORT})")
    return EXIT_INTERNAL


def _say(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _one_line(exc: BaseException | str) -> str:
    from discovery.cli.common import safe_text

    text = str(exc).strip() or type(exc).__name__
    text = " ".join(text.split())
    if len(text) > 2000:
        text = text[:2000] + " ..."
    return safe_text(text)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
