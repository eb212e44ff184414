"""Equivalence of schemes: the group action, invariants and exact decisions."""

import itertools
from fractions import Fraction

import numpy as np
import pytest

from discovery.algebra import equivalence as E
from discovery.algebra import linalg
from discovery.algebra.literature import strassen, strassen_winograd
from discovery.algebra.ops import kron, standard_scheme, to_field
from discovery.core.errors import InvalidInputError
from discovery.core.problems import correlation, matmul
from discovery.core.scheme import Scheme
from discovery.io.catalog import find
from verify import verify_exact


def _rank23():
    """The catalog's 3x3x3 rank-23 Z schemes, one per rank pattern (an optimised copy of a scheme is
    equivalent to it and is left out)."""
    seen, out = set(), []
    for s in find(matmul(3, 3, 3)):
        pattern = E.invariants(s).rank_pattern
        if s.field == "Z" and pattern not in seen:
            seen.add(pattern)
            out.append(s)
    return out


def _random_gl(size, rng):
    while True:
        M = rng.integers(-2, 3, size=(size, size)).tolist()
        if linalg.determinant(M) != 0:
            return M


def _naive_sandwich(scheme, P, Q, R):
    """W -> P W R^-1: the form that does NOT preserve the tensor in our convention."""
    p = scheme.problem
    k, m, n = p.k, p.m, p.n
    Qi, Ri = linalg.inverse(Q), linalg.inverse(R)
    U, V, W = [], [], []
    for u, v, w in zip(scheme.U.tolist(), scheme.V.tolist(), scheme.W.tolist()):
        Um = [u[i * m:(i + 1) * m] for i in range(k)]
        Vm = [v[j * n:(j + 1) * n] for j in range(m)]
        Wm = [w[i * n:(i + 1) * n] for i in range(k)]
        U.append(sum(linalg.matmul(linalg.matmul(P, Um), Qi), []))
        V.append(sum(linalg.matmul(linalg.matmul(Q, Vm), Ri), []))
        W.append(sum(linalg.matmul(linalg.matmul(P, Wm), Ri), []))
    return Scheme(p, U, V, W, "Q")


@pytest.mark.parametrize("scheme", [strassen(), standard_scheme(matmul(2, 3, 4)), _rank23()[0]],
                         ids=["strassen", "standard-2x3x4", "rank23"])
def test_sandwich_form_satisfies_the_brent_equations(scheme):
    rng = np.random.default_rng(0)
    p = scheme.problem
    for _ in range(3):
        P, Q, R = (_random_gl(d, rng) for d in (p.k, p.m, p.n))
        moved = E.sandwich(scheme.replace(field="Q"), P, Q, R)
        assert verify_exact(moved).ok
        assert moved.fingerprint() != scheme.replace(field="Q").fingerprint()
        assert not verify_exact(_naive_sandwich(scheme, P, Q, R)).ok


def test_sandwich_over_z_and_f2_needs_invertible_matrices():
    s = strassen()
    with pytest.raises(InvalidInputError, match="not invertible over Z"):
        E.sandwich(s, [[2, 0], [0, 1]], [[1, 0], [0, 1]], [[1, 0], [0, 1]])
    with pytest.raises(InvalidInputError, match="not invertible over F2"):
        E.sandwich(to_field(s, "F2"), [[1, 1], [1, 1]], [[1, 0], [0, 1]], [[1, 0], [0, 1]])
    assert verify_exact(E.sandwich(to_field(s, "F2"), [[1, 1], [0, 1]], [[0, 1], [1, 0]], [[1, 0], [1, 1]])).ok


def test_invariants_are_invariant_under_each_generator():
    s = _rank23()[1]
    key = E.invariant_key(s)
    rng = np.random.default_rng(3)
    P, Q, R = (E._random_invertible(3, "Z", rng) for _ in range(3))
    images = [E.sandwich(s, P, Q, R), E.scale_terms(s, [(-1, 1)] * 5 + [(1, -1)] * 18),
              s.replace(U=s.U[::-1], V=s.V[::-1], W=s.W[::-1])]
    images += [E.format_symmetry(s, name) for name in E.SYMMETRIES]
    for image in images:
        assert verify_exact(image).ok
        assert E.invariant_key(image) == key


def test_labels_of_a_format_symmetry_are_the_permuted_labels():
    s = _rank23()[2]
    la = E._labels(s)
    for name in E.SYMMETRIES:
        direct = E._graph(E._labels(E.format_symmetry(s, name)), "identity")
        permuted = E._graph(la, name)
        assert dict(direct.nodes(data="label")) == dict(permuted.nodes(data="label"))
        assert ({(u, v): d for u, v, d in direct.edges(data="label")}
                == {(u, v): d for u, v, d in permuted.edges(data="label")})


@pytest.mark.parametrize("field", ["Z", "F2", "Q"])
@pytest.mark.parametrize("seed", [0, 1])
def test_random_transforms_are_recognised_with_their_transformation(field, seed):
    for a in [strassen(), _rank23()[seed]]:
        a = to_field(a, field)
        b, _ = E.random_transform(a, seed=seed + 10)
        assert verify_exact(b).ok and b.fingerprint() != a.fingerprint()
        res = E.equivalent(a, b)
        assert res.status == "equivalent", res.reason
        assert E.apply(a, res.transformation) == b  # reproduces b exactly, term order included


def test_rank49_product_scheme_and_a_random_copy():
    a = kron(strassen(), strassen())
    b, _ = E.random_transform(a, seed=4)
    res = E.equivalent(a, b)
    assert res.status == "equivalent" and E.apply(a, res.transformation) == b


def test_inequivalent_schemes_are_never_merged():
    schemes = _rank23()
    patterns = {E.invariants(s).rank_pattern for s in schemes}
    assert len(patterns) == len(schemes) >= 3  # results/matmul-3x3x3 holds different rank patterns
    for a, b in itertools.combinations(schemes, 2):
        res = E.equivalent(a, b)
        assert res.status == "not equivalent" and "rank patterns differ" in res.reason
        # and a random copy of one is still not the other
        assert E.equivalent(a, E.random_transform(b, seed=1)[0]).status == "not equivalent"
    assert E.equivalent(strassen(), standard_scheme(matmul(2, 2, 2))).status == "not equivalent"
    cls = E.classify(schemes + [E.random_transform(schemes[0], seed=5)[0]])
    assert [c.cls for c in cls] == list(range(len(schemes))) + [0]


def test_strassen_and_winograd_variant_are_one_class():
    res = E.equivalent(strassen(), strassen_winograd())
    assert res.status == "equivalent" and E.apply(strassen(), res.transformation) == strassen_winograd()


def test_formats_related_by_symmetries():
    a = standard_scheme(matmul(2, 3, 4))
    b = E.format_symmetry(a, "transpose")
    assert b.problem.spec == "4x3x2"
    res = E.equivalent(a, b)
    assert res.status == "equivalent" and res.transformation.symmetry == "transpose"
    assert E.equivalent(a, standard_scheme(matmul(2, 2, 6))).status == "not equivalent"


def test_other_problems_use_term_order_and_scalings():
    s = standard_scheme(correlation(2, 3))
    b = E.scale_terms(s.replace(U=s.U[::-1], V=s.V[::-1], W=s.W[::-1]), [(-1, -1)] * s.rank)
    res = E.equivalent(s, b)
    assert res.status == "equivalent" and E.apply(s, res.transformation) == b
    W = np.array(s.W, dtype=object)
    W[0, 0] = 2
    assert E.equivalent(s, s.replace(W=W)).status == "not equivalent"


def test_undecided_and_bad_input():
    a = _rank23()[0]
    b, _ = E.random_transform(a, seed=2)
    res = E.equivalent(a, b, max_matchings=0)
    assert res.status == "undecided" and "gave up" in res.reason
    with pytest.raises(InvalidInputError, match="different fields"):
        E.equivalent(a, to_field(b, "F2"))
    with pytest.raises(InvalidInputError, match="scale of term 0 must be"):
        E.scale_terms(a, [(2, 1)] + [(1, 1)] * 22)
    with pytest.raises(InvalidInputError, match="must be exact"):
        E.sandwich(a, [[1.0, 0, 0], [0, 1, 0], [0, 0, 1]], np.eye(3, dtype=int), np.eye(3, dtype=int))


def test_over_q_allows_rational_changes_of_basis():
    a = strassen().replace(field="Q")
    P = [[2, 0], [1, 1]]
    b = E.sandwich(a, P, [[1, 0], [0, 3]], [[1, 1], [0, 2]])
    assert any(isinstance(v, Fraction) for row in b.W.tolist() for v in row)
    res = E.equivalent(a, b)
    assert res.status == "equivalent" and E.apply(a, res.transformation) == b
