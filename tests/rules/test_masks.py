"""Mask rules on real scans: empty masks and masks off the image foreground (issue 16).

Clean pairs are a real template with a brain mask made from its own tissue maps (nilearn's MNI152
2009a files), and nibabel's anatomical.nii padded into background; faults are planted by
emptying or shifting the mask.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.readers.nifti import read_nifti
from datacheck.rules.medical import pair_violations
from datacheck.scan.volume import foreground, mask_coverage, mask_label_counts
from datacheck.schema.medical import PairSpec
from tests.nifti_files import save_nifti

nib = pytest.importorskip("nibabel")
NIBABEL_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"


def codes(violations: list) -> list[str]:
    return [v.code for v in violations]


def judge(spec: PairSpec, image_path: Path, mask_path: Path) -> list:
    image, mask = read_nifti(image_path), read_nifti(mask_path)
    return pair_violations(spec, image.header, mask.header, mask_label_counts(mask.data),
                           "mask", mask_coverage(foreground(image.data), mask.data))


@pytest.fixture(scope="module")
def mni(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """The MNI152 T1 template, and a binary brain mask from its GM + WM maps."""
    nilearn = pytest.importorskip("nilearn")
    data = Path(os.path.dirname(nilearn.__file__)) / "datasets" / "data"
    t1 = data / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    tissue = sum(np.asarray(nib.load(data / f"mni_icbm152_{k}_tal_nlin_sym_09a_converted.nii.gz")
                            .dataobj, dtype=np.float32) for k in ("gm", "wm"))
    affine = nib.load(t1).affine
    return t1, (tissue > 127).astype(np.uint8), affine


def test_real_brain_mask_on_the_mni_template_is_clean(mni, tmp_path: Path) -> None:
    t1, brain, affine = mni
    mask = save_nifti(tmp_path / "brain_mask.nii.gz", brain, affine)
    assert judge(PairSpec(labels=[0, 1]), t1, mask) == []


def test_shifted_mask_does_not_cover_the_foreground(mni, tmp_path: Path) -> None:
    t1, brain, affine = mni
    shifted = save_nifti(tmp_path / "shifted_mask.nii.gz", np.roll(brain, 98, axis=0), affine)
    found = judge(PairSpec(labels=[0, 1]), t1, shifted)
    assert codes(found) == ["mask_mismatch"]
    assert found[0].observed < 0.5 and found[0].extra["mask_voxels"] == int(brain.sum())
    assert f"mask voxels of {shifted} lie on the foreground of {t1}" in found[0].message
    assert judge(PairSpec(labels=[0, 1], min_mask_coverage=0), t1, shifted) == []


def test_empty_mask_is_named(mni, tmp_path: Path) -> None:
    t1, brain, affine = mni
    empty = save_nifti(tmp_path / "empty_mask.nii.gz", np.zeros_like(brain), affine)
    found = judge(PairSpec(), t1, empty)
    assert codes(found) == ["empty_mask"] and "every voxel of" in found[0].message
    assert "pairs.allow_empty: true" in found[0].message
    assert judge(PairSpec(allow_empty=True), t1, empty) == []


def test_padded_real_scan_without_nilearn(tmp_path: Path) -> None:
    anat = np.asarray(nib.load(NIBABEL_DATA / "anatomical.nii").dataobj, dtype=np.int16)
    padded = np.zeros((80, 41, 25), np.int16)
    padded[:33] = anat  # the real scan in the first 33 columns, background beyond
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    image = save_nifti(tmp_path / "anat.nii.gz", padded, affine)
    inside = np.zeros(padded.shape, np.uint8)
    inside[2:31, 2:39, 2:23] = 1
    assert judge(PairSpec(labels=[0, 1]), image, save_nifti(tmp_path / "in_mask.nii.gz", inside,
                                                        affine)) == []
    outside = save_nifti(tmp_path / "out_mask.nii.gz", np.roll(inside, 45, axis=0), affine)
    assert codes(judge(PairSpec(labels=[0, 1]), image, outside)) == ["mask_mismatch"]


def test_scan_reports_empty_and_misplaced_masks_each_with_its_reason(tmp_path: Path) -> None:
    anat = np.asarray(nib.load(NIBABEL_DATA / "anatomical.nii").dataobj, dtype=np.int16)
    padded = np.zeros((80, 41, 25), np.int16)
    padded[:33] = anat
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    inside = np.zeros(padded.shape, np.uint8)
    inside[2:31, 2:39, 2:23] = 1
    for name, mask in (("good", inside), ("empty", np.zeros_like(inside)),
                       ("moved", np.roll(inside, 45, axis=0))):
        save_nifti(tmp_path / f"{name}.nii.gz", padded, affine)
        save_nifti(tmp_path / f"{name}_mask.nii.gz", mask, affine)
    schema = {"name": "t", "features": {"volume": {"layout": "DHWC"}},
              "nifti": {"orientation": "RAS"}, "pairs": {"labels": [0, 1]}}
    report = dc.check(str(tmp_path), schema)
    counts = report.counts()
    assert counts["total"] == 6 == counts["ok"] + counts["violating"] + counts["unreadable"]
    assert counts["violating"] == 2
    by_input = {Path(v.where).name: v.code for v in report.violations}
    assert by_input == {"empty_mask.nii.gz": "empty_mask", "moved_mask.nii.gz": "mask_mismatch"}
    assert report.inputs[str(tmp_path / "good_mask.nii.gz")] == "ok"


NEW_CODES = {"oblique", "units", "intent", "empty_mask", "outlier", "mask_mismatch", "affine",
             "spacing"}


def test_new_rules_are_quiet_on_clean_real_scans(mni, tmp_path: Path) -> None:
    import shutil

    t1, brain, affine = mni
    shutil.copy(t1, tmp_path / "mni.nii.gz")
    save_nifti(tmp_path / "mni_mask.nii.gz", brain, affine)
    schema = {"name": "mni", "features": {"volume": {"layout": "DHWC"}},
              "nifti": {"orientation": "RAS", "spacing": [1, 1, 1], "ndim": 3},
              "pairs": {"labels": [0, 1]}}
    report = dc.check(str(tmp_path), schema)
    # The template's xyzt units are not set: the declared 1 mm spacing was judged assuming mm.
    assert report.ok and {(Path(v.where).name, v.code, v.severity) for v in report.violations} \
        == {("mni.nii.gz", "units", "warning")}
    real = [str(NIBABEL_DATA / n) for n in ("anatomical.nii", "functional.nii",
                                            "example4d.nii.gz", "standard.nii.gz",
                                            "reoriented_anat_moved.nii", "example_nifti2.nii.gz")]
    report = dc.check(real, {"name": "real", "features": {"volume": {}}})
    assert not NEW_CODES & set(report.codes()), report.to_text()


@pytest.fixture(scope="module")
def mni_brain_mask(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """nilearn's MNI152 template and its own brain mask (both ship inside the package)."""
    import warnings

    datasets = pytest.importorskip("nilearn.datasets")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nilearn's FutureWarnings about default resolutions
        template, mask = datasets.load_mni152_template(), datasets.load_mni152_brain_mask()
    folder = tmp_path_factory.mktemp("mni")
    t1 = save_nifti(folder / "mni_T1w.nii.gz", np.asarray(template.dataobj, np.float32),
              template.affine)
    return t1, (np.asarray(mask.dataobj) != 0).astype(np.uint8), mask.affine


def test_both_directions_clean_on_the_template_with_its_own_mask(mni_brain_mask,
                                                                 tmp_path: Path) -> None:
    t1, brain, affine = mni_brain_mask
    mask = save_nifti(tmp_path / "brain_mask.nii.gz", brain, affine)
    assert judge(PairSpec(labels=[0, 1]), t1, mask) == []
    assert judge(PairSpec(labels=[0, 1], min_foreground_coverage=0.95), t1, mask) == []
    image, m = read_nifti(t1), read_nifti(mask)
    coverage = mask_coverage(foreground(image.data), m.data)
    assert coverage.fraction > 0.99 and coverage.foreground_fraction > 0.99
    assert coverage.dice > 0.99


@pytest.mark.parametrize("fault, change", [
    ("flipped top to bottom", lambda b: b[:, :, ::-1]),
    ("shifted 10 mm up", lambda b: np.roll(b, 10, axis=2)),
    ("shifted 10 mm forward", lambda b: np.roll(b, 10, axis=1)),
])
def test_flipped_or_shifted_brain_mask_is_caught(mni_brain_mask, tmp_path: Path, fault: str,
                                                 change) -> None:
    t1, brain, affine = mni_brain_mask
    moved = save_nifti(tmp_path / "moved_mask.nii.gz", np.ascontiguousarray(change(brain)), affine)
    found = judge(PairSpec(labels=[0, 1]), t1, moved)
    assert codes(found) == ["mask_mismatch"], fault
    v = found[0]
    # Both directions are measured and named, with the threshold that failed.
    assert 0.6 < v.extra["mask_on_foreground"] < 0.9 and 0.6 < v.extra["foreground_covered"] < 0.9
    assert v.observed == v.extra["mask_on_foreground"] and v.expected == ">= 0.9"
    assert "lie on the foreground of" in v.message and "of its" in v.message
    assert "foreground voxels (Dice" in v.message and "pairs.min_mask_coverage" in v.message


def test_foreground_coverage_catches_a_mask_that_stays_on_foreground(mni_brain_mask,
                                                                     tmp_path: Path) -> None:
    # Half the brain mask (the left hemisphere only) lies entirely on foreground: the
    # mask-side fraction cannot see it, the foreground-side fraction can.
    t1, brain, affine = mni_brain_mask
    half = brain.copy()
    half[brain.shape[0] // 2:] = 0
    mask = save_nifti(tmp_path / "half_mask.nii.gz", half, affine)
    assert judge(PairSpec(labels=[0, 1]), t1, mask) == []  # off by default: lesion masks
    found = judge(PairSpec(labels=[0, 1], min_foreground_coverage=0.9), t1, mask)
    assert codes(found) == ["mask_mismatch"]
    assert found[0].observed == found[0].extra["foreground_covered"] < 0.6
    assert "pairs.min_foreground_coverage" in found[0].message
