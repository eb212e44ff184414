"""Stronger elimination: every program computes its matrix exactly, and the searches find what they should."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from discovery.algebra.literature import strassen, strassen_winograd
from discovery.codegen.cse import Program, eliminate, naive_additions, transpose
from discovery.codegen.exact import shortest_program
from discovery.codegen.minimize import lower_bound, minimize, potential_greedy, randomized_greedy
from discovery.core.errors import InvalidInputError, SchemeFormatError

coef = st.one_of(st.sampled_from([0, 0, 0, 1, -1, 2]), st.fractions(-3, 3, max_denominator=3))


@st.composite
def matrices(draw):
    rows = draw(st.integers(1, 6))
    cols = draw(st.integers(1, 6))
    return [[draw(coef) for _ in range(cols)] for _ in range(rows)]


def _exact(m):
    return [[int(v) if Fraction(v).denominator == 1 else Fraction(v) for v in row] for row in m]


@settings(max_examples=40, deadline=None)
@given(matrices())
def test_transposed_program_computes_the_transpose(m):
    program = transpose(eliminate(m))
    assert program.matrix().tolist() == np.array(_exact(m), dtype=object).T.tolist()
    assert Program.from_json(program.to_json()) == program


@settings(max_examples=25, deadline=None)
@given(matrices(), st.integers(0, 3))
def test_searches_compute_the_matrix_and_never_lose_to_greedy(m, seed):
    greedy = eliminate(m).additions
    for program in (randomized_greedy(m, restarts=4, seed=seed), randomized_greedy(m, 4, seed, transposed=True),
                    potential_greedy(m, width=4, seed=seed), minimize(m, time_limit=2, restarts=8, seed=seed).program):
        assert program.matrix().tolist() == _exact(m)
    assert randomized_greedy(m, restarts=4, seed=seed).additions <= greedy
    assert potential_greedy(m, width=4, seed=seed).additions <= greedy
    result = minimize(m, time_limit=2, restarts=8, seed=seed)
    assert result.lower_bound <= result.additions <= min(greedy, naive_additions(m))


def test_same_seed_same_program():
    m = strassen_winograd().W.T
    assert randomized_greedy(m, 16, seed=3) == randomized_greedy(m, 16, seed=3)
    assert minimize(m, time_limit=30, seed=5).program == minimize(m, time_limit=30, seed=5).program


def test_transposition_helps():
    m = [[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1], [1, 1, 1, 0]]
    assert eliminate(m).additions == 6
    via_transpose = transpose(eliminate(np.array(m, dtype=object).T.tolist()))
    assert via_transpose.additions == 5 and via_transpose.matrix().tolist() == m
    result = minimize(m, methods=("greedy",), time_limit=5)
    assert result.additions == 5 and result.method == "greedy+transpose"


def test_catalog_output_sums_get_fewer_additions():
    from discovery.io.catalog import load_all

    pool = [s for p, s in load_all() if s.problem.spec == "3x3x3" and s.rank == 23 and s.field == "Z"]
    scheme = max(pool, key=lambda s: (eliminate(s.W.T).additions, s.fingerprint()))
    result = minimize(scheme.W.T, time_limit=30, restarts=32, seed=0)
    assert result.additions < eliminate(scheme.W.T).additions
    assert result.program.matrix().tolist() == scheme.W.T.tolist()


def test_lower_bound_counts_distinct_sums():
    assert lower_bound([[1, 1, 0], [-2, -2, 0], [0, 1, 1], [0, 0, 3], [0, 0, 0]]) == 2


def test_exact_model_proves_strassen_winograd_operands_optimal():
    s = strassen_winograd()
    for mat, want in ((s.U, 4), (s.V, 4)):
        r = shortest_program(mat, time_limit=30)
        assert r.optimal and r.program.additions == want == r.lower_bound
        assert r.program.matrix().tolist() == mat.tolist()


def test_exact_model_finds_the_planted_shorter_program():
    m = [[1, 1, 1, 0], [1, 1, 0, 1], [1, 1, 1, 1]]
    r = shortest_program(m, time_limit=30)
    assert r.optimal and r.program.matrix().tolist() == m
    assert r.program.additions == 4  # t = a+b, u = t+c, v = t+d, u+d
    assert minimize(m, methods=("greedy", "exact"), time_limit=30).optimal


def test_exact_model_with_a_hint_and_strassen_output():
    s = strassen()
    hint = minimize(s.U, time_limit=2).program
    r = shortest_program(s.U, time_limit=30, hint=hint)
    assert r.optimal and r.program.additions == 5


def test_bad_input():
    with pytest.raises(InvalidInputError, match="-1, 0, 1"):
        shortest_program([[2, 1]])
    with pytest.raises(InvalidInputError, match="unknown method"):
        minimize([[1, 1]], methods=("magic",))
    with pytest.raises(InvalidInputError, match="time_limit"):
        minimize([[1, 1]], time_limit=0)
    with pytest.raises(InvalidInputError):
        minimize(np.ones((2, 2)))
    with pytest.raises(SchemeFormatError, match="not yet defined"):
        Program.from_json({"inputs": 2, "ops": [[2, 1, 0, 1, 2]], "outputs": [[[1, 2]]]})
    with pytest.raises(SchemeFormatError, match="zero"):
        Program.from_json({"inputs": 2, "ops": [], "outputs": [[[0, 1]]]})
    with pytest.raises(SchemeFormatError, match="float"):
        Program.from_json({"inputs": 2, "ops": [], "outputs": [[[0.5, 1]]]})
