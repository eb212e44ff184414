"""StrassenNets recurrent layers: an LSTM whose matrix products are SPNs.

An LSTM layer computes, at every time step, the four gates from two matrix
products, ``W_x x_t`` and ``W_h h_{t-1}`` (``weight_ih`` and ``weight_hh`` of
:class:`torch.nn.LSTM`, the four gates stacked, ``4 * hidden_size`` rows).
As in the StrassenNets paper (Tschannen et al. 2018, section 4.2), both
products become 2-layer sum-product networks with a multiplication budget
``r``: ``W_x x = W_c^x (a~^x * (W_b^x x))`` and the same for ``h``, each an
:class:`~discovery.layers.spn.SPNLinear` from ``in`` to ``4 * hidden_size``
with ``r`` products.  ``W_b`` and ``W_c`` are ternary with straight-through
gradients once quantised, ``a~`` stays full precision, and the paper's
schedule (:func:`~discovery.layers.spn.set_phase`) applies unchanged.

The gate nonlinearities and the cell update follow :class:`torch.nn.LSTMCell`::

    i, f, g, o = split(W_x x + W_h h)          # biases inside the two SPNs
    c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h' = sigmoid(o) * tanh(c')

so a step costs ``2 r`` multiplications in the products plus the ``3 *
hidden_size`` element-wise products of the cell update (which a dense LSTM
has too).  :meth:`SPNLSTM.operation_counts` counts them for
:func:`discovery.layers.costs.model_costs`.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from discovery.core.errors import InvalidInputError
from discovery.layers.spn import DEFAULT_THRESHOLD, SPNLinear, _check_int

__all__ = ["SPNLSTMCell", "SPNLSTM", "lstm_operation_counts"]


def _step(x_part: Tensor, h: Tensor, c: Tensor, hh: tuple[Tensor, Tensor, Tensor, Optional[Tensor]]):
    """One LSTM step given the input part of the gates and the effective ``W_h`` SPN."""
    wb, a, wc, bias = hh
    gates = x_part + F.linear(F.linear(h, wb) * a, wc, bias)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def _effective(layer: SPNLinear) -> tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
    """``(W_b, a~, W_c, bias)`` as ``layer``'s forward pass uses them, computed once per sequence."""
    wb, wc = layer.effective_weights()
    return wb, layer.a_tilde, wc, layer.bias


def _product_counts(layer: SPNLinear) -> tuple[int, int]:
    """Multiplications and naive additions of one application of an SPN product (bias included)."""
    counts = layer.operation_counts()
    return counts["multiplications"], counts["additions"]


class SPNLSTMCell(nn.Module):
    r"""An LSTM cell whose two gate products are SPNs with budget ``r`` each.

    Follows :class:`torch.nn.LSTMCell`: ``cell(x, (h, c)) -> (h', c')``; the
    state defaults to zeros.

    Args:
        input_size: features of the input ``x``.
        hidden_size: features of the state ``h`` (and ``c``).
        r: multiplication budget of each product (``W_x x`` and ``W_h h``).
        bias: learn gate biases (one per product, as ``nn.LSTMCell``).
        quantized: start in quantised mode (default ``False``).
        threshold: ternarisation threshold factor (0.7, Li et al. 2016).

    Shape:
        - Input: :math:`(N, H_{in})` or :math:`(H_{in})`.
        - State and outputs: :math:`(N, H)` or :math:`(H)`.

    Attributes:
        ih: the :class:`~discovery.layers.spn.SPNLinear` computing ``W_x x`` (``input_size -> 4 * hidden_size``).
        hh: the :class:`~discovery.layers.spn.SPNLinear` computing ``W_h h`` (``hidden_size -> 4 * hidden_size``).

    Examples::

        >>> cell = SPNLSTMCell(10, 20, r=16, quantized=True)
        >>> h, c = cell(torch.randn(3, 10))
        >>> h.shape, c.shape
        (torch.Size([3, 20]), torch.Size([3, 20]))
        >>> cell.operation_counts()["multiplications"]  # 2 r + 3 hidden_size
        92
    """

    __constants__ = ["input_size", "hidden_size", "r"]
    input_size: int
    hidden_size: int
    r: int

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        r: int,
        bias: bool = True,
        quantized: bool = False,
        threshold: float = DEFAULT_THRESHOLD,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size = _check_int(input_size, "input_size")
        self.hidden_size = _check_int(hidden_size, "hidden_size")
        self.r = _check_int(r, "r (the multiplication budget)")
        factory = {"device": device, "dtype": dtype}
        gates = 4 * self.hidden_size
        self.ih = SPNLinear(self.input_size, gates, self.r, bias=bias, quantized=quantized,
                            threshold=threshold, **factory)
        self.hh = SPNLinear(self.hidden_size, gates, self.r, bias=bias, quantized=quantized,
                            threshold=threshold, **factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.LSTMCell``'s bias range (``U(-1/sqrt(H), 1/sqrt(H))``) and the SPN weight init."""
        bound = 1 / math.sqrt(self.hidden_size)
        for layer in (self.ih, self.hh):
            layer.reset_parameters()
            if layer.bias is not None:
                nn.init.uniform_(layer.bias, -bound, bound)

    @torch.jit.unused
    def _check(self, x: Tensor, state) -> None:
        if x.dim() not in (1, 2) or x.shape[-1] != self.input_size:
            raise InvalidInputError(
                f"SPNLSTMCell expects (N, {self.input_size}) or ({self.input_size},), got {tuple(x.shape)}"
            )
        if state is not None:
            want = tuple(x.shape[:-1]) + (self.hidden_size,)
            if len(state) != 2 or any(tuple(s.shape) != want for s in state):
                raise InvalidInputError(f"SPNLSTMCell state must be (h, c), each of shape {want}")

    def forward(self, x: Tensor, state: Optional[tuple[Tensor, Tensor]] = None) -> tuple[Tensor, Tensor]:
        self._check(x, state)
        if state is None:
            zeros = x.new_zeros(tuple(x.shape[:-1]) + (self.hidden_size,))
            state = (zeros, zeros)
        return _step(self.ih(x), state[0], state[1], _effective(self.hh))

    def operation_counts(self, input_shape: Optional[tuple[int, ...]] = None) -> dict[str, int]:
        """Multiplications, additions and size (bits) of one step for ``input_shape`` (``(*, input_size)``).

        Multiplications: each product's (``r`` once quantised; see
        :meth:`SPNLinear.operation_counts`) plus ``3 * hidden_size`` for the
        cell update.  Additions: each product's naive count (with bias), the
        ``4 * hidden_size`` sums of the two products and the ``hidden_size``
        of the cell update.  Gate nonlinearities are not counted.
        """
        vectors = 1 if input_shape is None else int(math.prod(input_shape[:-1]))
        mi, ai = _product_counts(self.ih)
        mh, ah = _product_counts(self.hh)
        mults = mi + mh + 3 * self.hidden_size
        adds = ai + ah + 4 * self.hidden_size + self.hidden_size
        size = self.ih._size_bits() + self.hh._size_bits()
        return {"multiplications": vectors * mults, "additions": vectors * adds, "size_bits": size}

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, r={self.r}, quantized={self.ih.quantized}"


class SPNLSTM(nn.Module):
    r"""A multi-layer LSTM whose gate products are SPNs (StrassenNets).

    Follows :class:`torch.nn.LSTM`: ``lstm(x, (h_0, c_0)) -> (output, (h_n,
    c_n))`` with ``h_0``, ``c_0`` of shape ``(num_layers, N, hidden_size)``
    (zeros when omitted), ``batch_first`` and ``dropout`` between layers.
    Layer ``l`` is an :class:`SPNLSTMCell`.  Because an SPN product
    ``W_c (a~ * (W_b v))`` is the linear map ``W_c diag(a~) W_b``, the forward
    pass folds each product into that dense matrix once per call
    (:meth:`dense_weights`) and runs ``nn.LSTM``'s fused recurrence with it:
    the same function as stepping the cells (up to rounding), several times
    faster to train.  The operation counts are those of the SPN form, which
    is what an inference kernel evaluates.

    Args:
        input_size: features of the input.
        hidden_size: features of the hidden state.
        r: multiplication budget of every product, or a sequence with one per layer.
        num_layers: stacked layers (default 1).
        bias: learn gate biases (default ``True``).
        batch_first: inputs and outputs are ``(N, L, H)`` instead of ``(L, N, H)``.
        dropout: dropout on the outputs of every layer but the last (default 0).
        quantized: start in quantised mode (default ``False``).
        threshold: ternarisation threshold factor (0.7).

    Shape:
        - Input: :math:`(L, N, H_{in})`, :math:`(N, L, H_{in})` with ``batch_first`` or :math:`(L, H_{in})`.
        - Output: the same with :math:`H_{in}` replaced by ``hidden_size``.

    Examples::

        >>> lstm = SPNLSTM(8, 16, r=16, num_layers=2, batch_first=True)
        >>> out, (h, c) = lstm(torch.randn(4, 5, 8))
        >>> out.shape, h.shape
        (torch.Size([4, 5, 16]), torch.Size([2, 4, 16]))
        >>> lstm.extra_repr()
        '8, 16, r=(16, 16), num_layers=2, batch_first=True, quantized=False'

    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        r,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        quantized: bool = False,
        threshold: float = DEFAULT_THRESHOLD,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size = _check_int(input_size, "input_size")
        self.hidden_size = _check_int(hidden_size, "hidden_size")
        self.num_layers = _check_int(num_layers, "num_layers")
        budgets = tuple(r) if isinstance(r, (list, tuple)) else (r,) * self.num_layers
        if len(budgets) != self.num_layers:
            raise InvalidInputError(f"give one budget r per layer ({self.num_layers}), got {len(budgets)}")
        self.r = tuple(_check_int(value, "r (the multiplication budget)") for value in budgets)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise InvalidInputError(f"dropout must be a number in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.cells = nn.ModuleList(
            SPNLSTMCell(self.input_size if layer == 0 else self.hidden_size, self.hidden_size, self.r[layer],
                        bias=bias, quantized=quantized, threshold=threshold, device=device, dtype=dtype)
            for layer in range(self.num_layers)
        )
        # nn.LSTM's recurrence, run with the SPNs' dense products (dense_weights); kept in a tuple so that
        # it is not a submodule: its own (meta) parameters are never used, saved or trained.
        self._template = (nn.LSTM(self.input_size, self.hidden_size, self.num_layers, bias=bias,
                                  batch_first=self.batch_first, dropout=self.dropout, device="meta"),)

    @torch.jit.unused
    def _check(self, x: Tensor, state) -> None:
        if x.dim() not in (2, 3) or x.shape[-1] != self.input_size:
            raise InvalidInputError(
                f"SPNLSTM expects (L, N, {self.input_size}), (N, L, {self.input_size}) with batch_first "
                f"or (L, {self.input_size}), got {tuple(x.shape)}"
            )
        if state is not None:
            batch = () if x.dim() == 2 else (x.shape[0 if self.batch_first else 1],)
            want = (self.num_layers, *batch, self.hidden_size)
            if len(state) != 2 or any(tuple(s.shape) != want for s in state):
                raise InvalidInputError(f"SPNLSTM state must be (h_0, c_0), each of shape {want}")

    def dense_weights(self) -> dict[str, Tensor]:
        """The products as dense ``nn.LSTM`` parameters: ``weight_ih_l0 = W_c diag(a~) W_b`` and so on.

        Returns
        -------
        dict of str to Tensor
            ``weight_ih_l{k}``, ``weight_hh_l{k}`` (and ``bias_ih_l{k}``,
            ``bias_hh_l{k}``) for every layer ``k``, differentiable (through
            the straight-through ternarisation when quantised).
            :meth:`forward` runs ``nn.LSTM``'s fused kernel with them.

        Examples
        --------
        >>> lstm = SPNLSTM(3, 2, r=4)
        >>> {k: tuple(v.shape) for k, v in lstm.dense_weights().items()}["weight_hh_l0"]
        (8, 2)
        """
        weights = {}
        for layer, cell in enumerate(self.cells):
            for kind, spn in (("ih", cell.ih), ("hh", cell.hh)):
                wb, wc = spn.effective_weights()
                weights[f"weight_{kind}_l{layer}"] = wc @ (spn.a_tilde.unsqueeze(1) * wb)
                if spn.bias is not None:
                    weights[f"bias_{kind}_l{layer}"] = spn.bias
        return weights

    def forward(self, x: Tensor, state: Optional[tuple[Tensor, Tensor]] = None):
        self._check(x, state)
        template = self._template[0]
        template.train(self.training)
        args = (x,) if state is None else (x, state)
        if x.is_cuda:
            # cuDNN's path would flatten (set_) the computed weights into one buffer on every call, under
            # no_grad; the native CUDA kernel takes them as they are.
            with torch.backends.cudnn.flags(enabled=False):
                return functional_call(template, self.dense_weights(), args)
        return functional_call(template, self.dense_weights(), args)

    def operation_counts(self, input_shape: tuple[int, ...]) -> dict[str, int]:
        """Multiplications, additions and size (bits) for an input of ``input_shape``.

        The sum over layers of :meth:`SPNLSTMCell.operation_counts`, once per
        time step and sequence (``input_shape`` is the input's shape, in this
        module's layout).
        """
        if len(input_shape) not in (2, 3):
            raise InvalidInputError(f"input_shape must be (L, N, H), (N, L, H) or (L, H), got {tuple(input_shape)}")
        vectors = int(math.prod(input_shape[:-1]))
        total = {"multiplications": 0, "additions": 0, "size_bits": 0}
        for cell in self.cells:
            counts = cell.operation_counts((vectors, cell.input_size))
            for key in total:
                total[key] += counts[key]
        return total

    def extra_repr(self) -> str:
        quantized = all(cell.ih.quantized for cell in self.cells)
        text = f"{self.input_size}, {self.hidden_size}, r={self.r}, num_layers={self.num_layers}"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout:g}"
        return text + f", quantized={quantized}"


def lstm_operation_counts(lstm: nn.LSTM, input_shape: tuple[int, ...]) -> dict[str, int]:
    """Hand-countable costs of a dense :class:`torch.nn.LSTM` for an input of ``input_shape``.

    Per time step, sequence and layer with input width ``n``: ``4 H (n + H)``
    multiplications in the two products and ``3 H`` in the cell update;
    additions ``4 H (n - 1) + 4 H (H - 1)`` in the products, ``4 H`` to add
    them, ``8 H`` for the two biases and ``H`` in the cell update.  Size:
    32 bits per parameter.

    Examples
    --------
    >>> lstm = nn.LSTM(2, 3)
    >>> lstm_operation_counts(lstm, (1, 1, 2))["multiplications"]  # 4*3*(2+3) + 3*3
    69
    """
    if lstm.proj_size or lstm.bidirectional:
        raise InvalidInputError("only unidirectional LSTMs without projections are counted")
    vectors = int(math.prod(input_shape[:-1]))
    hidden = lstm.hidden_size
    mults = adds = 0
    for layer in range(lstm.num_layers):
        n = lstm.input_size if layer == 0 else hidden
        mults += 4 * hidden * (n + hidden) + 3 * hidden
        adds += 4 * hidden * (n - 1) + 4 * hidden * (hidden - 1) + 4 * hidden + hidden
        if lstm.bias:
            adds += 8 * hidden
    size = 32 * sum(p.numel() for p in lstm.parameters())
    return {"multiplications": vectors * mults, "additions": vectors * adds, "size_bits": size}

