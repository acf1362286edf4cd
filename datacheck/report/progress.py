"""A rich progress bar for long runs, shown only where a person is watching (a TTY)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: Inputs below this count finish too fast for a bar to be worth drawing.
MIN_INPUTS_FOR_BAR = 2


@contextmanager
def progress(total: int | None, description: str = "checking",
             enabled: bool | None = None) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; draws a bar on stderr when it is a terminal.

    >>> with progress(3) as advance:
    ...     advance(1)
    """
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show or (total is not None and total < MIN_INPUTS_FOR_BAR):
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


def _ignore(n: int = 1) -> None:
    """Progress sink for runs nobody watches."""
