"""`datacheck check --schema S DATA...`"""

from __future__ import annotations

import argparse

from datacheck.cli.main import add_common
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
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    from datacheck.api import check
    from datacheck.errors import DatacheckError
    from datacheck.schema.io import load_schema

    if args.workers < 1:
        raise DatacheckError(f"--workers must be >= 1, got {args.workers}")
    schema = load_schema(args.schema)
    report = check(args.data, schema, batch_size=args.batch_size, workers=args.workers,
                   scheduler=args.scheduler)
    return emit(report, args)
