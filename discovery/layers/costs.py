"""Operation counts of torch models: multiplications, additions, size.

:func:`model_costs` walks a model once on a zero input and fills a
:class:`~discovery.codegen.costs.CostReport` with one
:class:`~discovery.codegen.costs.LayerCost` per counted layer.  Layers report
their own counts through a small protocol: a module with an
``operation_counts(input_shape) -> {"multiplications", "additions",
"size_bits"}`` method (the SPN layers of :mod:`discovery.layers.spn`) is
asked directly; fixed fast layers with ``multiplications(input_shape) ->
(fast, plain)`` (:mod:`discovery.layers.matmul`, :mod:`discovery.layers.conv`)
give their multiplications, with the direct product's additions as a lower
bound; ``nn.Linear``, ``nn.Conv2d``, ``nn.LSTM``
(:func:`~discovery.layers.spn_rnn.lstm_operation_counts`), ``nn.Embedding``
(a lookup: size only) and batch norm are counted by their definitions; parameter-free modules (activations, pooling, reshapes) cost
nothing here.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from discovery.codegen.costs import CostReport, LayerCost
from discovery.codegen.cse import eliminate as eliminate_program
from discovery.core.errors import InvalidInputError
from discovery.layers.spn import SPNConv2d, SPNLinear
from discovery.layers.spn_rnn import SPNLSTM, lstm_operation_counts

__all__ = ["model_costs", "spn_additions_eliminated", "spn_lstm_additions_eliminated"]


def _standard_layer_counts(module, inputs, output) -> Optional[dict[str, int]]:
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
    if isinstance(module, nn.LSTM):
        return lstm_operation_counts(module, tuple(inputs[0].shape))
    if isinstance(module, nn.Embedding):  # a table lookup: no arithmetic
        return {"multiplications": 0, "additions": 0, "size_bits": 32 * module.weight.numel()}
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
    :func:`discovery.codegen.cse.eliminate`; the programs run once per input vector
    (``SPNLinear``) or output tile (``SPNConv2d``), plus the bias additions.
    Elimination of wide matrices takes seconds (greedy pairwise search).

    Examples
    --------
    >>> from discovery.layers.spn import SPNLinear
    >>> layer = SPNLinear(16, 8, r=4, quantized=True)
    >>> spn_additions_eliminated(layer, (1, 16)) <= layer.operation_counts((1, 16))["additions"]
    True
    """
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
        applications = int(math.prod(input_shape[:-1])) if input_shape else 1
        outputs = applications * layer.out_features
    else:
        wc_rows = wc.reshape(layer.r, -1).T.to(dtype=torch.int64).numpy()
        images = int(input_shape[0]) if len(input_shape) == 4 else 1
        th, tw = layer.tiles(int(input_shape[-2]), int(input_shape[-1]))
        out_h, out_w = layer.output_size(int(input_shape[-2]), int(input_shape[-1]))
        applications = images * th * tw
        outputs = images * layer.out_channels * out_h * out_w
    per = eliminate_program(wb).additions + eliminate_program(wc_rows).additions
    return applications * per + (outputs if layer.bias is not None else 0)


def spn_lstm_additions_eliminated(lstm: SPNLSTM, input_shape: tuple[int, ...]) -> int:
    """Additions of a quantised :class:`~discovery.layers.spn_rnn.SPNLSTM` with common subexpressions eliminated.

    Each layer's two products are eliminated as :func:`spn_additions_eliminated`
    does for an ``SPNLinear``; the ``5 * hidden_size`` additions per step that
    combine the products and update the cell stay as they are.

    Examples
    --------
    >>> from discovery.layers.spn import set_phase
    >>> from discovery.layers.spn_rnn import SPNLSTM
    >>> lstm = set_phase(SPNLSTM(4, 6, r=5), "quantized")
    >>> spn_lstm_additions_eliminated(lstm, (3, 1, 4)) <= lstm.operation_counts((3, 1, 4))["additions"]
    True
    """
    if not isinstance(lstm, SPNLSTM):
        raise InvalidInputError(f"expected an SPNLSTM, got {type(lstm).__name__}")
    vectors = int(math.prod(input_shape[:-1]))
    total = 0
    for cell in lstm.cells:
        total += spn_additions_eliminated(cell.ih, (vectors, cell.input_size))
        total += spn_additions_eliminated(cell.hh, (vectors, cell.hidden_size))
        total += vectors * 5 * cell.hidden_size
    return total


def model_costs(
    model,
    input_shape: tuple[int, ...],
    reference: Any = None,
    eliminate: bool = False,
    input_dtype: Optional[torch.dtype] = None,
) -> CostReport:
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
    input_dtype : torch.dtype, optional
        The zero input's dtype (default: the model's parameters'); e.g.
        ``torch.long`` for a model that starts with an ``nn.Embedding``.

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
            elif eliminate and isinstance(module, SPNLSTM) and all(c.ih.quantized for c in module.cells):
                rows[-1].additions_eliminated = spn_lstm_additions_eliminated(module, tuple(inputs[0].shape))

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
        if input_dtype is not None:
            kwargs["dtype"] = input_dtype
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
        ref = model_costs(reference, input_shape, input_dtype=input_dtype)
        report.reference_multiplications = ref.multiplications
        report.reference_additions = ref.additions
    return report
