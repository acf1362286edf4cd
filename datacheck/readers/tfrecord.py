"""Read TFRecord files of ``tf.train.Example`` records without TensorFlow.

A TFRecord file is a sequence of frames: uint64 length, masked CRC-32C of
the length, the data, masked CRC-32C of the data. Each frame is checked
before its data is used, and a length over the limits is refused before
anything is allocated. A frame that breaks (bad CRC, cut short) ends the
file: nothing after it can be found again, so the reader raises
:class:`CorruptRecord` naming the record index. The Example protobuf is
parsed from its wire format (features map of bytes/float/int64 lists), so
importing TensorFlow (~5 s) is not needed to check a file.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import IO

import numpy as np

from datacheck.errors import DataError
from datacheck.readers.gate import open_file
from datacheck.readers.guards import Limits, TooLargeError, active_limits, human_bytes

_CRC_TABLE: list[int] = []


class CorruptRecord(DataError):
    """A record (frame or Example) that cannot be read; ``index`` is its position in the file."""

    def __init__(self, message: str, index: int, fatal: bool) -> None:
        super().__init__(message)
        self.index = index
        self.fatal = fatal  # True: the framing broke, the rest of the file cannot be read


def _crc32c(data: bytes) -> int:
    if not _CRC_TABLE:
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC_TABLE.append(c)
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def iter_records(path: str | os.PathLike[str], limits: Limits | None = None,
                 source: str | None = None) -> Iterator[bytes]:
    """The data of each record, CRC-checked; raises CorruptRecord at the first broken frame."""
    limits = limits or active_limits()
    name = source or os.fspath(path)
    # Through the gate: one descriptor, a regular file (a FIFO or device is refused at once).
    with open_file(path, label=name) as handle:
        index = 0
        while True:
            head = handle.read(12)
            if not head:
                return
            data = _frame(handle, head, index, name, limits)
            yield data
            index += 1


def _frame(handle: IO[bytes], head: bytes, index: int, name: str, limits: Limits) -> bytes:
    where = f"{name}: record {index}"
    if len(head) < 12:
        raise CorruptRecord(f"{where}: unreadable: file cut short inside the record header. "
                            "Re-write the file (an interrupted copy?).", index, True)
    length, length_crc = struct.unpack("<QI", head)
    if masked_crc(head[:8]) != length_crc:
        raise CorruptRecord(f"{where}: unreadable: the length field fails its CRC (corrupt "
                            "file, or not a TFRecord file). Re-write the file.", index, True)
    if length > limits.max_bytes:
        raise TooLargeError(f"{where}: too_large: declares {human_bytes(length)}, over the limit "
                            f"of {human_bytes(limits.max_bytes)}; refused before reading.")
    data = handle.read(length)
    tail = handle.read(4)
    if len(data) < length or len(tail) < 4:
        raise CorruptRecord(f"{where}: unreadable: file cut short inside the record "
                            f"({len(data)} of {length} bytes). Re-write the file.", index, True)
    if masked_crc(data) != struct.unpack("<I", tail)[0]:
        raise CorruptRecord(f"{where}: unreadable: the record data fails its CRC (corrupt "
                            "bytes). Re-write the file.", index, True)
    return data


# -- tf.train.Example wire format ------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos  # protobuf keeps the low 64 bits
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) of a protobuf message; bytes for length-delimited."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ValueError("truncated field")
            yield number, wire, buf[pos:pos + size]
            pos += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(buf):
                raise ValueError("truncated field")
            yield number, wire, buf[pos:pos + width]
            pos += width
        else:
            raise ValueError(f"unsupported wire type {wire}")


Value = list[bytes] | np.ndarray


def parse_example(data: bytes) -> dict[str, Value]:
    """Feature key -> list of bytes, or a float32/int64 array, from a serialized Example."""
    out: dict[str, Value] = {}
    for number, _, features in _fields(data):
        if number != 1 or not isinstance(features, bytes):
            continue
        for entry_number, _, entry in _fields(features):
            if entry_number != 1 or not isinstance(entry, bytes):
                continue
            key, feature = "", b""
            for n, _, v in _fields(entry):
                if n == 1 and isinstance(v, bytes):
                    key = v.decode("utf-8", "replace")
                elif n == 2 and isinstance(v, bytes):
                    feature = v
            out[key] = _feature(feature)
    return out


def _feature(buf: bytes) -> Value:
    for kind, _, body in _fields(buf):
        if not isinstance(body, bytes):
            continue
        if kind == 1:  # BytesList
            return [v for _, _, v in _fields(body) if isinstance(v, bytes)]
        if kind == 2:  # FloatList: packed (wire 2) or one fixed32 per value
            parts = [v for _, w, v in _fields(body) if isinstance(v, bytes)]
            return np.frombuffer(b"".join(parts), dtype="<f4").copy()
        if kind == 3:  # Int64List: packed varints or one varint per value
            values: list[int] = []
            for _, wire, v in _fields(body):
                if wire == 0 and isinstance(v, int):
                    values.append(v)
                elif isinstance(v, bytes):
                    pos = 0
                    while pos < len(v):
                        n, pos = _varint(v, pos)
                        values.append(n)
            arr = np.asarray(values, dtype=np.uint64)
            return arr.view(np.int64)  # two's complement, as protobuf stores negatives
    return []
