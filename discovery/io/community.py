"""The community's scheme files: Perminov's JSON and text, Kauers--Moosbauer's
``.exp``, Maple ``.m`` lists, AlphaTensor's ``.npz``.

Every reader returns only schemes that verify exactly
(:func:`verify.verify_exact`): the collections write matmul as the trilinear
form trace(A B C), so their third factor indexes ``C^T`` where ours
(:mod:`discovery.core.problems`) indexes ``C``.  Where a file does not say
which orientation it uses, both are tried and the one that verifies is
accepted -- and reported in the scheme's provenance (``orientation``); a
file that verifies in neither is refused, naming how wrong each reading is.
Nothing is guessed silently: a file whose integer scheme is valid only
mod 2 is imported over F2 only when the file says so (Perminov's
``"z2": true``, ``mod2`` in a Kauers--Moosbauer name) or the caller asks
(``field="F2"``).

Formats (``FORMATS``):

``perminov``
    dronperminov/FastMatrixMultiplication JSON: ``n = [n1, n2, n3]``,
    ``m`` (the rank), ``u`` (m rows of n1*n2), ``v`` (m x n2*n3), ``w``
    (m x n3*n1, indexing ``C^T``); coefficients integers or ``"p/q"``.  The
    addition-reduced variant (``u_fresh``, ``v_fresh``, ``w_fresh``: sparse
    forms over the inputs and fresh shared variables, ``w`` one row per
    output entry) is expanded.
``perminov-txt``
    the same collection's text: ``n1 n2 n3 m`` on the first line, then one
    line each for U, V and W, each holding m x (entries of its matrix)
    numbers, term after term.
``exp``
    one term per line, ``(a11+a22)*(b11+b22)*(c11+c22)``: linear forms in
    ``a_ij``, ``b_jl`` and ``c_li`` (one-digit indices; ``c`` indexes
    ``C^T``); coefficients ``-``, ``2*``, ``1/2*``.
``maple``
    a Maple list of terms, each ``{A-part, B-part, C-part}`` of matrices
    (``{{row}, {row}}``), the C-part n x k (``C^T``) or k x n.
``alphatensor``
    DeepMind's ``.npz`` (:func:`discovery.io.formats.load_alphatensor`).
``json``
    our ``bilinear-scheme/1`` (:func:`discovery.io.formats.load_json`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from discovery.core.coefficients import exact, mod2, to_json
from discovery.core.errors import InvalidInputError, SchemeFormatError
from discovery.core.problems import MatMul, matmul
from discovery.core.scheme import Scheme
from discovery.io.formats import atomic_write_bytes, load_alphatensor, load_json, save_alphatensor
from discovery.io.formats import dumps as dumps_json
from verify import verify_exact, wrong_entries

__all__ = [
    "UnverifiedSchemeError",
    "FORMATS",
    "EXTENSIONS",
    "Imported",
    "detect_format",
    "read",
    "iter_scheme_files",
    "dumps",
    "write",
    "parse_perminov",
    "parse_perminov_txt",
    "parse_exp",
    "parse_maple",
    "dumps_perminov",
    "dumps_perminov_txt",
    "dumps_exp",
    "dumps_maple",
]

#: Format names, as ``bilinear import/export --format`` takes them.
FORMATS = ("perminov", "perminov-txt", "exp", "maple", "alphatensor", "json")

#: File extensions of each format (``auto`` detection and directory imports).
EXTENSIONS = {".json": ("perminov", "json"), ".txt": ("perminov-txt",), ".exp": ("exp",), ".m": ("maple",),
              ".npz": ("alphatensor",)}

_MAX_BYTES = 64 * 2**20


class UnverifiedSchemeError(SchemeFormatError):
    """A file that reads well but whose scheme does not verify (in any orientation)."""


@dataclass(frozen=True)
class Imported:
    """One verified scheme read from a community file.

    ``orientation`` says how the file's third factor was read (``"C^T"`` or
    ``"C"``); ``note`` anything else decided (e.g. the field).
    """

    scheme: Scheme
    path: str
    format: str
    orientation: str = ""
    note: str = ""


# ----------------------------------------------------------------- helpers
def _read_text(path: Path) -> str:
    if not path.exists():
        raise SchemeFormatError(f"{path}: no such file")
    if path.is_dir():
        raise SchemeFormatError(f"{path}: is a directory, expected a scheme file")
    size = path.stat().st_size
    if size > _MAX_BYTES:
        raise SchemeFormatError(f"{path}: {size} bytes is larger than the {_MAX_BYTES} a scheme file may have")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SchemeFormatError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise SchemeFormatError(f"{path}: cannot read ({exc.strerror})") from None


def _coef(value: Any, where: str) -> int | Fraction:
    if isinstance(value, float):
        raise SchemeFormatError(f"{where}: float {value!r} where an exact coefficient is required")
    try:
        return exact(value, where)
    except InvalidInputError as exc:
        raise SchemeFormatError(str(exc)) from None


def _dims(value: Any, where: str) -> tuple[int, int, int]:
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
        raise SchemeFormatError(f"{where}: expected three positive integers, got {value!r}")
    try:
        matmul(*value)
    except InvalidInputError as exc:
        raise SchemeFormatError(f"{where}: {exc}") from None
    return tuple(value)  # type: ignore[return-value]


def _from_ct(rows: Sequence[Sequence], k: int, n: int) -> list[list]:
    """Rows indexing C^T (``l*k + i``) to rows indexing C (``i*n + l``)."""
    return [[row[l * k + i] for i in range(k) for l in range(n)] for row in rows]


def _to_ct(rows: Sequence[Sequence], k: int, n: int) -> list[list]:
    return [[row[i * n + l] for l in range(n) for i in range(k)] for row in rows]


def _field_for(values: Sequence, declared: Optional[str]) -> str:
    if declared is not None:
        return declared
    return "Z" if all(isinstance(v, int) for v in values) else "Q"


def _build(problem: MatMul, U, V, W, field: str, where: str) -> Scheme:
    if field == "F2":
        try:
            U, V, W = ([[mod2(x) for x in row] for row in M] for M in (U, V, W))
        except InvalidInputError as exc:
            raise SchemeFormatError(f"{where}: {exc}") from None
    try:
        return Scheme(problem, U, V, W, field)
    except InvalidInputError as exc:
        raise SchemeFormatError(f"{where}: {exc}") from None


def _choose(problem: MatMul, U, V, W3, orientations: Sequence[str], declared: Optional[str], where: str,
            meta: dict) -> tuple[Scheme, str, str]:
    """Try the orientations of the third factor; return the verified scheme.

    ``W3`` holds the third factor as the file has it; ``"C^T"`` reads it as
    indexing C transposed, ``"C"`` as indexing C.
    """
    k, n = problem.k, problem.n
    values = [x for M in (U, V, W3) for row in M for x in row]
    field = _field_for(values, declared)
    tried = []
    good = []
    for orient in orientations:
        W = _from_ct(W3, k, n) if orient == "C^T" else [list(r) for r in W3]
        scheme = _build(problem, U, V, W, field, where)
        if verify_exact(scheme).ok:
            good.append((orient, scheme))
        else:
            tried.append((orient, wrong_entries(scheme)))
    if good:
        orient, scheme = good[0]  # the documented reading first
        label = orient if len(good) == 1 else f"{orient} (the {good[1][0]} reading verifies too)"
        prov = {"engine": "import", **meta, "orientation": label, "field": field}
        return scheme.with_meta(provenance=prov), label, ""
    hint = ""
    if field != "F2" and all(isinstance(v, int) for v in values):
        for orient in orientations:
            W = _from_ct(W3, k, n) if orient == "C^T" else [list(r) for r in W3]
            if verify_exact(_build(problem, U, V, W, "F2", where)).ok:
                hint = "; it is valid mod 2 only (import it with --field F2)"
                break
    detail = "; ".join(f"with the third factor as {o}: wrong in {w} tensor entr{'y' if w == 1 else 'ies'}"
                       for o, w in tried)
    raise UnverifiedSchemeError(f"{where}: does not verify ({detail}){hint}")


# --------------------------------------------------------------- Perminov
def _perminov_rows(value: Any, rows: int, width: int, where: str) -> list[list]:
    if not isinstance(value, list) or len(value) != rows:
        got = len(value) if isinstance(value, list) else type(value).__name__
        raise SchemeFormatError(f"{where}: expected {rows} rows, got {got}")
    out = []
    for r, row in enumerate(value):
        if not isinstance(row, list) or len(row) != width:
            raise SchemeFormatError(f"{where}[{r}]: expected {width} coefficients")
        out.append([_coef(v, f"{where}[{r}][{c}]") for c, v in enumerate(row)])
    return out


def _expand_sparse(rows: Any, fresh: Any, base: int, where: str) -> list[dict[int, Any]]:
    """Expand sparse forms over ``base`` variables and fresh ones (index >= base)."""
    if not isinstance(fresh, list):
        raise SchemeFormatError(f"{where}_fresh: expected a list")

    def form(items: Any, at: str) -> list[tuple[int, Any]]:
        if not isinstance(items, list):
            raise SchemeFormatError(f"{at}: expected a list of {{index, value}} objects")
        out = []
        for j, it in enumerate(items):
            if not isinstance(it, dict) or "index" not in it or "value" not in it:
                raise SchemeFormatError(f"{at}[{j}]: expected an object with index and value")
            idx = it["index"]
            if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
                raise SchemeFormatError(f"{at}[{j}].index: expected a non-negative integer, got {idx!r}")
            out.append((idx, _coef(it["value"], f"{at}[{j}].value")))
        return out

    expanded: list[dict[int, Any]] = []
    for f, items in enumerate(fresh):
        acc: dict[int, Any] = {}
        for idx, val in form(items, f"{where}_fresh[{f}]"):
            if idx < base:
                acc[idx] = acc.get(idx, 0) + val
            elif idx - base < f:
                for k2, v2 in expanded[idx - base].items():
                    acc[k2] = acc.get(k2, 0) + val * v2
            else:
                raise SchemeFormatError(f"{where}_fresh[{f}]: refers to fresh variable {idx - base} "
                                        "that is not defined before it")
        expanded.append(acc)
    out = []
    for r, items in enumerate(rows if isinstance(rows, list) else []):
        acc = {}
        for idx, val in form(items, f"{where}[{r}]"):
            if idx < base:
                acc[idx] = acc.get(idx, 0) + val
            elif idx - base < len(expanded):
                for k2, v2 in expanded[idx - base].items():
                    acc[k2] = acc.get(k2, 0) + val * v2
            else:
                raise SchemeFormatError(f"{where}[{r}]: index {idx} is neither a variable nor a fresh one")
        out.append(acc)
    if not isinstance(rows, list):
        raise SchemeFormatError(f"{where}: expected a list")
    return out


def _dense(forms: list[dict[int, Any]], width: int) -> list[list]:
    return [[f.get(j, 0) for j in range(width)] for f in forms]


def parse_perminov(text: str, source: str = "<string>", field: Optional[str] = None) -> Scheme:
    """A scheme from Perminov's JSON (dense or addition-reduced), verified.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> parse_perminov(dumps_perminov(strassen())) == strassen()
    True
    """
    try:
        d = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise SchemeFormatError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:
        raise SchemeFormatError(f"{source}: {exc}") from None
    if not isinstance(d, dict):
        raise SchemeFormatError(f"{source}: expected a JSON object")
    missing = [key for key in ("n", "m", "u", "v", "w") if key not in d]
    if missing:
        raise SchemeFormatError(f"{source}: missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                "(a Perminov scheme has n, m, u, v, w)")
    k, m, n = _dims(d["n"], f"{source}: n")
    rank = d["m"]
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise SchemeFormatError(f"{source}: m must be a positive integer (the rank), got {rank!r}")
    z2 = d.get("z2", False)
    if not isinstance(z2, bool):
        raise SchemeFormatError(f"{source}: z2 must be true or false, got {z2!r}")
    declared = field or ("F2" if z2 else None)
    problem = matmul(k, m, n)
    meta = {"format": "perminov", "source": Path(source).name}
    if "u_fresh" in d or "v_fresh" in d or "w_fresh" in d:
        U = _dense(_expand_sparse(d["u"], d.get("u_fresh", []), k * m, f"{source}: u"), k * m)
        V = _dense(_expand_sparse(d["v"], d.get("v_fresh", []), m * n, f"{source}: v"), m * n)
        outs = _dense(_expand_sparse(d["w"], d.get("w_fresh", []), rank, f"{source}: w"), rank)
        if len(U) != rank or len(V) != rank or len(outs) != k * n:
            raise SchemeFormatError(f"{source}: u and v need {rank} rows and w {k * n} (one per output entry), "
                                    f"got {len(U)}, {len(V)}, {len(outs)}")
        # w: one row per output entry, over the products -> the third factor, term by term
        W3 = [[outs[c][r] for c in range(k * n)] for r in range(rank)]
        orient = ("C^T", "C")
        meta["variant"] = "addition-reduced"
    else:
        U = _perminov_rows(d["u"], rank, k * m, f"{source}: u")
        V = _perminov_rows(d["v"], rank, m * n, f"{source}: v")
        W3 = _perminov_rows(d["w"], rank, n * k, f"{source}: w")
        orient = ("C^T", "C")
    scheme, _, _ = _choose(problem, U, V, W3, orient, declared, source, meta)
    return scheme


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a coefficient")


def parse_perminov_txt(text: str, source: str = "<string>", field: Optional[str] = None) -> Scheme:
    """A scheme from Perminov's text format (``n1 n2 n3 m`` then U, V, W lines), verified.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> parse_perminov_txt(dumps_perminov_txt(strassen())) == strassen()
    True
    """
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if len(lines) != 4:
        raise SchemeFormatError(f"{source}: expected 4 lines (sizes and rank, U, V, W), got {len(lines)}")
    try:
        head = [int(x) for x in lines[0]]
    except ValueError:
        raise SchemeFormatError(f"{source}: line 1 must be four integers n1 n2 n3 rank") from None
    if len(head) != 4:
        raise SchemeFormatError(f"{source}: line 1 must be four integers n1 n2 n3 rank")
    k, m, n = _dims(head[:3], f"{source}: line 1")
    rank = head[3]
    if rank < 1:
        raise SchemeFormatError(f"{source}: the rank must be positive, got {rank}")
    mats = []
    for li, width, name in ((1, k * m, "U"), (2, m * n, "V"), (3, n * k, "W")):
        vals = lines[li]
        if len(vals) != rank * width:
            raise SchemeFormatError(f"{source}: line {li + 1} ({name}) has {len(vals)} numbers, "
                                    f"expected {rank} x {width} = {rank * width}")
        coefs = [_coef(v, f"{source}: line {li + 1} entry {j + 1}") for j, v in enumerate(vals)]
        mats.append([coefs[r * width:(r + 1) * width] for r in range(rank)])
    scheme, _, _ = _choose(matmul(k, m, n), mats[0], mats[1], mats[2], ("C^T", "C"), field, source,
                           {"format": "perminov-txt", "source": Path(source).name})
    return scheme


# ------------------------------------------------------------------- .exp
_TERM = re.compile(r"^\s*\(([^()]*)\)\s*\*\s*\(([^()]*)\)\s*\*\s*\(([^()]*)\)\s*[;,]?\s*$")
_ATOM = re.compile(r"\s*([+-])?\s*(?:(\d+(?:\s*/\s*\d+)?)\s*\*?\s*)?([abc])(\d)(\d)\s*")
_NAME = re.compile(r"(?<!\d)(\d)(\d)(\d)-(\d+)-mod(\d+)")


def _linear_form(text: str, letter: str, where: str) -> dict[tuple[int, int], Any]:
    out: dict[tuple[int, int], Any] = {}
    pos = 0
    text = text.strip()
    if not text:
        raise SchemeFormatError(f"{where}: empty factor")
    first = True
    while pos < len(text):
        m = _ATOM.match(text, pos)
        if not m or m.end() == pos:
            raise SchemeFormatError(f"{where}: cannot read {text[pos:pos + 20]!r}")
        sign, coef, var, i, j = m.groups()
        if sign is None and not first:
            raise SchemeFormatError(f"{where}: missing + or - before {text[m.start():m.end()].strip()!r}")
        if var != letter:
            raise SchemeFormatError(f"{where}: {var}{i}{j} in the {letter}-factor")
        value = _coef(coef.replace(" ", ""), where) if coef else 1
        if sign == "-":
            value = -value
        key = (int(i), int(j))
        if key[0] < 1 or key[1] < 1:
            raise SchemeFormatError(f"{where}: {var}{i}{j}: indices start at 1")
        out[key] = out.get(key, 0) + value
        pos = m.end()
        first = False
    return out


def parse_exp(text: str, source: str = "<string>", field: Optional[str] = None,
              shape: Optional[tuple[int, int, int]] = None) -> Scheme:
    """A scheme from a Kauers--Moosbauer ``.exp`` file, verified.

    The format is read from ``shape``, the file name (``226-21-mod2``) or the
    largest indices; the field from ``field``, the name (``mod2``: F2,
    ``mod0``: Z) or the coefficients.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> parse_exp(dumps_exp(strassen())) == strassen()
    True
    >>> print(dumps_exp(strassen()).splitlines()[0])
    (a11+a22)*(b11+b22)*(c11+c22)
    """
    terms = []
    for ln, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith(("#", "//")):
            continue
        m = _TERM.match(line)
        if not m:
            raise SchemeFormatError(f"{source}: line {ln}: expected (a..)*(b..)*(c..), got {line.strip()[:40]!r}")
        terms.append(tuple(_linear_form(m.group(g + 1), "abc"[g], f"{source}: line {ln}") for g in range(3)))
    if not terms:
        raise SchemeFormatError(f"{source}: holds no terms")
    name = _NAME.search(Path(source).name)
    declared = field
    if name and declared is None:
        declared = {"2": "F2", "0": "Z"}.get(name.group(5))
        if declared is None:
            raise SchemeFormatError(f"{source}: mod{name.group(5)} schemes are not supported (only mod2 and mod0)")
    if shape is None and name:
        shape = (int(name.group(1)), int(name.group(2)), int(name.group(3)))
    if shape is None:
        k = max(i for t in terms for i, _ in t[0])
        m = max(max(j for t in terms for _, j in t[0]), max(j for t in terms for j, _ in t[1]))
        n = max(max(l for t in terms for _, l in t[1]), max(l for t in terms for l, _ in t[2]))
        shape = (k, m, n)
    k, m, n = _dims(list(shape), f"{source}: format")
    if name and int(name.group(4)) != len(terms):
        raise SchemeFormatError(f"{source}: the name says rank {name.group(4)} but the file has {len(terms)} terms")
    U, V, W3 = [], [], []
    for t, (fa, fb, fc) in enumerate(terms):
        for form, (rows, cols), letter, out in ((fa, (k, m), "a", U), (fb, (m, n), "b", V), (fc, (n, k), "c", W3)):
            row = [0] * (rows * cols)
            for (i, j), v in form.items():
                if i > rows or j > cols:
                    raise SchemeFormatError(f"{source}: term {t + 1}: {letter}{i}{j} is outside the "
                                            f"{k}x{m}x{n} format")
                row[(i - 1) * cols + (j - 1)] = v
            out.append(row)
    # c_li indexes C^T (n x k); when k == n the other reading is tried too
    orient = ("C^T", "C") if k == n else ("C^T",)
    scheme, _, _ = _choose(matmul(k, m, n), U, V, W3, orient, declared, source,
                           {"format": "exp", "source": Path(source).name})
    return scheme


# ------------------------------------------------------------------ Maple
_MAPLE_TOKEN = re.compile(r"\s*(?:([{}\[\],])|([+-]?\s*\d+(?:\s*/\s*\d+)?))")


def _maple_lists(text: str, source: str) -> Any:
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise SchemeFormatError(f"{source}: no Maple list found")
    stack: list[list] = []
    result = None
    pos = start
    end = len(text)
    while pos < end:
        m = _MAPLE_TOKEN.match(text, pos)
        if not m:
            rest = text[pos:].strip()
            if result is not None and rest in ("", ":", ";"):
                break
            raise SchemeFormatError(f"{source}: cannot read {text[pos:pos + 20].strip()!r} at offset {pos}")
        punct, number = m.groups()
        pos = m.end()
        if punct in ("{", "["):
            if result is not None:
                raise SchemeFormatError(f"{source}: text after the list")
            stack.append([])
        elif punct in ("}", "]"):
            if not stack:
                raise SchemeFormatError(f"{source}: unbalanced closing bracket at offset {m.start()}")
            done = stack.pop()
            if stack:
                stack[-1].append(done)
            else:
                result = done
        elif punct == ",":
            continue
        else:
            if not stack:
                raise SchemeFormatError(f"{source}: a number outside any list")
            stack[-1].append(_coef(number.replace(" ", ""), f"{source}: offset {m.start()}"))
        if result is not None and not stack:
            rest = text[pos:].strip()
            if rest not in ("", ":", ";"):
                raise SchemeFormatError(f"{source}: text after the list: {rest[:20]!r}")
            break
    if result is None:
        raise SchemeFormatError(f"{source}: unbalanced brackets (the list never closes)")
    return result


def _matrix(obj: Any, where: str) -> list[list]:
    if not isinstance(obj, list) or not obj or not all(isinstance(r, list) for r in obj):
        raise SchemeFormatError(f"{where}: expected a matrix (a list of rows)")
    width = len(obj[0])
    if width == 0 or any(len(r) != width for r in obj) or any(isinstance(v, list) for r in obj for v in r):
        raise SchemeFormatError(f"{where}: rows of different lengths")
    return obj


def parse_maple(text: str, source: str = "<string>", field: Optional[str] = None) -> Scheme:
    """A scheme from a Maple list of ``{A-part, B-part, C-part}`` terms, verified.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> parse_maple(dumps_maple(strassen())) == strassen()
    True
    """
    data = _maple_lists(text, source)
    if not data:
        raise SchemeFormatError(f"{source}: holds no terms")
    parts = []
    for t, term in enumerate(data):
        if not isinstance(term, list) or len(term) != 3:
            raise SchemeFormatError(f"{source}: term {t + 1} must have three parts (A, B, C)")
        parts.append([_matrix(p, f"{source}: term {t + 1} part {j + 1}") for j, p in enumerate(term)])
    k, m = len(parts[0][0]), len(parts[0][0][0])
    m2, n = len(parts[0][1]), len(parts[0][1][0])
    if m2 != m:
        raise SchemeFormatError(f"{source}: term 1: the A-part is {k}x{m} but the B-part {m2}x{n}")
    _dims([k, m, n], f"{source}: format")
    cshape = (len(parts[0][2]), len(parts[0][2][0]))
    if cshape == (n, k) and k != n:
        orient = ("C^T",)
    elif cshape == (k, n) and k != n:
        orient = ("C",)
    elif cshape == (n, k):
        orient = ("C^T", "C")
    else:
        raise SchemeFormatError(f"{source}: term 1: the C-part is {cshape[0]}x{cshape[1]}, expected {n}x{k}")
    U, V, W3 = [], [], []
    for t, (a, b, c) in enumerate(parts):
        for mat, shape, name in ((a, (k, m), "A"), (b, (m, n), "B"), (c, cshape, "C")):
            if (len(mat), len(mat[0])) != shape:
                raise SchemeFormatError(f"{source}: term {t + 1}: the {name}-part is {len(mat)}x{len(mat[0])}, "
                                        f"expected {shape[0]}x{shape[1]}")
        U.append([v for row in a for v in row])
        V.append([v for row in b for v in row])
        W3.append([v for row in c for v in row])
    name = _NAME.search(Path(source).name)
    declared = field
    if name and declared is None:
        declared = {"2": "F2", "0": "Z"}.get(name.group(5))
    scheme, _, _ = _choose(matmul(k, m, n), U, V, W3, orient, declared, source,
                           {"format": "maple", "source": Path(source).name})
    return scheme


# ----------------------------------------------------------------- writers
def _require_matmul(scheme: Scheme, fmt: str) -> MatMul:
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"expected a Scheme, got {type(scheme).__name__}")
    if not isinstance(scheme.problem, MatMul):
        raise InvalidInputError(f"the {fmt} format holds matmul schemes only, got {scheme.problem.kind}")
    return scheme.problem


def _form_text(coeffs: Sequence, names: Sequence[str], style: str) -> str:
    parts = []
    for c, name in zip(coeffs, names):
        if c == 0:
            continue
        sign = "-" if c < 0 else "+"
        mag = abs(c)
        if mag == 1:
            body = name
        elif style == "exp":
            body = f"{to_json(mag)}*{name}"
        else:
            body = f"{to_json(mag)}{name}"
        parts.append((sign, body))
    if not parts:
        return "0"
    if style == "exp":
        text = "".join(f"{s}{b}" for s, b in parts)
        return text[1:] if text.startswith("+") else text
    text = " ".join(f"{s} {b}" for s, b in parts)
    return text[2:] if text.startswith("+ ") else "-" + text[2:]


def dumps_perminov(scheme: Scheme) -> str:
    """Perminov's JSON for a matmul scheme (``w`` indexes ``C^T``), with his readable
    ``multiplications`` and ``elements`` lines."""
    p = _require_matmul(scheme, "perminov")
    k, m, n = p.k, p.m, p.n
    a = [f"a{i + 1}{j + 1}" if max(k, m) < 10 else f"a{i + 1}_{j + 1}" for i in range(k) for j in range(m)]
    b = [f"b{j + 1}{l + 1}" if max(m, n) < 10 else f"b{j + 1}_{l + 1}" for j in range(m) for l in range(n)]
    mults = [f"m{r + 1} = ({_form_text(u, a, 'perminov')}) * ({_form_text(v, b, 'perminov')})"
             for r, (u, v) in enumerate(zip(scheme.U.tolist(), scheme.V.tolist()))]
    ms = [f"m{r + 1}" for r in range(scheme.rank)]
    W = scheme.W.tolist()
    elements = []
    for i in range(k):
        for l in range(n):
            c = f"c{i + 1}{l + 1}" if max(k, n) < 10 else f"c{i + 1}_{l + 1}"
            elements.append(f"{c} = {_form_text([W[r][i * n + l] for r in range(scheme.rank)], ms, 'perminov')}")
    d = {
        "n": [k, m, n],
        "m": scheme.rank,
        "z2": scheme.field == "F2",
        "multiplications": mults,
        "elements": elements,
        "u": [[to_json(v) for v in row] for row in scheme.U.tolist()],
        "v": [[to_json(v) for v in row] for row in scheme.V.tolist()],
        "w": [[to_json(v) for v in row] for row in _to_ct(scheme.W.tolist(), k, n)],
    }
    head = {key: d[key] for key in ("n", "m", "z2")}
    text = json.dumps(head, indent=4)[:-2] + ",\n"
    for key in ("multiplications", "elements"):
        text += f'    "{key}": [\n' + ",\n".join("        " + json.dumps(x) for x in d[key]) + "\n    ],\n"
    for key in ("u", "v", "w"):
        text += f'    "{key}": [\n' + ",\n".join("        " + json.dumps(x) for x in d[key]) + "\n    ]"
        text += ",\n" if key != "w" else "\n"
    return text + "}\n"


def dumps_perminov_txt(scheme: Scheme) -> str:
    """Perminov's text format: ``n1 n2 n3 m``, then the U, V and W (``C^T``) lines."""
    p = _require_matmul(scheme, "perminov-txt")
    k, m, n = p.k, p.m, p.n
    lines = [f"{k} {m} {n} {scheme.rank}"]
    for rows in (scheme.U.tolist(), scheme.V.tolist(), _to_ct(scheme.W.tolist(), k, n)):
        lines.append(" ".join(str(to_json(v)) for row in rows for v in row))
    return "\n".join(lines) + "\n"


def dumps_exp(scheme: Scheme) -> str:
    """The ``.exp`` text of a matmul scheme (format sizes up to 9; ``c_li`` indexes ``C^T``)."""
    p = _require_matmul(scheme, "exp")
    k, m, n = p.k, p.m, p.n
    if max(k, m, n) > 9:
        raise InvalidInputError(f"the exp format has one-digit indices: {p.spec} is too large")
    a = [f"a{i + 1}{j + 1}" for i in range(k) for j in range(m)]
    b = [f"b{j + 1}{l + 1}" for j in range(m) for l in range(n)]
    c = [f"c{l + 1}{i + 1}" for l in range(n) for i in range(k)]
    lines = []
    for u, v, w in zip(scheme.U.tolist(), scheme.V.tolist(), _to_ct(scheme.W.tolist(), k, n)):
        lines.append(f"({_form_text(u, a, 'exp')})*({_form_text(v, b, 'exp')})*({_form_text(w, c, 'exp')})")
    return "\n".join(lines) + "\n"


def dumps_maple(scheme: Scheme) -> str:
    """A Maple list of ``{A-part, B-part, C-part}`` terms (the C-part n x k, ``C^T``)."""
    p = _require_matmul(scheme, "maple")
    k, m, n = p.k, p.m, p.n

    def mat(values: Sequence, rows: int, cols: int) -> str:
        return "{" + ", ".join("{" + ", ".join(str(to_json(values[i * cols + j])) for j in range(cols)) + "}"
                               for i in range(rows)) + "}"

    terms = []
    for u, v, w in zip(scheme.U.tolist(), scheme.V.tolist(), _to_ct(scheme.W.tolist(), k, n)):
        terms.append("  {" + ", ".join((mat(u, k, m), mat(v, m, n), mat(w, n, k))) + "}")
    return "{\n" + ",\n".join(terms) + "\n}\n"


_DUMPERS: dict[str, Callable[[Scheme], str]] = {
    "perminov": dumps_perminov,
    "perminov-txt": dumps_perminov_txt,
    "exp": dumps_exp,
    "maple": dumps_maple,
}


def dumps(scheme: Scheme, fmt: str) -> str:
    """The text of ``scheme`` in a text format of :data:`FORMATS`.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> dumps(strassen(), "perminov-txt").splitlines()[0]
    '2 2 2 7'
    """
    if fmt == "json":
        return dumps_json(scheme)
    try:
        return _DUMPERS[fmt](scheme)
    except KeyError:
        raise InvalidInputError(f"unknown text format {fmt!r}: expected one of {', '.join(_DUMPERS)}, json") from None


def write(scheme: Scheme, path: str | os.PathLike, fmt: str) -> Path:
    """Write ``scheme`` to ``path`` in format ``fmt`` (atomically)."""
    if fmt == "alphatensor":
        return save_alphatensor([scheme], path)
    return atomic_write_bytes(path, dumps(scheme, fmt).encode())


# ----------------------------------------------------------------- readers
def detect_format(path: str | os.PathLike) -> str:
    """The format of a file, from its extension and (for ``.json``) its keys.

    Raises
    ------
    SchemeFormatError
        When the extension is not one of :data:`EXTENSIONS`.
    """
    p = Path(path)
    options = EXTENSIONS.get(p.suffix.lower())
    if options is None:
        raise SchemeFormatError(f"{p}: cannot tell the format from the extension {p.suffix or '(none)'!r}; "
                                f"pass --format ({', '.join(FORMATS)})")
    if len(options) == 1:
        return options[0]
    head = _read_text(p)[:4096]
    return "json" if re.search(r'"format"\s*:\s*"bilinear-scheme/', head) else "perminov"


_PARSERS: dict[str, Callable[..., Scheme]] = {
    "perminov": parse_perminov,
    "perminov-txt": parse_perminov_txt,
    "exp": parse_exp,
    "maple": parse_maple,
}


def read(path: str | os.PathLike, fmt: str = "auto", field: Optional[str] = None) -> list[Imported]:
    """Every scheme in a file, each verified exactly; raises if one does not verify.

    Parameters
    ----------
    path : path-like
    fmt : str
        ``"auto"`` or one of :data:`FORMATS`.
    field : {"Z", "Q", "F2"}, optional
        Force a field (``"F2"`` reduces mod 2); by default the file's own
        declaration, else Z for integers and Q for rationals.

    Raises
    ------
    SchemeFormatError
        Unreadable file, or a scheme that does not verify in any orientation.
    """
    p = Path(path)
    if field not in (None, "Z", "Q", "F2"):
        raise InvalidInputError(f"field must be Z, Q or F2, got {field!r}")
    fmt = detect_format(p) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown format {fmt!r}: expected auto or one of {', '.join(FORMATS)}")
    if fmt == "alphatensor":
        out = []
        for s in load_alphatensor(p, field=field):
            check = verify_exact(s)
            if not check.ok:
                raise UnverifiedSchemeError(f"{p}: the {s.problem.spec} scheme does not verify ({check.reason})")
            out.append(Imported(s, str(p), fmt, "C^T"))
        return out
    if fmt == "json":
        s = load_json(p)
        if field is not None and field != s.field:
            raise SchemeFormatError(f"{p}: a scheme over {s.field}, not {field}")
        check = verify_exact(s)
        if not check.ok:
            raise UnverifiedSchemeError(f"{p}: does not verify ({check.reason})")
        return [Imported(s, str(p), fmt)]
    text = _read_text(p)
    scheme = _PARSERS[fmt](text, str(p), field=field)
    prov = scheme.meta.get("provenance", {})
    return [Imported(scheme, str(p), fmt, prov.get("orientation", ""))]


def iter_scheme_files(root: str | os.PathLike) -> Iterator[Path]:
    """Scheme files under a directory (every extension of :data:`EXTENSIONS`), sorted.

    Hidden files and folders (names starting with ``.``) are skipped.
    """
    root = Path(root)
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in EXTENSIONS:
                yield Path(dirpath) / name

