"""Hostile HDF5 files end as one clear report entry: never-written rows, object dtypes, loops.

Each file is written with h5py in tmp_path and checked through ``dc.check``;
the entry must be 'unreadable' with a datacheck reason (never the raw h5py
exception text), and legitimate look-alikes (gzip zeros, string labels)
must still be read.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import datacheck as dc
from datacheck.errors import DataError
from datacheck.readers import hdf5
from datacheck.readers.hdf5 import describe, open_h5, read_rows

h5py = pytest.importorskip("h5py")

#: The hardening oracle's pattern for a raw dependency exception used as the reason.
RAW = re.compile(r"unreadable: [A-Za-z_.]*(Error|Exception|error)\b")


def _digits(path: Path, image: Any = None, **image_kwargs: Any) -> Path:
    """A digits-shaped file: 'label' (3 rows) and 'image' built by ``image(handle)``."""
    with h5py.File(path, "w") as handle:
        handle["label"] = np.arange(3)
        if image is not None:
            image(handle)
        else:
            handle.create_dataset("image", **image_kwargs)
    return path


def _refused(path: Path, phrase: str, code: str = "unreadable") -> str:
    report = dc.check(path, "digits")
    assert report.inputs == {str(path): "unreadable"}
    messages = [v.message for v in report.violations if v.code == code]
    assert any(phrase in m for m in messages), messages
    assert not any(RAW.search(v.message) for v in report.violations)
    return next(m for m in messages if phrase in m)


def _read(path: Path) -> dc.Report:
    report = dc.check(path, "digits")
    assert report.inputs[str(path)] in ("ok", "violating")
    assert not any(v.code in ("unreadable", "too_large") for v in report.violations)
    return report


# -- declared but never written --------------------------------------------------------
def test_declared_but_unwritten_chunked_rows_are_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "bomb.h5"
    with h5py.File(path, "w") as handle:  # 1e8 rows each, nothing written: ~2 KB on disk
        handle.create_dataset("image", shape=(10**8, 8, 8, 1), dtype="float32",
                              chunks=(4096, 8, 8, 1))
        handle.create_dataset("label", shape=(10**8,), dtype="int64", chunks=(65536,))
    start = time.perf_counter()
    report = dc.check(path, "digits")
    assert time.perf_counter() - start < 5
    assert report.inputs == {str(path): "unreadable"}
    image, label = (v.message for v in report.violations if v.code == "unreadable")
    assert image.startswith(f"{path}: unreadable: dataset '/image' declares 100,000,000 rows")
    assert "0 of 24,415 chunks" in image and "never written" in image and "resize" in image
    assert "dataset '/label' declares 100,000,000 rows (762.9 MiB)" in label


def test_unallocated_contiguous_dataset_is_refused(tmp_path: Path) -> None:
    path = _digits(tmp_path / "contiguous.h5", shape=(10**6, 8, 8, 1), dtype="float32")
    assert "no storage" in _refused(path, "never written")


def test_gzip_zeros_store_little_but_are_read(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(hdf5, "UNWRITTEN_FLOOR", 1024)  # the rule applies to small files too
    path = _digits(tmp_path / "zeros.h5", data=np.zeros((3, 8, 8, 1), np.float32),
                   chunks=(1, 8, 8, 1), compression="gzip")
    with h5py.File(path) as handle:
        assert handle["image"].id.get_storage_size() < handle["image"].nbytes // 4
    report = _read(path)
    assert "constant" in report.codes()


def test_a_mostly_unwritten_dataset_is_refused_a_mostly_written_one_read(
        tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(hdf5, "UNWRITTEN_FLOOR", 256)  # each chunk (one row) holds 256 bytes

    def partly(rows: int) -> Any:
        def write(handle: Any) -> None:
            data = handle.create_dataset("image", shape=(3, 8, 8, 1), dtype="float32",
                                         chunks=(1, 8, 8, 1))
            data[:rows] = np.random.default_rng(0).random((rows, 8, 8, 1))
        return write

    assert "1 of 3 chunks" in _refused(_digits(tmp_path / "one.h5", partly(1)), "never written")
    _read(_digits(tmp_path / "two.h5", partly(2)))


def test_small_unwritten_datasets_are_read_as_fill_values(tmp_path: Path) -> None:
    report = _read(_digits(tmp_path / "fill.h5", shape=(3, 8, 8, 1), dtype="float32",
                           chunks=(1, 8, 8, 1)))
    assert "constant" in report.codes()


def test_data_in_external_raw_files_is_refused(tmp_path: Path) -> None:
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.zeros((3, 8, 8, 1), np.float32).tobytes())
    path = _digits(tmp_path / "external.h5", shape=(3, 8, 8, 1), dtype="float32",
                   external=[(str(raw), 0, h5py.h5f.UNLIMITED)])
    _refused(path, "external raw files")


# -- object dtypes ---------------------------------------------------------------------
def _vlen(handle: Any) -> None:
    data = handle.create_dataset("image", shape=(3,), dtype=h5py.vlen_dtype(np.float32))
    for i in range(3):
        data[i] = np.ones(10 + i, np.float32)


def _references(kind: Any) -> Any:
    def write(handle: Any) -> None:
        data = handle.create_dataset("image", shape=(3,), dtype=kind)
        for i in range(3):
            data[i] = handle["label"].ref if kind is h5py.ref_dtype \
                else handle["label"].regionref[:1]
    return write


@pytest.mark.parametrize(("write", "phrase"), [
    (_vlen, "object dtype (variable-length float32 arrays)"),
    (_references(h5py.ref_dtype), "object dtype (object references)"),
    (_references(h5py.regionref_dtype), "object dtype (region references)"),
])
def test_object_dtypes_are_refused(tmp_path: Path, write: Any, phrase: str) -> None:
    message = _refused(_digits(tmp_path / "object.h5", write), phrase)
    assert "dataset '/image'" in message and "fixed-size numeric or string" in message


def test_compound_records_are_refused(tmp_path: Path) -> None:
    path = _digits(tmp_path / "compound.h5", data=np.zeros(3, [("a", "f4"), ("b", "i4")]))
    assert "fields a, b" in _refused(path, "compound dtype")


def test_string_labels_fixed_and_variable_length_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "names.h5"
    with h5py.File(path, "w") as handle:
        handle["fixed"] = np.array([b"cat", b"dog"])
        handle.create_dataset("vlen", data=["cat", "dög"], dtype=h5py.string_dtype())
    with open_h5(path) as handle:
        for name in ("/fixed", "/vlen"):
            info = describe(handle, name)
            assert info is not None and (info.dtype, info.refusal) == ("string", "")
        vlen = describe(handle, "/vlen")
        assert vlen is not None
        assert read_rows(handle, vlen, 0, 2, "names.h5").tolist() == ["cat", "dög"]


def test_read_rows_refuses_a_refused_dataset(tmp_path: Path) -> None:
    path = _digits(tmp_path / "vlen.h5", _vlen)
    with open_h5(path) as handle:
        info = describe(handle, "/image")
        assert info is not None and info.dtype == "object"
        with pytest.raises(DataError, match=r"vlen\.h5: unreadable: dataset '/image' has an obj"):
            read_rows(handle, info, 0, 3, "vlen.h5")


# -- metadata h5py cannot read ---------------------------------------------------------
def test_a_soft_link_loop_is_named_not_raw(tmp_path: Path) -> None:
    path = _digits(tmp_path / "loop.h5", lambda h: h.__setitem__("image", h5py.SoftLink("/image")))
    report = dc.check(path, "digits")
    assert report.inputs == {str(path): "unreadable"}
    (violation,) = report.violations
    assert violation.code == "unreadable" and not RAW.search(violation.message)
    assert violation.message.startswith(f"{path}: cannot open dataset '/image': the link loops")


def test_a_float_type_numpy_cannot_hold_is_named_not_raw(tmp_path: Path) -> None:
    def write(handle: Any) -> None:
        wide = h5py.h5t.IEEE_F64LE.copy()  # 256-bit float: no numpy type can hold it
        wide.set_size(32)
        wide.set_precision(256)
        wide.set_fields(255, 240, 15, 0, 240)
        h5py.h5d.create(handle.id, b"image", wide, h5py.h5s.create_simple((3, 8, 8, 1)))

    message = _refused(_digits(tmp_path / "wide.h5", write), "cannot read the metadata of")
    assert "'/image'" in message and "a type numpy cannot hold" in message


def test_corrupt_attribute_messages_are_named_not_raw(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle["label"] = np.arange(3)
        handle["image"] = np.ones((3, 8, 8, 1), np.float32)
        handle["image"].attrs["scale"] = 1.0
    seed = buffer.getvalue()
    at = seed.find(b"scale\x00")
    refused = 0
    for offset in range(6, 24):  # the attribute's datatype message follows its name
        data = bytearray(seed)
        data[at + offset] ^= 0xFF
        path = tmp_path / f"attr{offset}.h5"
        path.write_bytes(bytes(data))
        report = dc.check(path, "digits")
        assert not any(RAW.search(v.message) for v in report.violations)
        refused += any(v.code == "unreadable" and "'/image'" in v.message
                       for v in report.violations)
    assert refused
