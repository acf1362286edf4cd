"""`datacheck check --schema S DATA...`"""

from __future__ import annotations

import argparse

from datacheck.cli.main import EXIT_INTERRUPTED, add_common, add_limits
from datacheck.cli.output import emit
from datacheck.data import DEFAULT_BATCH_SIZE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="+", metavar="DATA",
                        help=".npz, .nii/.nii.gz, .h5, manifest .csv/.parquet, or a folder")
    parser.add_argument("--schema", "-s", required=True,
                        help="bundled schema name (e.g. cifar10) or path to .yaml/.json")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"batch size for array data (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--html", metavar="PATH", help="also write a self-contained HTML report")
    parser.add_argument("--montages", type=int, default=12, metavar="N",
                        help="volumes whose slices the report keeps and the HTML page shows, "
                        "errors first (default 12)")
    add_limits(parser)
    parser.add_argument("--each", action="store_true",
                        help="judge dataset-scope rules (class coverage and balance, dataset "
                        "moments) per input; default: all inputs together are one dataset")
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    from datacheck.api import check
    from datacheck.errors import DatacheckError, ScanInterrupted
    from datacheck.scan.interrupt import quit_quietly_on_sigint
    from datacheck.schema.io import load_schema

    if args.workers < 1:
        raise DatacheckError(f"--workers must be >= 1, got {args.workers}")
    if args.batch_size < 1:
        raise DatacheckError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.montages < 0:
        raise DatacheckError(f"--montages must be >= 0, got {args.montages}")
    from datacheck.readers.guards import limits_with

    schema = load_schema(args.schema)
    limits = limits_with(args.max_bytes, args.max_voxels, max_rows=args.max_rows,
                         allow_external=args.allow_external)
    try:
        report = check(args.data, schema, batch_size=args.batch_size, workers=args.workers,
                       scheduler=args.scheduler, limits=limits, progress=None, each=args.each,
                       montages=args.montages)
    except ScanInterrupted as stopped:
        # Ctrl-C: write and print what was checked (the rest is listed as not checked);
        # a second Ctrl-C from here on ends the process at once, without a traceback.
        quit_quietly_on_sigint()
        emit(stopped.report, args)  # type: ignore[arg-type]
        return EXIT_INTERRUPTED
    return emit(report, args)
