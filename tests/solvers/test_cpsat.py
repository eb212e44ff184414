"""CP-SAT on the Brent equations: finds, proves infeasible, tells time-outs apart."""

import pytest

from discovery.core.errors import InfeasibleError, InvalidInputError, NotFoundError
from discovery.core.problems import matmul, polymul
from discovery.search import search
from solvers.brent import as_domain, build_model, flattening_rank, solve_model
from solvers.cpsat import solve
from verify import verify_all


def test_cpsat_finds_strassen_rank_7():
    res = search(matmul(2, 2, 2), 7, engine="cpsat", seed=0, time_limit=30)
    assert res.status == "found"
    s = res.schemes[0]
    assert s.rank == 7 and s.field == "Z"
    assert set(s.coefficient_set) <= {-1, 0, 1}
    assert verify_all(s).ok
    assert s.meta["provenance"]["engine"] == "cpsat"


def test_direct_model_int2_small_problem():
    res = search(polymul(2, 2), 3, "cpsat", coefficients="int2", strategy="direct", time_limit=20)
    assert res.status == "found" and verify_all(res.schemes[0]).ok


def test_dyadic_domain_is_scaled():
    bm = build_model(polymul(2, 2), 3, "dyadic")
    assert bm.domain.scale == 2
    out = solve_model(bm, time_limit=20)
    assert out.status == "found"
    assert verify_all(out.scheme).ok


def test_below_flattening_rank_is_infeasible():
    assert flattening_rank(matmul(2, 2, 2)) == 4
    res = search(matmul(2, 2, 2), 3, "cpsat")
    assert res.status == "infeasible" and "flattening" in res.proof
    with pytest.raises(InfeasibleError):
        solve(matmul(2, 2, 2), 3)


def test_cpsat_proves_infeasible_itself():
    # rank 4 >= flattening rank 4, but 2x2x2 needs 7: CP-SAT proves it mod 2
    res = search(matmul(2, 2, 2), 4, "cpsat", time_limit=30)
    assert res.status == "infeasible" and "CP-SAT" in res.proof
    # the direct model proves a tiny case too
    res = search(polymul(2, 2), 2, "cpsat", strategy="direct", time_limit=10)
    assert res.status == "infeasible"


def test_time_out_is_not_infeasible():
    res = search(matmul(3, 3, 3), 22, "cpsat", time_limit=0.5)
    assert res.status == "not_found"
    with pytest.raises(NotFoundError):
        solve(matmul(3, 3, 3), 22, time_limit=0.5)


@pytest.mark.parametrize("bad", [dict(rank=0), dict(rank=7, coefficients=[]), dict(rank=7, time_limit=-1),
                                 dict(rank=7, workers=0), dict(rank=7, coefficients="quaternary"),
                                 dict(rank=7, domain="ternary")])
def test_bad_input(bad):
    rank = bad.pop("rank")
    with pytest.raises(InvalidInputError):
        search(matmul(2, 2, 2), rank, "cpsat", **bad)


def test_domains():
    assert as_domain("ternary").scaled == (-1, 0, 1)
    assert as_domain(["1/2", 1]).scale == 2
    with pytest.raises(InvalidInputError):
        as_domain([0])
