"""Size guards: declared sizes are refused before allocation; streams stop at their cap."""

from __future__ import annotations

import gzip
import io

import pytest

from datacheck.readers.guards import (
    CappedReader,
    Limits,
    TooLargeError,
    check_declared,
    human_bytes,
)


def test_check_declared_passes_and_refuses() -> None:
    check_declared("a.nii", (10, 10, 10), 4, Limits(max_bytes=4000))
    with pytest.raises(TooLargeError, match=r"a.nii: too_large: header declares 10x10x11 = "
                                            r"1,100 voxels \(4.3 KiB\)"):
        check_declared("a.nii", (10, 10, 11), 4, Limits(max_bytes=4000))


def test_capped_reader_reads_within_cap() -> None:
    reader = CappedReader(io.BytesIO(b"abcdef"), cap=6, source="x")
    assert reader.read(4) == b"abcd" and reader.read() == b"ef" and reader.tell() == 6


def test_capped_reader_refuses_past_cap_on_a_gzip_stream() -> None:
    stream = gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(bytes(10_000))))
    reader = CappedReader(stream, cap=1000, source="bomb.nii.gz")
    buffer = bytearray(2000)
    with pytest.raises(TooLargeError, match=r"bomb\.nii\.gz: too_large: reading would pass"):
        reader.readinto(buffer)
    with pytest.raises(TooLargeError):
        reader.seek(5000)
    with pytest.raises(TooLargeError):
        reader.read(5000)


def test_capped_reader_allows_data_ending_at_the_cap() -> None:
    reader = CappedReader(io.BytesIO(b"x" * 10), cap=10, source="x")
    assert reader.read(50) == b"x" * 10


def test_human_bytes() -> None:
    assert human_bytes(512) == "512 B" and human_bytes(1536) == "1.5 KiB"
    assert human_bytes(3 * 1024**3) == "3.0 GiB"
