"""Where walks start: standard, catalog, files, products and neighbouring formats.

Meta moves between matmul formats (Kauers & Wood 2025; Arai et al. 2024)
turn a scheme of one format into a start for another:

* :func:`extend` ``<k,m,n> -> <k,m,n+1>`` (or along k or m): the old terms,
  re-indexed, plus the standard terms of the new column -- rank ``R + k m``;
* :func:`project` ``<k,m,n> -> <k,m,n-1>`` (or along k or m): drop one column
  (row); terms that vanish go -- rank at most ``R``;
* products (:func:`discovery.algebra.ops.kron`) ``<k1,m1,n1> (x) <k2,m2,n2>``.

:func:`resolve_start` turns the engine's ``start`` option into a list of
``(scheme, label)`` pairs; the label goes into the provenance of every scheme
found from it.  Catalog schemes of a permuted format (``<m,n,k>``,
``<n,m,k>``, ...) are used through the cyclic and transpose symmetries.
"""

from __future__ import annotations

import itertools
import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from discovery.algebra.ops import cyclic, kron, standard_scheme, to_field, transpose
from discovery.core.errors import InvalidInputError, NotExactError, SchemeFormatError
from discovery.core.problems import MatMul, Problem, matmul
from discovery.core.scheme import Scheme
from discovery.io import catalog
from discovery.io.formats import load_json
from verify import verify_exact

__all__ = ["extend", "project", "variants", "usable", "catalog_schemes", "product_schemes",
           "neighbour_schemes", "resolve_start", "START_KEYWORDS"]

#: The keyword values of ``start``.
START_KEYWORDS = ("standard", "catalog", "product", "extend", "project", "neighbours", "best")

#: At most this many start schemes are kept per keyword (lowest rank first).
MAX_STARTS = 16


def _matmul_of(scheme: Scheme, what: str) -> MatMul:
    if not isinstance(scheme.problem, MatMul):
        raise InvalidInputError(f"{what} needs a matmul scheme, got {scheme.problem.kind}")
    return scheme.problem


def _unit(n: int, i: int) -> list[int]:
    row = [0] * n
    row[i] = 1
    return row


def extend(scheme: Scheme, axis: int) -> Scheme:
    """``<k,m,n>`` of rank R to ``<k+1,m,n>`` (axis 0), ``<k,m+1,n>`` (1) or ``<k,m,n+1>`` (2).

    The old terms are kept (re-indexed; the new row or column is zero in
    them) and the standard terms of the new row or column are added:
    rank ``R + m n``, ``R + k n`` or ``R + k m``.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> s = extend(strassen(), 2)
    >>> s.problem.spec, s.rank, verify_exact(s).ok
    ('2x2x3', 11, True)
    """
    p = _matmul_of(scheme, "extend")
    if axis not in (0, 1, 2):
        raise InvalidInputError(f"axis must be 0 (k), 1 (m) or 2 (n), got {axis!r}")
    k, m, n = p.k, p.m, p.n
    dims = [k, m, n]
    dims[axis] += 1
    k2, m2, n2 = dims
    R = scheme.rank
    A = np.zeros((R, k2, m2), dtype=object)
    B = np.zeros((R, m2, n2), dtype=object)
    C = np.zeros((R, k2, n2), dtype=object)
    A[:, :k, :m] = np.asarray(scheme.U, dtype=object).reshape(R, k, m)
    B[:, :m, :n] = np.asarray(scheme.V, dtype=object).reshape(R, m, n)
    C[:, :k, :n] = np.asarray(scheme.W, dtype=object).reshape(R, k, n)
    U = [list(r) for r in A.reshape(R, -1)]
    V = [list(r) for r in B.reshape(R, -1)]
    W = [list(r) for r in C.reshape(R, -1)]
    # the products that involve the new index: A[i, j] B[j, l] with i, j or l new
    for i in range(k2):
        for j in range(m2):
            for l in range(n2):
                if (i, j, l)[axis] == dims[axis] - 1:
                    U.append(_unit(k2 * m2, i * m2 + j))
                    V.append(_unit(m2 * n2, j * n2 + l))
                    W.append(_unit(k2 * n2, i * n2 + l))
    meta = {"engine": "extend", "from": scheme.problem.spec}
    return Scheme(matmul(k2, m2, n2), U, V, W, scheme.field, meta)


def project(scheme: Scheme, axis: int, index: int) -> Scheme:
    """``<k,m,n>`` to ``<k-1,m,n>`` (axis 0), ``<k,m-1,n>`` (1) or ``<k,m,n-1>`` (2).

    Drops row ``index`` of A and C (axis 0), column ``index`` of A and row
    ``index`` of B (axis 1), or column ``index`` of B and C (axis 2): the
    scheme with those entries of A or B set to zero computes the smaller
    product.  Terms with a zero factor are dropped.

    Examples
    --------
    >>> s = project(standard_scheme(matmul(2, 2, 3)), 2, 0)
    >>> s.problem.spec, s.rank, verify_exact(s).ok
    ('2x2x2', 8, True)
    """
    p = _matmul_of(scheme, "project")
    if axis not in (0, 1, 2):
        raise InvalidInputError(f"axis must be 0 (k), 1 (m) or 2 (n), got {axis!r}")
    dims = [p.k, p.m, p.n]
    if dims[axis] < 2:
        raise InvalidInputError(f"cannot project {p.spec} along axis {axis}: that size is already 1")
    if not 0 <= index < dims[axis]:
        raise InvalidInputError(f"index must be in [0, {dims[axis]}), got {index!r}")
    k, m, n = dims
    R = scheme.rank
    A = np.asarray(scheme.U, dtype=object).reshape(R, k, m)
    B = np.asarray(scheme.V, dtype=object).reshape(R, m, n)
    C = np.asarray(scheme.W, dtype=object).reshape(R, k, n)
    if axis == 0:
        A, C = np.delete(A, index, axis=1), np.delete(C, index, axis=1)
    elif axis == 1:
        A, B = np.delete(A, index, axis=2), np.delete(B, index, axis=1)
    else:
        B, C = np.delete(B, index, axis=2), np.delete(C, index, axis=2)
    U, V, W = (x.reshape(R, -1) for x in (A, B, C))
    keep = [r for r in range(R) if any(U[r]) and any(V[r]) and any(W[r])]
    dims[axis] -= 1
    if not keep:  # cannot happen for an exact scheme of a nonzero tensor
        raise InvalidInputError(f"projecting {p.spec} along axis {axis} left no term")
    meta = {"engine": "project", "from": p.spec}
    return Scheme(matmul(*dims), U[keep], V[keep], W[keep], scheme.field, meta)


def variants(scheme: Scheme) -> list[Scheme]:
    """The scheme under the six symmetries of matmul (cyclic and transpose).

    Examples
    --------
    >>> sorted({s.problem.spec for s in variants(standard_scheme(matmul(2, 3, 4)))})
    ['2x3x4', '2x4x3', '3x2x4', '3x4x2', '4x2x3', '4x3x2']
    """
    if not isinstance(scheme.problem, MatMul):
        return [scheme]
    out = []
    for base in (scheme, transpose(scheme)):
        s = base
        for _ in range(3):
            out.append(s)
            s = cyclic(s)
    return out


def _denominators_ok(scheme: Scheme, p: int) -> bool:
    return all(not isinstance(v, Fraction) or v.denominator % p != 0
               for mat in scheme.factors for v in mat.ravel())


def usable(scheme: Scheme, field: str) -> bool:
    """Whether a walk over ``field`` can start at ``scheme`` (exactly, not mod something else).

    Over F2: schemes over F2, Z or Q with odd denominators.  Over Z: integer
    schemes with coefficients in {-1, 0, 1}.  Over F3: Z or Q schemes whose
    denominators are prime to 3.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> usable(strassen(), "Z"), usable(to_field(strassen(), "F2"), "Z")
    (True, False)
    """
    if field == "F2":
        return scheme.field == "F2" or _denominators_ok(scheme, 2)
    if field == "Z":
        return scheme.field == "Z" and set(scheme.coefficient_set) <= {-1, 0, 1}
    return scheme.field != "F2" and _denominators_ok(scheme, 3)


def _for_problem(schemes: Iterable[Scheme], problem: Problem) -> list[Scheme]:
    return [s for s in schemes if s.problem == problem]


def catalog_schemes(problem: Problem, field: str, root=None) -> list[Scheme]:
    """Catalog schemes usable as starts, lowest rank first (permuted formats included)."""
    if isinstance(problem, MatMul):
        formats = {tuple(f) for f in itertools.permutations((problem.k, problem.m, problem.n))}
        found = []
        for f in sorted(formats):
            for s in catalog.find(matmul(*f), root=root):
                found.extend(_for_problem(variants(s), problem))
    else:
        found = catalog.find(problem, root=root)
    seen, out = set(), []
    for s in sorted((s for s in found if usable(s, field)), key=lambda s: (s.rank, s.additions)):
        fp = s.fingerprint()
        if fp not in seen:
            seen.add(fp)
            out.append(s)
    return out


def _best(problem: Problem, field: str, root=None) -> Scheme:
    """The lowest-rank usable catalog scheme of ``problem``, or its standard scheme."""
    cands = catalog_schemes(problem, field, root) + [standard_scheme(problem)]
    return min(cands, key=lambda s: s.rank)


def _as_field(scheme: Scheme, field: str) -> Scheme:
    return to_field(scheme, "F2") if field == "F2" and scheme.field != "F2" else scheme


def product_schemes(problem: Problem, field: str, root=None) -> list[tuple[Scheme, str]]:
    """Kronecker products of the best schemes of two factor formats, lowest rank first."""
    if not isinstance(problem, MatMul):
        raise InvalidInputError(f"start='product' needs a matmul problem, got {problem.kind}")
    out = []

    def divisors(x):
        return [d for d in range(1, x + 1) if x % d == 0]

    for k1, m1, n1 in itertools.product(divisors(problem.k), divisors(problem.m), divisors(problem.n)):
        k2, m2, n2 = problem.k // k1, problem.m // m1, problem.n // n1
        if (k1, m1, n1) == (1, 1, 1) or (k2, m2, n2) == (1, 1, 1):
            continue
        a = _best(matmul(k1, m1, n1), field, root)
        b = _best(matmul(k2, m2, n2), field, root)
        if "F2" in (a.field, b.field):
            a, b = _as_field(a, "F2"), _as_field(b, "F2")
            if field != "F2":
                continue
        s = kron(a, b)
        out.append((s, f"product {a.problem.spec} (rank {a.rank}) x {b.problem.spec} (rank {b.rank})"))
    out.sort(key=lambda t: t[0].rank)
    return out


def neighbour_schemes(problem: Problem, field: str, which: str = "neighbours", root=None) -> list[tuple[Scheme, str]]:
    """Starts from the neighbouring formats: extended from smaller, projected from larger."""
    if not isinstance(problem, MatMul):
        raise InvalidInputError(f"start={which!r} needs a matmul problem, got {problem.kind}")
    dims = [problem.k, problem.m, problem.n]
    out = []
    for axis in range(3):
        if which in ("extend", "neighbours") and dims[axis] > 1:
            small = list(dims)
            small[axis] -= 1
            for s in catalog_schemes(matmul(*small), field, root)[:MAX_STARTS]:
                e = extend(s, axis)
                out.append((e, f"extend {s.problem.spec} (rank {s.rank}) along {'kmn'[axis]}"))
        if which in ("project", "neighbours"):
            big = list(dims)
            big[axis] += 1
            for s in catalog_schemes(matmul(*big), field, root)[:MAX_STARTS]:
                best = min((project(s, axis, q) for q in range(big[axis])), key=lambda t: t.rank)
                out.append((best, f"project {s.problem.spec} (rank {s.rank}) along {'kmn'[axis]}"))
    out.sort(key=lambda t: t[0].rank)
    return out


def _check_start(scheme: Scheme, problem: Problem, field: str) -> Scheme:
    if scheme.problem != problem:
        raise InvalidInputError(
            f"start scheme is for {scheme.problem.kind} {scheme.problem.spec}, not {problem.kind} {problem.spec}"
        )
    if not usable(scheme, field):
        if field == "Z":
            raise InvalidInputError(
                f"a walk over Z needs a start scheme over Z with coefficients in {{-1, 0, 1}}, "
                f"got one over {scheme.field} with {sorted(set(scheme.coefficient_set), key=float)}"
            )
        raise InvalidInputError(f"a walk over {field} cannot start from a scheme over {scheme.field} with these coefficients")
    check = verify_exact(scheme)
    if not check.ok:
        raise InvalidInputError(f"start scheme is not exact: {check.reason}")
    return scheme


def _lowest(items: list[tuple[Scheme, str]]) -> list[tuple[Scheme, str]]:
    if not items:
        return []
    best = min(s.rank for s, _ in items)
    return [t for t in items if t[0].rank == best][:MAX_STARTS]


def resolve_start(problem: Problem, start: Any, field: str, root=None) -> list[tuple[Scheme, str]]:
    """The start schemes for ``start`` as ``(scheme, label)`` pairs (at least one).

    ``start`` is ``"standard"`` (default), ``"catalog"`` (the lowest-rank
    usable catalog schemes; the standard scheme if there are none),
    ``"product"``, ``"extend"``, ``"project"``, ``"neighbours"`` (extend or
    project, whichever gives the lower rank), ``"best"`` (the lowest rank of
    all of these), a :class:`Scheme`, a list of Schemes, or the path of a
    scheme file.

    Raises
    ------
    InvalidInputError
        An unknown keyword, an unreadable file, a scheme for another problem,
        not exact, or with coefficients the field cannot walk.
    """
    if start is None:
        start = "standard"
    if isinstance(start, Scheme):
        return [(_check_start(start, problem, field), "scheme")]
    if isinstance(start, (list, tuple)) and start and all(isinstance(s, Scheme) for s in start):
        return [(_check_start(s, problem, field), f"scheme {i}") for i, s in enumerate(start)]
    if isinstance(start, os.PathLike) or (isinstance(start, str) and start not in START_KEYWORDS):
        path = Path(start)
        if not path.is_file():
            raise InvalidInputError(
                f"start must be {', '.join(START_KEYWORDS)}, a Scheme or a scheme file; {str(start)!r} is none of these"
            )
        try:
            scheme = load_json(path)
        except (SchemeFormatError, NotExactError) as exc:
            raise InvalidInputError(f"start file {path}: {exc}") from None
        return [(_check_start(scheme, problem, field), f"file {path.name}")]
    if not isinstance(start, str):
        raise InvalidInputError(f"start must be {', '.join(START_KEYWORDS)}, a Scheme or a scheme file, got {start!r}")
    standard = [(standard_scheme(problem), "standard")]
    if start == "standard":
        return standard
    if start == "catalog":
        found = [(s, f"catalog {s.fingerprint()[:12]}") for s in catalog_schemes(problem, field, root)]
        return _lowest(found) or [(standard[0][0], "standard (no usable catalog scheme)")]
    if start == "product":
        got = _lowest(product_schemes(problem, field, root))
        if not got:
            raise InvalidInputError(f"{problem.spec} has no product of two smaller formats")
        return got
    if start in ("extend", "project", "neighbours"):
        got = _lowest(neighbour_schemes(problem, field, start, root))
        if not got:
            raise InvalidInputError(f"no catalog scheme of a neighbouring format of {problem.spec} to {start} from")
        return got
    # best
    cands = list(standard)
    cands += [(s, f"catalog {s.fingerprint()[:12]}") for s in catalog_schemes(problem, field, root)]
    if isinstance(problem, MatMul):
        cands += product_schemes(problem, field, root) + neighbour_schemes(problem, field, "neighbours", root)
    return _lowest(cands)


def _unused(_: Optional[int] = None) -> None:  # pragma: no cover - keeps linters quiet about imports
    return None
