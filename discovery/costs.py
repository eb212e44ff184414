"""Cost reports: multiplications, additions, size and energy.

One report type, :class:`CostReport`, for a scheme (:func:`scheme_costs`),
a single layer or a whole model (:func:`model_costs`).  Energy is estimated
from a per-operation table the caller can change; the default is Horowitz's
45 nm figures (ISSCC 2014), which make the trade StrassenNets is about
visible: a multiplication costs 3-30x an addition.

Layers report their own counts through a small protocol: a module with an
``operation_counts(input_shape) -> {"multiplications", "additions",
"size_bits"}`` method (the SPN layers of :mod:`discovery.layers.spn`) is
asked directly; fixed fast layers with ``multiplications(input_shape) ->
(fast, plain)`` (:mod:`discovery.layers.matmul`, :mod:`discovery.layers.conv`)
give their multiplications, with the direct product's additions as a lower
bound; ``nn.Linear``, ``nn.Conv2d`` and batch norm
are counted by their definitions; parameter-free modules (activations,
pooling, reshapes) cost nothing here.  Torch is imported only when a model is
walked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from discovery.errors import InvalidInputError

__all__ = [
    "OperationEnergy",
    "HOROWITZ_45NM",
    "CostReport",
    "LayerCost",
    "energy_pj",
    "scheme_costs",
    "spn_additions_eliminated",
    "model_costs",
    "format_report",
    "show_section",
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


def _table_entry(precision: str, table: Optional[Mapping[str, OperationEnergy]]) -> OperationEnergy:
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
    entry = _table_entry(precision, table)
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
    (:func:`discovery.codegen.count_additions`).

    Examples
    --------
    >>> from discovery.known import strassen_winograd
    >>> r = scheme_costs(strassen_winograd(), eliminate=False)
    >>> r.multiplications, r.additions, r.reference_multiplications
    (7, 24, 8)
    """
    p = scheme.problem
    from discovery.ops import standard_scheme

    reference = standard_scheme(p)
    report = CostReport(
        multiplications=scheme.multiplications,
        additions=scheme.additions,
        reference_multiplications=p.naive_rank,
        reference_additions=reference.additions,
    )
    if eliminate:
        from discovery.codegen import count_additions

        report.additions_eliminated = count_additions(scheme)
    return report


def _standard_layer_counts(module, inputs, output) -> Optional[dict[str, int]]:
    from torch import nn

    if isinstance(module, nn.Linear):
        vectors = output.numel() // module.out_features
        mults = vectors * module.in_features * module.out_features
        adds = vectors * module.out_features * (module.in_features - 1 + (module.bias is not None))
        return {"multiplications": mults, "additions": adds, "size_bits": 32 * _param_count(module)}
    if isinstance(module, nn.Conv2d):
        per_output = (module.in_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1]
        outputs = output.numel()
        return {
            "multiplications": outputs * per_output,
            "additions": outputs * (per_output - 1 + (module.bias is not None)),
            "size_bits": 32 * _param_count(module),
        }
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        # inference: one multiply-add per element (scale and shift folded)
        n = output.numel()
        return {"multiplications": n, "additions": n, "size_bits": 32 * 2 * module.num_features}
    return None


def _fixed_layer_counts(module, inputs, output) -> Optional[dict[str, int]]:
    """Fixed fast layers (``multiplications(shape) -> (fast, plain)``): their
    multiplications; additions are those of the direct product (the scheme's
    transform additions are not included -- a lower bound)."""
    shape = tuple(inputs[0].shape)
    if len(inputs) >= 2 and len(getattr(inputs[1], "shape", ())) >= 2 and len(shape) >= 2:
        # a product of two operands (FastMatmul): counts need (*batch, M, K, N)
        import torch

        b = tuple(inputs[1].shape)
        shape = tuple(torch.broadcast_shapes(shape[:-2], b[:-2])) + (shape[-2], shape[-1], b[-1])
    try:
        count = module.multiplications(shape)
    except Exception:  # a layer that cannot count this input: leave it out
        return None
    fast = int(getattr(count, "fast", count[0]))
    plain = int(getattr(count, "plain", count[1]))
    outputs = output.numel() if hasattr(output, "numel") else 0
    return {"multiplications": fast, "additions": max(plain - outputs, 0), "size_bits": 32 * _param_count(module)}


def _param_count(module) -> int:
    return sum(p.numel() for p in module.parameters(recurse=False))


def spn_additions_eliminated(layer, input_shape: tuple[int, ...]) -> int:
    """Additions of a quantised SPN layer with common subexpressions eliminated.

    The ternary ``W_b`` (one row per product) and ``W_c`` (one row per
    output of a tile or vector) are each compiled once with
    :func:`discovery.cse.eliminate`; the programs run once per input vector
    (``SPNLinear``) or output tile (``SPNConv2d``), plus the bias additions.
    Elimination of wide matrices takes seconds (greedy pairwise search).

    Examples
    --------
    >>> from discovery.layers.spn import SPNLinear
    >>> layer = SPNLinear(16, 8, r=4, quantized=True)
    >>> spn_additions_eliminated(layer, (1, 16)) <= layer.operation_counts((1, 16))["additions"]
    True
    """
    import math as _math

    import numpy as np
    import torch

    from discovery.cse import eliminate
    from discovery.layers.spn import SPNConv2d, SPNLinear

    if not isinstance(layer, (SPNLinear, SPNConv2d)):
        raise InvalidInputError(f"expected an SPN layer, got {type(layer).__name__}")
    folded = layer.folded()
    wb = folded["weight_b"].reshape(layer.r, -1).to(dtype=torch.int64).numpy()
    groups = getattr(layer, "groups", 1)
    if groups > 1:  # rows of different groups read different input channels
        per, rows = wb.shape[1], layer.r // groups
        full = np.zeros((layer.r, per * groups), dtype=wb.dtype)
        for g in range(groups):
            full[g * rows:(g + 1) * rows, g * per:(g + 1) * per] = wb[g * rows:(g + 1) * rows]
        wb = full
    wc = folded["weight_c"]
    if isinstance(layer, SPNLinear):
        wc_rows = wc.to(dtype=torch.int64).numpy()
        applications = int(_math.prod(input_shape[:-1])) if input_shape else 1
        outputs = applications * layer.out_features
    else:
        wc_rows = wc.reshape(layer.r, -1).T.to(dtype=torch.int64).numpy()
        images = int(input_shape[0]) if len(input_shape) == 4 else 1
        th, tw = layer.tiles(int(input_shape[-2]), int(input_shape[-1]))
        out_h, out_w = layer.output_size(int(input_shape[-2]), int(input_shape[-1]))
        applications = images * th * tw
        outputs = images * layer.out_channels * out_h * out_w
    per = eliminate(wb).additions + eliminate(wc_rows).additions
    return applications * per + (outputs if layer.bias is not None else 0)


def model_costs(model, input_shape: tuple[int, ...], reference: Any = None, eliminate: bool = False) -> CostReport:
    """Walk ``model`` once on a zero input of ``input_shape`` and count.

    Parameters
    ----------
    model : torch.nn.Module
        Any model; leaf modules are counted as described in the module doc.
    input_shape : tuple of int
        Shape of one input batch, e.g. ``(1, 1, 8, 8)``.
    reference : torch.nn.Module, optional
        A full-precision model to compare with; its multiplications become
        ``reference_multiplications``.
    eliminate : bool
        Also count the additions of quantised SPN layers after
        common-subexpression elimination (:func:`spn_additions_eliminated`;
        other layers keep their naive count) into ``additions_eliminated``.

    Returns
    -------
    CostReport
        Totals and one :class:`LayerCost` per counted layer.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 10))
    >>> r = model_costs(net, (1, 1, 4, 4))
    >>> r.multiplications, [layer.multiplications for layer in r.layers]
    (1216, [576, 640])
    """
    import torch

    rows: list[LayerCost] = []
    hooks = []
    names = {module: name for name, module in model.named_modules()}

    def hook(module, inputs, output):
        counts = None
        if hasattr(module, "operation_counts"):
            counts = module.operation_counts(tuple(inputs[0].shape))
        elif callable(getattr(module, "multiplications", None)) and inputs and hasattr(inputs[0], "shape"):
            counts = _fixed_layer_counts(module, inputs, output)
        else:
            counts = _standard_layer_counts(module, inputs, output)
        if counts is not None:
            rows.append(LayerCost(
                name=names.get(module, "") or type(module).__name__,
                kind=type(module).__name__,
                multiplications=int(counts["multiplications"]),
                additions=int(counts["additions"]),
                size_bits=int(counts.get("size_bits", 32 * _param_count(module))),
            ))
            if eliminate and getattr(module, "quantized", False) and hasattr(module, "folded"):
                rows[-1].additions_eliminated = spn_additions_eliminated(module, tuple(inputs[0].shape))

    counted = set()
    for module in model.modules():
        if hasattr(module, "operation_counts"):
            counted.update(m for m in module.modules() if m is not module)
    for module in model.modules():
        if module in counted:
            continue
        if hasattr(module, "operation_counts") or not list(module.children()):
            hooks.append(module.register_forward_hook(hook))
    try:
        was_training = model.training
        model.eval()
        param = next(model.parameters(), None)
        kwargs = {} if param is None else {"dtype": param.dtype, "device": param.device}
        with torch.no_grad():
            model(torch.zeros(*input_shape, **kwargs))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    report = CostReport(
        multiplications=sum(r.multiplications for r in rows),
        additions=sum(r.additions for r in rows),
        size_bits=sum(r.size_bits for r in rows),
        layers=rows,
    )
    if eliminate:
        report.additions_eliminated = sum(
            r.additions if r.additions_eliminated is None else r.additions_eliminated for r in rows
        )
    if reference is not None:
        ref = model_costs(reference, input_shape)
        report.reference_multiplications = ref.multiplications
        report.reference_additions = ref.additions
    return report


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
    entry = _table_entry(precision, table)
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


def show_section(scheme, args=None) -> list[str]:
    """Lines for ``bilinear show``: counts after elimination and energy (fp32, int8).

    Examples
    --------
    >>> from discovery.known import strassen_winograd
    >>> for line in show_section(strassen_winograd()):
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
