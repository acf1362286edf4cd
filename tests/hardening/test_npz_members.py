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
def test_members_without_an_output_bound_are_refused_unread(tmp_path, method):
    header = _npy(np.zeros(10, np.uint8))
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("image.npy", header + b"\0" * (64 << 20))  # 64 MiB past the header
    assert path.stat().st_size < 200_000
    start = time.monotonic()
    with pytest.raises(DataError, match="compressed, which datacheck does not inflate"):
        open_npz(path)
    assert time.monotonic() - start < 1
