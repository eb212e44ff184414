"""The Cook–Toom construction of Winograd's minimal filtering algorithms.

F(m, r) computes m outputs of an r-tap correlation with ``n = m + r - 1``
multiplications.  It is the *transpose* (transformation principle) of the
Toom–Cook algorithm for the linear convolution of an r-term and an m-term
polynomial, which evaluates both factors at ``n`` points, multiplies the
values and interpolates the product:

* at a finite point ``a``: ``X(a) * Y(a)``, the rows ``[1, a, a^2, ...]``;
* at the point at infinity: the leading coefficients ``x[-1] * y[-1]``.

With the finite points ``a_0 .. a_{n-2}`` (plus infinity) the product is
``z(t) = sum_k m_k L_k(t) + m_inf M(t)``, where ``L_k`` is the Lagrange basis
polynomial of the finite points and ``M(t) = prod_j (t - a_j)``.  Read as a
correlation scheme (see :mod:`discovery.core.problems` for the conventions) the
three factors are Lavin & Gray's transforms::

    G  (n x r)  filter transform   row k: [1, a_k, ..., a_k^(r-1)]
    B^T(n x n)  data transform     row k: coefficients of L_k (or M)
    A^T(m x n)  output transform   column k: [1, a_k, ..., a_k^(m-1)]
    y = A^T [(G g) * (B^T d)]   i.e.   U = G, V = B^T, W = A

Each product ``k`` has one free positive scale: a row of G, a row of B^T and
a column of A^T may be multiplied by constants whose product is 1.  The
``fractions`` option says where the rational scale goes; the other two are
made primitive integer vectors (so ``fractions="G"`` gives Lavin's integer
B^T and A^T for integer points, with the 1/2's in G).

Nesting two 1-D algorithms gives the 2-D F(m1 x m2, r1 x r2); that lives in
:func:`discovery.winograd.transforms.nest` (re-exported here as :func:`nest`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Iterable, Sequence

import numpy as np

from discovery.core.coefficients import exact
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Correlation, PolyMul, correlation, correlation2d, polymul
from discovery.core.scheme import Scheme
from discovery.winograd.transforms import nest as _nest

__all__ = [
    "INF",
    "DEFAULT_POINT_ORDER",
    "FRACTION_PLACES",
    "parse_points",
    "default_points",
    "format_points",
    "cook_toom",
    "toom_cook_polymul",
    "cook_toom_polymul",
    "correlation_to_polymul",
    "polymul_to_correlation",
    "nest",
    "recover_points",
    "identify",
    "snap_points",
    "BEST_POINTS",
    "CATALOG_TILES",
    "best_known",
]


class _Infinity:
    """The point at infinity (a singleton, printed ``inf``)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "INF"

    def __str__(self) -> str:
        return "inf"

    def __reduce__(self):
        return (_Infinity, ())


#: The point at infinity: evaluation gives the leading coefficient.
INF = _Infinity()

#: Default finite points, best first: the first 3 are the published F(2,3)
#: points, the first 5 those of F(4,3), the first 7 those of F(6,3).
DEFAULT_POINT_ORDER: tuple[Fraction, ...] = tuple(
    Fraction(p)
    for p in ("0", "1", "-1", "1/2", "-2", "-1/2", "2", "-1/4", "4", "1/4", "-4",
              "3/2", "-2/3", "-3/2", "2/3", "3", "-1/3", "-3", "1/3", "5/4", "-4/5",
              "-5/4", "4/5", "3/4", "-4/3", "-3/4", "4/3", "5", "-1/5", "-5", "1/5")
)

#: Where the scaling fractions may go.
FRACTION_PLACES = ("G", "BT", "AT")


# --------------------------------------------------------------------- points
def _parse_point(value: Any, where: str):
    if value is INF:
        return INF
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity", "∞", "+inf"):
        return INF
    if isinstance(value, float) and math.isinf(value):
        return INF
    try:
        return Fraction(exact(value, where))
    except InvalidInputError as exc:
        raise InvalidInputError(f"{exc} (points are rationals such as 0, -2, 1/2, or 'inf')") from None


def parse_points(points: Any, n: int | None = None, what: str | None = None) -> tuple:
    """Normalise interpolation points to a tuple of ``Fraction`` (and :data:`INF`).

    Parameters
    ----------
    points : str or sequence
        ``"0,1,-1,1/2"`` or a sequence of ints, Fractions, ``"p/q"`` strings
        and at most one ``"inf"``.
    n : int, optional
        The number of multiplications ``m + r - 1``.  When given, the points
        must be ``n - 1`` finite points (infinity is appended) or ``n``
        points in all (at most one of them ``inf``).

    Raises
    ------
    InvalidInputError
        For repeated points, a wrong count, or a value that is not rational.

    Examples
    --------
    >>> parse_points("0, 1, -1, 1/2", n=5)
    (Fraction(0, 1), Fraction(1, 1), Fraction(-1, 1), Fraction(1, 2), INF)
    >>> parse_points([0, 1, 1], n=4)
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: repeated interpolation point 1: the points must be distinct
    """
    if isinstance(points, str):
        items = [p for p in points.replace(";", ",").split(",") if p.strip()]
        if not items:
            raise InvalidInputError("no interpolation points given")
    elif isinstance(points, Iterable):
        items = list(points)
    else:
        raise InvalidInputError(f"points must be a sequence of rationals, got {points!r}")
    parsed = [_parse_point(v, f"point {i}") for i, v in enumerate(items)]
    seen = set()
    for p in parsed:
        if p in seen:
            raise InvalidInputError(f"repeated interpolation point {p}: the points must be distinct")
        seen.add(p)
    if n is not None:
        finite = [p for p in parsed if p is not INF]
        if len(parsed) == n - 1 and INF not in seen:
            parsed.append(INF)
        elif len(parsed) != n:
            need = f"{n - 1} distinct finite point{'s' if n - 1 != 1 else ''} (infinity is added) or {n} in all"
            subject = what or f"{n} multiplications"
            raise InvalidInputError(
                f"{subject} needs {need}; got {len(parsed)} point{'s' if len(parsed) != 1 else ''}"
                f" ({len(finite)} finite{' and inf' if INF in seen else ''})"
            )
    return tuple(parsed)


def default_points(n: int) -> tuple:
    """The default ``n - 1`` finite points plus infinity for ``n`` multiplications.

    Examples
    --------
    >>> [str(p) for p in default_points(6)]
    ['0', '1', '-1', '1/2', '-2', 'inf']
    """
    if n < 1 or n - 1 > len(DEFAULT_POINT_ORDER):
        raise InvalidInputError(
            f"no default points for {n} multiplications (at most {len(DEFAULT_POINT_ORDER) + 1}); "
            "pass points explicitly"
        )
    return DEFAULT_POINT_ORDER[: n - 1] + (INF,)


def format_points(points: Sequence) -> list[str]:
    """Points as JSON-ready strings (``"1/2"``, ``"inf"``).

    Examples
    --------
    >>> format_points([Fraction(1, 2), 0, INF])
    ['1/2', '0', 'inf']
    """
    return [str(p) if p is not INF else "inf" for p in points]


# ----------------------------------------------------------------- polynomials
def _poly_mul(a: list, b: list) -> list:
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[i + j] += x * y
    return out


def _from_roots(roots: Sequence[Fraction]) -> list[Fraction]:
    """Coefficients (lowest degree first) of ``prod (t - root)``."""
    poly = [Fraction(1)]
    for a in roots:
        poly = _poly_mul(poly, [-a, Fraction(1)])
    return poly


def _evaluation_row(point, length: int) -> list[Fraction]:
    if point is INF:
        return [Fraction(0)] * (length - 1) + [Fraction(1)]
    return [point**i for i in range(length)]


def _interpolation_rows(points: Sequence, n: int) -> list[list[Fraction]]:
    """Row k: coefficients (length n) of the polynomial that multiplies ``m_k``
    in ``z(t)``; together they invert the evaluation map."""
    finite = [p for p in points if p is not INF]
    rows = []
    for p in points:
        if p is INF:
            poly = _from_roots(finite)
        else:
            others = [q for q in finite if q != p]
            denom = Fraction(1)
            for q in others:
                denom *= p - q
            poly = [c / denom for c in _from_roots(others)]
        rows.append(poly + [Fraction(0)] * (n - len(poly)))
    return rows


# -------------------------------------------------------------------- scaling
def _content(row: Sequence[Fraction]) -> Fraction:
    """The positive rational c with row / c a primitive integer vector."""
    nonzero = [Fraction(v) for v in row if v != 0]
    if not nonzero:
        return Fraction(1)
    den = math.lcm(*(v.denominator for v in nonzero))
    num = math.gcd(*(int(v * den) for v in nonzero))
    return Fraction(num, den)


def _place_fractions(g_rows, b_rows, a_rows, fractions: str):
    """Rescale each product's three rows so that two are primitive integer
    vectors and the third (named by ``fractions``) carries the scale."""
    if fractions not in FRACTION_PLACES:
        raise InvalidInputError(
            f"fractions must be one of {', '.join(FRACTION_PLACES)}, got {fractions!r}"
        )
    out_g, out_b, out_a = [], [], []
    for g, b, a in zip(g_rows, b_rows, a_rows):
        rows = {"G": list(g), "BT": list(b), "AT": list(a)}
        scale = Fraction(1)
        for name in FRACTION_PLACES:
            if name != fractions:
                c = _content(rows[name])
                rows[name] = [v / c for v in rows[name]]
                scale *= c
        rows[fractions] = [v * scale for v in rows[fractions]]
        out_g.append(rows["G"])
        out_b.append(rows["BT"])
        out_a.append(rows["AT"])
    return out_g, out_b, out_a


def _exact_rows(rows) -> list[list]:
    return [[exact(v) for v in row] for row in rows]


def _field_of(*mats) -> str:
    for mat in mats:
        for row in mat:
            for v in row:
                if isinstance(v, Fraction) and v.denominator != 1:
                    return "Q"
    return "Z"


# --------------------------------------------------------------- constructions
def cook_toom(m: int, r: int, points: Any = None, fractions: str = "G") -> Scheme:
    """Winograd's F(m, r) by the Cook–Toom construction.

    Parameters
    ----------
    m, r : int
        Outputs and filter taps; the scheme has ``n = m + r - 1`` products.
    points : str or sequence, optional
        ``n - 1`` distinct rational points (the point at infinity is added),
        or ``n`` points of which at most one is ``"inf"``.  Default: the
        published best points (:func:`default_points`).
    fractions : {"G", "BT", "AT"}
        Which transform carries the rational scaling of each product; the
        other two get primitive integer rows (for integer points).

    Returns
    -------
    Scheme
        For ``correlation(m, r)``, with ``U = G``, ``V = B^T``, ``W = A``;
        field Z when every coefficient is an integer, else Q.
        ``meta["provenance"]`` records the engine ``"cook-toom"``, the points
        and the fraction placement.

    Raises
    ------
    InvalidInputError
        For repeated points, too few or too many points, or bad sizes.

    Examples
    --------
    >>> s = cook_toom(2, 3)
    >>> s.rank, s.field, s.meta["provenance"]["points"]
    (4, 'Q', ['0', '1', '-1', 'inf'])
    >>> s.V.tolist()   # Lavin & Gray's B^T
    [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, -1, 0, 1]]
    >>> from verify import verify_symbolic
    >>> verify_symbolic(cook_toom(4, 3, "0,1,-1,1/2,-2")).ok
    True
    """
    problem = correlation(m, r)
    n = problem.m + problem.r - 1
    pts = default_points(n) if points is None else parse_points(points, n, problem.spec)
    g_rows = [_evaluation_row(p, problem.r) for p in pts]
    a_rows = [_evaluation_row(p, problem.m) for p in pts]
    b_rows = _interpolation_rows(pts, n)
    g_rows, b_rows, a_rows = _place_fractions(g_rows, b_rows, a_rows, fractions)
    U, V, W = _exact_rows(g_rows), _exact_rows(b_rows), _exact_rows(a_rows)
    meta = {
        "provenance": {
            "engine": "cook-toom",
            "points": format_points(pts),
            "fractions": fractions,
            "construction": "Cook-Toom: Toom-Cook interpolation at the points, transposed to correlation",
        }
    }
    return Scheme(problem, U, V, W, _field_of(U, V, W), meta)


def correlation_to_polymul(scheme: Scheme) -> Scheme:
    """The linear convolution a correlation scheme transposes to.

    By the transformation principle, F(m, r) with factors ``(U, V, W)`` is
    ``poly(r, m)`` with factors ``(U, W, V)``: the filter stays the first
    operand, the m outputs become the second operand and the ``m + r - 1``
    inputs the product's coefficients.  Applying the function twice (with
    :func:`polymul_to_correlation`) gives the scheme back.

    Examples
    --------
    >>> p = correlation_to_polymul(cook_toom(2, 3))
    >>> p.problem.spec, p.rank
    ('poly(3,2)', 4)
    """
    if not isinstance(scheme.problem, Correlation):
        raise InvalidInputError(f"expected a correlation scheme, got {scheme.problem.kind}")
    m, r = scheme.problem.m, scheme.problem.r
    meta = dict(scheme.meta)
    prov = dict(meta.get("provenance", {}) or {})
    if prov:
        prov["construction"] = f"transposed from F({m},{r}) ({prov.get('construction', 'no construction recorded')})"
        meta["provenance"] = prov
    return Scheme(polymul(r, m), scheme.U, scheme.W, scheme.V, scheme.field, meta)


def polymul_to_correlation(scheme: Scheme) -> Scheme:
    """The correlation F(q, p) a ``poly(p, q)`` scheme transposes to.

    Inverse of :func:`correlation_to_polymul`; works for any exact polymul
    scheme (found by search or built by interpolation).

    Examples
    --------
    >>> s = polymul_to_correlation(toom_cook_polymul(3, 2))
    >>> s.problem.spec
    'F(2,3)'
    >>> from verify import verify_exact
    >>> verify_exact(s).ok
    True
    """
    if not isinstance(scheme.problem, PolyMul):
        raise InvalidInputError(f"expected a polymul scheme, got {scheme.problem.kind}")
    p, q = scheme.problem.p, scheme.problem.q
    return Scheme(correlation(q, p), scheme.U, scheme.W, scheme.V, scheme.field, dict(scheme.meta))


def toom_cook_polymul(p: int, q: int, points: Any = None) -> Scheme:
    """Linear convolution ``poly(p, q)`` directly by evaluation and interpolation.

    ``U`` and ``V`` evaluate the two factors at the points (rows
    ``[1, a, a^2, ...]``, infinity gives the leading coefficient) and ``W``
    interpolates the product (the inverse of the evaluation map, so all the
    fractions sit in ``W``).

    Examples
    --------
    >>> s = toom_cook_polymul(2, 2, "0,1")
    >>> s.U.tolist(), s.W.tolist()
    ([[1, 0], [1, 1], [0, 1]], [[1, -1, 0], [0, 1, 0], [0, -1, 1]])
    """
    problem = polymul(p, q)
    n = problem.p + problem.q - 1
    pts = default_points(n) if points is None else parse_points(points, n, problem.spec)
    U = _exact_rows(_evaluation_row(a, problem.p) for a in pts)
    V = _exact_rows(_evaluation_row(a, problem.q) for a in pts)
    W = _exact_rows(_interpolation_rows(pts, n))
    meta = {
        "provenance": {
            "engine": "cook-toom",
            "points": format_points(pts),
            "construction": "Toom-Cook: evaluation at the points, Lagrange interpolation of the product",
        }
    }
    return Scheme(problem, U, V, W, _field_of(U, V, W), meta)


def cook_toom_polymul(p: int, q: int, points: Any = None, fractions: str = "G") -> Scheme:
    """Linear convolution ``poly(p, q)`` by the transformation principle.

    The transpose of :func:`cook_toom` ``(q, p)``: ``U`` is the filter
    transform G, ``V`` the output transform A and ``W`` the data transform
    B^T, so ``fractions`` names the same places as in :func:`cook_toom`.

    Examples
    --------
    >>> s = cook_toom_polymul(3, 2)
    >>> s.problem.spec, s.rank
    ('poly(3,2)', 4)
    """
    problem = polymul(p, q)
    if points is not None:  # checked here so that errors name poly(p,q), not F(q,p)
        points = parse_points(points, problem.p + problem.q - 1, problem.spec)
    return correlation_to_polymul(cook_toom(problem.q, problem.p, points, fractions))


def nest(scheme_rows: Scheme, scheme_cols: Scheme) -> Scheme:
    """F(m1 x m2, r1 x r2) from F(m1, r1) (rows) and F(m2, r2) (columns).

    See :func:`discovery.winograd.transforms.nest`.

    Examples
    --------
    >>> s = nest(cook_toom(2, 3), cook_toom(2, 3))
    >>> s.problem.spec, s.rank
    ('F(2x2,3x3)', 16)
    """
    return _nest(scheme_rows, scheme_cols)


# --------------------------------------------------------- best known points
#: The published best finite points (infinity is added) for the common tiles.
BEST_POINTS: dict[tuple[int, int], str] = {
    (2, 3): "0,1,-1",
    (3, 2): "0,1,-1",
    (4, 3): "0,1,-1,1/2,-2",
    (3, 3): "0,1,-1,2",
    (6, 3): "0,1,-1,1/2,-1/2,2,-2",
    (2, 5): "0,1,-1,1/2,-2",
    (4, 5): "0,1,-1,1/2,-1/2,2,-2",
}


def best_known(m: int | Sequence[int], r: int | Sequence[int], fractions: str = "G") -> Scheme:
    """Cook–Toom F(m, r) (or a nested 2-D tile) with the published best points.

    Uses :data:`BEST_POINTS` where listed, otherwise the default order
    of :data:`DEFAULT_POINT_ORDER` (which begins with the
    same points).

    Examples
    --------
    >>> best_known(4, 3).meta["provenance"]["points"]
    ['0', '1', '-1', '1/2', '-2', 'inf']
    >>> best_known((4, 4), (3, 3)).rank
    36
    """
    if isinstance(m, (tuple, list)) or isinstance(r, (tuple, list)):
        (m1, m2), (r1, r2) = correlation2d(m, r).m, correlation2d(m, r).r
        return nest(best_known(m1, r1, fractions), best_known(m2, r2, fractions))
    return cook_toom(m, r, BEST_POINTS.get((m, r)), fractions)


#: The tiles the catalog ships (1-D ``(m, r)`` and 2-D ``((m1, m2), (r1, r2))``).
CATALOG_TILES = [
    (2, 3), (3, 2), (4, 3), (6, 3), (2, 5), (4, 5),
    ((2, 2), (3, 3)), ((4, 4), (3, 3)), ((6, 6), (3, 3)),
]


# ------------------------------------------------------------ identification
def _geometric_point(row, tol: float | None):
    """The point (ratio) of a row proportional to ``[1, a, a^2, ...]``, INF for
    ``[0, ..., 0, 1]``, None when the row is not of that form, ``...`` (Ellipsis)
    when it has a single entry and so says nothing."""
    vals = list(row)
    if len(vals) < 2:
        return ... if vals and vals[0] != 0 else None
    if tol is None:
        vals = [Fraction(v) for v in vals]
        close = lambda a, b: a == b  # noqa: E731
        is_zero = lambda a: a == 0  # noqa: E731
    else:
        vals = [float(v) for v in vals]
        scale = max(abs(v) for v in vals) or 1.0
        close = lambda a, b: abs(a - b) <= tol * scale  # noqa: E731
        is_zero = lambda a: abs(a) <= tol * scale  # noqa: E731
    if is_zero(vals[0]):
        if all(is_zero(v) for v in vals[:-1]) and not is_zero(vals[-1]):
            return INF
        return None
    a = vals[1] / vals[0]
    if all(close(vals[i], vals[0] * a**i) for i in range(len(vals))):
        return a
    return None


def recover_points(U, W, tol: float | None = None) -> tuple | None:
    """The interpolation points of a correlation algorithm, read off its factors.

    In a Cook–Toom algorithm product ``k`` evaluates at a point ``a_k``: row
    ``U[k]`` (of G) is proportional to ``[1, a_k, a_k^2, ...]`` and so is
    ``W[k]`` (a column of Aᵀ); infinity gives ``[0, ..., 0, 1]``.  Every
    exact F(m, r) with ``m + r - 1`` products is of this form (minimal
    algorithms for polynomial multiplication are interpolation at distinct
    points of the projective line), so this names the points of any
    scheme a search finds.

    Parameters
    ----------
    U, W : exact object arrays, or float arrays
        Factors of a correlation scheme (``scheme.U``, ``scheme.W``).
    tol : float, optional
        Relative tolerance for float factors; None compares exactly.

    Returns
    -------
    tuple or None
        One point per product (Fraction, float or :data:`INF`), or None if
        some product is not an evaluation at a point, if U and W disagree,
        or if two products share a point.

    Examples
    --------
    >>> s = cook_toom(4, 3, "0,1,-1,1/2,-2")
    >>> [str(p) for p in recover_points(s.U, s.W)]
    ['0', '1', '-1', '1/2', '-2', 'inf']
    """
    U = np.asarray(U)
    W = np.asarray(W)
    if U.ndim != 2 or W.ndim != 2 or len(U) != len(W):
        raise InvalidInputError("U and W must be matrices with one row per product")
    points = []
    for u_row, w_row in zip(U, W):
        pu = _geometric_point(u_row, tol)
        pw = _geometric_point(w_row, tol)
        if pu is None or pw is None:
            return None
        if pu is ... and pw is ...:
            return None  # F(1, 1): one product, no point to read
        if pu is ...:
            p = pw
        elif pw is ... or pu is pw:
            p = pu
        elif pu is INF or pw is INF:
            return None
        else:
            close = (pu == pw) if tol is None else abs(pu - pw) <= tol * max(1.0, abs(pu))
            if not close:
                return None
            p = pu
        points.append(p)
    finite = [p for p in points if p is not INF]
    if len(finite) != len(set(finite)) or len(points) - len(finite) > 1:
        return None
    if tol is not None:
        srt = sorted(finite)
        if any(b - a <= tol * max(1.0, abs(a)) for a, b in zip(srt, srt[1:])):
            return None
    return tuple(points)


def identify(scheme: Scheme) -> dict[str, Any]:
    """How an exact correlation scheme relates to Cook–Toom.

    Returns a dict with ``cook_toom`` (True when the scheme *is* the
    Cook–Toom algorithm at its recovered points, up to permuting and
    rescaling the products), ``points`` (JSON-ready strings, or None) and
    ``scales`` (per product, the factors ``(a, b, c)`` with
    ``U[k] = a G[k]``, ``V[k] = b B^T[k]``, ``W[k] = c A[k]`` relative to
    :func:`cook_toom` at those points with ``fractions="G"``).

    Examples
    --------
    >>> info = identify(cook_toom(2, 3, "1,-1,0", fractions="BT"))
    >>> info["cook_toom"], info["points"]
    (True, ['1', '-1', '0', 'inf'])
    """
    if not isinstance(scheme, Scheme) or not isinstance(scheme.problem, Correlation):
        raise InvalidInputError("identify needs a correlation scheme")
    m, r = scheme.problem.m, scheme.problem.r
    out: dict[str, Any] = {"cook_toom": False, "points": None, "scales": None}
    if scheme.rank != m + r - 1 or scheme.field == "F2":
        return out
    pts = recover_points(scheme.U, scheme.W)
    if pts is None:
        return out
    out["points"] = format_points(pts)
    ref = cook_toom(m, r, list(pts))
    scales = []
    for k in range(scheme.rank):
        ratios = []
        for mine, theirs in ((scheme.U[k], ref.U[k]), (scheme.V[k], ref.V[k]), (scheme.W[k], ref.W[k])):
            j = next((i for i, v in enumerate(theirs) if v != 0), None)
            c = Fraction(mine[j]) / Fraction(theirs[j]) if j is not None else Fraction(0)
            if c == 0 or any(Fraction(a) != c * Fraction(b) for a, b in zip(mine, theirs)):
                return out
            ratios.append(c)
        if ratios[0] * ratios[1] * ratios[2] != 1:
            return out
        scales.append(tuple(str(c) for c in ratios))
    out["cook_toom"] = True
    out["scales"] = scales
    return out


# ------------------------------------------------------------------ discovery
def snap_points(points: Sequence, max_denominator: int = 16, infinity_beyond: float = 16.0) -> tuple:
    """Nearest *distinct* simple rationals to real points (the smallest
    denominator bound that keeps them distinct).

    A point larger than ``infinity_beyond`` in magnitude (or :data:`INF`)
    becomes infinity; at most one may.

    Raises
    ------
    InvalidInputError
        When no denominator up to ``max_denominator`` separates the points.

    Examples
    --------
    >>> [str(p) for p in snap_points([0.02, 0.97, -1.1, 0.45, -85.8])]
    ['0', '1', '-1', '1/2', 'inf']
    """
    far = [i for i, p in enumerate(points) if p is INF or abs(float(p)) > infinity_beyond]
    if len(far) > 1:
        raise InvalidInputError("more than one point is (near) infinity")
    for d in range(1, max_denominator + 1):
        out = tuple(INF if i in far else Fraction(float(p)).limit_denominator(d) for i, p in enumerate(points))
        finite = [p for p in out if p is not INF]
        if len(set(finite)) == len(finite):
            return out
    raise InvalidInputError(f"the points {list(points)} cannot be separated with denominators <= {max_denominator}")
