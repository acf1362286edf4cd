"""Terminal rendering of a report with rich: violations, then inputs, then the verdict."""

from __future__ import annotations

import sys
from typing import IO, Any

from datacheck.report.report import DATASET_SCOPE, Report

#: Inputs listed in full when there are at most this many; beyond, only those not ok.
ALL_INPUTS_UP_TO = 20


def print_report(report: Report, file: IO[str] | None = None, limit: int = 100) -> None:
    """Print a rich table of violations, the inputs table and the verdict line."""
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
        table.add_column("severity", no_wrap=True)
        table.add_column("code", style="bold red", no_wrap=True)
        table.add_column("feature", no_wrap=True)
        table.add_column("message (what, observed, expected, fix)", overflow="fold")
        for v in violations[:limit]:
            style = "yellow" if v.severity != "error" else None
            table.add_row(escape(v.severity), escape(v.code), escape(v.feature),
                          escape(v.message), style=style)
        console.print(table)
        if len(violations) > limit:
            console.print(f"... and {len(violations) - limit} more (see --json)")
    elif "title" in report.stats:
        console.print(escape(title))
    _print_inputs(console, report, limit)
    for note in report.stats.get("notes") or []:
        console.print(f"[dim]{escape(str(note))}[/]")
    colour = "green" if report.ok else "red"
    console.print(f"[bold {colour}]{escape(report.verdict())}[/]")


def input_rows(report: Report, limit: int) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """Rows of the inputs table (all when few, else those not ok) and how many are left out.

    Dataset-scope findings get a row of their own, never a file's.
    """
    details = report.input_details()
    rows = list(details.items())
    if len(rows) > ALL_INPUTS_UP_TO:
        rows = [(n, d) for n, d in rows if d["status"] != "ok" or d["codes"]]
    scope = report.dataset_findings()
    if scope:
        first = report.sorted_violations()
        message = next(v.message for v in first if v.input is None)
        rows.append((DATASET_SCOPE, {
            "status": "violating" if any(v.severity == "error" for v in scope) else "ok",
            "codes": list(dict.fromkeys(v.code for v in scope)), "message": message}))
    rows += [(name, {"status": "skipped", "codes": [], "message": reason})
             for name, reason in report.skipped.items()]
    shown = rows[:limit]
    return shown, len(details) + bool(scope) + len(report.skipped) - len(shown)


def _print_inputs(console: Any, report: Report, limit: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    rows, left_out = input_rows(report, limit)
    # One clean input needs no table: the verdict says it all.
    if not rows or (len(rows) == 1 and rows[0][1]["status"] == "ok" and not rows[0][1]["codes"]):
        return
    table = Table(title="inputs", show_lines=False, expand=False)
    table.add_column("status", no_wrap=True)
    table.add_column("input", overflow="fold")
    table.add_column("codes", overflow="fold")
    table.add_column("first reason", overflow="fold")
    styles = {"violating": "red", "unreadable": "red", "not_checked": "yellow",
              "skipped": "dim"}
    for name, detail in rows:
        table.add_row(escape(detail["status"]), escape(name), escape(", ".join(detail["codes"])),
                      escape(detail["message"] or ""), style=styles.get(detail["status"]))
    console.print(table)
    if left_out:
        console.print(f"... and {left_out} more inputs not shown (ok ones, or beyond {limit}; "
                      "see --json)")
