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


# -- the training dtype never truncates stored values ------------------------------------------

def _brain_dataset(root: Path, write_nifti, volumes: dict[str, np.ndarray],
                   rows: list[str]) -> Path:
    for name, data in volumes.items():
        write_nifti(name, data)
    (root / "manifest.csv").write_text("id,subject,split,image,mask,label\n" + "\n".join(rows)
                                       + "\n")
    return root / "manifest.csv"


def test_float_volume_keeps_its_values_with_a_kind_dtype_schema(tmp_path: Path,
                                                                write_nifti) -> None:
    # The bundled schema says dtype [integer, floating]; the loader once cast to int32.
    rng = np.random.default_rng(1)
    data = rng.random((6, 7, 8)).astype(np.float32)
    manifest = _brain_dataset(tmp_path, write_nifti, {"a.nii.gz": data},
                              ["1,s1,train,a.nii.gz,,0"])
    ds = manifest_dataset(manifest, "brain_t1_nifti", split="train")
    assert ds.element_spec[0].dtype == tf.float32
    (volume, label), = list(ds.batch(1).map(lambda x, y: (x * 1.0, y)).as_numpy_iterator())
    np.testing.assert_array_equal(volume[0, ..., 0], data)
    assert 0.0 < float(volume.mean()) < 1.0 and label[0] == 0


def test_real_int16_file_reaches_the_model_unchanged(tmp_path: Path, nibabel_data: Path) -> None:
    import shutil

    import nibabel as nib

    shutil.copy(nibabel_data / "anatomical.nii", tmp_path / "anat.nii")
    (tmp_path / "m.csv").write_text("image\nanat.nii\n")
    schema = {"name": "anat", "features": {"volume": {"layout": "DHWC",
                                                      "dtype": ["integer", "floating"]}}}
    ds = manifest_dataset(tmp_path / "m.csv", schema, dtype="float32")
    volume, = list(ds.as_numpy_iterator())
    expected = nib.load(nibabel_data / "anatomical.nii").get_fdata(dtype=np.float32)
    np.testing.assert_array_equal(volume[..., 0], expected)
    int16 = next(manifest_dataset(tmp_path / "m.csv", schema, dtype="int16").as_numpy_iterator())
    assert int16.dtype == np.int16 and np.array_equal(int16[..., 0], expected)


def test_a_lossy_training_dtype_is_a_dtype_violation(tmp_path: Path, write_nifti) -> None:
    data = np.random.default_rng(3).random((6, 7, 8)).astype(np.float32) + 0.25
    manifest = _brain_dataset(tmp_path, write_nifti, {"a.nii.gz": data},
                              ["1,s1,train,a.nii.gz,,0"])
    ds = manifest_dataset(manifest, "brain_t1_nifti", dtype="int16")
    with pytest.raises(tf.errors.OpError, match=r"volume: dtype: casting float32 voxels of "
                       r".*a\.nii\.gz to int16 would change 336 of them"):
        list(ds.as_numpy_iterator())
    with pytest.raises(DatacheckError, match="not a numeric training dtype"):
        manifest_dataset(manifest, "brain_t1_nifti", dtype="str")


# -- drop, raise and warn with table errors and misfit elements ---------------------------------

def _table_faults(tmp_path: Path, write_nifti) -> Path:
    rng = np.random.default_rng(2)
    volumes = {f"v{i}.nii.gz": rng.random((6, 7, 8)).astype(np.float32) for i in range(7)}
    rows = ["1,s1,train,v0.nii.gz,,0",
            "2,s2,train,v1.nii.gz,,5",      # label outside the domain
            "3,s3,train,v2.nii.gz,,1",
            "3,s4,train,v3.nii.gz,,0",      # duplicate id (both rows are suspect)
            "5,s5,train,v4.nii.gz,,1",      # subject s5 leaks into val
            "6,s5,val,v5.nii.gz,,1",
            "7,s7,val,v6.nii.gz,,0"]
    return _brain_dataset(tmp_path, write_nifti, volumes, rows)


def test_drop_really_drops_table_errors(tmp_path: Path, write_nifti) -> None:
    manifest = _table_faults(tmp_path, write_nifti)
    report = Report(schema="brain_t1_nifti")
    ds = manifest_dataset(manifest, "brain_t1_nifti", on_error="drop", report=report,
                          deterministic=True)
    means = [float(x.mean()) for x, _ in ds.as_numpy_iterator()]
    rng = np.random.default_rng(2)
    kept = [float(v.mean()) for i, v in enumerate(rng.random((7, 6, 7, 8)).astype(np.float32))
            if i in (0, 6)]
    np.testing.assert_allclose(means, kept, rtol=1e-6)
    assert sorted(set(report.codes())) == ["duplicate", "label_range", "leakage"]
    train = manifest_dataset(manifest, "brain_t1_nifti", split="train", on_error="drop")
    assert len(list(train.as_numpy_iterator())) == 1


def test_raise_in_one_split_is_not_blocked_by_another_splits_error(tmp_path: Path,
                                                                  write_nifti) -> None:
    manifest = _table_faults(tmp_path, write_nifti)
    text = manifest.read_text().replace("6,s5,val", "6,s6,val")  # no leak any more
    manifest.write_text(text)
    (volume, label), = list(manifest_dataset(manifest, "brain_t1_nifti", split="val")
                            .take(1).as_numpy_iterator())
    assert volume.shape == (6, 7, 8, 1) and label == 1
    with pytest.raises(ValidationError, match=r"label_range|duplicate"):
        manifest_dataset(manifest, "brain_t1_nifti", split="train")


def test_whole_table_errors_cannot_be_dropped(tmp_path: Path, write_nifti) -> None:
    write_nifti("a.nii.gz", np.ones((6, 7, 8), np.float32))
    (tmp_path / "m.csv").write_text("id,split,image,mask,label\n1,train,a.nii.gz,,0\n")
    with pytest.raises(ValidationError, match="lacks column 'subject'"):
        manifest_dataset(tmp_path / "m.csv", "brain_t1_nifti", on_error="drop")


def test_warn_mode_ends_with_a_datacheck_error_for_a_misfit_grid(dataset: Path,
                                                                  write_nifti) -> None:
    write_nifti("s1.nii.gz", np.zeros((5, 7, 8), np.float32))
    ds = manifest_dataset(dataset, SCHEMA, split="train", on_error="warn")
    with pytest.raises(tf.errors.OpError, match=r"volume: shape: element \(5, 7, 8, 1\) from "
                       r".*s1\.nii\.gz \(.*line 3\) cannot take the pipeline's shape "
                       r"\(6, 7, 8, 1\)") as caught:
        list(ds.as_numpy_iterator())
    assert "ensure_shape" not in str(caught.value).split("\n")[0]


def test_drop_mode_leaves_out_rows_with_missing_or_escaping_files(dataset: Path) -> None:
    text = dataset.read_text().replace("s1.nii.gz,s1_mask", "gone.nii.gz,s1_mask")
    dataset.write_text(text.replace("s2.nii.gz,s2_mask", "../s2.nii.gz,s2_mask"))
    report = Report(schema="loader")
    ds = manifest_dataset(dataset, SCHEMA, split="train", on_error="drop", report=report)
    labels = [int(y) for _, y in ds.as_numpy_iterator()]
    assert labels == [0]  # s0 only: s1 missing, s2 escapes the root, s3 has a NaN
    assert {"missing_file", "manifest", "nonfinite"} <= set(report.codes())


def test_other_image_columns_become_channels_on_one_grid(tmp_path: Path, write_nifti) -> None:
    rng = np.random.default_rng(4)
    t1 = [rng.random((6, 7, 8)).astype(np.float32) for _ in range(2)]
    t2 = [rng.random((6, 7, 8)).astype(np.float32) for _ in range(2)]
    for i in range(2):
        write_nifti(f"t1_{i}.nii.gz", t1[i])
        write_nifti(f"t2_{i}.nii.gz", t2[i])
    moved = np.eye(4)
    moved[0, 3] = 4.0
    write_nifti("t2_moved.nii.gz", t2[1], affine=moved)
    write_nifti("t2_small.nii.gz", t2[1][:5])
    schema = {"name": "mm", "features": {"volume": {"layout": "DHWC", "shape": [6, 7, 8, 2]}},
              "manifest": {"other_image_columns": ["t2"]}}
    (tmp_path / "m.csv").write_text("image,t2\nt1_0.nii.gz,t2_0.nii.gz\nt1_1.nii.gz,t2_1.nii.gz\n")
    volumes = list(manifest_dataset(tmp_path / "m.csv", schema).as_numpy_iterator())
    for i, volume in enumerate(volumes):
        np.testing.assert_array_equal(volume[..., 0], t1[i])
        np.testing.assert_array_equal(volume[..., 1], t2[i])
    for bad, code in (("t2_moved.nii.gz", "affine"), ("t2_small.nii.gz", "shape")):
        (tmp_path / "m.csv").write_text(f"image,t2\nt1_0.nii.gz,t2_0.nii.gz\nt1_1.nii.gz,{bad}\n")
        report = Report(schema="mm")
        kept = list(manifest_dataset(tmp_path / "m.csv", schema, on_error="drop",
                                     report=report).as_numpy_iterator())
        assert len(kept) == 1 and report.codes() == [code]
        assert bad in report.violations[0].message


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


def test_an_other_image_swapped_for_a_link_outside_is_not_read(tmp_path: Path, write_nifti,
                                                              tmp_path_factory) -> None:
    # other_image_columns (issue 16) are read through the gate like the row's image (issue 14).
    rng = np.random.default_rng(5)
    for name in ("t1_0", "t2_0", "t1_1", "t2_1"):
        write_nifti(f"{name}.nii.gz", rng.random((6, 7, 8)).astype(np.float32))
    schema = {"name": "mm", "features": {"volume": {"layout": "DHWC", "shape": [6, 7, 8, 2]}},
              "manifest": {"other_image_columns": ["t2"]}}
    (tmp_path / "m.csv").write_text("image,t2\nt1_0.nii.gz,t2_0.nii.gz\nt1_1.nii.gz,t2_1.nii.gz\n")
    outside = tmp_path_factory.mktemp("outside") / "secret.nii.gz"
    outside.write_bytes((tmp_path / "t2_1.nii.gz").read_bytes())
    report = Report(schema="mm")
    ds = manifest_dataset(tmp_path / "m.csv", schema, on_error="drop", report=report,
                          deterministic=True)
    (tmp_path / "t2_1.nii.gz").unlink()
    (tmp_path / "t2_1.nii.gz").symlink_to(outside)  # swapped in after the table was judged
    kept = list(ds.as_numpy_iterator())
    assert len(kept) == 1 and kept[0].shape == (6, 7, 8, 2)
    (violation,) = report.violations
    assert violation.code == "unreadable" and "escapes the dataset root" in violation.message
    assert "t2_1.nii.gz" in violation.message
