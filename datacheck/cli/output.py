"""Shared output for commands that produce a Report: table, JSON file, exit code."""

from __future__ import annotations

import argparse
import sys

from datacheck.errors import DatacheckError
from datacheck.report.report import Report


def emit(report: Report, args: argparse.Namespace) -> int:
    """Print the report, write --json/--html if asked; return 0 when ok, else 1."""
    if getattr(args, "json", None):
        try:
            report.write_json(args.json)
        except OSError as exc:
            raise DatacheckError(f"cannot write --json {args.json}: {exc.strerror}") from None
    failed = getattr(args, "failed_list", None)
    if failed:
        write_failed_list(report, failed)
    html = getattr(args, "html", None)
    if html:
        try:
            from datacheck.report.html import write_html
        except ImportError:
            raise DatacheckError("--html needs the HTML report module, not in this build") from None
        write_html(report, html, montages=getattr(args, "montages", 12))
    if getattr(args, "quiet", False):
        print(report.verdict())
    else:
        from datacheck.report.render import print_report

        print_report(report, file=sys.stdout)
    return 0 if report.ok else 1


def write_failed_list(report: Report, path: str) -> None:
    """Write the inputs that are violating or unreadable as CSV: path, status, codes, reason.

    Codes are joined with ``;``. The header row is always written, so an empty
    list still says that nothing failed.
    """
    import csv

    try:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "status", "codes", "reason"])
            for name, detail in report.input_details().items():
                if detail["status"] != "ok":
                    writer.writerow([name, detail["status"], ";".join(detail["codes"]),
                                     detail["message"] or ""])
    except OSError as exc:
        raise DatacheckError(f"cannot write --failed-list {path}: {exc.strerror}") from None
