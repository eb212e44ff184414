"""StrassenNets layers: matrix products as 2-layer sum-product networks.

Tschannen, Khanna and Anandkumar (ICML 2018) write a product ``C = A B`` as
a 2-layer sum-product network (SPN)::

    vec(C) = W_c ((W_a vec(A)) * (W_b vec(B)))

with a *multiplication budget* ``r`` (the length of the Hadamard product).
In a layer ``A`` holds the weights and ``B`` the activations, so
``a~ = W_a vec(A)`` is a fixed vector at inference time; it is learned
directly here, as the paper allows.  ``W_b`` and ``W_c`` are ternary
({-1, 0, 1} times one scale per matrix): they cost additions only, and the
whole layer costs ``r`` multiplications per input column (per output tile for
convolutions).

Ternary quantisation follows Li et al. 2016 (ternary weight networks): with
``delta = 0.7 * mean|w|``, ``t = sign(w) * [|w| > delta]`` and the scale
``alpha = mean(|w| : |w| > delta)``; the forward pass uses ``alpha * t`` and
the backward pass passes the gradient straight through to the full-precision
weights.  Because ``W_c (a * (W_b x))`` is bilinear, the two scales fold
into ``a~`` (:meth:`SPNLinear.folded`), leaving pure {-1, 0, 1} matrices.

Training follows the paper's schedule (:func:`set_phase`): full-precision
pre-training, then quantised training, then a short phase that trains only
``a~`` (and any non-SPN parameters) with ``W_b`` and ``W_c`` frozen;
:func:`distillation_loss` is the knowledge-distillation loss
``(1 - lam) CE(student, y) + lam CE(student, teacher)``.
"""

from __future__ import annotations

import math
from typing import Iterator, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from discovery.algebra.quantizers import twn_ternary
from discovery.core.errors import InvalidInputError

__all__ = [
    "ternarize",
    "ternary_ste",
    "SPNLinear",
    "SPNConv2d",
    "spn_modules",
    "set_phase",
    "PHASES",
    "distillation_loss",
]

#: Training phases of :func:`set_phase`, in the paper's order.
PHASES = ("full", "quantized", "a_only")

#: Li et al.'s threshold factor: delta = 0.7 * mean |w|.
DEFAULT_THRESHOLD = 0.7


def _check_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def _check_threshold(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 < float(value) < 1.5):
        raise InvalidInputError(f"threshold must be a number in (0, 1.5), got {value!r}")
    return float(value)


def ternarize(weight: Tensor, threshold: float = DEFAULT_THRESHOLD) -> tuple[Tensor, Tensor]:
    """Ternary threshold quantisation of Li et al. 2016 for one weight tensor
    (:func:`discovery.algebra.quantizers.twn_ternary` with a single scale).

    Parameters
    ----------
    weight : Tensor
        Full-precision weights (any shape; one scale for the whole tensor).
    threshold : float
        ``delta = threshold * mean|weight|`` (0.7 in the paper).

    Returns
    -------
    ternary : Tensor
        Same shape and dtype as ``weight``, entries in {-1, 0, 1}.
    scale : Tensor
        0-d tensor ``alpha``, the mean magnitude of the kept entries (0 when
        nothing is kept), so that ``alpha * ternary`` approximates ``weight``.

    Examples
    --------
    >>> t, a = ternarize(torch.tensor([1.0, -1.2, 0.1, 0.8]))
    >>> t.tolist(), round(float(a), 3)
    ([1.0, -1.0, 0.0, 1.0], 1.0)
    """
    codes, alpha = twn_ternary(weight.detach()[None], threshold)  # one batch entry: one scale
    return codes[0].to(weight.dtype), alpha.reshape(()).to(weight.dtype)


def ternary_ste(weight: Tensor, threshold: float = DEFAULT_THRESHOLD) -> Tensor:
    """``alpha * ternarize(weight)`` forward, identity (straight-through) backward.

    Examples
    --------
    >>> w = torch.tensor([0.9, -1.1, 0.05, 0.4], requires_grad=True)
    >>> q = ternary_ste(w)
    >>> q.sum().backward()
    >>> w.grad.tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    ternary, scale = ternarize(weight, threshold)
    quantized = scale * ternary
    return weight + (quantized - weight).detach()


def _ternary_row_additions(matrix: Tensor) -> int:
    """Additions of ``matrix @ x`` counted naively: ``sum_rows max(nnz - 1, 0)``."""
    nnz = (matrix != 0).sum(dim=1)
    return int((nnz - 1).clamp(min=0).sum())


class _SPNBase(nn.Module):
    """Quantisation switch and helpers shared by the SPN layers."""

    quantized: bool
    threshold: float

    def effective_weights(self) -> tuple[Tensor, Tensor]:
        """``(W_b, W_c)`` as the forward pass uses them (quantised or not)."""
        if self.quantized:
            return ternary_ste(self.weight_b, self.threshold), ternary_ste(self.weight_c, self.threshold)
        return self.weight_b, self.weight_c

    @torch.no_grad()
    def folded(self) -> dict[str, Tensor]:
        """The deployed form: ternary ``W_b``, ``W_c`` and the scales folded into ``a~``.

        Returns a dict with ``weight_b`` and ``weight_c`` (int8, entries in
        {-1, 0, 1}), ``a_tilde`` (``alpha_b * alpha_c * a~``) and ``bias``
        (or ``None``).  Only meaningful once the layer is quantised.

        Raises
        ------
        InvalidInputError
            When the layer is not in quantised mode.
        """
        if not self.quantized:
            raise InvalidInputError("folded() needs a quantised layer: call set_phase(model, 'quantized') first")
        tb, ab = ternarize(self.weight_b, self.threshold)
        tc, ac = ternarize(self.weight_c, self.threshold)
        return {
            "weight_b": tb.to(torch.int8),
            "weight_c": tc.to(torch.int8),
            "a_tilde": self.a_tilde.detach() * ab * ac,
            "bias": None if self.bias is None else self.bias.detach().clone(),
        }

    def _size_bits(self) -> int:
        nb, nc = self.weight_b.numel(), self.weight_c.numel()
        dense = self.a_tilde.numel() + (0 if self.bias is None else self.bias.numel())
        if self.quantized:
            return 2 * (nb + nc) + 32 * (dense + 2)  # 2 bits per ternary entry, two fp32 scales
        return 32 * (nb + nc + dense)


class SPNLinear(_SPNBase):
    r"""A linear layer computed by a 2-layer SPN with ``r`` multiplications.

    ``y = W_c (a~ * (W_b x)) + bias`` for each input vector ``x``: the
    product ``A x`` of the (implicit) ``out_features x in_features`` weight
    matrix ``A`` with the activation column ``x``, with ``a~ = W_a vec(A)``
    learned directly.  When quantised, ``W_b`` and ``W_c`` are ternary with
    straight-through gradients.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        r: multiplication budget (>= 1), the number of hidden products.
        bias: learn an additive bias (default ``True``).
        quantized: start in quantised mode (default ``False``: full precision).
        threshold: ternarisation threshold factor (0.7, Li et al. 2016).

    Shape:
        - Input: :math:`(*, H_{in})` with :math:`H_{in} = \text{in\_features}`.
        - Output: :math:`(*, H_{out})` with :math:`H_{out} = \text{out\_features}`.

    Attributes:
        weight_b: full-precision ``W_b``, shape ``(r, in_features)``.
        weight_c: full-precision ``W_c``, shape ``(out_features, r)``.
        a_tilde: ``a~``, shape ``(r,)``.
        bias: shape ``(out_features,)`` or ``None``.

    Examples::

        >>> layer = SPNLinear(20, 30, r=8, quantized=True)
        >>> layer(torch.randn(128, 20)).shape
        torch.Size([128, 30])
        >>> layer.operation_counts()["multiplications"]  # instead of 20 * 30
        8
    """

    __constants__ = ["in_features", "out_features", "r"]
    in_features: int
    out_features: int
    r: int

    def __init__(
        self,
        in_features: int,
        out_features: int,
        r: int,
        bias: bool = True,
        quantized: bool = False,
        threshold: float = DEFAULT_THRESHOLD,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.in_features = _check_int(in_features, "in_features")
        self.out_features = _check_int(out_features, "out_features")
        self.r = _check_int(r, "r (the multiplication budget)")
        self.quantized = bool(quantized)
        self.threshold = _check_threshold(threshold)
        factory = {"device": device, "dtype": dtype}
        self.weight_b = nn.Parameter(torch.empty(self.r, self.in_features, **factory))
        self.weight_c = nn.Parameter(torch.empty(self.out_features, self.r, **factory))
        self.a_tilde = nn.Parameter(torch.empty(self.r, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(self.out_features, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform ``W_b``, ``W_c`` (as ``nn.Linear``), ``a~ = 1``, small bias."""
        nn.init.kaiming_uniform_(self.weight_b, a=math.sqrt(5))
        nn.init.kaiming_uniform_(self.weight_c, a=math.sqrt(5))
        nn.init.ones_(self.a_tilde)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        wb, wc = self.effective_weights()
        return F.linear(F.linear(x, wb) * self.a_tilde, wc, self.bias)

    def operation_counts(self, input_shape: Optional[tuple[int, ...]] = None) -> dict[str, int]:
        """Multiplications, additions and size (bits) for one input vector.

        In quantised mode only the ``r`` products are multiplications; the
        ternary ``W_b`` and ``W_c`` cost additions (``nnz - 1`` per row of
        ``W_b`` and per output of ``W_c``, naively, plus the bias).  In full
        precision every nonzero of ``W_b`` and ``W_c`` is a multiplication too.
        ``input_shape`` (``(*, in_features)``) multiplies by the batch size.
        """
        vectors = 1
        if input_shape is not None:
            vectors = int(math.prod(input_shape[:-1]))
        wb, wc = self.weight_b.detach(), self.weight_c.detach()
        if self.quantized:
            wb = ternarize(wb, self.threshold)[0]
            wc = ternarize(wc, self.threshold)[0]
        mults = self.r
        adds = _ternary_row_additions(wb) + _ternary_row_additions(wc)
        if not self.quantized:
            mults += int((wb != 0).sum() + (wc != 0).sum())
        if self.bias is not None:
            adds += self.out_features
        return {"multiplications": vectors * mults, "additions": vectors * adds, "size_bits": self._size_bits()}

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, r={self.r}, "
            f"bias={self.bias is not None}, quantized={self.quantized}"
        )


class SPNConv2d(_SPNBase):
    r"""A 2-D convolution computed tile by tile by a 2-layer SPN with budget ``r``.

    Each ``p x p`` tile of the output (all ``out_channels``) is computed from
    the ``(p - 1 + k) x (p - 1 + k)`` input window under it (all
    ``in_channels``): ``W_b`` is a convolution with kernel ``p - 1 + k``,
    stride ``p`` and ``groups`` groups producing ``r`` channels, the ``r``
    results are multiplied by ``a~`` (the only multiplications), and ``W_c``
    is a transposed convolution with kernel ``p`` and stride ``p`` ("stride
    1/p") producing ``out_channels x p x p``.  The layer replaces a stride-1
    ``nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding)``
    and cuts multiplications by ``in_channels * out_channels * k^2 * p^2 / r``.
    Output sizes not divisible by ``p`` are handled by padding the input
    bottom/right and cropping.

    Args:
        in_channels: input channels ``c_in``.
        out_channels: output channels ``c_out``.
        kernel_size: ``k`` of the replaced square convolution.
        r: multiplication budget per output tile (>= 1, divisible by ``groups``).
        p: output tile size (default 1).
        groups: groups of the ``W_b`` convolution (divides ``in_channels`` and ``r``).
        padding: zero padding of the replaced convolution (default 0).
        bias: learn a per-channel bias (default ``True``).
        quantized: start in quantised mode (default ``False``).
        threshold: ternarisation threshold factor (0.7).

    Shape:
        - Input: :math:`(N, C_{in}, H, W)` or :math:`(C_{in}, H, W)`.
        - Output: :math:`(N, C_{out}, H + 2 \cdot padding - k + 1, W + 2 \cdot padding - k + 1)`.

    Attributes:
        weight_b: shape ``(r, in_channels / groups, p - 1 + k, p - 1 + k)``.
        weight_c: shape ``(r, out_channels, p, p)`` (a transposed-conv weight).
        a_tilde: shape ``(r,)``.
        bias: shape ``(out_channels,)`` or ``None``.

    Examples::

        >>> layer = SPNConv2d(16, 32, 3, r=32, p=2, padding=1, quantized=True)
        >>> layer(torch.randn(4, 16, 8, 8)).shape
        torch.Size([4, 32, 8, 8])
        >>> layer.operation_counts((1, 16, 8, 8))["multiplications"]  # 16 tiles x r, not 294912
        512
    """

    __constants__ = ["in_channels", "out_channels", "kernel_size", "r", "p", "groups", "padding"]
    in_channels: int
    out_channels: int
    kernel_size: int
    r: int
    p: int
    groups: int
    padding: int

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        r: int,
        p: int = 1,
        groups: int = 1,
        padding: int = 0,
        bias: bool = True,
        quantized: bool = False,
        threshold: float = DEFAULT_THRESHOLD,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.in_channels = _check_int(in_channels, "in_channels")
        self.out_channels = _check_int(out_channels, "out_channels")
        self.kernel_size = _check_int(kernel_size, "kernel_size")
        self.r = _check_int(r, "r (the multiplication budget)")
        self.p = _check_int(p, "p (the output tile size)")
        self.groups = _check_int(groups, "groups")
        self.padding = _check_int(padding, "padding", minimum=0)
        if self.in_channels % self.groups or self.r % self.groups:
            raise InvalidInputError(
                f"groups={self.groups} must divide in_channels={self.in_channels} and r={self.r}"
            )
        self.quantized = bool(quantized)
        self.threshold = _check_threshold(threshold)
        window = self.p - 1 + self.kernel_size
        factory = {"device": device, "dtype": dtype}
        self.weight_b = nn.Parameter(torch.empty(self.r, self.in_channels // self.groups, window, window, **factory))
        self.weight_c = nn.Parameter(torch.empty(self.r, self.out_channels, self.p, self.p, **factory))
        self.a_tilde = nn.Parameter(torch.empty(self.r, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(self.out_channels, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform ``W_b`` and ``W_c`` (fan-in scaled), ``a~ = 1``, small bias."""
        nn.init.kaiming_uniform_(self.weight_b, a=math.sqrt(5))
        # W_c maps r products to each output: scale by its fan-in r.
        bound = 1 / math.sqrt(self.r)
        nn.init.uniform_(self.weight_c, -bound, bound)
        nn.init.ones_(self.a_tilde)
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size**2
            b = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -b, b)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial output size for an ``height x width`` input."""
        k, pad = self.kernel_size, self.padding
        h, w = height + 2 * pad - k + 1, width + 2 * pad - k + 1
        if h < 1 or w < 1:
            raise InvalidInputError(
                f"input {height}x{width} is smaller than the kernel {k}x{k} with padding {pad}"
            )
        return h, w

    def tiles(self, height: int, width: int) -> tuple[int, int]:
        """Number of ``p x p`` output tiles along each axis."""
        h, w = self.output_size(height, width)
        return -(-h // self.p), -(-w // self.p)

    @torch.jit.unused
    def _check_input(self, x: Tensor) -> None:
        if x.dim() not in (3, 4) or x.shape[-3] != self.in_channels:
            raise InvalidInputError(
                f"SPNConv2d expects (N, {self.in_channels}, H, W) or ({self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        self.output_size(x.shape[-2], x.shape[-1])

    def forward(self, x: Tensor) -> Tensor:
        if not torch.jit.is_scripting():
            self._check_input(x)
        out_h = x.shape[-2] + 2 * self.padding - self.kernel_size + 1
        out_w = x.shape[-1] + 2 * self.padding - self.kernel_size + 1
        th = (out_h + self.p - 1) // self.p
        tw = (out_w + self.p - 1) // self.p
        pad = self.padding
        extra_h = th * self.p - out_h
        extra_w = tw * self.p - out_w
        if pad or extra_h or extra_w:
            x = F.pad(x, (pad, pad + extra_w, pad, pad + extra_h))
        wb, wc = self.effective_weights()
        hidden = F.conv2d(x, wb, stride=self.p, groups=self.groups)
        hidden = hidden * self.a_tilde.view(-1, 1, 1)
        y = F.conv_transpose2d(hidden, wc, stride=self.p)
        if extra_h or extra_w:
            y = y[..., :out_h, :out_w]
        if self.bias is not None:
            y = y + self.bias.view(-1, 1, 1)
        return y

    def operation_counts(self, input_shape: tuple[int, ...]) -> dict[str, int]:
        """Multiplications, additions and size (bits) for an input of ``input_shape``.

        ``input_shape`` is ``(N, C, H, W)`` or ``(C, H, W)``.  Per tile: ``r``
        multiplications; additions ``nnz - 1`` per row of ``W_b`` and per
        output entry of ``W_c`` (naive, ternary mode), plus the bias per
        output.  Full-precision mode counts every nonzero of ``W_b`` and
        ``W_c`` as a multiplication too.
        """
        if len(input_shape) not in (3, 4):
            raise InvalidInputError(f"input_shape must be (N, C, H, W) or (C, H, W), got {tuple(input_shape)}")
        images = int(input_shape[0]) if len(input_shape) == 4 else 1
        out_h, out_w = self.output_size(int(input_shape[-2]), int(input_shape[-1]))
        tiles = (-(-out_h // self.p)) * (-(-out_w // self.p))
        wb, wc = self.weight_b.detach(), self.weight_c.detach()
        if self.quantized:
            wb = ternarize(wb, self.threshold)[0]
            wc = ternarize(wc, self.threshold)[0]
        wb_rows = wb.reshape(self.r, -1)  # one row per hidden product
        wc_rows = wc.reshape(self.r, -1).T  # one row per (c_out, i, j) output of a tile
        mults = self.r
        adds = _ternary_row_additions(wb_rows) + _ternary_row_additions(wc_rows)
        if not self.quantized:
            mults += int((wb != 0).sum() + (wc != 0).sum())
        total_adds = tiles * adds
        if self.bias is not None:
            total_adds += self.out_channels * out_h * out_w
        return {
            "multiplications": images * tiles * mults,
            "additions": images * total_adds,
            "size_bits": self._size_bits(),
        }

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, r={self.r}, "
            f"p={self.p}, groups={self.groups}, padding={self.padding}, bias={self.bias is not None}, "
            f"quantized={self.quantized}"
        )


def spn_modules(model: nn.Module) -> Iterator[_SPNBase]:
    """The SPN layers inside ``model`` (including ``model`` itself)."""
    for module in model.modules():
        if isinstance(module, _SPNBase):
            yield module


def set_phase(model: nn.Module, phase: str) -> nn.Module:
    """Put every SPN layer of ``model`` into a phase of the paper's schedule.

    ``"full"``: full-precision ``W_b``, ``W_c`` (pre-training), all trainable.
    ``"quantized"``: ternary ``W_b``, ``W_c`` with straight-through gradients.
    ``"a_only"``: quantised, with ``W_b`` and ``W_c`` frozen, so only ``a~``
    (plus biases and non-SPN parameters) keeps learning.

    Returns ``model``.

    Examples
    --------
    >>> net = nn.Sequential(SPNLinear(4, 3, r=2))
    >>> _ = set_phase(net, "a_only")
    >>> net[0].quantized, net[0].weight_b.requires_grad, net[0].a_tilde.requires_grad
    (True, False, True)
    """
    if phase not in PHASES:
        raise InvalidInputError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
    for layer in spn_modules(model):
        layer.quantized = phase != "full"
        frozen = phase == "a_only"
        layer.weight_b.requires_grad_(not frozen)
        layer.weight_c.requires_grad_(not frozen)
    return model


def distillation_loss(
    student_logits: Tensor,
    targets: Tensor,
    teacher_logits: Optional[Tensor] = None,
    lam: float = 0.5,
    temperature: float = 1.0,
) -> Tensor:
    """Knowledge distillation (Hinton et al. 2015) as in StrassenNets.

    ``L = (1 - lam) CE(student, y) + lam CE(student, teacher)``, where the
    second term is the cross-entropy between the teacher's and the student's
    softened distributions at ``temperature`` (scaled by ``temperature**2``
    so its gradient does not shrink with the temperature).

    Parameters
    ----------
    student_logits, teacher_logits : Tensor
        ``(N, classes)`` logits; the teacher's are treated as constants.
        Without a teacher the loss is plain cross-entropy.
    targets : Tensor
        ``(N,)`` class indices.
    lam : float
        Weight of the teacher term, in [0, 1].
    temperature : float
        Softening temperature (> 0).

    Examples
    --------
    >>> s = torch.tensor([[2.0, 0.0]]); y = torch.tensor([0])
    >>> bool(distillation_loss(s, y, s, lam=0.0) == F.cross_entropy(s, y))
    True
    """
    if not (0.0 <= float(lam) <= 1.0):
        raise InvalidInputError(f"lam must be in [0, 1], got {lam}")
    if not 0 < float(temperature) < math.inf:
        raise InvalidInputError(f"temperature must be positive and finite, got {temperature}")
    hard = F.cross_entropy(student_logits, targets)
    if teacher_logits is None or lam == 0:
        return hard
    t = float(temperature)
    soft_targets = F.softmax(teacher_logits.detach() / t, dim=-1)
    soft = -(soft_targets * F.log_softmax(student_logits / t, dim=-1)).sum(dim=-1).mean() * (t * t)
    return (1 - lam) * hard + lam * soft
