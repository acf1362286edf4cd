"""infer on HDF5: per-subject layouts and id datasets (issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import datacheck as dc

h5py = pytest.importorskip("h5py")


def test_per_subject_layout_is_recognised(tmp_path: Path) -> None:
    import os

    import nibabel as nib

    anat = np.asarray(nib.load(Path(os.path.dirname(nib.__file__)) / "tests" / "data"
                               / "anatomical.nii").dataobj, dtype=np.float32)
    path = tmp_path / "subjects.h5"
    with h5py.File(path, "w") as f:
        for k in range(3):
            f[f"sub-0{k}/T1w"] = anat * (1 + 0.01 * k)
            f[f"sub-0{k}/subject_id"] = np.bytes_(f"sub-0{k}")
    schema = dc.infer_schema(str(path))
    assert schema.hdf5 is not None
    assert {n: (d.path, d.batched) for n, d in schema.hdf5.datasets.items()} == \
        {"T1w": ("/*/T1w", False)}
    assert not schema.labels
    report = dc.check(str(path), schema)
    assert report.ok, report.to_text()
    assert report.stats["elements"] == 3


def test_an_id_dataset_never_becomes_a_label(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path / "digits.h5"
    with h5py.File(path, "w") as f:
        f["images"] = (digits.images / 16.0).astype(np.float32)[..., None]
        f["labels"] = digits.target.astype(np.int64)
        f["example"] = np.arange(len(digits.target), dtype=np.int64) + 1000  # unique per row
    schema = dc.infer_schema(str(path))
    assert schema.hdf5 is not None and set(schema.hdf5.datasets) == {"images", "labels"}
    assert list(schema.labels) == ["labels"]
