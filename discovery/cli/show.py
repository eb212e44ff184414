"""``bilinear show FILE``: the algorithm as formulas, with its costs.

The scheme is checked exactly first: a wrong scheme is shown (to be fixed,
e.g. with ``bilinear refine``) under a ``NOT EXACT`` line, with a warning on
stderr and exit code 1.  Text from the file (provenance) is printed with its
control and escape characters made visible.
"""

from __future__ import annotations

from discovery.cli.common import safe_text, say, warn
from discovery.cli.plots import add_plot_argument, plot_section
from discovery.cli.sections import costs_section, winograd_section
from discovery.io.formats import load_scheme
from discovery.codegen.formulas import format_scheme

NAME = "show"
HELP = "print a scheme as formulas (products, then outputs) with its costs; exit 1 if it is not exact"

#: The sections printed after the header: functions (scheme, args) -> list of lines.
SECTIONS = [costs_section, plot_section, winograd_section]
#: Extra arguments the sections need: functions (parser) -> None.
ARGUMENTS = [add_plot_argument]


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", help="a bilinear-scheme/1 JSON file")
    for add in ARGUMENTS:
        add(p)


def _value(v, width: int = 200) -> str:
    text = safe_text(v if isinstance(v, str) else repr(v) if not isinstance(v, (int, float)) else str(v))
    return text if len(text) <= width else text[:width] + " ..."


def describe(scheme, check=None) -> list[str]:
    """Header lines: problem, field, rank, costs, coefficients, verification, provenance."""
    p = scheme.problem
    nx, ny, nz = p.shape
    values = scheme.coefficient_set
    shown = ", ".join(_value(c, 40) for c in values[:24]) + (f", ... ({len(values)} values)" if len(values) > 24 else "")
    lines = [
        f"problem: {p.kind} {p.spec}   x: {nx}, y: {ny}, z: {nz} entries",
        f"field: {scheme.field}   rank: {scheme.rank} multiplications (standard algorithm: {p.naive_rank})",
        f"additions (naive): {scheme.additions}   scalar multiplications: {scheme.scalar_multiplications}",
        "coefficients: {" + shown + "}",
    ]
    if check is not None:
        lines.append(f"verified: {check.level}" if check.ok else f"NOT EXACT: {check.reason}")
    prov = scheme.meta.get("provenance")
    if isinstance(prov, dict) and prov:
        lines.append("provenance: " + ", ".join(f"{_value(k, 60)}={_value(v)}" for k, v in prov.items()))
    return lines


def run(args) -> int:
    from verify import verify_exact

    scheme = load_scheme(args.file)
    check = verify_exact(scheme)
    if not check.ok:
        warn(f"{args.file}: the scheme is NOT exact ({check.reason})")
    for line in describe(scheme, check):
        say(line)
    for section in SECTIONS:
        try:
            lines = section(scheme, args)
        except OverflowError:  # a section that measures in floating point
            lines = [f"{section.__name__.replace('_section', '')}: not measurable in floating point "
                     "(coefficients beyond its range)"]
        for line in lines:
            say(line)
    say("")
    say(format_scheme(scheme))
    return 0 if check.ok else 1
