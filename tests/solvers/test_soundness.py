"""No false "infeasible": symmetry breaking only where it is a symmetry, exact ranks, stated proofs.

The differential test solves random tiny tensors over random small domains three
ways -- CP-SAT with symmetry breaking, CP-SAT without, and brute force over every
scheme -- and asks all three to agree on feasibility.
"""

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discovery.algebra.ops import standard_scheme
from discovery.core.errors import InvalidInputError, NotFoundError
from discovery.core.problems import matmul, tensor
from discovery.search import search
from solvers.brent import as_domain, build_model, exact_rank, flattening_rank, flattening_ranks, solve_model
from solvers.cpsat import solve_rank
from verify import verify_exact

VALUES = [Fraction(v) for v in ("-2", "-1", "-1/2", "0", "1/2", "1", "2")]


# ---------------------------------------------------------------- brute force
def rank_one_tensors(shape, domain):
    """Every distinct u (x) v (x) w over the domain, as flat tuples of Fractions."""
    nx, ny, nz = shape
    vals = list(domain)
    out = set()
    us = list(itertools.product(vals, repeat=nx))
    vs = list(itertools.product(vals, repeat=ny))
    ws = list(itertools.product(vals, repeat=nz))
    for u in us:
        for v in vs:
            uv = [a * b for a in u for b in v]
            for w in ws:
                out.add(tuple(x * c for x in uv for c in w))
    return out


def brute_force_feasible(t, rank, domain) -> bool:
    """Is the tensor a sum of exactly ``rank`` rank-one terms with factors in the domain?"""
    target = tuple(Fraction(int(x)) for x in np.asarray(t).ravel())
    ones = rank_one_tensors(np.asarray(t).shape, domain)
    if rank == 1:
        return target in ones
    if rank == 2:
        return any(tuple(a - b for a, b in zip(target, t1)) in ones for t1 in ones)
    assert rank == 3
    pairs = {tuple(a + b for a, b in zip(t1, t2)) for t1 in ones for t2 in ones}
    return any(tuple(a - b for a, b in zip(target, t1)) in pairs for t1 in ones)


def space_size(shape, rank, domain):
    return len(domain) ** (sum(shape))


# ----------------------------------------------------------------- strategies
domains = st.lists(st.sampled_from(VALUES), min_size=2, max_size=4, unique=True).filter(
    lambda d: any(v != 0 for v in d))


def tensors(max_dim):
    shape = st.tuples(*[st.integers(1, max_dim)] * 3).filter(lambda s: s[0] * s[1] * s[2] <= 8)
    return shape.flatmap(lambda s: st.lists(st.integers(-2, 2), min_size=s[0] * s[1] * s[2],
                                            max_size=s[0] * s[1] * s[2]).map(
        lambda e: np.array(e, dtype=np.int64).reshape(s)))


def solve_three_ways(t, rank, domain):
    problem = tensor(t)
    with_sb = solve_rank(problem, rank, domain, strategy="direct", time_limit=60)
    without = solve_rank(problem, rank, domain, strategy="direct", symmetry_breaking=False, time_limit=60)
    for out in (with_sb, without):
        assert out.status in ("found", "infeasible"), out  # tiny models never time out
        if out.status == "found":
            assert verify_exact(out.scheme).ok
            assert set(Fraction(v) for m in out.scheme.factors for v in m.ravel()) <= set(domain)
        else:
            assert out.proof  # every "infeasible" says why
    return with_sb.status == "found", without.status == "found"


def check_agreement(t, rank, domain, brute_limit):
    sb, plain = solve_three_ways(t, rank, domain)
    assert sb == plain, (t.tolist(), rank, [str(v) for v in domain])
    if space_size(t.shape, rank, domain) <= brute_limit:
        assert brute_force_feasible(t, rank, domain) == sb, (t.tolist(), rank, [str(v) for v in domain])
    dom = as_domain(domain)
    if dom.scale == 1 and {-1, 0, 1} <= set(dom.values):  # the mod-2 route must agree as well
        assert (solve_rank(tensor(t), rank, domain, strategy="mod2", time_limit=60).status == "found") == sb


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tensors(2), st.integers(1, 2), domains)
def test_symmetry_breaking_and_brute_force_agree_on_feasibility(t, rank, domain):
    check_agreement(t, rank, domain, brute_limit=4**6)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tensors(3), st.integers(1, 3), domains)
def test_symmetry_breaking_and_brute_force_agree_on_feasibility_wider(t, rank, domain):
    check_agreement(t, rank if rank < 3 or np.asarray(t).size <= 4 else 2, domain, brute_limit=4**7)


# ---------------------------------------------------------------- regressions
def test_issue_reproduction_is_feasible_over_a_non_symmetric_domain():
    # 2*x = (-1*x)*(-1)... U = [-1, 2], V = W = [1]; the old sign rule (first nonzero of U positive)
    # ruled it out and reported "infeasible"
    problem = tensor([[[-1]], [[2]]])
    out = solve_rank(problem, 1, [-1, 0, 1, 2], strategy="direct")
    assert out.status == "found" and verify_exact(out.scheme).ok
    assert out.scheme.U.tolist() == [[-1, 2]]
    assert out.info["symmetries"] == []
    res = search(problem, 1, "cpsat", coefficients="-1,0,1,2", strategy="direct")
    assert res.status == "found"
    # the auto pipeline (CP-SAT first for small tensors) finds it too
    assert search(problem, 1, "auto", coefficients="-1,0,1,2", time_limit=20).status == "found"


def test_signs_are_broken_only_for_domains_closed_under_negation():
    p = matmul(1, 1, 2)
    assert build_model(p, 2, "ternary").symmetries == ("term order", "signs")
    assert build_model(p, 2, "dyadic").symmetries == ("term order", "signs")
    assert build_model(p, 2, [-1, 0, 1, 2]).symmetries == ("term order",)
    assert build_model(p, 2, [0, 1, 2]).symmetries == ("term order",)
    assert build_model(p, 2, ["-1/2", 0, 1]).symmetries == ("term order",)


def test_symmetry_breaking_is_refused_with_restricted_entries():
    p = matmul(1, 1, 1)
    with pytest.raises(InvalidInputError, match="unrestricted"):
        build_model(p, 1, entry_values=[[[1]], [[None]], [[None]]], symmetry_breaking=True)


def test_every_infeasible_carries_its_proof():
    p = matmul(2, 2, 2)
    flat = solve_rank(p, 3)
    assert flat.status == "infeasible" and flat.proof == "flattening rank 4 > 3"
    mod2 = solve_rank(p, 5, time_limit=60)
    assert mod2.status == "infeasible" and mod2.proof.startswith("CP-SAT, mod 2")
    direct = solve_rank(tensor([[[1, 0], [0, 1]]]), 1, [-1, 0, 1, 2], strategy="direct")
    assert direct.status == "infeasible" and "flattening rank 2 > 1" == direct.proof
    direct = solve_rank(tensor([[[3]]]), 1, [-1, 0, 1, 2], strategy="direct")
    assert direct.status == "infeasible"
    assert direct.proof == ("CP-SAT proved the Brent equations infeasible: rank 1 over {-1, 0, 1, 2}, "
                            "no symmetry breaking")


def test_flattening_rank_is_exact_where_floating_point_is_not():
    # consecutive Fibonacci numbers: det = +-1, but float64 SVD calls the matrix singular
    a, b, c = 1836311903, 1134903170, 701408733
    m = np.array([[a, b], [b, c]], dtype=np.int64)
    assert int(np.linalg.matrix_rank(m.astype(float))) == 1
    assert exact_rank(m) == 2
    problem = tensor(m.reshape(2, 2, 1))
    assert flattening_ranks(problem) == (2, 2, 1)
    out = solve_rank(problem, 1, "int2")
    assert out.status == "infeasible" and out.proof == "flattening rank 2 > 1"


def test_exact_rank_of_large_flattenings():
    assert flattening_rank(matmul(4, 4, 4)) == 16
    assert exact_rank(np.zeros((3, 4), dtype=np.int64)) == 0
    assert exact_rank([[10**30, 1], [1, 0]]) == 2


def test_model_building_honours_the_time_limit():
    # a dense 8x8x8 model: 512 * 64^2 products; far more than a millisecond of building
    with pytest.raises(NotFoundError, match="building"):
        build_model(matmul(8, 8, 8), 512, time_limit=0.05)
    out = solve_rank(matmul(8, 8, 8), 500, strategy="direct", time_limit=0.2)
    assert out.status == "unknown" and "building" in out.info["stopped"]


def test_restricted_models_are_built_over_term_supports():
    # most entries constant zero: the model only holds the touched equations
    s = standard_scheme(matmul(6, 6, 6))
    fixed = [m.tolist() for m in s.factors]
    fixed[0][0][0] = None
    bm = build_model(s.problem, s.rank, entry_values=fixed, symmetry_breaking=False)
    assert bm.free == 1 and bm.stats["terms"] == 2  # the positive and negative literal of one product
    out = solve_model(bm, time_limit=10)
    assert out.status == "found" and verify_exact(out.scheme).ok
