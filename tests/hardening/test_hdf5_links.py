"""HDF5 external links and virtual datasets name other files: refused, never read through.

The outside file holds values the digits schema would flag (255); if the scan
read through the link, the report would show them instead of the refusal.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.errors import DataError
from datacheck.readers.hdf5 import describe, open_h5

h5py = pytest.importorskip("h5py")


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "elsewhere" / "secret.h5"
    with h5py.File(path, "w") as handle:
        handle["image"] = np.full((3, 8, 8, 1), 255.0, np.float32)
    return path


def _check(path: Path, phrase: str) -> None:
    start = time.monotonic()
    report = dc.check(path, "digits")
    assert time.monotonic() - start < 5
    assert report.inputs == {str(path): "unreadable"}
    assert any(v.code == "unreadable" and phrase in v.message for v in report.violations), \
        [v.message for v in report.violations]
    assert "range" not in report.codes()  # the outside values were never read


def test_an_external_link_is_refused_naming_it(tmp_path, outside):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as handle:
        handle["label"] = np.arange(3)
        handle["image"] = h5py.ExternalLink(str(outside), "/image")
    _check(path, "goes through an external link at '/image'")


def test_a_soft_link_into_an_external_group_is_refused(tmp_path, outside):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as handle:
        handle["label"] = np.arange(3)
        handle["ext"] = h5py.ExternalLink(str(outside), "/")
        handle["image"] = h5py.SoftLink("/ext/image")
    with open_h5(path) as handle, pytest.raises(DataError, match="external link at '/ext'"):
        describe(handle, "/image", str(path))
    _check(path, "external link at '/ext'")


def test_a_virtual_dataset_is_refused_before_any_read(tmp_path, outside):
    path = tmp_path / "data.h5"
    layout = h5py.VirtualLayout(shape=(3, 8, 8, 1), dtype=np.float32)
    layout[:] = h5py.VirtualSource(str(outside), "image", shape=(3, 8, 8, 1))
    with h5py.File(path, "w") as handle:
        handle["label"] = np.arange(3)
        handle.create_virtual_dataset("image", layout)
    _check(path, "is a virtual dataset")
