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
  ``R**levels`` products);
* an in-place schedule compiled from the scheme's straight-line programs
  (:func:`discovery.codegen.generate.plan`: the program stored by ``bilinear
  optimize``, else the greedy elimination) by
  :mod:`discovery.layers.schedule`: operand sums into reused workspaces,
  products written straight into output blocks, accumulations fused into
  ``addmm_`` -- used in eager mode when no gradient is needed, for float32
  and float64, for any scheme.  Sizes are padded once, at the top, to
  multiples of the blocks of all levels.  This is the path the speed
  benchmark (``benchmarks/layers.py``) measures; ``schedule="handwritten"``
  selects the hand-written Strassen-Winograd schedule it is compared with.

An *alternative-basis* form of the scheme (Karstadt & Schwartz;
:mod:`discovery.codegen.basis`), stored in its meta by ``bilinear optimize``
or given as an :class:`~discovery.codegen.basis.AlternativeBasis`, runs with
``basis="alternative"``: the basis changes ``phi``, ``psi`` are applied to
the operands once per level at the root, the sparser core runs at every
level, and ``nu`` turns the result back.

:class:`FastLinear` is an ``nn.Linear`` whose weight plays the role of ``A``:
``A~ = W_a vec(A)`` is computed once (and again only when the weight
changes), as StrassenNets does at inference time.
"""


import functools
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from discovery.algebra.literature import strassen_winograd
from discovery.codegen.basis import AlternativeBasis
from discovery.codegen.cse import Program
from discovery.codegen.generate import factors_digest, plan
from discovery.codegen.minimize import minimize
from discovery.core.checks import positive_int
from discovery.core.errors import InvalidInputError, NotExactError, SchemeFormatError
from discovery.core.problems import MatMul
from discovery.core.scheme import Scheme
from discovery.layers import schedule as _schedule
from discovery.layers.schedule import Workspace as _Workspace
from verify import verify_exact

__all__ = ["FastMatmul", "FastLinear", "MultiplicationCount", "checked_scheme", "SCHEDULES", "BASES"]

#: In-place schedules: compiled from the scheme's programs, or hand-written (Strassen-Winograd only).
SCHEDULES = ("program", "handwritten")

#: Bases a layer runs its scheme in.
BASES = ("standard", "alternative")


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


def _power(base: int, exponent: int) -> int:
    out = 1
    for _ in range(exponent):
        out *= base
    return out


def _transform(x: Tensor, coef: Tensor, p: int, q: int, levels: int) -> Tensor:
    """Apply an operand transform (U with k x m blocks, or V with m x n) ``levels`` times.

    The operand is zero-padded once, at the top, to multiples of ``p**levels``
    and ``q**levels`` (the in-place schedule pads the same way).
    """
    x = _pad_to(x, _ceil_to(x.shape[-2], _power(p, levels)), _ceil_to(x.shape[-1], _power(q, levels)))
    for _ in range(levels):
        x = _combine(coef, _split_blocks(x, p, q))
    return x


def _untransform(c: Tensor, coef_t: Tensor, p: int, q: int, sizes: List[List[int]]) -> Tensor:
    """Undo the levels on the product side: ``sizes[0]`` is the (rows, cols) to crop to."""
    for _ in range(len(sizes)):
        c = _merge_blocks(_combine(coef_t, c), p, q)
    if len(sizes) > 0:
        c = c[..., : sizes[0][0], : sizes[0][1]]
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


def _check_schedule(scheme: Scheme, schedule: object, basis: object) -> Tuple[str, Optional[AlternativeBasis]]:
    if schedule not in SCHEDULES:
        raise InvalidInputError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    alt = _alternative(scheme, basis)
    if schedule == "handwritten":
        if not _is_strassen_winograd(scheme):
            raise InvalidInputError("schedule='handwritten' is Strassen-Winograd's schedule: it needs "
                                    "discovery.algebra.literature.strassen_winograd()")
        if alt is not None:
            raise InvalidInputError("schedule='handwritten' runs in the standard basis only")
    return str(schedule), alt


# ------------------------------------------- in-place Strassen-Winograd path
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


# ------------------------------------------------ schedules from programs
@functools.lru_cache(maxsize=128)
def _level(left: Optional[Program], right: Program, output: Program, leaf: bool,
           accumulate: bool) -> _schedule.LevelSchedule:
    return _schedule.compile_level(left, right, output, leaf, accumulate, tries=_tries(output.n_inputs))


def _tries(rank: int) -> int:
    """Orders tried per schedule: more for small ranks, where each try is cheap."""
    return max(24, min(160, 1600 // max(rank, 1)))


class _Schedules(dict):
    """``{(leaf, accumulate): LevelSchedule}``, compiled on first use (and cached across layers)."""

    def __init__(self, left: Optional[Program], right: Program, output: Program):
        super().__init__()
        self.programs = (left, right, output)

    def __missing__(self, key):
        value = _level(*self.programs, *key)
        self[key] = value
        return value


class _Basis:
    """A basis change ``x -> phi x`` over the p x q block index, one level at a time."""

    def __init__(self, program: Program, p: int, q: int):
        self.program, self.p, self.q = program, p, q

    def apply(self, src: Tensor, dst: Tensor, scratch: Tensor, levels: int) -> Tensor:
        """``phi^(x)levels`` of ``src``, ending in ``dst`` (``scratch``: same shape, ping-pong)."""
        p, q = self.p, self.q
        rows, cols = src.shape
        bufs = [dst, scratch] if levels % 2 == 1 else [scratch, dst]
        cur = src
        for lvl in range(levels):
            out = bufs[lvl % 2]
            outer_p, outer_q = p**lvl, q**lvl
            r, c = rows // (outer_p * p), cols // (outer_q * q)

            def views(x: Tensor) -> List[Tensor]:
                v = x.view(outer_p, p, r, outer_q, q, c)
                return [v[:, i, :, :, j, :] for i in range(p) for j in range(q)]

            _run_program(self.program, views(cur), views(out))
            cur = out
        return cur


def _run_program(program: Program, inputs: List[Tensor], outputs: List[Tensor]) -> None:
    """Outputs (views) of a linear program over same-shaped inputs, temporaries in fresh tensors."""
    values: List[Tuple[Tensor, float]] = [(x, 1.0) for x in inputs]
    for _, ca, a, cb, b in program.ops:
        (xa, sa), (xb, sb) = values[a], values[b]
        xs, ys = float(ca) * sa, float(cb) * sb
        values.append((torch.add(xa, xb, alpha=ys / xs), xs))
    for out, terms in zip(outputs, program.outputs):
        if not terms:
            out.zero_()
            continue
        (c0, v0), rest = terms[0], terms[1:]
        x0, s0 = values[v0]
        first = float(c0) * s0
        if rest:
            (c1, v1) = rest[0]
            x1, s1 = values[v1]
            torch.add(x0, x1, alpha=float(c1) * s1 / first, out=out)
            for c, v in rest[1:]:
                x, sv = values[v]
                out.add_(x, alpha=float(c) * sv / first)
            if first != 1.0:
                out.mul_(first)
        elif first == 1.0:
            out.copy_(x0)
        else:
            torch.mul(x0, first, out=out)


def _alternative(scheme: Scheme, basis) -> Optional[AlternativeBasis]:
    if isinstance(basis, AlternativeBasis):
        if basis.scheme != scheme:
            raise InvalidInputError("the AlternativeBasis is for another scheme")
        basis.verify()
        return basis
    if basis == "standard":
        return None
    if basis != "alternative":
        raise InvalidInputError(f"basis must be one of {', '.join(BASES)} or an AlternativeBasis, got {basis!r}")
    data = scheme.meta.get("alternative_basis")
    if data is None:
        raise InvalidInputError(
            "basis='alternative' needs a scheme saved by `bilinear optimize` (its meta holds the basis) "
            "or an AlternativeBasis (discovery.codegen.basis.alternative_basis)")
    try:
        return AlternativeBasis.from_json(scheme, data)
    except SchemeFormatError as exc:
        raise InvalidInputError(f"the scheme's alternative basis is unusable: {exc}") from None


def _stored_programs(alt: AlternativeBasis, key: str, names, mats) -> Optional[Tuple[Program, ...]]:
    data = alt.scheme.meta.get("alternative_basis")
    if not isinstance(data, dict) or data.get("factors") != factors_digest(alt.scheme):
        return None
    try:
        progs = tuple(Program.from_json(data["program"][key][name]) for name in names)
    except (KeyError, TypeError, SchemeFormatError):
        return None
    for prog, mat in zip(progs, mats):
        got = prog.matrix()
        if got.shape != mat.shape or not all(x == y for x, y in zip(got.ravel(), mat.ravel())):
            return None
    return progs


class _Engine:
    """What the in-place path runs: level schedules and, in an alternative basis, the basis changes."""

    def __init__(self, scheme: Scheme, alt: Optional[AlternativeBasis]):
        p = scheme.problem
        self.dims = (p.k, p.m, p.n)
        if alt is None:
            cp = plan(scheme)
            left, right, output = cp.left, cp.right, cp.output
            self.bases = None
        else:
            u, v, w = alt.core
            core_mats = (u, v, np.asarray(w, dtype=object).T)
            core = _stored_programs(alt, "core", ("left", "right", "output"), core_mats)
            if core is None:
                core = tuple(minimize(m, time_limit=1.0).program for m in core_mats)
            basis = _stored_programs(alt, "basis", ("phi", "psi", "nu"), (alt.phi, alt.psi, alt.nu))
            if basis is None:
                basis = tuple(minimize(m, time_limit=1.0).program for m in (alt.phi, alt.psi, alt.nu))
            left, right, output = core
            self.bases = (_Basis(basis[0], p.k, p.m), _Basis(basis[1], p.m, p.n), _Basis(basis[2], p.k, p.n))
        self.full = _Schedules(left, right, output)
        self.pre = _Schedules(None, right, output)
        self.additions = (left.additions, right.additions, output.additions)

    def product(self, a, b: Tensor, c: Tensor, levels: int, ws: _Workspace, pre: bool) -> None:
        """``c = a @ b`` (sizes divisible at every level; ``a`` pre-transformed when ``pre``)."""
        k, m, n = self.dims
        schedules = self.pre if pre else self.full
        if self.bases is None:
            _schedule.run(schedules, self.dims, a, b, c, levels, 1.0, False, ws, pre)
            return
        phi, psi, nu = self.bases
        if not pre:
            a = phi.apply(a, ws.get(("basis", "A", 0), tuple(a.shape), a),
                          ws.get(("basis", "A", 1), tuple(a.shape), a), levels)
        b = psi.apply(b, ws.get(("basis", "B", 0), tuple(b.shape), b),
                      ws.get(("basis", "B", 1), tuple(b.shape), b), levels)
        core_out = ws.get(("basis", "C", 0), tuple(c.shape), c)
        _schedule.run(schedules, self.dims, a, b, core_out, levels, 1.0, False, ws, pre)
        nu.apply(core_out, c, ws.get(("basis", "C", 1), tuple(c.shape), c), levels)


def _padded_product(engine_product, a: Tensor, b: Tensor, c: Tensor, blocks: Tuple[int, int, int],
                    ws: _Workspace) -> None:
    """``c = a @ b`` through ``engine_product`` after padding to multiples of ``blocks`` (rows, inner, cols)."""
    rows, inner = a.shape
    cols = b.shape[1]
    pr, pk, pc = _ceil_to(rows, blocks[0]), _ceil_to(inner, blocks[1]), _ceil_to(cols, blocks[2])
    if (pr, pk, pc) == (rows, inner, cols):
        engine_product(a, b, c)
        return
    ap = _pad_into(ws.get(("pad", "A"), (pr, pk), a), a)
    bp = _pad_into(ws.get(("pad", "B"), (pk, pc), b), b)
    cp = ws.get(("pad", "C"), (pr, pc), c)
    engine_product(ap, bp, cp)
    c.copy_(cp[:rows, :cols])


def _pad_into(buf: Tensor, x: Tensor) -> Tensor:
    r, c = x.shape
    if (r, c) == tuple(buf.shape):
        buf.copy_(x)
        return buf
    buf[:r, :c].copy_(x)
    buf[r:, :].zero_()
    buf[:r, c:].zero_()
    return buf


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
    schedule : {"program", "handwritten"}, default "program"
        The in-place schedule: compiled from the scheme's programs, or the
        hand-written Strassen-Winograd one (that scheme only; a reference).
    basis : {"standard", "alternative"} or AlternativeBasis, default "standard"
        Run the scheme in an alternative basis (the one stored by ``bilinear
        optimize`` in its meta, or the one given).

    Raises
    ------
    InvalidInputError
        For a scheme of another kind, an F2 scheme, a bad ``levels``,
        ``schedule`` or ``basis``.
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

    def __init__(self, scheme: Scheme, levels: int = 1, schedule: str = "program",
                 basis: Union[str, AlternativeBasis] = "standard"):
        super().__init__()
        scheme = checked_scheme(scheme, MatMul, "FastMatmul")
        self.scheme = scheme
        p = scheme.problem
        self.k, self.m, self.n = p.k, p.m, p.n
        self.rank = scheme.rank
        self.levels = _check_levels(levels)
        self.schedule, self._alt = _check_schedule(scheme, schedule, basis)
        self.basis = "standard" if self._alt is None else "alternative"
        self.fast_schedule = True
        self._engine = None
        u, v, wt = _factor_buffers(scheme)
        self.register_buffer("U", u)
        self.register_buffer("V", v)
        self.register_buffer("WT", wt)
        self._workspace = _Workspace()

    @classmethod
    def from_scheme(cls, scheme: Scheme, levels: int = 1, schedule: str = "program",
                    basis: Union[str, AlternativeBasis] = "standard") -> "FastMatmul":
        """Build the layer from a verified scheme (same as the constructor)."""
        return cls(scheme, levels, schedule, basis)

    def extra_repr(self) -> str:
        extra = "" if self.schedule == "program" else f", schedule={self.schedule!r}"
        extra += "" if self.basis == "standard" else ", basis='alternative'"
        return f"matmul {self.k}x{self.m}x{self.n}, rank={self.rank}, levels={self.levels}{extra}"

    @torch.jit.unused
    def program_additions(self) -> Tuple[int, int, int]:
        """Additions of the programs the in-place schedule runs (left, right, output; the core's
        in an alternative basis)."""
        return self._get_engine().additions

    @torch.jit.unused
    def _get_engine(self) -> "_Engine":
        if self._engine is None:
            self._engine = _Engine(self.scheme, self._alt)
        return self._engine

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
        ok = (
            not grad
            and a.dtype == b.dtype
            and a.dtype in (torch.float32, torch.float64)
            and a.device == b.device
        )
        if self.schedule == "handwritten":
            return ok and _even_levels((a.shape[-2], a.shape[-1], b.shape[-1]), self.levels)
        return ok

    @torch.jit.unused
    def _forward_inplace(self, a: Tensor, b: Tensor) -> Tensor:
        batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        out = torch.empty(batch + (a.shape[-2], b.shape[-1]), dtype=a.dtype, device=a.device)
        a = a.expand(batch + a.shape[-2:]).reshape((-1,) + a.shape[-2:])
        b = b.expand(batch + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
        flat = out.view((-1,) + out.shape[-2:])
        ws, levels = self._workspace, self.levels
        if self.schedule == "handwritten":
            for i in range(flat.shape[0]):
                _sw_product(a[i], b[i], flat[i], levels, ws, pre=False)
            return out
        engine = self._get_engine()
        blocks = (_power(self.k, levels), _power(self.m, levels), _power(self.n, levels))

        def product(x: Tensor, y: Tensor, z: Tensor) -> None:
            engine.product(x, y, z, levels, ws, pre=False)

        for i in range(flat.shape[0]):
            _padded_product(product, a[i], b[i], flat[i], blocks, ws)
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
    schedule, basis :
        As for :class:`FastMatmul`.

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
        schedule: str = "program",
        basis: Union[str, AlternativeBasis] = "standard",
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
        self.schedule, self._alt = _check_schedule(scheme, schedule, basis)
        self.basis = "standard" if self._alt is None else "alternative"
        self.fast_schedule = True
        self._engine = None
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
    def from_linear(cls, linear: nn.Linear, scheme: Scheme, levels: int = 1, schedule: str = "program",
                    basis: Union[str, AlternativeBasis] = "standard") -> "FastLinear":
        """A copy of ``linear`` (weights, bias, dtype, device) computed by ``scheme``."""
        if not isinstance(linear, nn.Linear):
            raise InvalidInputError(f"from_linear needs an nn.Linear, got {type(linear).__name__}")
        w = linear.weight
        layer = cls(linear.in_features, linear.out_features, scheme, levels, linear.bias is not None,
                    device=w.device, dtype=w.dtype, schedule=schedule, basis=basis)
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
            + ("" if self.schedule == "program" else f", schedule={self.schedule!r}")
            + ("" if self.basis == "standard" else ", basis='alternative'")
        )

    @torch.jit.unused
    def _get_engine(self) -> "_Engine":
        if self._engine is None:
            self._engine = _Engine(self.scheme, self._alt)
        return self._engine

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
        ok = (
            not (torch.is_grad_enabled() and (x2.requires_grad or self.weight.requires_grad))
            and x2.dtype == self.weight.dtype
            and x2.dtype in (torch.float32, torch.float64)
            and x2.device == self.weight.device
        )
        if self.schedule == "handwritten":
            return ok and _even_levels((self.out_features, self.in_features, x2.shape[0]), self.levels)
        return ok

    @torch.jit.unused
    def _forward_inplace(self, x2: Tensor) -> Tensor:
        self._refresh_if_changed()
        out = torch.empty((x2.shape[0], self.out_features), dtype=x2.dtype, device=x2.device)
        ws, levels, wt = self._workspace, self.levels, self.weight_transformed
        if self.schedule == "handwritten":
            _sw_product(wt, x2.t(), out.t(), levels, ws, pre=True)
            return out
        engine = self._get_engine()
        # the transformed weight is padded (top) to multiples of k**levels x m**levels
        rows = _ceil_to(self.out_features, _power(self.k, levels))
        inner = _ceil_to(self.in_features, _power(self.m, levels))
        b, c = x2.t(), out.t()
        cols = _ceil_to(b.shape[1], _power(self.n, levels))
        if (inner, cols) != tuple(b.shape):
            b = _pad_into(ws.get(("pad", "B"), (inner, cols), b), b)
        if (rows, cols) != tuple(c.shape):
            cp = ws.get(("pad", "C"), (rows, cols), c)
            engine.product(wt, b, cp, levels, ws, pre=True)
            c.copy_(cp[: c.shape[0], : c.shape[1]])
        else:
            engine.product(wt, b, c, levels, ws, pre=True)
        return out

    def clear_workspace(self) -> None:
        """Free the cached scratch blocks of the in-place schedule."""
        self._workspace.clear()
