"""The equivalent scheme with the fewest additions, and its program.

:func:`optimize` is what ``bilinear optimize FILE --objective additions``
runs.  For a scheme of rank R it looks for an equivalent scheme -- the same
problem, the same rank, exactly verified -- whose three linear maps need the
fewest additions, and the programs that achieve them:

1. *candidates*: the scheme's symmetric variants
   (:func:`~discovery.codegen.generate.symmetric_variants`: cyclic
   rotations and transposes of a square matmul) and, for matmul, walks on
   each variant's sandwich orbit (:func:`~discovery.codegen.orbit.orbit_walk`),
   ranked by the plain greedy's additions;
2. *elimination*: the best candidates' maps get the stronger search of
   :func:`~discovery.codegen.minimize.minimize` (randomised greedy,
   greedy by potential, transposition, and CP-SAT on small maps);
3. *alternative basis* (matmul over Z): the basis change of
   :func:`~discovery.codegen.basis.alternative_basis` that makes the core
   cheapest, its programs and its cost per level.

The result's scheme carries, in its meta, ``"program"`` (the three
programs, :func:`~discovery.codegen.generate.plan_to_json`; ``bilinear
export`` emits them), ``"alternative_basis"`` (basis, core, their programs
and counts) and ``"optimized"`` (what was done, from which scheme, counts
before and after).  Everything is checked exactly before it is returned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

from discovery.codegen.basis import AlternativeBasis, alternative_basis
from discovery.codegen.cse import Program
from discovery.codegen.generate import CodePlan, factors_digest, plan, plan_to_json, symmetric_variants
from discovery.codegen.minimize import lower_bound, minimize
from discovery.codegen.orbit import orbit_walk
from discovery.core.errors import InvalidInputError, NotExactError
from discovery.core.problems import MatMul
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.scheme import Scheme
from discovery.core.seeds import as_generator, as_seed
from verify import verify_exact

__all__ = ["OptimizeResult", "optimize", "check_optimizable", "OBJECTIVES", "alternative_basis_meta"]

#: Objectives :func:`optimize` minimises.
OBJECTIVES = ("additions",)


@dataclass(frozen=True)
class OptimizeResult:
    """What :func:`optimize` found.

    Attributes
    ----------
    scheme : Scheme
        The best equivalent scheme, with ``program`` (and, where computed,
        ``alternative_basis``) in its meta.
    plan : CodePlan
        Its three programs.
    additions_before : int
        The input scheme's additions after the plain greedy elimination.
    lower_bound : int
        Sum of the three maps' lower bounds for the returned scheme.
    methods : dict
        For each map (``left``, ``right``, ``output``) the method that found its program.
    alternative : AlternativeBasis or None
        The alternative-basis form, for integer matmul schemes.
    alternative_additions : dict or None
        ``{"core": .., "core_breakdown": [..], "basis": [phi, psi, nu]}``.
    candidates : int
        Equivalent schemes compared.
    seconds : float
    """

    scheme: Scheme
    plan: CodePlan
    additions_before: int
    lower_bound: int
    methods: dict
    alternative: Optional[AlternativeBasis] = None
    alternative_additions: Optional[dict] = None
    candidates: int = 0
    seconds: float = 0.0

    @property
    def additions(self) -> int:
        return self.plan.additions

    def summary(self) -> str:
        """One line: additions before and after, and the alternative basis's cost.

        Examples
        --------
        >>> from discovery.algebra.literature import strassen_winograd
        >>> print(optimize(strassen_winograd(), time_limit=0.5, basis=False).summary())
        rank 7: 15 -> 15 additions (4 + 4 + 7; lower bound 12)
        """
        b = self.plan.breakdown
        text = (f"rank {self.scheme.rank}: {self.additions_before} -> {self.additions} additions "
                f"({b['left']} + {b['right']} + {b['output']}; lower bound {self.lower_bound})")
        if self.alternative_additions:
            a = self.alternative_additions
            text += (f"; alternative basis: {a['core']} in the core "
                     f"({' + '.join(str(x) for x in a['core_breakdown'])}), basis changes "
                     f"{' + '.join(str(x) for x in a['basis'])} per level")
        return text


def _programs_json(programs: tuple[Program, Program, Program], names) -> dict:
    return {name: p.to_json() for name, p in zip(names, programs)}


def alternative_basis_meta(alt: AlternativeBasis, core: tuple, basis: tuple) -> dict:
    """The ``alternative_basis`` meta entry: matrices, programs and counts."""
    data = alt.to_json()
    data["factors"] = factors_digest(alt.scheme)
    data["program"] = {"core": _programs_json(core, ("left", "right", "output")),
                       "basis": _programs_json(basis, ("phi", "psi", "nu"))}
    data["additions"] = {"core": sum(p.additions for p in core),
                         "core_breakdown": [p.additions for p in core],
                         "basis": [p.additions for p in basis]}
    return data


def check_optimizable(scheme: Scheme, what: str = "optimize") -> Scheme:
    """``scheme`` if :func:`optimize` accepts it, else the precise error (before any work is done)."""
    return _check(scheme, what)


def _check(scheme: Scheme, what: str) -> Scheme:
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"{what} needs a Scheme, got {type(scheme).__name__}")
    if scheme.field == "F2":
        raise InvalidInputError(f"{what} needs a scheme over Z or Q; an F2 scheme computes modulo 2 "
                                "(lift it first with `bilinear lift`)")
    result = verify_exact(scheme)
    if not result.ok:
        raise NotExactError(f"{what}: the scheme is not exact ({result.reason}); nothing to optimise")
    return scheme


def _is_integer_matmul(scheme: Scheme) -> bool:
    return isinstance(scheme.problem, MatMul) and scheme.field == "Z"


def optimize(scheme: Scheme, objective: str = "additions", time_limit: float = 60.0, seed: Any = 0,
             callback: Optional[ProgressCallback] = None, basis: bool = True,
             candidates: int = 6) -> OptimizeResult:
    """The equivalent scheme with the fewest additions found in ``time_limit`` seconds.

    Parameters
    ----------
    scheme : Scheme
        An exact scheme over Z or Q.
    objective : {"additions"}
        What to minimise: additions after elimination (left + right + output).
    time_limit : float
        Budget in seconds (the phases share it; the result is always at
        least as good as the plain greedy on the scheme itself).
    seed : int, Generator or None
        Same seed, same result (the phases are budgeted by counts of
        restarts and steps; the clock only cuts them short).
    callback : callable, optional
        Receives :class:`~discovery.core.progress.ProgressEvent` (engine
        ``"optimize"``, ``best`` = additions so far).
    basis : bool
        Also compute the alternative basis (integer matmul schemes).
    candidates : int
        How many equivalent schemes get the full elimination search.

    Raises
    ------
    InvalidInputError
        Not a scheme, an F2 scheme, an unknown objective or a bad budget.
    NotExactError
        The scheme is not exact.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> r = optimize(strassen_winograd(), time_limit=0.5, basis=False)
    >>> r.additions_before, r.additions, r.scheme.rank, r.scheme.meta["program"]["additions"]
    (15, 15, 7, 15)
    """
    scheme = _check(scheme, "optimize")
    if objective not in OBJECTIVES:
        raise InvalidInputError(f"unknown objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not time_limit > 0:
        raise InvalidInputError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
        raise InvalidInputError(f"candidates must be a positive integer, got {candidates!r}")
    report = callback or (lambda event: None)
    start = time.monotonic()
    rng = as_generator(seed)
    before = plan(scheme, stored=False)
    matmul_z = _is_integer_matmul(scheme)
    budget = float(time_limit)
    orbit_share, basis_share = (0.35, 0.2 if basis else 0.0) if matmul_z else (0.0, 0.0)

    # 1. candidates
    variants = symmetric_variants(scheme)
    pool: dict[str, tuple[int, Scheme]] = {}
    for v in variants:
        pool.setdefault(v.fingerprint(), (plan(v, stored=False).additions, v))
    if matmul_z:
        per_walk = budget * orbit_share / len(variants)
        for i, v in enumerate(variants):
            steps = max(500, int(400 * per_walk))  # a count, so that the result does not depend on the clock
            for cost, s in orbit_walk(v, time_limit=per_walk, seed=as_seed(rng), keep=candidates, steps=steps):
                pool.setdefault(s.fingerprint(), (cost, s))
            report(ProgressEvent("optimize", i + 1, len(variants), best=float(min(c for c, _ in pool.values())),
                                 message="orbit walks"))
    ranked = sorted(pool.values(), key=lambda t: (t[0], t[1].fingerprint()))[:candidates]

    # 2. elimination on the best candidates
    elim_budget = max(budget * (1 - orbit_share - basis_share) - (time.monotonic() - start), 0.3)
    per_map = elim_budget / (3 * len(ranked))
    best = None
    for i, (_, cand) in enumerate(ranked):
        maps = (cand.U, cand.V, cand.W.T)
        effort = max(64, int(32 * per_map))  # restarts grow with the budget
        results = [minimize(m, methods=("greedy", "random", "potential", "exact"), time_limit=per_map,
                            restarts=effort, rounds=max(2, effort // 32), seed=as_seed(rng)) for m in maps]
        total = sum(r.additions for r in results)
        if best is None or total < best[0]:
            best = (total, cand, results)
        report(ProgressEvent("optimize", i + 1, len(ranked), best=float(best[0]), message="elimination"))
    total, winner, results = best
    greedy_winner = plan(winner, stored=False)
    if greedy_winner.additions < total:  # never worse than the plain greedy on the winner
        programs = (greedy_winner.left, greedy_winner.right, greedy_winner.output)
        methods = {"left": "greedy", "right": "greedy", "output": "greedy"}
    else:
        programs = tuple(r.program for r in results)
        methods = dict(zip(("left", "right", "output"), (r.method for r in results)))
    bound = sum(max(r.lower_bound, lower_bound(m)) for r, m in zip(results, (winner.U, winner.V, winner.W.T)))
    best_plan = CodePlan(winner, *programs)

    # 3. alternative basis
    alt, alt_counts, alt_meta = None, None, None
    if matmul_z and basis:
        deadline = start + budget
        best_alt = None
        for attempt in range(2):  # two seeds of the basis search, on the winner (its meta holds it)
            left = max(deadline - time.monotonic(), 0.2)
            a = alternative_basis(winner, seed=as_seed(rng), time_limit=left * 0.6 / (2 - attempt))
            left = max(deadline - time.monotonic(), 0.2)
            core = a.core_programs(time_limit=left * 0.3 / (2 - attempt), seed=as_seed(rng))
            cost = sum(p.additions for p in core)
            if best_alt is None or cost < best_alt[0]:
                best_alt = (cost, a, core)
        _, alt, core = best_alt
        base = alt.basis_programs(time_limit=max(deadline - time.monotonic(), 0.2), seed=as_seed(rng))
        alt_meta = alternative_basis_meta(alt, core, base)
        alt_counts = alt_meta["additions"]
        report(ProgressEvent("optimize", 1, 1, best=float(total), message="alternative basis"))

    seconds = time.monotonic() - start
    optimized = {
        "objective": objective,
        "from": scheme.fingerprint()[:16],
        "additions_before": before.additions,
        "additions": best_plan.additions,
        "lower_bound": bound,
        "methods": methods,
        "candidates": len(pool),
        "seed": seed if isinstance(seed, int) else None,
        "seconds": round(seconds, 2),
    }
    meta = {"optimized": optimized, "program": plan_to_json(best_plan)}
    if alt_meta is not None:
        meta["alternative_basis"] = alt_meta
    result_scheme = winner.with_meta(**meta)
    check = verify_exact(result_scheme)
    if not check.ok:  # every candidate is exact by construction; never return a wrong one
        raise AssertionError(f"internal error: the optimised scheme is not exact: {check.reason}")
    final_plan = plan(result_scheme)  # reads the stored program back: proves it computes the factors
    if final_plan.additions != best_plan.additions:
        raise AssertionError("internal error: the stored program does not round-trip")
    if alt is not None:
        alt = AlternativeBasis(result_scheme, alt.core, alt.phi, alt.psi, alt.nu)
        alt.verify()
    return OptimizeResult(result_scheme, final_plan, before.additions, bound, methods, alt, alt_counts,
                          len(pool), seconds)

