"""Check a list of paths, dispatching on file type; each input ends ok, violating or unreadable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from datacheck.backends.numpy.check import check_batches
from datacheck.data import DEFAULT_BATCH_SIZE, iter_batches
from datacheck.errors import DatacheckError
from datacheck.readers.npz import read_npz
from datacheck.report.report import Report
from datacheck.report.violation import Violation
from datacheck.schema.model import Schema


def _check_npz(path: Path, schema: Schema, batch_size: int) -> Report:
    arrays = read_npz(path, schema)
    return check_batches(schema, iter_batches(arrays, batch_size), source=str(path))


#: File suffix -> checker. Each returns a Report that accounts for the path.
CHECKERS: dict[str, Callable[[Path, Schema, int], Report]] = {".npz": _check_npz}


def check_paths(paths: Sequence[str | Path], schema: Schema, *,
                batch_size: int = DEFAULT_BATCH_SIZE, workers: int = 1,
                scheduler: str | None = None) -> Report:
    """Check files; a file that cannot be read is reported ``unreadable`` and the scan goes on."""
    report = Report(schema=schema.name)
    for raw in paths:
        path = Path(raw)
        checker = CHECKERS.get(path.suffix.lower())
        if not path.exists():
            report.add(Violation("missing_file", "*", f"{path}: missing_file: no such file or "
                                 "folder. Check the path.", where=str(path)))
            report.mark_input(str(path), "unreadable")
            continue
        if checker is None:
            report.add(Violation("unreadable", "*", f"{path}: unreadable: no reader for "
                                 f"'{path.suffix or path.name}' files. Supported: "
                                 f"{', '.join(sorted(CHECKERS))}.", where=str(path)))
            report.mark_input(str(path), "unreadable")
            continue
        try:
            report = report.merge(checker(path, schema, batch_size))
        except DatacheckError as exc:
            report.add(Violation("unreadable", "*", f"{exc}", where=str(path)))
            report.mark_input(str(path), "unreadable")
    return report
