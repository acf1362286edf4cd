"""HDF5 dataset paths with wildcards: per-subject layouts and several groups (issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import datacheck as dc

h5py = pytest.importorskip("h5py")


def test_per_subject_volumes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "subjects.h5"
    with h5py.File(path, "w") as f:
        f["sub-01/T1w"] = rng.normal(size=(8, 8, 8)).astype(np.float32)
        bad = rng.normal(size=(8, 8, 8)).astype(np.float32)
        bad[1, 2, 3] = np.nan
        f["sub-02/T1w"] = bad
        f["sub-03/T1w"] = rng.normal(size=(8, 8, 6)).astype(np.float32)
        f["sub-03/id"] = np.bytes_("subject three")  # an id next to the volume: not data
    schema = {"name": "subj", "features": {"volume": {"layout": "DHWC"}},
              "hdf5": {"datasets": {"volume": {"path": "/sub-*/T1w", "batched": False,
                                               "shape": [8, 8, 8]}}}}
    report = dc.check(str(path), schema)
    by_code = {v.code: v for v in report.violations}
    assert set(by_code) == {"nonfinite", "shape"}
    assert "/sub-02/T1w" in by_code["nonfinite"].message
    assert "/sub-03/T1w has shape (8, 8, 6)" in by_code["shape"].message
    assert report.stats["elements"] == 3 and report.inputs[str(path)] == "violating"


def test_train_and_val_groups_in_one_schema(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    y = digits.target.astype(np.int64)
    path = tmp_path / "splits.h5"
    with h5py.File(path, "w") as f:
        f["train/images"], f["train/labels"] = x[:1000], y[:1000]
        f["val/images"] = x[1000:]  # val lacks its labels
    schema = {"name": "groups",
              "features": {"image": {"layout": "HWC", "shape": [8, 8, 1], "range": [0, 1]}},
              "labels": {"label": {"num_classes": 10}},
              "hdf5": {"datasets": {"image": {"path": "/*/images"},
                                    "label": {"path": "/*/labels"}}}}
    report = dc.check(str(path), schema)
    assert report.codes() == ["missing_feature"]
    assert "/val/labels is missing" in report.violations[0].message
    assert report.stats["elements"] == 1797
    with h5py.File(path, "a") as f:
        f["val/labels"] = y[1000:]
    assert dc.check(str(path), schema).ok
