"""The fewest additions for a small linear map, exactly: a CP-SAT model.

Given a matrix ``M`` with entries in {-1, 0, 1} (the linear forms of most
matmul schemes), :func:`shortest_program` looks for a straight-line program
of the fewest steps ``v = v_a + v_b`` or ``v = v_a - v_b`` over the inputs and
earlier steps such that every row of ``M`` is, up to its sign, an input or a
step.  The model (built by :func:`build_model`, solved by OR-tools' CP-SAT):

* step ``k`` has an ``active`` flag (active steps form a prefix), one-hot
  operand choices ``a_k < b_k`` among the ``n`` inputs and the ``k`` earlier
  steps, a sign, and its value: an integer vector with entries in
  ``[-bound, bound]``;
* every distinct row (up to sign) with two or more nonzeros is matched to an
  active step with that value or its negative;
* symmetry breaking: inactive steps are fixed, operands are ordered, and
  every active step is used -- matched to a row or read by a later step (a
  shortest program has no dead steps);
* objective: the number of active steps, at least the number of rows to
  match; the heuristic's program is given as a hint when it fits the model.

When CP-SAT proves the objective optimal, no program of additions and
subtractions whose intermediate coefficients stay in ``[-bound, bound]`` is
shorter: that is the proof, within exactly that model (programs that scale
by constants other than +-1, or pass through larger coefficients, are
outside it and are not ruled out).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional

from ortools.sat.python import cp_model

from discovery.codegen.cse import Program, _norm, _rows
from discovery.core.errors import InvalidInputError

__all__ = ["ExactResult", "build_model", "shortest_program", "MAX_STEPS"]

#: Largest number of steps the model is built for (beyond it the model is
#: too big to say anything in useful time).
MAX_STEPS = 40


@dataclass(frozen=True)
class ExactResult:
    """What CP-SAT found for a map.

    Attributes
    ----------
    program : Program or None
        The shortest program found (``None`` when none was found in time).
    optimal : bool
        Proved optimal within the model (see the module docstring).
    lower_bound : int
        No program in the model has fewer additions.
    status : str
        CP-SAT's status name (``OPTIMAL``, ``FEASIBLE``, ``INFEASIBLE``, ``UNKNOWN``).
    seconds : float
        Wall time of the solve.
    """

    program: Optional[Program]
    optimal: bool
    lower_bound: int
    status: str
    seconds: float


def _targets(rows: list[list]) -> tuple[list[tuple[int, ...]], list[tuple]]:
    """Distinct rows up to sign that need an addition, and how each row is read.

    Returns the targets (first nonzero entry +1) and, per row, ``("zero",)``,
    ``("input", c, j)`` or ``("target", c, index)`` with row = c * target.
    """
    targets: list[tuple[int, ...]] = []
    where: dict[tuple[int, ...], int] = {}
    reads = []
    for row in rows:
        nz = [j for j, v in enumerate(row) if v != 0]
        if not nz:
            reads.append(("zero",))
            continue
        sign = 1 if row[nz[0]] > 0 else -1
        if len(nz) == 1:
            reads.append(("input", row[nz[0]], nz[0]))
            continue
        key = tuple(int(v) * sign for v in row)
        if key not in where:
            where[key] = len(targets)
            targets.append(key)
        reads.append(("target", sign, where[key]))
    return targets, reads


def _ternary_rows(matrix: Any) -> list[list[int]]:
    rows = _rows(matrix)
    if not rows:
        raise InvalidInputError("the matrix has no rows")
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v not in (-1, 0, 1):
                raise InvalidInputError(
                    f"the exact model handles entries in {{-1, 0, 1}} only; M[{i}][{j}] = {v}")
    return [[int(v) for v in row] for row in rows]


def _hint_steps(program: Program, n: int, bound: int) -> Optional[list[tuple[int, int, int, list[int]]]]:
    """The hint as ``(a, b, sign, value)`` steps of +-1 additions, or None if it does not fit."""
    forms = program.expressions()
    values = [[int(forms[v].get(j, 0)) if Fraction(forms[v].get(j, 0)).denominator == 1 else None
               for j in range(n)] for v in range(len(forms))]
    steps: list[tuple[int, int, int, list[int]]] = []
    var_step: dict[int, int] = {j: j for j in range(n)}  # program variable -> model index (value up to sign)
    var_sign: dict[int, int] = {j: 1 for j in range(n)}

    def add(ia: int, sa: int, ib: int, sb: int) -> Optional[tuple[int, int]]:
        """A step sa*v[ia] + sb*v[ib]; returns (model index, sign) of the value."""
        val_a = model_values[ia]
        val_b = model_values[ib]
        value = [sa * x + sb * y for x, y in zip(val_a, val_b)]
        if any(abs(x) > bound for x in value):
            return None
        # normalise: the model computes v_a + s v_b with a < b; any overall sign is absorbed
        lo, hi, slo, shi = (ia, ib, sa, sb) if ia < ib else (ib, ia, sb, sa)
        model_values.append([slo * x for x in value])  # = v_lo + (shi/slo) v_hi
        steps.append((lo, hi, shi * slo, model_values[-1]))
        return len(model_values) - 1, slo

    model_values: list[list[int]] = [[1 if i == j else 0 for i in range(n)] for j in range(n)]
    for target, ca, a, cb, b in program.ops:
        if any(values[target][j] is None for j in range(n)):
            return None
        if ca not in (1, -1) or cb not in (1, -1):
            return None
        got = add(var_step[a], ca * var_sign[a], var_step[b], cb * var_sign[b])
        if got is None:
            return None
        var_step[target], var_sign[target] = got
    for terms in program.outputs:
        if len(terms) < 2:
            continue
        if any(c not in (1, -1) for c, _ in terms):
            return None
        (c0, v0), rest = terms[0], terms[1:]
        cur, cur_sign = var_step[v0], c0 * var_sign[v0]
        for c, v in rest:
            got = add(cur, cur_sign, var_step[v], c * var_sign[v])
            if got is None:
                return None
            cur, cur_sign = got
    return steps


def build_model(matrix: Any, max_steps: int, bound: int = 1, hint: Optional[Program] = None):
    """The CP-SAT model of a shortest +-1 program for ``M @ x`` with at most ``max_steps`` steps.

    Returns ``(model, variables)``; see :func:`shortest_program`, which
    solves it.  ``variables`` holds the decision variables by name.
    """
    rows = _ternary_rows(matrix)
    n = len(rows[0])
    targets, _ = _targets(rows)
    K = int(max_steps)
    if K > MAX_STEPS:
        raise InvalidInputError(f"the exact model is built for at most {MAX_STEPS} steps, asked for {K}")
    m = cp_model.CpModel()
    active = [m.new_bool_var(f"active{k}") for k in range(K)]
    for k in range(K - 1):
        m.add_implication(active[k + 1], active[k])
    val = [[m.new_int_var(-bound, bound, f"v{k}_{j}") for j in range(n)] for k in range(K)]
    sign = [m.new_bool_var(f"plus{k}") for k in range(K)]  # v = a + b when set, a - b otherwise
    sel_a, sel_b = [], []
    for k in range(K):
        avail = n + k
        sa = [m.new_bool_var(f"a{k}_{i}") for i in range(avail)]
        sb = [m.new_bool_var(f"b{k}_{i}") for i in range(avail)]
        m.add_exactly_one(sa)
        m.add_exactly_one(sb)
        # a < b: position of a strictly before position of b
        pos_a = sum(i * s for i, s in enumerate(sa))
        pos_b = sum(i * s for i, s in enumerate(sb))
        m.add(pos_a < pos_b)
        # inactive steps are fixed: a = input 0, b = input 1, value 0
        m.add(pos_a == 0).only_enforce_if(~active[k])
        m.add(pos_b == 1).only_enforce_if(~active[k])
        for j in range(n):
            m.add(val[k][j] == 0).only_enforce_if(~active[k])
        sel_a.append(sa)
        sel_b.append(sb)
        av = [m.new_int_var(-bound, bound, f"av{k}_{j}") for j in range(n)]
        bv = [m.new_int_var(-bound, bound, f"bv{k}_{j}") for j in range(n)]
        for i in range(avail):
            for j in range(n):
                src = (1 if i == j else 0) if i < n else val[i - n][j]
                m.add(av[j] == src).only_enforce_if(sa[i])
                m.add(bv[j] == src).only_enforce_if(sb[i])
        for j in range(n):
            m.add(val[k][j] == av[j] + bv[j]).only_enforce_if([active[k], sign[k]])
            m.add(val[k][j] == av[j] - bv[j]).only_enforce_if([active[k], ~sign[k]])
    match = []
    for t, tv in enumerate(targets):
        row_match = []
        for k in range(K):
            pos = m.new_bool_var(f"m{t}_{k}p")
            neg = m.new_bool_var(f"m{t}_{k}n")
            m.add_implication(pos, active[k])
            m.add_implication(neg, active[k])
            for j in range(n):
                m.add(val[k][j] == tv[j]).only_enforce_if(pos)
                m.add(val[k][j] == -tv[j]).only_enforce_if(neg)
            row_match += [pos, neg]
        m.add_bool_or(row_match)
        match.append(row_match)
    # no dead steps: each active step is a target or read later
    for k in range(K):
        users = [match[t][2 * k] for t in range(len(targets))] + [match[t][2 * k + 1] for t in range(len(targets))]
        for k2 in range(k + 1, K):
            users += [sel_a[k2][n + k], sel_b[k2][n + k]]
        m.add_bool_or(users).only_enforce_if(active[k])
    m.add(sum(active) >= len(targets))
    m.minimize(sum(active))
    if hint is not None:
        steps = _hint_steps(hint, n, bound)
        if steps is not None and len(steps) <= K:
            for k in range(K):
                on = k < len(steps)
                m.add_hint(active[k], on)
                a, b, s, value = steps[k] if on else (0, 1, 1, [0] * n)
                m.add_hint(sign[k], s > 0)
                for i in range(n + k):
                    m.add_hint(sel_a[k][i], i == a)
                    m.add_hint(sel_b[k][i], i == b)
                for j in range(n):
                    m.add_hint(val[k][j], value[j])
    variables = {"active": active, "val": val, "sign": sign, "sel_a": sel_a, "sel_b": sel_b,
                 "targets": targets, "rows": rows, "n": n}
    return m, variables


def _extract(solver: cp_model.CpSolver, v: dict) -> Program:
    n, rows, targets = v["n"], v["rows"], v["targets"]
    ops = []
    values: list[tuple[int, ...]] = [tuple(1 if i == j else 0 for i in range(n)) for j in range(n)]
    for k, on in enumerate(v["active"]):
        if not solver.boolean_value(on):
            break
        a = next(i for i, s in enumerate(v["sel_a"][k]) if solver.boolean_value(s))
        b = next(i for i, s in enumerate(v["sel_b"][k]) if solver.boolean_value(s))
        s = 1 if solver.boolean_value(v["sign"][k]) else -1
        ops.append((n + k, 1, a, s, b))
        values.append(tuple(x + s * y for x, y in zip(values[a], values[b])))
    index = {}
    for var, value in enumerate(values):
        index.setdefault(value, (var, 1))
        index.setdefault(tuple(-x for x in value), (var, -1))
    _, reads = _targets(rows)
    outputs = []
    for read in reads:
        if read[0] == "zero":
            outputs.append(())
        elif read[0] == "input":
            outputs.append(((read[1], read[2]),))
        else:
            _, c, t = read
            var, s = index[targets[t]]
            outputs.append(((c * s, var),))
    return Program(n, tuple(ops), tuple(outputs))


def shortest_program(matrix: Any, time_limit: float = 10.0, hint: Optional[Program] = None,
                     max_steps: Optional[int] = None, bound: int = 1, seed: int = 0,
                     workers: int = 1) -> ExactResult:
    """A shortest program of +-1 additions for ``M @ x`` by CP-SAT, with a proof when it finishes.

    Parameters
    ----------
    matrix : rows or object array
        Entries in {-1, 0, 1}.
    time_limit : float
        Seconds for CP-SAT.
    hint : Program, optional
        A known program (e.g. :func:`discovery.codegen.minimize.minimize`'s);
        its length caps the model and it is given to CP-SAT as a hint.
    max_steps : int, optional
        Cap on the steps (default: the hint's additions, else the naive count).
    bound : int
        Intermediate coefficients stay in ``[-bound, bound]``.
    seed, workers : int
        CP-SAT's random seed and number of workers (1: deterministic).

    Raises
    ------
    InvalidInputError
        For entries outside {-1, 0, 1} or a map too big for the model.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> r = shortest_program(strassen_winograd().U, time_limit=20)
    >>> r.optimal, r.program.additions, r.lower_bound
    (True, 4, 4)
    """
    rows = _ternary_rows(matrix)
    targets, _ = _targets(rows)
    if max_steps is None:
        naive = sum(max(sum(1 for x in row if x) - 1, 0) for row in rows)
        max_steps = hint.additions if hint is not None else naive
    max_steps = int(max_steps)
    if not targets:
        return ExactResult(Program(len(rows[0]), (), tuple(
            () if not any(r) else ((next(x for x in r if x), next(j for j, x in enumerate(r) if x)),) for r in rows)),
            True, 0, "OPTIMAL", 0.0)
    if max_steps < len(targets):
        raise InvalidInputError(f"max_steps = {max_steps} is below the {len(targets)} rows that need an addition")
    model, v = build_model(rows, max_steps, bound, hint)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed) % (2**31)
    status = solver.solve(model)
    name = solver.status_name(status)
    seconds = solver.wall_time
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        program = _extract(solver, v)
        if program.matrix().tolist() != [[_norm(Fraction(x)) for x in r] for r in rows]:
            raise AssertionError("internal error: the CP-SAT program does not compute its matrix")
        bound_found = int(round(solver.best_objective_bound))
        return ExactResult(program, status == cp_model.OPTIMAL, max(bound_found, len(targets)), name, seconds)
    if status == cp_model.INFEASIBLE:
        # no program within max_steps: the bound is max_steps + 1
        return ExactResult(None, False, max_steps + 1, name, seconds)
    return ExactResult(None, False, len(targets), name, seconds)
