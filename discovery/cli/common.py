"""Shared pieces of the sub-commands: loading, output and the progress bar."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterator, Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem, parse_problem
from discovery.core.progress import ProgressCallback, ProgressEvent

class _Console(Console):
    """rich's Console, but a closed pipe raises ``BrokenPipeError`` (rich exits with status 1,
    which would hide the command's own status: ``bilinear search ... | head -1``)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError("the reader of the output went away")


#: stdout for results, stderr for progress and warnings.
out = _Console(highlight=False, soft_wrap=True, emoji=False)
err = _Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def safe_text(value: Any) -> str:
    r"""Text from files or users, made safe for a terminal.

    Control and escape characters (and bidirectional overrides) become
    visible escapes such as ``\x1b``; lone surrogates (valid in JSON,
    not in UTF-8) become ``\ud800``.  Tabs and newlines are kept.

    Examples
    --------
    >>> safe_text("red \x1b[31m text")
    'red \\x1b[31m text'
    >>> safe_text("lone \ud800")
    'lone \\ud800'
    """
    text = value if isinstance(value, str) else str(value)
    text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def say(line: Any) -> None:
    """Print one line of results to stdout, literally (no markup, escapes made visible)."""
    out.print(safe_text(line), markup=False, emoji=False)


def tell(line: Any) -> None:
    """Print one line of diagnostics to stderr, literally."""
    err.print(safe_text(line), markup=False, emoji=False)


#: Values such as ``-1,0,1,2`` or ``-1/2`` that argparse must read as option values, not options.
NEGATIVE_VALUES = re.compile(r"^-\d+(/\d+)?(,.*)?$|^-\d*\.\d+$")


def allow_negative_values(parser) -> None:
    """Let ``--domain -1,0,1,2`` and ``--points -1,0,1`` read as values (argparse
    takes an argument that starts with ``-`` for a value only when it looks
    like a negative number)."""
    if hasattr(parser, "_negative_number_matcher"):
        parser._negative_number_matcher = NEGATIVE_VALUES


def problem_arg(spec: str) -> Problem:
    """argparse ``type=`` for problem specs (errors become one line, exit 2)."""
    import argparse

    try:
        return parse_problem(spec)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def positive_float(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def report_path(path: str, flag: str = "--report") -> Path:
    """``path`` as the target of a report file, checked before any work starts.

    Parameters
    ----------
    path : str
        The file to write (its folder must exist and be writable).
    flag : str
        The option that named it, for the message.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InvalidInputError
        When ``path`` is a directory or its folder is missing or not writable.
    """
    report = Path(path)
    parent = report.parent if str(report.parent) else Path(".")
    if report.is_dir():
        raise InvalidInputError(f"{flag} {path}: is a directory")
    if not parent.is_dir():
        raise InvalidInputError(f"{flag} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InvalidInputError(f"{flag} {path}: folder {parent} is not writable")
    return report


def warn(message: str) -> None:
    tell(f"bilinear: warning: {message}")


@contextlib.contextmanager
def progress_bar(description: str, total: Optional[int] = None, enabled: bool = True) -> Iterator[ProgressCallback]:
    """A rich progress bar fed by :class:`~discovery.core.progress.ProgressEvent` callbacks.

    Shows units done, exact schemes found and the best loss so far.  Off when
    stderr is not a terminal (logs, pipes, captured output).
    """
    if not enabled or not err.is_terminal:
        yield lambda event: None
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("exact {task.fields[found]}"),
        TextColumn("best {task.fields[best]}"),
        TextColumn("{task.fields[message]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total, found=0, best="-", message="")

        def callback(event: ProgressEvent) -> None:
            best = "-" if event.best is None else f"{event.best:.3g}"
            progress.update(
                task,
                completed=event.done,
                total=event.total if event.total is not None else total,
                found=event.found,
                best=best,
                message=event.message,
            )

        yield callback
