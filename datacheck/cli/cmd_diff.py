"""`datacheck diff A B`: drift (and with --dedup, duplicates and leakage) between two datasets."""

from __future__ import annotations

import argparse

from datacheck.data import DEFAULT_BATCH_SIZE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A",
                        help="reference data (e.g. train) or a saved profile .json")
    parser.add_argument("b", metavar="B", nargs="?", help="data to compare (e.g. validation, "
                        "serving) or a saved profile .json; omit with --split-b to compare two "
                        "splits of manifest A")
    parser.add_argument("--split-a", metavar="NAME", help="only rows of this split of manifest A")
    parser.add_argument("--split-b", metavar="NAME", help="only rows of this split of manifest B "
                        "(or of A when B is omitted)")
    parser.add_argument("--schema", "-s", help="schema: names, layouts and drift thresholds")
    parser.add_argument("--dedup", action="store_true",
                        help="also find exact and near-duplicate elements (duplicate, leakage)")
    parser.add_argument("--max-distance", type=int, metavar="BITS",
                        help="largest perceptual-hash distance of a near copy (default 4 per 64 "
                             "bits); 0 keeps only identical hashes")
    parser.add_argument("--hash", choices=("ahash", "dhash"), default="ahash",
                        help="perceptual hash for near copies (default ahash)")
    parser.add_argument("--save-a", metavar="PATH", help="save A's profile as JSON")
    parser.add_argument("--save-b", metavar="PATH", help="save B's profile as JSON")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"batch size for array data (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON to PATH")
    parser.add_argument("--html", metavar="PATH", help="also write a self-contained HTML report")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the verdict")
    from datacheck.cli.main import add_limits

    add_limits(parser)


def run(args: argparse.Namespace) -> int:
    from datacheck.cli.output import emit
    from datacheck.drift.api import diff
    from datacheck.errors import DatacheckError

    if args.max_distance is not None and args.max_distance < 0:
        raise DatacheckError(f"--max-distance must be >= 0, got {args.max_distance}")
    if args.batch_size < 1:
        raise DatacheckError(f"--batch-size must be >= 1, got {args.batch_size}")
    from datacheck.readers.guards import limits_with, use_limits

    # Every reader diff calls (files, manifest rows, .npz members) applies these limits.
    with use_limits(limits_with(args.max_bytes, args.max_voxels, max_rows=args.max_rows,
                                allow_external=args.allow_external)):
        report = diff(args.a, args.b, args.schema, dedup=args.dedup,
                      max_distance=args.max_distance, method=args.hash,
                      batch_size=args.batch_size, save_a=args.save_a, save_b=args.save_b,
                      split_a=args.split_a, split_b=args.split_b)
    return emit(report, args)
