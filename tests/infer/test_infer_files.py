"""Inference from NIfTI folders (nibabel's real test files), image/mask pairs, HDF5, manifests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.infer import infer

nib = pytest.importorskip("nibabel")
NIB_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"


def _copy(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(NIB_DATA / name, folder / name)
    return folder


def test_single_volume_header_facts(tmp_path):
    folder = _copy(tmp_path / "anat", "anatomical.nii")
    inference = infer(folder)
    schema = inference.schema
    volume = schema.features["volume"]
    assert (volume.layout, volume.shape, volume.dtype) == ("DHWC", [33, 41, 25, 1], "int16")
    assert volume.range == [-610.0, 30393.0]
    assert schema.nifti is not None
    assert (schema.nifti.orientation, schema.nifti.spacing, schema.nifti.ndim) == (
        "LAS", [2.0, 2.0, 2.0], 3)
    report = dc.check(folder, schema)
    assert report.ok, report.to_text()


def test_mixed_volumes_leave_sizes_and_orientation_open(tmp_path):
    folder = _copy(tmp_path / "mixed", "anatomical.nii", "standard.nii.gz")
    inference = infer(folder)
    volume = inference.schema.features["volume"]
    assert volume.shape == [None, None, None, 1]
    assert inference.schema.nifti.orientation is None
    assert inference.schema.nifti.spacing is None
    notes = " ".join(inference.notes["volume"])
    assert "orientations differ" in notes and "LAS: 1" in notes and "RAS: 1" in notes
    assert "spacings differ" in notes and "1x3x2 mm" in notes
    assert dc.check(folder, inference.schema).ok


def test_4d_volume_and_nan_volume(tmp_path):
    folder = _copy(tmp_path / "func", "example4d.nii.gz")
    schema = dc.infer_schema(folder)
    assert schema.features["volume"].shape == [128, 96, 24, 2]
    assert schema.nifti.ndim == 4
    assert dc.check(folder, schema).ok
    nan_folder = _copy(tmp_path / "nan", "resampled_anat_moved.nii")
    inference = infer(nan_folder)
    assert inference.schema.features["volume"].finite is False
    assert any("NaN/Inf" in n for n in inference.notes["volume"])


def test_image_mask_pairs(tmp_path):
    img = nib.load(NIB_DATA / "anatomical.nii")
    data = np.asarray(img.dataobj).astype(np.float32)
    for k in range(3):
        nib.save(nib.Nifti1Image(data + k, img.affine), tmp_path / f"sub{k}.nii.gz")
        mask = (data > 8000).astype(np.uint8) * (1 + k % 2)
        nib.save(nib.Nifti1Image(mask, img.affine), tmp_path / f"sub{k}_mask.nii.gz")
    schema = dc.infer_schema(tmp_path)
    assert set(schema.features) == {"volume", "mask"}
    assert schema.pairs is not None and schema.pairs.labels == [0, 1, 2]
    assert schema.pairs.feature == "mask"
    report = dc.check(tmp_path, schema)
    assert report.ok and report.counts()["total"] == 6, report.to_text()


def test_hdf5_group_datasets(tmp_path, digits):
    h5py = pytest.importorskip("h5py")
    x, y = digits
    path = tmp_path / "digits.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("train/images", data=(x * 255).astype(np.uint8), chunks=(64, 8, 8, 1))
        f.create_dataset("train/labels", data=y)
        f.create_dataset("notes", data=np.arange(3))
    schema = dc.infer_schema(path)
    assert schema.features["images"].normalization == "raw_uint8"
    assert schema.labels["labels"].num_classes == 10
    assert schema.hdf5.datasets["images"].path == "/train/images"
    assert "notes" not in schema.names()
    assert dc.check(path, schema).ok


def _anatomical_manifest(tmp_path: Path, suffix: str, masks: bool) -> Path:
    """Four scaled copies of anatomical.nii (3 train, 1 val), with masks if asked, listed in a
    manifest with id, subject, split, image[, mask] and diagnosis columns."""
    img = nib.load(NIB_DATA / "anatomical.nii")
    data = np.asarray(img.dataobj).astype(np.float32)
    rows = ["id,subject,split,image" + (",mask" if masks else "") + ",diagnosis"]
    (tmp_path / "data").mkdir()
    for k in range(4):
        image = f"data/s{k}{suffix}"
        nib.save(nib.Nifti1Image(data * (1 + k / 10), img.affine), tmp_path / image)
        cells = [f"e{k}", f"sub{k}", "train" if k < 3 else "val", image]
        if masks:
            mask = f"data/s{k}_mask{suffix}"
            nib.save(nib.Nifti1Image((data > 8000).astype(np.uint8), img.affine), tmp_path / mask)
            cells.append(mask)
        rows.append(",".join([*cells, str(k % 2)]))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def test_manifest_columns_and_files(tmp_path):
    manifest = _anatomical_manifest(tmp_path, ".nii.gz", masks=True)
    schema = dc.infer_schema(manifest)
    spec = schema.manifest
    assert (spec.image_column, spec.mask_column, spec.label_column) == ("image", "mask",
                                                                        "diagnosis")
    assert (spec.subject_column, spec.split_column, spec.id_column) == ("subject", "split", "id")
    assert spec.splits == ["train", "val"]
    assert schema.labels["diagnosis"].num_classes == 2
    report = dc.check(manifest, schema)
    assert report.ok, report.to_text()
    (tmp_path / "data/s2.nii.gz").unlink()
    # The missing file is named (line and path) and left out; the other rows still count.
    with pytest.warns(UserWarning, match=r"line 4: data/s2.nii.gz does not exist"):
        partial = dc.infer_schema(manifest)
    assert partial.manifest == spec


def test_infer_with_a_profile_writes_the_same_schema(tmp_path):
    """``infer --profile`` reads once for both outputs; the schema must not lose sections
    (``manifest:``) or ``optional`` flags that plain ``infer`` writes."""
    import subprocess
    import sys

    manifest = _anatomical_manifest(tmp_path, ".nii", masks=False)

    def infer(*extra: str) -> str:
        done = subprocess.run([sys.executable, "-m", "datacheck", "infer", *extra, str(manifest)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    plain = infer()
    profiled = infer("--profile", str(tmp_path / "profile.json"))
    assert "manifest:" in plain and plain == profiled
