"""File formats: ``bilinear-scheme/1`` JSON and AlphaTensor's ``.npz``.

``bilinear-scheme/1`` (documented in ``results/README.md``) holds one scheme
per file::

    {"format": "bilinear-scheme/1",
     "problem": {"kind": "matmul", "k": 2, "m": 2, "n": 2},
     "field": "Z", "rank": 7,
     "U": [[...], ...], "V": [[...], ...], "W": [[...], ...],
     "provenance": {...}, "costs": {...}}

Rows are terms; entries are JSON integers or strings ``"p/q"``.  Keys other
than the reserved ones are kept in :attr:`Scheme.meta` and written back.

AlphaTensor's files map keys ``"k,m,n"`` to factors ``(u, v, w)`` of shapes
``(k*m, R)``, ``(m*n, R)``, ``(n*k, R)`` for the tensor
``T[i*m + j, j*n + l, l*k + i]``: their third factor indexes ``C`` transposed.
This module translates that convention at the edge.  Their files hold object
arrays (pickles); they are read with a restricted unpickler that admits only
numpy's array reconstruction and refuses every other global.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import tempfile
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from discovery.core.coefficients import from_float, mod2, to_json
from discovery.core.errors import InvalidInputError, SchemeFormatError, UnsafePickleError
from discovery.core.problems import MatMul, matmul, problem_from_dict
from discovery.core.scheme import Scheme

__all__ = [
    "FORMAT",
    "scheme_to_dict",
    "scheme_from_dict",
    "dumps",
    "loads",
    "save_json",
    "load_json",
    "load_scheme",
    "atomic_write_bytes",
    "load_alphatensor",
    "save_alphatensor",
]

FORMAT = "bilinear-scheme/1"
_RESERVED = ("format", "problem", "field", "rank", "U", "V", "W")


# --------------------------------------------------------------------- JSON
def scheme_to_dict(scheme: Scheme) -> dict[str, Any]:
    """The ``bilinear-scheme/1`` object for a scheme (costs refreshed).

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import matmul
    >>> d = scheme_to_dict(standard_scheme(matmul(1, 1, 1)))
    >>> d["format"], d["rank"], d["U"]
    ('bilinear-scheme/1', 1, [[1]])
    """
    out: dict[str, Any] = {
        "format": FORMAT,
        "problem": scheme.problem.to_dict(),
        "field": scheme.field,
        "rank": scheme.rank,
        "U": [[to_json(v) for v in row] for row in scheme.U.tolist()],
        "V": [[to_json(v) for v in row] for row in scheme.V.tolist()],
        "W": [[to_json(v) for v in row] for row in scheme.W.tolist()],
    }
    for key, value in scheme.meta.items():
        if key not in _RESERVED:
            out[key] = value
    out["costs"] = scheme.costs()
    return out


def scheme_from_dict(d: Any) -> Scheme:
    """Build a scheme from a ``bilinear-scheme/1`` object, validating it all.

    Raises
    ------
    SchemeFormatError
        Naming the missing or bad key (wrong widths, floats, zero
        denominators, unknown problem, rank mismatch, ...).
    """
    if not isinstance(d, dict):
        raise SchemeFormatError(f"expected a JSON object, got {type(d).__name__}")
    if d.get("format") != FORMAT:
        raise SchemeFormatError(f"format must be {FORMAT!r}, got {d.get('format')!r}")
    missing = [k for k in _RESERVED if k not in d]
    if missing:
        raise SchemeFormatError(f"missing key{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    try:
        problem = problem_from_dict(d["problem"])
        scheme = Scheme(
            problem,
            d["U"],
            d["V"],
            d["W"],
            d["field"],
            {k: v for k, v in d.items() if k not in _RESERVED and k != "costs"},
        )
    except SchemeFormatError:
        raise
    except InvalidInputError as exc:
        raise SchemeFormatError(str(exc)) from None
    rank = d["rank"]
    if isinstance(rank, bool) or not isinstance(rank, int) or rank != scheme.rank:
        raise SchemeFormatError(f"rank is {rank!r} but U, V, W have {scheme.rank} rows")
    return scheme


def dumps(scheme: Scheme) -> str:
    """Serialise to ``bilinear-scheme/1`` JSON text (one row per line)."""
    d = scheme_to_dict(scheme)
    factors = {key: d.pop(key) for key in ("U", "V", "W")}
    head = json.dumps(d, indent=2, sort_keys=False)
    rows = []
    for key, mat in factors.items():
        inner = ",\n    ".join(json.dumps(row, separators=(",", ":")) for row in mat)
        rows.append(f'  "{key}": [\n    {inner}\n  ]')
    return head[:-2] + ",\n" + ",\n".join(rows) + "\n}\n"


def loads(text: str | bytes, source: str = "<string>") -> Scheme:
    """Parse ``bilinear-scheme/1`` JSON text."""
    try:
        d = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise SchemeFormatError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:
        raise SchemeFormatError(f"{source}: {exc}") from None
    try:
        return scheme_from_dict(d)
    except SchemeFormatError as exc:
        raise SchemeFormatError(f"{source}: {exc}") from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a coefficient")


def atomic_write_bytes(path: str | os.PathLike, data: bytes, exclusive: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temporary file and a rename.

    A crash leaves either the old file or the new one, never a partial file.
    With ``exclusive=True`` an existing file is never replaced
    (``FileExistsError``).
    """
    path = Path(path)
    if path.is_dir():
        raise InvalidInputError(f"{path}: is a directory, expected a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual mode
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if path exists: no overwrite, ever
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_json(scheme: Scheme, path: str | os.PathLike, exclusive: bool = False) -> Path:
    """Write one scheme as ``bilinear-scheme/1`` JSON, atomically."""
    return atomic_write_bytes(path, dumps(scheme).encode(), exclusive=exclusive)


def _read_bytes(path: str | os.PathLike) -> bytes:
    p = Path(path)
    if not p.exists():
        raise SchemeFormatError(f"{p}: no such file")
    if p.is_dir():
        raise SchemeFormatError(f"{p}: is a directory, expected a scheme file")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise SchemeFormatError(f"{p}: cannot read ({exc.strerror})") from None


def load_json(path: str | os.PathLike) -> Scheme:
    """Read one ``bilinear-scheme/1`` file.

    Raises
    ------
    SchemeFormatError
        Missing file, malformed JSON or any invalid content, with the path.
    """
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SchemeFormatError(f"{path}: not UTF-8 text (is it an .npz? use --format alphatensor)") from None
    return loads(text, str(path))


def load_scheme(path: str | os.PathLike) -> Scheme:
    """Read a scheme file: JSON, or an AlphaTensor ``.npz`` holding exactly one scheme."""
    if str(path).endswith(".npz"):
        schemes = load_alphatensor(path)
        if len(schemes) != 1:
            raise SchemeFormatError(
                f"{path}: holds {len(schemes)} schemes; import it with `bilinear import` first"
            )
        return schemes[0]
    return load_json(path)


# --------------------------------------------------------------- AlphaTensor
def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:
        from numpy._core import multiarray as ma  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray as ma  # type: ignore[no-redef]
    import codecs

    allowed = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = ma._reconstruct
        allowed[(module, "scalar")] = ma.scalar
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    # Python-2 era pickles (protocol 2) encode bytes through codecs.encode.
    allowed[("_codecs", "encode")] = codecs.encode
    return allowed


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy's array-reconstruction globals."""

    _allowed = None

    def find_class(self, module: str, name: str):
        if _NumpyOnlyUnpickler._allowed is None:
            _NumpyOnlyUnpickler._allowed = _numpy_globals()
        try:
            return _NumpyOnlyUnpickler._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing pickled global {module}.{name}: only numpy array reconstruction is allowed"
            ) from None


def _read_npy(fh, name: str) -> np.ndarray:
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    except (ValueError, OSError) as exc:
        raise SchemeFormatError(f"{name}: not a .npy array ({exc})") from None
    if dtype.hasobject:
        try:
            arr = _NumpyOnlyUnpickler(fh).load()
        except UnsafePickleError:
            raise
        except Exception as exc:
            raise SchemeFormatError(f"{name}: unreadable pickled array ({type(exc).__name__}: {exc})") from None
        return arr
    fh.seek(0)
    try:
        return np.lib.format.read_array(fh, allow_pickle=False)
    except Exception as exc:
        raise SchemeFormatError(f"{name}: unreadable array ({exc})") from None


def _factor_matrix(obj: Any, where: str, rows: int) -> list[list]:
    arr = obj if isinstance(obj, np.ndarray) else np.asarray(obj)
    if arr.ndim != 2 or arr.shape[0] != rows:
        raise SchemeFormatError(f"{where}: expected shape ({rows}, R), got {arr.shape}")
    if arr.dtype.kind == "c":
        raise SchemeFormatError(f"{where}: complex coefficients are not supported")
    out = []
    for r in range(arr.shape[1]):
        row = []
        for a in range(rows):
            v = arr[a, r]
            try:
                row.append(from_float(v, f"{where}[{a},{r}]") if arr.dtype.kind in "fO" else int(v))
            except InvalidInputError as exc:
                raise SchemeFormatError(str(exc)) from None
        out.append(row)
    return out


_KEY = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")


def load_alphatensor(path: str | os.PathLike, field: str | None = None) -> list[Scheme]:
    """Read every scheme in an AlphaTensor-format ``.npz`` file.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file (keys ``"k,m,n"``).
    field : {"Z", "Q", "F2"}, optional
        Default: Z when every coefficient is an integer, Q otherwise.  F2
        reduces the coefficients mod 2 (AlphaTensor's mod-2 file).

    Raises
    ------
    UnsafePickleError
        A pickle names any global other than numpy's array reconstruction.
    SchemeFormatError
        Anything else wrong with the file (bad key, shapes, inexact floats).
    """
    data = _read_bytes(path)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise SchemeFormatError(f"{path}: not an .npz (zip) file") from None
    schemes = []
    with zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".npy"))
        if not names:
            raise SchemeFormatError(f"{path}: holds no arrays")
        for name in names:
            key = name[: -len(".npy")]
            match = _KEY.match(key)
            if not match:
                raise SchemeFormatError(f"{path}: key {key!r} is not of the form 'k,m,n'")
            k, m, n = (int(g) for g in match.groups())
            try:
                problem = matmul(k, m, n)
            except InvalidInputError as exc:
                raise SchemeFormatError(f"{path}: key {key!r}: {exc}") from None
            with zf.open(name) as fh:
                arr = _read_npy(io.BytesIO(fh.read()), f"{path}:{key}")
            where = f"{path}:{key}"
            if isinstance(arr, np.ndarray) and arr.dtype != object and arr.ndim == 3 and arr.shape[0] == 3:
                parts = [arr[0], arr[1], arr[2]]
            elif isinstance(arr, np.ndarray) and arr.dtype == object and arr.shape == (3,):
                parts = list(arr)
            else:
                raise SchemeFormatError(f"{where}: expected three factor matrices (u, v, w)")
            u = _factor_matrix(parts[0], f"{where} u", k * m)
            v = _factor_matrix(parts[1], f"{where} v", m * n)
            w_t = _factor_matrix(parts[2], f"{where} w", n * k)
            if not (len(u) == len(v) == len(w_t)) or len(u) == 0:
                raise SchemeFormatError(f"{where}: factors disagree on the rank ({len(u)}, {len(v)}, {len(w_t)})")
            # w indexes C transposed: w[l*k + i] is our W[i*n + l]
            W = [[row[l * k + i] for i in range(k) for l in range(n)] for row in w_t]
            chosen = field
            values = [x for mat in (u, v, W) for row in mat for x in row]
            if chosen is None:
                chosen = "Z" if all(isinstance(x, int) for x in values) else "Q"
            if chosen == "F2":
                try:
                    u, v, W = ([[mod2(x) for x in row] for row in mat] for mat in (u, v, W))
                except InvalidInputError as exc:
                    raise SchemeFormatError(f"{where}: {exc}") from None
            meta = {"provenance": {"engine": "import", "source": Path(path).name, "format": "alphatensor", "key": key}}
            try:
                schemes.append(Scheme(problem, u, v, W, chosen, meta))
            except InvalidInputError as exc:
                raise SchemeFormatError(f"{where}: {exc}") from None
    return schemes


def save_alphatensor(schemes: Iterable[Scheme], path: str | os.PathLike) -> Path:
    """Write matmul schemes to an AlphaTensor-format ``.npz`` (atomically).

    Integer schemes are stored as int64, others as float64, which is exact
    only for dyadic rationals: other denominators are refused.
    """
    entries: dict[str, np.ndarray] = {}
    for s in schemes:
        if not isinstance(s.problem, MatMul):
            raise InvalidInputError(f"AlphaTensor format holds matmul schemes only, got {s.problem.kind}")
        p = s.problem
        k, m, n = p.k, p.m, p.n
        values = [x for mat in s.factors for x in mat.ravel().tolist()]
        integral = all(isinstance(x, int) for x in values)
        for x in values:
            if isinstance(x, Fraction) and x.denominator & (x.denominator - 1):
                raise InvalidInputError(f"coefficient {x} is not exact in floating point (AlphaTensor format)")
        dtype = np.int64 if integral else np.float64
        conv = (lambda x: int(x)) if integral else (lambda x: float(x))
        u = np.array([[conv(x) for x in row] for row in s.U.tolist()], dtype=dtype).T
        v = np.array([[conv(x) for x in row] for row in s.V.tolist()], dtype=dtype).T
        w = np.zeros((n * k, s.rank), dtype=dtype)
        for r, row in enumerate(s.W.tolist()):
            for i in range(k):
                for l in range(n):
                    w[l * k + i, r] = conv(row[i * n + l])
        obj = np.empty(3, dtype=object)
        obj[0], obj[1], obj[2] = u, v, w
        key = f"{k},{m},{n}"
        if key in entries:
            raise InvalidInputError(f"two schemes for {key}: an AlphaTensor file holds one per size")
        entries[key] = obj
    if not entries:
        raise InvalidInputError("no schemes to write")
    buf = io.BytesIO()
    np.savez(buf, **entries)
    return atomic_write_bytes(path, buf.getvalue())
