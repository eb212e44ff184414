"""Shared pieces of the sub-commands: loading, output and the progress bar."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator, Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem, parse_problem
from discovery.core.progress import ProgressCallback, ProgressEvent

#: stdout for results, stderr for progress and warnings.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


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


def warn(message: str) -> None:
    err.print(f"bilinear: warning: {message}")


@contextlib.contextmanager
def progress_bar(description: str, total: Optional[int] = None, enabled: bool = True) -> Iterator[ProgressCallback]:
    """A rich progress bar fed by :class:`~discovery.core.progress.ProgressEvent` callbacks.

    Shows units done, exact schemes found and the best loss so far.
    """
    if not enabled:
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
        disable=not sys.stderr.isatty() and False,
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
