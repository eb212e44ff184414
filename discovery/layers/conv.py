"""``WinogradConv2d``: a stride-1 ``nn.Conv2d`` computed by an exact tile scheme.

A ``correlation2d((m1, m2), (r1, r2))`` scheme of rank R computes an
m1 x m2 tile of outputs of an r1 x r2 filter from an
(m1 + r1 - 1) x (m2 + r2 - 1) input tile with R multiplications (see
:mod:`discovery.core.problems`).  For a convolution layer with C input and K
output channels, the filter transform ``U g`` is done once per weight, each
input tile is transformed once per channel (``V d``), and the channel sum
becomes R independent matrix products::

    M[r] = D~[r] (tiles x C)  @  G~[r] (C x K)        r = 1 .. R
    out tile = W^T M

so the layer costs ``R * C * K`` multiplications per tile instead of
``m1 m2 r1 r2 * C * K`` (2.25x fewer for F(2x2,3x3), 4x fewer for
F(4x4,3x3)).  Schemes built by nesting two 1-D algorithms
(:func:`discovery.winograd.transforms.nest`, Kronecker structure) use the separable
form ``B1^T d B2`` / ``A1^T M A2`` of Lavin & Gray, which needs fewer
operations; any other exact scheme uses its dense transforms.

The filter transform is a buffer (``weight_transformed``) computed in
float64 and stored in the weight's dtype; it is recomputed when the weight
changes (or by :meth:`WinogradConv2d.refresh`).  :func:`convert` swaps every
eligible ``nn.Conv2d`` of a model.

``backend="cpp"`` runs the layer as one fused C++ kernel generated for the
scheme (:mod:`discovery.layers.winograd_kernel`: its exact data and output
transforms as straight-line vector code, any ``correlation2d`` scheme with
input tiles up to 8 x 8, float32 and float64).  When the kernel cannot be
built (no compiler, a failed build) the layer warns once
(:class:`~discovery.layers.winograd_kernel.KernelWarning`) and runs its
torch path.
"""

import warnings
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from discovery.core.checks import positive_int
from discovery.core.errors import InvalidInputError
from discovery.layers.matmul import MultiplicationCount, checked_scheme
from discovery.core.problems import Correlation2D
from discovery.core.scheme import Scheme
from discovery.layers import winograd_kernel
from discovery.winograd.cooktoom import best_known
from discovery.winograd.transforms import Winograd2D, to_transforms

__all__ = ["WinogradConv2d", "convert", "winograd_conv2d"]

#: Fallback warnings already given in this process (one per reason).
_warned: set = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, winograd_kernel.KernelWarning, stacklevel=3)


def _pair(value, name: str) -> Tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in value)):
        raise InvalidInputError(f"{name} must be an integer or a pair of integers, got {value!r}")
    return int(value[0]), int(value[1])


def _padding(padding, kernel: Tuple[int, int]) -> List[int]:
    """``[left, right, top, bottom]`` as ``F.pad`` wants it."""
    if padding == "valid":
        return [0, 0, 0, 0]
    if padding == "same":
        # as torch: total k - 1, the smaller half first
        (t1, t2) = (kernel[0] - 1, kernel[1] - 1)
        return [t2 // 2, t2 - t2 // 2, t1 // 2, t1 - t1 // 2]
    if isinstance(padding, str):
        raise InvalidInputError(f"padding must be 'valid', 'same', an integer or a pair, got {padding!r}")
    ph, pw = _pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise InvalidInputError(f"padding must be non-negative, got {(ph, pw)}")
    return [pw, pw, ph, ph]


def _float(mat) -> Tensor:
    return torch.tensor(np.array([[float(v) for v in row] for row in np.asarray(mat).tolist()], dtype=np.float64))


def winograd_conv2d(
    x: Tensor,
    weight_transformed: Tensor,
    bias: Optional[Tensor],
    pads: List[int],
    m: List[int],
    r: List[int],
    separable: bool,
    data_t: Tensor,
    data_t2: Tensor,
    out_t: Tensor,
    out_t2: Tensor,
) -> Tensor:
    """The forward computation of :class:`WinogradConv2d` as a function.

    ``weight_transformed`` is ``(R, C, K)``; ``pads`` is ``[left, right,
    top, bottom]``; ``m`` and ``r`` are the tile and filter sizes.  With
    ``separable`` the data transform is ``B1^T d B2`` (``data_t = B1^T``,
    ``data_t2 = B2^T``) and the output transform ``A1^T M A2``
    (``out_t = A1^T``, ``out_t2 = A2^T``); otherwise ``data_t`` is V
    (R x tile) and ``out_t`` is W^T (m1 m2 x R).
    """
    n_batch, channels, height, width = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    m1, m2, r1, r2 = m[0], m[1], r[0], r[1]
    a1, a2 = m1 + r1 - 1, m2 + r2 - 1
    hp = height + pads[2] + pads[3]
    wp = width + pads[0] + pads[1]
    ho, wo = hp - r1 + 1, wp - r2 + 1
    if ho < 1 or wo < 1:
        raise ValueError("WinogradConv2d: the padded input (" + str(hp) + "x" + str(wp)
                         + ") is smaller than the kernel (" + str(r1) + "x" + str(r2) + ")")
    th, tw = -(-ho // m1), -(-wo // m2)
    x = F.pad(x, [pads[0], pads[1] + tw * m2 + r2 - 1 - wp, pads[2], pads[3] + th * m1 + r1 - 1 - hp])
    tiles = x.unfold(2, a1, m1).unfold(3, a2, m2)  # (N, C, th, tw, a1, a2)
    tiles = tiles.permute(4, 5, 0, 2, 3, 1)  # (a1, a2, N, th, tw, C)
    npix = n_batch * th * tw
    if separable:
        d = torch.matmul(data_t, tiles.reshape(a1, a2 * npix * channels))
        d = torch.matmul(data_t2, d.reshape(data_t.shape[0], a2, npix * channels))
    else:
        d = torch.matmul(data_t, tiles.reshape(a1 * a2, npix * channels))
    rank = weight_transformed.shape[0]
    prod = torch.bmm(d.reshape(rank, npix, channels), weight_transformed)  # (R, P, K)
    k_out = weight_transformed.shape[2]
    if separable:
        y = torch.matmul(out_t, prod.reshape(out_t.shape[1], -1))
        y = torch.matmul(out_t2, y.reshape(m1, out_t2.shape[1], npix * k_out))
    else:
        y = torch.matmul(out_t, prod.reshape(rank, npix * k_out))
    y = y.reshape(m1, m2, n_batch, th, tw, k_out).permute(2, 5, 3, 0, 4, 1)
    y = y.reshape(n_batch, k_out, th * m1, tw * m2)[:, :, :ho, :wo]
    if bias is not None:
        y = y + bias.view(1, -1, 1, 1)
    return y.contiguous()


class WinogradConv2d(nn.Module):
    r"""Drop-in ``nn.Conv2d`` (stride 1, groups 1, dilation 1) by a Winograd-like scheme.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
        Must equal the scheme's filter size ``r``.
    stride, dilation, groups : 1 only
        Anything else raises :class:`~discovery.core.errors.InvalidInputError`.
    padding : int, (int, int), 'valid' or 'same'
    bias : bool, default True
    padding_mode : 'zeros' only
    device, dtype : optional
    scheme : Scheme, optional
        An exact ``correlation2d`` scheme; default the Cook–Toom
        F(2x2, kernel) of :func:`discovery.winograd.transforms.best_known`.
    backend : {"torch", "cpp"}, default "torch"
        "torch" runs the transforms as torch operations (differentiable,
        TorchScript, any device).  "cpp" runs the whole layer as a fused C++
        kernel generated for the scheme (:mod:`discovery.layers.winograd_kernel`,
        compiled on first use, seconds; CPU inference in float32/float64,
        input tiles up to 8 x 8) and falls back to "torch" where a gradient
        is needed, for other dtypes or devices, and -- with one
        :class:`~discovery.layers.winograd_kernel.KernelWarning` -- when the
        kernel cannot be built.

    Shape
    -----
    Input ``(N, C, H, W)`` (or ``(C, H, W)``), output as ``nn.Conv2d``'s.

    Examples
    --------
    >>> import torch
    >>> from discovery.winograd.cooktoom import best_known
    >>> conv = torch.nn.Conv2d(3, 4, 3, padding=1, dtype=torch.float64)
    >>> fast = WinogradConv2d.from_conv2d(conv, best_known((4, 4), (3, 3)))
    >>> fast
    WinogradConv2d(3, 4, kernel_size=(3, 3), padding=(1, 1, 1, 1), bias=True, scheme=F(4x4,3x3), rank=36)
    >>> x = torch.randn(2, 3, 9, 7, dtype=torch.float64)
    >>> torch.allclose(fast(x), conv(x))
    True
    """

    in_channels: int
    out_channels: int
    rank: int
    separable: bool
    backend: str
    __jit_unused_properties__ = ["kernel_ready"]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
        *,
        scheme: Optional[Scheme] = None,
        backend: str = "torch",
    ):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            positive_int(value, name)
        kernel = _pair(kernel_size, "kernel_size")
        if _pair(stride, "stride") != (1, 1):
            raise InvalidInputError(f"WinogradConv2d computes stride 1 only, got stride {stride!r}")
        if _pair(dilation, "dilation") != (1, 1):
            raise InvalidInputError(f"WinogradConv2d computes dilation 1 only, got dilation {dilation!r}")
        if groups != 1:
            raise InvalidInputError(f"WinogradConv2d computes groups=1 only, got groups={groups!r}")
        if padding_mode != "zeros":
            raise InvalidInputError(f"WinogradConv2d pads with zeros only, got padding_mode={padding_mode!r}")
        if scheme is None:
            scheme = best_known((2, 2), kernel)
        scheme = checked_scheme(scheme, Correlation2D, "WinogradConv2d")
        problem = scheme.problem
        if tuple(problem.r) != kernel:
            raise InvalidInputError(
                f"the scheme {problem.spec} is for {problem.r[0]}x{problem.r[1]} filters, "
                f"but kernel_size is {kernel[0]}x{kernel[1]}"
            )
        self.scheme = scheme
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = kernel
        self.padding = _padding(padding, kernel)
        self.tile = [int(problem.m[0]), int(problem.m[1])]
        self.filter = [kernel[0], kernel[1]]
        self.rank = scheme.rank
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty((self.out_channels, self.in_channels) + kernel, **factory))
        self.bias = nn.Parameter(torch.empty(self.out_channels, **factory)) if bias else None
        self._set_transforms(scheme)
        if backend not in ("torch", "cpp"):
            raise InvalidInputError(f"backend must be 'torch' or 'cpp', got {backend!r}")
        self._kernel = None
        if backend == "cpp":
            transforms = winograd_kernel.TileTransforms.from_scheme(scheme)  # a tile too large: clear error
            try:
                self._kernel = winograd_kernel.build(transforms)  # compile now, not in forward
            except winograd_kernel.KernelError as exc:
                _warn_once(f"WinogradConv2d(backend='cpp') uses the torch path: {exc}")
        self.backend = backend
        self.register_buffer("weight_transformed", torch.empty(0, **factory))
        self._weight_version = (-1, -1)
        self.reset_parameters()

    def _set_transforms(self, scheme: Scheme) -> None:
        try:
            tr = to_transforms(scheme)
        except InvalidInputError:
            tr = None
        self.separable = isinstance(tr, Winograd2D)
        self.register_buffer("filter_t", _float(scheme.U))  # (R, r1 r2)
        if self.separable:
            self.register_buffer("data_t", _float(tr.rows.BT))
            self.register_buffer("data_t2", _float(tr.cols.BT))
            self.register_buffer("out_t", _float(tr.rows.AT))
            self.register_buffer("out_t2", _float(tr.cols.AT))
        else:
            self.register_buffer("data_t", _float(scheme.V))
            self.register_buffer("data_t2", torch.zeros(0, dtype=torch.float64))
            self.register_buffer("out_t", _float(scheme.W.T))
            self.register_buffer("out_t2", torch.zeros(0, dtype=torch.float64))

    def reset_parameters(self) -> None:
        """``nn.Conv2d``'s initialisation, then the filter transform."""
        nn.Conv2d.reset_parameters(self)  # type: ignore[arg-type]
        self.refresh()

    @classmethod
    def from_conv2d(cls, conv: nn.Conv2d, scheme: Optional[Scheme] = None,
                    backend: str = "torch") -> "WinogradConv2d":
        """A copy of ``conv`` (weights, bias, padding, dtype, device) computed by ``scheme``.

        Raises
        ------
        InvalidInputError
            When ``conv`` is not eligible (stride, dilation, groups, padding
            mode, kernel size) or the scheme is of the wrong kind.
        """
        if not isinstance(conv, nn.Conv2d):
            raise InvalidInputError(f"from_conv2d needs an nn.Conv2d, got {type(conv).__name__}")
        w = conv.weight
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    conv.dilation, conv.groups, conv.bias is not None, conv.padding_mode,
                    device=w.device, dtype=w.dtype, scheme=scheme, backend=backend)
        with torch.no_grad():
            layer.weight.copy_(w)
            if conv.bias is not None:
                layer.bias.copy_(conv.bias)
        layer.refresh()
        return layer

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"padding={tuple(self.padding)}, bias={self.bias is not None}, "
            f"scheme={self.scheme.problem.spec}, rank={self.rank}"
            + (f", backend={self.backend!r}" if self.backend != "torch" else "")
        )

    def _transform_weight(self, weight: Tensor) -> Tensor:
        k_out, c_in = weight.shape[0], weight.shape[1]
        u = self.filter_t.to(device=weight.device)
        g = torch.matmul(weight.to(torch.float64).reshape(k_out * c_in, -1), u.t())
        return g.reshape(k_out, c_in, -1).permute(2, 1, 0).contiguous().to(weight.dtype)

    @torch.jit.unused
    def refresh(self) -> None:
        """Recompute the cached filter transform from ``weight``."""
        with torch.no_grad():
            self.weight_transformed = self._transform_weight(self.weight.detach())
        self._weight_version = (self.weight._version, self.weight.data_ptr())

    @torch.jit.unused
    def _refresh_if_changed(self) -> None:
        if self._weight_version != (self.weight._version, self.weight.data_ptr()):
            self.refresh()

    def multiplications(self, input_shape) -> MultiplicationCount:
        """Multiplications for an input ``(N, C, H, W)``: the scheme's against direct convolution.

        Examples
        --------
        >>> from discovery.winograd.cooktoom import best_known
        >>> layer = WinogradConv2d(64, 64, 3, padding=1, scheme=best_known((4, 4), (3, 3)))
        >>> layer.multiplications((1, 64, 56, 56)).ratio
        0.25
        """
        try:
            n, c, h, w = (int(s) for s in input_shape)
        except (TypeError, ValueError):
            raise InvalidInputError(f"input_shape must be (N, C, H, W), got {input_shape!r}") from None
        if c != self.in_channels or min(n, h, w) < 1:
            raise InvalidInputError(f"input_shape must be (N, {self.in_channels}, H, W), got {tuple(input_shape)}")
        ho = h + self.padding[2] + self.padding[3] - self.filter[0] + 1
        wo = w + self.padding[0] + self.padding[1] - self.filter[1] + 1
        if ho < 1 or wo < 1:
            raise InvalidInputError(f"input {h}x{w} is smaller than the kernel after padding")
        tiles = n * (-(-ho // self.tile[0])) * (-(-wo // self.tile[1]))
        per_pair = self.in_channels * self.out_channels
        return MultiplicationCount(tiles * self.rank * per_pair,
                                   n * ho * wo * self.filter[0] * self.filter[1] * per_pair)

    def forward(self, x: Tensor) -> Tensor:
        unbatched = x.dim() == 3
        if unbatched:
            x = x.unsqueeze(0)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError("WinogradConv2d: input must be (N, " + str(self.in_channels) + ", H, W)")
        if not x.is_floating_point():
            raise ValueError("WinogradConv2d needs a floating-point input")
        dtype = x.dtype
        if not torch.jit.is_scripting() and self._cpp_ok(x):
            y = self._forward_cpp(x)
            return y.squeeze(0) if unbatched else y
        if torch.jit.is_scripting():
            g = self.weight_transformed
        elif torch.is_grad_enabled() and self.weight.requires_grad:
            g = self._transform_weight(self.weight)
        else:
            self._refresh_if_changed()
            g = self.weight_transformed
        bias = self.bias
        if bias is not None:
            bias = bias.to(dtype)
        y = winograd_conv2d(
            x, g.to(dtype), bias, self.padding, self.tile, self.filter, self.separable,
            self.data_t.to(dtype), self.data_t2.to(dtype), self.out_t.to(dtype), self.out_t2.to(dtype),
        )
        return y.squeeze(0) if unbatched else y

    @property
    def kernel_ready(self) -> bool:
        """Whether ``backend="cpp"`` has its fused kernel (False: it runs the torch path)."""
        return self._kernel is not None

    @torch.jit.unused
    def _cpp_ok(self, x: Tensor) -> bool:
        grad = torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad
                                            or (self.bias is not None and self.bias.requires_grad))
        return (self._kernel is not None and not grad and x.device.type == "cpu"
                and x.dtype in (torch.float32, torch.float64))

    @torch.jit.unused
    def _forward_cpp(self, x: Tensor) -> Tensor:
        self._refresh_if_changed()
        dtype = x.dtype
        n, _, height, width = x.shape
        left, right, top, bottom = self.padding
        ho = height + top + bottom - self.filter[0] + 1
        wo = width + left + right - self.filter[1] + 1
        if ho < 1 or wo < 1:
            raise ValueError(f"WinogradConv2d: the padded input is smaller than the kernel {self.kernel_size}")
        th, tw = -(-ho // self.tile[0]), -(-wo // self.tile[1])
        g = self.weight_transformed.to(dtype)  # (R, C, K)
        bias = None if self.bias is None else self.bias.detach().to(dtype)
        y = torch.empty((n, self.out_channels, ho, wo), dtype=dtype, device=x.device)
        return self._kernel.forward(x.contiguous(), g, bias, y, top, left, th, tw)


def _eligible(conv: nn.Conv2d, r: Tuple[int, int]) -> bool:
    return (
        tuple(conv.kernel_size) == tuple(r)
        and tuple(conv.stride) == (1, 1)
        and tuple(conv.dilation) == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
    )


def convert(model: nn.Module, scheme: Scheme, backend: str = "torch") -> nn.Module:
    """Swap every eligible ``nn.Conv2d`` in ``model`` for a :class:`WinogradConv2d`.

    Eligible: kernel equal to the scheme's filter size, stride 1, dilation 1,
    groups 1, zero padding.  Other modules are left as they are.  The model is
    changed in place and returned (a bare eligible ``Conv2d`` is returned
    converted).  ``backend`` is passed to :class:`WinogradConv2d`.

    Raises
    ------
    InvalidInputError, NotExactError
        For a scheme that is not an exact ``correlation2d`` scheme.

    Examples
    --------
    >>> import torch
    >>> from discovery.winograd.cooktoom import best_known
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.Conv2d(8, 8, 3, stride=2), torch.nn.Conv2d(8, 4, 1))
    >>> [type(m).__name__ for m in convert(net, best_known((2, 2), (3, 3)))]
    ['WinogradConv2d', 'ReLU', 'Conv2d', 'Conv2d']
    """
    scheme = checked_scheme(scheme, Correlation2D, "convert")
    r = tuple(scheme.problem.r)
    if isinstance(model, nn.Conv2d):
        return WinogradConv2d.from_conv2d(model, scheme, backend) if _eligible(model, r) else model
    if not isinstance(model, nn.Module):
        raise InvalidInputError(f"convert needs an nn.Module, got {type(model).__name__}")
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Conv2d) and _eligible(child, r):
            setattr(model, name, WinogradConv2d.from_conv2d(child, scheme, backend))
        elif not isinstance(child, nn.Conv2d):
            convert(child, scheme, backend)
    return model
