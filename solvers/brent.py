"""The Brent equations as a CP-SAT model.

A rank-R scheme ``(U, V, W)`` for a tensor ``T`` solves the *Brent equations*
(see :mod:`discovery.core.problems` for the index conventions)::

    sum_r U[r, a] * V[r, b] * W[r, c] == T[a, b, c]     for every (a, b, c)

With the coefficients restricted to a small finite set (the *domain*) this is
a constraint program.  :func:`build_model` writes it for OR-tools CP-SAT;
:func:`solve_model` runs the solver.  Building and solving are separate so that
callers can add hints or constraints in between (refinement, lifting).

Domains are sets of exact values.  Rational domains (``dyadic``) are scaled to
integers by their common denominator ``s``: the model's variables hold
``s * coefficient`` and the equations read ``sum U V W == s**3 * T``.

Every entry may carry its own allowed values (``entry_values``): a single
value makes it a constant, which keeps refinement models small, and parity
classes serve lifting from F2.  Products of two variables become auxiliary
variables (``add_multiplication_equality``), cached per pair, so each
``U[r, a] * V[r, b]`` is built once and reused for every ``c``.

Symmetry breaking (only for unconstrained models) uses the two symmetries
every problem has: the terms may be permuted (we ask for the rows of ``U`` in
non-decreasing lexicographic order) and each term may change sign in two of
its three factors (we ask the first nonzero entry of ``U[r]`` and of ``V[r]``
to be positive).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional, Sequence

import numpy as np
from ortools.sat.python import cp_model

from discovery.core.coefficients import COEFFICIENT_SETS, exact
from discovery.core.checks import check_problem_rank
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.scheme import Scheme

__all__ = [
    "Domain",
    "as_domain",
    "BrentModel",
    "build_model",
    "solve_model",
    "SolveOutcome",
    "flattening_rank",
]

FACTORS = ("U", "V", "W")


# --------------------------------------------------------------------- domain
@dataclass(frozen=True)
class Domain:
    """A finite set of exact coefficient values and its integer scaling.

    Attributes
    ----------
    values : tuple of Fraction
        The allowed coefficients, sorted.
    scale : int
        Common denominator: the model holds ``scale * value`` (integers).
    name : str
        ``"ternary"``, ``"int2"``, ``"dyadic"`` or ``"custom"``.
    """

    values: tuple
    scale: int
    name: str = "custom"

    @property
    def scaled(self) -> tuple[int, ...]:
        """The values times :attr:`scale`, as ints."""
        return tuple(int(v * self.scale) for v in self.values)

    def nearest(self, x: float) -> Fraction:
        """The allowed value closest to the float ``x``."""
        return min(self.values, key=lambda v: (abs(float(v) - x), abs(v)))


def as_domain(domain: Any = "ternary") -> Domain:
    """Normalise a domain given by name, by a :class:`Domain` or by values.

    Raises
    ------
    InvalidInputError
        For an unknown name, an empty set, or non-exact values.

    Examples
    --------
    >>> as_domain("int2").scaled
    (-2, -1, 0, 1, 2)
    >>> d = as_domain("dyadic"); d.scale, d.scaled
    (2, (-4, -2, -1, 0, 1, 2, 4))
    >>> as_domain([])
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: coefficient domain is empty
    """
    if isinstance(domain, Domain):
        return domain
    if isinstance(domain, str):
        if domain not in COEFFICIENT_SETS:
            raise InvalidInputError(
                f"unknown coefficient domain {domain!r}: expected one of {', '.join(COEFFICIENT_SETS)}"
            )
        values, name = COEFFICIENT_SETS[domain], domain
    else:
        try:
            values = [exact(v, "domain value") for v in domain]
        except TypeError:
            raise InvalidInputError(f"coefficient domain must be a name or a set of values, got {domain!r}") from None
        name = "custom"
    vals = tuple(sorted({Fraction(v) for v in values}))
    if not vals:
        raise InvalidInputError("coefficient domain is empty")
    if vals == (Fraction(0),):
        raise InvalidInputError("coefficient domain {0} admits only the zero scheme")
    scale = 1
    for v in vals:
        scale = math.lcm(scale, v.denominator)
    return Domain(vals, scale, name)


def flattening_rank(problem: Problem) -> int:
    """The largest rank of the three flattenings of the problem's tensor.

    Any scheme, over any field containing Q, needs at least this many terms.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> flattening_rank(matmul(2, 2, 2))
    4
    """
    t = problem.tensor().astype(float)
    nx, ny, nz = t.shape
    return max(
        int(np.linalg.matrix_rank(t.reshape(nx, ny * nz))),
        int(np.linalg.matrix_rank(t.transpose(1, 0, 2).reshape(ny, nx * nz))),
        int(np.linalg.matrix_rank(t.transpose(2, 0, 1).reshape(nz, nx * ny))),
    )


# ---------------------------------------------------------------------- model
@dataclass
class BrentModel:
    """A CP-SAT model of the Brent equations, ready to solve.

    ``entries[f][r][i]`` is the model expression of factor ``f`` (0, 1, 2 for
    U, V, W), term ``r``, index ``i``: an ``IntVar`` or a constant ``int``
    (both holding ``domain.scale`` times the coefficient).
    """

    problem: Problem
    rank: int
    domain: Domain
    model: cp_model.CpModel
    entries: list
    symmetry_breaking: bool
    free: int = 0
    stats: dict = field(default_factory=dict)

    def variables(self):
        """Yield ``(factor, r, i, var)`` for every free entry."""
        for f, mat in enumerate(self.entries):
            for r, row in enumerate(mat):
                for i, e in enumerate(row):
                    if not isinstance(e, int):
                        yield f, r, i, e

    def add_hint(self, U: Any, V: Any, W: Any) -> int:
        """Warm start: hint each free entry with the nearest allowed value.

        ``U, V, W`` may be exact or float arrays (an approximate or rounded
        scheme).  Returns the number of hints added.
        """
        mats = [np.asarray(m, dtype=object) for m in (U, V, W)]
        for m, name, width in zip(mats, FACTORS, self.problem.shape):
            if m.shape != (self.rank, width):
                raise InvalidInputError(f"hint {name} has shape {m.shape}, expected {(self.rank, width)}")
        n = 0
        for f, r, i, var in self.variables():
            allowed = self._allowed(var)
            x = float(mats[f][r, i]) * self.domain.scale
            self.model.add_hint(var, min(allowed, key=lambda v: (abs(v - x), abs(v))))
            n += 1
        return n

    def _allowed(self, var) -> list[int]:
        return _values(var)

    def scheme(self, solver: cp_model.CpSolver, meta: Optional[dict] = None) -> Scheme:
        """The scheme held by a solved model (exact ``Fraction``/``int`` entries)."""
        s = self.domain.scale
        mats = []
        for mat in self.entries:
            rows = []
            for row in mat:
                rows.append([
                    Fraction(e if isinstance(e, int) else int(solver.value(e)), s) for e in row
                ])
            mats.append(rows)
        field_ = "F2" if self.domain.name == "F2" else "Z" if s == 1 else "Q"
        return Scheme(self.problem, *mats, field=field_, meta=meta or {})


def _entry_values(entry_values, f: int, r: int, i: int):
    if entry_values is None:
        return None
    mats = entry_values[f] if not isinstance(entry_values, dict) else entry_values.get(FACTORS[f])
    if mats is None:
        return None
    return mats[r][i]


def build_model(
    problem: Problem,
    rank: int,
    domain: Any = "ternary",
    *,
    entry_values: Optional[Sequence] = None,
    symmetry_breaking: Optional[bool] = None,
    target: Optional[np.ndarray] = None,
    field: str = "Z",
) -> BrentModel:
    """Build the CP-SAT model of the Brent equations.

    Parameters
    ----------
    problem : Problem
    rank : int
        Number of rank-one terms (>= 1).
    domain : str, Domain or iterable of exact values
        Allowed coefficients (``"ternary"`` = {-1, 0, 1} by default).
    entry_values : (EU, EV, EW), optional
        Per-entry restrictions: ``E*[r][i]`` is ``None`` (the domain) or a
        collection of exact values; a single value makes the entry a constant.
    symmetry_breaking : bool, optional
        Term order and sign normalisation; default on when no entry is
        restricted (restrictions could contradict the normal form).
    target : array, optional
        Solve ``sum U V W == target`` instead of the problem's tensor.
    field : {"Z", "F2"}
        ``"F2"`` builds the mod-2 model (Boolean entries, XOR equations) and
        ignores ``domain``; a rank infeasible mod 2 is infeasible over Z too.

    Returns
    -------
    BrentModel

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> bm = build_model(matmul(1, 1, 2), 2)
    >>> bm.free, bm.symmetry_breaking
    (10, True)
    """
    rank = check_problem_rank(problem, rank)
    if field not in ("Z", "Q", "F2"):
        raise InvalidInputError(f"field must be Z, Q or F2, got {field!r}")
    dom = Domain((Fraction(0), Fraction(1)), 1, "F2") if field == "F2" else as_domain(domain)
    s = dom.scale
    scaled = dom.scaled
    t = problem.tensor() if target is None else np.asarray(target)
    nx, ny, nz = problem.shape
    if t.shape != (nx, ny, nz):
        raise InvalidInputError(f"target has shape {t.shape}, expected {(nx, ny, nz)}")
    model = cp_model.CpModel()
    full = cp_model.Domain.from_values(list(scaled))
    boolean = field == "F2"
    restricted = False
    entries: list = []
    free = 0
    for f, width in enumerate((nx, ny, nz)):
        mat = []
        for r in range(rank):
            row = []
            for i in range(width):
                allowed = _entry_values(entry_values, f, r, i)
                if allowed is None:
                    var = (model.new_bool_var(f"{FACTORS[f]}_{r}_{i}") if boolean
                           else model.new_int_var_from_domain(full, f"{FACTORS[f]}_{r}_{i}"))
                    row.append(var)
                    free += 1
                    continue
                restricted = True
                if isinstance(allowed, (int, Fraction, np.integer)) and not isinstance(allowed, bool):
                    allowed = (allowed,)
                vals = sorted({Fraction(exact(v, f"{FACTORS[f]}[{r}][{i}]")) * s for v in allowed})
                if boolean:
                    vals = sorted({v % 2 for v in vals})
                if any(v.denominator != 1 for v in vals):
                    raise InvalidInputError(
                        f"{FACTORS[f]}[{r}][{i}]: allowed values {allowed} do not fit the domain's scale {s}"
                    )
                if not vals:
                    raise InvalidInputError(f"{FACTORS[f]}[{r}][{i}]: no allowed values")
                if len(vals) == 1:
                    row.append(int(vals[0]))
                elif boolean:
                    row.append(model.new_bool_var(f"{FACTORS[f]}_{r}_{i}"))
                    free += 1
                else:
                    var = model.new_int_var_from_domain(
                        cp_model.Domain.from_values([int(v) for v in vals]), f"{FACTORS[f]}_{r}_{i}"
                    )
                    row.append(var)
                    free += 1
            mat.append(row)
        entries.append(mat)
    if symmetry_breaking is None:
        symmetry_breaking = not restricted
    bm = BrentModel(problem, rank, dom, model, entries, bool(symmetry_breaking), free)
    if field == "F2":
        _add_parity_equations(bm, t.astype(object) % 2)
    else:
        _add_equations(bm, t.astype(object) * (s**3))
    if symmetry_breaking:
        _add_symmetry_breaking(bm)
    return bm


def _bounds(e) -> tuple[int, int]:
    if isinstance(e, int):
        return e, e
    d = list(e.proto.domain)
    return d[0], d[-1]


def _values(e) -> list[int]:
    if isinstance(e, int):
        return [e]
    d = list(e.proto.domain)
    out = []
    for lo, hi in zip(d[::2], d[1::2]):
        out.extend(range(lo, hi + 1))
    return out


def _product_var(model, cache, x, y, name):
    key = (x.index, y.index) if x.index <= y.index else (y.index, x.index)
    var = cache.get(key)
    if var is None:
        vals = sorted({a * b for a in _values(x) for b in _values(y)})
        var = model.new_int_var_from_domain(cp_model.Domain.from_values(vals), name)
        model.add_multiplication_equality(var, [x, y])
        cache[key] = var
    return var


def _add_equations(bm: BrentModel, t_scaled: np.ndarray) -> None:
    if set(bm.domain.scaled) <= {-1, 0, 1} and bm.domain.scale == 1:
        _add_ternary_equations(bm, t_scaled)
    else:
        _add_integer_equations(bm, t_scaled)


def _add_integer_equations(bm: BrentModel, t_scaled: np.ndarray) -> None:
    model = bm.model
    U, V, W = bm.entries
    nx, ny, nz = bm.problem.shape
    cache: dict = {}
    products = 0
    for a in range(nx):
        for b in range(ny):
            # monomials (coef, var-or-None) for U[r,a] * V[r,b]
            uv = []
            for r in range(bm.rank):
                x, y = U[r][a], V[r][b]
                if isinstance(x, int) and isinstance(y, int):
                    if x * y:
                        uv.append((r, x * y, None))
                elif isinstance(x, int):
                    if x:
                        uv.append((r, x, y))
                elif isinstance(y, int):
                    if y:
                        uv.append((r, y, x))
                else:
                    uv.append((r, 1, _product_var(model, cache, x, y, f"p_{r}_{a}_{b}")))
            for c in range(nz):
                const = 0
                terms = []
                for r, coef, var in uv:
                    w = W[r][c]
                    if isinstance(w, int):
                        if w == 0:
                            continue
                        if var is None:
                            const += coef * w
                        else:
                            terms.append(coef * w * var)
                    elif var is None:
                        terms.append(coef * w)
                    else:
                        terms.append(coef * _product_var(model, cache, var, w, f"q_{r}_{a}_{b}_{c}"))
                _add_equation(model, terms, int(t_scaled[a, b, c]) - const)
                products += len(terms)
    bm.stats["products"] = len(cache)
    bm.stats["terms"] = products


def _add_equation(model, terms, rhs: int) -> None:
    if terms:
        model.add(sum(terms) == rhs)
    elif rhs != 0:
        model.add_bool_or([])  # an unsatisfiable constant equation


class _Ternary:
    """Boolean algebra of values in {-1, 0, 1} held as (positive, negative)
    literal pairs; constants are Python bools.  ANDs are cached."""

    def __init__(self, model):
        self.model = model
        self.cache: dict = {}

    def lits(self, e):
        if isinstance(e, int):
            return (e == 1, e == -1)
        p = self.model.new_bool_var("")
        n = self.model.new_bool_var("")
        self.model.add(e == p - n)
        return (p, n)

    def conj(self, x, y):
        if x is False or y is False:
            return False
        if x is True:
            return y
        if y is True:
            return x
        key = (x.index, y.index) if x.index <= y.index else (y.index, x.index)
        z = self.cache.get(key)
        if z is None:
            z = self.model.new_bool_var("")
            self.model.add_bool_or([x.negated(), y.negated(), z])
            self.model.add_implication(z, x)
            self.model.add_implication(z, y)
            self.cache[key] = z
        return z

    def disj_exclusive(self, x, y):
        if x is False:
            return y
        if y is False:
            return x
        if x is True or y is True:
            return True
        z = self.model.new_bool_var("")
        self.model.add(z == x + y)
        return z

    def mul(self, x, y):
        (xp, xn), (yp, yn) = x, y
        return (
            self.disj_exclusive(self.conj(xp, yp), self.conj(xn, yn)),
            self.disj_exclusive(self.conj(xp, yn), self.conj(xn, yp)),
        )


def _add_ternary_equations(bm: BrentModel, t_scaled: np.ndarray) -> None:
    """Boolean encoding for domains inside {-1, 0, 1}, with the parity
    (mod-2 image) of each equation added as a redundant XOR constraint."""
    model = bm.model
    alg = _Ternary(model)
    lits = [[[alg.lits(e) for e in row] for row in mat] for mat in bm.entries]
    U, V, W = lits
    nx, ny, nz = bm.problem.shape
    terms_total = 0
    for a in range(nx):
        for b in range(ny):
            uv = [(r, alg.mul(U[r][a], V[r][b])) for r in range(bm.rank)]
            uv = [(r, x) for r, x in uv if not (x[0] is False and x[1] is False)]
            for c in range(nz):
                const = 0
                terms = []
                parity = []
                for r, x in uv:
                    tp, tn = alg.mul(x, W[r][c])
                    for lit, sign in ((tp, 1), (tn, -1)):
                        if lit is True:
                            const += sign
                        elif lit is not False:
                            terms.append(sign * lit)
                    nzl = alg.disj_exclusive(tp, tn)
                    if nzl is True:
                        parity.append(True)
                    elif nzl is not False:
                        parity.append(nzl)
                rhs = int(t_scaled[a, b, c]) - const
                _add_equation(model, terms, rhs)
                odd = (int(t_scaled[a, b, c]) + sum(1 for p in parity if p is True)) % 2
                xs = [p for p in parity if p is not True]
                if xs:
                    model.add_bool_xor(xs if odd else xs[:-1] + [xs[-1].negated()])
                terms_total += len(terms)
    bm.stats["ands"] = len(alg.cache)
    bm.stats["terms"] = terms_total


def _add_parity_equations(bm: BrentModel, t_mod2: np.ndarray) -> None:
    model = bm.model
    alg = _Ternary(model)
    U, V, W = ([[bool(e) if isinstance(e, int) else e for e in row] for row in mat]
               for mat in bm.entries)
    nx, ny, nz = bm.problem.shape
    for a in range(nx):
        for b in range(ny):
            uv = [(r, alg.conj(U[r][a], V[r][b])) for r in range(bm.rank)]
            uv = [(r, x) for r, x in uv if x is not False]
            for c in range(nz):
                odd = int(t_mod2[a, b, c])
                xs = []
                for r, x in uv:
                    lit = alg.conj(x, W[r][c])
                    if lit is True:
                        odd ^= 1
                    elif lit is not False:
                        xs.append(lit)
                if xs:
                    model.add_bool_xor(xs if odd else xs[:-1] + [xs[-1].negated()])
                elif odd:
                    model.add_bool_or([])
    bm.stats["ands"] = len(alg.cache)


def _add_symmetry_breaking(bm: BrentModel) -> None:
    model = bm.model
    U, V, _ = bm.entries
    big = max(abs(v) for v in bm.domain.scaled)
    smallest = min(abs(v) for v in bm.domain.scaled if v != 0)
    weight = -(-big // smallest)
    # sign normalisation: first nonzero of U[r] and of V[r] is positive
    for mat in (U, V) if min(bm.domain.scaled) < 0 else ():
        for r, row in enumerate(mat):
            absolutes = []
            for i, e in enumerate(row):
                if absolutes:
                    model.add(e + weight * sum(absolutes) >= 0)
                else:
                    model.add(e >= 0)
                lo, hi = _bounds(e)
                a = model.new_int_var(0, max(abs(lo), abs(hi)), f"abs_{r}_{i}")
                model.add_abs_equality(a, e)
                absolutes.append(a)
    # term order: rows of U lexicographically non-decreasing (base 2*big+1 keys)
    base = 2 * big + 1
    width = len(U[0])
    k = max(1, min(width, int(math.log(2**50) / math.log(base))))
    keys = [sum(row[i] * base ** (k - 1 - i) for i in range(k)) for row in U]
    for r in range(bm.rank - 1):
        model.add(keys[r] <= keys[r + 1])


# --------------------------------------------------------------------- solve
@dataclass
class SolveOutcome:
    """What :func:`solve_model` found.

    ``status`` is ``"found"``, ``"infeasible"`` (proved by CP-SAT for this
    model) or ``"unknown"`` (out of time, nothing proved).
    """

    status: str
    scheme: Optional[Scheme]
    seconds: float
    solver_status: str
    stats: dict = field(default_factory=dict)


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, callback: Optional[ProgressCallback], engine: str):
        super().__init__()
        self._callback = callback
        self._engine = engine
        self.solutions = 0

    def on_solution_callback(self) -> None:
        self.solutions += 1
        if self._callback is not None:
            self._callback(ProgressEvent(self._engine, done=self.solutions, found=self.solutions,
                                         message=f"solution after {self.wall_time:.1f}s"))


def solve_model(
    bm: BrentModel,
    *,
    time_limit: Optional[float] = None,
    workers: int = 1,
    seed: int = 0,
    callback: Optional[ProgressCallback] = None,
    engine: str = "cpsat",
    parameters: Optional[dict] = None,
) -> SolveOutcome:
    """Solve a :class:`BrentModel` with CP-SAT.

    Parameters
    ----------
    time_limit : float, optional
        Seconds (``max_time_in_seconds``); no limit when None.
    workers : int
        ``num_workers``; 1 is deterministic for a given seed.
    seed : int
        ``random_seed``.
    callback : callable, optional
        Receives a :class:`~discovery.core.progress.ProgressEvent` per solution.
    parameters : dict, optional
        Further ``SatParameters`` fields, set by name.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> out = solve_model(build_model(matmul(1, 1, 2), 1))
    >>> out.status
    'infeasible'
    """
    solver = cp_model.CpSolver()
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = max(1, int(workers))
    solver.parameters.random_seed = int(seed) % (2**31 - 1)
    for key, value in (parameters or {}).items():
        setattr(solver.parameters, key, value)
    progress = _Progress(callback, engine)
    start = time.perf_counter()
    status = solver.solve(bm.model, progress)
    seconds = time.perf_counter() - start
    name = solver.status_name(status)
    stats = {"conflicts": int(solver.num_conflicts), "branches": int(solver.num_branches),
             "wall": float(solver.wall_time)}
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SolveOutcome("found", bm.scheme(solver), seconds, name, stats)
    if status == cp_model.INFEASIBLE:
        return SolveOutcome("infeasible", None, seconds, name, stats)
    if status == cp_model.MODEL_INVALID:  # pragma: no cover - a bug in the model builder
        raise RuntimeError(f"CP-SAT rejected the Brent model: {bm.model.validate()}")
    return SolveOutcome("unknown", None, seconds, name, stats)
