"""``bilinear show FILE``: the algorithm as formulas, with its costs."""

from __future__ import annotations

from discovery.cli.common import out
from discovery.cli.plots import add_plot_argument, plot_section
from discovery.cli.sections import costs_section, winograd_section
from discovery.io.formats import load_scheme
from discovery.codegen.formulas import format_scheme

NAME = "show"
HELP = "print a scheme as formulas (products, then outputs) with its costs"

#: The sections printed after the header: functions (scheme, args) -> list of lines.
SECTIONS = [costs_section, plot_section, winograd_section]
#: Extra arguments the sections need: functions (parser) -> None.
ARGUMENTS = [add_plot_argument]


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", help="a bilinear-scheme/1 JSON file")
    for add in ARGUMENTS:
        add(p)


def describe(scheme) -> list[str]:
    """Header lines: problem, field, rank, costs, coefficients, provenance."""
    p = scheme.problem
    nx, ny, nz = p.shape
    lines = [
        f"problem: {p.kind} {p.spec}   x: {nx}, y: {ny}, z: {nz} entries",
        f"field: {scheme.field}   rank: {scheme.rank} multiplications (standard algorithm: {p.naive_rank})",
        f"additions (naive): {scheme.additions}   scalar multiplications: {scheme.scalar_multiplications}",
        "coefficients: {" + ", ".join(str(c) for c in scheme.coefficient_set) + "}",
    ]
    prov = scheme.meta.get("provenance")
    if isinstance(prov, dict) and prov:
        lines.append("provenance: " + ", ".join(f"{k}={v}" for k, v in prov.items()))
    return lines


def run(args) -> int:
    scheme = load_scheme(args.file)
    for line in describe(scheme):
        out.print(line, markup=False)
    for section in SECTIONS:
        for line in section(scheme, args):
            out.print(line, markup=False)
    out.print("", markup=False)
    out.print(format_scheme(scheme), markup=False)
    return 0

