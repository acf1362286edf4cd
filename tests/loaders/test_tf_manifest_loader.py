"""The tf.data loader: manifest rows -> validated (volume, target) elements."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datacheck.errors import DatacheckError, ValidationError
from datacheck.loaders import manifest_dataset
from datacheck.report import Report

tf = pytest.importorskip("tensorflow")

SCHEMA = {
    "name": "loader",
    "features": {"volume": {"layout": "DHWC", "shape": [6, 7, 8, 1], "dtype": "float32"},
                 "mask": {"layout": "DHWC", "shape": [6, 7, 8, 1], "dtype": "uint8",
                          "not_constant": False}},
    "labels": {"label": {"num_classes": 2}},
    "nifti": {"feature": "volume", "orientation": "RAS"},
    "manifest": {"id_column": "id", "subject_column": "subject", "split_column": "split",
                 "label_column": "label", "mask_column": "mask"},
}


@pytest.fixture()
def dataset(tmp_path: Path, write_nifti) -> Path:
    rng = np.random.default_rng(0)
    rows = ["id,subject,split,image,mask,label"]
    for i in range(5):
        data = rng.normal(size=(6, 7, 8)).astype(np.float32)
        if i == 3:
            data[0, 0, 0] = np.nan
        write_nifti(f"s{i}.nii.gz", data)
        write_nifti(f"s{i}_mask.nii.gz", (data > 0).astype(np.uint8))
        split = "train" if i < 4 else "val"
        rows.append(f"{i},sub{i},{split},s{i}.nii.gz,s{i}_mask.nii.gz,{i % 2}")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "manifest.csv"


def test_volumes_and_labels_in_feature_layout(dataset: Path) -> None:
    ds = manifest_dataset(dataset, SCHEMA, split="val")
    assert ds.element_spec[0].shape == (6, 7, 8, 1) and ds.element_spec[0].dtype == tf.float32
    assert ds.element_spec[1].dtype == tf.int64
    (volume, label), = list(ds.as_numpy_iterator())
    assert volume.shape == (6, 7, 8, 1) and label == 0
    assert ds.batch(2).element_spec[0].shape.as_list() == [None, 6, 7, 8, 1]


def test_raise_stops_at_the_violating_volume(dataset: Path) -> None:
    ds = manifest_dataset(dataset, SCHEMA, split="train")
    with pytest.raises(tf.errors.OpError, match="volume: nonfinite: 1 NaN/Inf values in"):
        list(ds.as_numpy_iterator())


def test_drop_leaves_it_out_and_reports_it(dataset: Path) -> None:
    report = Report(schema="loader")
    ds = manifest_dataset(dataset, SCHEMA, split="train", on_error="drop", report=report)
    labels = [int(y) for _, y in ds.as_numpy_iterator()]
    assert labels == [0, 1, 0]
    assert report.codes() == ["nonfinite"] and report.counts()["violating"] == 1


def test_masks_as_targets(dataset: Path) -> None:
    schema = dict(SCHEMA, pairs={"feature": "mask", "labels": [0, 1]})
    ds = manifest_dataset(dataset, schema, split="val")
    volume, mask = next(ds.as_numpy_iterator())
    assert mask.shape == (6, 7, 8, 1) and mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, (volume > 0).astype(np.uint8))


def test_table_problems_raise_before_reading(dataset: Path) -> None:
    text = dataset.read_text().replace("sub1,train", "sub0,val")
    dataset.write_text(text)
    with pytest.raises(ValidationError, match="leakage"):
        manifest_dataset(dataset, SCHEMA)
    with pytest.raises(DatacheckError, match="on_error must be one of"):
        manifest_dataset(dataset, SCHEMA, on_error="ignore")
    with pytest.raises(DatacheckError, match="no usable rows in split 'holdout'"):
        manifest_dataset(dataset, SCHEMA, split="holdout", on_error="warn")


def test_h5_volumes_from_a_manifest(tmp_path: Path) -> None:
    import h5py

    rng = np.random.default_rng(0)
    for i in range(2):
        with h5py.File(tmp_path / f"v{i}.h5", "w") as f:
            f.create_dataset("vol", data=rng.normal(size=(6, 7, 8)).astype(np.float32))
    (tmp_path / "m.csv").write_text("image,label\nv0.h5,0\nv1.h5,1\n")
    schema = {"name": "h5", "features": {"volume": {"layout": "DHWC", "dtype": "float32"}},
              "hdf5": {"datasets": {"volume": {"path": "/vol", "batched": False}}},
              "manifest": {"label_column": "label", "label_values": [0, 1]}}
    shapes = [v.shape for v, _ in manifest_dataset(tmp_path / "m.csv", schema)
              .as_numpy_iterator()]
    assert shapes == [(6, 7, 8, 1), (6, 7, 8, 1)]


def test_a_file_swapped_for_a_link_outside_after_planning_is_not_read(dataset: Path,
                                                                    tmp_path_factory) -> None:
    # The loader reopens rows every epoch: each open goes through the gate, inside the root.
    outside = tmp_path_factory.mktemp("outside") / "secret.nii.gz"
    outside.write_bytes((dataset.parent / "s4.nii.gz").read_bytes())
    report = Report(schema="loader")
    ds = manifest_dataset(dataset, SCHEMA, split="val", on_error="drop", report=report)
    (dataset.parent / "s4.nii.gz").unlink()
    (dataset.parent / "s4.nii.gz").symlink_to(outside)  # swapped in after the table was judged
    assert list(ds.as_numpy_iterator()) == []
    (violation,) = report.violations
    assert violation.code == "unreadable" and "escapes the dataset root" in violation.message
