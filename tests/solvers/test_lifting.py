"""Lifting F2 schemes to Z."""

import pytest

from discovery.core.errors import InvalidInputError
from discovery.algebra.literature import strassen, strassen_winograd
from discovery.algebra.ops import standard_scheme
from discovery.core.problems import matmul
from solvers.lifting import hensel_lift, lift, lift_signs, mod2_image, rational_reconstruction
from verify import verify_all


@pytest.mark.parametrize("scheme", [strassen(), strassen_winograd(), standard_scheme(matmul(2, 3, 2))])
def test_mod2_images_lift_to_z(scheme):
    res = lift(mod2_image(scheme), time_limit=30)
    assert res.lifted and res.scheme.field == "Z"
    assert verify_all(res.scheme).ok
    assert mod2_image(res.scheme) == mod2_image(scheme).with_meta()


def test_hensel_lifts_strassen():
    lifted = hensel_lift(mod2_image(strassen()))
    assert lifted is not None and verify_all(lifted).ok


def test_f2_scheme_from_cpsat_mod2_lifts():
    from solvers.brent import build_model, solve_model

    f2 = solve_model(build_model(matmul(2, 2, 2), 7, field="F2"), time_limit=20).scheme
    assert f2.field == "F2"
    assert lift(f2).lifted


def test_not_liftable_is_reported():
    from discovery.core.problems import tensor
    from discovery.core.scheme import Scheme

    # T = [[[2]]]: the zero scheme is exact mod 2, but 2 = u v w needs an odd factor
    f2 = Scheme(tensor([[[2]]]), [[0]], [[0]], [[0]], field="F2")
    assert lift_signs(f2).status == "infeasible"
    res = lift(f2, time_limit=10)
    assert not res.lifted
    assert res.attempts == {"signs": "infeasible", "hensel": "failed", "parity": "infeasible"}
    assert "does not lift" in res.summary()


def test_rational_reconstruction():
    m = 2**30
    assert rational_reconstruction((-5) % m, m) == -5
    assert rational_reconstruction(3 * pow(7, -1, m) % m, m) == pytest.approx(3 / 7)


def test_lift_bad_input():
    with pytest.raises(InvalidInputError):
        lift(strassen())  # not F2
    from discovery.core.scheme import Scheme

    wrong = Scheme(matmul(1, 1, 1), [[1], [1]], [[1], [1]], [[1], [1]], field="F2")
    with pytest.raises(InvalidInputError):
        lift(wrong)


@pytest.mark.slow
def test_auto_pipeline_finds_exact_3x3x3_rank_23(tmp_path):
    from discovery.search.auto import run

    res = run(matmul(3, 3, 3), 23, seed=0, time_limit=300, routes=("flip",), save=True, root=tmp_path)
    assert res.status == "found"
    s = res.schemes[0]
    assert s.field == "Z" and s.rank == 23 and verify_all(s).ok
    assert res.options["saved"]


# ------------------------------------------------------------- mod 3 (F3)
# A 2x2x2 rank-7 scheme found by a flip walk over F3 (seed 0), as residues mod 3:
# it has no exact lift with coefficients in {-1, 0, 1} (the representatives fail),
# its Hensel lift needs 1/2.
F3_U = [[0, 1, 1, 0], [1, 2, 2, 1], [1, 1, 0, 0], [1, 1, 1, 1], [1, 2, 0, 0], [1, 0, 2, 0], [1, 0, 1, 0]]
F3_V = [[1, 0, 0, 2], [0, 0, 1, 2], [1, 0, 1, 0], [0, 0, 1, 1], [1, 0, 2, 0], [1, 2, 1, 2], [1, 1, 2, 2]]
F3_W = [[0, 2, 1, 0], [0, 0, 2, 1], [2, 2, 1, 1], [0, 0, 2, 2], [2, 1, 2, 1], [0, 1, 0, 2], [0, 2, 0, 2]]


def test_hensel_mod_3_lifts_to_a_scheme_with_halves():
    import numpy as np
    from fractions import Fraction

    from discovery.core.scheme import Scheme
    from solvers.lifting import exact_mod, hensel_lift_mod
    from verify import verify_exact

    p = matmul(2, 2, 2)
    factors = [np.array(m) for m in (F3_U, F3_V, F3_W)]
    assert exact_mod(p, factors, 3)
    reps = [np.where(m == 2, -1, m) for m in factors]
    assert not verify_exact(Scheme(p, *reps, field="Z")).ok  # no lift in {-1, 0, 1} as is
    got = hensel_lift_mod(p, factors, 3)
    assert got is not None and got.field == "Q" and verify_all(got).ok
    assert Fraction(1, 2) in {abs(v) for v in got.coefficient_set}
    # its image mod 3 is the scheme we lifted
    res = [[[(Fraction(v).numerator * pow(Fraction(v).denominator, -1, 3)) % 3 for v in row] for row in m.tolist()]
           for m in got.factors]
    assert res == [F3_U, F3_V, F3_W]


def test_hensel_mod_p_bad_input():
    import numpy as np

    from solvers.lifting import hensel_lift_mod

    s = strassen()
    with pytest.raises(InvalidInputError, match="odd prime"):
        hensel_lift_mod(s.problem, s.factors, 4)
    with pytest.raises(InvalidInputError, match="not exact mod 3"):
        hensel_lift_mod(s.problem, [np.array(m.tolist()) * 2 for m in s.factors], 3)


def test_mod_p_lu_solves_consistent_systems_and_refuses_others():
    import numpy as np

    from solvers.lifting import ModPLU

    rng = np.random.default_rng(0)
    for p in (3, 5, 7):
        a = rng.integers(0, p, size=(12, 8))
        a[:, 5] = (a[:, 1] + 2 * a[:, 2]) % p  # rank deficient
        lu = ModPLU(a, p)
        x = rng.integers(0, p, size=8)
        b = a @ x % p
        y = lu.solve(b)
        assert y is not None and np.array_equal(a @ y % p, b)
        if lu.rank < a.shape[0]:
            # a vector outside the column space: perturb until inconsistent
            for e in range(12):
                c = b.copy()
                c[e] = (c[e] + 1) % p
                z = lu.solve(c)
                assert z is None or np.array_equal(a @ z % p, c)
