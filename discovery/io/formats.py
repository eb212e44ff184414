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

import errno
import io
import json
import os
import pickle
import re
import stat
import tempfile
import time
import zipfile
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from discovery.core import limits
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
    "clean_stale_temp_files",
    "read_file_bytes",
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
        for key in ("U", "V", "W"):
            rows = d[key]
            if not isinstance(rows, list):
                raise SchemeFormatError(f"{key} must be a list of rows, got {type(rows).__name__}")
            limits.check_scheme_size(len(rows), problem.shape)
            for r, row in enumerate(rows):
                if not isinstance(row, list):
                    raise SchemeFormatError(f"{key}[{r}] must be a row of coefficients, got {type(row).__name__}")
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
    """Parse ``bilinear-scheme/1`` JSON text.

    Raises
    ------
    SchemeFormatError
        Malformed JSON, nesting deeper than the ``json_depth`` limit of
        :mod:`discovery.core.limits`, or any invalid content.
    """
    try:
        d = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise SchemeFormatError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise SchemeFormatError(f"{source}: JSON nested too deeply (limit {limits.get('json_depth')} levels; "
                                f"raise it with {limits.LIMITS['json_depth'].env}=N)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SchemeFormatError(f"{source}: {_one_line(exc)}") from None
    try:
        if isinstance(d, dict):  # the factors are checked entry by entry; the rest could nest deeply
            _check_depth({k: v for k, v in d.items() if k not in ("U", "V", "W")})
        return scheme_from_dict(d)
    except SchemeFormatError as exc:
        raise SchemeFormatError(f"{source}: {exc}") from None
    except InvalidInputError as exc:  # limits
        raise SchemeFormatError(f"{source}: {exc}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _check_depth(obj: Any) -> None:
    """Refuse JSON nested deeper than the ``json_depth`` limit (iteratively: no recursion)."""
    limit = limits.get("json_depth")
    if limit is None:
        return
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            limits.check("json_depth", depth, "JSON nesting")
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a coefficient")


# ------------------------------------------------------------------ writing
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")
_OLD_TEMP = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp$")
_STALE_SECONDS = 3600.0


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process (or not a pid): leave its file alone
    return True


def clean_stale_temp_files(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Remove temporary files left in ``folder`` by writers that were killed.

    A writer's temporary file is ``.NAME.PID.XXXX.tmp``; it is stale when
    process ``PID`` no longer exists (or, for the older ``.NAME.XXXX.tmp``
    form without a pid, when it is more than an hour old).  With ``name``,
    only the temporary files of that target name are considered.  Returns
    the files removed; errors (a file removed concurrently, no permission)
    are ignored.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     stray = pathlib.Path(d, ".s.json.999999999.abcd1234.tmp"); _ = stray.write_text("{")
    ...     [p.name for p in clean_stale_temp_files(d)], stray.exists()
    (['.s.json.999999999.abcd1234.tmp'], False)
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        match = _TEMP.match(entry.name)
        old = None if match else _OLD_TEMP.match(entry.name)
        target = (match or old).group("name") if (match or old) else None
        if target is None or (name is not None and target != name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if match:
                stale = not _pid_alive(int(match.group("pid")))
            else:
                stale = now - entry.stat(follow_symlinks=False).st_mtime > _STALE_SECONDS
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _make_parent(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InvalidInputError(f"{folder}: exists and is not a folder; cannot write into it") from None
    except NotADirectoryError:
        raise InvalidInputError(f"{folder}: a part of this path is a file, not a folder") from None
    if not folder.is_dir():  # e.g. a dangling symlink in the way
        raise InvalidInputError(f"{folder}: exists and is not a folder; cannot write into it")


def _write_through(path: Path, mode: int, data: bytes) -> Path:
    """Write into a character device or a FIFO (never replace it with a file)."""
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0)
    if stat.S_ISFIFO(mode):
        flags |= os.O_NONBLOCK  # a FIFO with no reader must not hang the writer
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise InvalidInputError(f"{path}: a FIFO with no reader; nothing written") from None
        raise
    try:
        if stat.S_ISFIFO(mode):
            os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    return path


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, exclusive: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temporary file and a rename.

    A crash leaves either the old file or the new one, never a partial file;
    temporary files of writers that were killed are removed the next time
    the same name is written (:func:`clean_stale_temp_files`).  Only regular
    files are ever replaced: a symbolic link is followed (the link stays),
    a character device or a FIFO (``/dev/null``, ``/dev/stdout``, a pipe) is
    written through, and a directory, block device, socket or dangling link
    is refused.  With ``exclusive=True`` nothing that exists is replaced
    (``FileExistsError``).

    Raises
    ------
    InvalidInputError
        For a target that may not be replaced or a folder that cannot be made.
    FileExistsError
        With ``exclusive=True``, when anything exists at ``path``.
    """
    path = Path(path)
    try:
        st = os.stat(path)  # follows symbolic links
    except FileNotFoundError:
        st = None
        if os.path.islink(path):
            if exclusive:
                raise FileExistsError(errno.EEXIST, "a dangling symbolic link is in the way", str(path)) from None
            raise InvalidInputError(f"{path}: a dangling symbolic link; refusing to write through it") from None
    except NotADirectoryError:
        raise InvalidInputError(f"{path}: a part of this path is a file, not a folder") from None
    if st is not None:
        if exclusive:
            raise FileExistsError(errno.EEXIST, "exists", str(path))
        if stat.S_ISDIR(st.st_mode):
            raise InvalidInputError(f"{path}: is a directory, expected a file path")
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            return _write_through(path, st.st_mode, data)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInputError(f"{path}: is {_kind(st.st_mode)}; refusing to replace it")
        if os.path.islink(path):
            path = Path(os.path.realpath(path))  # replace the file the link points to, keep the link
    _make_parent(path.parent)
    clean_stale_temp_files(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual mode
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if path exists: no overwrite, ever
        else:
            try:
                current = os.lstat(path)
            except FileNotFoundError:
                current = None
            if current is not None and not stat.S_ISREG(current.st_mode):  # changed since the check
                raise InvalidInputError(f"{path}: is {_kind(current.st_mode)}; refusing to replace it")
            os.replace(tmp, path)
        _fsync_folder(path.parent)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_json(scheme: Scheme, path: str | os.PathLike, exclusive: bool = False) -> Path:
    """Write one scheme as ``bilinear-scheme/1`` JSON, atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, dumps(scheme).encode(), exclusive=exclusive)


# ------------------------------------------------------------------ reading
def read_file_bytes(path: str | os.PathLike, what: str = "scheme file") -> bytes:
    """The bytes of a regular file, refusing anything else before reading.

    Directories, devices (``/dev/zero``), FIFOs and sockets are refused (a
    FIFO would block); so is a file above the ``file_bytes`` limit of
    :mod:`discovery.core.limits`, which is also enforced while reading (a
    file that grows cannot exhaust memory).

    Raises
    ------
    SchemeFormatError
        Naming the path and what is wrong.
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        extra = " (a dangling symbolic link)" if os.path.islink(p) else ""
        raise SchemeFormatError(f"{p}: no such file{extra}") from None
    except IsADirectoryError:
        raise SchemeFormatError(f"{p}: is a directory, expected a {what}") from None
    except OSError as exc:
        raise SchemeFormatError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise SchemeFormatError(f"{p}: is a directory, expected a {what}")
        if not stat.S_ISREG(st.st_mode):
            raise SchemeFormatError(f"{p}: is {_kind(st.st_mode)}, not a regular file; not read")
        bound = limits.get("file_bytes")
        try:
            if bound is not None:
                limits.check("file_bytes", st.st_size, f"{p}: file size")
        except InvalidInputError as exc:
            raise SchemeFormatError(str(exc)) from None
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if bound is not None and total > bound:
                raise SchemeFormatError(f"{p}: grew above the limit of {bound:,} bytes while being read; "
                                        f"raise it with {limits.LIMITS['file_bytes'].env}=N")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise SchemeFormatError(f"{p}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def _read_bytes(path: str | os.PathLike) -> bytes:
    return read_file_bytes(path)


def load_json(path: str | os.PathLike) -> Scheme:
    """Read one ``bilinear-scheme/1`` file.

    Raises
    ------
    SchemeFormatError
        Missing file, not a regular file, too large, malformed JSON or any
        invalid content, with the path.
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
def _elements(shape: Any) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


class _GuardedArray(np.ndarray):
    """What a pickle gets for ``numpy.ndarray``: its ``__setstate__`` checks the
    declared shape against the limits before numpy allocates anything."""

    def __setstate__(self, state):
        try:
            shape, dtype = state[1], state[2]
            count = _elements(shape)
            size = count * max(1, np.dtype(dtype).itemsize)
        except Exception:
            raise SchemeFormatError("malformed pickled array state") from None
        limits.check("file_bytes", size, f"a pickled array of shape {tuple(shape)[:8]}")
        data = state[4] if len(state) > 4 else None
        if isinstance(data, (bytes, bytearray)) and not np.dtype(dtype).hasobject and len(data) != size:
            raise SchemeFormatError(f"a pickled array declares shape {tuple(shape)} but holds {len(data)} bytes")
        if isinstance(data, list) and len(data) != count:
            raise SchemeFormatError(f"a pickled array declares shape {tuple(shape)} but holds {len(data)} elements")
        super().__setstate__(state)


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:
        from numpy._core import multiarray as ma  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray as ma  # type: ignore[no-redef]
    import codecs

    def reconstruct(cls, shape, dtype_code):
        limits.check("file_bytes", _elements(shape), f"a pickled array of shape {tuple(shape)[:8]}")
        return ma._reconstruct(_GuardedArray, shape, dtype_code)

    def encode(obj, encoding="utf-8", errors="strict"):
        # Python-2 era pickles (protocol 2) encode bytes as latin-1 text; no other codec is allowed
        if str(encoding).lower().replace("_", "-") not in ("latin1", "latin-1", "iso-8859-1"):
            raise UnsafePickleError(f"refusing codec {encoding!r} in a pickle: only latin-1 is allowed")
        return codecs.encode(obj, "latin-1", errors)

    allowed = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = reconstruct
        allowed[(module, "scalar")] = ma.scalar
    allowed[("numpy", "ndarray")] = _GuardedArray
    allowed[("numpy", "dtype")] = np.dtype
    allowed[("_codecs", "encode")] = encode
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


def _plain(obj: Any) -> Any:
    """Unpickled arrays as plain ``ndarray`` (object arrays element by element)."""
    if isinstance(obj, np.ndarray):
        arr = obj.view(np.ndarray)
        if arr.dtype == object:
            out = np.empty(arr.shape, dtype=object)
            for idx, v in np.ndenumerate(arr):
                out[idx] = _plain(v)
            return out
        return arr
    return obj


def _read_npy(data: bytes, name: str) -> np.ndarray:
    fh = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    except (ValueError, OSError, SyntaxError, TypeError, EOFError) as exc:
        raise SchemeFormatError(f"{name}: not a .npy array ({_one_line(exc)})") from None
    if dtype.hasobject:
        try:
            limits.check("file_bytes", _elements(shape), f"{name}: declared shape {shape}")
        except InvalidInputError as exc:
            raise SchemeFormatError(str(exc)) from None
        try:
            arr = _NumpyOnlyUnpickler(fh).load()
        except (UnsafePickleError, SchemeFormatError):
            raise
        except InvalidInputError as exc:  # a limit
            raise SchemeFormatError(f"{name}: {exc}") from None
        except (Exception, RecursionError) as exc:
            raise SchemeFormatError(f"{name}: unreadable pickled array ({type(exc).__name__}: {_one_line(exc)})") from None
        return _plain(arr)
    if dtype.kind not in "iuf":
        raise SchemeFormatError(f"{name}: arrays of dtype {dtype} cannot hold coefficients")
    expected = _elements(shape) * dtype.itemsize
    held = len(data) - fh.tell()
    if expected != held:
        raise SchemeFormatError(f"{name}: declares shape {shape} ({expected:,} bytes) but holds {held:,} bytes")
    fh.seek(0)
    try:
        return np.lib.format.read_array(fh, allow_pickle=False)
    except Exception as exc:
        raise SchemeFormatError(f"{name}: unreadable array ({_one_line(exc)})") from None


def _factor_matrix(obj: Any, where: str, rows: int) -> np.ndarray:
    """A factor ``(rows, R)`` as an object array of exact ints/Fractions, transposed to ``(R, rows)``."""
    if not isinstance(obj, np.ndarray):
        raise SchemeFormatError(f"{where}: expected an array, got {type(obj).__name__}")
    arr = obj
    if arr.ndim != 2 or arr.shape[0] != rows:
        raise SchemeFormatError(f"{where}: expected shape ({rows}, R), got {arr.shape}")
    kind = arr.dtype.kind
    if kind in "iu":
        out = arr.T.astype(object)
    elif kind == "f":
        if not np.all(np.isfinite(arr)):
            raise SchemeFormatError(f"{where}: holds a NaN or infinite value")
        integral = (arr == np.floor(arr)) & (np.abs(arr) < 2.0**53)
        out = np.empty(arr.T.shape, dtype=object)
        out[...] = arr.T.astype(np.int64).astype(object) if integral.all() else 0
        if not integral.all():
            for r, a in zip(*np.nonzero(integral.T)):
                out[r, a] = int(arr[a, r])
            for r, a in zip(*np.nonzero(~integral.T)):
                try:
                    out[r, a] = from_float(float(arr[a, r]), f"{where}[{a},{r}]")
                except InvalidInputError as exc:
                    raise SchemeFormatError(str(exc)) from None
    elif kind == "O":
        out = np.empty(arr.T.shape, dtype=object)
        for (a, r), v in np.ndenumerate(arr):
            if type(v) is int:
                out[r, a] = v
                continue
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise SchemeFormatError(f"{where}[{a},{r}]: {type(v).__name__} is not a coefficient")
            try:
                out[r, a] = from_float(v, f"{where}[{a},{r}]")
            except InvalidInputError as exc:
                raise SchemeFormatError(str(exc)) from None
    else:
        what = "complex coefficients are" if kind == "c" else f"arrays of dtype {arr.dtype} are"
        raise SchemeFormatError(f"{where}: {what} not supported")
    return out


_KEY = re.compile(r"^\s*(\d{1,4})\s*,\s*(\d{1,4})\s*,\s*(\d{1,4})\s*$")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, RuntimeError,
               EOFError, OSError, ValueError, KeyError)


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path) -> bytes:
    """One member's bytes, refusing encrypted, unsupported or oversized members before inflating."""
    where = f"{path}:{info.filename}"
    if info.flag_bits & 0x1:
        raise SchemeFormatError(f"{where}: encrypted zip member (not supported)")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise SchemeFormatError(f"{where}: unsupported compression method {info.compress_type}")
    try:
        limits.check("file_bytes", info.file_size, f"{where}: declared size")
    except InvalidInputError as exc:
        raise SchemeFormatError(str(exc)) from None
    bound = limits.get("file_bytes")
    try:
        with zf.open(info) as fh:
            data = fh.read() if bound is None else fh.read(bound + 1)
            if bound is not None and len(data) > bound:
                raise SchemeFormatError(f"{where}: inflates beyond the limit of {bound:,} bytes; raise it with "
                                        f"{limits.LIMITS['file_bytes'].env}=N")
            if len(data) != info.file_size:
                raise SchemeFormatError(f"{where}: inflates to {len(data):,} bytes, not the declared "
                                        f"{info.file_size:,}")
    except SchemeFormatError:
        raise
    except _ZIP_ERRORS as exc:
        raise SchemeFormatError(f"{where}: corrupt zip member ({type(exc).__name__}: {_one_line(exc)})") from None
    return data


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
        Anything else wrong with the file: not a regular file, bad key,
        shapes, dtypes, inexact floats, broken, encrypted or oversized zip
        members (checked against the limits of :mod:`discovery.core.limits`
        before anything is inflated).
    """
    if field is not None and field not in ("Z", "Q", "F2"):
        raise InvalidInputError(f"field must be Z, Q or F2, got {field!r}")
    data = _read_bytes(path)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:
        raise SchemeFormatError(f"{path}: not an .npz (zip) file") from None
    schemes = []
    with zf:
        infos = sorted((i for i in zf.infolist() if i.filename.endswith(".npy")), key=lambda i: i.filename)
        if not infos:
            raise SchemeFormatError(f"{path}: holds no arrays")
        total = 0
        for info in infos:
            total += info.file_size
            try:
                limits.check("file_bytes", total, f"{path}: inflated size of its members")
            except InvalidInputError as exc:
                raise SchemeFormatError(str(exc)) from None
        for info in infos:
            key = info.filename[: -len(".npy")]
            match = _KEY.match(key)
            if not match:
                raise SchemeFormatError(f"{path}: key {key[:40]!r} is not of the form 'k,m,n'")
            k, m, n = (int(g) for g in match.groups())
            try:
                problem = matmul(k, m, n)
            except InvalidInputError as exc:
                raise SchemeFormatError(f"{path}: key {key!r}: {exc}") from None
            where = f"{path}:{key}"
            arr = _read_npy(_member(zf, info, path), where)
            if isinstance(arr, np.ndarray) and arr.dtype != object and arr.ndim == 3 and arr.shape[0] == 3:
                parts = [arr[0], arr[1], arr[2]]
            elif isinstance(arr, np.ndarray) and arr.dtype == object and arr.shape == (3,):
                parts = list(arr)
            else:
                raise SchemeFormatError(f"{where}: expected three factor matrices (u, v, w)")
            for part in parts:
                if isinstance(part, np.ndarray) and part.ndim == 2:
                    try:
                        limits.check_scheme_size(part.shape[1], problem.shape, where)
                    except InvalidInputError as exc:
                        raise SchemeFormatError(str(exc)) from None
            U = _factor_matrix(parts[0], f"{where} u", k * m)
            V = _factor_matrix(parts[1], f"{where} v", m * n)
            w_t = _factor_matrix(parts[2], f"{where} w", n * k)
            if not (len(U) == len(V) == len(w_t)) or len(U) == 0:
                raise SchemeFormatError(f"{where}: factors disagree on the rank ({len(U)}, {len(V)}, {len(w_t)})")
            # w indexes C transposed: w[l*k + i] is our W[i*n + l]
            W = w_t.reshape(len(w_t), n, k).transpose(0, 2, 1).reshape(len(w_t), k * n)
            chosen = field
            if chosen is None:
                chosen = "Z" if all(type(x) is int for mat in (U, V, W) for x in mat.flat) else "Q"
            if chosen == "F2":
                try:
                    U, V, W = (np.array([mod2(x) for x in mat.flat], dtype=np.int64).reshape(mat.shape)
                               for mat in (U, V, W))
                except InvalidInputError as exc:
                    raise SchemeFormatError(f"{where}: {exc}") from None
            meta = {"provenance": {"engine": "import", "source": Path(path).name, "format": "alphatensor", "key": key}}
            try:
                schemes.append(Scheme(problem, U, V, W, chosen, meta))
            except InvalidInputError as exc:
                raise SchemeFormatError(f"{where}: {exc}") from None
    return schemes


_INT64 = 2**63


def save_alphatensor(schemes: Iterable[Scheme], path: str | os.PathLike) -> Path:
    """Write matmul schemes to an AlphaTensor-format ``.npz`` (atomically).

    Integer schemes are stored as int64, others as float64.  Coefficients
    that these cannot hold exactly are refused, never rounded: integers
    beyond int64 and rationals that are not exact floats (denominators other
    than powers of two, or too many digits).
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
            if integral:
                if not -_INT64 <= x < _INT64:
                    raise InvalidInputError(f"coefficient {_brief(x)} does not fit in int64 (AlphaTensor format)")
                continue
            try:
                ok = Fraction(float(x)) == x
            except OverflowError:
                ok = False
            if not ok:
                raise InvalidInputError(f"coefficient {_brief(x)} is not exact in floating point (AlphaTensor format)")
        dtype = np.int64 if integral else np.float64
        conv = (lambda x: int(x)) if integral else (lambda x: float(x))
        u = np.array([[conv(x) for x in row] for row in s.U.tolist()], dtype=dtype).T
        v = np.array([[conv(x) for x in row] for row in s.V.tolist()], dtype=dtype).T
        wm = np.array([[conv(x) for x in row] for row in s.W.tolist()], dtype=dtype)  # R x (k*n), C[i, l]
        w = np.ascontiguousarray(wm.reshape(s.rank, k, n).transpose(2, 1, 0).reshape(n * k, s.rank))
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


def _brief(x) -> str:
    text = str(x)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"
