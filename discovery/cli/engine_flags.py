"""Engine options as CLI flags, built from the engines' declarations.

Every option an engine declares (:func:`discovery.engines.base.option`)
becomes a flag ``--name-with-dashes``; ``bilinear search --help`` groups them
by engine with their defaults.  A flag several engines share appears once,
in the group of the first engine that declares it, with the other engines'
defaults in its help.  Flags the user did not give are absent from the
parsed namespace, so each engine keeps its own defaults; the texts given are
converted by the chosen engine's options class, which refuses an option it
does not declare with the same error as the Python API.
"""

from __future__ import annotations

import argparse
from typing import Mapping

from discovery.core.errors import InvalidInputError
from discovery.engines.base import Engine, OptionSpec

__all__ = ["add_engine_flags", "given_options", "engine_options", "DEST_PREFIX"]

#: argparse destinations of engine flags start with this prefix.
DEST_PREFIX = "engine_opt_"


def _help(spec: OptionSpec, others: list[tuple[str, OptionSpec]]) -> str:
    text = spec.help
    if not (spec.default is None and "(default" in spec.help):
        text += f"; default {spec.describe_default()}"
    for name, other in others:
        text += f"; {name}: default {other.describe_default()}"
    return text.replace("%", "%%")


def add_engine_flags(parser: argparse.ArgumentParser, engines: Mapping[str, Engine]) -> None:
    """Add one flag per declared engine option, in one group per engine.

    Examples
    --------
    >>> import argparse
    >>> from discovery.search import ENGINES
    >>> p = argparse.ArgumentParser()
    >>> add_engine_flags(p, ENGINES)
    >>> ns = p.parse_args(["--walks", "64"])
    >>> given_options(ns)
    {'walks': '64'}
    """
    owners: dict[str, list[tuple[str, OptionSpec]]] = {}
    for name, eng in engines.items():
        for spec in eng.options.specs():
            if spec.cli:
                owners.setdefault(spec.name, []).append((name, spec))
    for name, eng in engines.items():
        mine = [s for s in eng.options.specs() if s.cli and owners[s.name][0][0] == name]
        shared = [s.flag for s in eng.options.specs() if s.cli and owners[s.name][0][0] != name]
        description = eng.summary + (f".  Also takes {', '.join(shared)} (see above)." if shared else "")
        group = parser.add_argument_group(f"engine {name}", description)
        for spec in mine:
            others = owners[spec.name][1:]
            kinds = {spec.kind} | {o.kind for _, o in others}
            if "bool" in kinds and len(kinds) > 1:  # pragma: no cover - a declaration bug
                raise TypeError(f"option {spec.name} is a flag in one engine and takes a value in another")
            kwargs = dict(dest=DEST_PREFIX + spec.name, default=argparse.SUPPRESS, help=_help(spec, others))
            if spec.kind == "bool":
                group.add_argument(spec.flag, action=argparse.BooleanOptionalAction, **kwargs)
            else:
                metavar = spec.metavar or ("|".join(str(c) for c in spec.choices) if spec.choices
                                           else spec.kind.upper() if spec.kind != "any" else "VALUE")
                group.add_argument(spec.flag, metavar=metavar, **kwargs)


def given_options(args: argparse.Namespace) -> dict:
    """The engine options the user gave on the command line (texts or booleans)."""
    return {k[len(DEST_PREFIX):]: v for k, v in vars(args).items() if k.startswith(DEST_PREFIX)}


def engine_options(engine: Engine, given: Mapping[str, object]):
    """The chosen engine's options from the given flags (unknown ones refused).

    Raises
    ------
    InvalidInputError
        A flag the engine does not take, or a bad value.
    """
    known = set(engine.options.names())
    unknown = sorted(k for k in given if k not in known)
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        accepted = ", ".join("--" + k.replace("_", "-") for k in engine.options.names()
                             if any(s.name == k and s.cli for s in engine.options.specs())) or "none"
        raise InvalidInputError(f"engine {engine.name!r} does not take {flags}; its options are: {accepted}")
    return engine.options.from_strings(given)
