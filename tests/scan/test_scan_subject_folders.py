"""Subjects with several images found by a folder pattern (issue 16): T1w, T2w, FLAIR and
sessions of one subject on one grid and orientation (TorchIO's subject consistency checks).

The BIDS-like tree is built in tmp_path from nilearn's MNI152 template (2 mm): T2w and
FLAIR are contrasts of it on the same grid, and faults are planted by resampling one image
to 3 mm, storing one LAS, or moving one session's affine by 5 mm.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.errors import SchemaError
from tests.nifti_files import save_nifti

nib = pytest.importorskip("nibabel")

PATTERN = "sub-{subject}/[ses-{session}/]anat/sub-{subject}[_ses-{session}]_{suffix}"


def schema(**nifti: object) -> dict:
    return {"name": "bids", "features": {"volume": {"layout": "DHWC"}},
            "nifti": {"orientation": "RAS", "subject_pattern": PATTERN, **nifti}}


@pytest.fixture(scope="module")
def template() -> tuple[np.ndarray, np.ndarray, nib.Nifti1Image]:
    datasets = pytest.importorskip("nilearn.datasets")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = datasets.load_mni152_template()
    two = full.slicer[::2, ::2, ::2]
    return np.asarray(two.dataobj, np.float32), two.affine, full


def contrasts(t1: np.ndarray) -> dict[str, np.ndarray]:
    brain = t1 > 0.1
    t2 = np.where(brain, 1.0 - t1, 0).astype(np.float32)  # inverted contrast, same grid
    return {"T1w": t1, "T2w": t2, "FLAIR": np.sqrt(t1).astype(np.float32)}


def clean_subject(root: Path, subject: str, t1: np.ndarray, affine: np.ndarray,
                  sessions: tuple[str, ...] = ("1", "2")) -> None:
    for session in sessions:
        folder = root / f"sub-{subject}" / (f"ses-{session}" if session else "") / "anat"
        stem = f"sub-{subject}" + (f"_ses-{session}" if session else "")
        for suffix, data in contrasts(t1).items():
            save_nifti(folder / f"{stem}_{suffix}.nii.gz", data, affine)


def test_clean_tree_has_no_finding(tmp_path: Path, template) -> None:
    t1, affine, _ = template
    clean_subject(tmp_path, "01", t1, affine)
    clean_subject(tmp_path, "02", t1, affine, sessions=("",))  # no session folders
    report = dc.check(str(tmp_path), schema())
    assert report.ok and not report.violations, report.to_text()
    counts = report.counts()
    assert counts["total"] == 9 == counts["ok"]


def test_mismatched_grid_orientation_and_affine_are_named(tmp_path: Path, template) -> None:
    t1, affine, full = template
    clean_subject(tmp_path, "01", t1, affine)
    clean_subject(tmp_path, "02", t1, affine, sessions=("",))
    clean_subject(tmp_path, "03", t1, affine)
    # sub-02: FLAIR resampled to 3 mm (another grid).
    three = full.slicer[::3, ::3, ::3]
    flair = save_nifti(tmp_path / "sub-02/anat/sub-02_FLAIR.nii.gz",
                 np.sqrt(np.asarray(three.dataobj, np.float32)), three.affine)
    # sub-03: T2w of session 1 stored LAS (same anatomy, other voxel order).
    flip = np.array([[-1.0, 0, 0, t1.shape[0] - 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    las = save_nifti(tmp_path / "sub-03/ses-1/anat/sub-03_ses-1_T2w.nii.gz",
               np.ascontiguousarray(contrasts(t1)["T2w"][::-1]), affine @ flip)
    # sub-03: session 2's T1w moved 5 mm along z.
    moved = affine.copy()
    moved[2, 3] += 5.0
    shifted = save_nifti(tmp_path / "sub-03/ses-2/anat/sub-03_ses-2_T1w.nii.gz", t1, moved)
    report = dc.check(str(tmp_path), schema())
    found = {(Path(v.where).name, v.code): v for v in report.violations}
    assert set(found) == {("sub-02_FLAIR.nii.gz", "shape"), ("sub-03_ses-1_T2w.nii.gz", "affine"),
                          ("sub-03_ses-2_T1w.nii.gz", "affine"),
                          ("sub-03_ses-1_T2w.nii.gz", "orientation")}, report.to_text()
    grid = found[("sub-02_FLAIR.nii.gz", "shape")].message
    assert str(flair) in grid and "sub-02_T1w.nii.gz" in grid and "subject 02" in grid
    assert "(66, 78, 63)" in grid and "(99, 117, 95)" in grid
    turned = found[("sub-03_ses-1_T2w.nii.gz", "affine")].message
    assert str(las) in turned and "sub-03_ses-1_FLAIR.nii.gz" in turned
    assert "subject 03" in turned and "LAS vs RAS" in turned
    moved_msg = found[("sub-03_ses-2_T1w.nii.gz", "affine")].message
    assert str(shifted) in moved_msg and "5" in moved_msg and "subject 03" in moved_msg
    assert report.inputs[str(flair)] == "violating" and report.inputs[str(shifted)] == "violating"
    counts = report.counts()
    assert counts["total"] == 15 == counts["ok"] + counts["violating"]
    assert counts["violating"] == 3


def test_sessions_apart_when_asked(tmp_path: Path, template) -> None:
    t1, affine, full = template
    clean_subject(tmp_path, "05", t1, affine, sessions=("1",))
    three = full.slicer[::3, ::3, ::3]
    t1_3mm = np.asarray(three.dataobj, np.float32)
    for suffix, data in contrasts(t1_3mm).items():  # session 2 on its own (3 mm) grid
        save_nifti(tmp_path / f"sub-05/ses-2/anat/sub-05_ses-2_{suffix}.nii.gz", data, three.affine)
    together = dc.check(str(tmp_path), schema())
    assert {v.code for v in together.violations} == {"shape"}
    assert len(together.violations) == 3 and all("subject 05" in v.message
                                                  for v in together.violations)
    apart = dc.check(str(tmp_path), schema(same_grid_within=["subject", "session"]))
    assert apart.ok and not apart.violations


def test_pattern_errors_are_schema_errors() -> None:
    with pytest.raises(SchemaError, match="same_grid_within names \\['site'\\]"):
        dc.load_schema(schema(same_grid_within=["site"]))
    with pytest.raises(SchemaError, match="unbalanced"):
        dc.load_schema(schema(subject_pattern="sub-{subject}[/anat"))
