"""Pairing images and masks by BIDS-derivative name templates (issue 16)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.errors import SchemaError
from datacheck.scan.bids import pattern_regex

nib = pytest.importorskip("nibabel")
NIBABEL_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"
PAIRS = {"image_pattern": "sub-{subject}[_ses-{session}]_desc-preproc_T1w",
         "mask_pattern": "sub-{subject}[_ses-{session}]_desc-brain_mask", "labels": [0, 1]}
SCHEMA = {"name": "bids", "features": {"volume": {"layout": "DHWC"}}, "pairs": PAIRS}


def save(path: Path, data: np.ndarray, affine: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, path)


def test_derivatives_pair_by_entities(tmp_path: Path) -> None:
    real = nib.load(NIBABEL_DATA / "anatomical.nii")
    data = np.asarray(real.dataobj, dtype=np.int16)
    brain = (data > np.percentile(data, 40)).astype(np.uint8)
    anat = tmp_path / "derivatives" / "sub-01" / "anat"
    save(anat / "sub-01_desc-preproc_T1w.nii.gz", data, real.affine)
    save(anat / "sub-01_desc-brain_mask.nii.gz", brain, real.affine)
    save(anat / "sub-01_desc-preproc_T2w.nii.gz", data, real.affine)  # another derivative
    ses = tmp_path / "derivatives" / "sub-02" / "ses-1" / "anat"
    save(ses / "sub-02_ses-1_desc-preproc_T1w.nii.gz", data, real.affine)
    save(ses / "sub-02_ses-1_desc-brain_mask.nii.gz", np.zeros_like(brain), real.affine)
    save(ses / "sub-03_ses-1_desc-brain_mask.nii.gz", brain, real.affine)  # no image
    report = dc.check(str(tmp_path), SCHEMA)
    counts = report.counts()
    assert counts["total"] == 5 == counts["ok"] + counts["violating"] + counts["unreadable"]
    status = {Path(k).name: v for k, v in report.inputs.items()}
    assert status == {"sub-01_desc-preproc_T1w.nii.gz": "ok", "sub-01_desc-brain_mask.nii.gz": "ok",
                      "sub-02_ses-1_desc-preproc_T1w.nii.gz": "ok",
                      "sub-02_ses-1_desc-brain_mask.nii.gz": "violating",
                      "sub-03_ses-1_desc-brain_mask.nii.gz": "violating"}
    by_file = {Path(v.where).name: v.code for v in report.violations}
    assert by_file == {"sub-02_ses-1_desc-brain_mask.nii.gz": "empty_mask",
                       "sub-03_ses-1_desc-brain_mask.nii.gz": "missing_file"}
    assert report.stats["skipped_files"] == 1  # the T2w matches neither template


def test_templates_are_validated() -> None:
    assert pattern_regex("sub-{subject}_T1w").fullmatch("sub-0a_T1w") is not None
    assert pattern_regex("sub-{subject}_T1w").fullmatch("sub-01_ses-1_T1w") is None
    with pytest.raises(SchemaError, match="entities"):
        dc.load_schema({"pairs": {"image_pattern": "sub-{subject}_T1w",
                                  "mask_pattern": "sub-{sub}_mask"}})
    with pytest.raises(SchemaError, match="go together"):
        dc.load_schema({"pairs": {"image_pattern": "sub-{subject}_T1w"}})
    with pytest.raises(SchemaError, match="unbalanced"):
        dc.load_schema({"pairs": {"image_pattern": "sub-{subject}[_T1w",
                                  "mask_pattern": "sub-{subject}_mask"}})
