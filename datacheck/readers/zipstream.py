"""Zip members inflated with an output budget, whatever their compression method.

``zipfile`` bounds the output of each read for deflate only; bzip2 and LZMA
input chunks are inflated whole (a 552-byte bzip2 member took 1.2 GB and
4.5 s). :func:`open_member` opens bzip2 and LZMA members as their raw
compressed bytes and inflates them here with ``max_length``, so one read
never yields more than it was asked for and a member never yields more than
its zip entry declares; the CRC is checked on what was inflated, when the
stream ends. Stored and deflate members go through ``zipfile`` unchanged.
"""

from __future__ import annotations

import bz2
import copy
import lzma
import struct
import zipfile
import zlib
from typing import IO, Any

#: Compressed bytes fed to the decompressor at a time.
_INPUT_CHUNK = 64 * 1024
#: Largest LZMA dictionary a member may declare (the decoder allocates it up front; 7-Zip's
#: strongest preset uses 64 MiB, Python's zipfile writes 8 MiB).
MAX_LZMA_DICT = 64 * 1024**2


def open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    """A read-only stream of ``info``'s inflated bytes; each read bounded by its size.

    >>> open_member(zipfile.ZipFile("a.npz"), info).read(10)  # doctest: +SKIP
    """
    if info.compress_type not in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        return archive.open(info)
    raw = copy.copy(info)
    raw.compress_type = zipfile.ZIP_STORED  # zipfile hands over the compressed bytes ...
    raw.file_size = info.compress_size
    del raw.CRC  # ... and checks no CRC on them: _Bounded checks the inflated bytes
    return _Bounded(archive.open(raw), info)  # type: ignore[return-value]


class _Bounded:
    """bzip2/LZMA inflation with ``max_length``: output per read <= asked, in all <= declared."""

    def __init__(self, raw: IO[bytes], info: zipfile.ZipInfo) -> None:
        self.raw = raw
        self.info = info
        self.lzma = info.compress_type == zipfile.ZIP_LZMA
        self.inflater: Any = None if self.lzma else bz2.BZ2Decompressor()
        self.pending = b""  # LZMA: the properties header, until it is whole
        self.out = 0
        self.crc = 0

    def _start_lzma(self, data: bytes) -> bytes:
        """Parse zip's LZMA header (version, properties size, properties); rest is the stream."""
        self.pending += data
        if len(self.pending) < 4:
            return b""
        size = struct.unpack("<H", self.pending[2:4])[0]
        if len(self.pending) < 4 + size:
            return b""
        props = self.pending[4:4 + size]
        spec = lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)  # type: ignore[attr-defined]
        if int(spec.get("dict_size", 0)) > MAX_LZMA_DICT:  # allocated whole by the decoder
            raise lzma.LZMAError(f"LZMA dictionary of {int(spec['dict_size']):,} bytes, over "
                                 f"the {MAX_LZMA_DICT:,} datacheck allocates")
        self.inflater = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[spec])
        rest, self.pending = self.pending[4 + size:], b""
        return rest

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.info.file_size - self.out + 1  # all that may come, and one byte to see more
        pieces: list[bytes] = []
        want = n
        while want > 0:
            piece = self._next(want)
            if not piece:
                break
            pieces.append(piece)
            want -= len(piece)
        return b"".join(pieces)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[:len(data)] = data
        return len(data)

    def _next(self, limit: int) -> bytes:
        while True:
            if self.inflater is not None and self.inflater.eof:
                return b""
            if self.inflater is None or self.inflater.needs_input:
                data = self.raw.read(_INPUT_CHUNK)
                if not data:
                    raise EOFError("the compressed data ends before its end-of-stream marker")
                if self.inflater is None:
                    data = self._start_lzma(data)
                    if self.inflater is None:
                        continue
            else:
                data = b""
            piece = self.inflater.decompress(data, limit)
            if piece:
                return self._count(piece)
            if self.inflater.eof:
                self._count(b"")
                return b""

    def _count(self, piece: bytes) -> bytes:
        self.out += len(piece)
        if self.out > self.info.file_size:
            raise zipfile.BadZipFile(f"member {self.info.filename!r} inflates past the "
                                     f"{self.info.file_size:,} bytes its zip entry declares")
        self.crc = zlib.crc32(piece, self.crc)
        if self.inflater.eof and (self.out != self.info.file_size or self.crc != self.info.CRC):
            raise zipfile.BadZipFile(f"Bad CRC-32 or size for member {self.info.filename!r}")
        return piece

    def tell(self) -> int:
        return self.out

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> _Bounded:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
