"""Common-subexpression elimination computes exactly the same linear forms."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from discovery.winograd.cooktoom import cook_toom
from discovery.codegen.cse import eliminate, linear_forms_costs, naive_additions, transform_costs
from discovery.core.errors import InvalidInputError
from discovery.algebra.literature import strassen_winograd
from discovery.winograd.cooktoom import best_known

coef = st.one_of(st.sampled_from([0, 0, 0, 1, -1, 2]), st.fractions(-3, 3, max_denominator=3))


@st.composite
def matrices(draw):
    rows = draw(st.integers(1, 7))
    cols = draw(st.integers(1, 7))
    return [[draw(coef) for _ in range(cols)] for _ in range(rows)]


def _exact(m):
    return [[int(v) if Fraction(v).denominator == 1 else Fraction(v) for v in row] for row in m]


@settings(max_examples=120, deadline=None)
@given(matrices())
def test_program_computes_the_same_forms(m):
    program = eliminate(m)
    assert program.matrix().tolist() == _exact(m)
    assert program.additions <= naive_additions(m)
    x = np.array([Fraction(3 * i + 1, i + 2) for i in range(len(m[0]))], dtype=object)
    want = [sum(Fraction(c) * xi for c, xi in zip(row, x)) for row in m]
    assert program.evaluate(x).tolist() == want


@settings(max_examples=30, deadline=None)
@given(matrices())
def test_program_is_deterministic(m):
    assert eliminate(m) == eliminate(m)


def test_strassen_winograd_has_15_additions():
    s = strassen_winograd()
    total = sum(eliminate(mat).additions for mat in (s.U, s.V, s.W.T))
    assert total == 15
    for mat in (s.U, s.V, s.W.T):
        assert eliminate(mat).matrix().tolist() == mat.tolist()


def test_shared_pair_and_scaled_copies():
    p = eliminate([[1, 1, 0], [2, 2, 1], [-1, -1, 0]])
    assert p.temporaries == 1
    assert p.additions == 2
    assert p.evaluate(np.array([1.0, 2.0, 4.0])).tolist() == [3.0, 10.0, -3.0]


def test_zero_rows_and_float_input():
    p = eliminate([[0, 0], [1, 0]])
    assert p.outputs[0] == () and p.additions == 0
    assert p.evaluate(np.array([[1.0, 2.0]])).tolist() == [[0.0, 1.0]]


def test_bad_matrices():
    with pytest.raises(InvalidInputError, match="float"):
        eliminate(np.ones((2, 2)))
    with pytest.raises(InvalidInputError, match="rectangular"):
        eliminate([[1, 2], [1]])
    with pytest.raises(InvalidInputError):
        eliminate([[0.5, 1]])
    with pytest.raises(InvalidInputError, match="inputs"):
        eliminate([[1, 1]]).evaluate(np.ones(3))


def test_lines_roundtrip_names():
    lines = eliminate([[1, 1], [1, 1]]).lines(["a", "b"], ["u", "v"])
    assert lines == ["t0 = a + b", "u = t0", "v = t0"]


def test_transform_costs_1d_and_2d():
    c = transform_costs(cook_toom(4, 3, "0,1,-1,1/2,-2"))
    assert c["multiplications"] == 6 and c["multiplications_per_output"] == 1.5
    assert c["naive_multiplications_per_output"] == 3
    for name in ("filter", "data", "output"):
        assert c[name]["cse"] <= c[name]["naive"]
    c2 = transform_costs(best_known((2, 2), (3, 3)))
    assert c2["multiplications_per_output"] == 4.0
    assert c2["data"]["separable"]["naive"] == 32  # 4 adds of B^T, on 4 columns then 4 rows
    assert c2["data"]["cse"] <= c2["data"]["naive"]


def test_linear_forms_costs():
    assert linear_forms_costs([[1, 1, 1], [1, 1, 0]]) == {
        "rows": 2, "naive": 3, "cse": 2, "scalar_multiplications": 0}


ternary_matrices = st.integers(1, 40).flatmap(
    lambda rows: st.integers(1, 24).flatmap(
        lambda cols: st.lists(st.lists(st.sampled_from([-1, 0, 0, 1]), min_size=cols, max_size=cols),
                              min_size=rows, max_size=rows)))


@settings(max_examples=60, deadline=None)
@given(ternary_matrices)
def test_compiled_ternary_elimination_is_the_generic_one(m):
    """The numba kernel for {-1, 0, 1} matrices gives the very same program as the pure-Python search."""
    from discovery.codegen import cse

    pytest.importorskip("numba")
    rows = cse._rows(m)
    fast = cse._eliminate_ternary(rows)
    assert fast == cse._eliminate_generic(rows, len(m[0]))
    assert fast.matrix().tolist() == m


def test_large_ternary_matrices_take_the_compiled_path(monkeypatch):
    from discovery.codegen import cse

    pytest.importorskip("numba")
    m = np.random.default_rng(0).choice([-1, 0, 1], size=(96, 48))
    calls = []
    monkeypatch.setattr(cse, "_eliminate_generic", lambda *a: calls.append(a))
    program = eliminate(m)
    assert calls == [] and np.array_equal(program.matrix().astype(int), m)
    assert program.additions < 0.6 * naive_additions(m)


@pytest.mark.parametrize("shape, density", [((100, 80), 0.5), ((64, 128), 0.2), ((30, 200), 0.8)])
def test_compiled_ternary_elimination_matches_on_larger_matrices(shape, density):
    from discovery.codegen import cse

    pytest.importorskip("numba")
    gen = np.random.default_rng(7)
    m = gen.choice([-1, 0, 1], size=shape, p=[density / 2, 1 - density, density / 2]).tolist()
    rows = cse._rows(m)
    assert cse._eliminate_ternary(rows) == cse._eliminate_generic(rows, shape[1])
