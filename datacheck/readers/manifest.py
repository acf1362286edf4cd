"""Read manifest tables (CSV, TSV, Parquet) and resolve the file paths they list.

A manifest lists one example per row: image path, mask path, label, subject,
split. This module only reads rows and resolves paths; which rows are wrong
(missing files, paths escaping the root, leakage) is decided in
``datacheck.rules.medical``.
"""

from __future__ import annotations

import csv
import errno
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from datacheck.errors import DataError
from datacheck.readers.gate import file_size, open_file
from datacheck.readers.guards import Limits, TooLargeError, active_limits, human_bytes
from datacheck.readers.registry import is_parquet, suffixes

#: Manifest suffixes datacheck reads.
MANIFEST_SUFFIXES: tuple[str, ...] = suffixes("manifest")
#: ``DataFrame.attrs`` key of the rows read_manifest left out for having more fields than the
#: header (a list of :class:`WideRow`); the rules report them so that every row is accounted for.
WIDE_ROWS = "datacheck.wide_rows"
#: OSError numbers that mean "no file there" for a manifest path (as ``Path.is_file`` treats them).
_ABSENT = {errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP}


@dataclass(frozen=True)
class WideRow:
    """A CSV/TSV row with more fields than the header, e.g. an unquoted comma in a path."""

    index: int  # numbered like the table's rows: the n-th non-blank data row is n - 1
    fields: int
    header: int


class BadPathError(DataError):
    """A manifest cell that cannot name a file, or whose file cannot be checked."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{shown_path(path)}: {reason}")
        self.path = path
        self.reason = reason


def read_manifest(path: str | os.PathLike[str], limits: Limits | None = None,
                  source: str | None = None, root: str | os.PathLike[str] | None = None) -> Any:
    """Read a manifest table into a pandas DataFrame (one clear line when it cannot).

    >>> read_manifest("dataset/manifest.csv").columns.tolist()  # doctest: +SKIP
    ['id', 'subject', 'split', 'image', 'label']
    """

    limits = limits or active_limits()
    label = source or str(path)
    suffix = Path(path).suffix.lower()
    # Opened once through the gate; both passes (wide rows, pandas) read this descriptor.
    with open_file(path, root=root, label=label) as handle:
        size = file_size(handle)
        if size == 0:
            raise DataError(f"{label}: empty file (0 bytes); a manifest needs a header row.")
        if size > limits.max_bytes:
            raise DataError(f"{label}: too_large: manifest is {human_bytes(size)}, over the "
                            f"limit of {human_bytes(limits.max_bytes)}; split it or raise "
                            "max_bytes.")
        try:
            if is_parquet(path):
                table = _read_parquet(handle, label, limits)
            else:
                table = _read_text_table(handle, "\t" if suffix == ".tsv" else ",", label,
                                         limits)
        except DataError:
            raise
        except UnicodeDecodeError as exc:
            raise DataError(f"{label}: not UTF-8 text (byte {exc.start}); save the manifest as "
                            "UTF-8.") from None
        except Exception as exc:  # pandas/pyarrow raise many types for malformed tables
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataError(f"{label}: unreadable manifest ({reason}).") from None
    table.columns = [str(c).strip() for c in table.columns]
    return table


def manifest_root(manifest: str | os.PathLike[str], root: str | None) -> Path:
    """The dataset root: ``root`` relative to the manifest's folder (default: that folder)."""
    base = Path(manifest).parent
    return base if root is None else (base / root)


def resolve_entry(root: Path, value: Any) -> tuple[Path, Path] | None:
    """(joined path, fully resolved path) of one manifest cell; None for an empty cell.

    >>> resolve_entry(Path("/data"), "sub-01/anat.nii.gz")[0]
    PosixPath('/data/sub-01/anat.nii.gz')
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    if not text:
        return None
    joined = root / text
    return joined, _resolve(joined)


def file_problem(path: Path) -> str | None:
    """Why ``path`` is no regular file: 'missing', or the reason it cannot be checked.

    >>> file_problem(Path("/etc"))
    'missing'
    """
    try:
        if path.is_file():
            return None
    except OSError as exc:
        return _os_reason(exc)
    return "missing"


def printable(text: str) -> str:
    """``text`` as one printable line: control characters (newline, tab, NUL) as escapes.

    >>> printable("a\\nb\\x00")
    'a\\\\nb\\\\x00'
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def shown_path(value: Any, limit: int = 200) -> str:
    """A path cell as one printable line: control characters escaped, long text elided."""
    text = printable(str(value))
    if len(text) <= limit:
        return text
    return f"{text[:limit - 40]}...{text[-30:]} ({len(str(value))} characters)"


def _resolve(joined: Path) -> Path:
    # The OS cannot take a NUL inside a path, so os.path.realpath raises ValueError.
    if "\x00" in str(joined):
        raise BadPathError(joined, "path contains a NUL byte")
    try:
        return joined.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop (Python < 3.13)
        raise BadPathError(joined, _os_reason(exc)) from None


def _os_reason(exc: BaseException) -> str:
    number = getattr(exc, "errno", None)
    if number == errno.ENAMETOOLONG:
        return "file name longer than the file system allows"
    if number == errno.ELOOP or isinstance(exc, RuntimeError):
        return "symlink loop"
    if number in _ABSENT:
        return "missing"
    if number in (errno.EACCES, errno.EPERM):
        return "permission denied"
    strerror = getattr(exc, "strerror", None)
    return f"cannot check the file ({strerror or type(exc).__name__})"


def _row_limit(rows: int, label: str, limits: Limits, when: str = "before parsing") -> None:
    if rows > limits.manifest_rows:
        raise TooLargeError(
            f"{label}: too_large: manifest holds {rows:,} rows, over the limit of "
            f"{limits.manifest_rows:,}; refused {when}. Split it, or raise max_manifest_rows "
            "(Limits(max_manifest_rows=...)).")


#: Rows decoded per Parquet batch / CSV chunk: memory grows by batches, checked as it grows.
CHUNK_ROWS = 262_144


def _read_parquet(handle: IO[bytes], label: str, limits: Limits) -> Any:
    """A Parquet manifest, refused from its footer when it declares too many rows (a few KB of
    run-length-encoded columns can declare millions), then decoded batch by batch with the
    rows and the decoded bytes bounded as they grow (a footer can lie; a dictionary-encoded
    cell repeated a million times inflates)."""
    import pandas as pd

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        table = pd.read_parquet(handle)  # another engine: the row count comes after
        _row_limit(len(table), label, limits, "after parsing")
        return table
    parquet = pq.ParquetFile(handle)
    _row_limit(int(parquet.metadata.num_rows), label, limits)
    batches, rows, nbytes = [], 0, 0
    for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
        rows += batch.num_rows
        nbytes += batch.nbytes
        _row_limit(rows, label, limits, "while reading (the footer declares fewer)")
        if nbytes > limits.max_bytes:
            raise TooLargeError(f"{label}: too_large: manifest cells decode to over "
                                f"{human_bytes(limits.max_bytes)}; refused while reading. A "
                                "manifest holds paths and short values: shorten its cells.")
        batches.append(batch)
    return pa.Table.from_batches(batches, parquet.schema_arrow).to_pandas()


def _read_text_table(handle: IO[bytes], sep: str, label: str, limits: Limits) -> Any:
    """pandas.read_csv, leaving out rows wider than the header (listed in ``attrs``).

    pandas would turn the extra cells of a wide first row into the index (shifting every
    cell of that row into the wrong column) and refuses a wide later row for the whole table.
    """
    import pandas as pd

    skip, wide, data_rows = _wide_rows(handle, sep, label)
    _row_limit(data_rows, label, limits)
    handle.seek(0)
    # index_col=False: never take a column as the index, even where the scan missed a row.
    # In chunks, counted as they come: the counting pass and pandas' parser could disagree.
    parts = []
    rows = 0
    with pd.read_csv(handle, sep=sep, encoding="utf-8", skipinitialspace=True, index_col=False,
                     skiprows=skip or None, chunksize=CHUNK_ROWS) as reader:
        for part in reader:
            rows += len(part)
            _row_limit(rows, label, limits, "while parsing")
            parts.append(part)
    table = pd.concat(parts, ignore_index=True) if len(parts) != 1 else parts[0]
    if wide:
        left_out = {row.index for row in wide}
        kept = [i for i in range(data_rows) if i not in left_out]
        if len(kept) == len(table):  # keep line numbers true for the rows after a wide one
            table.index = pd.Index(kept)
        table.attrs[WIDE_ROWS] = wide
    return table


def _wide_rows(raw: IO[bytes], sep: str, label: str) -> tuple[set[int], list[WideRow], int]:
    """(records for pandas' skiprows, the wide rows, number of non-blank data rows).

    Counts records the way pandas' C parser does: quoted cells may span lines, and blank
    lines count for ``skiprows`` but not as table rows.
    """
    skip: set[int] = set()
    wide: list[WideRow] = []
    header: int | None = None
    data_rows = 0
    try:
        handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        try:
            for number, record in enumerate(csv.reader(handle, delimiter=sep,
                                                       skipinitialspace=True)):
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue
                if header is None:
                    header = len(record)
                    continue
                if len(record) > header:
                    skip.add(number)
                    wide.append(WideRow(data_rows, len(record), header))
                data_rows += 1
        finally:
            handle.detach()  # the descriptor stays open for pandas' pass
    except UnicodeDecodeError:
        return set(), [], 0  # pandas reports it, naming the byte
    except csv.Error as exc:  # in practice: a cell over csv.field_size_limit() characters
        raise DataError(f"{label}: unreadable manifest (line {data_rows + 2}: {exc}); a manifest "
                        "cell holds a path or a short value, so split or shorten that cell.") \
            from None
    return skip, wide, data_rows
