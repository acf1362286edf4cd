"""Read HDF5 files: datasets by path, their shapes, dtypes and attributes, and slabs of rows.

Arrays are never loaded whole: :func:`iter_slabs` reads along axis 0 in
slabs bounded by bytes (aligned to the dataset's chunks), so a 100 GB
dataset is summarized in a bounded amount of memory. Readers never judge.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datacheck.errors import DataError
from datacheck.readers.guards import Limits, check_declared


@dataclass(frozen=True)
class H5Info:
    """What a path inside the file holds; ``dataset`` is False for groups."""

    path: str
    dataset: bool
    shape: tuple[int, ...] = ()
    dtype: str = ""
    itemsize: int = 0
    chunks: tuple[int, ...] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


def open_h5(path: str | os.PathLike[str], source: str | None = None) -> Any:
    """Open an HDF5 file read-only, with one clear line when it is not one.

    >>> with open_h5("train.h5") as f: ...  # doctest: +SKIP
    """
    import h5py

    label = source or str(path)
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise DataError(f"{label}: empty file (0 bytes); re-export it with h5py.")
    try:
        return h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{label}: not a readable HDF5 file ({reason}); a truncated copy or "
                        "another format renamed to .h5? Re-copy or re-export it.") from None


def describe(handle: Any, inner: str) -> H5Info | None:
    """Shape, dtype, chunks and attributes at ``inner`` (None when nothing is there).

    >>> describe(f, "/train/images").shape  # doctest: +SKIP
    (5000, 64, 64, 1)
    """
    import h5py

    try:
        obj = handle.get(inner)
    except (OSError, KeyError, ValueError):
        obj = None
    if obj is None:
        return None
    attrs = {key: _plain(obj.attrs[key]) for key in _attr_names(obj)}
    if not isinstance(obj, h5py.Dataset):
        return H5Info(inner, False, attrs=attrs)
    dtype = obj.dtype
    name = "string" if dtype.kind in "SUO" else dtype.name
    return H5Info(inner, True, tuple(int(d) for d in obj.shape), name, int(dtype.itemsize),
                  tuple(obj.chunks) if obj.chunks else None, attrs)


def _attr_names(obj: Any) -> list[str]:
    try:
        return list(obj.attrs.keys())
    except (OSError, KeyError):
        return []


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype.kind in "SO" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def slab_rows(info: H5Info, slab_bytes: int) -> int:
    """Rows of axis 0 per read: within ``slab_bytes`` and a multiple of the chunk rows."""
    row = math.prod(info.shape[1:]) * max(info.itemsize, 1)
    rows = max(1, slab_bytes // max(row, 1))
    if info.chunks and info.chunks[0] and rows >= info.chunks[0]:
        rows -= rows % info.chunks[0]
    return rows


def row_guard(source: str, info: H5Info, limits: Limits) -> None:
    """Refuse a dataset whose single row (or whole array, if not batched) passes the limits."""
    check_declared(f"{source}:{info.path}", info.shape[1:] or (1,), info.itemsize, limits,
                   "Store one example per row, or raise max_bytes in the schema.")


def read_rows(handle: Any, info: H5Info, start: int, stop: int, source: str) -> np.ndarray:
    """Rows ``start:stop`` of a dataset (strings decoded to str)."""
    try:
        data = handle[info.path][start:stop]
    except (OSError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{source}:{info.path}: unreadable rows {start}-{stop - 1} ({reason}); "
                        "the file is corrupt or truncated. Re-copy or re-export it.") from None
    arr = np.asarray(data)
    if arr.dtype.kind in "SO":
        arr = np.vectorize(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes)
                           else str(v), otypes=[str])(arr) if arr.size else arr.astype(str)
    return arr


def iter_slabs(handle: Any, info: H5Info, slab_bytes: int, source: str,
               stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (first row, rows) along axis 0, each slab at most ``slab_bytes`` (one row minimum)."""
    total = info.shape[0] if info.shape else 1
    end = total if stop is None else min(stop, total)
    if not info.shape:
        yield 0, np.asarray(handle[info.path][()]).reshape(1)
        return
    step = slab_rows(info, slab_bytes)
    for start in range(0, end, step):
        yield start, read_rows(handle, info, start, min(start + step, end), source)
