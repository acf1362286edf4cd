""".npz archives that would make datacheck validate one array while a loader gets another."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.errors import DataError
from datacheck.readers.guards import Limits, TooLargeError
from datacheck.readers.npz import open_npz


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _archive(path: Path, members: list[tuple[str, np.ndarray]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in members:
            archive.writestr(name, _npy(array))
    return path


def test_image_and_image_npy_are_refused_naming_both(tmp_path):
    good = np.zeros((4, 8, 8, 1), np.float32)
    bad = np.full((4, 8, 8, 1), 255.0, np.float32)
    path = _archive(tmp_path / "twins.npz", [("image.npy", good), ("image", bad),
                                             ("label.npy", np.arange(4))])
    # What a training script would get: np.load's choice, not necessarily the one checked.
    assert np.load(path)["image"].shape == (4, 8, 8, 1)
    start = time.monotonic()
    report = dc.check(path, "digits")
    assert time.monotonic() - start < 5
    # counts() also says how many entries were skipped (issue 15's accounting): none here.
    assert not report.ok and report.counts() == {"ok": 0, "violating": 0, "unreadable": 1,
                                                 "total": 1, "skipped": 0}
    (violation,) = report.violations
    assert violation.code == "unreadable"
    assert "duplicate member" in violation.message
    assert "'image.npy' and 'image'" in violation.message


def test_one_name_twice_in_the_zip_directory_is_refused(tmp_path):
    path = tmp_path / "dup.npz"
    with pytest.warns(UserWarning, match="Duplicate name"):
        _archive(path, [("image.npy", np.zeros((2, 2))), ("image.npy", np.ones((2, 2)))])
    with pytest.raises(DataError, match=r"'image\.npy' appears twice"):
        open_npz(path)
    short = tmp_path / "short.npz"  # one-character names are one (cached) string object
    with pytest.warns(UserWarning, match="Duplicate name"):
        _archive(short, [("x", np.zeros((2, 2))), ("x", np.ones((2, 2)))])
    with pytest.raises(DataError, match="'x' appears twice"):
        open_npz(short)


def test_the_row_guard_bounds_the_total_declared_rows(tmp_path):
    path = _archive(tmp_path / "rows.npz", [("image.npy", np.zeros((600, 1), np.uint8)),
                                            ("label.npy", np.zeros(600, np.uint8))])
    assert len(open_npz(path, Limits(max_rows=1200))["image"]) == 600
    start = time.monotonic()
    with pytest.raises(TooLargeError, match="too_large: members declare 1,200 rows in all, over "
                                            "the limit of 1,000 rows"):
        open_npz(path, Limits(max_rows=1000))
    assert time.monotonic() - start < 5
    report = dc.check(path, "digits", limits=Limits(max_rows=1000))
    assert [v.code for v in report.violations] == ["too_large"]


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_bzip2_and_lzma_members_inflate_only_what_the_header_declares(tmp_path, method):
    # Was refused unread (zipfile bounds no bzip2/LZMA output: 552 bytes took 1.2 GB); now
    # streamed with an output budget like deflate.
    import tracemalloc

    header = _npy(np.zeros(10, np.uint8))
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("image.npy", header + b"\0" * (64 << 20))  # 64 MiB past the header
    assert path.stat().st_size < 200_000
    start = time.monotonic()
    tracemalloc.start()
    try:
        image = open_npz(path)["image"]
        np.testing.assert_array_equal(np.asarray(image), np.zeros(10, np.uint8))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 1
    # What stays: the LZMA decoder's 8 MiB dictionary (two decoders open at once, at most).
    assert peak < 24 << 20, f"{peak / 2**20:.1f} MiB for 10 declared bytes of 64 MiB"


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_bzip2_and_lzma_archives_are_checked_like_deflate(tmp_path, method):
    from sklearn.datasets import load_digits

    digits = load_digits()
    image = (digits.images[..., None] / 16.0).astype(np.float32)
    path = tmp_path / "digits.npz"
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("image.npy", _npy(image))
        archive.writestr("label.npy", _npy(digits.target))
    members = open_npz(path)
    np.testing.assert_array_equal(members["image"][100:164], image[100:164])
    np.testing.assert_array_equal(np.asarray(members["label"]), digits.target)
    report = dc.check(path, "digits")
    assert report.inputs == {str(path): "ok"}, [v.message for v in report.violations]


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_a_bzip2_or_lzma_read_never_yields_more_than_asked(tmp_path, method):
    from datacheck.readers.zipstream import open_member

    path = tmp_path / "ones.zip"
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("x", b"\1" * (8 << 20))
        archive.writestr("bad", b"\2" * 1000)
    with zipfile.ZipFile(path) as archive:
        with open_member(archive, archive.getinfo("x")) as stream:
            sizes = [len(stream.read(4096)) for _ in range(3)]
            assert sizes == [4096, 4096, 4096]
            assert len(stream.read()) == (8 << 20) - 3 * 4096
        info = archive.getinfo("bad")
        info.CRC ^= 1  # the inflated bytes no longer match the CRC the entry declares
        with open_member(archive, info) as stream, pytest.raises(zipfile.BadZipFile, match="CRC"):
            stream.read()


def test_an_lzma_member_declaring_a_huge_dictionary_is_refused_before_allocating(tmp_path):
    import struct

    path = tmp_path / "dict.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_LZMA) as archive:
        archive.writestr("image.npy", _npy(np.zeros(10, np.uint8)))
    data = bytearray(path.read_bytes())
    props = data.index(b"\x5d\x00\x00\x80\x00")  # lc/lp/pb byte, then the 8 MiB dict size
    data[props + 1:props + 5] = struct.pack("<I", 0xFFFFFFFF)  # 4 GiB
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="LZMA dictionary of 4,294,967,295 bytes"):
        open_npz(path)
