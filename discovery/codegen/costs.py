"""Cost reports: multiplications, additions, size and energy.

One report type, :class:`CostReport`, for a scheme (:func:`scheme_costs`),
and -- built by :func:`discovery.layers.costs.model_costs` -- for a single
layer or a whole torch model.  Energy is estimated
from a per-operation table the caller can change; the default is Horowitz's
45 nm figures (ISSCC 2014), which make the trade StrassenNets is about
visible: a multiplication costs 3-30x an addition.

"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from discovery.algebra.ops import standard_scheme
from discovery.codegen.generate import count_additions
from discovery.core.errors import InvalidInputError

__all__ = [
    "OperationEnergy",
    "HOROWITZ_45NM",
    "CostReport",
    "LayerCost",
    "energy_pj",
    "scheme_costs",
]


@dataclass(frozen=True)
class OperationEnergy:
    """Energy per operation, in picojoules.

    Attributes
    ----------
    mult, add : float
        Energy of one multiplication and one addition.
    """

    mult: float
    add: float

    def __post_init__(self):
        for name in ("mult", "add"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise InvalidInputError(f"{name} energy must be a non-negative number of pJ, got {value!r}")

    @property
    def ratio(self) -> float:
        """How many additions one multiplication costs."""
        return self.mult / self.add if self.add else math.inf


#: Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm, 0.9 V), pJ per operation.
HOROWITZ_45NM: Mapping[str, OperationEnergy] = {
    "fp32": OperationEnergy(mult=3.7, add=0.9),
    "fp16": OperationEnergy(mult=1.1, add=0.4),
    "int32": OperationEnergy(mult=3.1, add=0.1),
    "int8": OperationEnergy(mult=0.2, add=0.03),
}


def energy_entry(precision: str, table: Optional[Mapping[str, OperationEnergy]] = None) -> OperationEnergy:
    """The energy table's entry for ``precision`` (default table: Horowitz 45 nm).

    Examples
    --------
    >>> energy_entry("fp32").mult
    3.7
    """
    table = HOROWITZ_45NM if table is None else table
    entry = table.get(precision)
    if entry is None:
        raise InvalidInputError(f"no energy figures for precision {precision!r}: the table has {', '.join(table)}")
    if not isinstance(entry, OperationEnergy):
        try:
            entry = OperationEnergy(*entry) if isinstance(entry, (tuple, list)) else OperationEnergy(**entry)
        except TypeError:
            raise InvalidInputError(f"energy table entry {precision!r} must be OperationEnergy(mult, add)") from None
    return entry


def energy_pj(
    multiplications: int,
    additions: int,
    precision: str = "fp32",
    table: Optional[Mapping[str, OperationEnergy]] = None,
) -> float:
    """Energy in pJ of ``multiplications`` and ``additions`` at ``precision``.

    Examples
    --------
    >>> round(energy_pj(7, 15), 2)   # Strassen-Winograd 2x2, fp32
    39.4
    >>> round(energy_pj(7, 15, table={"fp32": OperationEnergy(mult=1.0, add=1.0)}), 2)
    22.0
    """
    entry = energy_entry(precision, table)
    return multiplications * entry.mult + additions * entry.add


@dataclass
class LayerCost:
    """Counts of one layer of a model (one forward pass of the given input)."""

    name: str
    kind: str
    multiplications: int
    additions: int
    size_bits: int
    additions_eliminated: Optional[int] = None


@dataclass
class CostReport:
    """Operation counts of a scheme, layer or model.

    Attributes
    ----------
    multiplications, additions : int
        Totals (additions naive: no shared subexpressions).
    additions_eliminated : int or None
        Additions after common-subexpression elimination, where known.
    size_bits : int or None
        Storage of the parameters (32 bits per float, 2 per ternary entry).
    layers : list of LayerCost
        Per-layer rows for models.
    reference_multiplications : int or None
        What the standard algorithm (or the full-precision layer) needs.
    """

    multiplications: int
    additions: int
    additions_eliminated: Optional[int] = None
    size_bits: Optional[int] = None
    reference_multiplications: Optional[int] = None
    reference_additions: Optional[int] = None
    layers: list = field(default_factory=list)

    def energy_pj(self, precision: str = "fp32", table: Optional[Mapping[str, OperationEnergy]] = None,
                  eliminated: bool = True) -> float:
        """Estimated energy (pJ); uses the eliminated addition count when known."""
        adds = self.additions_eliminated if eliminated and self.additions_eliminated is not None else self.additions
        return energy_pj(self.multiplications, adds, precision, table)

    @property
    def size_bytes(self) -> Optional[float]:
        return None if self.size_bits is None else self.size_bits / 8

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (layers included)."""
        return {
            "multiplications": self.multiplications,
            "additions": self.additions,
            "additions_eliminated": self.additions_eliminated,
            "size_bits": self.size_bits,
            "reference_multiplications": self.reference_multiplications,
            "reference_additions": self.reference_additions,
            "layers": [vars(layer).copy() for layer in self.layers],
        }


def scheme_costs(scheme, eliminate: bool = True) -> CostReport:
    """Costs of an exact scheme: its rank, naive additions and (optionally)
    additions after common-subexpression elimination of its linear forms
    (:func:`discovery.codegen.generate.count_additions`).

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> r = scheme_costs(strassen_winograd(), eliminate=False)
    >>> r.multiplications, r.additions, r.reference_multiplications
    (7, 24, 8)
    """
    p = scheme.problem
    reference = standard_scheme(p)
    report = CostReport(
        multiplications=scheme.multiplications,
        additions=scheme.additions,
        reference_multiplications=p.naive_rank,
        reference_additions=reference.additions,
    )
    if eliminate:
        report.additions_eliminated = count_additions(scheme)
    return report
