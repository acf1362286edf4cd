"""Per-scan intensity outliers across a dataset (code outlier), on real scans (issue 16)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.rules.intensity import scan_outlier_violations

nib = pytest.importorskip("nibabel")
NIBABEL_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"
SCHEMA = {"name": "t", "features": {"volume": {"layout": "DHWC"}}}


def write_scans(folder: Path, factors: list[float]) -> list[Path]:
    """anatomical.nii rescaled per scan (a few % apart, as scans of one protocol are)."""
    img = nib.load(NIBABEL_DATA / "anatomical.nii")
    data = np.asarray(img.dataobj, dtype=np.float32)
    paths = []
    for k, factor in enumerate(factors):
        path = folder / f"sub-{k:02d}.nii.gz"
        out = nib.Nifti1Image(data * factor, img.affine)
        out.header.set_xyzt_units("mm", "sec")
        nib.save(out, path)
        paths.append(path)
    return paths


def test_a_scan_scaled_40_times_is_named_without_a_declared_range(tmp_path: Path) -> None:
    factors = [1.0, 1.03, 0.97, 1.05, 0.99, 1.02, 0.96, 40.0]
    paths = write_scans(tmp_path, factors)
    report = dc.check(str(tmp_path), SCHEMA)
    outliers = [v for v in report.violations if v.code == "outlier"]
    assert [v.where for v in outliers] == [str(paths[-1])]
    [v] = outliers
    assert v.severity == "warning" and v.observed["statistic"] in ("median", "p99")
    assert "over 8 scans" in v.message and "the typical scan" in v.message
    assert v.observed["value"] / v.expected["typical"] == pytest.approx(40, rel=0.1)
    off = dict(SCHEMA, nifti={"outlier_z": None})
    assert "outlier" not in dc.check(str(tmp_path), off).codes()
    counts = report.counts()
    assert counts["total"] == 8 == counts["ok"] + counts["violating"] + counts["unreadable"]


def test_scans_of_one_protocol_are_not_outliers(tmp_path: Path) -> None:
    write_scans(tmp_path, [1.0, 1.03, 0.97, 1.05, 0.99, 1.02, 0.96, 1.04])
    report = dc.check(str(tmp_path), SCHEMA)
    assert "outlier" not in report.codes()


def test_too_few_scans_are_not_judged() -> None:
    stats = {f"s{i}": {"median": 100.0 * (1 + i)} for i in range(4)}
    assert scan_outlier_violations(stats, 5.0) == []
