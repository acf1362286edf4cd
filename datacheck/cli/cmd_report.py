"""`datacheck report REPORT.json [--html out.html]`: render a saved JSON report."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", metavar="REPORT.json", help="a report written with --json")
    parser.add_argument("--html", metavar="PATH", help="write a self-contained HTML page")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the verdict")


def run(args: argparse.Namespace) -> int:
    import json

    from datacheck.cli.output import emit
    from datacheck.errors import DatacheckError
    from datacheck.report.report import Report

    try:
        with open(args.report, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise DatacheckError(f"cannot read {args.report}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DatacheckError(f"{args.report}: invalid JSON at line {exc.lineno}: {exc.msg}") \
            from None
    if not isinstance(data, dict) or "violations" not in data:
        raise DatacheckError(f"{args.report}: not a datacheck report (write one with "
                             "`datacheck check ... --json PATH`)")
    try:
        report = Report.from_dict(data)
    except (TypeError, ValueError, KeyError) as exc:
        raise DatacheckError(f"{args.report}: malformed report ({exc})") from None
    args.json = None
    return emit(report, args)
