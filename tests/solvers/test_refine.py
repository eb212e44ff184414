"""Refinement: corrupted schemes are brought back to exact ones."""

import numpy as np
import pytest

from discovery.core.errors import InvalidInputError, NotFoundError
from discovery.algebra.literature import strassen
from discovery.core.problems import polymul
from solvers.alternating import alternate, solve_factor
from solvers.refine import greedy_descent, refine, refine_or_raise, suspicion
from verify import verify_all, wrong_entries


def corrupt(scheme, n, seed):
    rng = np.random.default_rng(seed)
    mats = [m.tolist() for m in scheme.factors]
    sizes = [len(m[0]) for m in mats]
    flat = [(f, r, i) for f in range(3) for r in range(scheme.rank) for i in range(sizes[f])]
    for k in rng.choice(len(flat), n, replace=False):
        f, r, i = flat[k]
        mats[f][r][i] = int(rng.choice([v for v in (-1, 0, 1) if v != mats[f][r][i]]))
    return scheme.replace(U=mats[0], V=mats[1], W=mats[2])


@pytest.mark.parametrize("seed", range(4))
def test_corrupted_strassen_is_refined_by_cpsat(seed):
    bad = corrupt(strassen(), 4, seed)
    assert wrong_entries(bad) > 0
    res = refine(bad, time_limit=30, seed=seed, use_alternating=False)
    assert res.status == "exact"
    assert verify_all(res.scheme).ok
    assert res.scheme.meta["provenance"]["refined"]["wrong_before"] == wrong_entries(bad)


def test_refine_default_path_and_raise():
    bad = corrupt(strassen(), 3, 7)
    assert verify_all(refine_or_raise(bad, time_limit=30)).ok


def test_suspicion_points_at_the_wrong_coefficient():
    s = strassen()
    W = [list(r) for r in s.W.tolist()]
    W[5][3] = 0
    scores = suspicion(s.replace(W=W))
    assert scores[2][5, 3] == scores[2].max() == 1.0


def test_greedy_descent_and_alternating():
    s = strassen()
    V = [list(r) for r in s.V.tolist()]
    V[1][0] = -1
    bad = s.replace(V=V)
    assert greedy_descent(bad) == s
    fixed = solve_factor(bad, "V")
    assert fixed is not None and verify_all(fixed).ok
    assert solve_factor(bad, "V", over="ternary") is not None
    assert alternate(bad) is not None


def test_refine_reports_not_found_without_proof():
    # rank 6 cannot be exact over ternary: refinement gives up in budget
    s = strassen()
    six = s.replace(U=s.U[:6], V=s.V[:6], W=s.W[:6])
    res = refine(six, time_limit=1.0, use_alternating=False)
    assert res.status == "not_found"
    with pytest.raises(NotFoundError):
        refine_or_raise(six, time_limit=0.5, use_alternating=False)


def test_refine_bad_input():
    with pytest.raises(InvalidInputError):
        refine(strassen(), domain=[])
    with pytest.raises(InvalidInputError):
        refine("not a scheme")


def test_refine_stops_when_fully_freed_model_is_infeasible():
    # used to keep solving the same infeasible model until the time limit (forever with None)
    from discovery.core.scheme import Scheme
    from solvers.refine import refine

    wrong = Scheme(polymul(2, 2), [[1, 0], [0, 1]], [[1, 0], [0, 1]], [[1, 0, 0], [0, 0, 1]])  # misses x0*y1 + x1*y0
    res = refine(wrong, time_limit=None, use_alternating=False)
    assert not res.exact and res.history[-1][2] == "infeasible" and res.history[-1][1] == 14
