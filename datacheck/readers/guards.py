"""Size guards: refuse what a header declares before allocating it, and cap decompression.

A header is a promise from the file; a corrupt or hostile one can declare
terabytes. Readers ask :func:`check_declared` before allocating, and read
compressed streams through :class:`CappedReader`, which stops decompressing
past a byte budget however the header lies.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO, Any

from datacheck.errors import DataError
from datacheck.schema.medical import DEFAULT_MAX_BYTES, DEFAULT_MAX_VOXELS

#: Default bound on the rows of one archive: 50 million (ImageNet-1k has 1.3 million).
DEFAULT_MAX_ROWS = 50_000_000
#: Default bound on the rows of one manifest: 1 million (each row names a file to scan;
#: a 36 KB Parquet can declare 5 million rows and take 3 GB to parse).
DEFAULT_MAX_MANIFEST_ROWS = 1_000_000


class TooLargeError(DataError):
    """The input declares more voxels or bytes than the configured limit (code ``too_large``)."""


@dataclass(frozen=True)
class Limits:
    """Largest volume (or HDF5 row) a reader may allocate, and most rows an archive may declare.

    >>> Limits(max_bytes=1024).max_bytes
    1024
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_voxels: int = DEFAULT_MAX_VOXELS
    #: Rows an archive may declare in all (each row costs scan time even when tiny).
    max_rows: int = DEFAULT_MAX_ROWS
    #: Read HDF5 data kept in other files (external links, external raw storage, virtual
    #: datasets) when every target resolves inside the dataset root, through the gate.
    allow_external: bool = False
    #: Rows a manifest (CSV/TSV/Parquet) may hold; ``max_rows`` bounds it too.
    max_manifest_rows: int = DEFAULT_MAX_MANIFEST_ROWS

    @property
    def manifest_rows(self) -> int:
        """Most rows a manifest may hold: the smaller of the two row limits."""
        return min(self.max_rows, self.max_manifest_rows)

    def describe(self) -> str:
        return f"{human_bytes(self.max_bytes)} / {self.max_voxels:,} voxels"


#: Limits of the command running now (``--max-bytes`` on infer/diff), for readers called
#: without explicit limits; None means the defaults.
_ACTIVE: ContextVar[Limits | None] = ContextVar("datacheck_limits", default=None)


def active_limits() -> Limits:
    """The limits a reader applies when its caller passes none: the command's, else defaults.

    >>> active_limits().max_bytes == Limits().max_bytes
    True
    """
    return _ACTIVE.get() or Limits()


@contextmanager
def use_limits(limits: Limits) -> Iterator[Limits]:
    """Apply ``limits`` to every reader called inside the block without explicit limits.

    >>> with use_limits(Limits(max_bytes=1024)): active_limits().max_bytes
    1024
    """
    token = _ACTIVE.set(limits)
    try:
        yield limits
    finally:
        _ACTIVE.reset(token)


def limits_with(max_bytes: int | None = None, max_voxels: int | None = None,
                base: Limits | None = None, allow_external: bool = False,
                max_rows: int | None = None) -> Limits:
    """``base`` (default: the defaults) with the values a person gave; each must be >= 1.

    The one resolver of limits: the CLI and the API give ``base`` (``--max-bytes``,
    ``--max-voxels``, ``--max-rows``, ``Limits(...)``); a schema section's own guard
    (``nifti.max_bytes``, ``dicom.max_bytes``) is applied on top of it for that
    section's files; ``allow_external`` from any of them allows (a flag never takes
    back what another gave).

    >>> limits_with(max_bytes=10).max_bytes
    10
    >>> limits_with(max_rows=5).manifest_rows
    5
    """
    import dataclasses

    overrides: dict[str, Any] = {}
    if allow_external:
        overrides["allow_external"] = True
    for name, value in (("max_bytes", max_bytes), ("max_voxels", max_voxels),
                        ("max_rows", max_rows)):
        if value is not None:
            if value < 1:
                raise DataError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
            overrides[name] = int(value)
    return dataclasses.replace(base or Limits(), **overrides)


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def check_declared(source: str, shape: tuple[int, ...], itemsize: int, limits: Limits,
                   fix: str = "") -> None:
    """Raise TooLargeError when ``shape`` x ``itemsize`` passes the limits (nothing allocated).

    >>> check_declared("a.nii", (10, 10, 10), 4, Limits())
    """
    voxels = math.prod(int(d) for d in shape)
    nbytes = voxels * int(itemsize)
    if voxels > limits.max_voxels or nbytes > limits.max_bytes:
        dims = "x".join(str(int(d)) for d in shape)
        raise TooLargeError(
            f"{source}: too_large: header declares {dims} = {voxels:,} voxels "
            f"({human_bytes(nbytes)}), over the limit of {limits.describe()}; refused before "
            f"reading. {fix or 'Check the header, or raise max_bytes/max_voxels in the schema.'}")


class GzipStream:
    """Forward-only gzip inflation straight into the caller's buffer.

    Like ``gzip.GzipFile`` for a reader that seeks only forward, without its
    small-chunk copies and running CRC (never verified on a partial read,
    which is what volume readers do); about 20% less time per volume. A
    stream that ends early raises EOFError, corrupt data ``zlib.error``.

    >>> import gzip, io; GzipStream(io.BytesIO(gzip.compress(b"abc"))).read(2)
    b'ab'
    """

    INPUT_CHUNK = 1 << 16  # small: each call copies the unconsumed input (zlib's tail)

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.pos = 0
        self._inflater = zlib.decompressobj(wbits=31)
        self._tail = b""
        self._done = False

    def _next(self, limit: int) -> bytes:
        while not self._done:
            if self._tail:
                data, self._tail = self._tail, b""
            else:
                data = self.raw.read(self.INPUT_CHUNK)
            piece = self._inflater.decompress(data, limit)
            self._tail = self._inflater.unconsumed_tail
            if self._inflater.eof:
                rest = self._inflater.unused_data + self._tail
                if not rest:
                    rest = self.raw.read(self.INPUT_CHUNK)
                if rest.startswith(b"\x1f\x8b"):  # another member: concatenated .gz is valid
                    self._inflater, self._tail = zlib.decompressobj(wbits=31), rest
                else:
                    self._done = True  # the end (trailing padding is ignored, like gzip)
            elif not data and not piece:
                raise EOFError("compressed file ended before the end-of-stream marker")
            if piece:
                return piece
        return b""

    #: Most bytes inflated per zlib call: zlib builds its output in blocks and joins them, so
    #: one call for a whole volume held it three times over (3x the volume at peak).
    PIECE = 1 << 18

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        got = 0
        while got < len(view):
            piece = self._next(min(len(view) - got, self.PIECE))
            if not piece:
                break
            view[got:got + len(piece)] = piece
            got += len(piece)
        self.pos += got
        return got

    def read(self, n: int) -> bytes:
        buffer = bytearray(n)
        return bytes(buffer[:self.readinto(buffer)])

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0 or offset < self.pos:
            raise ValueError("GzipStream seeks forward only")
        while self.pos < offset:
            if not self.read(min(offset - self.pos, 1 << 20)):
                break
        return self.pos

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        self.raw.close()


class CappedReader:
    """A read-only file wrapper that refuses to go past ``cap`` bytes from the start.

    Reads and forward seeks on a gzip stream decompress; the cap bounds both,
    so a header that lies about sizes or offsets cannot make us inflate more.

    >>> import io; r = CappedReader(io.BytesIO(b"abcdef"), cap=4, source="x"); r.read(3)
    b'abc'
    """

    def __init__(self, raw: IO[bytes], cap: int, source: str) -> None:
        self.raw = raw
        self.cap = int(cap)
        self.source = source
        self.pos = 0

    def _refuse(self, upto: int) -> TooLargeError:
        return TooLargeError(
            f"{self.source}: too_large: reading would pass {human_bytes(upto)} of "
            f"(decompressed) data, over the budget of {human_bytes(self.cap)} that the header "
            "and the limits allow; refused. The header lies about its size, or raise max_bytes.")

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.cap - self.pos + 1
        if self.pos + n > self.cap:
            # Read up to the cap; only complain if the data really goes on.
            data = self.raw.read(self.cap - self.pos)
            self.pos += len(data)
            if self.raw.read(1):
                raise self._refuse(self.pos + 1)
            return data
        data = self.raw.read(n)
        self.pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.pos + len(view) > self.cap:
            raise self._refuse(self.pos + len(view))
        total = 0
        while total < len(view):
            got = self.raw.readinto(view[total:])  # type: ignore[attr-defined]
            if not got:
                break
            total += got
        self.pos += total
        return total

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0:
            raise ValueError("CappedReader supports absolute seeks only")
        if offset > self.cap:
            raise self._refuse(offset)
        self.pos = self.raw.seek(offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> CappedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
