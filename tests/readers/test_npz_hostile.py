"""The .npz reader: headers are checked before any data is inflated, rows stream in bounded memory.

Files are real archives written with numpy and zipfile in tmp_path; hostile
ones lie in their .npy header or zip directory.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

import datacheck as dc
from datacheck.errors import DataError
from datacheck.readers.guards import Limits, TooLargeError
from datacheck.readers.npz import NpzRows, open_npz, read_npz

MiB = 1 << 20


def _header(shape: tuple[int, ...], descr: str = "<f4", fortran: bool = False) -> bytes:
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": fortran,
                                               "shape": shape})
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _entry(report: dc.Report, path: Path, code: str) -> str:
    """The status of ``path`` and the one message of ``code`` about it."""
    (message,) = [v.message for v in report.violations if v.code == code]
    assert message.startswith(str(path))
    return report.inputs[str(path)]


def _digits_npz(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray], name: str = "d.npz",
                compressed: bool = True) -> Path:
    path = tmp_path / name
    (np.savez_compressed if compressed else np.savez)(path, image=digits[0][:256],
                                                      label=digits[1][:256])
    return path


def test_a_deflate_bomb_streams_through_the_scan_in_bounded_memory(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("image.npy", "w", force_zip64=True) as member:
            member.write(_header((2048, 64, 64, 1)))  # 32 MiB of zeros from ~32 KiB
            for _ in range(32):
                member.write(bytes(MiB))
        archive.writestr("label.npy", _npy(np.zeros(2048, "int64")))
    assert path.stat().st_size < MiB // 4
    tracemalloc.start()
    try:
        report = dc.check(path, "digits")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB  # a batch of 32 rows is 512 KiB; the member whole would be 32 MiB
    assert report.inputs == {str(path): "violating"}
    assert not {v.code for v in report.violations} & {"unreadable", "too_large"}
    shape = [v.message for v in report.violations if v.code == "shape"]
    assert any("(64, 64, 1) does not match (8, 8, 1)" in m for m in shape)


def test_a_row_over_the_limits_is_too_large_before_reading(tmp_path):
    # Declares rows of 4 GiB; the entry holds only the header.
    path = _zip(tmp_path / "rows.npz", {"image.npy": _header((3, 1 << 32), "|u1"),
                                       "label.npy": _npy(np.arange(3))})
    report = dc.check(path, "digits")
    assert _entry(report, path, "too_large") == "unreadable"
    (message,) = [v.message for v in report.violations if v.code == "too_large"]
    assert "member 'image.npy': too_large: header declares 4294967296" in message
    assert "refused before reading" in message and "one example per row" in message


def test_an_entry_shorter_than_its_header_declares_is_truncated(tmp_path):
    data = _header((256, 8, 8, 1)) + bytes(1024)  # declares 64 KiB, holds 1 KiB
    path = _zip(tmp_path / "short.npz", {"image.npy": data, "label.npy": _npy(np.arange(256))})
    report = dc.check(path, "digits")
    assert _entry(report, path, "unreadable") == "unreadable"
    (message,) = [v.message for v in report.violations]
    assert "member 'image.npy': truncated: its .npy header declares 256x8x8x1 float32" in message


def test_data_past_what_the_header_declares_is_never_read(tmp_path, digits):
    images, labels = digits[0][:256], digits[1][:256]
    clean = _digits_npz(tmp_path, digits, "clean.npz")
    path = _zip(tmp_path / "long.npz", {"image.npy": _npy(images) + bytes(64 * MiB),
                                       "label.npy": _npy(labels)})
    arrays = read_npz(path, dc.load_schema("digits"))
    assert arrays["image"][:].shape == images.shape
    np.testing.assert_array_equal(arrays["image"][:], images)
    report, clean_report = dc.check(path, "digits"), dc.check(clean, "digits")
    assert report.inputs[str(path)] == clean_report.inputs[str(clean)] == "ok"


def test_an_object_member_is_refused_as_pickled_before_reading(tmp_path):
    objects = _header((2,), "|O") + b"\x80\x04junk"  # never unpickled, never even read
    path = _zip(tmp_path / "objects.npz", {"image.npy": objects, "label.npy": _npy(np.arange(2))})
    report = dc.check(path, "digits")
    assert _entry(report, path, "unreadable") == "unreadable"
    assert "member 'image.npy' holds pickled Python objects" in report.violations[0].message


def test_a_member_that_is_not_npy_is_unreadable(tmp_path, digits):
    path = _zip(tmp_path / "notes.npz", {"image.npy": _npy(digits[0][:4]),
                                        "README.txt": b"hello"})
    report = dc.check(path, "digits")
    assert _entry(report, path, "unreadable") == "unreadable"
    assert "member 'README.txt' is not a .npy array" in report.violations[0].message


@pytest.mark.parametrize("header", [b"{'descr': '<f4', 'shape': (4,)}",
                                    b"{'descr': '<f4', 'fortran_order': False, 'shape': (-4,)}",
                                    b"{'descr': 'x', 'fortran_order': False, 'shape': (4,)}"],
                         ids=["keys", "negative", "descr"])
def test_a_corrupt_npy_header_is_unreadable_with_the_reason(tmp_path, header):
    raw = header.ljust(118) + b"\n"
    data = npy_format.MAGIC_PREFIX + b"\x01\x00" + len(raw).to_bytes(2, "little") + raw
    path = _zip(tmp_path / "header.npz", {"image.npy": data + bytes(16),
                                         "label.npy": _npy(np.arange(4))})
    report = dc.check(path, "digits")
    assert _entry(report, path, "unreadable") == "unreadable"
    assert "member 'image.npy': corrupt .npy header" in report.violations[0].message


def test_corrupt_data_behind_a_good_header_is_refused_before_any_row_is_judged(tmp_path):
    rng = np.random.default_rng(0)
    noise = rng.random((4096, 8, 8, 1), dtype=np.float32)  # incompressible: bytes to corrupt
    path = tmp_path / "corrupt.npz"
    np.savez_compressed(path, image=noise, label=np.zeros(4096, "int64"))
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)  # still inflates: only the CRC tells
    path.write_bytes(bytes(data))
    report = dc.check(path, "digits")
    assert _entry(report, path, "unreadable") == "unreadable"
    # Nothing judged from the garbage rows (no nonfinite/range findings), only the refusal.
    assert [v.code for v in report.violations] == ["unreadable"]
    assert "member 'image.npy': corrupt or truncated data (Bad CRC-32" in \
        report.violations[0].message


def test_a_file_changed_under_the_reader_fails_with_a_reason(tmp_path, digits):
    path = _digits_npz(tmp_path, digits)
    rows = open_npz(path)["image"]
    path.write_bytes(b"not a zip any more")
    with pytest.raises(DataError, match=r"member 'image\.npy': corrupt or truncated data"):
        rows[:32]


@pytest.mark.parametrize("compressed", [True, False], ids=["deflate", "stored"])
def test_rows_and_whole_reads_match_numpy(tmp_path, digits, compressed):
    path = tmp_path / "mixed.npz"
    images = digits[0][:100]
    (np.savez_compressed if compressed else np.savez)(
        path, image=images, fortran=np.asfortranarray(images[:, :, :, 0]),
        scalar=np.float64(2.5), empty=np.zeros((0, 3)), text=np.array(["a", "bc"]))
    arrays = open_npz(path)
    with np.load(path, allow_pickle=False) as expected:
        assert list(arrays) == list(expected.files)
        rows = arrays["image"]
        assert isinstance(rows, NpzRows) and rows.shape == images.shape and len(rows) == 100
        forward = [rows[start:start + 32] for start in range(0, 128, 32)]  # the scan's batches
        np.testing.assert_array_equal(np.concatenate(forward), expected["image"])
        np.testing.assert_array_equal(rows[10:20], expected["image"][10:20])  # backwards
        np.testing.assert_array_equal(rows[[3, 1]], expected["image"][[3, 1]])
        np.testing.assert_array_equal(np.asarray(arrays["fortran"]), expected["fortran"])
        np.testing.assert_array_equal(arrays["fortran"][5:9], expected["fortran"][5:9])
        for key in ("scalar", "empty"):  # no data to stream: plain arrays
            assert isinstance(arrays[key], np.ndarray)
            np.testing.assert_array_equal(arrays[key], expected[key])
        np.testing.assert_array_equal(arrays["text"][0:2], expected["text"])


def test_slices_and_whole_reads_are_bounded_by_max_bytes(tmp_path):
    path = tmp_path / "big.npz"
    np.savez_compressed(path, image=np.zeros((1024, 32, 32), "float32"))  # 4 KiB rows, 4 MiB
    rows = open_npz(path, Limits(max_bytes=256 * 1024))["image"]
    assert rows[:32].shape == (32, 32, 32)  # 128 KiB
    with pytest.raises(TooLargeError, match=r"rows 0-127 at once needs 512\.0 KiB.*batch_size"):
        rows[:128]
    with pytest.raises(TooLargeError, match=r"the whole member needs 4\.0 MiB"):
        np.asarray(rows)


def test_a_file_that_is_not_a_zip_is_unreadable(tmp_path):
    path = tmp_path / "plain.npz"
    path.write_bytes(_npy(np.arange(4)))  # an .npy renamed to .npz
    with pytest.raises(DataError, match=r"not a readable \.npz archive"):
        open_npz(path)
    report = dc.check(path, "digits")
    assert _entry(report, path, "unreadable") == "unreadable"


@pytest.mark.parametrize(("shape", "descr"), [((10 ** 12, 0), "<f4"), ((10 ** 12,), "|V0")],
                         ids=["empty-rows", "void0"])
def test_rows_of_zero_bytes_are_refused_not_walked(tmp_path, shape, descr):
    path = _zip(tmp_path / "empty.npz", {"image.npy": _header(shape, descr),
                                        "label.npy": _npy(np.arange(3))})
    report = dc.check(path, "digits")
    assert _entry(report, path, "unreadable") == "unreadable"
    (message,) = [v.message for v in report.violations]
    assert "declares 1,000,000,000,000 rows of 0 bytes each" in message
