"""Entry point and dispatch. Exit codes: 0 all checks hold, 1 violations, 2 usage/schema/config,
130 interrupted (Ctrl-C; `check` still prints and writes the partial report).

Subcommand modules are imported only when chosen, so `datacheck --help` and
`datacheck check` on files start without TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from datacheck.errors import DatacheckError

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: subcommand -> (module, one-line help). Each module has add_arguments(parser) and run(args).
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("datacheck.cli.cmd_check", "check data against a schema"),
    "doctor": ("datacheck.cli.cmd_doctor", "find why a Keras model would not learn from data"),
    "infer": ("datacheck.cli.cmd_infer", "write a schema inferred from data (YAML on stdout)"),
    "diff": ("datacheck.cli.cmd_diff", "compare two datasets or saved summaries for drift"),
    "labels": ("datacheck.cli.cmd_labels", "find label errors and copies with different labels"),
    "report": ("datacheck.cli.cmd_report", "render a saved JSON report (e.g. as HTML)"),
    "schema": ("datacheck.cli.cmd_schema", "show bundled schemas or the schema JSON Schema"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse exits with 2 too; keep one line and no usage dump on stderr noise.
        self.print_usage(sys.stderr)
        print(f"datacheck: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON to PATH")
    parser.add_argument("--failed-list", metavar="PATH",
                        help="write the inputs that are not ok (path, status, codes, reason) "
                        "as CSV to PATH, ready to exclude")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="parallel workers on this machine (default 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the scan on a Dask distributed cluster (tcp://host:port)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the verdict")


def add_limits(parser: argparse.ArgumentParser) -> None:
    """--max-bytes/--max-voxels: the readers' size limits (refused inputs are too_large)."""
    parser.add_argument("--max-bytes", type=int, metavar="N",
                        help="refuse volumes whose header declares more than N bytes (too_large)")
    parser.add_argument("--max-voxels", type=int, metavar="N",
                        help="refuse volumes whose header declares more than N voxels")
    parser.add_argument("--max-rows", type=int, metavar="N",
                        help="refuse archives and manifests that declare more than N rows "
                        "(default 50,000,000 for archives, 1,000,000 for manifests)")
    parser.add_argument("--allow-external", action="store_true",
                        help="read HDF5 external links, external raw storage and virtual "
                        "datasets whose targets are inside the dataset root (default: refused)")


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="datacheck", description="Prove the data going into a model is what "
                     "the model expects.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            module = _load(module_name)
            module.add_arguments(sp)
    return parser


def _load(module_name: str):  # type: ignore[no-untyped-def]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            command = module_name.rsplit("_", 1)[-1]
            raise DatacheckError(f"this build of datacheck has no '{command}' command") from None
        raise


def _version() -> str:
    from datacheck import __version__

    return f"datacheck {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 violations, 2 usage/config)."""
    import warnings

    with warnings.catch_warnings():  # restores the usual display when main returns
        warnings.showwarning = _one_line_warning
        return _main(argv)


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str,
                      lineno: int, file: object = None, line: str | None = None) -> None:
    # A warning from the command line is one line on stderr, like its errors.
    from datacheck.excerpt import bounded

    text = str(message).splitlines()[0] if str(message) else ""
    print(f"datacheck: warning: {bounded(text)}", file=sys.stderr)


def _main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if a in COMMANDS), None)
    try:
        parser = build_parser(selected)
        args = parser.parse_args(args_list)
        if not args.command:
            parser.print_help()
            return EXIT_USAGE
        module = _load(COMMANDS[args.command][0])
        return int(module.run(args))
    except DatacheckError as exc:
        from datacheck.excerpt import bounded

        print(f"datacheck: error: {bounded(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        from datacheck.scan.interrupt import quit_quietly_on_sigint

        quit_quietly_on_sigint()  # another Ctrl-C while Python exits: no traceback
        print("datacheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # stdout on a full disk (/dev/full), a dead terminal...
        import errno

        _drop_stdout()
        writing = exc.errno in (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT)
        what = "cannot write the output" if writing else type(exc).__name__
        print(f"datacheck: error: {what}: {str(exc.strerror or exc)[:300]}", file=sys.stderr)
        return EXIT_USAGE


def _drop_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit cannot fail a second time."""
    import os

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
