"""How a scan reports its progress on stderr: a live display per collector, plain lines, or nothing.

- On a terminal (stderr is a TTY and ``CI`` is not set): one rich progress bar per collector, its scopes
  done out of its scopes planned, its time and, when it ends, its item count or its error.
- Elsewhere (piped, a CI log): one plain line per collector as it ends, which a log keeps readably.
- ``--quiet``: nothing.

rich is imported only when a live display is made, so commands that show none (``annexa --help``) do
not pay for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

_NOT_CI = ("", "0", "false", "no")


class ScanProgress:
    """Plain lines: ``annexa: collected aws in 2.1s: 40 item(s)``. Subclasses draw something richer.

    A scan calls :meth:`collecting` once with its plan, :meth:`advanced` as each task (one scope of a
    collector) ends, :meth:`finished` as each collector's last task ends, and :meth:`close` at the end;
    calling the object itself prints a line of news.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr  # looked up late: tests swap sys.stderr

    def __call__(self, line: str) -> None:
        print(f"annexa: {line}", file=self.stream, flush=True)

    def collecting(self, tasks: Mapping[str, int]) -> None:
        """The plan: collector name -> number of tasks (scopes) it runs."""

    def advanced(self, collector: str) -> None:
        """One task of ``collector`` ended."""

    def finished(self, collector: str, *, seconds: float, items: int, error: str | None) -> None:
        """``collector`` ended its last task, with ``items`` items or an ``error``."""
        self(f"collected {collector} in {seconds:.1f}s: {_state(items, error)}")

    def close(self) -> None:
        """Collection is over (normally or not); a live display stops here."""


class LiveProgress(ScanProgress):
    """A rich progress bar per collector, drawn on the terminal while the collectors run."""

    def __init__(self, stream: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        super().__init__(stream)
        self._console = Console(file=self.stream)
        self._bars = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[state]}", markup=False),  # error texts may hold [brackets]
            console=self._console,
        )
        self._tasks: dict[str, Any] = {}

    def __call__(self, line: str) -> None:
        self._console.print(f"annexa: {line}", markup=False, highlight=False)

    def collecting(self, tasks: Mapping[str, int]) -> None:
        for name in sorted(tasks):
            self._tasks[name] = self._bars.add_task(name, total=tasks[name], state="")
        self._bars.start()

    def advanced(self, collector: str) -> None:
        if collector in self._tasks:
            self._bars.advance(self._tasks[collector])

    def finished(self, collector: str, *, seconds: float, items: int, error: str | None) -> None:
        if collector in self._tasks:
            self._bars.update(self._tasks[collector], state=_state(items, error))
            self._bars.stop_task(self._tasks[collector])

    def close(self) -> None:
        self._bars.stop()


def _state(items: int, error: str | None) -> str:
    return f"failed: {error}" if error else f"{items} item(s)"


def is_ci() -> bool:
    """``CI`` set to anything but empty, 0, false or no: the convention of GitHub, GitLab and others."""
    return os.environ.get("CI", "").strip().lower() not in _NOT_CI


def default_progress(*, quiet: bool = False) -> ScanProgress | None:
    """A live display on a terminal, plain lines in CI or when stderr is piped, nothing with ``quiet``."""
    if quiet:
        return None
    if sys.stderr.isatty() and not is_ci():
        return LiveProgress()
    return ScanProgress()
