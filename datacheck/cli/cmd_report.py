"""`datacheck report REPORT.json [--html out.html]`: render a saved JSON report.

The report is untrusted input: it is read through the gate (a regular file, at
most ``MAX_REPORT_BYTES``) and rendered from what it holds; no path named in it
is ever opened.
"""

from __future__ import annotations

import argparse

#: Largest report file read (a report of a million inputs is about 100 MiB).
MAX_REPORT_BYTES = 512 * 1024**2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", metavar="REPORT.json", help="a report written with --json")
    parser.add_argument("--html", metavar="PATH", help="write a self-contained HTML page")
    parser.add_argument("--montages", type=int, default=12, metavar="N",
                        help="volume cards drawn, errors first (default 12; the report must "
                        "store them: check --montages N)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the verdict")


def run(args: argparse.Namespace) -> int:
    import json

    from datacheck.cli.output import emit
    from datacheck.errors import DatacheckError
    from datacheck.readers.gate import file_size, open_file
    from datacheck.readers.guards import human_bytes
    from datacheck.report.report import Report

    try:
        with open_file(args.report, label=args.report) as handle:
            if file_size(handle) > MAX_REPORT_BYTES:
                limit = human_bytes(MAX_REPORT_BYTES)
                raise DatacheckError(f"{args.report}: too_large: over {limit}; not a datacheck "
                                     "report.")
            data = json.loads(handle.read(MAX_REPORT_BYTES + 1).decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DatacheckError(f"cannot read {args.report}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DatacheckError(f"{args.report}: invalid JSON at line {exc.lineno}: {exc.msg}") \
            from None
    except RecursionError:
        raise DatacheckError(f"{args.report}: JSON nested too deeply to be a report") from None
    if not isinstance(data, dict) or "violations" not in data:
        raise DatacheckError(f"{args.report}: not a datacheck report (write one with "
                             "`datacheck check ... --json PATH`)")
    try:
        report = Report.from_dict(data)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise DatacheckError(f"{args.report}: malformed report ({str(exc)[:200]})") from None
    args.json = None
    return emit(report, args)
