"""Common-subexpression elimination (CSE) of linear forms, and transform costs.

A linear transform ``y = M @ x`` costs, naively, ``k - 1`` additions for each
row with ``k`` nonzero entries.  Rows often share pairs: in Strassen–Winograd
or in a Winograd data transform the same ``x_a + c * x_b`` appears in several
rows and need be computed once.  :func:`eliminate` finds such sharing with
the greedy pairwise algorithm of Paar ("Optimized arithmetic for
Reed–Solomon encoders", ISIT 1997), generalised from GF(2) to rational
coefficients:

1. every row holds a sparse form ``sum_v c_v * v`` over the current variables
   (the inputs first, temporaries later);
2. a *pattern* is a pair of variables ``a < b`` with a ratio ``q``: a row
   contains it when it holds ``c * a + c * q * b`` for some ``c != 0``
   (so ``x0 + x1`` and ``-2 x0 - 2 x1`` share the pattern ``(x0, x1, 1)``);
3. while some pattern occurs in two or more rows, the most frequent one
   (ties: ratio +-1 first, then the smallest variables) becomes a new
   temporary ``t = a + q * b`` (one addition) and each row containing it
   replaces ``c * a + c * q * b`` with ``c * t``;
4. what is left in each row is summed directly (``k - 1`` additions).

The result is a straight-line :class:`Program`: ``ops`` (each
``(target, ca, a, cb, b)`` meaning ``v[target] = ca * v[a] + cb * v[b]``) and,
per output, a list of ``(coefficient, variable)`` terms.  Variables
``0 .. n_inputs - 1`` are the inputs; temporaries are numbered from
``n_inputs`` on, in the order of ``ops``.  Everything is exact
(ints/Fractions); :meth:`Program.matrix` rebuilds ``M`` exactly, which the
tests use as the proof that a program is right.

:func:`transform_costs` applies this to the three transforms of a correlation
scheme (and to 2-D schemes both as one big matrix and, when nested, row by
column) to give multiplications per output and additions naive vs after CSE.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from discovery.core.coefficients import exact, to_json
from discovery.core.errors import InvalidInputError, SchemeFormatError
from discovery.core.problems import Correlation, Correlation2D
from discovery.winograd.transforms import to_transforms

__all__ = ["Program", "eliminate", "naive_additions", "transpose", "transform_costs", "linear_forms_costs"]


def _norm(v) -> int | Fraction:
    return int(v) if isinstance(v, Fraction) and v.denominator == 1 else v


@dataclass(frozen=True)
class Program:
    """A straight-line program computing ``M @ x`` with shared additions.

    Attributes
    ----------
    n_inputs : int
        Number of inputs (columns of ``M``); they are variables ``0 .. n_inputs-1``.
    ops : tuple of (target, ca, a, cb, b)
        In order: ``v[target] = ca * v[a] + cb * v[b]``, one addition each.
    outputs : tuple of tuples of (coefficient, variable)
        Output ``i`` is ``sum(c * v[var] for c, var in outputs[i])`` (an empty
        tuple is the zero output).
    """

    n_inputs: int
    ops: tuple
    outputs: tuple

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def additions(self) -> int:
        """Additions/subtractions: one per op plus ``k - 1`` per output of ``k`` terms."""
        return len(self.ops) + sum(max(len(o) - 1, 0) for o in self.outputs)

    @property
    def scalar_multiplications(self) -> int:
        """Multiplications by constants other than +-1 (in ops and outputs)."""
        count = sum((ca not in (1, -1)) + (cb not in (1, -1)) for _, ca, _, cb, _ in self.ops)
        return count + sum(1 for o in self.outputs for c, _ in o if c not in (1, -1))

    @property
    def temporaries(self) -> int:
        return len(self.ops)

    def evaluate(self, x: Any) -> np.ndarray:
        """Run the program on ``x`` of shape ``(..., n_inputs)``.

        Exact on object arrays (ints, Fractions, sympy symbols); otherwise in
        the input's dtype.

        Examples
        --------
        >>> p = eliminate([[1, 1, 0], [1, 1, 1]])
        >>> p.evaluate(np.array([1, 2, 4])).tolist()
        [3, 7]
        """
        x = np.asarray(x)
        if x.shape[-1] != self.n_inputs:
            raise InvalidInputError(f"expected {self.n_inputs} inputs in the last axis, got {x.shape[-1]}")
        exact_mode = x.dtype == object
        values = [x[..., i] for i in range(self.n_inputs)]

        def c(v):
            return v if exact_mode else float(v)

        for target, ca, a, cb, b in self.ops:
            values.append(c(ca) * values[a] + c(cb) * values[b])
        zero = np.zeros(x.shape[:-1], dtype=x.dtype)
        outs = []
        for terms in self.outputs:
            acc = None
            for coef, var in terms:
                term = c(coef) * values[var]
                acc = term if acc is None else acc + term
            outs.append(zero.copy() if acc is None else np.asarray(acc, dtype=x.dtype))
        return np.stack(outs, axis=-1)

    def expressions(self) -> list[dict[int, int | Fraction]]:
        """Each variable (inputs, then temporaries) as an exact form over the inputs."""
        forms: list[dict] = [{i: 1} for i in range(self.n_inputs)]
        for _, ca, a, cb, b in self.ops:
            form: dict = {}
            for coef, var in ((ca, a), (cb, b)):
                for k, v in forms[var].items():
                    form[k] = form.get(k, 0) + coef * v
            forms.append({k: _norm(v) for k, v in form.items() if v != 0})
        return forms

    def matrix(self) -> np.ndarray:
        """The exact matrix ``M`` the program computes (rows = outputs).

        Examples
        --------
        >>> eliminate([[1, -1], [2, -2]]).matrix().tolist()
        [[1, -1], [2, -2]]
        """
        forms = self.expressions()
        out = np.zeros((self.n_outputs, self.n_inputs), dtype=object)
        for i, terms in enumerate(self.outputs):
            for coef, var in terms:
                for k, v in forms[var].items():
                    out[i, k] += coef * v
        for idx in np.ndindex(out.shape):
            out[idx] = _norm(out[idx])
        return out

    def to_json(self) -> dict:
        """JSON-ready form: ``{"inputs": n, "ops": [[t, ca, a, cb, b], ...], "outputs": [[[c, v], ...], ...]}``.

        Coefficients are JSON integers or ``"p/q"`` strings (never floats).

        Examples
        --------
        >>> eliminate([[1, 1], [1, -1]]).to_json()
        {'inputs': 2, 'ops': [], 'outputs': [[[1, 0], [1, 1]], [[1, 0], [-1, 1]]]}
        """
        return {
            "inputs": self.n_inputs,
            "ops": [[t, to_json(ca), a, to_json(cb), b] for t, ca, a, cb, b in self.ops],
            "outputs": [[[to_json(c), v] for c, v in terms] for terms in self.outputs],
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "program") -> "Program":
        """Rebuild a program from :meth:`to_json`'s form, validating every field.

        Raises
        ------
        SchemeFormatError
            Naming the bad field: wrong types, a temporary out of order, an
            operand that is not yet defined, a zero or float coefficient.

        Examples
        --------
        >>> p = eliminate([[1, 1, 0], [1, 1, 1]])
        >>> Program.from_json(p.to_json()) == p
        True
        """
        def integer(v, what):
            if isinstance(v, bool) or not isinstance(v, int):
                raise SchemeFormatError(f"{where}: {what} must be an integer, got {v!r}")
            return v

        def coefficient(v, what):
            try:
                c = exact(v, f"{where}: {what}")
            except InvalidInputError as exc:
                raise SchemeFormatError(str(exc)) from None
            if c == 0:
                raise SchemeFormatError(f"{where}: {what} is zero")
            return c

        if not isinstance(data, dict) or not {"inputs", "ops", "outputs"} <= set(data):
            raise SchemeFormatError(f"{where} must be an object with inputs, ops and outputs")
        n = integer(data["inputs"], "inputs")
        ops_in, outs_in = data["ops"], data["outputs"]
        if n < 0 or not isinstance(ops_in, list) or not isinstance(outs_in, list):
            raise SchemeFormatError(f"{where}: inputs must be >= 0 and ops, outputs lists")
        ops = []
        for k, op in enumerate(ops_in):
            if not isinstance(op, list) or len(op) != 5:
                raise SchemeFormatError(f"{where}: ops[{k}] must be [target, ca, a, cb, b]")
            t = integer(op[0], f"ops[{k}] target")
            a, b = integer(op[2], f"ops[{k}] operand"), integer(op[4], f"ops[{k}] operand")
            if t != n + k:
                raise SchemeFormatError(f"{where}: ops[{k}] must define variable {n + k}, not {t}")
            if not (0 <= a < t and 0 <= b < t):
                raise SchemeFormatError(f"{where}: ops[{k}] reads a variable not yet defined")
            ops.append((t, coefficient(op[1], f"ops[{k}] coefficient"), a,
                        coefficient(op[3], f"ops[{k}] coefficient"), b))
        n_vars = n + len(ops)
        outputs = []
        for i, terms in enumerate(outs_in):
            if not isinstance(terms, list):
                raise SchemeFormatError(f"{where}: outputs[{i}] must be a list of [coefficient, variable]")
            row = []
            for term in terms:
                if not isinstance(term, list) or len(term) != 2:
                    raise SchemeFormatError(f"{where}: outputs[{i}] terms must be [coefficient, variable]")
                v = integer(term[1], f"outputs[{i}] variable")
                if not 0 <= v < n_vars:
                    raise SchemeFormatError(f"{where}: outputs[{i}] reads variable {v}, not defined")
                row.append((coefficient(term[0], f"outputs[{i}] coefficient"), v))
            outputs.append(tuple(row))
        return cls(n, tuple(ops), tuple(outputs))

    def transposed(self) -> "Program":
        """A program for ``M.T`` (see :func:`transpose`)."""
        return transpose(self)

    def lines(self, inputs: Sequence[str] | None = None, outputs: Sequence[str] | None = None,
              temp: str = "t") -> list[str]:
        """The program as assignments (``t0 = x0 + x2`` ... ``y1 = t0 - x1``).

        Examples
        --------
        >>> print("\\n".join(eliminate([[1, 1, 0], [1, 1, -1]]).lines()))
        t0 = x0 + x1
        y0 = t0
        y1 = t0 - x2
        """
        inputs = list(inputs) if inputs is not None else [f"x{i}" for i in range(self.n_inputs)]
        outputs = list(outputs) if outputs is not None else [f"y{i}" for i in range(self.n_outputs)]
        names = inputs + [f"{temp}{k}" for k in range(len(self.ops))]
        lines = []
        for k, (target, ca, a, cb, b) in enumerate(self.ops):
            lines.append(f"{names[target]} = {_format_terms([(ca, names[a]), (cb, names[b])])}")
        for name, terms in zip(outputs, self.outputs):
            lines.append(f"{name} = {_format_terms([(c, names[v]) for c, v in terms])}")
        return lines


def transpose(program: Program) -> Program:
    """A straight-line program for ``M.T`` from one for ``M`` (transposition principle).

    Every edge of the program's graph (``v[target] += c * v[source]``) is
    reversed: the new inputs are the old outputs, the new outputs the old
    inputs, and each variable becomes the sum of what it fed.  A variable fed
    into ``k`` places costs ``k - 1`` additions in the transpose, so for a
    matrix without zero rows or columns the transpose costs
    ``additions + n_inputs - n_outputs`` additions minus whatever sharing of
    fan-out the original had (Kaminski, Kirkpatrick & Bshouty 1988).  This is
    why a map with many more inputs than outputs (the output sums ``W.T`` of
    a scheme) is best eliminated as its transpose ``W`` and transposed back.

    Examples
    --------
    >>> m = [[1, 1, 0, 1], [0, 1, 1, 1]]           # 2 outputs of 4 inputs
    >>> eliminate(m).additions
    3
    >>> t = transpose(eliminate(np.array(m, dtype=object).T.tolist()))
    >>> t.matrix().tolist() == m, t.additions
    (True, 3)
    """
    n_in, n_out = program.n_inputs, program.n_outputs
    n_vars = n_in + len(program.ops)
    # fanout[v] = [(coef, consumer)] with consumer = ("op", k) or ("out", i)
    fanout: list[list] = [[] for _ in range(n_vars)]
    for k, (target, ca, a, cb, b) in enumerate(program.ops):
        fanout[a].append((ca, ("op", target)))
        fanout[b].append((cb, ("op", target)))
    for i, terms in enumerate(program.outputs):
        for c, v in terms:
            fanout[v].append((c, ("out", i)))
    # In the transpose, variable v = sum over its consumers w of c * value(w),
    # where value(out i) is new input i.  Values are kept as exact linear
    # combinations of new variables (a dict), materialised into ops when a
    # variable has two or more terms, so scaled copies cost nothing.
    ops: list = []
    next_var = n_out
    value: dict[int, dict] = {}

    def materialise(terms: dict) -> dict:
        nonlocal next_var
        items = [(var, c) for var, c in terms.items() if c != 0]
        if len(items) <= 1:
            return dict(items)
        (v0, c0), rest = items[0], items[1:]
        cur_var, cur_c = v0, c0
        for var, c in rest:
            t = next_var
            next_var += 1
            ops.append((t, 1, cur_var, _norm(Fraction(c) / cur_c), var))
            cur_var = t
        return {cur_var: cur_c}

    def combine(v: int) -> dict:
        acc: dict = {}
        for c, (kind, w) in fanout[v]:
            source = {w: 1} if kind == "out" else value.get(w, {})
            for var, cv in source.items():
                acc[var] = acc.get(var, 0) + c * cv
        return acc

    for v in range(n_vars - 1, n_in - 1, -1):  # temporaries, last first
        value[v] = materialise(combine(v))
    outputs = []
    for v in range(n_in):
        terms = combine(v)
        outputs.append(tuple((_norm(c), var) for var, c in sorted(terms.items()) if c != 0))
    program_t = Program(n_out, tuple((t, _norm(ca), a, _norm(cb), b) for t, ca, a, cb, b in ops), tuple(outputs))
    return program_t


def _format_terms(terms) -> str:
    parts = []
    terms = sorted(terms, key=lambda cn: cn[0] < 0)  # positive terms first (stable)
    for coef, name in terms:
        neg = coef < 0
        mag = -coef if neg else coef
        body = name if mag == 1 else f"({mag})*{name}" if isinstance(mag, Fraction) else f"{mag}*{name}"
        if not parts:
            parts.append(f"-{body}" if neg else body)
        else:
            parts.append(f" - {body}" if neg else f" + {body}")
    return "".join(parts) or "0"


def _rows(matrix: Any) -> list[list]:
    if isinstance(matrix, np.ndarray):
        if matrix.dtype.kind == "f":
            raise InvalidInputError("eliminate needs exact (int/Fraction) coefficients, got a float matrix")
        if matrix.ndim != 2:
            raise InvalidInputError(f"eliminate needs a 2-d matrix, got shape {matrix.shape}")
        matrix = matrix.tolist()
    if not isinstance(matrix, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in matrix):
        raise InvalidInputError("eliminate needs a matrix given as a list of rows")
    if matrix and len({len(r) for r in matrix}) != 1:
        raise InvalidInputError("eliminate needs a rectangular matrix (rows of equal length)")
    return [[exact(v, f"M[{i}][{j}]") for j, v in enumerate(row)] for i, row in enumerate(matrix)]


def naive_additions(matrix: Any) -> int:
    """Additions of ``M @ x`` without sharing: ``k - 1`` per row of ``k`` nonzeros.

    Examples
    --------
    >>> naive_additions([[1, 1, 0], [1, 1, 1], [0, 0, 2]])
    3
    """
    return sum(max(sum(1 for v in row if v != 0) - 1, 0) for row in _rows(matrix))


def eliminate(matrix: Any) -> Program:
    """Greedy pairwise common-subexpression elimination (Paar's algorithm).

    Parameters
    ----------
    matrix : sequence of rows or object/int array
        Exact coefficients (ints, Fractions, ``"p/q"``); row ``i`` is output
        ``i`` as a linear form of the columns (inputs).

    Returns
    -------
    Program
        A straight-line program with ``program.matrix() == matrix`` exactly
        and ``program.additions <= naive_additions(matrix)``.  Deterministic.

    Raises
    ------
    InvalidInputError
        For floats, ragged rows or non-rational entries.

    Examples
    --------
    Strassen–Winograd's pre-additions ``s1 = a21 + a22``, ``s2 = s1 - a11``...
    share ``a21 + a22``:

    >>> rows = [[0, 0, 1, 1], [-1, 0, 1, 1], [1, -1, -1, -1]]
    >>> naive_additions(rows), eliminate(rows).additions
    (6, 3)
    >>> print("\\n".join(eliminate(rows).lines(["a11", "a12", "a21", "a22"])))
    t0 = a21 + a22
    t1 = a11 - t0
    y0 = t0
    y1 = -t1
    y2 = t1 - a12
    """
    rows = _rows(matrix)
    n_inputs = len(rows[0]) if rows else 0
    nnz = sum(v != 0 for row in rows for v in row)
    if nnz >= _COMPILED_FROM and all(v in (-1, 0, 1) for row in rows for v in row):
        from discovery.codegen._cse_ternary import dense_bytes, paar_ternary  # numba: imported when needed

        if paar_ternary is not None and dense_bytes(len(rows), n_inputs, nnz) <= _COMPILED_MAX_BYTES:
            return _eliminate_ternary(rows)
    return _eliminate_generic(rows, n_inputs)


#: Ternary matrices with at least this many nonzeros go to the compiled kernel (same program, faster) ...
_COMPILED_FROM = 400
#: ... unless its dense row table would exceed this size.
_COMPILED_MAX_BYTES = 1 << 29


def _eliminate_ternary(rows) -> Program:
    """:func:`eliminate` of a {-1, 0, 1} matrix by the compiled kernel (:mod:`._cse_ternary`)."""
    from discovery.codegen._cse_ternary import paar_ternary

    ops, coeff = paar_ternary(np.array(rows, dtype=np.int8))
    n_inputs = len(rows[0])
    op_list = [(int(t), 1, int(a), int(q), int(b)) for t, a, q, b in ops]
    outputs = tuple(tuple((int(row[v]), int(v)) for v in np.flatnonzero(row)) for row in coeff)
    used = {v for o in outputs for _, v in o} | {x for _, _, a, _, b in op_list for x in (a, b)}
    if any(t not in used for t, *_ in op_list):
        op_list, outputs = _drop_unused(n_inputs, op_list, outputs, used)
    return Program(n_inputs, tuple(op_list), outputs)


def _eliminate_generic(rows, n_inputs) -> Program:
    """:func:`eliminate` in pure Python, any rational coefficients."""
    # Ratios are invariant under scaling a row, so each row is scaled to
    # integers once (and scaled back at the end): keys are then small int
    # tuples, fast to hash and compare.
    row_scale = [math.lcm(*(Fraction(v).denominator for v in row)) if row else 1 for row in rows]
    forms: list[dict[int, int]] = [
        {j: int(Fraction(v) * s) for j, v in enumerate(row) if v != 0} for row, s in zip(rows, row_scale)
    ]
    occurrences: dict[tuple, set[int]] = {}
    gcd = math.gcd

    def key_of(form, a, b):
        if a > b:
            a, b = b, a
        ca, cb = form[a], form[b]
        g = gcd(ca, cb)
        n, d = cb // g, ca // g
        if d < 0:
            n, d = -n, -d
        return (a, b, n, d)

    def priority(key):
        a, b, n, d = key
        return (-len(occurrences[key]), 0 if d == 1 and n in (1, -1) else 1, a, b, n, d)

    heap: list = []
    push = heapq.heappush

    def add_row_pairs(i, form, only=None):
        vars_ = sorted(form)
        for x in vars_ if only is None else [only]:
            for y in vars_:
                if y == x or (only is None and y < x):
                    continue
                key = key_of(form, x, y)
                occurrences.setdefault(key, set()).add(i)
                push(heap, (priority(key), key))

    def remove_row_pairs(i, form, var):
        for y in form:
            if y == var:
                continue
            key = key_of(form, var, y)
            rows_with = occurrences.get(key)
            if rows_with is not None:
                rows_with.discard(i)
                if not rows_with:
                    del occurrences[key]
                else:
                    push(heap, (priority(key), key))

    for i, form in enumerate(forms):
        add_row_pairs(i, form)

    ops = []
    next_var = n_inputs
    while heap:
        prio, key = heapq.heappop(heap)
        if key not in occurrences or prio != priority(key):
            continue  # stale entry
        if len(occurrences[key]) < 2:
            break
        a, b, n, d = key
        t = next_var
        next_var += 1
        ops.append((t, 1, a, Fraction(n, d), b))
        for i in sorted(occurrences[key]):
            form = forms[i]
            ca = form[a]
            remove_row_pairs(i, form, a)
            del form[a]
            remove_row_pairs(i, form, b)
            del form[b]
            form[t] = ca
            add_row_pairs(i, form, only=t)
    forms = [{v: Fraction(c, s) for v, c in form.items()} for form, s in zip(forms, row_scale)]
    outputs = tuple(tuple((_norm(c), v) for v, c in sorted(form.items())) for form in forms)
    # A temporary that ended up used once only, and only as the single term of
    # an output, still costs its one addition: nothing to undo.  Drop unused
    # temporaries (possible when a later pattern absorbed every use).
    used = {v for o in outputs for _, v in o} | {x for _, _, a, _, b in ops for x in (a, b)}
    if any(t not in used for t, *_ in ops):
        ops, outputs = _drop_unused(n_inputs, ops, outputs, used)
    return Program(n_inputs, tuple((t, _norm(ca), a, _norm(cb), b) for t, ca, a, cb, b in ops), outputs)


def _drop_unused(n_inputs, ops, outputs, used):
    keep = [op for op in ops if op[0] in used]
    renumber = {i: i for i in range(n_inputs)}
    for k, op in enumerate(keep):
        renumber[op[0]] = n_inputs + k
    new_ops = [(renumber[t], ca, renumber[a], cb, renumber[b]) for t, ca, a, cb, b in keep]
    new_outputs = tuple(tuple((c, renumber[v]) for c, v in o) for o in outputs)
    return new_ops, new_outputs


# ---------------------------------------------------------------------- costs
def linear_forms_costs(matrix: Any) -> dict[str, int]:
    """Naive and CSE additions of ``M @ x`` (and scalar multiplications after CSE).

    Examples
    --------
    >>> linear_forms_costs([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, -1, 0, 1]])
    {'rows': 4, 'naive': 4, 'cse': 4, 'scalar_multiplications': 0}
    """
    program = eliminate(matrix)
    return {"rows": program.n_outputs, "naive": naive_additions(matrix), "cse": program.additions,
            "scalar_multiplications": program.scalar_multiplications}


def transform_costs(scheme) -> dict[str, Any]:
    """Multiplications per output and additions of each transform, naive vs CSE.

    For a 1-D ``correlation`` scheme the transforms are G (``U``), Bᵀ
    (``V``) and Aᵀ (``W.T``).  For ``correlation2d`` the Kronecker matrices
    are counted as they are, and -- when the scheme is a nested pair of
    1-D algorithms -- also applied separably (``Bᵀ d B``: the 1-D program
    on every column, then on every row), which is how layers run them.
    Other problems get the same counts for U, V and W.T.

    Returns
    -------
    dict
        ``multiplications``, ``outputs``, ``multiplications_per_output``,
        ``naive_multiplications_per_output`` and, per transform name, a dict
        ``{"naive": .., "cse": ..}`` (plus ``"separable"`` for nested 2-D).

    Examples
    --------
    >>> from discovery.winograd.cooktoom import cook_toom
    >>> c = transform_costs(cook_toom(2, 3))
    >>> c["multiplications_per_output"], c["data"], c["output"]
    (2.0, {'naive': 4, 'cse': 4}, {'naive': 4, 'cse': 4})
    """
    p = scheme.problem
    nz = p.shape[2]
    out: dict[str, Any] = {
        "multiplications": scheme.rank,
        "outputs": nz,
        "multiplications_per_output": scheme.rank / nz,
        "naive_multiplications_per_output": p.naive_rank / nz,
    }
    named = {"filter": scheme.U, "data": scheme.V, "output": scheme.W.T}
    if not isinstance(p, (Correlation, Correlation2D)):
        named = {"U": scheme.U, "V": scheme.V, "W.T": scheme.W.T}
    for name, mat in named.items():
        out[name] = {"naive": naive_additions(mat), "cse": eliminate(mat).additions}
    if isinstance(p, Correlation2D):
        try:
            w = to_transforms(scheme)
        except InvalidInputError:
            return out
        a, b = w.rows, w.cols
        # filter: G1 g G2^T -> G1 on each of r2 columns, then G2 on each of R1 rows
        pairs = {
            "filter": ((a.G, b.r), (b.G, a.rank)),
            "data": ((a.BT, b.BT.shape[1]), (b.BT, a.rank)),
            "output": ((a.AT, b.rank), (b.AT, a.m)),
        }
        for name, ((m1, times1), (m2, times2)) in pairs.items():
            out[name]["separable"] = {
                "naive": naive_additions(m1) * times1 + naive_additions(m2) * times2,
                "cse": eliminate(m1).additions * times1 + eliminate(m2).additions * times2,
            }
    return out
