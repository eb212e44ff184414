"""Exact linear algebra: ranks, null spaces, inverses, characteristic polynomials."""

from fractions import Fraction

import numpy as np
import pytest
import sympy

from discovery.algebra import linalg
from discovery.core.errors import InvalidInputError


@pytest.mark.parametrize("field", ["Q", "F2"])
def test_batch_ranks_agree_with_exact_ranks(field):
    rng = np.random.default_rng(0)
    B = rng.integers(-2, 3, size=(300, 3, 6))
    B[::7, 2] = B[::7, 0] + B[::7, 1]  # plant dependent rows
    B[::11] *= 0
    exact = [linalg.rank(m.tolist(), field) for m in B]
    assert linalg.batch_ranks(B, field).tolist() == exact
    if field == "Q":
        assert exact == [sympy.Matrix(m.tolist()).rank() for m in B]


def test_batch_ranks_fall_back_to_exact_for_large_minors():
    # det = 65521 * 2: zero modulo the prime, but the matrix has full rank over Q
    M = np.array([[[linalg.PRIME, 0], [0, 2]]])
    assert linalg.batch_ranks(M).tolist() == [2]
    big = np.array([[[2**70, 1], [2**70, 1]]], dtype=object)
    assert linalg.batch_ranks(big).tolist() == [1]


def test_nullspaces_are_bases():
    rng = np.random.default_rng(1)
    for _ in range(30):
        M = rng.integers(-2, 3, size=(3, 5)).tolist()
        ns = linalg.nullspace(M)
        assert len(ns) == 5 - linalg.rank(M)
        for x in ns:
            assert all(sum(Fraction(a) * b for a, b in zip(row, x)) == 0 for row in M)
        ns2 = linalg.nullspace(M, field="F2")
        assert len(ns2) == 5 - linalg.rank(M, "F2")
        for x in ns2:
            assert all(sum(a * b for a, b in zip(row, x)) % 2 == 0 for row in M)
        left = linalg.left_nullspace(M)
        for z in left:
            assert all(sum(Fraction(z[i]) * M[i][j] for i in range(3)) == 0 for j in range(5))


def test_inverse_and_determinant():
    M = [[2, 1, 0], [1, 1, 0], [0, 3, 1]]
    inv = linalg.inverse(M)
    assert linalg.matmul(M, inv) == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert linalg.determinant(M) == 1
    assert linalg.inverse([[2, 0], [0, 1]]) == [[Fraction(1, 2), 0], [0, 1]]
    assert linalg.matmul([[1, 1], [0, 1]], linalg.inverse([[1, 1], [0, 1]], "F2"), "F2") == [[1, 0], [0, 1]]
    with pytest.raises(InvalidInputError, match="singular over Q"):
        linalg.inverse([[1, 2], [2, 4]])
    with pytest.raises(InvalidInputError, match="square"):
        linalg.inverse([[1, 2]])


def test_charpoly_matches_sympy():
    rng = np.random.default_rng(2)
    x = sympy.Symbol("x")
    for n in (1, 2, 3, 4):
        M = rng.integers(-3, 4, size=(n, n)).tolist()
        expected = [int(c) for c in sympy.Matrix(M).charpoly(x).all_coeffs()]
        assert linalg.charpoly(M) == expected
    R = [[Fraction(1, 2), 1], [0, Fraction(-1, 3)]]
    assert linalg.charpoly(R) == [1, Fraction(-1, 6), Fraction(-1, 6)]
