"""NIfTI geometry rules measured as the field does: mm of corner displacement, degrees, spacing
from the affine's columns and units, obliquity, intent codes (issue 16).

Spacing and obliquity are compared with nibabel's own functions on real files, not with our
helpers.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from datacheck.readers.nifti import read_nifti_header
from datacheck.rules.geometry import spacing_mm
from datacheck.rules.medical import nifti_header_violations, pair_violations
from datacheck.scan.volume import mask_label_counts
from datacheck.schema.medical import NiftiSpec, PairSpec
from tests.nifti_files import patch_header

nib = pytest.importorskip("nibabel")
NIBABEL_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"
REAL = ["anatomical.nii", "example4d.nii.gz", "functional.nii", "standard.nii.gz",
        "reoriented_anat_moved.nii", "example_nifti2.nii.gz"]


def codes(violations: list) -> list[str]:
    return [v.code for v in violations]


def rotation_z(degrees: float, centre: np.ndarray) -> np.ndarray:
    """A rotation about the z axis through ``centre`` (world mm)."""
    t = math.radians(degrees)
    rot = np.eye(4)
    rot[:2, :2] = [[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]]
    to, back = np.eye(4), np.eye(4)
    to[:3, 3], back[:3, 3] = -centre, centre
    return back @ rot @ to


def save(path: Path, data: np.ndarray, sform: np.ndarray, qform: np.ndarray | None = None,
         units: str | None = "mm") -> Path:
    img = nib.Nifti1Image(data, sform)
    img.set_sform(sform, code=1)
    img.set_qform(sform if qform is None else qform, code=1)
    if units is not None:
        img.header.set_xyzt_units(units, "sec")
    nib.save(img, path)
    return path


def corner_mm(a: np.ndarray, b: np.ndarray, shape: tuple[int, ...]) -> float:
    """Independent measure: nibabel.affines.apply_affine on the 8 corner voxel centres."""
    from nibabel.affines import apply_affine

    ends = np.array(np.meshgrid(*[[0, n - 1] for n in shape[:3]])).reshape(3, -1).T
    return float(np.linalg.norm(apply_affine(a, ends) - apply_affine(b, ends), axis=1).max())


# -- affine agreement in mm ------------------------------------------------------------------

def test_ten_degrees_over_a_200_mm_field_of_view_fails_half_a_millimetre(tmp_path: Path) -> None:
    shape = (200, 200, 200)  # 1 mm voxels: a 200 mm field of view
    sform = np.eye(4)
    qform = rotation_z(10, np.zeros(3)) @ sform  # about the scanner origin, a corner here
    path = save(tmp_path / "rot.nii.gz", np.zeros(shape, np.uint8), sform, qform)
    header = read_nifti_header(path)
    assert np.abs(header.qform - header.sform).max() < 0.2  # what the old check measured
    found = nifti_header_violations(NiftiSpec(affine_tolerance=0.5), header, "volume")
    assert codes(found) == ["affine"]
    expected = corner_mm(header.qform, header.sform, shape)
    assert expected > 40  # 2 * 281 mm * sin(5 degrees) at the far corner
    assert found[0].observed["mm"] == pytest.approx(expected, rel=1e-6)
    assert found[0].observed["degrees"] == pytest.approx(10, abs=1e-3)
    assert f"disagree by up to {expected:.3g} mm" in found[0].message
    assert "rotated 10°" in found[0].message and "<= 0.5 mm" == found[0].expected


def test_real_qform_sform_rounding_is_agreement() -> None:
    for name in REAL:
        header = read_nifti_header(NIBABEL_DATA / name)
        found = nifti_header_violations(NiftiSpec(), header)
        assert "affine" not in codes(found), (name, found)


def test_mask_rotated_against_its_image(tmp_path: Path) -> None:
    shape = (20, 20, 20)
    affine = np.diag([10.0, 10.0, 10.0, 1.0])  # 10 mm voxels: a 200 mm field of view
    turned = rotation_z(10, np.array([95.0, 95.0, 95.0])) @ affine
    image = read_nifti_header(save(tmp_path / "i.nii.gz", np.zeros(shape, np.float32), affine))
    mask_data = np.ones(shape, np.uint8)
    mask = read_nifti_header(save(tmp_path / "m.nii.gz", mask_data, turned))
    found = pair_violations(PairSpec(affine_tolerance=0.5), image, mask,
                            mask_label_counts(mask_data))
    assert codes(found) == ["mask_mismatch"]
    assert found[0].observed["mm"] == pytest.approx(corner_mm(image.affine, mask.affine, shape))
    assert "rotated 10°" in found[0].message and "mm (largest corner-voxel" in found[0].message


# -- spacing from the affine, in mm ----------------------------------------------------------

@pytest.mark.parametrize("name", REAL)
def test_spacing_is_the_affine_column_norms_of_real_files(name: str) -> None:
    img = nib.load(NIBABEL_DATA / name)
    header = read_nifti_header(NIBABEL_DATA / name)
    norms = np.linalg.norm(img.affine[:3, :3], axis=0)
    np.testing.assert_allclose(spacing_mm(header), norms, rtol=1e-6)
    np.testing.assert_allclose(spacing_mm(header), img.header.get_zooms()[:3], rtol=1e-5)
    assert "spacing" not in codes(nifti_header_violations(NiftiSpec(), header))


def test_sform_columns_disagreeing_with_pixdim(tmp_path: Path) -> None:
    path = save(tmp_path / "s.nii.gz", np.zeros((4, 5, 6), np.float32),
                np.diag([1.2, 1.2, 1.2, 1.0]))
    patch_header(path, pixdim=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], qform_code=0)
    header = read_nifti_header(path)
    assert nib.load(path).header.get_zooms()[:3] == (1.0, 1.0, 1.0)  # pixdim alone says 1 mm
    found = nifti_header_violations(NiftiSpec(spacing=[1, 1, 1]), header, "volume")
    assert codes(found) == ["spacing", "spacing"]
    assert "pixdim says (1, 1, 1) mm but the sform columns are (1.2, 1.2, 1.2) mm" in \
        found[0].message
    assert "voxel size (1.2, 1.2, 1.2) mm" in found[1].message


def test_microns_are_converted_to_mm(tmp_path: Path) -> None:
    data = np.zeros((4, 5, 6), np.float32)
    um = read_nifti_header(save(tmp_path / "um.nii.gz", data, np.diag([1000.0] * 3 + [1.0]),
                                units="micron"))
    assert nifti_header_violations(NiftiSpec(spacing=[1, 1, 1]), um) == []
    tiny = read_nifti_header(save(tmp_path / "tiny.nii.gz", data, np.eye(4), units="micron"))
    found = nifti_header_violations(NiftiSpec(spacing=[1, 1, 1]), tiny)
    assert codes(found) == ["spacing"] and "voxel size (0.001, 0.001, 0.001) mm (stored in " \
        "micron)" in found[0].message


def test_undefined_and_unset_units(tmp_path: Path) -> None:
    path = save(tmp_path / "u.nii.gz", np.zeros((4, 5, 6), np.float32), np.eye(4))
    patch_header(path, xyzt_units=5)
    found = nifti_header_violations(NiftiSpec(spacing=[1, 1, 1]), read_nifti_header(path))
    assert codes(found) == ["units"] and "spatial code 5, which NIfTI does not define" in \
        found[0].message
    unset = NIBABEL_DATA / "standard.nii.gz"  # a real file whose units are not set
    assert nifti_header_violations(NiftiSpec(), read_nifti_header(unset)) == []
    found = nifti_header_violations(NiftiSpec(require_units=True), read_nifti_header(unset))
    assert codes(found) == ["units"] and "set_xyzt_units('mm', 'sec')" in found[0].message
    assert found[0].severity == "error"
    # A declared spacing was judged assuming mm: say so.
    found = nifti_header_violations(NiftiSpec(spacing=[1, 3, 2]), read_nifti_header(unset))
    assert codes(found) == ["units"] and found[0].severity == "warning"
    assert "spacing was read as mm" in found[0].message


# -- obliquity -------------------------------------------------------------------------------

def test_real_oblique_file_passes_the_default_and_fails_a_tight_limit() -> None:
    from nibabel.affines import obliquity

    header = read_nifti_header(NIBABEL_DATA / "example4d.nii.gz")  # tilted ~9.3 degrees
    degrees = float(np.degrees(obliquity(nib.load(NIBABEL_DATA / "example4d.nii.gz").affine))
                    .max())
    assert 9 < degrees < 10
    assert "oblique" not in codes(nifti_header_violations(NiftiSpec(), header))
    found = nifti_header_violations(NiftiSpec(max_obliquity=5), header, "volume")
    assert codes(found) == ["oblique"] and found[0].observed == pytest.approx(degrees, abs=1e-3)
    assert f"tilted {degrees:.3g}° from the nearest axis-aligned frame" in found[0].message
    for name in ("anatomical.nii", "functional.nii", "standard.nii.gz"):
        assert "oblique" not in codes(nifti_header_violations(
            NiftiSpec(max_obliquity=0.01), read_nifti_header(NIBABEL_DATA / name)))


def test_planted_40_degree_tilt_is_oblique(tmp_path: Path) -> None:
    affine = rotation_z(40, np.zeros(3))
    found = nifti_header_violations(NiftiSpec(), read_nifti_header(
        save(tmp_path / "o.nii.gz", np.zeros((4, 5, 6), np.float32), affine)))
    assert codes(found) == ["oblique"] and "tilted 40°" in found[0].message
    assert "resample_to_output" in found[0].message


# -- intent codes ----------------------------------------------------------------------------

def test_cifti_intent_is_not_an_image_volume(tmp_path: Path) -> None:
    path = save(tmp_path / "c.nii", np.zeros((1, 1, 1, 1, 8, 3), np.float32), np.eye(4))
    patch_header(path, intent_code=3006, intent_name=b"ConnDenseScalar")
    found = nifti_header_violations(NiftiSpec(ndim=3), read_nifti_header(path), "volume")
    assert codes(found) == ["intent"]  # not judged as a 6D volume
    assert "is not an image volume: NIfTI intent 3006 (ConnDenseScalar" in found[0].message
    assert "CIFTI-2" in found[0].message
    allowed = nifti_header_violations(NiftiSpec(ndim=3, intent="any"), read_nifti_header(path))
    assert "intent" not in codes(allowed) and "shape" in codes(allowed)


def test_volume_intents_are_images() -> None:
    for name in REAL:
        found = nifti_header_violations(NiftiSpec(), read_nifti_header(NIBABEL_DATA / name))
        assert "intent" not in codes(found)


def test_check_refuses_a_cifti_file_without_judging_its_voxels(tmp_path: Path) -> None:
    import datacheck as dc

    path = save(tmp_path / "c.nii", np.zeros((1, 1, 1, 1, 8, 3), np.float32), np.eye(4))
    patch_header(path, intent_code=3001)
    schema = {"name": "t", "features": {"volume": {"layout": "DHWC", "rank": 4}},
              "nifti": {"ndim": 3}}
    report = dc.check(str(path), schema)
    assert report.codes() == ["intent"] and report.inputs[str(path)] == "violating"
    assert "NIfTI intent 3001 (ConnDense)" in report.violations[0].message


def test_repetition_time_in_seconds_after_the_time_unit(tmp_path: Path) -> None:
    img = nib.Nifti1Image(np.zeros((4, 5, 6, 3), np.float32), np.eye(4))
    img.header.set_zooms((1.0, 1.0, 1.0, 2000.0))
    img.header.set_xyzt_units("mm", "msec")
    nib.save(img, tmp_path / "bold.nii.gz")
    header = read_nifti_header(tmp_path / "bold.nii.gz")
    assert nifti_header_violations(NiftiSpec(spacing=[1, 1, 1, 2.0]), header) == []
    found = nifti_header_violations(NiftiSpec(spacing=[1, 1, 1, 2.5]), header)
    assert codes(found) == ["spacing"] and "voxel size (1, 1, 1, 2) mm" in found[0].message
