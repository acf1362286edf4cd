"""Read HDF5 files: datasets by path, their shapes, dtypes and attributes, and slabs of rows.

Arrays are never loaded whole: :func:`iter_slabs` reads along axis 0 in
slabs bounded by bytes (aligned to the dataset's chunks), so a 100 GB
dataset is summarized in a bounded amount of memory. Readers never judge,
but :func:`describe` notes why a dataset cannot be read at all
(``H5Info.refusal``: an object dtype, rows that were never written, data in
files outside the input), and :func:`read_rows` refuses such a dataset.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from datacheck.errors import DataError
from datacheck.readers.gate import descriptor_path, file_size, open_file
from datacheck.readers.guards import Limits, TooLargeError, check_declared, human_bytes
from datacheck.readers.h5chunks import open_dataset
from datacheck.readers.h5external import follow_link
from datacheck.readers.h5external import storage_refusal as external_refusal

#: What h5py raises for corrupt metadata, link loops and types it cannot map
#: (it turns HDF5 error stacks into these; NotImplementedError is a RuntimeError).
H5_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError)

#: Never-written data below this many bytes is read as the fill values HDF5 returns;
#: above it (and over half the dataset) the dataset is refused, see :func:`storage_refusal`.
UNWRITTEN_FLOOR = 64 * 1024**2


@dataclass(frozen=True)
class H5Info:
    """What a path inside the file holds; ``dataset`` is False for groups.

    ``refusal`` is empty for a readable dataset, else why it cannot be read
    (one sentence naming the dataset and the fix, without the file name).
    """

    path: str
    dataset: bool
    shape: tuple[int, ...] = ()
    dtype: str = ""
    itemsize: int = 0
    chunks: tuple[int, ...] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    refusal: str = ""
    #: The violation code of ``refusal``: ``unreadable``, or ``too_large`` (a virtual
    #: dataset declaring more than the limits).
    refusal_code: str = "unreadable"


def _detail(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0] or type(exc).__name__


def open_h5(path: str | os.PathLike[str], source: str | None = None,
            root: str | os.PathLike[str] | None = None, limits: Limits | None = None) -> Any:
    """Open an HDF5 file read-only, with one clear line when it is not one.

    The file is opened once through the gate (a regular file, inside ``root`` if
    given) and HDF5 opens that descriptor's file, not the path again. ``limits``
    (default: the active ones) say whether data in other files may be read
    (``allow_external``: targets inside ``root``, default the file's folder).

    >>> with open_h5("train.h5") as f: ...  # doctest: +SKIP
    """
    import h5py

    label = source or str(path)
    handle = open_file(path, root=root, label=label)
    try:
        if file_size(handle) == 0:
            raise DataError(f"{label}: empty file (0 bytes); re-export it with h5py.")
        # /proc/self/fd/N reopens the very file behind the checked descriptor; elsewhere
        # h5py reads through the Python file object (slower, but the same bytes).
        named = descriptor_path(handle)
        try:
            if named is not None:
                opened = h5py.File(named, "r")
            else:
                opened = h5py.File(handle, "r")
                handle = None  # type: ignore[assignment]  # h5py reads through it: keep it
            # Messages name the file, not /proc/self/fd/N (see describe).
            opened.datacheck_label = label
            # Targets of external links and virtual sources resolve against the real file's
            # folder and must stay inside the root (see h5external).
            folder = Path(os.path.realpath(named or path)).parent
            opened.datacheck_folder = folder
            opened.datacheck_root = Path(root).resolve() if root is not None else folder
            opened.datacheck_limits = limits
            return opened
        except H5_ERRORS as exc:
            raise DataError(f"{label}: not a readable HDF5 file ({_detail(exc)}); a truncated "
                            "copy or another format renamed to .h5? Re-copy or re-export it.") \
                from None
    finally:
        if handle is not None:
            handle.close()


def describe(handle: Any, inner: str, source: str | None = None) -> H5Info | None:
    """Shape, dtype, chunks and attributes at ``inner`` (None when nothing is there).

    Metadata h5py cannot read (a soft-link loop, a corrupt object header or
    attribute, a float type numpy cannot hold) raises DataError naming
    ``source`` (default: the file name) and the dataset.

    >>> describe(f, "/train/images").shape  # doctest: +SKIP
    (5000, 64, 64, 1)
    """
    label = source or str(getattr(handle, "datacheck_label", None)
                          or getattr(handle, "filename", "HDF5 file"))
    active = handle.__dict__.setdefault("datacheck_active", set())
    if inner in active:  # a virtual dataset mapping itself, directly or through others
        raise DataError(f"{label}: dataset '{inner}' maps onto itself (a virtual dataset "
                        "cycle); refused.")
    active.add(inner)
    try:
        info = _describe_path(handle, inner, label)
    finally:
        active.discard(inner)
    # Only now: open_dataset opens a described path directly (its other-file data, if any,
    # registered); a path whose description failed is described again, and fails again.
    handle.__dict__.setdefault("datacheck_described", set()).add(inner)
    return info


def _describe_path(handle: Any, inner: str, label: str) -> H5Info | None:
    try:
        external = _external_link(handle, inner)
        if external is not None:
            return follow_link(handle, *external, inner, label)
        obj = handle.get(inner)  # a missing path (or a dangling link) is None, not an error
    except H5_ERRORS as exc:
        raise DataError(f"{label}: cannot open dataset '{inner}': the link loops or the file's "
                        f"metadata is corrupt (h5py: {_detail(exc)}). Re-copy or re-export the "
                        "file.") from None
    if obj is None:
        return None
    try:
        return _describe(handle, obj, inner, label)
    except H5_ERRORS as exc:
        raise DataError(f"{label}: cannot read the metadata of '{inner}': it is corrupt or uses "
                        f"a type numpy cannot hold (h5py: {_detail(exc)}). Re-copy the file, or "
                        "re-export it with standard dtypes.") from None


#: Soft links followed while looking for an external link on the way to a dataset.
_MAX_HOPS = 32


def _external_link(handle: Any, inner: str) -> tuple[Any, str, list[str]] | None:
    """(link, where, rest of the path) of the first external link on the way to ``inner``.

    Soft links are followed (bounded). An external link names another file by
    path, resolved on the reading machine: HDF5 must never follow it itself
    (outside the dataset root, a FIFO); :func:`h5external.follow_link` refuses
    it or opens its target through the gate.
    """
    import h5py

    parts = [p for p in inner.split("/") if p]
    done: list[str] = []
    hops = 0
    while parts:
        here = "/" + "/".join([*done, parts[0]])
        link = handle.get(here, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            return link, here, parts[1:]
        if isinstance(link, h5py.SoftLink) and hops < _MAX_HOPS:
            hops += 1
            target = link.path if link.path.startswith("/") else \
                "/" + "/".join([*done, link.path])
            parts = [p for p in target.split("/") if p] + parts[1:]
            done = []
            continue
        if link is None:
            return None  # missing: describe reports it
        done.append(parts.pop(0))
    return None


def _describe(handle: Any, obj: Any, inner: str, label: str) -> H5Info:
    import h5py

    attrs = _attrs(obj, inner, label)
    if not isinstance(obj, h5py.Dataset):
        return H5Info(inner, False, attrs=attrs)
    dtype = obj.dtype
    strings = dtype.kind in "SU" or h5py.check_string_dtype(dtype) is not None
    name = "string" if strings else "object" if dtype.kind == "O" else dtype.name
    shape = tuple(int(d) for d in obj.shape)
    refusal, code = "", "unreadable"
    refusal = dtype_refusal(inner, dtype)
    if not refusal:
        refusal, code = external_refusal(handle, obj, inner, label)
        if not refusal and not code:  # data inside the file: judge what was written
            refusal, code = storage_refusal(obj, inner), "unreadable"
    return H5Info(inner, True, shape, name, int(dtype.itemsize),
                  tuple(obj.chunks) if obj.chunks else None, attrs, refusal,
                  code or "unreadable")


#: Largest attribute read (stored bytes, and elements): metadata, not data. A larger one is
#: kept as a note saying so, which a schema comparing its value then reports.
MAX_ATTR_BYTES = 1 << 20
MAX_ATTR_ITEMS = 1 << 16


def _attr_too_large(obj: Any, key: str) -> str:
    """A note replacing an attribute over the bounds ('' when it is small enough to read)."""
    aid = obj.attrs.get_id(key)
    stored = int(aid.get_storage_size())
    items = math.prod(int(d) for d in (aid.shape or ()))
    if stored <= MAX_ATTR_BYTES and items <= MAX_ATTR_ITEMS:
        return ""
    return (f"<attribute of {items:,} values, {human_bytes(stored)} stored: over the "
            f"{human_bytes(MAX_ATTR_BYTES)} / {MAX_ATTR_ITEMS:,}-value bound; not read>")


def _attrs(obj: Any, inner: str, label: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in obj.attrs:
        try:
            out[key] = _attr_too_large(obj, key) or _plain(obj.attrs[key])
        except H5_ERRORS as exc:
            raise DataError(f"{label}: cannot read attribute {key!r} of '{inner}': it is "
                            f"corrupt or of a type h5py cannot map (h5py: {_detail(exc)}). "
                            "Re-copy the file, or rewrite the attribute.") from None
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype.kind in "SO" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def dtype_refusal(inner: str, dtype: np.dtype[Any]) -> str:
    """Why a dataset of ``dtype`` cannot be read ('' when it can).

    Fixed-size numbers and strings (fixed or variable-length, as labels) are
    read; variable-length arrays, object and region references, compound
    records and opaque bytes have no fixed numeric shape to judge.
    """
    import h5py

    if h5py.check_string_dtype(dtype) is not None:
        return ""
    ref = h5py.check_ref_dtype(dtype)
    base = h5py.check_vlen_dtype(dtype)
    if ref is not None:
        what = "region references" if ref is h5py.RegionReference else "object references"
    elif base is not None:
        what = f"variable-length {np.dtype(base).name} arrays"
    elif dtype.kind == "O":
        what = "Python objects"
    elif dtype.names:
        return (f"dataset '{inner}' has a compound dtype (fields {', '.join(dtype.names)}); "
                "datacheck reads fixed-size numeric or string datasets only: store each field "
                "as its own dataset.")
    elif dtype.kind == "V" and dtype.subdtype is None:
        what = "opaque bytes"
    else:
        return ""
    return (f"dataset '{inner}' has an object dtype ({what}); datacheck reads fixed-size "
            "numeric or string datasets only: store fixed-shape arrays (pad or resample "
            "variable-length rows).")


def storage_refusal(dataset: Any, inner: str) -> str:
    """Why the data a dataset declares is not in the file ('' when it is).

    HDF5 returns the fill value for chunks never written, so a file of a few
    KB can declare 1e8 rows and make a scan read gigabytes of zeros for hours.
    Rule: when more than :data:`UNWRITTEN_FLOOR` bytes *and* more than half of
    the declared bytes lie in storage that was never allocated, the dataset is
    refused. For a chunked dataset the never-allocated part is the chunks the
    grid needs minus ``id.get_num_chunks()`` (allocated chunks, compressed or
    not, so a gzip dataset of zeros that stores 1000x less still passes); a
    contiguous dataset is allocated whole or not at all. Both calls walk the
    chunk index the file really stores (about 0.06 s per 300,000 chunks), never
    the declared grid. Data in other files (external raw storage, virtual
    datasets) is judged by :mod:`datacheck.readers.h5external`; compact
    datasets are not judged here.
    """
    import h5py

    plist = dataset.id.get_create_plist()
    declared = math.prod(int(d) for d in dataset.shape) * int(dataset.dtype.itemsize)
    if declared <= UNWRITTEN_FLOOR:
        return ""
    layout = plist.get_layout()
    if layout == h5py.h5d.CHUNKED:
        chunks = tuple(int(c) for c in dataset.chunks)
        grid = math.prod(-(-int(s) // c) for s, c in zip(dataset.shape, chunks, strict=True))
        written = int(dataset.id.get_num_chunks())
        chunk_bytes = math.prod(chunks) * int(dataset.dtype.itemsize)
        unwritten = min(declared, max(0, grid - written) * chunk_bytes)
        stored = f"{written:,} of {grid:,} chunks"
    elif layout == h5py.h5d.CONTIGUOUS:
        allocated = dataset.id.get_space_status() != h5py.h5d.SPACE_STATUS_NOT_ALLOCATED
        unwritten = 0 if allocated else declared
        stored = "no storage"
    else:
        return ""
    if unwritten <= max(UNWRITTEN_FLOOR, declared // 2):
        return ""
    rows = f"{int(dataset.shape[0]):,} rows" if dataset.shape else "data"
    return (f"dataset '{inner}' declares {rows} ({human_bytes(declared)}) but holds {stored} "
            f"({human_bytes(dataset.id.get_storage_size())} stored): "
            f"{human_bytes(unwritten)} were never written and would read as fill values; "
            "refused before reading. Write the rows, or shrink the dataset to the rows written "
            "(h5py: dataset.resize(n, axis=0)).")


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


def readable_guard(source: str, info: H5Info) -> None:
    """Raise DataError (code ``unreadable``; TooLargeError for ``too_large``) on a refusal."""
    if info.refusal:
        error = TooLargeError if info.refusal_code == "too_large" else DataError
        raise error(f"{source}: {info.refusal_code}: {info.refusal}")


def read_rows(handle: Any, info: H5Info, start: int, stop: int, source: str) -> np.ndarray:
    """Rows ``start:stop`` of a dataset (strings decoded to str); a refused dataset raises."""
    readable_guard(source, info)
    try:
        data = open_dataset(handle, info)[start:stop]
    except H5_ERRORS as exc:
        raise DataError(f"{source}:{info.path}: unreadable rows {start}-{stop - 1} "
                        f"({_detail(exc)}); the file is corrupt or truncated. Re-copy or "
                        "re-export it.") from None
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
        yield 0, _read_scalar(handle, info, source)
        return
    step = slab_rows(info, slab_bytes)
    for start in range(0, end, step):
        yield start, read_rows(handle, info, start, min(start + step, end), source)


def _read_scalar(handle: Any, info: H5Info, source: str) -> np.ndarray:
    readable_guard(source, info)
    try:
        return np.asarray(open_dataset(handle, info)[()]).reshape(1)
    except H5_ERRORS as exc:
        raise DataError(f"{source}:{info.path}: unreadable value ({_detail(exc)}); the file is "
                        "corrupt or truncated. Re-copy or re-export it.") from None
