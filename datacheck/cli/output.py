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
    html = getattr(args, "html", None)
    if html:
        try:
            from datacheck.report.html import write_html
        except ImportError:
            raise DatacheckError("--html needs the HTML report module, not in this build") from None
        write_html(report, html)
    if getattr(args, "quiet", False):
        print(report.verdict())
    else:
        from datacheck.report.render import print_report

        print_report(report, file=sys.stdout)
    return 0 if report.ok else 1
