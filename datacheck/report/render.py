"""Terminal rendering of a report with rich: a readable table of violations."""

from __future__ import annotations

from typing import IO

from datacheck.report.report import Report


def print_report(report: Report, file: IO[str] | None = None, limit: int = 100) -> None:
    """Print a rich table of violations and the verdict line."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=file, highlight=False, soft_wrap=False)
    violations = report.sorted_violations()
    if violations:
        table = Table(title=f"datacheck: schema {report.schema or '?'}", show_lines=False,
                      expand=False)
        table.add_column("code", style="bold red", no_wrap=True)
        table.add_column("feature", no_wrap=True)
        table.add_column("where")
        table.add_column("message (what, observed, expected, fix)", overflow="fold")
        for v in violations[:limit]:
            style = "yellow" if v.severity != "error" else None
            table.add_row(escape(v.code), escape(v.feature), escape(str(v.where)),
                          escape(v.message), style=style)
        console.print(table)
        if len(violations) > limit:
            console.print(f"... and {len(violations) - limit} more (see --json)")
    colour = "green" if report.ok else "red"
    console.print(f"[bold {colour}]{escape(report.verdict())}[/]")
