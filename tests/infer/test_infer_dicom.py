"""`datacheck infer` on DICOM series folders: the dicom: section, and a round trip (the
inferred schema passes its own clean series and fails on a planted fault)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("pydicom")

from datacheck.infer.schema import infer
from datacheck.scan.paths import check_paths
from datacheck.schema.io import load_schema
from tests.readers.dicom_series import write_series

ROOT = Path(__file__).resolve().parents[2]


def test_infer_two_series_writes_the_dicom_section(tmp_path: Path):
    write_series(tmp_path / "data" / "p01" / "ct")
    write_series(tmp_path / "data" / "p02" / "ct")
    inference = infer(str(tmp_path / "data"))
    spec = inference.schema.dicom
    assert spec is not None
    assert (spec.feature, spec.modality, spec.photometric, spec.orientation) == (
        "volume", ["CT"], ["MONOCHROME2"], "LPS")
    assert spec.spacing == pytest.approx([0.661468, 0.661468, 2.5])
    assert inference.schema.features["volume"].shape == [128, 128, 6, 1]
    assert inference.inputs == {str(tmp_path / "data" / "p01" / "ct"): "ok",
                                str(tmp_path / "data" / "p02" / "ct"): "ok"}


def test_suffix_less_slices_are_found_by_their_marker(tmp_path: Path):
    for path in write_series(tmp_path / "ct", count=3):
        path.rename(path.with_suffix(""))
    (tmp_path / "ct" / "README").write_text("exported from PACS\n")
    inference = infer(str(tmp_path / "ct"))
    assert inference.schema.dicom is not None
    assert inference.schema.features["volume"].shape == [128, 128, 3, 1]
    readme = str(tmp_path / "ct" / "README")
    assert inference.inputs[readme] == "unreadable"
    assert "not a DICOM file" in inference.problems[readme].message


def test_round_trip_through_the_cli(tmp_path: Path):
    write_series(tmp_path / "train" / "ct")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    inferred = subprocess.run([sys.executable, "-m", "datacheck", "infer",
                               str(tmp_path / "train")], capture_output=True, text=True,
                              env=env, timeout=300)
    assert inferred.returncode == 0, inferred.stderr
    assert yaml.safe_load(inferred.stdout)["dicom"]["modality"] == ["CT"]
    schema = tmp_path / "schema.yaml"
    schema.write_text(inferred.stdout)
    clean = check_paths([tmp_path / "train"], load_schema(schema))
    assert clean.ok and clean.violations == [], clean.to_text()
    # the same series with one slice gone, and one from MR
    shutil.copytree(tmp_path / "train", tmp_path / "val")
    (tmp_path / "val" / "ct" / "IM0002.dcm").unlink()
    from tests.readers.dicom_series import MR_SMALL

    write_series(tmp_path / "val" / "mr", count=6, source=MR_SMALL, step=2.5)
    checked = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema",
                              str(schema), str(tmp_path / "val")], capture_output=True,
                             text=True, env=env, timeout=300)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    report = check_paths([tmp_path / "val"], load_schema(schema))
    by_input: dict[str, set[str]] = {}
    for v in report.violations:
        by_input.setdefault(str(v.input), set()).add(v.code)
    assert by_input[str(tmp_path / "val" / "ct")] == {"missing_slice", "shape"}
    assert "attribute" in by_input[str(tmp_path / "val" / "mr")]
    assert report.counts()["violating"] == 2
