"""Floating-point accuracy of Winograd-like algorithms, and choosing the points.

Exact algorithms still lose accuracy in float32 and float16: the transforms
have large and fractional entries, and the error grows fast with the tile
size.  This module *measures* it:

:func:`measure_error`
    Relative error of a scheme in float32 or float16 against a float64
    direct computation, on many random tiles, with the products of several
    input channels summed before the output transform (as a convolution
    layer does: ``Y = A^T [sum_c (G g_c) * (B^T d_c)]``).
:func:`transform_conditions`
    2-norm condition numbers of G, Bᵀ and Aᵀ.
:func:`rank_point_sets`
    Ranks every set of Cook–Toom points drawn from a candidate list by the
    measured float32 error: a vectorised screen of all sets, then the best
    few measured again in full.  From the measurement alone (no table) it
    puts {0, ±1, ±1/2, ±2} first for F(6, 3) and, among power-of-two
    points, {0, ±1, 1/2, -2} first for F(4, 3); with thirds allowed,
    F(4, 3) sets such as {0, ±2/3, ±3/2} measure about 15% better.

The arithmetic model: every operation is rounded to the working precision
(inputs are first rounded to it, and the reference is computed in float64
from the *rounded* inputs, so only the algorithm's own error is measured);
each linear form is accumulated left to right, and the channel sum is
accumulated channel by channel.  Inputs are standard normal.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from discovery.core.checks import positive_int
from discovery.core.errors import InvalidInputError
from discovery.core.problems import correlation
from discovery.core.progress import ProgressEvent
from discovery.core.scheme import Scheme
from discovery.core.seeds import as_generator
from discovery.winograd.cooktoom import INF, cook_toom, parse_points
from discovery.winograd.transforms import to_transforms

__all__ = [
    "ErrorReport",
    "PointSetScore",
    "CANDIDATE_POINTS",
    "measure_error",
    "transform_conditions",
    "rank_point_sets",
    "screen_point_sets",
]

_DTYPES = {"float32": np.float32, "float16": np.float16, "float64": np.float64}

#: Candidate finite points searched by :func:`rank_point_sets`.
CANDIDATE_POINTS: tuple[Fraction, ...] = tuple(
    Fraction(p) for p in ("0", "1", "-1", "2", "-2", "1/2", "-1/2", "3", "-3", "1/3", "-1/3",
                          "3/2", "-3/2", "2/3", "-2/3", "4", "-4", "1/4", "-1/4")
)


def _dtype(name: str):
    if name not in _DTYPES:
        raise InvalidInputError(f"dtype must be one of {', '.join(_DTYPES)}, got {name!r}")
    return _DTYPES[name]


def channel_counts(channels: Any) -> tuple[int, ...]:
    """Channel counts as a tuple of positive ints (one int is one count).

    Examples
    --------
    >>> channel_counts(8), channel_counts([1, 64])
    ((8,), (1, 64))
    """
    if isinstance(channels, int):
        channels = (channels,)
    out = tuple(channels)
    if not out or any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1 for c in out):
        raise InvalidInputError(f"channel counts must be positive integers, got {channels!r}")
    return tuple(int(c) for c in out)


def _apply(mat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``x @ mat.T`` with every product and sum rounded to x's dtype,
    summing the terms of each form left to right (zeros skipped)."""
    acc = None
    for j in range(mat.shape[-1]):
        col = mat[..., j]
        if not np.any(col):
            continue
        term = x[..., j : j + 1] * col
        acc = term if acc is None else acc + term
    if acc is None:
        return np.zeros(x.shape[:-1] + (mat.shape[-2],), dtype=x.dtype)
    return acc


def _apply2(first: np.ndarray, second: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``first @ X @ second.T`` on the last two axes of x, rounding every
    operation: the second axis first, then the first."""
    y = _apply(second, x)                      # (..., a, S)
    y = _apply(first, np.swapaxes(y, -1, -2))  # (..., S, F)
    return np.swapaxes(y, -1, -2)              # (..., F, S)


# --------------------------------------------------------------------- errors
@dataclass(frozen=True)
class ErrorReport:
    """Measured error of one scheme in one precision.

    Attributes
    ----------
    dtype : str
    channels : tuple of int
        Channel counts summed before the output transform.
    rms : tuple of float
        Relative RMS error ``||Y - Y_ref|| / ||Y_ref||`` over all tiles, per
        channel count.
    max : tuple of float
        ``max |Y - Y_ref| / max |Y_ref|`` per channel count.
    tiles : int
        Tiles per channel count.
    mode : str
        ``"matrix"`` or ``"separable"`` (see :func:`measure_error`).
    """

    dtype: str
    channels: tuple
    rms: tuple
    max: tuple
    tiles: int
    mode: str = "matrix"

    @property
    def error(self) -> float:
        """The mean relative RMS error over the channel counts (one number to rank by)."""
        return float(np.mean(self.rms))


def measure_error(scheme: Scheme, dtype: str = "float32", channels: Any = (1, 8, 64),
                  tiles: int = 256, seed: Any = 0, mode: str = "auto") -> ErrorReport:
    """Relative error of ``scheme`` in ``dtype`` against float64, summed over channels.

    For each channel count C, ``tiles`` random tiles are computed as a layer
    would: ``z = W.T @ sum_c (U @ x_c) * (V @ y_c)`` in ``dtype`` (every
    operation rounded), and compared with ``sum_c direct(x_c, y_c)`` in
    float64 on the same (rounded) inputs.

    Parameters
    ----------
    scheme : Scheme
        Any exact scheme; meant for ``correlation`` and ``correlation2d``.
    dtype : {"float32", "float16", "float64"}
    channels : int or sequence of int
    tiles : int
    seed : int
        Same seed, same inputs, same figures.
    mode : {"auto", "matrix", "separable"}
        ``matrix`` applies U, V and W.T as they are; ``separable`` runs a
        nested 2-D scheme the way layers do, ``A1^T [(G1 g G2^T) * (B1^T d B2)] A2``
        (1-D transforms along the second axis, then the first); ``auto`` is
        separable for nested 2-D schemes and matrix otherwise.

    Examples
    --------
    >>> from discovery.winograd.cooktoom import cook_toom
    >>> rep = measure_error(cook_toom(2, 3), "float32", channels=(1, 4), tiles=64)
    >>> rep.channels, 1e-9 < rep.error < 1e-6
    ((1, 4), True)
    """
    ft = _dtype(dtype)
    chans = channel_counts(channels)
    tiles = positive_int(tiles, "tiles")
    if mode not in ("auto", "matrix", "separable"):
        raise InvalidInputError(f"mode must be auto, matrix or separable, got {mode!r}")
    rng = as_generator(seed)
    nx, ny, nz = scheme.problem.shape
    pair = None
    if mode != "matrix" and scheme.problem.kind == "correlation2d":
        try:
            w2 = to_transforms(scheme)
            pair = tuple(tuple(np.array(mat.tolist(), dtype=np.float64).astype(ft) for mat in (t.G, t.BT, t.AT))
                         for t in (w2.rows, w2.cols))
        except InvalidInputError:
            if mode == "separable":
                raise
    elif mode == "separable":
        raise InvalidInputError("the separable mode needs a nested correlation2d scheme")
    u, v, w = (f.astype(ft) for f in scheme.float_factors(np.float64))
    rms, mx = [], []
    for c in chans:
        x = rng.standard_normal((tiles, c, nx)).astype(ft)
        y = rng.standard_normal((tiles, c, ny)).astype(ft)
        if pair is None:
            prod = _apply(u, x) * _apply(v, y)  # (tiles, c, R)
        else:
            (g1, b1, _), (g2, b2, _) = pair
            (m1, m2), (r1, r2) = scheme.problem.m, scheme.problem.r
            prod = (_apply2(g1, g2, x.reshape(tiles, c, r1, r2))
                    * _apply2(b1, b2, y.reshape(tiles, c, m1 + r1 - 1, m2 + r2 - 1)))
        acc = prod[:, 0]
        for k in range(1, c):
            acc = acc + prod[:, k]
        if pair is None:
            z = _apply(w.T, acc).astype(np.float64)
        else:
            z = _apply2(pair[0][2], pair[1][2], acc).reshape(tiles, nz).astype(np.float64)
        ref = scheme.problem.direct(x.astype(np.float64), y.astype(np.float64)).sum(axis=1)
        diff = z - ref
        rms.append(float(np.linalg.norm(diff) / (np.linalg.norm(ref) or 1.0)))
        mx.append(float(np.abs(diff).max() / (np.abs(ref).max() or 1.0)))
    return ErrorReport(dtype, chans, tuple(rms), tuple(mx), int(tiles), "matrix" if pair is None else "separable")


def transform_conditions(scheme: Scheme) -> dict[str, float]:
    """2-norm condition numbers (largest / smallest singular value) of the transforms.

    Keys ``G``, ``BT``, ``AT`` for correlation schemes (U, V, W.T), else
    ``U``, ``V``, ``W.T``.

    Examples
    --------
    >>> from discovery.winograd.cooktoom import cook_toom
    >>> c = transform_conditions(cook_toom(2, 3))
    >>> sorted(c), round(c["AT"], 3)
    (['AT', 'BT', 'G'], 1.0)
    """
    u, v, w = scheme.float_factors(np.float64)
    names = ("G", "BT", "AT") if scheme.problem.kind in ("correlation", "correlation2d") else ("U", "V", "W.T")
    return {name: float(np.linalg.cond(mat)) for name, mat in zip(names, (u, v, w.T))}


# -------------------------------------------------------------------- ranking
@dataclass(frozen=True)
class PointSetScore:
    """One candidate point set and its measured float32 error.

    ``points`` are the finite points (infinity is always added);
    ``screen`` the error of the vectorised screen, ``report`` the full
    measurement (None for sets that were only screened).
    """

    points: tuple
    screen: float
    report: ErrorReport | None = None
    conditions: dict = field(default_factory=dict)

    @property
    def error(self) -> float:
        return self.report.error if self.report is not None else self.screen

    @property
    def label(self) -> str:
        return "{" + ", ".join(str(p) for p in self.points) + "}"


def _float_transforms(pts: np.ndarray, m: int, r: int):
    """Float64 Cook–Toom transforms (fractions in G) for a batch of point sets.

    ``pts`` is an (S, k, 2) integer array of (numerator, denominator) pairs,
    k = m + r - 2 finite points; infinity is the last product.  Returns G
    (S, n, r), BT (S, n, n), AT (S, m, n) scaled exactly as
    :func:`discovery.winograd.cooktoom.cook_toom` scales them (primitive integer Bᵀ
    rows and Aᵀ columns, by Gauss's lemma), up to float64 rounding.
    """
    p = pts[..., 0].astype(np.float64)
    q = pts[..., 1].astype(np.float64)
    a = p / q
    S, k = a.shape
    n = k + 1
    powers = np.arange(n)
    E = np.zeros((S, n, n))
    E[:, :k, :] = a[..., None] ** powers
    E[:, k, n - 1] = 1.0
    BT = np.linalg.inv(E).transpose(0, 2, 1)
    # scale of each B^T row: |prod_{j != i} (q_j a_i - p_j)|, infinity: prod_j q_j
    diff = q[:, None, :] * a[:, :, None] - p[:, None, :]
    idx = np.arange(k)
    diff[:, idx, idx] = 1.0
    sb = np.ones((S, n))
    sb[:, :k] = np.abs(np.prod(diff, axis=2))
    sb[:, k] = np.prod(q, axis=1)
    sa = np.ones((S, n))
    sa[:, :k] = q ** (m - 1)
    BT = BT * sb[..., None]
    AT = np.zeros((S, m, n))
    AT[:, :, :k] = (a[:, None, :] ** np.arange(m)[None, :, None]) * sa[:, None, :k]
    AT[:, m - 1, k] = 1.0
    G = np.zeros((S, n, r))
    G[:, :k, :] = a[..., None] ** np.arange(r) / (sa[:, :k] * sb[:, :k])[..., None]
    G[:, k, r - 1] = 1.0 / sb[:, k]
    return G, BT, AT


def _candidates(values: Sequence) -> list[Fraction]:
    pts = parse_points(values)
    if INF in pts:
        raise InvalidInputError("candidate points must be finite (infinity is always used)")
    return list(pts)


def screen_point_sets(m: int, r: int, candidates: Sequence = CANDIDATE_POINTS, *, tiles: int = 512,
                      dtype: str = "float32", seed: Any = 0, chunk: int = 2048,
                      callback=None) -> list[PointSetScore]:
    """Float error of F(m, r) for every set of ``m + r - 2`` candidate points.

    A vectorised first pass of :func:`rank_point_sets`: one channel, the same
    random tiles for every set (so differences are not sampling noise), the
    transforms built in float64 for whole batches of sets.  A set and its
    negation give the same error distribution (the algorithms differ by
    sign flips, which are exact), so only one of each pair is measured.

    Returns
    -------
    list of PointSetScore
        Sorted by error, best first.

    Examples
    --------
    >>> best = screen_point_sets(2, 3, ["0", "1", "-1", "2", "1/2"], tiles=64)[0]
    >>> best.label
    '{-1, 0, 1}'
    """
    ft = _dtype(dtype)
    problem = correlation(m, r)
    m, r = problem.m, problem.r
    cands = sorted(set(_candidates(candidates)))
    k = m + r - 2
    if len(cands) < k:
        raise InvalidInputError(f"F({m},{r}) needs {k} finite points but only {len(cands)} candidates were given")
    sets = []
    for combo in itertools.combinations(cands, k):
        neg = tuple(sorted(-c for c in combo))
        if neg < combo:
            continue
        sets.append(combo)
    rng = as_generator(seed)
    g = rng.standard_normal((tiles, r)).astype(ft)
    d = rng.standard_normal((tiles, m + r - 1)).astype(ft)
    ref = problem.direct(g.astype(np.float64), d.astype(np.float64))
    ref_norm = np.linalg.norm(ref) or 1.0
    out = []
    for start in range(0, len(sets), chunk):
        batch = sets[start : start + chunk]
        pq = np.array([[(c.numerator, c.denominator) for c in s] for s in batch], dtype=np.int64).reshape(len(batch), k, 2)
        G, BT, AT = (t.astype(ft) for t in _float_transforms(pq, m, r))
        U = _apply(G[:, None], g[None])          # (S, tiles, n)
        V = _apply(BT[:, None], d[None])
        Z = _apply(AT[:, None], U * V).astype(np.float64)  # (S, tiles, m)
        errs = np.linalg.norm((Z - ref[None]).reshape(len(batch), -1), axis=1) / ref_norm
        out.extend(PointSetScore(s, float(e)) for s, e in zip(batch, errs))
        if callback is not None:
            callback(ProgressEvent("accuracy", min(start + chunk, len(sets)), len(sets),
                                   best=min(p.screen for p in out), message=f"screen F({m},{r})"))
    out.sort(key=lambda s: (s.screen if math.isfinite(s.screen) else math.inf, s.points))
    return out


def rank_point_sets(m: int, r: int, candidates: Sequence = CANDIDATE_POINTS, *, keep: int = 16,
                    dtype: str = "float32", channels: Any = (1, 8, 64), tiles: int = 256,
                    screen_tiles: int = 512, seed: Any = 0, callback=None) -> list[PointSetScore]:
    """Rank Cook–Toom point sets for F(m, r) by measured error, best first.

    Every ``(m + r - 2)``-subset of ``candidates`` (plus infinity) is
    screened (:func:`screen_point_sets`); the best ``keep`` are built
    exactly with :func:`~discovery.winograd.cooktoom.cook_toom` and measured in full
    with :func:`measure_error` (several channel counts, fresh tiles), and
    ranked by that measurement.

    Parameters
    ----------
    m, r : int
    candidates : sequence of rationals
        Default :data:`CANDIDATE_POINTS` (0, ±1, ±2, ±1/2, ±3, ±1/3, ±3/2,
        ±2/3, ±4, ±1/4).
    keep : int
        How many screened sets to measure in full.
    callback : callable, optional
        Receives :class:`~discovery.core.progress.ProgressEvent` objects.

    Returns
    -------
    list of PointSetScore
        The ``keep`` fully measured sets, best first.

    Examples
    --------
    >>> top = rank_point_sets(2, 3, ["0", "1", "-1", "2", "-2"], keep=2, tiles=64, channels=(1,))
    >>> top[0].label
    '{-1, 0, 1}'
    """
    screened = screen_point_sets(m, r, candidates, tiles=screen_tiles, dtype=dtype, seed=seed, callback=callback)
    finalists = screened[: max(1, int(keep))]
    out = []
    for i, cand in enumerate(finalists):
        scheme = cook_toom(m, r, list(cand.points))
        report = measure_error(scheme, dtype, channels, tiles, seed)
        out.append(PointSetScore(cand.points, cand.screen, report, transform_conditions(scheme)))
        if callback is not None:
            callback(ProgressEvent("accuracy", i + 1, len(finalists), best=min(s.error for s in out),
                                   message=f"measure F({m},{r})"))
    out.sort(key=lambda s: (s.error, s.points))
    return out
