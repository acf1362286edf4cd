"""Subjects with several images: T1w/T2w of a manifest row on one grid (issue 16)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc

nib = pytest.importorskip("nibabel")
NIBABEL_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"


def copy_with_affine(src: Path, dst: Path, shift_mm: float = 0.0) -> None:
    img = nib.load(src)
    affine = img.affine.copy()
    affine[0, 3] += shift_mm
    out = nib.Nifti1Image(np.asarray(img.dataobj), affine, img.header)
    out.set_sform(affine, code=2)
    out.set_qform(affine, code=2)
    nib.save(out, dst)


def test_row_images_share_the_grid_and_affine(tmp_path: Path) -> None:
    anat = NIBABEL_DATA / "anatomical.nii"
    for name in ("a_t1.nii", "a_t2.nii", "b_t1.nii", "c_t1.nii"):
        shutil.copy(anat, tmp_path / name)
    shutil.copy(NIBABEL_DATA / "reoriented_anat_moved.nii", tmp_path / "b_t2.nii")  # other grid
    copy_with_affine(anat, tmp_path / "c_t2.nii", shift_mm=5.0)  # same grid, moved 5 mm
    (tmp_path / "m.csv").write_text("subject,image,t2\ns1,a_t1.nii,a_t2.nii\n"
                                    "s2,b_t1.nii,b_t2.nii\ns3,c_t1.nii,c_t2.nii\n")
    schema = {"name": "multi", "features": {"volume": {"layout": "DHWC"}},
              "manifest": {"subject_column": "subject", "other_image_columns": ["t2"]}}
    report = dc.check(str(tmp_path / "m.csv"), schema)
    counts = report.counts()
    assert counts["total"] == 7 == counts["ok"] + counts["violating"] + counts["unreadable"]
    found = {Path(v.where).name: v for v in report.violations}
    assert set(found) == {"b_t2.nii", "c_t2.nii"}
    assert found["b_t2.nii"].code == "shape" and "(21, 26, 22)" in found["b_t2.nii"].message
    assert "must share a grid" in found["b_t2.nii"].message
    assert found["c_t2.nii"].code == "affine" and found["c_t2.nii"].observed["mm"] == \
        pytest.approx(5.0)
    assert report.inputs[str(tmp_path / "a_t2.nii")] == "ok"
    assert report.inputs[str(tmp_path / "b_t2.nii")] == "violating"


def test_sessions_of_a_subject_when_coregistered(tmp_path: Path) -> None:
    anat = NIBABEL_DATA / "anatomical.nii"
    shutil.copy(anat, tmp_path / "s1_ses1.nii")
    copy_with_affine(anat, tmp_path / "s1_ses2.nii", shift_mm=3.0)
    (tmp_path / "m.csv").write_text("subject,image\ns1,s1_ses1.nii\ns1,s1_ses2.nii\n")
    schema = {"name": "ses", "features": {"volume": {"layout": "DHWC"}},
              "manifest": {"subject_column": "subject"}}
    assert "affine" not in dc.check(str(tmp_path / "m.csv"), schema).codes()
    schema["manifest"]["same_grid_per_subject"] = True
    report = dc.check(str(tmp_path / "m.csv"), schema)
    [v] = [v for v in report.violations if v.code == "affine"]
    assert Path(v.where).name == "s1_ses2.nii" and "of the same subject s1" in v.message
