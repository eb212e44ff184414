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
