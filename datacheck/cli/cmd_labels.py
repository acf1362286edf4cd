"""`datacheck labels DATA [--schema S] [--model M.keras | --predictions P.npy]`: label errors
(label_noise, class swaps) and copies whose labels disagree (label_conflict)."""

from __future__ import annotations

import argparse

from datacheck.rules.label_quality import MAX_RATE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="+", metavar="DATA",
                        help=".npz, .h5, manifest .csv, or a folder: features and labels")
    parser.add_argument("--schema", "-s", help="schema naming the feature and the label")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", metavar="M.keras",
                        help="score the data with this Keras model (best: one that did not "
                        "train on these labels)")
    source.add_argument("--predictions", metavar="P.npy",
                        help="saved (n, classes) probabilities or logits, in data order")
    source.add_argument("--embeddings", metavar="E.npy",
                        help="(n, d) features for the probe instead of the pixels")
    parser.add_argument("--folds", type=int, default=5,
                        help="folds of the out-of-fold probe (default 5)")
    parser.add_argument("--max-rate", type=float, default=MAX_RATE, metavar="R",
                        help=f"share of suspects still reported as a warning (default {MAX_RATE});"
                        " 0 makes any suspect an error")
    parser.add_argument("--no-conflicts", action="store_true",
                        help="skip the search for copies with different labels")
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON to PATH")
    parser.add_argument("--failed-list", metavar="PATH",
                        help="write the inputs that are not ok as CSV to PATH")
    parser.add_argument("--html", metavar="PATH", help="also write a self-contained HTML report")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the verdict")


def run(args: argparse.Namespace) -> int:
    from datacheck.cli.output import emit
    from datacheck.errors import DatacheckError
    from datacheck.labels.api import find_label_issues

    if args.folds < 2:
        raise DatacheckError(f"--folds must be >= 2, got {args.folds}")
    if not 0 <= args.max_rate <= 1:
        raise DatacheckError(f"--max-rate must be within [0, 1], got {args.max_rate}")
    embeddings = None
    if args.embeddings:
        import numpy as np

        from datacheck.readers.npy import read_npy

        try:  # through the gate: one checked descriptor, never unpickled
            embeddings = np.asarray(read_npy(args.embeddings))
        except DatacheckError as exc:
            raise DatacheckError(f"{exc} Embeddings: save them with np.save('e.npy', "
                                 "features).") from None
    data = args.data[0] if len(args.data) == 1 else args.data
    report = find_label_issues(data, args.schema, model=args.model,
                               predictions=args.predictions, embeddings=embeddings,
                               folds=args.folds, max_rate=args.max_rate,
                               conflicts=not args.no_conflicts)
    return emit(report, args)
