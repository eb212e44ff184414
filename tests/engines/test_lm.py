"""The ``lm`` engine: analytic Jacobian, restarts, rounding to exact schemes."""

import numpy as np
import pytest

from discovery.algebra.tensor import TensorResidual
from discovery.engines.lm import decompose, round_to_domain
from discovery.core.errors import InvalidInputError
from discovery.core.problems import correlation, matmul
from discovery.search import search
from verify import verify_all


@pytest.mark.parametrize("problem,rank", [(matmul(2, 2, 2), 7), (matmul(2, 3, 2), 11)])
def test_jacobian_matches_finite_differences(problem, rank):
    f = TensorResidual(problem.tensor(), rank)
    rng = np.random.default_rng(1)
    x = rng.normal(size=f.n)
    j = f.jacobian(x).toarray()
    for k in rng.choice(f.n, 5, replace=False):
        e = np.zeros(f.n)
        e[k] = 1e-6
        assert np.allclose((f(x + e) - f(x - e)) / 2e-6, j[:, k], atol=1e-6)


def test_decompose_reaches_zero_residual():
    _, err = decompose(matmul(2, 2, 2).tensor(), 7, np.random.default_rng(0))
    assert err < 1e-2


def test_lm_finds_exact_strassen_like_scheme():
    res = search(matmul(2, 2, 2), 7, engine="lm", seed=0, restarts=3)
    assert res.status == "found"
    s = res.schemes[0]
    assert verify_all(s).ok and s.rank == 7 and set(s.coefficient_set) <= {-1, 0, 1}
    prov = s.meta["provenance"]
    assert prov["engine"] == "lm" and "seconds" in prov


def test_lm_winograd_problem_and_same_seed_same_result():
    a = search(correlation(2, 3), 4, "lm", seed=5, restarts=2, coefficients="dyadic")
    b = search(correlation(2, 3), 4, "lm", seed=5, restarts=2, coefficients="dyadic")
    assert a.status == b.status
    assert [s.fingerprint() for s in a.schemes] == [s.fingerprint() for s in b.schemes]


def test_rounding_and_bad_input():
    assert round_to_domain(np.array([0.49, 0.51]), np.array([0.0, 1.0])).tolist() == [0.0, 1.0]
    with pytest.raises(InvalidInputError):
        search(matmul(2, 2, 2), 0, "lm")
    with pytest.raises(InvalidInputError):
        search(matmul(2, 2, 2), 7, "lm", restarts=0)


def test_lm_sparse_solves_stop_at_the_deadline(monkeypatch):
    # lm checked its time limit only between restarts: one restart of a large
    # problem (several seconds each stage) ran on far past the budget
    import time

    import numpy as np

    from discovery.engines import lm

    statuses = []
    real = lm.least_squares

    def spy(*args, **kw):
        res = real(*args, **kw)
        statuses.append(res.status)
        return res

    monkeypatch.setattr(lm, "least_squares", spy)
    lm.decompose(matmul(3, 3, 3).tensor(), 22, np.random.default_rng(0), dense=False,
                 deadline=time.perf_counter())
    assert statuses == [-2, -2, -2]  # each stage stopped by the deadline callback


@pytest.mark.parametrize("bad", [dict(time_limit=-1), dict(time_limit="3"), dict(max_schemes=0),
                                 dict(lam=0.0), dict(refine_time=-2), dict(coefficients="0,1,x")])
def test_lm_validates_its_options(bad):
    # lm.run(time_limit=-1) returned "not_found" after zero restarts; "3" raised a TypeError
    with pytest.raises(InvalidInputError):
        search(matmul(2, 2, 2), 7, "lm", **bad)
