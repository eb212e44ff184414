from fractions import Fraction

import numpy as np
import pytest

from discovery import InvalidInputError, Scheme
from discovery.algebra.literature import strassen, strassen_winograd
from discovery.algebra.ops import standard_scheme
from discovery.core.problems import correlation, matmul


def test_costs_of_strassen():
    s = strassen()
    assert (s.rank, s.multiplications, s.additions, s.scalar_multiplications) == (7, 7, 18, 0)
    assert s.coefficient_set == (-1, 0, 1)
    assert strassen_winograd().additions == 24  # naive count; 15 with shared subexpressions


def test_immutable():
    s = strassen()
    with pytest.raises(AttributeError):
        s.rank = 3
    with pytest.raises(ValueError):
        s.U[0, 0] = 5
    with pytest.raises(TypeError):
        s.meta["x"] = 1


@pytest.mark.parametrize(
    "U, match",
    [
        ([[0.5]], "U\\[0\\]\\[0\\]: float"),
        ([["1/0"]], "zero denominator"),
        ([[1, 2]], "U\\[0\\] has 2 entries, expected 1"),
        ([[True]], "boolean"),
        ([["x"]], "not an integer"),
        ([], "no rows"),
    ],
)
def test_validation_names_the_bad_part(U, match):
    with pytest.raises(InvalidInputError, match=match):
        Scheme(matmul(1, 1, 1), U, [[1]], [[1]])


def test_field_rules():
    p = matmul(1, 1, 1)
    with pytest.raises(InvalidInputError, match="field Z"):
        Scheme(p, [["1/2"]], [[2]], [[1]], "Z")
    assert Scheme(p, [["1/2"]], [[2]], [[1]], "Q").U[0, 0] == Fraction(1, 2)
    with pytest.raises(InvalidInputError, match="F2"):
        Scheme(p, [[-1]], [[1]], [[1]], "F2")
    with pytest.raises(InvalidInputError, match="field must be"):
        Scheme(p, [[1]], [[1]], [[1]], "R")
    with pytest.raises(InvalidInputError, match="same number of rows"):
        Scheme(p, [[1], [1]], [[1]], [[1]])
    with pytest.raises(InvalidInputError, match="float array"):
        Scheme(p, np.ones((1, 1)), [[1]], [[1]])


def test_integral_fractions_become_ints():
    s = Scheme(matmul(1, 1, 1), [["4/2"]], [[Fraction(1, 2)]], [[1]], "Q")
    assert type(s.U[0, 0]) is int and s.U[0, 0] == 2


def test_evaluate_float_and_exact():
    s = strassen()
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    assert np.allclose(s.evaluate(a, b), s.problem.direct(a, b))
    xi = np.array([1, 2, 3, 4], dtype=object)
    assert s.evaluate(xi, xi).tolist() == [7, 10, 15, 22]


def test_equality_ignores_meta_and_fingerprint_is_stable():
    s = standard_scheme(correlation(2, 3))
    t = s.with_meta(provenance={"engine": "x"})
    assert s == t and s.fingerprint() == t.fingerprint()
    assert s != strassen()
    assert "rank-6 Scheme for correlation F(2,3) over Z" in repr(s)


def test_canonical_form_ignores_term_order_and_scalings():
    from fractions import Fraction

    from discovery.algebra.literature import strassen
    from discovery.algebra.ops import permute_terms
    from discovery.core.problems import correlation
    from discovery.winograd.cooktoom import cook_toom

    s = strassen()
    U, V, W = (m.copy() for m in s.factors)
    U[2], W[2] = -U[2], -W[2]                  # sign moves of one term
    V[5], W[5] = -V[5], -W[5]
    moved = permute_terms(s.replace(U=U, V=V, W=W), [6, 5, 4, 3, 2, 1, 0])
    assert moved != s and moved.canonical() == s.canonical()
    assert moved.fingerprint() == s.fingerprint()
    c = s.canonical()
    assert c.canonical() == c                  # idempotent
    for r in range(c.rank):                    # signs normalised
        for row in (c.U[r], c.V[r]):
            assert next(v for v in row if v != 0) > 0
    q = cook_toom(2, 3)                        # over Q: first nonzero of U and V rows become 1
    U, W = q.U.copy(), q.W.copy()
    U[1] = [Fraction(3) * v for v in U[1]]
    W[1] = [v / Fraction(3) for v in W[1]]
    scaled = q.replace(U=U, W=W)
    assert scaled.fingerprint() == q.fingerprint()
    assert all(next(v for v in row if v != 0) == 1 for row in q.canonical().U)
    assert q.canonical().problem == correlation(2, 3)
    # a different scheme has another fingerprint
    W = s.W.copy(); W[0, 0] = 0
    assert s.replace(W=W).fingerprint() != s.fingerprint()
