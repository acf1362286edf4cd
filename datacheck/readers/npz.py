"""Read .npz archives (numpy's own format) without ever unpickling, within the size limits.

An .npz is a zip of .npy members. The reader parses each member's .npy
header first (``numpy.lib.format``) and refuses, before inflating anything,
object arrays (pickles), rows over the limits and zip entries too short for
what the header declares; one pass through each member's data (in chunks)
then refuses corrupt data before any of it is judged. Members stay on disk as
:class:`NpzRows` and inflate only the rows asked for: the scan slices them
forward batch by batch, so a 4 MiB archive that declares 4 GiB of zeros never
sits in memory whole, and no member is inflated past the bytes its header
declares.
"""

from __future__ import annotations

import lzma
import math
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy_format

from datacheck.errors import DataError
from datacheck.excerpt import excerpt
from datacheck.readers.gate import open_file
from datacheck.readers.guards import (
    Limits,
    TooLargeError,
    active_limits,
    check_declared,
    human_bytes,
)
from datacheck.readers.zipstream import open_member
from datacheck.schema.model import Schema

_RESAVE = "Re-save it with np.savez(f, image=x, label=y)."
#: What zipfile, zlib, bz2 and lzma raise for corrupt containers and streams: not only
#: BadZipFile (NotImplementedError for an odd "version needed" field, RuntimeError for
#: encryption, OSError from bz2, EOFError for a cut stream).
_ZIP_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, struct.error,
               NotImplementedError, RuntimeError, lzma.LZMAError)
#: The subset that can only come from the zip container or its compressed stream (a
#: ValueError can also come from parsing a .npy header).
_STREAM_ERRORS = tuple(e for e in _ZIP_ERRORS if e is not ValueError)
_SKIP_CHUNK = 1 << 20
#: Compression methods whose output datacheck bounds (max_length: zipfile's for deflate,
#: zipstream's for bzip2 and LZMA, which zipfile inflates unbounded); the others are refused.
_BOUNDED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


def read_npz(path: str | Path, schema: Schema, limits: Limits | None = None,
             root: str | Path | None = None) -> dict[str, Any]:
    """Bind the arrays of an .npz to schema names; values are arrays or :class:`NpzRows`.

    Keys that match schema names bind by name; otherwise the arrays bind in
    file order (features first, then labels), as ``np.savez(f, x, y)`` writes them.
    A member with rows comes back as NpzRows (slice it, or ``np.asarray`` it
    when it fits the limits); a 0-d or empty member as its array.
    """
    arrays = open_npz(path, limits, root)
    names = schema.names()
    if any(key in names for key in arrays):
        return arrays
    if len(arrays) > len(names):
        raise DataError(f"{path}: has {len(arrays)} arrays {excerpt(list(arrays))} but schema "
                        f"{schema.name!r} names {names}; save with those names "
                        "(np.savez(f, image=x, label=y)).")
    return dict(zip(names, arrays.values(), strict=False))


def open_npz(path: str | Path, limits: Limits | None = None,
             root: str | Path | None = None) -> dict[str, Any]:
    """The members of an .npz by key (as np.load names them), headers checked, data not read.

    The archive is opened once through the gate and every member reads from that
    descriptor, so the file cannot be swapped between the checks and the reads.
    """
    limits = limits or active_limits()
    source = str(path)
    handle = open_file(path, root=root, label=source)
    try:
        archive = zipfile.ZipFile(handle)
        try:
            members = [_member(archive, info, source, limits)
                       for info in archive.infolist() if not info.is_dir()]
        except BaseException:
            archive.close()
            raise
    except _ZIP_ERRORS as exc:
        handle.close()
        raise DataError(f"{source}: not a readable .npz archive ({_reason(exc)}). "
                        f"{_RESAVE}") from None
    except BaseException:
        handle.close()
        raise
    try:
        _unique_keys(members, source)
        _total_rows(members, source, limits)
    except DataError:
        archive.close()
        handle.close()
        raise
    rows = [NpzRows(source, m, limits, archive) for m in members]
    # Members without data (0-d, or no rows) are read at once: plain arrays for every caller.
    return {r.member.key: r if r.ndim and r.member.nbytes else r.read_all() for r in rows}


def _unique_keys(members: list[NpyMember], source: str) -> None:
    """Refuse two members that np.load names alike (``image`` and ``image.npy``, or one name
    twice in the zip directory): datacheck would validate one while ``np.load(f)["image"]``
    hands the model the other."""
    seen: dict[str, NpyMember] = {}
    for member in members:
        first = seen.setdefault(member.key, member)
        if first is not member:
            other = first.name
            both = (f"{excerpt(other)} and {excerpt(member.name)} are both read as "
                    f"{excerpt(member.key)}" if other != member.name
                    else f"{excerpt(other)} appears twice in the zip directory")
            raise DataError(f"{source}: duplicate member: {both}; which one a loader gets is "
                            "undefined, so neither is checked. Remove one and re-save the "
                            "archive.")


def _total_rows(members: list[NpyMember], source: str, limits: Limits) -> None:
    """Bound the rows the scan walks: every row costs time even when it costs no memory, so
    a small archive declaring billions of tiny rows is refused before any is read."""
    total = sum(m.shape[0] for m in members if m.shape)
    if total > limits.max_rows:
        raise TooLargeError(f"{source}: too_large: members declare {total:,} rows in all, over "
                            f"the limit of {limits.max_rows:,} rows; refused before reading. "
                            "Split the archive, or raise max_rows.")


@dataclass(frozen=True)
class NpyMember:
    """One .npy member as its header declares it; ``offset`` is where the data starts."""

    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran: bool
    offset: int

    @property
    def name(self) -> str:
        return self.info.filename

    @property
    def key(self) -> str:
        """The name np.load gives the member."""
        return self.name[:-4] if self.name.endswith(".npy") else self.name

    @property
    def row_bytes(self) -> int:
        return math.prod(self.shape[1:]) * self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str,
            limits: Limits) -> NpyMember:
    label = f"{source}: member {excerpt(info.filename)}"
    if info.compress_type not in _BOUNDED_METHODS:
        raise DataError(f"{label} uses zip compression method {info.compress_type}; datacheck "
                        f"reads stored, deflate, bzip2 and LZMA members. {_RESAVE}")
    with open_member(archive, info) as stream:
        member = _parse_header(stream, info, label)
    if member.dtype.hasobject:
        raise DataError(f"{label} holds pickled Python objects, which datacheck never loads; "
                        "save numeric or string arrays.")
    if any(d < 0 for d in member.shape):
        raise DataError(f"{label}: corrupt .npy header: negative dimension in shape "
                        f"{member.shape}. {_RESAVE}")
    if member.shape and member.shape[0] and not member.row_bytes:
        # Rows of zero bytes cost nothing to declare (shape (10**12, 0), dtype V0) but the
        # scan would still walk every one of them.
        raise DataError(f"{label} declares {member.shape[0]:,} rows of 0 bytes each ("
                        f"{_describe(member)}): there are no values to check. {_RESAVE}")
    # A row is what the scan holds at once (like an HDF5 row); a 0-d member is one element.
    check_declared(label, member.shape[1:] or (1,), member.dtype.itemsize, limits,
                   "Store one example per row, or raise max_bytes in the schema.")
    if info.file_size < member.offset + member.nbytes:
        raise DataError(f"{label}: truncated: its .npy header declares {_describe(member)}, the "
                        f"zip entry holds {human_bytes(max(info.file_size - member.offset, 0))}"
                        f". {_RESAVE}")
    _verify(archive, member, label)
    return member


def _verify(archive: zipfile.ZipFile, member: NpyMember, label: str) -> None:
    """Inflate the member's data once, chunk by chunk, so that corrupt data (a zlib error, a
    bad CRC) is refused before any row of it is judged, never inflating past what the header
    declares. (zipfile checks the CRC as the last declared byte ends the entry.)"""
    left = member.offset + member.nbytes
    try:
        with open_member(archive, member.info) as stream:
            while left > 0:
                got = len(stream.read(min(left, _SKIP_CHUNK)))
                if not got:
                    raise EOFError("the entry ends before the data its header declares")
                left -= got
    except _ZIP_ERRORS as exc:
        raise DataError(f"{label}: corrupt or truncated data ({_reason(exc)}). "
                        f"{_RESAVE}") from None


def _parse_header(stream: IO[bytes], info: zipfile.ZipInfo, label: str) -> NpyMember:
    try:
        version = npy_format.read_magic(stream)
    except ValueError:  # wrong magic, or shorter than the magic
        raise DataError(f"{label} is not a .npy array (no NUMPY magic); an .npz holds only "
                        f".npy members. {_RESAVE}") from None
    readers = {(1, 0): npy_format.read_array_header_1_0,
               (2, 0): npy_format.read_array_header_2_0}
    if version not in readers:
        raise DataError(f"{label} is .npy format version {version[0]}.{version[1]}; datacheck "
                        f"reads 1.0 and 2.0 (plain arrays, no UTF-8 field names). {_RESAVE}")
    try:
        shape, fortran, dtype = readers[version](stream)
    # literal_eval of a hostile header can raise more than ValueError (SyntaxError,
    # RecursionError, MemoryError).
    except Exception as exc:
        if isinstance(exc, _STREAM_ERRORS) and not isinstance(exc, RecursionError):
            raise  # the container, not the header: open_npz words it
        raise DataError(f"{label}: corrupt .npy header ({_reason(exc)}). {_RESAVE}") from None
    return NpyMember(info, tuple(int(d) for d in shape), np.dtype(dtype), bool(fortran),
                     offset=stream.tell())


class NpzRows:
    """One .npz member, inflated only when sliced: ``rows[a:b]`` reads rows a..b and no more.

    Forward slices (the scan's batches) continue one open stream, so memory is
    bounded by the slice whatever the member declares; a slice behind the
    stream reopens it. Anything else (``np.asarray``, other indexing, a
    Fortran-order member) reads the whole member, refused first when it
    passes ``max_bytes``.

    >>> rows = open_npz("digits.npz")["image"]; rows[:32].shape  # doctest: +SKIP
    (32, 8, 8, 1)
    """

    def __init__(self, source: str, member: NpyMember, limits: Limits,
                 archive: zipfile.ZipFile) -> None:
        self.source = source
        self.member = member
        self.limits = limits
        # Shared by the archive's members and opened once (through the gate): reopening
        # reads the member again from the same descriptor, never from the path.
        self._archive = archive
        self._stream: IO[bytes] | None = None
        self._row = 0  # where the open stream stands
        self._whole: np.ndarray | None = None  # a Fortran-order member, once read

    @property
    def shape(self) -> tuple[int, ...]:
        return self.member.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.member.dtype

    @property
    def ndim(self) -> int:
        return len(self.member.shape)

    def __len__(self) -> int:
        if not self.ndim:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"NpzRows({self.source!r}, {self.member.key!r}, {_describe(self.member)})"

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice) and key.step in (None, 1) and self.ndim \
                and not self.member.fortran:
            start, stop, _ = key.indices(len(self))
            return self.rows(start, max(start, stop))
        return self.read_all()[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self.read_all()
        return data if dtype is None else data.astype(dtype, copy=False)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of a C-order member, read into one array within ``max_bytes``."""
        shape = (stop - start, *self.shape[1:])
        self._guard(shape, f"rows {start}-{stop - 1} at once",
                    "Lower batch_size, or raise max_bytes in the schema.")
        out = self._read(start, shape)
        self._row = stop
        if stop >= self.shape[0]:
            self.close()
        return out

    def read_all(self) -> np.ndarray:
        """The whole member in numpy's layout (Fortran order included), within ``max_bytes``."""
        if self._whole is not None:
            return self._whole
        self._guard(self.shape, "the whole member", "datacheck reads members this large only "
                    "row by row (dc.check); raise max_bytes in the schema, or split the array.")
        if self.ndim and not self.member.fortran:
            return self.rows(0, self.shape[0])
        # Fortran order stores the transposed C layout, as np.load reads it.
        data = self._read(0, self.shape[::-1]).transpose()
        self.close()
        if self.ndim:
            self._whole = data  # rows are not contiguous: the scan slices this copy
        return data

    def close(self) -> None:
        """Close the member stream (reading again reopens it from the open archive)."""
        if self._stream is not None:
            self._stream.close()
        self._stream = None
        self._row = 0

    def _guard(self, shape: tuple[int, ...], what: str, fix: str) -> None:
        # Bytes only: a batch (or an image dataset) legitimately holds more than one
        # volume's worth of voxels; max_voxels bounds a row, checked when the archive opens.
        nbytes = math.prod(shape) * self.dtype.itemsize
        if nbytes > self.limits.max_bytes:
            raise TooLargeError(
                f"{self.source}: too_large: member {excerpt(self.member.name)} "
                f"({_describe(self.member)}): reading {what} needs {human_bytes(nbytes)}, over "
                f"the limit of {human_bytes(self.limits.max_bytes)}; refused before reading. "
                f"{fix}")

    def _read(self, row: int, shape: tuple[int, ...]) -> np.ndarray:
        """An array of ``shape`` read from the member's data at ``row``: exactly its bytes."""
        out = np.empty(shape, dtype=self.dtype)
        if not out.nbytes:  # past the end (a shorter member in a batch) or empty rows
            return out
        view = out.reshape(-1).view(np.uint8).data
        got = 0
        try:
            stream = self._stream_at(row)
            while got < len(view):
                n = stream.readinto(view[got:])  # type: ignore[attr-defined]
                if not n:
                    raise EOFError(f"the entry ends {human_bytes(len(view) - got)} short of "
                                   "the data its header declares")
                got += n
        except _ZIP_ERRORS as exc:
            self.close()
            raise DataError(f"{self.source}: member {excerpt(self.member.name)}: corrupt or "
                            f"truncated data ({_reason(exc)}). {_RESAVE}") from None
        return out

    def _stream_at(self, row: int) -> IO[bytes]:
        """The member's stream positioned at ``row``, continuing the open one when it can."""
        if self._stream is None or row < self._row:
            self.close()
            self._stream = open_member(self._archive, self.member.info)
            self._skip(self._stream, self.member.offset)
        self._skip(self._stream, (row - self._row) * self.member.row_bytes)
        self._row = row
        return self._stream

    @staticmethod
    def _skip(stream: IO[bytes], nbytes: int) -> None:
        while nbytes > 0:
            got = len(stream.read(min(nbytes, _SKIP_CHUNK)))
            if not got:
                raise EOFError("the entry ends before the rows asked for")
            nbytes -= got


def _describe(member: NpyMember) -> str:
    dims = "x".join(str(d) for d in member.shape) or "scalar"
    return f"{dims} {member.dtype.name} = {human_bytes(member.nbytes)}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError) and not str(exc):  # zipfile's cut compressed stream
        return "truncated: the compressed data ends early"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if len(text) > 200:  # numpy echoes the whole header dict
        text = text[:200] + "..."
    if isinstance(exc, (zlib.error, struct.error, NotImplementedError, RuntimeError,
                        lzma.LZMAError)) and not isinstance(exc, RecursionError):
        return f"corrupt archive: {text}"
    return text
