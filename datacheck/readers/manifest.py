"""Read manifest tables (CSV, TSV, Parquet) and resolve the file paths they list.

A manifest lists one example per row: image path, mask path, label, subject,
split. This module only reads rows and resolves paths; which rows are wrong
(missing files, paths escaping the root, leakage) is decided in
``datacheck.rules.medical``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from datacheck.errors import DataError
from datacheck.readers.guards import Limits, human_bytes

#: Manifest suffixes datacheck reads.
MANIFEST_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")


def read_manifest(path: str | os.PathLike[str], limits: Limits | None = None,
                  source: str | None = None) -> Any:
    """Read a manifest table into a pandas DataFrame (one clear line when it cannot).

    >>> read_manifest("dataset/manifest.csv").columns.tolist()  # doctest: +SKIP
    ['id', 'subject', 'split', 'image', 'label']
    """
    import pandas as pd

    limits = limits or Limits()
    label = source or str(path)
    suffix = Path(path).suffix.lower()
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise DataError(f"{label}: cannot open ({exc.strerror})") from None
    if size == 0:
        raise DataError(f"{label}: empty file (0 bytes); a manifest needs a header row.")
    if size > limits.max_bytes:
        raise DataError(f"{label}: too_large: manifest is {human_bytes(size)}, over the limit of "
                        f"{human_bytes(limits.max_bytes)}; split it or raise max_bytes.")
    try:
        if suffix in (".parquet", ".pq"):
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", encoding="utf-8",
                                skipinitialspace=True)
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
    return joined, joined.resolve()
