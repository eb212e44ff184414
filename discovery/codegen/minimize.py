"""Fewer additions for a linear map: stronger common-subexpression elimination.

:func:`discovery.codegen.cse.eliminate` is Paar's greedy: always take the
most frequent pair, ties broken by a fixed order.  Its result depends on
those ties and on its short sight, and for maps with many more inputs than
outputs (a scheme's output sums ``W.T``) it is better run on the transpose.
This module searches harder, every method exact and every result checked
(``program.matrix() == M``):

* **randomised greedy with restarts** (:func:`randomized_greedy`): ties
  between the most frequent pairs are broken at random, a run per restart,
  the best program kept;
* **greedy by potential** (:func:`potential_greedy`, the "pilot method" of
  Duin & Voss): at each step every candidate pair of the top frequency is
  tried, the rest of the program completed by the plain greedy, and the pair
  whose completion is cheapest is taken -- a one-step look-ahead that sees
  what a choice costs later;
* **transposition** (:func:`discovery.codegen.cse.transpose`): each method
  also runs on ``M.T`` and the program is transposed back;
* **an exact model** (:func:`discovery.codegen.exact.shortest_program`,
  CP-SAT) for small maps, with a proof of optimality when it finishes.

:func:`minimize` runs them within a time budget and returns a
:class:`MinimizeResult`: the best program, the method that found it and a
lower bound on the additions (the number of distinct rows, up to scale,
that are not a single input -- each needs its own last addition).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Optional

import numpy as np

from discovery.codegen.cse import Program, _drop_unused, _norm, _rows, eliminate, transpose
from discovery.codegen.exact import shortest_program
from discovery.core.errors import InvalidInputError
from discovery.core.seeds import as_generator

__all__ = ["MinimizeResult", "minimize", "randomized_greedy", "potential_greedy", "lower_bound", "METHODS"]

#: Methods :func:`minimize` knows (``"exact"`` needs OR-tools' CP-SAT).
METHODS = ("greedy", "random", "potential", "exact")


# ------------------------------------------------------------- greedy state
class _State:
    """Rows as sparse integer forms over the variables, plus the ops so far.

    Each row is scaled to integers once (``scale``), as in :func:`eliminate`:
    the pair patterns ``(a, b, n, d)`` (``t = a + (n/d) b``) are invariant
    under scaling a row.
    """

    __slots__ = ("n_inputs", "forms", "scale", "ops", "next_var")

    def __init__(self, rows: list[list]):
        self.n_inputs = len(rows[0]) if rows else 0
        self.scale = [math.lcm(*(Fraction(v).denominator for v in row)) if row else 1 for row in rows]
        self.forms = [{j: int(Fraction(v) * s) for j, v in enumerate(row) if v != 0}
                      for row, s in zip(rows, self.scale)]
        self.ops: list = []
        self.next_var = self.n_inputs

    def copy(self) -> "_State":
        other = _State.__new__(_State)
        other.n_inputs, other.scale, other.next_var = self.n_inputs, self.scale, self.next_var
        other.forms = [dict(f) for f in self.forms]
        other.ops = list(self.ops)
        return other

    def patterns(self) -> dict[tuple, list[int]]:
        """Pattern -> rows holding it (only patterns in two or more rows)."""
        seen: dict[tuple, list[int]] = {}
        gcd = math.gcd
        for i, form in enumerate(self.forms):
            if len(form) < 2:
                continue
            items = sorted(form.items())
            for x in range(len(items)):
                a, ca = items[x]
                for y in range(x + 1, len(items)):
                    b, cb = items[y]
                    g = gcd(ca, cb)
                    n, d = cb // g, ca // g
                    if d < 0:
                        n, d = -n, -d
                    seen.setdefault((a, b, n, d), []).append(i)
        return {k: v for k, v in seen.items() if len(v) >= 2}

    def apply(self, key: tuple, rows: list[int]) -> None:
        a, b, n, d = key
        t = self.next_var
        self.next_var += 1
        self.ops.append((t, 1, a, Fraction(n, d), b))
        for i in rows:
            form = self.forms[i]
            ca = form.pop(a)
            del form[b]
            form[t] = ca

    @property
    def additions(self) -> int:
        return len(self.ops) + sum(max(len(f) - 1, 0) for f in self.forms)

    def program(self) -> Program:
        forms = [{v: Fraction(c, s) for v, c in form.items()} for form, s in zip(self.forms, self.scale)]
        outputs = tuple(tuple((_norm(c), v) for v, c in sorted(form.items())) for form in forms)
        ops = self.ops
        used = {v for o in outputs for _, v in o} | {x for _, _, a, _, b in ops for x in (a, b)}
        if any(t not in used for t, *_ in ops):
            ops, outputs = _drop_unused(self.n_inputs, ops, outputs, used)
        return Program(self.n_inputs, tuple((t, _norm(ca), a, _norm(cb), b) for t, ca, a, cb, b in ops), outputs)


def _plain_order(key: tuple) -> tuple:
    a, b, n, d = key
    return (0 if d == 1 and n in (1, -1) else 1, a, b, n, d)


def _top(pats: dict[tuple, list[int]]) -> list[tuple]:
    best = max(len(v) for v in pats.values())
    return [k for k, v in pats.items() if len(v) == best]


def _run(state: _State, choose: Callable[[_State, dict], tuple]) -> _State:
    while True:
        pats = state.patterns()
        if not pats:
            return state
        key = choose(state, pats)
        state.apply(key, pats[key])


def _choose_plain(state: _State, pats: dict) -> tuple:
    return min(_top(pats), key=_plain_order)


def _greedy_completion(state: _State) -> int:
    return _run(state.copy(), _choose_plain).additions


# ------------------------------------------------------------ the methods
def _prepare(matrix: Any) -> list[list]:
    rows = _rows(matrix)
    if not rows:
        raise InvalidInputError("the matrix has no rows")
    return rows


def _transposed_rows(rows: list[list]) -> list[list]:
    return [list(col) for col in zip(*rows)] if rows and rows[0] else []


def _checked(program: Program, rows: list[list]) -> Program:
    if program.matrix().tolist() != [[_norm(Fraction(v)) for v in row] for row in rows]:
        raise AssertionError("internal error: an eliminated program does not compute its matrix")
    return program


def randomized_greedy(matrix: Any, restarts: int = 32, seed: Any = 0, transposed: bool = False) -> Program:
    """Greedy elimination with random tie-breaking, best of ``restarts`` runs.

    The first run is the plain deterministic greedy, so the result is never
    worse than :func:`~discovery.codegen.cse.eliminate`'s order of choices.
    With ``transposed`` the runs are on ``M.T`` and the program is
    transposed back.  Same seed, same program.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> randomized_greedy(strassen_winograd().W.T, restarts=8, transposed=True).additions
    7
    """
    rows = _prepare(matrix)
    work = _transposed_rows(rows) if transposed else rows
    rng = as_generator(seed)

    def choose_random(state, pats):
        top = sorted(_top(pats), key=_plain_order)
        return top[int(rng.integers(len(top)))]

    best: Optional[_State] = None
    for r in range(max(1, int(restarts))):
        state = _run(_State(work), _choose_plain if r == 0 else choose_random)
        if best is None or state.additions < best.additions:
            best = state
    program = best.program()
    return _checked(transpose(program) if transposed else program, rows)


def potential_greedy(matrix: Any, width: int = 12, seed: Any = 0, transposed: bool = False,
                     deadline: Optional[float] = None) -> Program:
    """Greedy by potential: each step takes the pair whose greedy completion is cheapest.

    At every step up to ``width`` of the most frequent pairs (a random
    sample when there are more, drawn with ``seed``) are each applied and the
    program completed by the plain greedy; the pair with the cheapest
    completion is taken (ties: the plain greedy's order).  The result is
    never worse than the plain greedy's.  ``deadline`` (a
    ``time.monotonic()`` value) ends the look-ahead early: the remaining
    steps are plain greedy.

    Examples
    --------
    >>> m = [[1, 1, 1, 0], [1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 1, 1]]
    >>> eliminate(m).additions >= potential_greedy(m).additions
    True
    """
    rows = _prepare(matrix)
    work = _transposed_rows(rows) if transposed else rows
    rng = as_generator(seed)
    width = max(1, int(width))

    def choose_potential(state, pats):
        if deadline is not None and time.monotonic() > deadline:
            return _choose_plain(state, pats)
        top = sorted(_top(pats), key=_plain_order)
        if len(top) > width:
            picks = rng.choice(len(top), size=width, replace=False)
            top = sorted((top[int(i)] for i in picks), key=_plain_order)
        best_key, best_cost = None, None
        for key in top:
            trial = state.copy()
            trial.apply(key, pats[key])
            cost = _greedy_completion(trial)
            if best_cost is None or cost < best_cost:
                best_key, best_cost = key, cost
        return best_key

    program = _run(_State(work), choose_potential).program()
    return _checked(transpose(program) if transposed else program, rows)


def lower_bound(matrix: Any) -> int:
    """A lower bound on the additions of any program for ``M @ x``.

    Each distinct nonzero row (up to a scalar factor) that is not a multiple
    of a single input is the result of its own last addition.

    Examples
    --------
    >>> lower_bound([[1, 1, 0], [2, 2, 0], [0, 1, 1], [0, 0, 5]])
    2
    """
    rows = _prepare(matrix)
    seen = set()
    for row in rows:
        nz = [(j, Fraction(v)) for j, v in enumerate(row) if v != 0]
        if len(nz) < 2:
            continue
        lead = nz[0][1]
        seen.add(tuple((j, v / lead) for j, v in nz))
    return len(seen)


# ----------------------------------------------------------------- driver
@dataclass(frozen=True)
class MinimizeResult:
    """The best program found for a linear map, and how good it is known to be.

    Attributes
    ----------
    program : Program
        Computes ``M @ x`` exactly.
    method : str
        What found it (``"greedy"``, ``"random"``, ``"potential"``,
        ``"exact"``; ``"+transpose"`` when found on ``M.T``).
    lower_bound : int
        No program for ``M`` has fewer additions (``optimal`` when equal).
    greedy_additions : int
        The plain greedy's count, for comparison.
    tried : dict
        Additions of the best program of each method tried.
    """

    program: Program
    method: str
    lower_bound: int
    greedy_additions: int
    tried: dict = field(default_factory=dict)

    @property
    def additions(self) -> int:
        return self.program.additions

    @property
    def optimal(self) -> bool:
        return self.program.additions <= self.lower_bound


def minimize(matrix: Any, methods=("greedy", "random", "potential"), time_limit: float = 10.0,
             restarts: int = 64, width: int = 12, rounds: int = 2, seed: Any = 0,
             exact_limit: int = 24) -> MinimizeResult:
    """The program with the fewest additions found for ``M @ x`` in ``time_limit`` seconds.

    Parameters
    ----------
    matrix : sequence of rows or object array
        Exact coefficients; row ``i`` is output ``i``.
    methods : sequence of str
        Any of :data:`METHODS`.  Every heuristic runs on ``M`` and on ``M.T``
        (transposed back).  ``"exact"`` (CP-SAT,
        :func:`discovery.codegen.exact.shortest_program`) runs last with the
        time that is left, on maps whose best program has at most
        ``exact_limit`` additions, and raises the lower bound when it proves
        optimality.
    time_limit : float
        Budget in seconds for the whole call (the plain greedy always runs).
    restarts : int
        Runs of the randomised greedy (on M and on M.T each).
    width, rounds : int
        Candidates per step and runs of the potential greedy (on M and M.T each).
    seed : int, Generator or None
        Same seed, same result.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> r = minimize(strassen().U, methods=METHODS, time_limit=5)
    >>> r.additions, r.lower_bound, r.optimal
    (5, 5, True)
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InvalidInputError(f"unknown method {unknown[0]!r}: expected some of {', '.join(METHODS)}")
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise InvalidInputError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    rows = _prepare(matrix)
    start = time.monotonic()
    deadline = start + float(time_limit)
    rng = as_generator(seed)
    bound = lower_bound(rows)
    greedy = eliminate(rows)
    best, best_method = greedy, "greedy"
    tried = {"greedy": greedy.additions}

    def consider(program: Program, method: str) -> None:
        nonlocal best, best_method
        tried[method] = min(tried.get(method, program.additions), program.additions)
        if program.additions < best.additions:
            best, best_method = program, method

    if "greedy" in methods and rows[0]:
        consider(transpose(eliminate(_transposed_rows(rows))), "greedy+transpose")
    heuristics = [m for m in ("random", "potential") if m in methods]
    # batches of restarts alternate between M and M.T until the restarts (or the budget) are spent;
    # the count, not the clock, ends a complete run, so the same seed gives the same program
    batch = max(1, restarts // 8)
    runs = {"random": 0, "potential": 0}
    planned = {"random": restarts, "potential": rounds}
    while best.additions > bound and time.monotonic() < deadline:
        progressed = False
        for method in heuristics:
            if runs[method] >= planned[method]:
                continue
            for transposed in (False, True):
                if time.monotonic() >= deadline or best.additions <= bound:
                    break
                sub = int(rng.integers(2**31))
                if method == "random":
                    program = randomized_greedy(rows, restarts=batch, seed=sub, transposed=transposed)
                else:
                    program = potential_greedy(rows, width=width, seed=sub, transposed=transposed,
                                               deadline=deadline)
                consider(program, method + ("+transpose" if transposed else ""))
            runs[method] += batch if method == "random" else 1
            progressed = True
        if not progressed:
            break
    if "exact" in methods and best.additions > bound and best.additions <= exact_limit:
        left = deadline - time.monotonic()
        if left > 0.5:
            try:
                res = shortest_program(rows, time_limit=left, hint=best, seed=int(rng.integers(2**31)))
            except InvalidInputError:  # entries outside {-1, 0, 1}: outside the exact model
                res = None
            if res is None:
                return MinimizeResult(best, best_method, bound, greedy.additions, tried)
            if res.program is not None:
                consider(res.program, "exact")
            bound = max(bound, res.lower_bound)
    return MinimizeResult(best, best_method, bound, greedy.additions, tried)
