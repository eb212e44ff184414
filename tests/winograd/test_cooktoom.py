"""Cook–Toom construction: exact for any distinct rational points."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from discovery.winograd.cooktoom import (
    INF,
    cook_toom,
    cook_toom_polymul,
    correlation_to_polymul,
    default_points,
    parse_points,
    polymul_to_correlation,
    toom_cook_polymul,
)
from discovery.core.errors import InvalidInputError
from discovery.core.problems import correlation
from verify import verify_exact, verify_symbolic

rationals = st.fractions(min_value=-4, max_value=4, max_denominator=4)


@st.composite
def sizes_and_points(draw):
    m = draw(st.integers(1, 4))
    r = draw(st.integers(1, 4))
    n = m + r - 1
    pts = draw(st.lists(rationals, min_size=n - 1, max_size=n - 1, unique=True))
    return m, r, pts


@settings(max_examples=40, deadline=None)
@given(sizes_and_points(), st.sampled_from(["G", "BT", "AT"]))
def test_cook_toom_is_exact_for_any_distinct_points(case, fractions):
    m, r, pts = case
    s = cook_toom(m, r, pts, fractions)
    assert s.problem == correlation(m, r)
    assert s.rank == m + r - 1
    assert verify_exact(s).ok


@settings(max_examples=10, deadline=None)
@given(sizes_and_points())
def test_cook_toom_verifies_symbolically(case):
    m, r, pts = case
    assert verify_symbolic(cook_toom(m, r, pts)).ok


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.data())
def test_all_finite_points_without_infinity(m, r, data):
    n = m + r - 1
    pts = data.draw(st.lists(rationals, min_size=n, max_size=n, unique=True))
    s = cook_toom(m, r, pts)
    assert "inf" not in s.meta["provenance"]["points"]
    assert verify_exact(s).ok


@pytest.mark.parametrize("fractions", ["G", "BT", "AT"])
def test_fraction_placement(fractions):
    s = cook_toom(4, 3, "0,1,-1,2,-2", fractions)
    assert verify_symbolic(s).ok
    mats = {"G": s.U, "BT": s.V, "AT": s.W}
    for name, mat in mats.items():
        has_fraction = any(isinstance(v, Fraction) for v in mat.ravel())
        assert has_fraction == (name == fractions), name


def test_lavin_gray_f23():
    s = cook_toom(2, 3)
    assert s.U.tolist() == [[1, 0, 0], [Fraction(1, 2)] * 3,
                            [Fraction(1, 2), Fraction(-1, 2), Fraction(1, 2)], [0, 0, 1]]
    assert s.V.tolist() == [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, -1, 0, 1]]
    assert s.W.T.tolist() == [[1, 1, 1, 0], [0, 1, -1, 1]]


def test_default_points_are_the_published_ones():
    assert [str(p) for p in default_points(4)] == ["0", "1", "-1", "inf"]
    assert sorted(default_points(6)[:-1]) == sorted(Fraction(p) for p in ("0", "1", "-1", "1/2", "-2"))
    assert sorted(default_points(8)[:-1]) == sorted(Fraction(p) for p in ("0", "1", "-1", "1/2", "-1/2", "2", "-2"))


@pytest.mark.parametrize("points, message", [
    ("0,1,1", "repeated"),
    ("0,1", "F\\(2,3\\) needs 3 distinct finite points .* got 2 points"),
    ("0,1,-1,2,3", "got 5 points"),
    ([0, "inf", "inf"], "repeated"),
    ("0,1,x", "not an integer"),
    ([0, 1, 0.5], "float"),
])
def test_bad_points(points, message):
    with pytest.raises(InvalidInputError, match=message):
        cook_toom(2, 3, points)


def test_explicit_infinity_anywhere():
    s = cook_toom(2, 3, ["inf", 0, 1, -1])
    assert s.meta["provenance"]["points"] == ["inf", "0", "1", "-1"]
    assert verify_exact(s).ok
    assert parse_points("0, inf, 1/2")[1] is INF


def test_bad_fraction_place():
    with pytest.raises(InvalidInputError, match="fractions"):
        cook_toom(2, 3, fractions="W")


@pytest.mark.parametrize("p, q", [(1, 1), (2, 2), (3, 2), (2, 5), (4, 3)])
def test_polymul_both_ways(p, q):
    direct = toom_cook_polymul(p, q)
    transposed = cook_toom_polymul(p, q)
    assert verify_symbolic(direct).ok
    assert verify_symbolic(transposed).ok
    back = polymul_to_correlation(transposed)
    assert back == cook_toom(q, p)
    assert correlation_to_polymul(back) == transposed


def test_polymul_numeric():
    s = toom_cook_polymul(3, 4, "0,1,-1,2,-2,1/2")
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, -1.0, 0.5, 2.0])
    assert np.allclose(s.evaluate(x, y), np.convolve(x, y))


# ----------------------------------------------------------- identification
from discovery.winograd.cooktoom import identify, recover_points, snap_points  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(sizes_and_points(), st.sampled_from(["G", "BT", "AT"]))
def test_recover_points_of_any_cook_toom(case, fractions):
    m, r, pts = case
    if m == r == 1:
        return
    s = cook_toom(m, r, pts, fractions)
    assert list(recover_points(s.U, s.W)) == [Fraction(p) for p in pts] + [INF]
    info = identify(s)
    assert info["cook_toom"] and info["points"] == [str(Fraction(p)) for p in pts] + ["inf"]
    # the float factors give the same points within tolerance
    u, _, w = s.float_factors()
    approx = recover_points(u, w, tol=1e-9)
    assert approx is not None and approx[-1] is INF


def test_identify_rejects_non_minimal_and_tampered_schemes():
    from discovery.algebra.ops import standard_scheme

    assert identify(standard_scheme(correlation(2, 3)))["cook_toom"] is False
    s = cook_toom(2, 3)
    V = s.V.copy()
    V[0, 0] = 2  # breaks exactness and the Cook-Toom form
    assert identify(s.replace(V=V))["cook_toom"] is False
    with pytest.raises(InvalidInputError):
        identify(toom_cook_polymul(2, 2))


def test_snap_points():
    assert snap_points([0.49, 0.52, 3.0]) == (Fraction(0), Fraction(1), Fraction(3))
    pts = snap_points([0.02, 0.49, 0.9, -40.0])
    assert pts[-1] is INF and len(set(pts)) == 4
    with pytest.raises(InvalidInputError, match="infinity"):
        snap_points([100.0, -100.0, 0.0])


def test_cook_toom_polymul_point_errors_name_the_polymul_problem():
    from discovery.winograd.cooktoom import cook_toom_polymul

    with pytest.raises(InvalidInputError, match=r"poly\(2,3\)"):
        cook_toom_polymul(2, 3, "0,1")
