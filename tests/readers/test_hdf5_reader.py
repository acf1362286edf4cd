"""The HDF5 reader: datasets by path, attributes as plain values, slabs bounded by bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datacheck.errors import DataError
from datacheck.readers.guards import Limits, TooLargeError
from datacheck.readers.hdf5 import describe, iter_slabs, open_h5, row_guard, slab_rows


@pytest.fixture()
def h5file(tmp_path: Path) -> Path:
    import h5py

    path = tmp_path / "train.h5"
    with h5py.File(path, "w") as f:
        images = f.create_dataset("train/images", data=np.arange(100 * 64, dtype=np.float32)
                                  .reshape(100, 8, 8), chunks=(10, 8, 8))
        images.attrs["spacing"] = np.array([1.0, 1.0])
        images.attrs["units"] = b"mm"
        f.create_dataset("train/labels", data=np.arange(100) % 3)
        f.create_dataset("names", data=np.array([b"a", b"b"]))
    return path


def test_describe_datasets_groups_and_missing(h5file: Path) -> None:
    with open_h5(h5file) as handle:
        images = describe(handle, "/train/images")
        assert images is not None and images.dataset
        assert (images.shape, images.dtype, images.chunks) == ((100, 8, 8), "float32", (10, 8, 8))
        assert images.attrs == {"spacing": [1.0, 1.0], "units": "mm"}
        group = describe(handle, "/train")
        assert group is not None and not group.dataset
        assert describe(handle, "/nope") is None
        assert describe(handle, "/names").dtype == "string"  # type: ignore[union-attr]


def test_slabs_are_bounded_and_chunk_aligned(h5file: Path) -> None:
    with open_h5(h5file) as handle:
        info = describe(handle, "/train/images")
        assert info is not None
        rows = slab_rows(info, slab_bytes=8 * 8 * 4 * 25)  # room for 25 rows -> 20 (chunks of 10)
        assert rows == 20
        slabs = list(iter_slabs(handle, info, 8 * 8 * 4 * 25, "train.h5"))
        assert [start for start, _ in slabs] == [0, 20, 40, 60, 80]
        assert all(a.nbytes <= 8 * 8 * 4 * 25 for _, a in slabs)
        np.testing.assert_array_equal(np.concatenate([a for _, a in slabs]),
                                      handle["train/images"][()])


def test_row_guard(h5file: Path) -> None:
    with open_h5(h5file) as handle:
        info = describe(handle, "/train/images")
        assert info is not None
        row_guard("train.h5", info, Limits())
        with pytest.raises(TooLargeError, match=r"train\.h5:/train/images: too_large"):
            row_guard("train.h5", info, Limits(max_bytes=100))


def test_not_hdf5_and_truncated(tmp_path: Path, h5file: Path) -> None:
    fake = tmp_path / "fake.h5"
    fake.write_text("id,label\n1,2\n")
    with pytest.raises(DataError, match=r"fake\.h5: not a readable HDF5 file"):
        open_h5(fake)
    cut = tmp_path / "cut.h5"
    cut.write_bytes(h5file.read_bytes()[:3000])
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        open_h5(cut)
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty file"):
        open_h5(empty)
