"""The journal of finished units: append-only, one JSON line per unit, crash-safe.

``<catalog>/.campaigns/<name>.jsonl`` holds one line per finished unit::

    {"v": 1, "job": 1, "unit": 7, "key": "3f2a...", "seed": 123, "status": "found",
     "schemes": [{"fp": "...", "file": "matmul-3x3x3/F2-rank23-....json", "class": "...", "known": false}],
     "restarts": 1024, "wall": 29.8, "cpu": 29.1, "worker": "host:1234", "time": "2026-..."}

A line is written with one ``write`` of the whole line and ``fsync``ed
before the unit counts as done, and only after the unit's schemes are in
the catalog.  A crash can therefore leave at most a torn last line (no
newline, or not JSON): :func:`read_journal` ignores it and
:meth:`Journal.open` cuts it off before appending, so the unit it described
runs again.  One coordinator writes a journal at a time: :class:`Journal`
holds an exclusive ``flock`` on ``<name>.lock`` while it is open.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from discovery.core.errors import InvalidInputError

try:  # POSIX; elsewhere the lock is advisory only through the lock file's presence
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Journal", "JournalState", "read_journal", "CampaignLockedError", "is_locked"]

VERSION = 1


class CampaignLockedError(InvalidInputError):
    """Another process is running this campaign on this catalog."""


@dataclass
class JournalState:
    """What a journal says: its good entries, and whether its tail was torn.

    ``good_bytes`` is the length of the prefix made of whole, valid lines.
    """

    entries: list
    torn: bool = False
    good_bytes: int = 0
    bad_lines: int = 0


def read_journal(path: str | os.PathLike) -> JournalState:
    """Parse a journal, tolerating a torn last line (and skipping, counted, any other bad one).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "j.jsonl"
    >>> _ = p.write_bytes(b'{"v": 1, "job": 1, "unit": 0}\\n{"v": 1, "jo')
    >>> st = read_journal(p)
    >>> len(st.entries), st.torn
    (1, True)
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        return JournalState([], False, 0)
    entries = []
    pos = 0
    bad = 0
    torn = False
    good = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:  # no newline: the last write was cut short
            torn = True
            break
        line = data[pos:nl]
        pos = nl + 1
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or "job" not in obj or "unit" not in obj:
                raise ValueError
        except ValueError:
            if pos >= len(data):
                torn = True  # a damaged last line counts as torn
                break
            bad += 1
            good = pos
            continue
        entries.append(obj)
        good = pos
    return JournalState(entries, torn, good, bad)


def _lock_path(path: Path) -> Path:
    return path.with_suffix(".lock")


def is_locked(path: str | os.PathLike) -> bool:
    """Whether a coordinator holds the journal's lock right now."""
    lock = _lock_path(Path(path))
    if fcntl is None or not lock.exists():
        return False
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


class Journal:
    """An open journal: locked, repaired, appended to line by line.

    Use as a context manager::

        with Journal(path) as j:
            done = j.state.entries
            j.append({...})

    Raises
    ------
    CampaignLockedError
        When another process holds the lock.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.state: JournalState = JournalState([])
        self.repaired = False
        self._fd: Optional[int] = None
        self._lock_fd: Optional[int] = None

    def __enter__(self) -> "Journal":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = _lock_path(self.path)
        self._lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(self._lock_fd)
                self._lock_fd = None
                raise CampaignLockedError(f"campaign {self.path.stem!r} is already running on this catalog "
                                          f"(lock {lock})") from None
        self.state = read_journal(self.path)
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if self.state.torn:
            os.ftruncate(self._fd, self.state.good_bytes)  # cut the torn line: its unit runs again
            os.fsync(self._fd)
            self.repaired = True
        if created:
            _fsync_dir(self.path.parent)

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry as one line, durably (``fsync``) before returning."""
        if self._fd is None:
            raise RuntimeError("journal is not open")
        line = (json.dumps({"v": VERSION, **entry}, sort_keys=True, separators=(",", ":"), default=str)
                + "\n").encode()
        view = memoryview(line)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        self.state.entries.append(json.loads(line))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            if fcntl is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
