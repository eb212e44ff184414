"""Schemes to the kernel's word arrays and back (see :mod:`~discovery.engines.flip.kernel`).

Nothing outside the flip package sees a bit-mask: :func:`encode` takes a
:class:`~discovery.core.scheme.Scheme`, :func:`decode` gives integer
coefficient matrices (or a Scheme through :func:`to_scheme`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem
from discovery.core.scheme import Scheme
from discovery.engines.flip.kernel import FIELD_CODES

__all__ = ["Layout", "layout", "encode", "decode", "to_scheme", "MAX_ENTRIES"]

#: Longest factor the kernel accepts (entries of one of U, V, W rows).
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class Layout:
    """How a problem's factors are stored: field, words per plane and per factor."""

    field: str
    shape: tuple[int, int, int]
    W: int  # 64-bit words per bit plane
    L: int  # words per factor (W over F2, 2W over Z and F3)
    mode: int  # key mode of the kernel: 0 one word, 1 two planes packed, 2 hashed

    @property
    def code(self) -> int:
        return FIELD_CODES[self.field]


def layout(problem: Problem, field: str) -> Layout:
    """The storage layout of ``problem`` over ``field``.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> layout(matmul(4, 4, 4), "Z")
    Layout(field='Z', shape=(16, 16, 16), W=1, L=2, mode=1)
    >>> layout(matmul(9, 9, 9), "F2").L
    2
    """
    if field not in FIELD_CODES:
        raise InvalidInputError(f"field must be one of {', '.join(FIELD_CODES)} for the flip engine, got {field!r}")
    shape = tuple(int(n) for n in problem.shape)
    longest = max(shape)
    if longest > MAX_ENTRIES:
        raise InvalidInputError(
            f"the flip engine handles factors of up to {MAX_ENTRIES} entries, got {problem.spec} with {longest}"
        )
    W = -(-longest // 64)
    if field == "F2":
        return Layout(field, shape, W, W, 0 if W == 1 else 2)
    return Layout(field, shape, W, 2 * W, 1 if longest <= 32 else 2)


def _residues(mat: np.ndarray, field: str, name: str) -> np.ndarray:
    """Coefficients as int8 values in {-1, 0, 1} (the residue classes over F2/F3)."""
    out = np.zeros(mat.shape, dtype=np.int8)
    for idx, v in np.ndenumerate(mat):
        if isinstance(v, Fraction) and v.denominator != 1:
            p = 2 if field == "F2" else 3
            if field == "Z" or v.denominator % p == 0:
                raise InvalidInputError(
                    f"{name} coefficient {v} has no image {'over Z' if field == 'Z' else f'mod {p}'}"
                )
            v = v.numerator * pow(v.denominator, -1, p)
        v = int(v)
        if field == "F2":
            v %= 2
        elif field == "F3":
            v = (v + 1) % 3 - 1
        elif v not in (-1, 0, 1):
            raise InvalidInputError(
                f"the flip engine walks over Z with coefficients in {{-1, 0, 1}}; {name} has {v}"
            )
        out[idx] = v
    return out


def _pack(bits: np.ndarray, W: int) -> np.ndarray:
    """(R, n) booleans -> (R, W) little-endian uint64 words."""
    R, n = bits.shape
    padded = np.zeros((R, 64 * W), dtype=np.uint8)
    padded[:, :n] = bits
    return np.packbits(padded, axis=1, bitorder="little").view("<u8").astype(np.uint64)


def _unpack(words: np.ndarray, n: int) -> np.ndarray:
    """(R, W) uint64 words -> (R, n) 0/1 int8."""
    R = words.shape[0]
    raw = np.ascontiguousarray(words.astype("<u8")).view(np.uint8).reshape(R, -1)
    return np.unpackbits(raw, axis=1, bitorder="little")[:, :n].astype(np.int8)


def encode(scheme: Scheme, lay: Layout) -> tuple[np.ndarray, np.ndarray]:
    """``(fac, sg)``: words ``(R', 3, L)`` and scalars ``(R',)`` of a scheme.

    Terms with a zero factor (in the field) are dropped, so ``R' <= R``.
    Factors come out normalised (first nonzero +1, the sign in ``sg``).

    Raises
    ------
    InvalidInputError
        A coefficient the field cannot hold (over Z: outside {-1, 0, 1}).

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> fac, sg = encode(strassen(), layout(strassen().problem, "Z"))
    >>> fac.shape, sorted(set(sg.tolist()))
    ((7, 3, 2), [-1, 1])
    """
    mats = [_residues(np.asarray(m, dtype=object), lay.field, name) for m, name in zip(scheme.factors, "UVW")]
    keep = np.all([np.any(m != 0, axis=1) for m in mats], axis=0)
    mats = [m[keep] for m in mats]
    R = int(keep.sum())
    fac = np.zeros((R, 3, lay.L), dtype=np.uint64)
    sg = np.ones(R, dtype=np.int64)
    for p, m in enumerate(mats):
        if lay.field != "F2":
            first = m[np.arange(R), np.argmax(m != 0, axis=1)].astype(np.int64)
            m = m * first[:, None].astype(np.int8)
            sg *= first
            fac[:, p, : lay.W] = _pack(m == 1, lay.W)
            fac[:, p, lay.W:] = _pack(m == -1, lay.W)
        else:
            fac[:, p, :] = _pack(m != 0, lay.W)
    return fac, sg


def decode(fac: np.ndarray, sg: np.ndarray, lay: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer matrices ``(U, V, W)`` (int64) of the words of ``R`` terms.

    Over F2 the entries are 0/1; over Z and F3 they are in {-1, 0, 1} (over
    F3 the representatives of the residues), the term's sign put on W.
    """
    out = []
    for p, n in enumerate(lay.shape):
        if lay.field == "F2":
            m = _unpack(fac[:, p, :], n).astype(np.int64)
        else:
            m = _unpack(fac[:, p, : lay.W], n).astype(np.int64) - _unpack(fac[:, p, lay.W:], n).astype(np.int64)
            if p == 2:
                m = m * np.asarray(sg, dtype=np.int64)[:, None]
        out.append(m)
    return out[0], out[1], out[2]


def to_scheme(problem: Problem, fac: np.ndarray, sg: np.ndarray, lay: Layout, meta=None) -> Scheme:
    """The :class:`Scheme` of the words (field F2 or Z; over F3 a Z scheme of
    the residue representatives, exact over Z only when verified so)."""
    U, V, W = decode(fac, sg, lay)
    field = "F2" if lay.field == "F2" else "Z"
    return Scheme(problem, U, V, W, field, meta or {})
