"""Terminal rendering of a report with rich: a readable table of violations."""

from __future__ import annotations

import sys
from typing import IO

from datacheck.report.report import Report


def print_report(report: Report, file: IO[str] | None = None, limit: int = 100) -> None:
    """Print a rich table of violations and the verdict line."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    stream = file if file is not None else sys.stdout
    # Piped output gets a wide table: people read it in logs and CI pages.
    width = None if stream.isatty() else 160
    console = Console(file=stream, highlight=False, soft_wrap=False, width=width)
    violations = report.sorted_violations()
    # Commands other than check (e.g. doctor) name what they looked at in stats["title"].
    title = str(report.stats.get("title") or f"datacheck: schema {report.schema or '?'}")
    if violations:
        table = Table(title=escape(title), show_lines=False, expand=False)
        table.add_column("code", style="bold red", no_wrap=True)
        table.add_column("feature", no_wrap=True)
        table.add_column("message (what, observed, expected, fix)", overflow="fold")
        for v in violations[:limit]:
            style = "yellow" if v.severity != "error" else None
            table.add_row(escape(v.code), escape(v.feature), escape(v.message), style=style)
        console.print(table)
        if len(violations) > limit:
            console.print(f"... and {len(violations) - limit} more (see --json)")
    elif "title" in report.stats:
        console.print(escape(title))
    for note in report.stats.get("notes") or []:
        console.print(f"[dim]{escape(str(note))}[/]")
    colour = "green" if report.ok else "red"
    console.print(f"[bold {colour}]{escape(report.verdict())}[/]")
