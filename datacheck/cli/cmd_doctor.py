"""`datacheck doctor --model M.keras [--schema S] [--smoke] [--json PATH] DATA`"""

from __future__ import annotations

import argparse
import os

from datacheck.cli.main import add_common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA",
                        help=".npz with the training arrays (np.savez(f, x=x, y=y))")
    parser.add_argument("--model", "-m", required=True, help="Keras model file (.keras or .h5)")
    parser.add_argument("--schema", "-s",
                        help="also check the data against this schema (bundled name or path)")
    parser.add_argument("--loss", help="loss to assume when the model is not compiled, e.g. "
                        "sparse_categorical_crossentropy")
    parser.add_argument("--smoke", action="store_true",
                        help="also fit a copy of the model on one batch and check the loss falls")
    parser.add_argument("--smoke-steps", type=int, default=30, metavar="N",
                        help="training steps for --smoke (default 30)")
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    from datacheck.errors import DatacheckError

    if args.smoke_steps < 1:
        raise DatacheckError(f"--smoke-steps must be >= 1, got {args.smoke_steps}")
    # TensorFlow's C++ start-up chatter would bury the report.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from datacheck.cli.output import emit
    from datacheck.doctor import doctor

    report = doctor(args.model, args.data, args.schema, smoke=args.smoke, loss=args.loss,
                    smoke_steps=args.smoke_steps)
    return emit(report, args)
