"""The sections ``bilinear show`` prints after a scheme's header.

Each section is a function ``(scheme, args) -> list of lines``; library code
returns data (:class:`~discovery.codegen.costs.CostReport`,
:class:`~discovery.winograd.accuracy.ErrorReport`) and this module turns it
into text.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from discovery.codegen.costs import CostReport, OperationEnergy, energy_entry, energy_pj, scheme_costs
from discovery.codegen.cse import transform_costs
from discovery.core.errors import InvalidInputError
from discovery.core.scheme import Scheme
from discovery.winograd.accuracy import channel_counts, measure_error, transform_conditions
from discovery.winograd.cooktoom import identify
from discovery.winograd.transforms import to_transforms

__all__ = ["format_report", "costs_section", "accuracy_lines", "winograd_section"]


def format_report(report: CostReport, precision: str = "fp32",
                  table: Optional[Mapping[str, OperationEnergy]] = None) -> list[str]:
    """Human-readable lines: counts, reduction and energy at ``precision``.

    Examples
    --------
    >>> print("\\n".join(format_report(CostReport(7, 24, 15, reference_multiplications=8, reference_additions=4))))
    multiplications: 7 (standard: 8, 12.5% fewer)
    additions: 24 naive, 15 after eliminating common subexpressions (standard: 4)
    energy fp32 (45 nm): 39.4 pJ (standard: 33.2 pJ; mult 3.7 pJ = 4.1 adds)
    """
    entry = energy_entry(precision, table)
    lines = []
    mults = f"multiplications: {report.multiplications}"
    if report.reference_multiplications:
        saved = 100 * (1 - report.multiplications / report.reference_multiplications)
        mults += f" (standard: {report.reference_multiplications}, {saved:.1f}% fewer)"
    lines.append(mults)
    adds = f"additions: {report.additions} naive"
    if report.additions_eliminated is not None:
        adds += f", {report.additions_eliminated} after eliminating common subexpressions"
    if report.reference_additions is not None:
        adds += f" (standard: {report.reference_additions})"
    lines.append(adds)
    if report.size_bits is not None:
        lines.append(f"size: {report.size_bits / 8 / 1024:.2f} KiB")
    label = f"energy {precision}" + (" (45 nm)" if table is None else "")
    energy = f"{label}: {report.energy_pj(precision, table):.1f} pJ"
    if report.reference_multiplications is not None and report.reference_additions is not None:
        ref = energy_pj(report.reference_multiplications, report.reference_additions, precision, table)
        energy += f" (standard: {ref:.1f} pJ; mult {entry.mult:g} pJ = {entry.ratio:.2g} adds)"
    lines.append(energy)
    return lines


def costs_section(scheme, args=None) -> list[str]:
    """Lines for ``bilinear show``: counts after elimination and energy (fp32, int8).

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> for line in costs_section(strassen_winograd()):
    ...     print(line)
    costs: 7 multiplications (standard: 8); additions 24 naive, 15 after eliminating common subexpressions (standard: 4)
    energy per product, 45 nm: fp32 39.4 pJ (standard 33.2 pJ), int8 1.85 pJ (standard 1.72 pJ)
    one level over 64x64 blocks, fp32: 12.1% less energy than standard
    """
    r = scheme_costs(scheme)
    lines = [
        f"costs: {r.multiplications} multiplications (standard: {r.reference_multiplications}); "
        f"additions {r.additions} naive, {r.additions_eliminated} after eliminating common subexpressions "
        f"(standard: {r.reference_additions})"
    ]
    parts = []
    for precision in ("fp32", "int8"):
        ours = r.energy_pj(precision)
        ref = energy_pj(r.reference_multiplications, r.reference_additions, precision)
        parts.append(f"{precision} {ours:.3g} pJ (standard {ref:.3g} pJ)")
    lines.append("energy per product, 45 nm: " + ", ".join(parts))
    if scheme.problem.kind == "matmul":
        b = 64  # one level over b x b blocks multiplied the standard way
        block = (b**3, b * b * (b - 1))
        ours = energy_pj(r.multiplications * block[0], r.multiplications * block[1] + r.additions_eliminated * b * b)
        ref = energy_pj(r.reference_multiplications * block[0],
                        r.reference_multiplications * block[1] + r.reference_additions * b * b)
        lines.append(f"one level over {b}x{b} blocks, fp32: {100 * (1 - ours / ref):.1f}% less energy than standard")
    return lines


def winograd_section(scheme: Scheme, args: Any = None) -> list[str]:
    """Lines ``bilinear show`` adds for correlation schemes: costs, transforms, accuracy.

    Examples
    --------
    >>> from discovery.winograd.cooktoom import cook_toom
    >>> lines = winograd_section(cook_toom(2, 3))
    >>> lines[0]
    'multiplications per output: 2 (standard algorithm: 3)'
    """
    if scheme.problem.kind not in ("correlation", "correlation2d"):
        return []
    costs = transform_costs(scheme)
    lines = [f"multiplications per output: {costs['multiplications_per_output']:.4g} "
             f"(standard algorithm: {costs['naive_multiplications_per_output']:.4g})"]
    labels = {"filter": "filter G", "data": "data B^T", "output": "output A^T"}
    parts = []
    for key, label in labels.items():
        c = costs[key]
        text = f"{label} {c['naive']} naive / {c['cse']} CSE"
        if "separable" in c:
            text += f" (separable {c['separable']['naive']} / {c['separable']['cse']})"
        parts.append(text)
    lines.append("additions per tile: " + "; ".join(parts))
    if scheme.problem.kind == "correlation":
        info = identify(scheme)
        if info["points"]:
            lines.append("interpolation points: {" + ", ".join(info["points"]) + "}"
                         + (" (Cook-Toom up to scaling of the products)" if info["cook_toom"] else ""))
    try:
        lines += [""] + to_transforms(scheme).lines() + [""]
    except InvalidInputError:  # a 2-D scheme that is not a nested pair
        pass
    tiles = 256 if scheme.problem.shape[1] <= 16 else 64
    lines += accuracy_lines(scheme, tiles=tiles)
    return lines


def accuracy_lines(scheme: Scheme, channels: Any = (1, 8, 64), tiles: int = 256, seed: Any = 0,
                   dtypes: Sequence[str] = ("float32", "float16")) -> list[str]:
    """Text lines: the error table per precision and channel count, and the
    condition numbers of the transforms.

    Examples
    --------
    >>> from discovery.winograd.cooktoom import cook_toom
    >>> print(accuracy_lines(cook_toom(2, 3), channels=(1,), tiles=32)[0])
    accuracy: relative RMS error vs float64 (32 tiles of standard normal inputs per column)
    """
    chans = channel_counts(channels)
    reports = [measure_error(scheme, name, chans, tiles, seed) for name in dtypes]
    how = ", separable evaluation" if reports and reports[0].mode == "separable" else ""
    lines = [f"accuracy: relative RMS error vs float64 ({tiles} tiles of standard normal inputs per column{how})",
             "  " + "channels".ljust(9) + "".join(f"{c:>10}" for c in chans)]
    for name, rep in zip(dtypes, reports):
        lines.append("  " + name.ljust(9) + "".join(f"{e:>10.2e}" for e in rep.rms))
    cond = transform_conditions(scheme)
    lines.append("condition numbers: " + ", ".join(f"{k} {v:.3g}" for k, v in cond.items()))
    return lines
