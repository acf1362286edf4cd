"""Medical rules: NIfTI headers, image/mask pairs, HDF5 datasets, manifests, schema sections."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from datacheck.errors import SchemaError
from datacheck.readers.hdf5 import H5Info
from datacheck.readers.nifti import NiftiHeader, read_nifti_header
from datacheck.rules.manifest import judge_manifest, label_domain
from datacheck.rules.medical import h5_dataset_violations, nifti_header_violations, pair_violations
from datacheck.scan.volume import mask_label_counts
from datacheck.schema import load_schema
from datacheck.schema.medical import H5DatasetSpec, ManifestSpec, NiftiSpec, PairSpec
from tests.nifti_files import patch_header

NIBABEL_DATA = Path(os.path.dirname(__import__("nibabel").__file__)) / "tests" / "data"


def write(path: Path, data: np.ndarray, affine: np.ndarray | None = None,
          qform: np.ndarray | None = None, codes: tuple[int, int] = (1, 1)) -> Path:
    import nibabel as nib

    affine = np.eye(4) if affine is None else affine
    img = nib.Nifti1Image(data, affine)
    img.set_sform(affine, code=codes[1])
    img.set_qform(affine if qform is None else qform, code=codes[0])
    nib.save(img, path)
    return path


def header_of(tmp_path: Path, name: str = "v.nii.gz", shape: tuple[int, ...] = (4, 5, 6),
              **kwargs: object) -> NiftiHeader:
    return read_nifti_header(write(tmp_path / name, np.zeros(shape, np.float32), **kwargs))


def codes(violations: list) -> list[str]:
    return [v.code for v in violations]


# -- NIfTI headers ---------------------------------------------------------------------------

def test_real_las_file_breaks_ras_and_spacing() -> None:
    header = read_nifti_header(NIBABEL_DATA / "anatomical.nii")
    found = nifti_header_violations(NiftiSpec(orientation="RAS", spacing=[1, 1, 1]), header,
                                    "volume")
    assert codes(found) == ["orientation", "spacing"]
    assert "volume: orientation: axes are LAS" in found[0].message
    assert "as_closest_canonical" in found[0].message
    assert "voxel size (2, 2, 2) mm" in found[1].message and found[1].observed == [2, 2, 2]
    assert nifti_header_violations(NiftiSpec(orientation="LAS", spacing=[2, 2, 2]), header) == []


def test_anisotropic_real_file_and_spacing_tolerance() -> None:
    header = read_nifti_header(NIBABEL_DATA / "standard.nii.gz")  # 1 x 3 x 2 mm, RAS
    # Its xyzt units are not set: the spacing holds as mm, with a units warning (issue 16).
    found = nifti_header_violations(NiftiSpec(orientation="RAS", spacing=[1, 3, 2]), header)
    assert codes(found) == ["units"] and found[0].severity == "warning"
    found = nifti_header_violations(NiftiSpec(spacing=[1, 1, 1], spacing_tolerance=0.5), header)
    assert codes(found) == ["spacing", "units"] and "± 0.5" in found[0].message


def test_4d_real_file_against_3d_and_shape() -> None:
    header = read_nifti_header(NIBABEL_DATA / "example4d.nii.gz")
    found = nifti_header_violations(NiftiSpec(ndim=3), header, "volume")
    assert codes(found) == ["shape"] and "4D volume (128, 96, 24, 2)" in found[0].message
    assert "four_to_three" in found[0].message
    assert nifti_header_violations(NiftiSpec(ndim=4, shape=[128, 96, None, None]), header) == []
    bad = nifti_header_violations(NiftiSpec(shape=[64, 64, None, None]), header)
    assert codes(bad) == ["shape"] and "expected (64, 64, *, *)" in bad[0].message


def test_trailing_singleton_is_3d(tmp_path: Path) -> None:
    header = header_of(tmp_path, shape=(4, 5, 6, 1))
    assert nifti_header_violations(NiftiSpec(ndim=3, shape=[4, 5, 6]), header) == []


def test_on_disk_dtype() -> None:
    header = read_nifti_header(NIBABEL_DATA / "standard.nii.gz")  # uint8
    found = nifti_header_violations(NiftiSpec(dtype=["int16", "floating"]), header)
    assert codes(found) == ["dtype"] and "stored as uint8" in found[0].message
    assert "set_data_dtype('int16')" in found[0].message
    assert nifti_header_violations(NiftiSpec(dtype="unsigned"), header) == []


def test_nan_affine(tmp_path: Path) -> None:
    path = write(tmp_path / "nan.nii.gz", np.ones((3, 3, 3), np.float32))
    patch_header(path, srow_x=[np.nan, 0, 0, 0])
    found = nifti_header_violations(NiftiSpec(orientation="RAS"), read_nifti_header(path))
    assert codes(found) == ["affine"] and "matrix holds NaN/Inf" in found[0].message


def test_singular_affine(tmp_path: Path) -> None:
    path = write(tmp_path / "flat.nii", np.ones((3, 3, 3), np.float32), codes=(0, 1))
    header = read_nifti_header(patch_header(path, srow_z=[0.0, 0.0, 0.0, 0.0]))
    found = nifti_header_violations(NiftiSpec(orientation="RAS"), header)
    assert codes(found) == ["affine"] and "singular" in found[0].message


def test_qform_sform_disagreement(tmp_path: Path) -> None:
    shifted = np.eye(4)
    shifted[0, 3] = 5.0
    header = header_of(tmp_path, qform=shifted)
    found = nifti_header_violations(NiftiSpec(), header, "volume")
    assert codes(found) == ["affine"] and "disagree by up to 5 mm" in found[0].message
    assert nifti_header_violations(NiftiSpec(qform_sform="ignore"), header) == []
    assert nifti_header_violations(NiftiSpec(affine_tolerance=6), header) == []


def test_no_qform_no_sform_is_an_error(tmp_path: Path) -> None:
    # Issue 16: with both codes 0 orientation is undefined (bids-validator, ITK refuse it).
    header = header_of(tmp_path, codes=(0, 0))
    found = nifti_header_violations(NiftiSpec(), header)
    assert codes(found) == ["affine"] and found[0].severity == "error"
    assert "neither qform nor sform is set" in found[0].message


def test_scaling_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "s.nii", np.arange(27, dtype=np.int16).reshape(3, 3, 3))
    patch_header(path, scl_slope=2.0, scl_inter=np.nan)
    found = nifti_header_violations(NiftiSpec(), read_nifti_header(path))
    assert codes(found) == ["nonfinite"] and "scl_inter is nan" in found[0].message
    patch_header(path, scl_slope=np.inf, scl_inter=0.0)
    found = nifti_header_violations(NiftiSpec(), read_nifti_header(path))
    assert codes(found) == ["nonfinite"] and found[0].severity == "warning"


# -- image/mask pairs ------------------------------------------------------------------------

def test_pair_grid_affine_and_labels(tmp_path: Path) -> None:
    image = header_of(tmp_path, "img.nii.gz")
    mask_data = np.zeros((4, 5, 6), np.uint8)
    mask_data[1, 1, 1], mask_data[2, 2, 2] = 1, 7
    same = read_nifti_header(write(tmp_path / "m.nii.gz", mask_data))
    found = pair_violations(PairSpec(labels=[0, 1]), image, same, mask_label_counts(mask_data))
    assert codes(found) == ["label_range"]
    assert "mask values 7 (1 voxels) are outside the declared labels [0, 1]" in found[0].message
    smaller = header_of(tmp_path, "small.nii.gz", shape=(4, 5, 5))
    found = pair_violations(PairSpec(), image, smaller, mask_label_counts(mask_data))
    assert codes(found) == ["mask_mismatch"] and "mask grid (4, 5, 5)" in found[0].message
    flipped = header_of(tmp_path, "flip.nii.gz", affine=np.diag([-1.0, 1, 1, 1]))
    found = pair_violations(PairSpec(), image, flipped, mask_label_counts(mask_data))
    assert codes(found) == ["mask_mismatch"] and "(image RAS, mask LAS)" in found[0].message


def test_interpolated_mask_is_named() -> None:
    image = read_nifti_header(NIBABEL_DATA / "standard.nii.gz")
    values = mask_label_counts(np.array([0.0, 1.0, 0.5, 0.25]))
    found = pair_violations(PairSpec(labels=[0, 1]), image, image, values)
    assert codes(found) == ["label_range"] and "nearest neighbour" in found[0].message


# -- HDF5 datasets ---------------------------------------------------------------------------

def test_h5_dataset_rules() -> None:
    info = H5Info("/x", True, (10, 8, 8), "float64", 8, None, {"spacing": [1.0, 1.0], "k": "a"})
    spec = H5DatasetSpec(path="/x", shape=[None, 8, 8], dtype="float32",
                         attrs={"spacing": [1.0, 2.0], "k": "a", "units": None})
    found = h5_dataset_violations("f.h5", "image", spec, info)
    assert codes(found) == ["dtype", "spacing", "attribute"]
    assert "stored as float64" in found[0].message
    assert "attribute spacing=[1.0, 1.0]" in found[1].message
    assert "has no attribute 'units'" in found[2].message
    missing = h5_dataset_violations("f.h5", "image", spec, None)
    assert codes(missing) == ["missing_feature"] and "/x is missing in f.h5" in missing[0].message
    group = h5_dataset_violations("f.h5", "image", spec, H5Info("/x", False))
    assert "a group, not a dataset" in group[0].message
    shape = h5_dataset_violations("f.h5", "image", H5DatasetSpec(path="/x", shape=[None, 4, 4]),
                                  info)
    assert codes(shape) == ["shape"] and "expected (*, 4, 4)" in shape[0].message


# -- manifests -------------------------------------------------------------------------------

@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    for name in ("a.nii.gz", "b.nii.gz", "c.nii.gz"):
        (root / name).write_bytes(b"x")
    (tmp_path / "secret.nii").write_bytes(b"x")
    return root


def judge(root: Path, text: str, spec: ManifestSpec, schema: object = None):
    import pandas as pd

    path = root / "m.csv"
    path.write_text(text)
    schema = schema or load_schema({"name": "t", "manifest": spec.model_dump()})
    return judge_manifest(spec, schema, pd.read_csv(path), "m.csv", root)  # type: ignore[arg-type]


FULL = ManifestSpec(id_column="id", subject_column="subject", split_column="split",
                    label_column="label", label_values=[0, 1], splits=["train", "val", "test"])


def test_clean_manifest(dataset: Path) -> None:
    verdict = judge(dataset, "id,subject,split,image,label\n1,s1,train,a.nii.gz,0\n"
                    "2,s2,val,b.nii.gz,1\n", FULL)
    assert verdict.violations == [] and [e.image.name for e in verdict.entries] == \
        ["a.nii.gz", "b.nii.gz"]
    assert verdict.entries[1].label == 1 and verdict.entries[1].split == "val"


def test_missing_column_names_the_closest(dataset: Path) -> None:
    verdict = judge(dataset, "id,subj,split,image,label\n1,s1,train,a.nii.gz,0\n", FULL)
    assert codes(verdict.violations) == ["manifest"]
    assert "lacks column 'subject' (did you mean 'subj'?)" in verdict.violations[0].message


def test_duplicates_labels_splits_and_empty_cells(dataset: Path) -> None:
    verdict = judge(dataset, "id,subject,split,image,label\n1,s1,train,a.nii.gz,0\n"
                    "1,s2,train,b.nii.gz,5\n3,s3,tset,c.nii.gz,\n", FULL)
    by_code = {v.code: v for v in verdict.violations}
    assert set(by_code) == {"duplicate", "label_range", "manifest"}
    assert "ids 1 occur more than once" in by_code["duplicate"].message
    assert "(line 2, line 3)" in by_code["duplicate"].message
    assert "labels 5 are outside the label domain [0, 1]" in by_code["label_range"].message
    messages = " ".join(v.message for v in verdict.violations if v.code == "manifest")
    assert "empty cells in column 'label'" in messages and "tset" in messages


def test_subject_leakage(dataset: Path) -> None:
    verdict = judge(dataset, "id,subject,split,image,label\n1,s1,train,a.nii.gz,0\n"
                    "2,s1,test,b.nii.gz,1\n3,s2,val,c.nii.gz,1\n", FULL)
    assert codes(verdict.violations) == ["leakage"]
    assert "1 subjects appear in more than one split" in verdict.violations[0].message
    assert "s1 in test, train" in verdict.violations[0].message


def test_same_file_in_two_splits_is_leakage(dataset: Path) -> None:
    spec = ManifestSpec(split_column="split")
    verdict = judge(dataset, "split,image\ntrain,a.nii.gz\ntest,a.nii.gz\n", spec)
    assert codes(verdict.violations) == ["leakage"] and "1 files appear" in \
        verdict.violations[0].message


def test_paths_missing_and_escaping_the_root(dataset: Path) -> None:
    verdict = judge(dataset, "image\na.nii.gz\n../secret.nii\n/etc/passwd\nnope.nii.gz\n",
                    ManifestSpec())
    assert codes(verdict.violations) == ["manifest", "missing_file"]
    assert "2 paths escape the dataset root" in verdict.violations[0].message
    assert "refused, not opened" in verdict.violations[0].message
    assert "line 5: nope.nii.gz" in verdict.violations[1].message
    assert [e.image.name for e in verdict.entries] == ["a.nii.gz"]
    assert set(verdict.refused.values()) == {"escapes the dataset root", "missing"}


def test_symlink_escaping_the_root_is_refused(dataset: Path) -> None:
    (dataset / "link.nii").symlink_to(dataset.parent / "secret.nii")
    verdict = judge(dataset, "image\nlink.nii\n", ManifestSpec())
    assert codes(verdict.violations) == ["manifest"] and verdict.entries == []


def test_empty_manifest(dataset: Path) -> None:
    verdict = judge(dataset, "image\n", ManifestSpec())
    assert codes(verdict.violations) == ["manifest"] and "has no rows" in \
        verdict.violations[0].message


def test_label_domain_from_schema_label() -> None:
    schema = load_schema("brain_t1_nifti")
    assert schema.manifest is not None
    assert label_domain(schema.manifest, schema) == [0, 1]


# -- schema sections -------------------------------------------------------------------------

def test_schema_sections_validate_and_suggest() -> None:
    schema = load_schema("brain_t1_nifti")
    assert schema.nifti is not None and schema.nifti.orientation == "RAS"
    assert load_schema(schema.to_dict()) == schema
    with pytest.raises(SchemaError, match=r"nifti\.orientaton: unknown key 'orientaton'; did "
                                          r"you mean 'orientation'"):
        load_schema({"nifti": {"orientaton": "RAS"}})
    with pytest.raises(SchemaError, match=r"hdf5\.datasets\.x\.shpe: unknown key 'shpe'; "
                                          r"did you mean 'shape'"):
        load_schema({"features": {"x": {}}, "hdf5": {"datasets": {"x": {"path": "/x",
                                                                         "shpe": [1]}}}})
    with pytest.raises(SchemaError, match="orientation 'RAR' must be 3 axis codes"):
        load_schema({"nifti": {"orientation": "RAR"}})
    with pytest.raises(SchemaError, match=r"nifti\.feature 'img' is not a feature"):
        load_schema({"features": {"volume": {}}, "nifti": {"feature": "img"}})
    with pytest.raises(SchemaError, match="ndim=3 but shape"):
        load_schema({"nifti": {"ndim": 3, "shape": [1, 2, 3, 4]}})
    with pytest.raises(SchemaError, match="labels are per example"):
        load_schema({"labels": {"y": {}}, "hdf5": {"datasets": {"y": {"path": "/y",
                                                                       "batched": False}}}})
    assert load_schema({"manifest": {"split_column": "split"}}).manifest is not None
