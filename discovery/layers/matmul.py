"""Fixed fast matrix products: an exact matmul scheme as a PyTorch layer.

A ``matmul(k, m, n)`` scheme of rank R multiplies a k x m block matrix by an
m x n block matrix with R block products (see :mod:`discovery.core.problems` for
the index conventions)::

    A~_r = sum_a U[r, a] A_a      B~_r = sum_b V[r, b] B_b
    P_r  = A~_r @ B~_r             C_c  = sum_r W[r, c] P_r

Applied recursively for ``levels`` levels, a product of large matrices costs
``R**levels`` products of blocks ``k**levels`` (``m**levels``, ``n**levels``)
times smaller.  Sizes that do not divide are zero-padded to the next multiple
of the block sizes at each level, and the padding is cropped from the result.

Two ways of running the same algorithm:

* a batched, differentiable, TorchScript-friendly path (block transforms as
  small matrix products over the block index, one batched ``matmul`` for all
  ``R**levels`` products), used for any scheme;
* an in-place schedule for Winograd's variant of Strassen's algorithm
  (:func:`discovery.algebra.literature.strassen_winograd`): operand sums written into
  reused workspaces, products written straight into the blocks of the output,
  the last additions fused into ``addmm_`` -- used in eager mode when no
  gradient is needed and every level's sizes are even.  This is the path the
  speed benchmark (``benchmarks/layers.py``) measures.

:class:`FastLinear` is an ``nn.Linear`` whose weight plays the role of ``A``:
``A~ = W_a vec(A)`` is computed once (and again only when the weight
changes), as StrassenNets does at inference time.
"""


from typing import Dict, List, NamedTuple, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from discovery.core.checks import positive_int
from discovery.core.errors import InvalidInputError, NotExactError
from discovery.algebra.literature import strassen_winograd
from discovery.core.problems import MatMul
from discovery.core.scheme import Scheme
from verify import verify_exact

__all__ = ["FastMatmul", "FastLinear", "MultiplicationCount", "checked_scheme"]


# --------------------------------------------------------------- validation
def checked_scheme(scheme: object, kind: type, what: str) -> Scheme:
    """Return ``scheme`` if a layer may be built from it, else raise.

    A layer needs a :class:`~discovery.core.scheme.Scheme` of the right problem
    kind, over Z or Q (F2 schemes compute modulo 2), that is exact.

    Raises
    ------
    InvalidInputError
        Not a scheme, a scheme for another kind of problem, or over F2.
    NotExactError
        The scheme does not compute its problem exactly
        (:func:`verify.verify_exact`).
    """
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"{what} needs a Scheme, got {type(scheme).__name__}")
    if not isinstance(scheme.problem, kind):
        raise InvalidInputError(
            f"{what} needs a {kind.kind} scheme, got a {scheme.problem.kind} scheme ({scheme.problem.spec})"
        )
    if scheme.field == "F2":
        raise InvalidInputError(f"{what} needs a scheme over Z or Q; an F2 scheme only computes modulo 2")
    result = verify_exact(scheme)
    if not result.ok:
        raise NotExactError(f"refusing to build {what} from a scheme that is not exact: {result.reason}")
    return scheme


def _check_levels(levels: object) -> int:
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or int(levels) < 0:
        raise InvalidInputError(f"levels must be an integer >= 0, got {levels!r}")
    if int(levels) > 8:
        raise InvalidInputError(f"levels = {levels} is more than the supported 8")
    return int(levels)


def _factor_buffers(scheme: Scheme) -> Tuple[Tensor, Tensor, Tensor]:
    u, v, w = scheme.float_factors(np.float64)
    return torch.tensor(u), torch.tensor(v), torch.tensor(np.ascontiguousarray(w.T))


def _is_strassen_winograd(scheme: Scheme) -> bool:
    ref = strassen_winograd()
    return scheme.problem == ref.problem and all(
        np.array_equal(a, b) for a, b in zip(scheme.factors, ref.factors)
    )


# ----------------------------------------------------- the batched algorithm
def _ceil_to(value: int, block: int) -> int:
    return -(-value // block) * block


def _pad_to(x: Tensor, rows: int, cols: int) -> Tensor:
    pr = rows - x.shape[-2]
    pc = cols - x.shape[-1]
    if pr == 0 and pc == 0:
        return x
    return F.pad(x, [0, pc, 0, pr])


def _split_blocks(x: Tensor, p: int, q: int) -> Tensor:
    """``(..., P, Q) -> (..., p*q, P/p, Q/q)``, block ``(i, j)`` at ``i*q + j``."""
    lead = list(x.shape[:-2])
    rows = x.shape[-2] // p
    cols = x.shape[-1] // q
    x = x.reshape(lead + [p, rows, q, cols]).transpose(-3, -2)
    return x.reshape(lead + [p * q, rows, cols])


def _merge_blocks(x: Tensor, p: int, q: int) -> Tensor:
    """Inverse of :func:`_split_blocks`: ``(..., p*q, Pb, Qb) -> (..., p*Pb, q*Qb)``."""
    lead = list(x.shape[:-3])
    rows = x.shape[-2]
    cols = x.shape[-1]
    x = x.reshape(lead + [p, q, rows, cols]).transpose(-3, -2)
    return x.reshape(lead + [p * rows, q * cols])


def _combine(coef: Tensor, x: Tensor) -> Tensor:
    """Linear forms over the block index: ``(R, a) x (..., a, i, j) -> (..., R, i, j)``."""
    lead = list(x.shape[:-3])
    a = x.shape[-3]
    rows = x.shape[-2]
    cols = x.shape[-1]
    y = torch.matmul(coef, x.reshape(lead + [a, rows * cols]))
    return y.reshape(lead + [coef.shape[0], rows, cols])


def _transform(x: Tensor, coef: Tensor, p: int, q: int, levels: int) -> Tensor:
    """Apply an operand transform (U with k x m blocks, or V with m x n) ``levels`` times."""
    for _ in range(levels):
        x = _pad_to(x, _ceil_to(x.shape[-2], p), _ceil_to(x.shape[-1], q))
        x = _combine(coef, _split_blocks(x, p, q))
    return x


def _untransform(c: Tensor, coef_t: Tensor, p: int, q: int, sizes: List[List[int]]) -> Tensor:
    """Undo the levels on the product side: ``sizes[l]`` is (rows, cols) before level ``l``."""
    for lvl in range(len(sizes) - 1, -1, -1):
        c = _merge_blocks(_combine(coef_t, c), p, q)
        c = c[..., : sizes[lvl][0], : sizes[lvl][1]]
    return c


def _output_sizes(rows: int, cols: int, p: int, q: int, levels: int) -> List[List[int]]:
    sizes: List[List[int]] = []
    for _ in range(levels):
        sizes.append([rows, cols])
        rows = _ceil_to(rows, p) // p
        cols = _ceil_to(cols, q) // q
    return sizes


def _even_levels(sizes: Tuple[int, ...], levels: int) -> bool:
    return all(s % (2**levels) == 0 for s in sizes)


# ------------------------------------------- in-place Strassen-Winograd path
class _Workspace:
    """Reused scratch blocks (allocating fresh large tensors costs page faults)."""

    def __init__(self) -> None:
        self._blocks: Dict[tuple, Tensor] = {}

    def get(self, key: tuple, shape: Tuple[int, int], like: Tensor) -> Tensor:
        """A ``shape`` block laid out like ``like`` (row- or column-major), so
        that element-wise sums with blocks of ``like`` run along memory."""
        column_major = like.dim() == 2 and like.stride(0) == 1 and like.stride(1) != 1
        full = (key, tuple(shape), like.dtype, like.device, column_major)
        buf = self._blocks.get(full)
        if buf is None:
            if column_major:
                buf = torch.empty((shape[1], shape[0]), dtype=like.dtype, device=like.device).t()
            else:
                buf = torch.empty(shape, dtype=like.dtype, device=like.device)
            self._blocks[full] = buf
        return buf

    def clear(self) -> None:
        self._blocks.clear()


def _sw_product(a, b: Tensor, c: Tensor, level: int, ws: _Workspace, pre: bool) -> None:
    """``c = a @ b`` in place by Winograd's variant of Strassen's algorithm.

    ``a`` is a matrix, or (``pre``) a tensor whose first index runs over the
    seven transformed operands ``A~_r`` of each level.  ``c`` may be a strided
    view (a block of a larger output).  Schedule: 8 operand sums into
    workspaces, 7 recursive products, 7 block additions of which three are
    fused into ``addmm_`` at the last level; one extra block ``P``.
    """
    if level == 0:
        torch.mm(a, b, out=c)
        return
    kh, nh = b.shape[0] // 2, b.shape[1] // 2
    mh = c.shape[0] // 2
    b11, b12, b21, b22 = b[:kh, :nh], b[:kh, nh:], b[kh:, :nh], b[kh:, nh:]
    c11, c12, c21, c22 = c[:mh, :nh], c[:mh, nh:], c[mh:, :nh], c[mh:, nh:]
    t1, t2, t3, t4 = (ws.get((level, "T", i), (kh, nh), b) for i in range(4))
    torch.sub(b12, b11, out=t1)
    torch.sub(b22, t1, out=t2)
    torch.sub(b22, b12, out=t3)
    torch.sub(t2, b21, out=t4)
    if pre:
        ops = [a[i] for i in range(7)]
    else:
        ah = a.shape[1] // 2
        a11, a12, a21, a22 = a[:mh, :ah], a[:mh, ah:], a[mh:, :ah], a[mh:, ah:]
        s1, s2, s3, s4 = (ws.get((level, "S", i), (mh, ah), a) for i in range(4))
        torch.add(a21, a22, out=s1)
        torch.sub(s1, a11, out=s2)
        torch.sub(a11, a21, out=s3)
        torch.sub(a12, s2, out=s4)
        ops = [a11, a12, s4, a22, s1, s2, s3]
    bops = [b11, b21, b22, t4, t1, t2, t3]
    p = ws.get((level, "P"), (mh, nh), c)

    def product(r: int, out: Tensor) -> None:
        _sw_product(ops[r], bops[r], out, level - 1, ws, pre)

    def accumulate(r: int, out: Tensor, sign: int) -> None:
        if level == 1:
            out.addmm_(ops[r], bops[r], alpha=sign)
        else:
            product(r, p)
            out.add_(p, alpha=sign)

    product(5, c21)  # m6 = S2 T2
    product(0, c11)  # m1 = a11 b11
    c21.add_(c11)  # u2 = m1 + m6
    accumulate(1, c11, 1)  # c11 = m1 + m2
    product(6, c22)  # m7 = S3 T3
    c22.add_(c21)  # u3 = u2 + m7
    product(4, p)  # m5 = S1 T1
    torch.add(c21, p, out=c12)  # u4 = u2 + m5
    c21.copy_(c22)  # u3
    c22.add_(p)  # c22 = u3 + m5
    accumulate(2, c12, 1)  # c12 = u4 + m3
    accumulate(3, c21, -1)  # c21 = u3 - m4


# ------------------------------------------------------------------- counts
class MultiplicationCount(NamedTuple):
    """Scalar multiplications of a layer's product against the plain product."""

    fast: int
    plain: int

    @property
    def ratio(self) -> float:
        """``fast / plain`` (below 1 means fewer multiplications)."""
        return self.fast / self.plain if self.plain else 1.0


def _count(rows: int, inner: int, cols: int, k: int, m: int, n: int, rank: int, levels: int) -> int:
    count = 1
    for _ in range(levels):
        rows, inner, cols = _ceil_to(rows, k) // k, _ceil_to(inner, m) // m, _ceil_to(cols, n) // n
        count *= rank
    return count * rows * inner * cols


def _positive_sizes(shape, names: str) -> List[int]:
    try:
        sizes = [int(s) for s in shape]
    except (TypeError, ValueError):
        raise InvalidInputError(f"shape must be a sequence of integers ({names}), got {shape!r}") from None
    if any(s < 1 for s in sizes):
        raise InvalidInputError(f"shape entries must be positive, got {tuple(sizes)}")
    return sizes


# -------------------------------------------------------------------- layers
class FastMatmul(nn.Module):
    r"""``A @ B`` (batched, broadcast like :func:`torch.matmul`) by an exact scheme.

    Parameters
    ----------
    scheme : Scheme
        An exact ``matmul(k, m, n)`` scheme over Z or Q.
    levels : int, default 1
        Recursion depth; 0 is the plain product.

    Raises
    ------
    InvalidInputError
        For a scheme of another kind, an F2 scheme or a bad ``levels``.
    NotExactError
        For a scheme that is not exact.

    Shape
    -----
    ``a``: ``(*, M, K)``, ``b``: ``(*, K, N)``, output ``(*, M, N)``; float32
    or float64, CPU or CUDA.

    Examples
    --------
    >>> import torch
    >>> from discovery.algebra.literature import strassen_winograd
    >>> layer = FastMatmul.from_scheme(strassen_winograd(), levels=2)
    >>> layer
    FastMatmul(matmul 2x2x2, rank=7, levels=2)
    >>> a, b = torch.randn(5, 9, dtype=torch.float64), torch.randn(9, 6, dtype=torch.float64)
    >>> torch.allclose(layer(a, b), a @ b)
    True
    >>> layer.multiplications((8, 8, 8))
    MultiplicationCount(fast=392, plain=512)
    """

    k: int
    m: int
    n: int
    rank: int
    levels: int
    fast_schedule: bool

    def __init__(self, scheme: Scheme, levels: int = 1):
        super().__init__()
        scheme = checked_scheme(scheme, MatMul, "FastMatmul")
        self.scheme = scheme
        p = scheme.problem
        self.k, self.m, self.n = p.k, p.m, p.n
        self.rank = scheme.rank
        self.levels = _check_levels(levels)
        self.fast_schedule = _is_strassen_winograd(scheme)
        u, v, wt = _factor_buffers(scheme)
        self.register_buffer("U", u)
        self.register_buffer("V", v)
        self.register_buffer("WT", wt)
        self._workspace = _Workspace()

    @classmethod
    def from_scheme(cls, scheme: Scheme, levels: int = 1) -> "FastMatmul":
        """Build the layer from a verified scheme (same as the constructor)."""
        return cls(scheme, levels)

    def extra_repr(self) -> str:
        return f"matmul {self.k}x{self.m}x{self.n}, rank={self.rank}, levels={self.levels}"

    def multiplications(self, shape) -> MultiplicationCount:
        """Scalar multiplications for ``A @ B`` of shape ``(*batch, M, K, N)``.

        Examples
        --------
        >>> from discovery.algebra.literature import strassen
        >>> FastMatmul(strassen(), levels=1).multiplications((3, 4, 4, 4)).ratio
        0.875
        """
        sizes = _positive_sizes(shape, "*batch, M, K, N")
        if len(sizes) < 3:
            raise InvalidInputError(f"shape must be (*batch, M, K, N), got {tuple(sizes)}")
        batch = int(np.prod(sizes[:-3], dtype=np.int64)) if len(sizes) > 3 else 1
        rows, inner, cols = sizes[-3:]
        fast = _count(rows, inner, cols, self.k, self.m, self.n, self.rank, self.levels)
        return MultiplicationCount(batch * fast, batch * rows * inner * cols)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        if a.dim() < 2 or b.dim() < 2:
            raise ValueError("FastMatmul needs operands with at least 2 dimensions")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(
                "FastMatmul: inner sizes differ: a is (..., "
                + str(a.shape[-2]) + ", " + str(a.shape[-1]) + "), b is (..., "
                + str(b.shape[-2]) + ", " + str(b.shape[-1]) + ")"
            )
        if not (a.is_floating_point() and b.is_floating_point()):
            raise ValueError("FastMatmul needs floating-point operands")
        if self.levels == 0:
            return torch.matmul(a, b)
        if not torch.jit.is_scripting() and self._fast_ok(a, b):
            return self._forward_inplace(a, b)
        return self._forward_batched(a, b)

    def _forward_batched(self, a: Tensor, b: Tensor) -> Tensor:
        dtype = torch.promote_types(a.dtype, b.dtype)
        a = a.to(dtype)
        b = b.to(dtype)
        u = self.U.to(dtype=dtype, device=a.device)
        v = self.V.to(dtype=dtype, device=a.device)
        wt = self.WT.to(dtype=dtype, device=a.device)
        at = _transform(a, u, self.k, self.m, self.levels)
        bt = _transform(b, v, self.m, self.n, self.levels)
        sizes = _output_sizes(a.shape[-2], b.shape[-1], self.k, self.n, self.levels)
        return _untransform(torch.matmul(at, bt), wt, self.k, self.n, sizes)

    @torch.jit.unused
    def _fast_ok(self, a: Tensor, b: Tensor) -> bool:
        grad = torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)
        return (
            self.fast_schedule
            and not grad
            and a.dtype == b.dtype
            and a.dtype in (torch.float32, torch.float64)
            and a.device == b.device
            and _even_levels((a.shape[-2], a.shape[-1], b.shape[-1]), self.levels)
        )

    @torch.jit.unused
    def _forward_inplace(self, a: Tensor, b: Tensor) -> Tensor:
        batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        out = torch.empty(batch + (a.shape[-2], b.shape[-1]), dtype=a.dtype, device=a.device)
        a = a.expand(batch + a.shape[-2:]).reshape((-1,) + a.shape[-2:])
        b = b.expand(batch + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
        flat = out.view((-1,) + out.shape[-2:])
        for i in range(flat.shape[0]):
            _sw_product(a[i], b[i], flat[i], self.levels, self._workspace, pre=False)
        return out

    def clear_workspace(self) -> None:
        """Free the cached scratch blocks of the in-place schedule."""
        self._workspace.clear()


class FastLinear(nn.Module):
    r"""``nn.Linear`` computed by an exact matmul scheme, weight transformed once.

    ``y = x W^T + b`` is computed as ``(W x^T)^T`` with ``W`` in the role of
    ``A``: the transformed weight blocks ``A~ = W_a vec(W)`` are a buffer
    (``weight_transformed``), computed at construction and recomputed when
    the weight changes (or by :meth:`refresh`).  While the weight needs a
    gradient the transform is recomputed in the forward pass, so the layer
    also trains.

    Parameters
    ----------
    in_features, out_features : int
        As for ``nn.Linear``.
    scheme : Scheme
        An exact ``matmul(k, m, n)`` scheme over Z or Q.
    levels : int, default 1
        Recursion depth.
    bias : bool, default True
    device, dtype : optional
        Of the parameters.

    Shape
    -----
    Input ``(*, in_features)``, output ``(*, out_features)``.

    Examples
    --------
    >>> import torch
    >>> from discovery.algebra.literature import strassen_winograd
    >>> lin = torch.nn.Linear(10, 7, dtype=torch.float64)
    >>> fast = FastLinear.from_linear(lin, strassen_winograd(), levels=2)
    >>> fast
    FastLinear(in_features=10, out_features=7, bias=True, matmul 2x2x2, rank=7, levels=2)
    >>> x = torch.randn(3, 5, 10, dtype=torch.float64)
    >>> torch.allclose(fast(x), lin(x))
    True
    """

    in_features: int
    out_features: int
    k: int
    m: int
    n: int
    rank: int
    levels: int
    fast_schedule: bool

    def __init__(
        self,
        in_features: int,
        out_features: int,
        scheme: Scheme,
        levels: int = 1,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            positive_int(value, name)
        scheme = checked_scheme(scheme, MatMul, "FastLinear")
        self.scheme = scheme
        p = scheme.problem
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.k, self.m, self.n = p.k, p.m, p.n
        self.rank = scheme.rank
        self.levels = _check_levels(levels)
        self.fast_schedule = _is_strassen_winograd(scheme)
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty((self.out_features, self.in_features), **factory))
        self.bias = nn.Parameter(torch.empty(self.out_features, **factory)) if bias else None
        u, v, wt = _factor_buffers(scheme)
        self.register_buffer("U", u)
        self.register_buffer("V", v)
        self.register_buffer("WT", wt)
        self.register_buffer("weight_transformed", torch.empty(0, **factory))
        self._workspace = _Workspace()
        self._weight_version = (-1, -1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.Linear``'s initialisation, then the weight transform."""
        nn.Linear.reset_parameters(self)  # type: ignore[arg-type]
        self.refresh()

    @classmethod
    def from_linear(cls, linear: nn.Linear, scheme: Scheme, levels: int = 1) -> "FastLinear":
        """A copy of ``linear`` (weights, bias, dtype, device) computed by ``scheme``."""
        if not isinstance(linear, nn.Linear):
            raise InvalidInputError(f"from_linear needs an nn.Linear, got {type(linear).__name__}")
        w = linear.weight
        layer = cls(linear.in_features, linear.out_features, scheme, levels, linear.bias is not None,
                    device=w.device, dtype=w.dtype)
        with torch.no_grad():
            layer.weight.copy_(w)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        layer.refresh()
        return layer

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, matmul {self.k}x{self.m}x{self.n}, "
            f"rank={self.rank}, levels={self.levels}"
        )

    def _transform_weight(self, weight: Tensor) -> Tensor:
        u = self.U.to(dtype=weight.dtype, device=weight.device)
        return _transform(weight, u, self.k, self.m, self.levels)

    @torch.jit.unused
    def refresh(self) -> None:
        """Recompute the cached weight transform ``A~`` from ``weight``."""
        with torch.no_grad():
            self.weight_transformed = self._transform_weight(self.weight.detach()).contiguous()
        self._weight_version = (self.weight._version, self.weight.data_ptr())

    def multiplications(self, shape) -> MultiplicationCount:
        """Scalar multiplications for an input of shape ``(*, in_features)``.

        Examples
        --------
        >>> from discovery.algebra.literature import strassen
        >>> FastLinear(8, 8, strassen(), levels=3).multiplications((8, 8))
        MultiplicationCount(fast=343, plain=512)
        """
        sizes = _positive_sizes(shape, "*, in_features")
        if not sizes or sizes[-1] != self.in_features:
            raise InvalidInputError(f"input shape must end with in_features = {self.in_features}, got {tuple(sizes)}")
        cols = int(np.prod(sizes[:-1], dtype=np.int64)) if len(sizes) > 1 else 1
        fast = _count(self.out_features, self.in_features, cols, self.k, self.m, self.n, self.rank, self.levels)
        return MultiplicationCount(fast, self.out_features * self.in_features * cols)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 1 or x.shape[-1] != self.in_features:
            raise ValueError("FastLinear: input must end with in_features = " + str(self.in_features))
        lead = list(x.shape[:-1])
        x2 = x.reshape(-1, self.in_features)
        if self.levels == 0:
            y = torch.matmul(x2, self.weight.t())
        elif not torch.jit.is_scripting() and self._fast_ok(x2):
            y = self._forward_inplace(x2)
        else:
            y = self._forward_batched(x2)
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(lead + [self.out_features])

    def _current_transform(self, dtype: torch.dtype) -> Tensor:
        if torch.jit.is_scripting():
            return self.weight_transformed.to(dtype)
        if torch.is_grad_enabled() and self.weight.requires_grad:
            return self._transform_weight(self.weight).to(dtype)
        self._refresh_if_changed()
        return self.weight_transformed.to(dtype)

    @torch.jit.unused
    def _refresh_if_changed(self) -> None:
        if self._weight_version != (self.weight._version, self.weight.data_ptr()):
            self.refresh()

    def _forward_batched(self, x2: Tensor) -> Tensor:
        dtype = torch.promote_types(x2.dtype, self.weight.dtype)
        v = self.V.to(dtype=dtype, device=x2.device)
        wt = self.WT.to(dtype=dtype, device=x2.device)
        at = self._current_transform(dtype)
        bt = _transform(x2.t().to(dtype), v, self.m, self.n, self.levels)
        sizes = _output_sizes(self.out_features, x2.shape[0], self.k, self.n, self.levels)
        return _untransform(torch.matmul(at, bt), wt, self.k, self.n, sizes).t()

    @torch.jit.unused
    def _fast_ok(self, x2: Tensor) -> bool:
        return (
            self.fast_schedule
            and not (torch.is_grad_enabled() and (x2.requires_grad or self.weight.requires_grad))
            and x2.dtype == self.weight.dtype
            and x2.dtype in (torch.float32, torch.float64)
            and _even_levels((self.out_features, self.in_features, x2.shape[0]), self.levels)
        )

    @torch.jit.unused
    def _forward_inplace(self, x2: Tensor) -> Tensor:
        self._refresh_if_changed()
        out = torch.empty((x2.shape[0], self.out_features), dtype=x2.dtype, device=x2.device)
        _sw_product(self.weight_transformed, x2.t(), out.t(), self.levels, self._workspace, pre=True)
        return out

    def clear_workspace(self) -> None:
        """Free the cached scratch blocks of the in-place schedule."""
        self._workspace.clear()
