"""When two schemes are the same algorithm: the symmetry group, invariants, decisions.

The group
---------
A scheme is a list of rank-one terms; these changes keep it a scheme of the
same problem and are "the same algorithm":

* a permutation of the terms;
* a scaling of a term's factors by ``lambda``, ``mu`` and ``1 / (lambda mu)``
  (units of the field: +-1 over Z, any nonzero rational over Q, only 1 over
  F2);
* for ``matmul(k, m, n)``, the *sandwich* action of invertible ``P`` (k x k),
  ``Q`` (m x m) and ``R`` (n x n) over the field (GL over Z means
  determinant +-1).  Reading each term's factor rows as matrices in our
  row-major convention (:mod:`discovery.core.problems`) -- ``U_r`` k x m
  (a functional on A), ``V_r`` m x n (on B), ``W_r`` k x n (a matrix added
  into C) -- it is::

      U_r -> P U_r Q^-1,     V_r -> Q V_r R^-1,     W_r -> P^-T W_r R^T.

  Derivation: the scheme says ``sum_r <U_r, A> <V_r, B> <W_r, Z> = tr(A B Z^T)``
  for all A, B, Z (``<X, Y> = tr(X^T Y)``).  Substituting
  ``A -> P^T A Q^-T``, ``B -> Q^T B R^-T``, ``Z -> P^-1 Z R`` leaves the
  right side unchanged (``tr(P^T A B Z^T P^-T)``) and turns each factor on
  the left into the one above.  In the trace(ABC) convention of the
  community's files, whose third factor is ``C_r = W_r^T`` (n x k), the same
  action reads ``(A, B, C) -> (P A Q^-1, Q B R^-1, R C P^-1)``.
  ``tests/algebra/test_equivalence.py`` checks the form against the Brent
  equations (and checks that the naive ``W -> P W R^-1`` breaks them);
* for formats related by them, the cyclic ``<k,m,n> -> <m,n,k>`` and
  transpose ``<k,m,n> -> <n,m,k>`` symmetries of :mod:`discovery.algebra.ops`.
  With ``X1 = U_r``, ``X2 = V_r``, ``X3 = W_r^T`` the cyclic map rotates
  ``(X1, X2, X3) -> (X2, X3, X1)`` and the transpose map sends it to
  ``(X2^T, X1^T, X3^T)``.

For other problems (correlations, polynomial products, custom tensors) the
group used here is term permutations and scalings only: their own symmetries
are not modelled, so such schemes are equivalent exactly when their
canonical forms (:meth:`Scheme.canonical`) agree.

Invariants
----------
:func:`invariants` computes what the whole group leaves unchanged, over Q
(F2 for F2 schemes), and buckets schemes by it:

* the *rank pattern*: the multiset of rank triples ``(rk X1, rk X2, rk X3)``
  of the terms, up to the format symmetries (AlphaTensor's invariant);
* the *characteristic polynomials*: ``X1 X2 X3 = U_r V_r W_r^T`` is mapped
  to ``P (U_r V_r W_r^T) P^-1`` (the term scalings cancel), and rotated or
  transposed it keeps its nonzero eigenvalues, so the multiset of its
  characteristic polynomials with the factors ``x`` stripped is invariant;
* the *term graph*: a complete graph on the terms, each node labelled with
  its rank triple and polynomial, each edge ``{r, s}`` with, per factor,
  ``dim(col X_r + col X_s)``, ``dim(row X_r + row X_s)``, whether
  ``X_r, X_s`` are proportional, and over F2 ``rk(X_r + X_s)``; its
  Weisfeiler--Lehman hash (networkx), minimised over the format symmetries.

Different invariants prove that two schemes are not equivalent.

Decisions
---------
:func:`equivalent` decides exactly whenever it can.  The label-preserving
isomorphisms of the two term graphs (networkx's VF2 matcher) propose term
matchings; for each matching the sandwich equations are linear:

* over F2 (no scalings): ``P U_s = U'_r Q``, ``Q V_s = V'_r R``,
  ``P^T W'_r = W_s R^T`` -- the null space is searched for invertible
  ``P, Q, R``;
* over Q and Z: each term fixes how ``P``, ``Q`` and ``R`` map column and row
  spaces of its factors (``P col(U_s) = col(U'_r)``, ...), which are linear
  conditions on each matrix alone; once one of them is determined up to
  scale, the proportionality conditions (``P U_s = lambda_r U'_r Q``) are
  linear in the others.  A solution is checked term by term; over Z it must
  be unimodular with scalings +-1.

Every transformation returned reproduces the second scheme exactly
(:func:`apply`).  When all matchings are exhausted without one, the schemes
are not equivalent; when a matching leaves the matrices undetermined, or the
matchings are too many, the answer is ``"undecided"``.  Over Z an undecided
pair whose reductions mod 2 are inequivalent is not equivalent (GL(Z) maps
onto GL(F2)).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Optional, Sequence

import networkx as nx
import numpy as np
from networkx.algorithms.isomorphism import GraphMatcher

from discovery.algebra import linalg
from discovery.algebra.ops import cyclic, permute_terms, to_field, transpose
from discovery.core.coefficients import mod2, to_json
from discovery.core.errors import InvalidInputError
from discovery.core.problems import MatMul, matmul
from discovery.core.scheme import Scheme
from discovery.core.seeds import as_generator

__all__ = [
    "SYMMETRIES",
    "Transformation",
    "Invariants",
    "Equivalence",
    "format_symmetry",
    "symmetries_between",
    "sandwich",
    "scale_terms",
    "apply",
    "random_transform",
    "invariants",
    "invariant_key",
    "equivalent",
    "classify",
    "ClassAssignment",
]

#: The format symmetries of matmul, as names: "cyclic+transpose" is the cyclic
#: map followed by the transpose map.
SYMMETRIES = ("identity", "cyclic", "cyclic2", "transpose", "cyclic+transpose", "cyclic2+transpose")

_STEPS = {
    "identity": (),
    "cyclic": ("c",),
    "cyclic2": ("c", "c"),
    "transpose": ("t",),
    "cyclic+transpose": ("c", "t"),
    "cyclic2+transpose": ("c", "c", "t"),
}


# ------------------------------------------------------------ format symmetries
def _shape_after(shape: tuple[int, int, int], name: str) -> tuple[int, int, int]:
    k, m, n = shape
    for step in _STEPS[name]:
        k, m, n = (m, n, k) if step == "c" else (n, m, k)
    return (k, m, n)


def format_symmetry(scheme: Scheme, name: str) -> Scheme:
    """Apply the format symmetry ``name`` (one of :data:`SYMMETRIES`) to a matmul scheme.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> format_symmetry(standard_scheme(matmul(2, 3, 4)), "cyclic+transpose").problem.spec
    '2x4x3'
    """
    if name not in _STEPS:
        raise InvalidInputError(f"unknown symmetry {name!r}: expected one of {', '.join(SYMMETRIES)}")
    if name == "identity":
        return scheme
    out = scheme
    for step in _STEPS[name]:
        out = cyclic(out) if step == "c" else transpose(out)
    return out.replace(meta=scheme.meta)


def symmetries_between(a: Any, b: Any) -> list[str]:
    """The format symmetries taking matmul problem (or scheme) ``a``'s format to ``b``'s.

    Examples
    --------
    >>> symmetries_between(matmul(3, 3, 3), matmul(3, 3, 3))
    ['identity', 'cyclic', 'cyclic2', 'transpose', 'cyclic+transpose', 'cyclic2+transpose']
    >>> symmetries_between(matmul(2, 3, 4), matmul(4, 3, 2))
    ['transpose']
    """
    pa = a.problem if isinstance(a, Scheme) else a
    pb = b.problem if isinstance(b, Scheme) else b
    if not (isinstance(pa, MatMul) and isinstance(pb, MatMul)):
        return ["identity"] if pa == pb else []
    target = (pb.k, pb.m, pb.n)
    return [s for s in SYMMETRIES if _shape_after((pa.k, pa.m, pa.n), s) == target]


# ------------------------------------------------------------ the group action
def _field_of(scheme: Scheme) -> str:
    return "F2" if scheme.field == "F2" else "Q"


def _mat(rows: Any) -> list[list]:
    return [list(r) for r in (rows.tolist() if isinstance(rows, np.ndarray) else rows)]


def _exact_square(M: Any, size: int, name: str, field: str) -> list[list]:
    rows = _mat(M)
    if len(rows) != size or any(len(r) != size for r in rows):
        raise InvalidInputError(f"{name} must be a {size} x {size} matrix")
    out = []
    for row in rows:
        vals = []
        for v in row:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer, Fraction)):
                raise InvalidInputError(f"{name} entries must be exact (int or Fraction), got {v!r}")
            vals.append(mod2(v) if field == "F2" else v)
        out.append(vals)
    return out


def _inverse_for(M: list[list], name: str, field: str) -> list[list]:
    lf = "F2" if field == "F2" else "Q"
    try:
        inv = linalg.inverse(M, lf)
    except InvalidInputError:
        raise InvalidInputError(f"{name} is not invertible over {field}") from None
    if field == "Z" and any(isinstance(v, Fraction) for row in inv for v in row):
        raise InvalidInputError(f"{name} is not invertible over Z (its determinant is not +-1)")
    return inv


def _transpose(M: list[list]) -> list[list]:
    return [list(c) for c in zip(*M)]


def sandwich(scheme: Scheme, P: Any, Q: Any, R: Any) -> Scheme:
    """The sandwich action on a matmul scheme: ``U -> P U Q^-1``, ``V -> Q V R^-1``,
    ``W -> P^-T W R^T`` (factor rows read as matrices, see the module docstring).

    ``P``, ``Q`` and ``R`` must be invertible over the scheme's field (over Z:
    determinant +-1).  The result is again an exact scheme of the same
    problem.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> from verify import verify_exact
    >>> s = sandwich(strassen(), [[1, 1], [0, 1]], [[0, 1], [1, 0]], [[1, 0], [-1, 1]])
    >>> verify_exact(s).ok, s == strassen()
    (True, False)
    """
    p = scheme.problem
    if not isinstance(p, MatMul):
        raise InvalidInputError(f"the sandwich action needs a matmul scheme, got {p.kind}")
    k, m, n = p.k, p.m, p.n
    f = scheme.field
    P = _exact_square(P, k, "P", f)
    Q = _exact_square(Q, m, "Q", f)
    R = _exact_square(R, n, "R", f)
    Qi = _inverse_for(Q, "Q", f)
    Ri = _inverse_for(R, "R", f)
    Pit = _transpose(_inverse_for(P, "P", f))
    Rt = _transpose(R)
    lf = "F2" if f == "F2" else "Q"
    U, V, W = [], [], []
    for u, v, w in zip(scheme.U.tolist(), scheme.V.tolist(), scheme.W.tolist()):
        Um = [u[i * m:(i + 1) * m] for i in range(k)]
        Vm = [v[j * n:(j + 1) * n] for j in range(m)]
        Wm = [w[i * n:(i + 1) * n] for i in range(k)]
        U.append(_flat(linalg.matmul(linalg.matmul(P, Um, lf), Qi, lf)))
        V.append(_flat(linalg.matmul(linalg.matmul(Q, Vm, lf), Ri, lf)))
        W.append(_flat(linalg.matmul(linalg.matmul(Pit, Wm, lf), Rt, lf)))
    for name, M in (("U", U), ("V", V), ("W", W)):
        if f == "Z" and any(isinstance(x, Fraction) for row in M for x in row):
            raise InvalidInputError(f"the transformed {name} is not integral: use field Q")
    return Scheme(p, U, V, W, f, scheme.meta)


def _flat(M: list[list]) -> list:
    return [v for row in M for v in row]


def _check_unit(value: Any, field: str, what: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, Fraction)):
        raise InvalidInputError(f"{what} must be exact (int or Fraction), got {value!r}")
    if value == 0:
        raise InvalidInputError(f"{what} must be nonzero")
    if field == "Z" and value not in (1, -1):
        raise InvalidInputError(f"{what} must be +-1 over Z, got {value}")
    if field == "F2" and mod2(value) != 1:
        raise InvalidInputError(f"{what} must be 1 over F2, got {value}")
    return value


def scale_terms(scheme: Scheme, scales: Sequence[tuple[Any, Any]]) -> Scheme:
    """Scale term ``r`` by ``(lambda_r, mu_r)``: ``U_r * lambda_r``, ``V_r * mu_r``,
    ``W_r / (lambda_r mu_r)``.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> s = scale_terms(strassen(), [(-1, 1)] + [(1, 1)] * 6)
    >>> s.U[0].tolist(), s.W[0].tolist()
    ([-1, 0, 0, -1], [-1, 0, 0, -1])
    """
    scales = list(scales)
    if len(scales) != scheme.rank:
        raise InvalidInputError(f"need {scheme.rank} (lambda, mu) pairs, got {len(scales)}")
    f = scheme.field
    U, V, W = (np.array(M, dtype=object, copy=True) for M in scheme.factors)
    for r, pair in enumerate(scales):
        lam, mu = (_check_unit(x, f, f"scale of term {r}") for x in pair)
        if f == "F2":
            continue
        U[r] = [_tidy(Fraction(x) * lam) for x in U[r].tolist()]
        V[r] = [_tidy(Fraction(x) * mu) for x in V[r].tolist()]
        W[r] = [_tidy(Fraction(x) / (Fraction(lam) * mu)) for x in W[r].tolist()]
    return Scheme(scheme.problem, U, V, W, f, scheme.meta)


def _tidy(v: Fraction) -> int | Fraction:
    return int(v) if v.denominator == 1 else v


@dataclass(frozen=True)
class Transformation:
    """An element of the symmetry group, taking one scheme to another.

    ``apply(a, t)`` is: the format symmetry ``symmetry``, then the sandwich
    action of ``P, Q, R`` (matmul only; None for other problems), then the
    term order (term ``r`` of the result is term ``order[r]``), then the
    scalings ``scales[r] = (lambda_r, mu_r)``.
    """

    symmetry: str
    P: Optional[tuple]
    Q: Optional[tuple]
    R: Optional[tuple]
    order: tuple
    scales: tuple

    def to_dict(self) -> dict:
        """JSON-ready form (exact entries as ints or ``"p/q"`` strings)."""
        def mat(M):
            return None if M is None else [[to_json(v) for v in row] for row in M]
        return {"symmetry": self.symmetry, "P": mat(self.P), "Q": mat(self.Q), "R": mat(self.R),
                "order": list(self.order), "scales": [[to_json(a), to_json(b)] for a, b in self.scales]}


def apply(scheme: Scheme, t: Transformation) -> Scheme:
    """Apply a :class:`Transformation` to a scheme.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> b, t = random_transform(strassen(), seed=3)
    >>> apply(strassen(), t) == b
    True
    """
    s = scheme
    if isinstance(s.problem, MatMul):
        s = format_symmetry(s, t.symmetry)
        if t.P is not None:
            s = sandwich(s, t.P, t.Q, t.R)
    elif t.symmetry != "identity" or t.P is not None:
        raise InvalidInputError(f"only term orders and scalings act on {s.problem.kind} schemes")
    s = permute_terms(s, t.order)
    return scale_terms(s, t.scales)


# -------------------------------------------------------- random group elements
def _random_invertible(size: int, field: str, rng: np.random.Generator) -> list[list]:
    if field == "F2":
        while True:
            M = rng.integers(0, 2, size=(size, size)).tolist()
            if linalg.rank(M, "F2") == size:
                return M
    if field == "Z":  # a signed permutation times a few elementary matrices: determinant +-1
        perm = rng.permutation(size)
        M = [[int(rng.choice([-1, 1])) if perm[i] == j else 0 for j in range(size)] for i in range(size)]
        for _ in range(2 * size):
            i, j = rng.choice(size, 2, replace=False) if size > 1 else (0, 0)
            if i == j:
                break
            c = int(rng.choice([-1, 1]))
            M[i] = [a + c * b for a, b in zip(M[i], M[j])]
        return M
    while True:
        M = rng.integers(-2, 3, size=(size, size)).tolist()
        if linalg.determinant(M) != 0:
            return M


def random_transform(scheme: Scheme, seed: Any = None, *, symmetries: bool = True) -> tuple[Scheme, Transformation]:
    """A random element of the symmetry group applied to ``scheme``.

    Random invertible ``P, Q, R`` over the scheme's field (unimodular over Z),
    a random format symmetry that keeps the format (when ``symmetries``), a
    random term order and random scalings (+-1 over Z, small rationals over
    Q).  Returns the transformed scheme and the transformation.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> from verify import verify_exact
    >>> b, t = random_transform(strassen(), seed=0)
    >>> verify_exact(b).ok, b.fingerprint() != strassen().fingerprint()
    (True, True)
    """
    rng = as_generator(seed)
    f = scheme.field
    R = scheme.rank
    p = scheme.problem
    sym, P, Q, Rm = "identity", None, None, None
    if isinstance(p, MatMul):
        names = symmetries_between(p, p) if symmetries else ["identity"]
        sym = names[int(rng.integers(len(names)))]
        q = format_symmetry(scheme, sym).problem
        P, Q, Rm = (tuple(map(tuple, _random_invertible(d, f, rng))) for d in (q.k, q.m, q.n))
    order = tuple(int(i) for i in rng.permutation(R))
    if f == "F2":
        scales = tuple((1, 1) for _ in range(R))
    elif f == "Z":
        scales = tuple((int(rng.choice([-1, 1])), int(rng.choice([-1, 1]))) for _ in range(R))
    else:
        pool = [Fraction(x) for x in (1, -1, 2, -2, "1/2", "-1/2", 3, "-1/3")]
        scales = tuple((_tidy(pool[int(rng.integers(len(pool)))]), _tidy(pool[int(rng.integers(len(pool)))]))
                       for _ in range(R))
    t = Transformation(sym, P, Q, Rm, order, scales)
    return apply(scheme, t), t


# ------------------------------------------------------------------ invariants
def _slot_mats(scheme: Scheme) -> list[np.ndarray]:
    """``X1 = U_r`` (k x m), ``X2 = V_r`` (m x n), ``X3 = W_r^T`` (n x k) as (R, rows, cols) arrays."""
    p = scheme.problem
    R = scheme.rank
    k, m, n = p.k, p.m, p.n
    X1 = np.asarray(scheme.U, dtype=object).reshape(R, k, m)
    X2 = np.asarray(scheme.V, dtype=object).reshape(R, m, n)
    X3 = np.asarray(scheme.W, dtype=object).reshape(R, k, n).transpose(0, 2, 1)
    return [X1, X2, X3]


def _integral(X: np.ndarray, field: str) -> np.ndarray:
    """Each matrix of a batch scaled to integers (ranks are unchanged), int64 when small."""
    flat = X.ravel().tolist()
    if all(type(v) is int for v in flat) and (not flat or max(map(abs, flat)) < 2**30):
        arr = np.array(flat, dtype=np.int64).reshape(X.shape)
        return arr % 2 if field == "F2" else arr
    out = np.empty(X.shape, dtype=object)
    for r in range(X.shape[0]):
        vals = X[r].ravel().tolist()
        if field == "F2":
            out[r] = np.array([mod2(v) for v in vals], dtype=object).reshape(X.shape[1:])
            continue
        d = 1
        for v in vals:
            if isinstance(v, Fraction):
                d = math.lcm(d, v.denominator)
        out[r] = np.array([int(v * d) for v in vals], dtype=object).reshape(X.shape[1:])
    flat = out.ravel().tolist()
    if not flat or max(abs(v) for v in flat) < 2**30:
        return np.array(flat, dtype=np.int64).reshape(X.shape)
    return out


def _term_ranks(mats: list[np.ndarray], field: str) -> np.ndarray:
    """(R, 3) ranks of each term's three factor matrices."""
    return np.stack([linalg.batch_ranks(_integral(X, field), field) for X in mats], axis=1)


def _pair_labels(mats: list[np.ndarray], field: str) -> dict[tuple[int, int], tuple]:
    """Per unordered pair of terms and per factor: (dim col sum, dim row sum, span dim[, rk sum])."""
    R = mats[0].shape[0]
    pairs = [(r, s) for r in range(R) for s in range(r + 1, R)]
    if not pairs:
        return {}
    ri = np.array([a for a, _ in pairs])
    si = np.array([b for _, b in pairs])
    per_slot = []
    for X in mats:
        Xi = _integral(X, field)
        A, B = Xi[ri], Xi[si]
        cols = linalg.batch_ranks(np.concatenate([A, B], axis=2), field)
        rows = linalg.batch_ranks(np.concatenate([A, B], axis=1), field)
        span = linalg.batch_ranks(np.stack([A.reshape(len(pairs), -1), B.reshape(len(pairs), -1)], axis=1), field)
        parts = [cols, rows, span]
        if field == "F2":
            parts.append(linalg.batch_ranks((A + B) % 2, "F2"))
        per_slot.append(np.stack(parts, axis=1))
    out = {}
    for i, pr in enumerate(pairs):
        out[pr] = tuple(tuple(int(x) for x in per_slot[j][i]) for j in range(3))
    return out


def _strip_x(coeffs: list) -> tuple:
    while len(coeffs) > 1 and coeffs[-1] == 0:
        coeffs = coeffs[:-1]
    return tuple(coeffs)


def _charpolys(scheme: Scheme) -> list[tuple]:
    """Per term: the characteristic polynomial of ``U_r V_r W_r^T`` with the x factors stripped."""
    X1, X2, X3 = _slot_mats(scheme)
    f = _field_of(scheme)
    out = []
    for r in range(scheme.rank):
        M = linalg.matmul(linalg.matmul(X1[r].tolist(), X2[r].tolist()), X3[r].tolist())
        cp = linalg.charpoly(M)
        if f == "F2":
            cp = [mod2(c) for c in cp]
        out.append(tuple(str(c) for c in _strip_x(cp)))
    return out


# How a format symmetry permutes the slots (X1, X2, X3) and whether it
# transposes them: cyclic (X1, X2, X3) -> (X2, X3, X1); transpose -> (X2^T, X1^T, X3^T).
def _slot_action(name: str) -> tuple[tuple[int, int, int], bool]:
    perm, flipped = (0, 1, 2), False
    for step in _STEPS[name]:
        if step == "c":
            perm = (perm[1], perm[2], perm[0])
        else:
            perm = (perm[1], perm[0], perm[2])
            flipped = not flipped
    return perm, flipped


def _permute_node(ranks: tuple, perm: tuple) -> tuple:
    return tuple(ranks[i] for i in perm)


def _permute_edge(label: tuple, perm: tuple, flipped: bool) -> tuple:
    out = []
    for i in perm:
        lab = label[i]
        if flipped:  # transposing a matrix swaps its column and row spaces
            lab = (lab[1], lab[0]) + tuple(lab[2:])
        out.append(lab)
    return tuple(out)


@dataclass(frozen=True)
class _Labels:
    ranks: np.ndarray  # (R, 3)
    polys: list
    pairs: dict


def _labels(scheme: Scheme) -> _Labels:
    f = _field_of(scheme)
    mats = _slot_mats(scheme)
    return _Labels(_term_ranks(mats, f), _charpolys(scheme), _pair_labels(mats, f))


def _graph(labels: _Labels, name: str) -> nx.Graph:
    perm, flipped = _slot_action(name)
    G = nx.Graph()
    for r in range(len(labels.polys)):
        ranks = _permute_node(tuple(int(x) for x in labels.ranks[r]), perm)
        G.add_node(r, label=f"{ranks}|{','.join(labels.polys[r])}")
    for (r, s), lab in labels.pairs.items():
        G.add_edge(r, s, label=repr(_permute_edge(lab, perm, flipped)))
    return G


@dataclass(frozen=True)
class Invariants:
    """What the symmetry group leaves unchanged (see the module docstring).

    Attributes
    ----------
    problem, field : str
    rank : int
    rank_pattern : tuple
        ``((r1, r2, r3), count)`` pairs: the multiset of rank triples of the
        terms' factor matrices, in the least order over the format symmetries
        (formats related by them, such as 2x3x4 and 4x3x2, share invariants).
    charpolys : tuple
        ``(polynomial, count)`` pairs (coefficients as strings, highest first).
    graph : str
        Weisfeiler--Lehman hash of the labelled term graph (least over the
        format symmetries).
    key : str
        A hash of all of the above: equal for equivalent schemes.
    """

    problem: str
    field: str
    rank: int
    rank_pattern: tuple
    charpolys: tuple
    graph: str
    key: str

    def describe_pattern(self) -> str:
        """The rank pattern as text, e.g. ``'1-1-1 x14, 1-1-2 x5'``."""
        return ", ".join(f"{'-'.join(map(str, t))} x{c}" for t, c in self.rank_pattern)


def _multiset(items: Iterable) -> tuple:
    counts: dict = {}
    for it in items:
        counts[it] = counts.get(it, 0) + 1
    return tuple(sorted(counts.items()))


def invariants(scheme: Scheme) -> Invariants:
    """The invariants of ``scheme`` under its symmetry group.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen, strassen_winograd
    >>> a, b = invariants(strassen()), invariants(random_transform(strassen(), seed=1)[0])
    >>> a.key == b.key, a.describe_pattern()
    (True, '1-1-1 x6, 2-2-2 x1')
    >>> invariants(strassen()).key == invariants(strassen_winograd()).key
    True
    """
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"expected a Scheme, got {type(scheme).__name__}")
    p = scheme.problem
    if not isinstance(p, MatMul):
        fp = scheme.fingerprint()
        return Invariants(p.spec, scheme.field, scheme.rank, (), (), fp[:32], fp[:32])
    labels = _labels(scheme)
    rep = _orbit_rep((p.k, p.m, p.n))  # formats related by the symmetries share their invariants
    names = [nm for nm in SYMMETRIES if _shape_after((p.k, p.m, p.n), nm) == rep]
    triples = [tuple(int(x) for x in row) for row in labels.ranks]
    polys = _multiset(labels.polys)
    # The least (cheap signature, graph hash) over the format symmetries; the
    # graph is hashed only for the symmetries whose cheap signature is least.
    cheap = {}
    for nm in names:
        perm, flipped = _slot_action(nm)
        nodes = _multiset((_permute_node(t, perm), q) for t, q in zip(triples, labels.polys))
        edges = _multiset(_permute_edge(lab, perm, flipped) for lab in labels.pairs.values())
        cheap[nm] = (_multiset(_permute_node(t, perm) for t in triples), nodes, edges)
    best = min(cheap.values())
    pattern = best[0]
    graph = min(nx.weisfeiler_lehman_graph_hash(_graph(labels, nm), edge_attr="label", node_attr="label",
                                                iterations=3, digest_size=16)
                for nm in names if cheap[nm] == best)
    payload = json.dumps(["x".join(map(str, rep)), scheme.field, scheme.rank,
                          [[list(t), c] for t, c in pattern], [[list(q), c] for q, c in polys], graph])
    key = hashlib.sha256(payload.encode()).hexdigest()[:32]
    return Invariants(p.spec, scheme.field, scheme.rank, pattern, polys, graph, key)


def _orbit_rep(shape: tuple[int, int, int]) -> tuple[int, int, int]:
    return min(_shape_after(shape, s) for s in SYMMETRIES)


def invariant_key(scheme: Scheme) -> str:
    """:attr:`Invariants.key` of a scheme: equal for equivalent schemes.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> len(invariant_key(strassen()))
    32
    """
    return invariants(scheme).key


# ------------------------------------------------------------------- decisions
@dataclass
class Equivalence:
    """The answer of :func:`equivalent`.

    Attributes
    ----------
    status : {"equivalent", "not equivalent", "undecided"}
    reason : str
        One line: which invariant differs, how many matchings were tried, ...
    transformation : Transformation or None
        When equivalent: ``apply(a, transformation) == b`` exactly.
    matchings : int
        Term matchings tried.
    """

    status: str
    reason: str = ""
    transformation: Optional[Transformation] = None
    matchings: int = 0

    @property
    def equivalent(self) -> bool:
        return self.status == "equivalent"


def _first_difference(ia: Invariants, ib: Invariants) -> str:
    if ia.rank_pattern != ib.rank_pattern:
        return "rank patterns differ (" + ia.describe_pattern() + " vs " + ib.describe_pattern() + ")"
    if ia.charpolys != ib.charpolys:
        return "characteristic polynomials of the terms differ"
    return "term graphs differ (Weisfeiler-Lehman hashes)"


def _vec_index(size: int, i: int, j: int, offset: int) -> int:
    return offset + i * size + j


def _solve_f2(A: Scheme, B: Scheme, sigma: dict, max_dim: int) -> tuple[Optional[tuple], bool]:
    """F2: invertible (P, Q, R) with B_r = (P, Q, R) . A_sigma(r), or None; flag: gave up."""
    p = A.problem
    k, m, n = p.k, p.m, p.n
    oP, oQ, oR = 0, k * k, k * k + m * m
    N = oR + n * n
    XA, XB = _slot_mats(A), _slot_mats(B)
    rows: list[int] = []
    for r, s in sigma.items():
        Ua, Ub = XA[0][s].tolist(), XB[0][r].tolist()
        Va, Vb = XA[1][s].tolist(), XB[1][r].tolist()
        Wa, Wb = XA[2][s].T.tolist(), XB[2][r].T.tolist()  # back to k x n
        for i in range(k):  # P Ua = Ub Q
            for j in range(m):
                mask = 0
                for t in range(k):
                    if Ua[t][j] & 1:
                        mask ^= 1 << _vec_index(k, i, t, oP)
                for t in range(m):
                    if Ub[i][t] & 1:
                        mask ^= 1 << _vec_index(m, t, j, oQ)
                rows.append(mask)
        for i in range(m):  # Q Va = Vb R
            for j in range(n):
                mask = 0
                for t in range(m):
                    if Va[t][j] & 1:
                        mask ^= 1 << _vec_index(m, i, t, oQ)
                for t in range(n):
                    if Vb[i][t] & 1:
                        mask ^= 1 << _vec_index(n, t, j, oR)
                rows.append(mask)
        for i in range(k):  # P^T Wb = Wa R^T
            for j in range(n):
                mask = 0
                for t in range(k):
                    if Wb[t][j] & 1:
                        mask ^= 1 << _vec_index(k, t, i, oP)
                for t in range(n):
                    if Wa[i][t] & 1:
                        mask ^= 1 << _vec_index(n, j, t, oR)
                rows.append(mask)
    basis = linalg._f2_echelon(rows)
    pivots = {bit for bit, _ in basis}
    free = [c for c in range(N) if c not in pivots]
    if not free:
        return None, False
    if len(free) > max_dim:
        return None, True
    vectors = []
    for fcol in free:
        x = 1 << fcol
        for bit, row in basis:
            if row >> fcol & 1:
                x |= 1 << bit
        vectors.append(x)
    for mask in range(1, 1 << len(vectors)):
        x = 0
        for i, v in enumerate(vectors):
            if mask >> i & 1:
                x ^= v
        Pm = [[x >> _vec_index(k, i, j, oP) & 1 for j in range(k)] for i in range(k)]
        Qm = [[x >> _vec_index(m, i, j, oQ) & 1 for j in range(m)] for i in range(m)]
        Rm = [[x >> _vec_index(n, i, j, oR) & 1 for j in range(n)] for i in range(n)]
        if all(linalg.rank(M, "F2") == len(M) for M in (Pm, Qm, Rm)):
            return (Pm, Qm, Rm), False
    return None, False


def _lin_rows_P(A_U, B_U, A_W, B_W, k, m, n):
    """Linear conditions on vec(P) (k x k) from the column/row spaces of one term pair."""
    rows = []
    for z in linalg.left_nullspace(B_U, k):  # z^T P A_U = 0
        for j in range(m):
            rows.append([z[i] * A_U[t][j] for i in range(k) for t in range(k)])
    for z in linalg.left_nullspace(A_W, k):  # (P z)^T B_W = 0
        for j in range(n):
            rows.append([B_W[i][j] * z[t] for i in range(k) for t in range(k)])
    return rows


def _lin_rows_Q(A_U, B_U, A_V, B_V, k, m, n):
    rows = []
    for y in linalg.nullspace(A_U, m):  # B_U Q y = 0
        for i in range(k):
            rows.append([B_U[i][t] * y[j] for t in range(m) for j in range(m)])
    for z in linalg.left_nullspace(B_V, m):  # z^T Q A_V = 0
        for j in range(n):
            rows.append([z[i] * A_V[t][j] for i in range(m) for t in range(m)])
    return rows


def _lin_rows_R(A_V, B_V, A_W, B_W, k, m, n):
    rows = []
    for y in linalg.nullspace(A_V, n):  # B_V R y = 0
        for i in range(m):
            rows.append([B_V[i][t] * y[j] for t in range(n) for j in range(n)])
    for y in linalg.nullspace(B_W, n):  # A_W R^T y = 0
        for i in range(k):
            rows.append([A_W[i][t] * y[j] for j in range(n) for t in range(n)])
    return rows


def _as_matrix(vec: list, size: int) -> list[list]:
    return [vec[i * size:(i + 1) * size] for i in range(size)]


def _primitive_vector(values: Sequence) -> list[int]:
    """A rational vector scaled to primitive integers with a positive first nonzero entry."""
    flat = [Fraction(v) for v in values]
    d = 1
    for v in flat:
        d = math.lcm(d, v.denominator)
    ints = [int(v * d) for v in flat]
    g = linalg.gcd_of(ints) or 1
    lead = next((v for v in ints if v != 0), 1)
    sign = 1 if lead > 0 else -1
    return [sign * v // g for v in ints]


def _primitive(M: list[list]) -> list[list]:
    """Scale a rational matrix to a primitive integer matrix (positive first nonzero entry)."""
    ints = _primitive_vector([v for row in M for v in row])
    w = len(M[0]) if M else 0
    return [ints[i * w:(i + 1) * w] for i in range(len(M))]


def _ratio(X: list[list], Y: list[list]) -> Optional[Fraction]:
    """``c`` with ``X == c * Y`` (Y nonzero), or None."""
    c = None
    for rx, ry in zip(X, Y):
        for x, y in zip(rx, ry):
            if y == 0:
                if x != 0:
                    return None
                continue
            q = Fraction(x) / Fraction(y)
            if c is None:
                c = q
            elif q != c:
                return None
    return c


def _solve_q(A: Scheme, B: Scheme, sigma: dict, over: str) -> tuple[Optional[tuple], str]:
    """Q/Z: (P, Q, R, scales) with B = scaled sandwich of A under ``sigma``; or (None, why)."""
    p = A.problem
    k, m, n = p.k, p.m, p.n
    XA, XB = _slot_mats(A), _slot_mats(B)
    terms = []
    for r, s in sigma.items():
        terms.append((r, s, XA[0][s].tolist(), XB[0][r].tolist(), XA[1][s].tolist(), XB[1][r].tolist(),
                      XA[2][s].T.tolist(), XB[2][r].T.tolist()))
    rowsP, rowsQ, rowsR = [], [], []
    for _, _, AU, BU, AV, BV, AW, BW in terms:
        rowsP += _lin_rows_P(AU, BU, AW, BW, k, m, n)
        rowsQ += _lin_rows_Q(AU, BU, AV, BV, k, m, n)
        rowsR += _lin_rows_R(AV, BV, AW, BW, k, m, n)
    spaces = {"P": linalg.nullspace(rowsP, k * k), "Q": linalg.nullspace(rowsQ, m * m),
              "R": linalg.nullspace(rowsR, n * n)}
    sizes = {"P": k, "Q": m, "R": n}
    if any(len(v) == 0 for v in spaces.values()):
        return None, "no solution"
    base_rows = {"P": rowsP, "Q": rowsQ, "R": rowsR}
    known = {name: _as_matrix(vs[0], sizes[name]) for name, vs in spaces.items() if len(vs) == 1}
    known = _propagate(known, spaces, base_rows, sizes, terms, k, m, n)
    if known is None:
        return None, "no solution"
    if len(known) == 3:  # each of P, Q, R unique up to scale: the check is conclusive
        return _check_solution(A, B, terms, known, over)
    # Undetermined: the spaces hold the solutions and maybe more.  Pick random
    # elements (small coefficients, unimodular-friendly +-1 first) of the
    # smallest unknown space and propagate; the final check is exact, so a
    # wrong pick costs time, never a wrong answer.
    rng = np.random.default_rng(0)
    for attempt in range(8):
        trial = dict(known)
        while trial is not None and len(trial) < 3:
            target = min((x for x in "PQR" if x not in trial), key=lambda x: (len(spaces[x]), x))
            coeffs = rng.choice([-1, 1] if attempt < 6 else [-2, -1, 1, 2], size=len(spaces[target]))
            vec = [sum(int(c) * Fraction(b[i]) for c, b in zip(coeffs, spaces[target]))
                   for i in range(sizes[target] ** 2)]
            trial[target] = _as_matrix([_tidy(v) for v in vec], sizes[target])
            trial = _propagate(trial, spaces, base_rows, sizes, terms, k, m, n)
        if trial is None:
            continue
        sol, _ = _check_solution(A, B, terms, trial, over, normalise=True)
        if sol is not None:
            return sol, ""
    return None, "undetermined"  # not a proof either way


def _propagate(known: dict, spaces: dict, base_rows: dict, sizes: dict, terms: list, k: int, m: int, n: int):
    """Determine more of P, Q, R from the known ones (proportionality rows); None if inconsistent."""
    known = dict(known)
    progress = True
    while len(known) < 3 and progress:
        progress = False
        for target in ("P", "Q", "R"):
            if target in known:
                continue
            extra = _proportional_rows(target, known, terms, k, m, n)
            if extra is None:
                continue
            rows, nvars = extra
            size = sizes[target] ** 2
            padded = [row + [0] * (nvars - size) for row in base_rows[target]] + rows
            proj = [v[:size] for v in linalg.nullspace(padded, nvars)]
            r = linalg.rank(proj, "Q") if proj else 0
            if r == 0:
                return None
            if r == 1:
                vec = next(v for v in proj if any(x != 0 for x in v))
                known[target] = _as_matrix(vec, sizes[target])
                progress = True
            else:
                spaces[target] = linalg.nullspace(linalg.nullspace(proj, size), size) or spaces[target]
    return known


def _unimodular_variant(M: list[list]) -> list[list]:
    """``M`` scaled to a primitive integer matrix; if that is not unimodular, its
    columns (or rows) scaled to primitive vectors one by one when that is."""
    P = _primitive(M)
    if abs(linalg.determinant(P)) == 1:
        return P
    cols = _transpose([_primitive_vector(c) for c in _transpose(M)])
    if abs(linalg.determinant(cols)) == 1:
        return cols
    rows = [_primitive_vector(r) for r in M]
    if abs(linalg.determinant(rows)) == 1:
        return rows
    return P


def _check_solution(A: Scheme, B: Scheme, terms: list, known: dict, over: str,
                    normalise: bool = False) -> tuple[Optional[tuple], str]:
    """(P, Q, R, scales) if the candidate maps every term of A onto its partner in B.

    With ``normalise`` (over Z, for a candidate picked from a larger space),
    columns or rows are rescaled towards a unimodular matrix first.
    """
    XB = _slot_mats(B)
    pick = _unimodular_variant if normalise and over == "Z" else _primitive
    Pm, Qm, Rm = (pick(known[x]) for x in ("P", "Q", "R"))
    if any(linalg.determinant(M) == 0 for M in (Pm, Qm, Rm)):
        return None, "no solution"
    if over == "Z" and any(abs(linalg.determinant(M)) != 1 for M in (Pm, Qm, Rm)):
        return None, "rational only"
    try:
        moved = sandwich(A.replace(field="Q"), Pm, Qm, Rm)
    except InvalidInputError:
        return None, "no solution"
    XM = _slot_mats(moved)
    scales = [None] * len(terms)
    for r, s, *_ in terms:
        lam = _ratio(XB[0][r].tolist(), XM[0][s].tolist())
        mu = _ratio(XB[1][r].tolist(), XM[1][s].tolist())
        nu = _ratio(XB[2][r].tolist(), XM[2][s].tolist())
        if lam is None or mu is None or nu is None or lam * mu * nu != 1:
            return None, "no solution"
        if over == "Z" and (abs(lam) != 1 or abs(mu) != 1):
            return None, "rational only"
        scales[r] = (_tidy(lam), _tidy(mu))
    return (Pm, Qm, Rm, scales), ""


def _proportional_rows(target: str, known: dict, terms: list, k: int, m: int, n: int):
    """Linear rows in (vec target, one scalar per term) from a known neighbour, or None."""
    size = {"P": k, "Q": m, "R": n}[target]
    nv = size * size
    T = len(terms)
    rows = []

    def scalar_col(t: int) -> int:
        return nv + t

    if target == "P" and "Q" in known:  # P A_U = lam B_U Q
        Q = known["Q"]
        for t, (_, _, AU, BU, *_r) in enumerate(terms):
            BUQ = linalg.matmul(BU, Q)
            for i in range(k):
                for j in range(m):
                    row = [0] * (nv + T)
                    for c in range(k):
                        row[i * k + c] = AU[c][j]
                    row[scalar_col(t)] = -BUQ[i][j]
                    rows.append(row)
    elif target == "P" and "R" in known:  # P^T B_W = nu A_W R^T
        R = known["R"]
        for t, (*_a, AW, BW) in enumerate(terms):
            AWRt = linalg.matmul(AW, _transpose(R))
            for i in range(k):
                for j in range(n):
                    row = [0] * (nv + T)
                    for c in range(k):
                        row[c * k + i] = BW[c][j]
                    row[scalar_col(t)] = -AWRt[i][j]
                    rows.append(row)
    elif target == "Q" and "P" in known:  # B_U Q = kappa P A_U
        P = known["P"]
        for t, (_, _, AU, BU, *_r) in enumerate(terms):
            PAU = linalg.matmul(P, AU)
            for i in range(k):
                for j in range(m):
                    row = [0] * (nv + T)
                    for c in range(m):
                        row[c * m + j] = BU[i][c]
                    row[scalar_col(t)] = -PAU[i][j]
                    rows.append(row)
    elif target == "Q" and "R" in known:  # Q A_V = mu B_V R
        R = known["R"]
        for t, (_, _, _, _, AV, BV, *_r) in enumerate(terms):
            BVR = linalg.matmul(BV, R)
            for i in range(m):
                for j in range(n):
                    row = [0] * (nv + T)
                    for c in range(m):
                        row[i * m + c] = AV[c][j]
                    row[scalar_col(t)] = -BVR[i][j]
                    rows.append(row)
    elif target == "R" and "Q" in known:  # B_V R = kappa Q A_V
        Q = known["Q"]
        for t, (_, _, _, _, AV, BV, *_r) in enumerate(terms):
            QAV = linalg.matmul(Q, AV)
            for i in range(m):
                for j in range(n):
                    row = [0] * (nv + T)
                    for c in range(n):
                        row[c * n + j] = BV[i][c]
                    row[scalar_col(t)] = -QAV[i][j]
                    rows.append(row)
    elif target == "R" and "P" in known:  # A_W R^T = kappa P^T B_W
        P = known["P"]
        for t, (*_a, AW, BW) in enumerate(terms):
            PtBW = linalg.matmul(_transpose(P), BW)
            for i in range(k):
                for j in range(n):
                    row = [0] * (nv + T)
                    for c in range(n):
                        row[j * n + c] = AW[i][c]
                    row[scalar_col(t)] = -PtBW[i][j]
                    rows.append(row)
    else:
        return None
    return rows, nv + T


def _canonical_match(a: Scheme, b: Scheme) -> Optional[Transformation]:
    """Term order and scalings taking ``a`` to ``b``, when those alone do (any problem)."""
    if a.fingerprint() != b.fingerprint():
        return None
    f = a.field
    R = a.rank
    rows_a = [(a.U[r].tolist(), a.V[r].tolist(), a.W[r].tolist()) for r in range(R)]
    used = set()
    order, scales = [], []
    for r in range(R):
        ub, vb, wb = b.U[r].tolist(), b.V[r].tolist(), b.W[r].tolist()
        for s in range(R):
            if s in used:
                continue
            ua, va, wa = rows_a[s]
            lam = _ratio([ub], [ua])
            mu = _ratio([vb], [va])
            nu = _ratio([wb], [wa])
            if lam is None or mu is None or nu is None or lam * mu * nu != 1:
                continue
            if f == "Z" and (abs(lam) != 1 or abs(mu) != 1):
                continue
            used.add(s)
            order.append(s)
            scales.append((_tidy(lam), _tidy(mu)) if f != "F2" else (1, 1))
            break
        else:
            return None
    return Transformation("identity", None, None, None, tuple(order), tuple(scales))


def equivalent(a: Scheme, b: Scheme, *, over: Optional[str] = None, max_matchings: int = 2000,
               time_limit: Optional[float] = 60.0, max_f2_dimension: int = 16) -> Equivalence:
    """Decide whether ``b`` is ``a`` transformed by the symmetry group.

    Parameters
    ----------
    a, b : Scheme
        Schemes over the same field.
    over : {"Z", "Q", "F2"}, optional
        The group's field (default: the schemes' field).  ``"Q"`` allows
        rational ``P, Q, R`` and scalings for integer schemes.
    max_matchings : int
        Term matchings (graph isomorphisms) tried before answering "undecided".
    time_limit : float, optional
        Seconds before answering "undecided".
    max_f2_dimension : int
        Largest null space searched exhaustively over F2.

    Returns
    -------
    Equivalence

    Raises
    ------
    InvalidInputError
        Schemes over different fields, or of different kinds of problem.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen, strassen_winograd
    >>> b, _ = random_transform(strassen(), seed=7)
    >>> res = equivalent(strassen(), b)
    >>> res.status, apply(strassen(), res.transformation) == b
    ('equivalent', True)
    >>> equivalent(strassen(), strassen_winograd()).status
    'equivalent'
    """
    for s, name in ((a, "a"), (b, "b")):
        if not isinstance(s, Scheme):
            raise InvalidInputError(f"{name} must be a Scheme, got {type(s).__name__}")
    if a.field != b.field:
        raise InvalidInputError(f"the schemes are over different fields ({a.field} and {b.field}); "
                                "convert one first (discovery.algebra.ops.to_field)")
    over = over or a.field
    if over not in ("Z", "Q", "F2"):
        raise InvalidInputError(f"over must be Z, Q or F2, got {over!r}")
    if (over == "F2") != (a.field == "F2") or (over == "Z" and a.field == "Q"):
        raise InvalidInputError(f"cannot decide equivalence over {over} for schemes over {a.field}")
    if a.problem.kind != b.problem.kind:
        raise InvalidInputError(f"a {a.problem.kind} scheme and a {b.problem.kind} scheme are never equivalent")
    if a.rank != b.rank:
        return Equivalence("not equivalent", f"ranks differ ({a.rank} and {b.rank})")
    if not isinstance(a.problem, MatMul):
        if a.problem != b.problem:
            return Equivalence("not equivalent", f"different problems ({a.problem.spec} and {b.problem.spec})")
        t = _canonical_match(a, b)
        if t is not None:
            return Equivalence("equivalent", "same terms up to order and scalings", t, 1)
        return Equivalence("not equivalent", f"different terms (for {a.problem.kind} the group is term order "
                                             "and scalings only)")
    names = symmetries_between(a, b)
    if not names:
        return Equivalence("not equivalent", f"formats {a.problem.spec} and {b.problem.spec} are not related "
                                             "by the cyclic and transpose symmetries")
    ia, ib = invariants(a), invariants(b)
    if ia.key != ib.key:
        return Equivalence("not equivalent", _first_difference(ia, ib))
    t0 = time.monotonic()
    tried = 0
    undetermined = 0
    rational_only = False
    gave_up = False
    la, lb = _labels(a), _labels(b)
    GB = _graph(lb, "identity")
    nodes_b = sorted(d["label"] for _, d in GB.nodes(data=True))
    for name in names:
        GA = _graph(la, name)  # the labels of format_symmetry(a, name), term order kept
        if sorted(d["label"] for _, d in GA.nodes(data=True)) != nodes_b:
            continue
        A = format_symmetry(a, name)
        matcher = GraphMatcher(GB, GA, node_match=lambda x, y: x["label"] == y["label"],
                               edge_match=lambda x, y: x["label"] == y["label"])
        for sigma in matcher.isomorphisms_iter():
            tried += 1
            if tried > max_matchings or (time_limit is not None and time.monotonic() - t0 > time_limit):
                gave_up = True
                break
            if over == "F2":
                sol, big = _solve_f2(A, b, sigma, max_f2_dimension)
                if big:
                    undetermined += 1
                if sol is None:
                    continue
                Pm, Qm, Rm = sol
                scales = tuple((1, 1) for _ in range(b.rank))
            else:
                work_a = A if over == "Z" or A.field == "Q" else A.replace(field="Q")
                work_b = b if over == "Z" or b.field == "Q" else b.replace(field="Q")
                sol, why = _solve_q(work_a, work_b, sigma, over)
                if sol is None:
                    undetermined += why == "undetermined"
                    rational_only |= why == "rational only"
                    continue
                Pm, Qm, Rm, scales = sol
                scales = tuple(scales)
            order = tuple(sigma[r] for r in range(b.rank))
            t = Transformation(name, tuple(map(tuple, Pm)), tuple(map(tuple, Qm)), tuple(map(tuple, Rm)),
                               order, scales)
            try:
                ok = apply(a if over != "Q" or a.field == "Q" else a.replace(field="Q"), t) == \
                    (b if over != "Q" or b.field == "Q" else b.replace(field="Q"))
            except InvalidInputError:
                ok = False
            if ok:
                return Equivalence("equivalent", f"found after {tried} term matching{'s' if tried != 1 else ''}",
                                   t, tried)
        if gave_up:
            break
    if tried == 0:
        return Equivalence("not equivalent", "no term matching preserves the term graph labels", None, 0)
    if gave_up or undetermined:
        if over == "Z":
            mod = equivalent(to_field(a, "F2"), to_field(b, "F2"), max_matchings=max_matchings,
                             time_limit=None if time_limit is None else max(1.0, time_limit - (time.monotonic() - t0)))
            if mod.status == "not equivalent":
                return Equivalence("not equivalent", "their reductions mod 2 are not equivalent", None, tried)
        why = (f"gave up after {tried} term matchings" if gave_up else
               f"{undetermined} of {tried} term matchings left P, Q, R undetermined")
        return Equivalence("undecided", why, None, tried)
    if rational_only:
        return Equivalence("not equivalent", "related only by rational P, Q, R (compare over Q to allow them)",
                           None, tried)
    return Equivalence("not equivalent", f"none of the {tried} term matchings extends to P, Q, R", None, tried)


# ------------------------------------------------------------------- classes
@dataclass(frozen=True)
class ClassAssignment:
    """Where :func:`classify` puts one scheme.

    ``cls`` numbers the classes from 0 in order of first appearance;
    ``representative`` is the index of the class's first scheme; ``status``
    is ``"new"`` (first of its class), ``"equivalent"`` (decided) or
    ``"undecided"`` (same invariants as an earlier class, not decided: kept
    as a class of its own); ``key`` is the invariant key.
    """

    cls: int
    representative: int
    status: str
    key: str


def classify(schemes: Sequence[Scheme], *, keys: Optional[Sequence[str]] = None, decide: bool = True,
             max_matchings: int = 500, time_limit: Optional[float] = 10.0) -> list[ClassAssignment]:
    """Group schemes into equivalence classes, in order.

    Schemes are bucketed by :func:`invariant_key` (pass ``keys`` to reuse
    computed ones); within a bucket each scheme is compared with the
    representatives of the earlier classes (``decide=False`` makes every
    bucket one class: classes "by invariants").

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> from discovery.algebra.ops import standard_scheme
    >>> s = [strassen(), standard_scheme(matmul(2, 2, 2)), random_transform(strassen(), seed=2)[0]]
    >>> [(c.cls, c.status) for c in classify(s)]
    [(0, 'new'), (1, 'new'), (0, 'equivalent')]
    """
    keys = list(keys) if keys is not None else [invariant_key(s) for s in schemes]
    if len(keys) != len(schemes):
        raise InvalidInputError("keys and schemes differ in length")
    reps: dict[tuple, list[tuple[int, int]]] = {}  # bucket -> [(class, representative index)]
    out: list[ClassAssignment] = []
    ncls = 0
    for i, (s, key) in enumerate(zip(schemes, keys)):
        bucket = (s.field, key)
        found = None
        undecided = False
        for cls, rep in reps.get(bucket, []):
            if not decide:
                found = (cls, rep)
                break
            res = equivalent(schemes[rep], s, max_matchings=max_matchings, time_limit=time_limit)
            if res.status == "equivalent":
                found = (cls, rep)
                break
            undecided |= res.status == "undecided"
        if found is not None:
            out.append(ClassAssignment(found[0], found[1], "equivalent", key))
            continue
        reps.setdefault(bucket, []).append((ncls, i))
        out.append(ClassAssignment(ncls, i, "undecided" if undecided else "new", key))
        ncls += 1
    return out

