"""`datacheck check` on DICOM series folders: planted faults, each found once with its reason.

Series are written from pydicom's bundled CT_small.dcm (a real 128x128 CT slice,
RescaleIntercept -1024) with one fault each; a clean series gives no finding.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pydicom")

from datacheck.scan.paths import check_paths
from datacheck.schema.dicom import DicomSpec
from datacheck.schema.model import Feature, Schema
from tests.readers.dicom_series import write_series

ROOT = Path(__file__).resolve().parents[2]


def _schema(**dicom: object) -> Schema:
    spec = {"modality": "CT", "photometric": "MONOCHROME2", "orientation": "LPS",
            "spacing": [0.661468, 0.661468, 2.5], **dicom}
    return Schema(name="ct", features={"volume": Feature(dtype="float32")},
                  dicom=DicomSpec.model_validate(spec))


def _codes(report) -> list[str]:
    return sorted(v.code for v in report.violations)


def test_a_clean_series_gives_no_finding(tmp_path: Path):
    write_series(tmp_path / "ct")
    report = check_paths([tmp_path / "ct"], _schema())
    assert report.ok and report.violations == [], report.to_text()
    assert report.inputs == {str(tmp_path / "ct"): "ok"}
    summary = report.summaries["volume"]
    assert summary["elements"] == 1
    # HU after RescaleIntercept -1024: CT_small's stored minimum 128 -> -896, + 10 per slice
    assert summary["min"] == pytest.approx(-896.0)


def test_a_missing_slice(tmp_path: Path):
    paths = write_series(tmp_path / "ct", count=7)
    paths[3].unlink()
    report = check_paths([tmp_path / "ct"], _schema())
    [v] = report.violations
    assert v.code == "missing_slice" and v.observed == 1 and v.severity == "error"
    assert "1 slice missing" in v.message and "between IM0002.dcm and IM0004.dcm" in \
        v.message.replace(str(tmp_path / "ct") + os.sep, "")
    assert v.extra["step_mm"] == pytest.approx(2.5)
    assert report.inputs == {str(tmp_path / "ct"): "violating"}


def test_a_duplicated_slice(tmp_path: Path):
    paths = write_series(tmp_path / "ct")
    shutil.copy(paths[2], tmp_path / "ct" / "IM0002_copy.dcm")
    report = check_paths([tmp_path / "ct"], _schema())
    [v] = report.violations
    assert v.code == "duplicate" and v.observed == 1
    assert {Path(p).name for p in v.extra["pairs"][0]} == {"IM0002.dcm", "IM0002_copy.dcm"}


def test_a_slice_of_another_series(tmp_path: Path):
    def other(k, ds):
        if k == 4:
            ds.SeriesInstanceUID = "1.2.3.4.5"
    write_series(tmp_path / "ct", count=8, edit=other)
    report = check_paths([tmp_path / "ct"], _schema())
    codes = _codes(report)
    assert "mixed_series" in codes
    [v] = [v for v in report.violations if v.code == "mixed_series"]
    assert [Path(f).name for f in v.extra["files"]] == ["IM0004.dcm"]
    assert "1 of 8 slices" in v.message and "1.2.3.4.5" in v.message
    # the slice left out leaves a gap where it was: said as such
    assert codes == ["missing_slice", "mixed_series"]


def test_a_different_pixel_spacing(tmp_path: Path):
    def wider(k, ds):
        if k == 1:
            ds.PixelSpacing = [0.8, 0.8]
    write_series(tmp_path / "ct", edit=wider)
    report = check_paths([tmp_path / "ct"], _schema())
    spacing = [v for v in report.violations if v.code == "spacing"]
    assert len(spacing) == 1 and spacing[0].observed == [0.8, 0.8]
    assert [Path(f).name for f in spacing[0].extra["files"]] == ["IM0001.dcm"]
    assert _codes(report) == ["missing_slice", "spacing"]  # IM0001 left out: a gap


def test_wrong_modality_and_photometric(tmp_path: Path):
    write_series(tmp_path / "ct")
    report = check_paths([tmp_path / "ct"], _schema(modality="MR", photometric="RGB"))
    found = {v.extra["tag"]: v for v in report.violations}
    assert _codes(report) == ["attribute", "attribute"]
    assert "Modality is CT in 6 of 6 slices" in found["Modality"].message
    assert "expected MR" in found["Modality"].message
    assert found["PhotometricInterpretation"].observed == ["MONOCHROME2"]


def test_uneven_spacing_and_the_nifti_geometry_rules(tmp_path: Path):
    def shifted(k, ds):
        if k == 3:
            x, y, z = (float(v) for v in ds.ImagePositionPatient)
            ds.ImagePositionPatient = [x, y, z + 1.0]
    write_series(tmp_path / "ct", edit=shifted)
    report = check_paths([tmp_path / "ct"], _schema(orientation="RAS",
                                                    spacing=[1.0, 1.0, 2.5]))
    by_code = {v.code: v for v in report.violations}
    assert set(by_code) == {"spacing", "orientation"}
    uneven = [v for v in report.violations if v.code == "spacing" and "spacing of" in v.message]
    assert len(uneven) == 1 and uneven[0].observed == [1.5, 3.5]
    declared = [v for v in report.violations if v.code == "spacing" and v not in uneven]
    assert len(declared) == 1 and declared[0].observed[:2] == pytest.approx([0.661468] * 2)
    assert "axes are LPS" in by_code["orientation"].message


def test_corrupt_and_non_dicom_files_are_unreadable_and_the_series_goes_on(tmp_path: Path):
    write_series(tmp_path / "ct")
    (tmp_path / "ct" / "IM9998.dcm").write_text("not a scan\n" * 30)
    (tmp_path / "ct" / "IM9999").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00garbage")
    report = check_paths([tmp_path / "ct"], _schema())
    series, text, junk = (str(tmp_path / "ct"), str(tmp_path / "ct" / "IM9998.dcm"),
                          str(tmp_path / "ct" / "IM9999"))
    assert report.inputs == {series: "ok", text: "unreadable", junk: "unreadable"}
    reasons = {v.input: v for v in report.violations}
    assert reasons[text].code == "unreadable" and "not a DICOM file" in reasons[text].message
    assert reasons[junk].code == "unreadable" and junk in reasons[junk].message
    assert report.counts()["total"] == 3 and report.counts()["unreadable"] == 2


def test_two_series_folders_and_the_cli(tmp_path: Path):
    write_series(tmp_path / "data" / "a")
    paths = write_series(tmp_path / "data" / "b", count=7)
    paths[5].unlink()
    schema = tmp_path / "schema.yaml"
    schema.write_text("name: ct\nfeatures:\n  volume: {dtype: float32}\ndicom:\n  modality: CT"
                      "\n  orientation: LPS\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema", str(schema),
                          str(tmp_path / "data"), "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 1, out.stdout + out.stderr
    found = json.loads((tmp_path / "r.json").read_text())
    assert [(v["code"], v["where"]) for v in found["violations"]] == [
        ("missing_slice", str(tmp_path / "data" / "b"))]
    assert "Inputs: 2 (1 ok, 1 violating, 0 unreadable)" in out.stdout


def test_volume_values_match_pydicom_rescale(tmp_path: Path):
    import pydicom
    from pydicom.pixels import apply_modality_lut

    def scaled(k, ds):
        ds.RescaleSlope = 2
        ds.RescaleIntercept = -100
    paths = write_series(tmp_path / "ct", count=3, edit=scaled)
    report = check_paths([tmp_path / "ct"], _schema())
    values = np.concatenate([apply_modality_lut(pydicom.dcmread(p).pixel_array,
                                                pydicom.dcmread(p)).ravel() for p in paths])
    summary = report.summaries["volume"]
    assert summary["min"] == pytest.approx(values.min())
    assert summary["max"] == pytest.approx(values.max())


def test_one_bundled_slice_checked_by_name(tmp_path: Path):
    from tests.readers.dicom_series import MR_SMALL

    path = tmp_path / "mr.dcm"
    shutil.copy(MR_SMALL, path)
    schema = Schema(name="mr", features={"volume": Feature()},
                    dicom=DicomSpec(modality="MR", orientation="LPS"))
    report = check_paths([path], schema)
    assert report.ok, report.to_text()
    assert report.inputs == {str(path): "ok"}
    wrong = check_paths([path], _schema())
    assert [(v.code, v.extra.get("tag")) for v in wrong.violations if v.code == "attribute"] == [
        ("attribute", "Modality")]


def test_a_series_over_the_limit_is_too_large(tmp_path: Path):
    write_series(tmp_path / "ct", count=6)
    # each slice (~39 KB file, 64 KiB as float32) passes; six stacked (384 KiB) do not
    report = check_paths([tmp_path / "ct"], _schema(max_bytes=200_000))
    [v] = report.violations
    assert v.code == "too_large" and "128x128x6" in v.message
    assert report.inputs == {str(tmp_path / "ct"): "unreadable"}


def test_workers_and_a_schema_without_a_dicom_section(tmp_path: Path):
    """.dcm files need no dicom: section (defaults: any modality, rescale applied); two
    workers give the same verdicts as one."""
    write_series(tmp_path / "data" / "a")
    paths = write_series(tmp_path / "data" / "b", count=5)
    shutil.copy(paths[1], tmp_path / "data" / "b" / "copy.dcm")
    schema = Schema(name="ct", features={"volume": Feature(dtype="float32")})
    one = check_paths([tmp_path / "data"], schema)
    two = check_paths([tmp_path / "data"], schema, workers=2)
    for report in (one, two):
        assert [(v.code, v.where) for v in report.violations] == [
            ("duplicate", str(tmp_path / "data" / "b"))]
        assert report.inputs == {str(tmp_path / "data" / "a"): "ok",
                                 str(tmp_path / "data" / "b"): "violating"}


def test_tilted_slices_are_oblique(tmp_path: Path):
    """Every slice's rows turned 40 degrees in-plane: one volume, judged oblique by the
    nifti: rule on the assembled affine (the normal, and so the slice step, is unchanged)."""
    import math

    angle = math.radians(40)
    cos, sin = math.cos(angle), math.sin(angle)

    def tilted(k, ds):
        ds.ImageOrientationPatient = [cos, sin, 0.0, -sin, cos, 0.0]
    write_series(tmp_path / "ct", edit=tilted)
    report = check_paths([tmp_path / "ct"], _schema(orientation=None))
    [v] = report.violations
    assert v.code == "oblique" and "40" in v.message
