"""Everything the CLI prints: results on stdout (text or `--json`), notes and errors on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from skreg_cli.errors import CliError


def _console(stream: Any) -> Console:
    console = Console(file=stream, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 4096  # a pipe has no width: never wrap or cut table cells
    return console


class Output:
    """One per run: knows `--json` and `--verbose`, and where each kind of text goes."""

    def __init__(self, *, json_mode: bool = False, verbose: bool = False) -> None:
        self.json_mode = json_mode
        self.verbose = verbose
        # Wide and markup-free for pipes: output meant for scripts must not wrap.
        self.out = _console(sys.stdout)
        self.err = _console(sys.stderr)

    def result(self, text: str) -> None:
        """A line of the command's human-readable result (suppressed with --json)."""
        if not self.json_mode:
            self.out.print(escape(text))

    def note(self, text: str) -> None:
        """Progress and side remarks, on stderr so stdout stays clean."""
        self.err.print(escape(text))

    def warn(self, text: str) -> None:
        """A warning on stderr."""
        self.err.print(f"[yellow]warning:[/] {escape(text)}")

    def debug(self, text: str) -> None:
        """Only with --verbose."""
        if self.verbose:
            self.err.print(f"[dim]{escape(text)}[/]")

    def json(self, value: Any) -> None:
        """The command's result as JSON on stdout (only in --json mode)."""
        if self.json_mode:
            encoded = msgspec.json.encode(value, order="deterministic")
            sys.stdout.write(msgspec.json.format(encoded, indent=2).decode() + "\n")
            sys.stdout.flush()

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, whole: Sequence[int] = ()
    ) -> None:
        """A simple table of results (human mode only).

        Columns listed in `whole` (ids to copy and paste) are never cut or wrapped.
        """
        if self.json_mode:
            return
        table = Table(box=None, pad_edge=False, header_style="bold")
        for index, header in enumerate(headers):
            if index in whole:
                width = max((len(row[index]) for row in rows), default=0)
                table.add_column(header, no_wrap=True, min_width=max(width, len(header)))
            else:
                table.add_column(header)
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        self.out.print(table)

    def error(self, error: CliError) -> None:
        """`skreg: <message>`, the details, then the hint; verbose details on request."""
        self.err.print(f"[red]skreg:[/] {escape(error.message)}")
        for line in error.details:
            self.err.print(f"  {escape(line)}")
        if self.verbose:
            for line in error.verbose_details:
                self.err.print(f"[dim]{escape(line)}[/]")
        if error.hint:
            self.err.print(f"[dim]hint:[/] {escape(error.hint)}")

    def progress(self, label: str) -> BarProgress:
        """A download progress bar on stderr (silent when stderr is not a terminal)."""
        return BarProgress(self.err, label)


class BarProgress:
    """A `ProgressSink` drawing a rich progress bar; a no-op off a terminal."""

    def __init__(self, console: Console, label: str) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._label = label
        self._task: TaskID | None = None

    def __enter__(self) -> BarProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, total: int | None) -> None:
        """Begin the bar (indeterminate when the size is unknown)."""
        self._task = self._progress.add_task(self._label, total=total)

    def advance(self, size: int) -> None:
        """Move the bar."""
        if self._task is not None:
            self._progress.advance(self._task, size)
