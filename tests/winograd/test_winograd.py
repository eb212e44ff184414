"""The Aᵀ, G, Bᵀ form and 2-D nesting."""

import numpy as np
import pytest

from discovery.winograd.cooktoom import CATALOG_TILES, best_known, cook_toom
from discovery.core.errors import InvalidInputError
from discovery.algebra.ops import standard_scheme
from discovery.core.problems import correlation, correlation2d, matmul
from discovery.winograd.transforms import (
    Winograd2D,
    WinogradTransforms,
    from_transforms,
    nest,
    to_transforms,
)
from verify import verify_exact, verify_symbolic


@pytest.mark.parametrize("m, r, points", [(2, 3, None), (4, 3, "0,1,-1,1/2,-2"), (3, 2, "0,2,-1/3"), (1, 1, None)])
def test_transforms_round_trip(m, r, points):
    s = cook_toom(m, r, points)
    t = to_transforms(s)
    assert isinstance(t, WinogradTransforms)
    assert (t.m, t.r, t.rank) == (m, r, m + r - 1)
    back = from_transforms(t.AT, t.G, t.BT, dict(s.meta))
    assert back == s
    rng = np.random.default_rng(0)
    g = rng.standard_normal((5, r))
    d = rng.standard_normal((5, m + r - 1))
    assert np.allclose(t.apply(g, d), correlation(m, r).direct(g, d))


def test_transforms_exact_apply():
    t = to_transforms(cook_toom(4, 3, "0,1,-1,1/2,-2"))
    g = np.array([1, -2, 3], dtype=object)
    d = np.array([2, 0, 1, -1, 5, 7], dtype=object)
    assert t.apply(g, d).tolist() == correlation(4, 3).direct(g, d).tolist()


def test_from_transforms_rejects_bad_shapes():
    with pytest.raises(InvalidInputError, match="number of products"):
        from_transforms([[1, 1]], [[1, 0, 0]], [[1, 0, 0]])
    with pytest.raises(InvalidInputError, match="m \\+ r - 1"):
        from_transforms([[1]], [[1, 0, 0]], [[1, 0]])
    with pytest.raises(InvalidInputError, match="float"):
        from_transforms(np.ones((1, 1)), [[1]], [[1]])


@pytest.mark.parametrize("a, b", [((2, 3), (2, 3)), ((2, 3), (3, 2)), ((4, 3), (2, 5)), ((1, 2), (3, 1))])
def test_nested_equals_direct_2d(a, b):
    s = nest(cook_toom(*a), cook_toom(*b))
    assert s.problem == correlation2d((a[0], b[0]), (a[1], b[1]))
    assert s.rank == (a[0] + a[1] - 1) * (b[0] + b[1] - 1)
    assert verify_exact(s).ok
    rng = np.random.default_rng(1)
    nx, ny, _ = s.problem.shape
    x = rng.standard_normal((7, nx))
    y = rng.standard_normal((7, ny))
    assert np.allclose(s.evaluate(x, y), s.problem.direct(x, y))


def test_nested_symbolic_and_separable_form():
    s = nest(cook_toom(2, 3), cook_toom(3, 3, "0,1,-1,1/2"))
    assert verify_symbolic(s).ok
    w = to_transforms(s)
    assert isinstance(w, Winograd2D)
    rng = np.random.default_rng(2)
    g = rng.integers(-3, 4, (3, 3)).astype(object)
    d = rng.integers(-3, 4, (4, 5)).astype(object)
    want = s.problem.direct(g.ravel()[None], d.ravel()[None])[0].reshape(2, 3)
    assert w.apply(g, d).tolist() == want.tolist()
    # the recovered 1-D triples are themselves exact algorithms
    assert verify_exact(from_transforms(w.rows.AT, w.rows.G, w.rows.BT)).ok
    assert verify_exact(from_transforms(w.cols.AT, w.cols.G, w.cols.BT)).ok


def test_to_transforms_rejects_other_problems():
    with pytest.raises(InvalidInputError, match="not matmul"):
        to_transforms(standard_scheme(matmul(2, 2, 2)))
    with pytest.raises(InvalidInputError, match="nest needs"):
        nest(standard_scheme(matmul(2, 2, 2)), cook_toom(2, 3))


def test_non_kronecker_2d_scheme_is_refused():
    s = standard_scheme(correlation2d((2, 2), (2, 2)))
    # the standard scheme *is* a Kronecker product of 1-D standard schemes; permute
    # its products to break the structure
    from discovery.algebra.ops import permute_terms

    broken = permute_terms(s, list(range(s.rank))[::-1][:1] + list(range(s.rank - 1)))
    with pytest.raises(InvalidInputError, match="Kronecker"):
        to_transforms(broken)


def test_best_known_6x6():
    s = best_known((6, 6), (3, 3))
    assert s.rank == 64 and s.problem.naive_rank == 324
    assert verify_exact(s).ok


def test_catalog_ships_the_winograd_tiles():
    from discovery.io.catalog import find
    from discovery.core.problems import correlation, correlation2d

    for m, r in CATALOG_TILES:
        problem = correlation2d(m, r) if isinstance(m, tuple) else correlation(m, r)
        schemes = [s for s in find(problem) if s.meta.get("provenance", {}).get("engine") == "cook-toom"]
        assert schemes, problem.spec
        best = schemes[0]
        pairs = zip(m, r) if isinstance(m, tuple) else [(m, r)]
        assert best.rank == int(np.prod([a + b - 1 for a, b in pairs]))
        assert best == best_known(m, r)
        assert verify_exact(best).ok
        assert best.meta["verified"]["symbolic"] is True
