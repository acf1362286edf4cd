"""HDF5 data kept in other files: external links, external raw storage, virtual datasets.

Each names other files by path, which HDF5 would open by name on the reading
machine, unseen by the gate: outside the dataset root, through a swapped
symlink, or a FIFO that never ends. By default all three are refused with a
reason. With ``allow_external`` (``--allow-external``, ``hdf5.allow_external``
in the schema, or ``Limits(allow_external=True)``) each target must resolve
inside the dataset root (relative names against the folder of the file that
names them) and is opened through the gate; HDF5 is never left to open a
path. The data is then read from those descriptors:

- an external link: the target file is opened with :func:`open_h5` (gate) and
  the path is described and read inside it;
- external raw storage: the raw segments are read here, in C order, from
  descriptors opened by :func:`~datacheck.readers.gate.open_file`;
- a virtual dataset: its declared size counts against the limits before any
  read, and each mapping must be one box of a source dataset onto a box of
  the same shape (else refused); the sources are read through :func:`open_h5`.

Readers for these are kept in the file handle's dataset cache (see
:func:`~datacheck.readers.h5chunks.open_dataset`), so every row read goes
through them.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from datacheck.errors import DataError
from datacheck.excerpt import bounded, excerpt
from datacheck.readers.gate import RefusedPathError, confine, open_file
from datacheck.readers.guards import Limits, TooLargeError, active_limits, check_declared

FIX = ("Copy the data in (h5repack, or rewrite the file without external links, external= "
       "or virtual datasets), or pass --allow-external (hdf5: allow_external: true) to read "
       "targets inside the dataset root.")


def handle_limits(handle: Any) -> Limits:
    """The limits the file was opened with (the active ones when none were given)."""
    return getattr(handle, "datacheck_limits", None) or active_limits()


def _root_and_folder(handle: Any) -> tuple[Path, Path]:
    folder = Path(getattr(handle, "datacheck_folder", None) or Path(handle.filename).parent)
    return Path(getattr(handle, "datacheck_root", None) or folder), folder


def _target(handle: Any, name: str | bytes, label: str, what: str) -> Path:
    """The target file named by ``name``, confined to the root (RefusedPathError if not)."""
    text = os.fsdecode(name)
    root, folder = _root_and_folder(handle)
    if "%" in text:  # printf-style virtual source names expand to many files
        raise RefusedPathError(f"{label}: {what} names files by pattern ({text[:80]!r}); "
                               "refused, not opened.", "unreadable", "a file-name pattern")
    joined = text if os.path.isabs(text) else os.path.join(folder, text)
    return confine(joined, root, f"{label}: {what} {text[:200]!r}")


def _keep(handle: Any, opened: Any) -> Any:
    """Keep ``opened`` (a target file) alive as long as ``handle``."""
    handle.__dict__.setdefault("datacheck_external", []).append(opened)
    return opened


#: Files opened one through another (links, virtual sources) before a chain is refused.
MAX_DEPTH = 8


def _open_target(handle: Any, target: Path, label: str) -> Any:
    """The HDF5 file ``target`` opened through the gate, one level below ``handle``."""
    from datacheck.readers.hdf5 import open_h5

    depth = getattr(handle, "datacheck_depth", 0)
    if depth >= MAX_DEPTH:
        raise DataError(f"{label}: more than {MAX_DEPTH} files reached one through another "
                        "(external links or virtual sources); refused.")
    root, _ = _root_and_folder(handle)
    other = _keep(handle, open_h5(target, f"{label} -> {target.name}", root,
                                  limits=handle_limits(handle)))
    other.datacheck_depth = depth + 1
    return other


def follow_link(handle: Any, link: Any, here: str, rest: list[str], inner: str,
                label: str) -> Any:
    """Describe ``inner`` through the external link at ``here``, inside its target file.

    Returns the H5Info (named ``inner``) or None when nothing is there; the
    target's dataset reader is registered under ``inner`` in ``handle``.
    """
    from datacheck.readers.h5chunks import open_dataset, register
    from datacheck.readers.hdf5 import describe

    if not handle_limits(handle).allow_external:
        raise DataError(f"{label}: dataset '{inner}' goes through an external link at '{here}' "
                        f"to {excerpt(link.filename)}:{excerpt(link.path)}; refused, not "
                        f"opened. {FIX}")
    target = _target(handle, link.filename, label, f"external link at '{here}' to")
    other = _open_target(handle, target, label)
    inside = "/" + "/".join([p for p in link.path.split("/") if p] + rest)
    info = describe(other, inside, label)
    if info is None:
        return None
    if info.dataset and not info.refusal:
        register(handle, inner, open_dataset(other, info))
    return replace(info, path=inner)


def storage_refusal(handle: Any, dataset: Any, inner: str, label: str) -> tuple[str, str]:
    """(refusal, code) for data kept outside the file; ('', '') when there is none or it is read.

    With ``allow_external`` the reader for it is registered under ``inner``.
    """
    import h5py

    from datacheck.readers.h5chunks import register

    plist = dataset.id.get_create_plist()
    virtual = plist.get_layout() == h5py.h5d.VIRTUAL
    count = 0 if virtual else plist.get_external_count()
    if not virtual and not count:
        return "", ""
    if not handle_limits(handle).allow_external:
        if virtual:
            return (f"dataset '{inner}' is a virtual dataset: its data is mapped from other "
                    f"files by name; refused, not opened. {FIX}", "unreadable")
        return (f"dataset '{inner}' keeps its data in external raw files outside the HDF5 "
                f"file; refused, not opened. {FIX}", "unreadable")
    try:
        if virtual:
            check_declared(f"{label}:{inner}", dataset.shape, dataset.dtype.itemsize,
                           handle_limits(handle), "A virtual dataset's declared size counts "
                           "whole: shrink it, or raise max_bytes.")
            reader: Any = _Virtual(handle, dataset, inner, label)
        else:
            reader = _Raw(handle, dataset, inner, label, [plist.get_external(i)
                                                          for i in range(count)])
    except TooLargeError as exc:
        return str(exc).split(": too_large: ", 1)[-1], "too_large"
    except DataError as exc:
        return f"dataset '{inner}': {exc}", "unreadable"
    register(handle, inner, reader)
    return "", ""


class _Raw:
    """External raw storage read from gated descriptors (contiguous, C order, no filters)."""

    def __init__(self, handle: Any, dataset: Any, inner: str, label: str,
                 segments: list[tuple[bytes, int, int]]) -> None:
        self.shape = tuple(int(d) for d in dataset.shape)
        self.dtype = dataset.dtype
        self.source = f"{label}:{inner}"
        self.parts: list[tuple[IO[bytes], int, int]] = []
        root, _ = _root_and_folder(handle)
        for name, offset, size in segments:
            target = _target(handle, name, label, "external raw file")
            self.parts.append((_keep(handle, open_file(target, root=root)), int(offset),
                               int(size)))

    def _bytes(self, start: int, length: int) -> bytes:
        out = bytearray()
        for handle, offset, size in self.parts:
            if start >= size:
                start -= size
                continue
            take = min(size - start, length - len(out))
            handle.seek(offset + start)
            data = handle.read(take)
            if len(data) < take:
                raise DataError(f"{self.source}: an external raw file ends before the "
                                "declared data; re-copy it.")
            out += data
            start = 0
            if len(out) == length:
                break
        if len(out) < length:
            raise DataError(f"{self.source}: the external raw files hold less than the declared "
                            "data; re-copy them.")
        return bytes(out)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self[()], dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        row = math.prod(self.shape[1:]) * self.dtype.itemsize
        if key == () or not self.shape:
            data = self._bytes(0, math.prod(self.shape) * self.dtype.itemsize)
            return np.frombuffer(data, self.dtype).reshape(self.shape)
        start, stop, _ = key.indices(self.shape[0])
        stop = max(start, stop)
        data = self._bytes(start * row, (stop - start) * row)
        return np.frombuffer(data, self.dtype).reshape((stop - start, *self.shape[1:])).copy()


def _box(space: Any, what: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(start, shape) of a selection that is one full box; None for the whole space."""
    from h5py import h5s

    kind = space.get_select_type()
    if kind == h5s.SEL_ALL:
        return None
    if kind != h5s.SEL_HYPERSLABS:
        raise DataError(f"its {what} selection is not a box; not read through the gate")
    try:
        low, high = space.get_select_bounds()
    except (ValueError, RuntimeError):
        raise DataError(f"its {what} selection is unlimited; not read through the gate") \
            from None
    shape = tuple(int(h) - int(lo) + 1 for lo, h in zip(low, high, strict=True))
    if math.prod(shape) != int(space.get_select_npoints()):
        raise DataError(f"its {what} selection is not one box; not read through the gate")
    return tuple(int(v) for v in low), shape


class _Virtual:
    """A virtual dataset read box by box from its sources, each opened through the gate."""

    def __init__(self, handle: Any, dataset: Any, inner: str, label: str) -> None:
        from datacheck.readers.hdf5 import describe

        self.shape = tuple(int(d) for d in dataset.shape)
        self.dtype = dataset.dtype
        self.fill = dataset.fillvalue
        self.maps: list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], Any]] = []
        if not self.shape:
            raise DataError("it is a scalar; not read through the gate")
        for vds in dataset.virtual_sources():
            vbox = _box(vds.vspace, "virtual")
            vstart, vshape = vbox or ((0,) * len(self.shape), self.shape)
            if vds.file_name == ".":
                source = handle
            else:
                source = _open_target(
                    handle, _target(handle, vds.file_name, label, "virtual source"), label)
            path = vds.dset_name if vds.dset_name.startswith("/") else "/" + vds.dset_name
            info = describe(source, path, label)
            if info is None or not info.dataset or info.refusal:
                why = ("missing" if info is None else "a group" if not info.dataset
                       else f"refused: {bounded(info.refusal, 600)}")
                raise DataError(f"its source {excerpt(vds.file_name)}:{excerpt(path)} is {why}")
            sbox = _box(vds.src_space, "source")
            sstart, sshape = sbox or ((0,) * len(info.shape), info.shape)
            if tuple(sshape) != tuple(vshape) or len(vshape) != len(self.shape):
                raise DataError(f"its mapping of {path} reshapes the source; not read "
                                "through the gate")
            from datacheck.readers.h5chunks import open_dataset

            self.maps.append((vstart, vshape, sstart, open_dataset(source, info)))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self[()], dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        if key == ():
            start, stop = 0, self.shape[0]
        else:
            start, stop, _ = key.indices(self.shape[0])
            stop = max(start, stop)
        out = np.full((stop - start, *self.shape[1:]), self.fill, self.dtype)
        for vstart, vshape, sstart, source in self.maps:
            low, high = max(start, vstart[0]), min(stop, vstart[0] + vshape[0])
            if low >= high:
                continue
            rows = slice(sstart[0] + low - vstart[0], sstart[0] + high - vstart[0])
            # Whole source rows, then the box's columns: sources read rows only (slabs).
            block = np.asarray(source[rows])
            block = block[(slice(None), *(slice(s, s + n) for s, n in
                                          zip(sstart[1:], vshape[1:], strict=True)))]
            out[(slice(low - start, high - start), *(slice(s, s + n) for s, n in
                                                     zip(vstart[1:], vshape[1:], strict=True)))] \
                = block
        return out
