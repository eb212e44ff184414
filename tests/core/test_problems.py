import numpy as np
import pytest

from discovery import InvalidInputError
from discovery.core.problems import (
    correlation,
    correlation2d,
    matmul,
    parse_problem,
    polymul,
    problem_from_dict,
    tensor,
)

PROBLEMS = [
    matmul(2, 2, 2),
    matmul(2, 3, 4),
    matmul(1, 3, 2),
    correlation(2, 3),
    correlation(4, 3),
    correlation2d((2, 2), (3, 3)),
    correlation2d((2, 3), (3, 2)),
    polymul(2, 3),
    tensor(np.arange(24).reshape(2, 3, 4) % 3 - 1),
]


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.spec)
def test_tensor_matches_definition(problem):
    rng = np.random.default_rng(0)
    nx, ny, nz = problem.shape
    x = rng.integers(-5, 6, size=(7, nx))
    y = rng.integers(-5, 6, size=(7, ny))
    via_tensor = np.einsum("na,nb,abc->nc", x, y, problem.tensor())
    assert np.array_equal(via_tensor, problem.direct(x, y))
    assert problem.tensor().shape == (nx, ny, nz)


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.spec)
def test_dict_round_trip(problem):
    assert problem_from_dict(problem.to_dict()) == problem
    assert hash(problem_from_dict(problem.to_dict())) == hash(problem)


def test_matmul_convention_is_row_major():
    t = matmul(2, 3, 4).tensor()
    # A[1,2] * B[2,3] contributes to C[1,3]
    assert t[1 * 3 + 2, 2 * 4 + 3, 1 * 4 + 3] == 1
    assert t.sum() == 2 * 3 * 4


def test_correlation_definition():
    g = np.array([1, 2, 3])
    d = np.array([1, 0, -1, 2])
    assert correlation(2, 3).direct(g, d).tolist() == [1 * 1 + 2 * 0 + 3 * -1, 1 * 0 + 2 * -1 + 3 * 2]


def test_naive_ranks():
    assert matmul(3, 3, 3).naive_rank == 27
    assert correlation(2, 3).naive_rank == 6
    assert correlation2d((4, 4), (3, 3)).naive_rank == 144
    assert polymul(3, 4).naive_rank == 12


@pytest.mark.parametrize(
    "spec, expected",
    [("2x3x4", "2x3x4"), (" 2 x 2 x 2 ", "2x2x2"), ("F(2,3)", "F(2,3)"), ("F(2x2, 3x3)", "F(2x2,3x3)"),
     ("poly(2,3)", "poly(2,3)"), ("3×3×3", "3x3x3")],
)
def test_parse(spec, expected):
    assert parse_problem(spec).spec == expected


@pytest.mark.parametrize("spec", ["", "2x2", "F(2)", "0x2x2", "poly(0,1)", "banana", "F(2x2,3)", "99x2x2"])
def test_parse_rejects(spec):
    with pytest.raises(InvalidInputError):
        parse_problem(spec)


def test_tensor_problem_rejects_floats_and_bad_shapes():
    with pytest.raises(InvalidInputError, match="integers"):
        tensor([[[0.5]]])
    with pytest.raises(InvalidInputError, match="3-d"):
        tensor([[1, 2]])
    with pytest.raises(InvalidInputError):
        problem_from_dict({"kind": "tensor", "shape": [1, 1, 2], "entries": [1]})
    with pytest.raises(InvalidInputError, match="unknown problem kind"):
        problem_from_dict({"kind": "fft"})
