"""HDF5 chunks are inflated once each, chunks past max_bytes are refused, attributes are bounded.

The hostile file: one 64 MiB gzip chunk (about 0.5 MB on disk) read in
128 KiB slabs. HDF5's default 1 MiB chunk cache cannot hold the chunk, so
every slab inflated all of it again (512 times: minutes); now the dataset is
opened once with a cache of one row of chunks.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.readers.guards import Limits, TooLargeError
from datacheck.readers.h5chunks import chunk_guard
from datacheck.readers.hdf5 import MAX_ATTR_BYTES, describe, open_h5

h5py = pytest.importorskip("h5py")

ROWS = 1024
ROW = (256, 256, 1)


def _one_big_chunk(path: Path) -> None:
    """ROWS x 256 x 256 uint8 (64 MiB) stored as one gzip chunk of a 0..255 ramp per row."""
    with h5py.File(path, "w") as handle:
        dataset = handle.create_dataset("image", shape=(ROWS, *ROW), dtype="uint8",
                                        chunks=(ROWS, *ROW), compression="gzip")
        packer = zlib.compressobj(1)
        row = bytes(range(256)) * 256
        body = b"".join(packer.compress(row) for _ in range(ROWS)) + packer.flush()
        dataset.id.write_direct_chunk((0, 0, 0, 0), body)
        handle["label"] = np.arange(ROWS) % 10


def _schema(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "schema.yaml"
    path.write_text("name: chunks\nfeatures:\n  image: {dtype: uint8, shape: [256, 256, 1], "
                    "range: [0, 255]}\nlabels:\n  label: {num_classes: 10}\n"
                    f"hdf5:\n  slab_bytes: 131072\n{extra}")
    return path


def test_one_large_chunk_read_slab_by_slab_is_inflated_once(tmp_path):
    path = tmp_path / "one_chunk.h5"
    _one_big_chunk(path)
    assert path.stat().st_size < 2 * 1024**2
    start = time.monotonic()
    report = dc.check(path, _schema(tmp_path))
    elapsed = time.monotonic() - start
    assert report.ok, [v.message for v in report.violations]
    assert report.inputs == {str(path): "ok"}
    assert elapsed < 5, f"{elapsed:.1f} s: the chunk was inflated more than once"


def test_chunks_inflating_past_max_bytes_are_too_large_before_reading(tmp_path):
    path = tmp_path / "one_chunk.h5"
    _one_big_chunk(path)
    with open_h5(path) as handle:
        info = describe(handle, "/image")
    assert info is not None
    with pytest.raises(TooLargeError, match=r"inflate to 64\.0 MiB for any row read"):
        chunk_guard(str(path), info, Limits(max_bytes=32 * 1024**2))
    start = time.monotonic()
    report = dc.check(path, _schema(tmp_path), limits=Limits(max_bytes=32 * 1024**2))
    assert time.monotonic() - start < 5
    assert report.inputs == {str(path): "unreadable"}
    too_large = [v for v in report.violations if v.code == "too_large"]
    assert len(too_large) == 1 and too_large[0].feature == "image"
    assert "h5repack" in too_large[0].message


def test_a_huge_attribute_is_not_read_and_is_shown_short(tmp_path):
    path = tmp_path / "attrs.h5"
    hostile = "x" * (2 * MAX_ATTR_BYTES)
    with h5py.File(path, "w", libver="latest") as handle:  # dense storage: no 64 KiB cap
        handle["image"] = np.zeros((2, 256, 256, 1), np.uint8)
        handle["image"].attrs["note"] = np.frombuffer(hostile.encode(), "S1")
        handle["image"].attrs["units"] = "z" * 100_000
        handle["label"] = np.arange(2)
    with open_h5(path) as handle:
        info = describe(handle, "/image")
    assert info is not None
    assert info.attrs["note"].startswith("<attribute of 2,097,152 values")
    assert info.attrs["units"] == "z" * 100_000  # under the bound: read exactly
    schema = _schema(tmp_path, "  datasets:\n    image:\n      path: /image\n      attrs: "
                     "{note: a, units: mm}\n")
    report = dc.check(path, schema)
    attribute = sorted((v for v in report.violations if v.code == "attribute"),
                       key=lambda v: v.message)
    assert len(attribute) == 2
    assert "not read>" in attribute[0].message
    assert all(len(v.message) < 400 for v in attribute), [len(v.message) for v in attribute]
    assert "(100,002 characters)" in attribute[1].message
