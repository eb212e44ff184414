"""In-place schedules for a scheme's block products, compiled from its programs.

One level of a ``matmul(k, m, n)`` scheme of rank R, run on blocks, is::

    A~_r = left program (A blocks)      B~_r = right program (B blocks)
    P_r  = A~_r @ B~_r                  C blocks = output program (P_1 .. P_R)

:func:`compile_level` turns the three straight-line programs (after common-
subexpression elimination, :mod:`discovery.codegen`) into a list of block
instructions that a small interpreter (:func:`run`) executes with torch
operations on views and reused workspaces:

* operand sums are computed when a product first needs them, into
  workspaces that are reused as soon as their last reader is done; an
  operand that is a single (scaled) block is that block's view, and its
  factor goes into the product's ``alpha``;
* every value carries a scale, so ``x - y``, ``-x + y`` and ``2 x + y`` each
  cost one pass and no separate negation;
* a product used once is written straight into its destination -- an output
  block or a temporary -- or, when the destination already holds something,
  accumulated into it (``addmm_`` at the leaves, fused, and a recursive
  product in accumulate mode above them);
* a product used several times is either written into one of its
  destinations while that is still empty and read from there by the others
  at once, or written into a workspace that the others read when they need
  it; two values waiting for an empty destination are summed in one pass
  (``torch.add(x, y, out=...)``), a temporary with one term is an alias.

Which product goes first and which of the two placements a shared product
gets decide the number of passes over memory; :func:`compile_level` tries
many orders and placements (deterministic, seeded) and keeps the schedule
with the fewest block passes, then the fewest workspaces.  For
Strassen-Winograd's 15-addition program this finds the hand-written
schedule's count (8 operand sums, 4 block additions, 1 copy, 3 fused
accumulations at the leaves).

:func:`run` executes a level recursively: at the leaves the products are
``torch.mm`` / ``addmm`` calls into output views; above them the products
are the next level's schedule, in write or accumulate mode with a scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from discovery.codegen.cse import Program
from discovery.core.seeds import as_generator

__all__ = ["LevelSchedule", "compile_level", "compile_all", "Workspace", "run"]

# slot kinds
A, B, C, WA, WB, WC, PRE = "A", "B", "C", "wa", "wb", "wc", "pre"


@dataclass(frozen=True)
class LevelSchedule:
    """The instructions of one level, and what they need.

    Attributes
    ----------
    instructions : tuple
        ``("add2", dst, x, y, alpha)``: ``dst = x + alpha * y``;
        ``("acc", dst, x, alpha)``: ``dst += alpha * x``;
        ``("copy", dst, x, alpha)``: ``dst = alpha * x``;
        ``("scale", dst, alpha)``: ``dst *= alpha``; ``("zero", dst)``;
        ``("mm", a, b, dst, alpha, accumulate)``: ``dst (+)= alpha * a @ b``.
        Slots are ``(kind, index)`` with kind A, B, C (blocks of the
        operands and the result), wa, wb, wc (workspaces shaped like A, B
        and C blocks) or pre (pre-transformed A operands).
    workspaces : dict
        Number of workspaces of each kind (wa, wb, wc).
    passes : int
        Block passes besides the products (operand sums included).
    fused : int
        Products accumulated into a non-empty destination.
    """

    instructions: tuple
    workspaces: dict
    passes: int
    fused: int


def _f(v) -> Fraction:
    return Fraction(v)


class _Pool:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.free: List[int] = []
        self.count = 0

    def take(self) -> Tuple[str, int]:
        if self.free:
            return (self.kind, self.free.pop())
        self.count += 1
        return (self.kind, self.count - 1)

    def give(self, slot: Tuple[str, int]) -> None:
        self.free.append(slot[1])


class _Operands:
    """On-demand evaluation of one operand program (left or right side)."""

    def __init__(self, program: Program, inputs: Sequence[tuple], pool: _Pool, out: list, needed: Sequence[int]):
        self.p = program
        self.pool = pool
        self.out = out
        self.passes = 0
        n = program.n_inputs
        # value of each variable: (slot, scale) once computed
        self.value: Dict[int, Tuple[tuple, Fraction]] = {i: (inputs[i], Fraction(1)) for i in range(n)}
        self.ops = {t: (ca, a, cb, b) for t, ca, a, cb, b in program.ops}
        # readers of each variable among the ops and the outputs still to evaluate
        self.readers: Dict[int, int] = {}
        reach = set()
        stack = [v for r in needed for _, v in program.outputs[r]]
        while stack:
            v = stack.pop()
            if v in reach or v < n:
                continue
            reach.add(v)
            _, a, _, b = self.ops[v]
            stack += [a, b]
        for t in reach:
            _, a, _, b = self.ops[t]
            for v in (a, b):
                self.readers[v] = self.readers.get(v, 0) + 1
        for r in needed:
            for _, v in program.outputs[r]:
                self.readers[v] = self.readers.get(v, 0) + 1

    def _release(self, v: int) -> None:
        self.readers[v] -= 1
        if self.readers[v] == 0 and v >= self.p.n_inputs:
            self.pool.give(self.value[v][0])

    def _var(self, v: int) -> Tuple[tuple, Fraction]:
        if v not in self.value:
            ca, a, cb, b = self.ops[v]
            sa_slot, sa = self._var(a)
            sb_slot, sb = self._var(b)
            dst = self.pool.take()
            x, y = _f(ca) * sa, _f(cb) * sb  # v = x * a_slot + y * b_slot
            self.out.append(("add2", dst, sa_slot, sb_slot, y / x))
            self.passes += 1
            self._release(a)
            self._release(b)
            self.value[v] = (dst, x)
        return self.value[v]

    def operand(self, r: int) -> Optional[Tuple[tuple, Fraction, Optional[tuple]]]:
        """(slot, scale, slot to free after the product) of output r; None when it is zero."""
        terms = self.p.outputs[r]
        if not terms:
            return None
        vals = [(c, v, self._var(v)) for c, v in terms]
        if len(vals) == 1:
            c, v, (slot, s) = vals[0]
            # released after the product reads it
            return slot, _f(c) * s, ("release", v)
        dst = self.pool.take()
        (c0, v0, (s0slot, s0)), (c1, v1, (s1slot, s1)) = vals[0], vals[1]
        x = _f(c0) * s0
        self.out.append(("add2", dst, s0slot, s1slot, _f(c1) * s1 / x))
        self.passes += 1
        for c, v, (slot, s) in vals[2:]:
            self.out.append(("acc", dst, slot, _f(c) * s / x))
            self.passes += 1
        for _, v, _ in vals:
            self._release(v)
        return dst, x, ("free", dst)

    def done_with(self, token) -> None:
        kind, what = token
        if kind == "release":
            self._release(what)
        else:
            self.pool.give(what)


class _Node:
    __slots__ = ("slot", "scale", "full", "pending", "received", "total", "is_output", "holds")

    def __init__(self, total: int, is_output: bool, slot=None, full=False):
        self.slot = slot
        self.scale = Fraction(1)
        self.full = full  # holds a value (content) already
        self.pending: list = []  # (coefficient incl. scale, slot) waiting for an empty node
        self.received = 0
        self.total = total
        self.is_output = is_output
        self.holds = False  # owns a workspace slot


def _simulate(left: Optional[Program], right: Program, output: Program, leaf: bool, accumulate: bool,
              order: Sequence[int], home_first: Sequence[bool]) -> LevelSchedule:
    rank = output.n_inputs
    ins: list = []
    pools = {WA: _Pool(WA), WB: _Pool(WB), WC: _Pool(WC)}
    if left is not None:
        lhs = _Operands(left, [(A, i) for i in range(left.n_inputs)], pools[WA], ins, range(rank))
    rhs = _Operands(right, [(B, i) for i in range(right.n_inputs)], pools[WB], ins, range(rank))
    passes = 0
    fused = 0
    refs: Dict[tuple, int] = {}

    def hold(slot) -> None:
        refs[slot] = refs.get(slot, 0) + 1

    def drop(slot) -> None:
        if slot[0] != WC:
            return
        refs[slot] -= 1
        if refs[slot] == 0:
            del refs[slot]
            pools[WC].give(slot)

    n_out_vars = rank + len(output.ops)
    nodes: Dict[Any, _Node] = {}
    consumers: Dict[int, list] = {v: [] for v in range(n_out_vars)}
    for t, ca, a, cb, b in output.ops:
        nodes[t] = _Node(2, False)
        consumers[a].append((t, _f(ca)))
        consumers[b].append((t, _f(cb)))
    for i, terms in enumerate(output.outputs):
        nodes[("out", i)] = _Node(len(terms), True, slot=(C, i), full=accumulate)
        for c, v in terms:
            consumers[v].append((("out", i), _f(c)))

    def ensure_slot(node: _Node) -> None:
        if node.slot is None:
            node.slot = pools[WC].take()
            hold(node.slot)
            node.holds = True

    def resolve_pending(node: _Node) -> None:
        nonlocal passes
        for coef, slot in node.pending:
            ins.append(("acc", node.slot, slot, coef / node.scale))
            passes += 1
            drop(slot)
        node.pending = []

    def give_buffer(key, coef: Fraction, slot, scale: Fraction, mutable: bool, notify: bool = True) -> None:
        """Add coef * scale * content(slot) to node ``key`` (``notify``: count it as received)."""
        nonlocal passes
        node = nodes[key]
        value = coef * scale
        if node.full:
            ins.append(("acc", node.slot, slot, value / node.scale))
            passes += 1
        elif node.pending:
            (c0, s0) = node.pending.pop(0)
            ensure_slot(node)
            ins.append(("add2", node.slot, s0, slot, value / c0))
            node.scale = c0
            node.full = True
            passes += 1
            drop(s0)
            resolve_pending(node)
        elif mutable:
            ensure_slot(node)
            ins.append(("copy", node.slot, slot, value))
            node.scale = Fraction(1)
            node.full = True
            passes += 1
        else:
            node.pending.append((value, slot))
            hold(slot)
        if notify:
            received(key)

    def received(key) -> None:
        node = nodes[key]
        node.received += 1
        if node.received == node.total:
            complete(key)

    def complete(key) -> None:
        nonlocal passes
        node = nodes[key]
        if not node.full:
            if node.pending:
                (c0, s0) = node.pending.pop(0)
                if node.is_output:
                    ins.append(("copy", node.slot, s0, c0))
                    passes += 1
                    drop(s0)
                    node.full = True
                else:  # alias: the temporary is the other buffer, scaled
                    node.slot, node.scale, node.full, node.holds = s0, c0, True, True
            elif node.is_output:
                ins.append(("zero", node.slot))
                node.full = True
        if node.is_output:
            if node.scale != 1:
                ins.append(("scale", node.slot, node.scale))
                passes += 1
                node.scale = Fraction(1)
            return
        for ckey, coef in consumers[key]:
            give_buffer(ckey, coef, node.slot, node.scale, mutable=False)
        if node.holds:
            drop(node.slot)

    def product_into(key, coef: Fraction, a_slot, b_slot, s: Fraction) -> None:
        nonlocal passes, fused
        node = nodes[key]
        if node.full:
            ins.append(("mm", a_slot, b_slot, node.slot, coef * s / node.scale, True))
            fused += 1
            if not leaf:
                passes += 1
        else:
            ensure_slot(node)
            ins.append(("mm", a_slot, b_slot, node.slot, coef * s, False))
            node.full = True
            node.scale = Fraction(1)
            resolve_pending(node)

    for key, node in nodes.items():
        if node.total == 0:
            complete(key)
    for r in order:
        a = lhs.operand(r) if left is not None else ((PRE, r), Fraction(1), None)
        b = rhs.operand(r)
        cons = consumers[r]
        if a is None or b is None:  # a zero product
            for token, side in ((a, lhs if left is not None else None), (b, rhs)):
                if token is not None and token[2] is not None and side is not None:
                    side.done_with(token[2])
            for key, _ in cons:
                received(key)
            continue
        (a_slot, sa, a_tok), (b_slot, sb, b_tok) = a, b
        s = sa * sb
        if len(cons) == 1:
            product_into(cons[0][0], cons[0][1], a_slot, b_slot, s)
            received(cons[0][0])
        else:
            home = None
            if home_first[r]:
                home = next((k for k, c in cons if not nodes[k].full and not nodes[k].pending), None)
            if home is not None:
                c0 = next(c for k, c in cons if k == home)
                product_into(home, c0, a_slot, b_slot, s)
                hnode = nodes[home]
                others = [(key, c) for key, c in cons if key != home]
                for key, c in others:  # every read of the home before anything else can change it
                    give_buffer(key, c / c0, hnode.slot, hnode.scale, mutable=True, notify=False)
                for key, _ in others:
                    received(key)
                received(home)
            else:
                p = pools[WC].take()
                hold(p)
                ins.append(("mm", a_slot, b_slot, p, s, False))
                for key, c in cons:
                    give_buffer(key, c, p, Fraction(1), mutable=False)
                drop(p)
        if left is not None and a_tok is not None:
            lhs.done_with(a_tok)
        if b_tok is not None:
            rhs.done_with(b_tok)
    for key, node in nodes.items():
        if node.received != node.total:
            raise AssertionError("internal error: the schedule left a node incomplete")
    operand_passes = rhs.passes + (lhs.passes if left is not None else 0)
    work = {WA: pools[WA].count, WB: pools[WB].count, WC: pools[WC].count}
    final = tuple(_floatify(i) for i in ins)
    return LevelSchedule(final, work, passes + operand_passes, fused)


def _floatify(instr: tuple) -> tuple:
    return tuple(float(x) if isinstance(x, Fraction) else x for x in instr)


def compile_level(left: Optional[Program], right: Program, output: Program, leaf: bool = True,
                  accumulate: bool = False, tries: int = 400, seed: Any = 0) -> LevelSchedule:
    """The best schedule found for one level (fewest passes, then workspaces).

    ``left`` is None when the A operands come pre-transformed (``FastLinear``).
    ``leaf``: the products are plain ``mm`` (accumulating into a non-empty
    block is fused and free); otherwise a product accumulated into a block
    costs a pass at the next level.  ``accumulate``: the output blocks
    already hold values to add to.  Deterministic for a given seed.
    """
    rank = output.n_inputs
    rng = as_generator(seed)
    best = None
    for t in range(max(1, int(tries))):
        if t == 0:
            order, home = list(range(rank)), [True] * rank
        elif t == 1:
            order, home = list(range(rank)), [False] * rank
        else:
            order = [int(i) for i in rng.permutation(rank)]
            home = [bool(x) for x in rng.random(rank) < 0.7]
        sched = _simulate(left, right, output, leaf, accumulate, order, home)
        key = (sched.passes, -sched.fused, sum(sched.workspaces.values()))
        if best is None or key < best[0]:
            best = (key, sched)
    return best[1]


# ----------------------------------------------------------------- runtime
class Workspace:
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


def _blocks(x: Tensor, p: int, q: int) -> List[Tensor]:
    rows, cols = x.shape[-2] // p, x.shape[-1] // q
    return [x[i * rows:(i + 1) * rows, j * cols:(j + 1) * cols] for i in range(p) for j in range(q)]


def run(schedules: dict, dims: Tuple[int, int, int], a, b: Tensor, c: Tensor, level: int, alpha: float,
        accumulate: bool, ws: Workspace, pre: bool) -> None:
    """``c = alpha * a @ b`` (or ``c += ...`` when ``accumulate``) by ``level`` levels of the scheme.

    ``schedules[(leaf, accumulate)]`` are the compiled levels; ``a`` is a
    matrix, or (``pre``) a tensor whose first index runs over the
    transformed A operands of each level.  Every size must divide by the
    block sizes at every level (the layers pad once, at the top).
    """
    if level == 0:
        if accumulate:
            c.addmm_(a, b, alpha=alpha)
        elif alpha == 1.0:
            torch.mm(a, b, out=c)
        else:
            torch.addmm(c, a, b, beta=0, alpha=alpha, out=c)
        return
    k, m, n = dims
    sched: LevelSchedule = schedules[(level == 1, accumulate)]
    rows_c, cols_c = c.shape[0] // k, c.shape[1] // n
    slots: Dict[tuple, Tensor] = {}
    for i, blk in enumerate(_blocks(b, m, n)):
        slots[(B, i)] = blk
    for i, blk in enumerate(_blocks(c, k, n)):
        slots[(C, i)] = blk
    b0 = slots[(B, 0)]
    c0 = slots[(C, 0)]
    if pre:
        a_like = None
    else:
        for i, blk in enumerate(_blocks(a, k, m)):
            slots[(A, i)] = blk
        a_like = slots[(A, 0)]
    for j in range(sched.workspaces[WA]):
        slots[(WA, j)] = ws.get((level, WA, j), (a_like.shape[0], a_like.shape[1]), a_like)
    for j in range(sched.workspaces[WB]):
        slots[(WB, j)] = ws.get((level, WB, j), (b0.shape[0], b0.shape[1]), b0)
    for j in range(sched.workspaces[WC]):
        slots[(WC, j)] = ws.get((level, WC, j), (rows_c, cols_c), c0)
    for ins in sched.instructions:
        op = ins[0]
        if op == "mm":
            _, sa, sb, sd, coef, acc = ins
            lhs = a[sa[1]] if sa[0] == PRE else slots[sa]
            run(schedules, dims, lhs, slots[sb], slots[sd], level - 1, alpha * coef, acc, ws, pre)
        elif op == "add2":
            _, d, x, y, coef = ins
            torch.add(slots[x], slots[y], alpha=coef, out=slots[d])
        elif op == "acc":
            _, d, x, coef = ins
            slots[d].add_(slots[x], alpha=coef)
        elif op == "copy":
            _, d, x, coef = ins
            if coef == 1.0:
                slots[d].copy_(slots[x])
            else:
                torch.mul(slots[x], coef, out=slots[d])
        elif op == "scale":
            slots[ins[1]].mul_(ins[2])
        else:  # zero
            slots[ins[1]].zero_()


def compile_all(left: Optional[Program], right: Program, output: Program, tries: int = 400,
                seed: Any = 0) -> dict:
    """The four level schedules ``{(leaf, accumulate): LevelSchedule}`` :func:`run` needs."""
    return {(leaf, acc): compile_level(left, right, output, leaf, acc, tries, seed)
            for leaf in (True, False) for acc in (False, True)}

