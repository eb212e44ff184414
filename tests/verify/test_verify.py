"""Verification cannot be fooled: property tests over valid schemes and their mutations."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.algebra.literature import strassen, strassen_winograd
from discovery.algebra.ops import cyclic, kron, standard_scheme, to_field, transpose
from discovery.core.problems import correlation, correlation2d, matmul, polymul
from verify import verify_all, verify_exact, verify_numeric, verify_symbolic, wrong_entries

BASE = [strassen, strassen_winograd, lambda: standard_scheme(matmul(1, 2, 3)),
        lambda: standard_scheme(matmul(2, 1, 2)), lambda: standard_scheme(correlation(2, 3)),
        lambda: standard_scheme(polymul(2, 2))]
MATMUL = [strassen, strassen_winograd, lambda: standard_scheme(matmul(1, 2, 3)),
          lambda: standard_scheme(matmul(2, 1, 2)), lambda: standard_scheme(matmul(2, 2, 1))]

ops = st.lists(st.sampled_from(["cyclic", "transpose"]), max_size=4)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(MATMUL), st.sampled_from(MATMUL), ops)
def test_products_and_symmetries_verify(make1, make2, moves):
    s = kron(make1(), make2())
    for move in moves:
        s = cyclic(s) if move == "cyclic" else transpose(s)
    assert verify_exact(s).ok
    assert verify_symbolic(s).ok


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(BASE), st.data())
def test_any_single_coefficient_change_is_rejected(make, data):
    s = make()
    which = data.draw(st.integers(0, 2))
    mat = s.factors[which].copy()
    r = data.draw(st.integers(0, mat.shape[0] - 1))
    c = data.draw(st.integers(0, mat.shape[1] - 1))
    delta = data.draw(st.sampled_from([1, -1, 2, Fraction(1, 2), Fraction(-1, 3)]))
    mat[r, c] = mat[r, c] + delta
    bad = s.replace(**{"UVW"[which]: mat}, field="Q")
    exact = verify_exact(bad)
    assert not exact.ok and exact.wrong > 0
    assert not verify_symbolic(bad).ok
    assert not verify_numeric(bad).ok
    assert wrong_entries(bad) == exact.wrong


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(MATMUL), st.data())
def test_mod2_change_is_rejected(make, data):
    s = to_field(make(), "F2")
    assert verify_exact(s).ok and verify_exact(s).level == "mod2"
    assert verify_symbolic(s).ok
    which = data.draw(st.integers(0, 2))
    mat = s.factors[which].copy()
    r = data.draw(st.integers(0, mat.shape[0] - 1))
    c = data.draw(st.integers(0, mat.shape[1] - 1))
    mat[r, c] = 1 - mat[r, c]
    bad = s.replace(**{"UVW"[which]: mat})
    assert not verify_exact(bad).ok
    assert not verify_symbolic(bad).ok


def test_strassen_squared_is_4x4x4_rank_49():
    s = kron(strassen(), strassen())
    assert s.problem.spec == "4x4x4" and s.rank == 49
    assert verify_all(s).ok


def test_rational_scheme_verifies_exactly():
    # x*y computed as (2x) * (y/2)
    from discovery import Scheme

    s = Scheme(matmul(1, 1, 1), [[2]], [["1/2"]], [[1]], "Q")
    assert verify_all(s).ok
    wrong = s.replace(V=[["1/3"]])
    result = verify_exact(wrong)
    assert not result.ok and "expected 1, scheme gives 2/3" in result.reason


def test_symbolic_reason_shows_polynomial_difference():
    s = strassen()
    W = s.W.copy()
    W[0, 0] = 0
    result = verify_symbolic(s.replace(W=W))
    assert not result.ok
    assert result.reason.startswith("1 wrong output; first z[0]: scheme - definition = ")
    assert "a11*b11" in result.reason or "x0*y0" in result.reason


def test_5x5x5_rank_98_shaped_scheme_is_checked():
    # A 98-term subset of the standard 5x5x5 scheme misses 27 products: 27 wrong entries.
    s = standard_scheme(matmul(5, 5, 5))
    idx = np.random.default_rng(0).choice(125, 98, replace=False)
    trimmed = s.replace(U=s.U[idx], V=s.V[idx], W=s.W[idx])
    assert verify_exact(trimmed).wrong == 27


def test_big_coefficients_use_python_ints():
    from discovery import Scheme

    big = 2**40
    s = Scheme(matmul(1, 1, 1), [[big]], [[big]], [["1/%d" % (big * big)]], "Q")
    assert verify_exact(s).ok


def test_numeric_levels():
    s = standard_scheme(correlation2d((2, 2), (3, 3)))
    assert verify_numeric(s, "float32").ok
    with pytest.raises(ValueError):
        verify_numeric(s, "float8")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 6), st.data())
def test_sparse_dense_and_object_sums_agree(nx, ny, nz, rank, data):
    from verify.exact import _reconstruct_dense, _reconstruct_object, _reconstruct_sparse

    mats = [np.array(data.draw(st.lists(st.lists(st.integers(-3, 3), min_size=w, max_size=w),
                                        min_size=rank, max_size=rank)), dtype=np.int64)
            for w in (nx, ny, nz)]
    want = np.einsum("ra,rb,rc->abc", *mats)
    counts = [np.count_nonzero(m, axis=1).astype(np.int64) for m in mats]
    assert np.array_equal(_reconstruct_sparse(*mats, counts, (nx, ny, nz)), want)
    assert np.array_equal(_reconstruct_dense(*mats, (nx, ny, nz), np.float64), want)
    assert np.array_equal(_reconstruct_dense(*mats, (nx, ny, nz), np.int64), want)
    assert np.array_equal(_reconstruct_object(*mats, (nx, ny, nz)).astype(np.int64), want)


def test_exact_check_of_large_schemes_is_complete():
    s = kron(kron(strassen(), strassen()), standard_scheme(matmul(3, 3, 3)))  # 12x12x12, rank 1323
    assert verify_exact(s).ok
    W = s.W.copy()
    W[700, np.flatnonzero(W[700])[0]] = 0
    assert verify_exact(s.replace(W=W)).wrong >= 1
    dense = np.random.default_rng(0).integers(-1, 2, (40, 16))  # dense: the matrix-product route
    t = standard_scheme(matmul(4, 4, 4))
    bad = t.replace(U=dense, V=dense, W=dense)
    assert wrong_entries(bad) == int(np.count_nonzero(np.einsum("ra,rb,rc->abc", dense, dense, dense)
                                                      - t.problem.tensor()))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 5), st.data())
def test_modular_sum_of_huge_coefficients_is_exact(nx, ny, nz, rank, data):
    from verify.exact import _reconstruct_modular, _reconstruct_object

    big = st.one_of(st.integers(-3, 3), st.integers(-2**90, 2**90))
    mats = [np.array(data.draw(st.lists(st.lists(big, min_size=w, max_size=w), min_size=rank, max_size=rank)),
                     dtype=object) for w in (nx, ny, nz)]
    assert np.array_equal(_reconstruct_modular(*mats, (nx, ny, nz)), _reconstruct_object(*mats, (nx, ny, nz)))
