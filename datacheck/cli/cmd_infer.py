"""`datacheck infer DATA... > schema.yaml`: write the schema the data satisfies."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from datacheck.data import DEFAULT_BATCH_SIZE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="+", metavar="DATA",
                        help=".npz, .nii/.nii.gz, .h5, manifest .csv, or a folder of them")
    parser.add_argument("--name", help="schema name (default: from the first path)")
    parser.add_argument("--labels", nargs="+", metavar="NAME",
                        help="names that are labels (default: guessed from the values)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"batch size used for per-batch facts (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--max-batches", type=int, metavar="N",
                        help="read at most N batches (faster, but sizes/ranges may be too tight)")
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml",
                        help="output format (default yaml, with observations as comments)")
    parser.add_argument("--output", "-o", metavar="PATH", help="write to PATH instead of stdout")
    parser.add_argument("--profile", metavar="PATH",
                        help="also save the data's profile (for `datacheck diff`) as JSON")
    parser.add_argument("--json", metavar="PATH",
                        help="write the inputs (read or unreadable, with reasons) as a JSON "
                        "report to PATH")
    parser.add_argument("--hashes", action="store_true",
                        help="store element hashes in the profile (for `datacheck diff --dedup`)")
    from datacheck.cli.main import add_limits

    add_limits(parser)


def run(args: argparse.Namespace) -> int:
    from datacheck.readers.guards import limits_with, use_limits

    # Every reader infer calls (files, manifest rows, .npz members) applies these limits.
    with use_limits(limits_with(args.max_bytes, args.max_voxels, max_rows=args.max_rows,
                                allow_external=args.allow_external)):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from datacheck.errors import DatacheckError
    from datacheck.infer.schema import infer, inference_from_profile

    if args.hashes and not args.profile:
        raise DatacheckError("--hashes goes with --profile PATH (hashes are saved in the profile)")
    if args.batch_size < 1:
        raise DatacheckError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.profile:
        from datacheck.drift.profile import build_profile

        profile = build_profile(args.data, batch_size=args.batch_size,
                                max_batches=args.max_batches, hashes=args.hashes)
        profile.write(args.profile)
        inference = inference_from_profile(profile, name=args.name, labels=args.labels)
    else:
        inference = infer(args.data, name=args.name, labels=args.labels,
                          batch_size=args.batch_size, max_batches=args.max_batches)
    text = inference.to_yaml() if args.format == "yaml" else inference.schema.to_json() + "\n"
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise DatacheckError(f"cannot write --output {args.output}: {exc.strerror}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return _account(inference, args)


def _account(inference: Any, args: argparse.Namespace) -> int:
    """Name each unreadable input on stderr (and in --json); 1 when any was unreadable.

    The schema is still written from the inputs that could be read.
    """
    from datacheck.errors import DatacheckError

    for violation in inference.problems.values():
        print(f"datacheck: not used for the schema: {violation.message}", file=sys.stderr)
    report = inference.report()
    if args.json:
        try:
            report.write_json(args.json)
        except OSError as exc:
            raise DatacheckError(f"cannot write --json {args.json}: {exc.strerror}") from None
    if inference.problems:
        counts = report.counts()
        print(f"datacheck: {counts['unreadable']} of {counts['total']} inputs unreadable; the "
              "schema describes the others.", file=sys.stderr)
        return 1
    return 0
