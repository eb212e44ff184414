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

Symmetry breaking (only for unconstrained models) uses only maps that send
every solution over the stated domain ``D`` to another solution over ``D``,
so an infeasible model with symmetry breaking is infeasible without it:

* the terms may be permuted (any domain): the rows of ``U`` are asked to be in
  non-decreasing lexicographic order;
* each term may change sign in two of its three factors -- only when ``D`` is
  closed under negation (``-D == D``): the first nonzero entry of ``U[r]`` and
  of ``V[r]`` is asked to be positive.  For ``{-1, 0, 1, 2}`` this map leaves
  the domain (``2 -> -2``), so no sign is fixed.

Term rescaling ``(u, v, w) -> (a u, b v, w / (a b))`` is never used: it maps
a finite domain into itself only for ``a, b = +-1`` (for the dyadic set,
``a = 2`` sends 2 to 4), which the sign rule already covers.
:attr:`BrentModel.symmetries` lists what was applied, and
:attr:`SolveOutcome.proof` states it with every proof of infeasibility.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional, Sequence

import numpy as np
from ortools.sat.python import cp_model

from sympy import QQ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.matrices.sdm import SDM

from discovery.core import limits
from discovery.core.coefficients import COEFFICIENT_SETS, exact
from discovery.core.checks import check_problem_rank
from discovery.core.errors import InternalError, InvalidInputError, NotFoundError
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
    "flattening_ranks",
    "exact_rank",
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

    @property
    def symmetric(self) -> bool:
        """True when the domain is closed under negation (``-D == D``).

        Examples
        --------
        >>> as_domain("dyadic").symmetric, as_domain([-1, 0, 1, 2]).symmetric
        (True, False)
        """
        return set(self.values) == {-v for v in self.values}

    def label(self) -> str:
        """``ternary`` or the values, e.g. ``{-1, 0, 1, 2}``."""
        if self.name != "custom":
            return self.name
        return "{" + ", ".join(str(v) for v in self.values) + "}"

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
        limits.check("domain_value", scale, "the common denominator of the coefficient domain")
    biggest = max(vals, key=abs)
    limits.check("domain_value", abs(int(biggest * scale)),
                 f"the coefficient domain's largest value {biggest} times its common denominator {scale}")
    return Domain(vals, scale, name)


def exact_rank(matrix: Any) -> int:
    """The rank over Q of an integer matrix, computed exactly.

    Zero and repeated columns are dropped first (they change no rank); the
    rest is eliminated over the rationals by sympy's sparse ``DomainMatrix``,
    with no rounding anywhere.

    Examples
    --------
    >>> exact_rank([[1, 2], [2, 4]]), exact_rank([[10**20, 1], [1, 0]])
    (1, 2)
    """
    arr = np.asarray(matrix)
    if arr.ndim != 2:
        raise InvalidInputError(f"expected a matrix, got shape {arr.shape}")
    if arr.dtype.kind not in "iuO":
        raise InvalidInputError(f"exact_rank needs integer entries, got dtype {arr.dtype}")
    if arr.size == 0:
        return 0
    if arr.dtype != object:
        arr = arr[:, np.any(arr != 0, axis=0)]
        if arr.shape[1] == 0:
            return 0
        arr = np.unique(arr, axis=1)
    if arr.shape[0] > arr.shape[1]:
        arr = arr.T
    rows = {}
    for i, row in enumerate(arr.tolist()):
        entries = {j: QQ(int(v)) for j, v in enumerate(row) if v != 0}
        if entries:
            rows[i] = entries
    if not rows:
        return 0
    return int(DomainMatrix.from_rep(SDM(rows, arr.shape, QQ)).rank())


def flattening_ranks(problem: Problem) -> tuple[int, int, int]:
    """The exact ranks over Q of the three flattenings of the problem's tensor.

    Examples
    --------
    >>> from discovery.core.problems import tensor
    >>> flattening_ranks(tensor([[[1, 0], [0, 1]]]))
    (1, 2, 2)
    """
    t = problem.tensor()
    nx, ny, nz = t.shape
    return (
        exact_rank(t.reshape(nx, ny * nz)),
        exact_rank(t.transpose(1, 0, 2).reshape(ny, nx * nz)),
        exact_rank(t.transpose(2, 0, 1).reshape(nz, nx * ny)),
    )


def flattening_rank(problem: Problem) -> int:
    """The largest rank of the three flattenings of the problem's tensor.

    Any scheme, over any field containing Q, needs at least this many terms:
    a rank-R scheme writes each flattening as a sum of R rank-one matrices.
    The ranks are computed exactly (:func:`exact_rank`), so the bound is a
    proof.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> flattening_rank(matmul(2, 2, 2))
    4
    """
    return max(flattening_ranks(problem))


# ---------------------------------------------------------------------- model
@dataclass
class BrentModel:
    """A CP-SAT model of the Brent equations, ready to solve.

    ``entries[f][r][i]`` is the model expression of factor ``f`` (0, 1, 2 for
    U, V, W), term ``r``, index ``i``: an ``IntVar`` or a constant ``int``
    (both holding ``domain.scale`` times the coefficient).  ``symmetries``
    lists the symmetry-breaking constraints that were added (``"term
    order"``, ``"signs"``); ``restricted`` counts entries with their own
    allowed values.
    """

    problem: Problem
    rank: int
    domain: Domain
    model: cp_model.CpModel
    entries: list
    symmetry_breaking: bool
    free: int = 0
    stats: dict = field(default_factory=dict)
    symmetries: tuple = ()
    restricted: int = 0
    field: str = "Z"

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

    def describe(self) -> str:
        """What the model states, for proofs: rank, domain, restrictions, symmetry breaking.

        Examples
        --------
        >>> from discovery.core.problems import matmul
        >>> build_model(matmul(1, 1, 2), 2, [-1, 0, 1, 2]).describe()
        'rank 2 over {-1, 0, 1, 2}, symmetry breaking: term order (no signs: the domain is not closed under negation)'
        """
        where = "mod 2" if self.field == "F2" else f"over {self.domain.label()}"
        text = f"rank {self.rank} {where}"
        if self.restricted:
            text += f", {self.restricted} entries fixed or restricted"
        if not self.symmetries:
            return text + ", no symmetry breaking"
        text += ", symmetry breaking: " + " and ".join(self.symmetries)
        if "signs" not in self.symmetries and self.field != "F2":
            text += " (no signs: the domain is not closed under negation)"
        return text

    def scheme(self, solver: cp_model.CpSolver, meta: Optional[dict] = None) -> Scheme:
        """The scheme held by a solved model (exact ``Fraction``/``int`` entries)."""
        s = self.domain.scale
        mats = []
        for mat in self.entries:
            values = np.array([[e if isinstance(e, int) else int(solver.value(e)) for e in row] for row in mat],
                              dtype=np.int64)
            if s == 1:
                mats.append(values)
            else:
                exact_values = np.empty(values.shape, dtype=object)
                for idx, v in np.ndenumerate(values):
                    q = Fraction(int(v), s)
                    exact_values[idx] = q.numerator if q.denominator == 1 else q
                mats.append(exact_values)
        field_ = "F2" if self.domain.name == "F2" else "Z" if s == 1 else "Q"
        return Scheme(self.problem, *mats, field=field_, meta=meta or {})


def _entry_values(entry_values, f: int, r: int, i: int):
    if entry_values is None:
        return None
    mats = entry_values[f] if not isinstance(entry_values, dict) else entry_values.get(FACTORS[f])
    if mats is None:
        return None
    return mats[r][i]


class _Clock:
    """Deadline of a model build: building stops with NotFoundError when it passes."""

    def __init__(self, time_limit: Optional[float]):
        if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
            raise InvalidInputError(f"time limit must be a positive number of seconds, got {time_limit!r}")
        self.deadline = None if time_limit is None else time.perf_counter() + float(time_limit)

    def tick(self) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise NotFoundError("time limit reached while building the CP-SAT model (nothing proved)")


def build_model(
    problem: Problem,
    rank: int,
    domain: Any = "ternary",
    *,
    entry_values: Optional[Sequence] = None,
    symmetry_breaking: Optional[bool] = None,
    target: Optional[np.ndarray] = None,
    field: str = "Z",
    time_limit: Optional[float] = None,
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
        Term order, and sign normalisation when the domain is closed under
        negation; default on when no entry is restricted.  Refused with
        restrictions (they could contradict the normal form).
    target : array, optional
        Solve ``sum U V W == target`` instead of the problem's tensor.
    field : {"Z", "F2"}
        ``"F2"`` builds the mod-2 model (Boolean entries, XOR equations) and
        ignores ``domain``; a rank infeasible mod 2 is infeasible over Z too.
    time_limit : float, optional
        Seconds the building may take; past it, :class:`NotFoundError`.

    Returns
    -------
    BrentModel

    Raises
    ------
    NotFoundError
        When ``time_limit`` passes during the building (nothing proved).

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> bm = build_model(matmul(1, 1, 2), 2)
    >>> bm.free, bm.symmetry_breaking, bm.symmetries
    (10, True, ('term order', 'signs'))
    """
    rank = check_problem_rank(problem, rank)
    clock = _Clock(time_limit)
    if field not in ("Z", "Q", "F2"):
        raise InvalidInputError(f"field must be Z, Q or F2, got {field!r}")
    limits.check_scheme_size(rank, problem.shape, "model")
    dom = Domain((Fraction(0), Fraction(1)), 1, "F2") if field == "F2" else as_domain(domain)
    s = dom.scale
    scaled = dom.scaled
    t = problem.tensor() if target is None else np.asarray(target)
    nx, ny, nz = problem.shape
    if t.shape != (nx, ny, nz):
        raise InvalidInputError(f"target has shape {t.shape}, expected {(nx, ny, nz)}")
    model = cp_model.CpModel()
    full = cp_model.Domain.from_values(list(scaled))
    biggest_scaled = max(abs(v) for v in scaled)
    boolean = field == "F2"
    restricted = 0
    entries: list = []
    free = 0
    for f, width in enumerate((nx, ny, nz)):
        mat = []
        for r in range(rank):
            clock.tick()
            row = []
            for i in range(width):
                allowed = _entry_values(entry_values, f, r, i)
                if allowed is None:
                    var = (model.new_bool_var(f"{FACTORS[f]}_{r}_{i}") if boolean
                           else model.new_int_var_from_domain(full, f"{FACTORS[f]}_{r}_{i}"))
                    row.append(var)
                    free += 1
                    continue
                restricted += 1
                if type(allowed) is int or (isinstance(allowed, (Fraction, np.integer)) and not isinstance(allowed, bool)):
                    value = Fraction(allowed) * s if type(allowed) is not int else allowed * s
                    if type(value) is not int:
                        if value.denominator != 1:
                            raise InvalidInputError(
                                f"{FACTORS[f]}[{r}][{i}]: value {allowed} does not fit the domain's scale {s}")
                        value = int(value)
                    if abs(value) > biggest_scaled:
                        limits.check("domain_value", abs(value), f"{FACTORS[f]}[{r}][{i}]: value (scaled)")
                    row.append(value)  # a constant: the common case of refinement models
                    continue
                vals = sorted({Fraction(exact(v, f"{FACTORS[f]}[{r}][{i}]")) * s for v in allowed})
                if boolean:
                    vals = sorted({v % 2 for v in vals})
                if any(v.denominator != 1 for v in vals):
                    raise InvalidInputError(
                        f"{FACTORS[f]}[{r}][{i}]: allowed values {allowed} do not fit the domain's scale {s}"
                    )
                if not vals:
                    raise InvalidInputError(f"{FACTORS[f]}[{r}][{i}]: no allowed values")
                biggest = max(abs(int(v)) for v in vals)
                if biggest > biggest_scaled:
                    limits.check("domain_value", biggest, f"{FACTORS[f]}[{r}][{i}]: allowed value (scaled)")
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
    if symmetry_breaking and restricted:
        raise InvalidInputError("symmetry breaking needs an unrestricted model: restricted entries break the symmetries")
    bm = BrentModel(problem, rank, dom, model, entries, bool(symmetry_breaking), free,
                    restricted=restricted, field="F2" if boolean else "Z")
    if field == "F2":
        _add_parity_equations(bm, t.astype(object) % 2, clock)
    else:
        _add_equations(bm, t.astype(object) * (s**3), clock)
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


def _support(mat) -> list[list[tuple[int, Any]]]:
    """Per term, the ``(index, entry)`` pairs that are not the constant zero."""
    return [[(i, e) for i, e in enumerate(row) if not (isinstance(e, int) and e == 0)] for row in mat]


def _is_zero_pair(x) -> bool:
    # identity tests: ``==`` on CP-SAT variables builds constraints instead of comparing
    return x[0] is False and x[1] is False


def _equation_keys(t_flat: np.ndarray, touched) -> list[int]:
    """Flat tensor indices that need an equation: those a term touches and the nonzeros of T."""
    nonzero = [int(k) for k, v in enumerate(t_flat.tolist()) if v != 0]
    return sorted(set(touched).union(nonzero))


def _add_equations(bm: BrentModel, t_scaled: np.ndarray, clock: _Clock) -> None:
    if set(bm.domain.scaled) <= {-1, 0, 1} and bm.domain.scale == 1:
        _add_ternary_equations(bm, t_scaled, clock)
    else:
        _add_integer_equations(bm, t_scaled, clock)


def _add_integer_equations(bm: BrentModel, t_scaled: np.ndarray, clock: _Clock) -> None:
    """One linear equation per tensor entry over the products of the terms
    that touch it; a term's support is walked once, so models whose entries
    are mostly constant zeros (refinement) stay small and fast to build."""
    model = bm.model
    su, sv, sw = (_support(m) for m in bm.entries)
    _, ny, nz = bm.problem.shape
    cache: dict = {}
    const: dict = defaultdict(int)
    terms: dict = defaultdict(list)
    for r in range(bm.rank):
        clock.tick()
        for a, x in su[r]:
            clock.tick()
            for b, y in sv[r]:
                if isinstance(x, int) and isinstance(y, int):
                    pc, pv = x * y, None
                elif isinstance(x, int):
                    pc, pv = x, y
                elif isinstance(y, int):
                    pc, pv = y, x
                else:
                    pc, pv = 1, _product_var(model, cache, x, y, f"p_{r}_{a}_{b}")
                base = (a * ny + b) * nz
                for c, w in sw[r]:
                    key = base + c
                    if isinstance(w, int):
                        if pv is None:
                            const[key] += pc * w
                        else:
                            terms[key].append(pc * w * pv)
                    elif pv is None:
                        terms[key].append(pc * w)
                    else:
                        terms[key].append(pc * _product_var(model, cache, pv, w, f"q_{r}_{a}_{b}_{c}"))
    t_flat = t_scaled.ravel()
    count = 0
    for key in _equation_keys(t_flat, set(const).union(terms)):
        row = terms.get(key, [])
        _add_equation(model, row, int(t_flat[key]) - const.get(key, 0))
        count += len(row)
    bm.stats["products"] = len(cache)
    bm.stats["terms"] = count


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


def _add_ternary_equations(bm: BrentModel, t_scaled: np.ndarray, clock: _Clock) -> None:
    """Boolean encoding for domains inside {-1, 0, 1}, with the parity
    (mod-2 image) of each equation added as a redundant XOR constraint."""
    model = bm.model
    alg = _Ternary(model)
    lits = []
    for mat in bm.entries:
        rows = []
        for row in mat:
            clock.tick()
            rows.append([alg.lits(e) for e in row])
        lits.append(rows)
    su, sv, sw = ([[(i, x) for i, x in enumerate(row) if not _is_zero_pair(x)] for row in mat] for mat in lits)
    _, ny, nz = bm.problem.shape
    const: dict = defaultdict(int)
    terms: dict = defaultdict(list)
    parity: dict = defaultdict(list)
    for r in range(bm.rank):
        clock.tick()
        for a, x in su[r]:
            clock.tick()
            for b, y in sv[r]:
                xy = alg.mul(x, y)
                if _is_zero_pair(xy):
                    continue
                base = (a * ny + b) * nz
                for c, w in sw[r]:
                    key = base + c
                    tp, tn = alg.mul(xy, w)
                    for lit, sign in ((tp, 1), (tn, -1)):
                        if lit is True:
                            const[key] += sign
                        elif lit is not False:
                            terms[key].append(sign * lit)
                    nzl = alg.disj_exclusive(tp, tn)
                    if nzl is not False:
                        parity[key].append(nzl)
    t_flat = t_scaled.ravel()
    count = 0
    for key in _equation_keys(t_flat, set(const).union(terms, parity)):
        target = int(t_flat[key])
        row = terms.get(key, [])
        _add_equation(model, row, target - const.get(key, 0))
        bits = parity.get(key, [])
        odd = (target + sum(1 for p in bits if p is True)) % 2
        xs = [p for p in bits if p is not True]
        if xs:
            model.add_bool_xor(xs if odd else xs[:-1] + [xs[-1].negated()])
        count += len(row)
    bm.stats["ands"] = len(alg.cache)
    bm.stats["terms"] = count


def _add_parity_equations(bm: BrentModel, t_mod2: np.ndarray, clock: _Clock) -> None:
    model = bm.model
    alg = _Ternary(model)
    bits = [[[bool(e) if isinstance(e, int) else e for e in row] for row in mat] for mat in bm.entries]
    su, sv, sw = ([[(i, x) for i, x in enumerate(row) if x is not False] for row in mat] for mat in bits)
    _, ny, nz = bm.problem.shape
    flips: dict = defaultdict(int)
    xors: dict = defaultdict(list)
    for r in range(bm.rank):
        clock.tick()
        for a, x in su[r]:
            clock.tick()
            for b, y in sv[r]:
                xy = alg.conj(x, y)
                if xy is False:
                    continue
                base = (a * ny + b) * nz
                for c, w in sw[r]:
                    lit = alg.conj(xy, w)
                    if lit is True:
                        flips[base + c] ^= 1
                    elif lit is not False:
                        xors[base + c].append(lit)
    t_flat = t_mod2.ravel()
    for key in _equation_keys(t_flat, set(flips).union(xors)):
        odd = int(t_flat[key]) ^ flips.get(key, 0)
        xs = xors.get(key, [])
        if xs:
            model.add_bool_xor(xs if odd else xs[:-1] + [xs[-1].negated()])
        elif odd:
            model.add_bool_or([])
    bm.stats["ands"] = len(alg.cache)


def _add_symmetry_breaking(bm: BrentModel) -> None:
    """Term order always; signs only when the domain is closed under negation."""
    model = bm.model
    U, V, _ = bm.entries
    big = max(abs(v) for v in bm.domain.scaled)
    smallest = min(abs(v) for v in bm.domain.scaled if v != 0)
    weight = -(-big // smallest)
    applied = []
    # sign normalisation: first nonzero of U[r] and of V[r] is positive.  A symmetry only
    # when -D == D: (u, v, w) -> (-u, v, -w) must keep every entry in the domain.
    if bm.field != "F2" and bm.domain.symmetric and min(bm.domain.scaled) < 0:
        applied.append("signs")
        for mat in (U, V):
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
    # term order: rows of U lexicographically non-decreasing (base 2*big+1 keys); any
    # permutation of the terms is a solution too, whatever the domain
    if bm.rank > 1:
        applied.insert(0, "term order")
        base = 2 * big + 1
        width = len(U[0])
        k = max(1, min(width, int(math.log(2**50) / math.log(base))))
        keys = [sum(row[i] * base ** (k - 1 - i) for i in range(k)) for row in U]
        for r in range(bm.rank - 1):
            model.add(keys[r] <= keys[r + 1])
    bm.symmetries = tuple(applied)


# --------------------------------------------------------------------- solve
@dataclass
class SolveOutcome:
    """What :func:`solve_model` found.

    ``status`` is ``"found"``, ``"infeasible"`` (proved by CP-SAT for this
    model; ``proof`` states the model, its restrictions and its symmetry
    breaking) or ``"unknown"`` (out of time, nothing proved).
    """

    status: str
    scheme: Optional[Scheme]
    seconds: float
    solver_status: str
    stats: dict = field(default_factory=dict)
    proof: Optional[str] = None


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
        return SolveOutcome("infeasible", None, seconds, name, stats,
                            proof=f"CP-SAT proved the Brent equations infeasible: {bm.describe()}")
    if status == cp_model.MODEL_INVALID:  # pragma: no cover - a bug in the model builder
        raise InternalError(f"CP-SAT rejected the Brent model: {bm.model.validate()}")
    return SolveOutcome("unknown", None, seconds, name, stats)
