"""Folder and file scans: every input accounted for, bad files unreadable with a reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from datacheck.api import check
from datacheck.readers.guards import Limits
from datacheck.scan import check_paths
from datacheck.schema import load_schema

SCHEMA = {
    "name": "brain",
    "features": {"volume": {"layout": "DHWC", "shape": [None, None, None, 1],
                            "dtype": "floating", "range": [-10, 10]}},
    "nifti": {"orientation": "RAS", "spacing": [1, 1, 1], "ndim": 3},
}


def assert_accounted(report, n: int) -> None:
    counts = report.counts()
    assert counts["total"] == n == counts["ok"] + counts["violating"] + counts["unreadable"]


@pytest.fixture()
def folder(tmp_path: Path, write_nifti, patch) -> Path:
    """Two good volumes and one of each kind of bad input from the issue."""
    rng = np.random.default_rng(0)
    data = tmp_path / "scans"
    data.mkdir()

    def good(name: str) -> Path:
        path = write_nifti(name, rng.normal(size=(8, 9, 10)).astype(np.float32))
        return path.rename(data / name)

    good("sub-01.nii.gz")
    good("sub-02.nii")
    cut = good("truncated.nii.gz")
    cut.write_bytes(cut.read_bytes()[:200])
    magic = good("magic.nii")
    raw = bytearray(magic.read_bytes())
    raw[344:348] = b"zzz\x00"
    magic.write_bytes(bytes(raw))
    patch(good("negative.nii.gz"), dim=[3, 8, -9, 10, 1, 1, 1, 1])
    patch(good("nan_affine.nii.gz"), srow_y=[0.0, np.nan, 0.0, 0.0])
    patch(good("huge.nii.gz"), dim=[3, 5000, 5000, 5000, 1, 1, 1, 1])
    latin = write_nifti("latin.nii.gz", np.full((8, 9, 10), np.nan, np.float32))
    os.rename(latin, os.path.join(os.fsencode(data), b"caf\xe9.nii.gz"))
    good("line\nbreak.nii.gz")
    (data / "README.txt").write_text("not data")
    (data / ".hidden.nii").write_bytes(b"junk")
    return data


def test_folder_scan_accounts_for_every_input(folder: Path) -> None:
    report = check_paths([folder], load_schema(SCHEMA))
    assert_accounted(report, 9)
    status = report.inputs
    assert status[f"{folder}/sub-01.nii.gz"] == "ok" and status[f"{folder}/sub-02.nii"] == "ok"
    for bad in ("truncated.nii.gz", "magic.nii", "negative.nii.gz", "huge.nii.gz"):
        assert status[f"{folder}/{bad}"] == "unreadable", bad
    assert status[f"{folder}/nan_affine.nii.gz"] == "violating"
    # An undecodable byte in a file name is shown as an escape, and the file is still read.
    assert status[f"{folder}/caf\\xe9.nii.gz"] == "violating"
    # A newline in a file name is escaped too: one input, one line.
    assert f"{folder}/line\\nbreak.nii.gz" in status
    reasons = {v.where: v for v in report.violations if v.code in ("unreadable", "too_large")}
    assert "truncated gzip stream" in reasons[f"{folder}/truncated.nii.gz"].message
    assert "wrong magic" in reasons[f"{folder}/magic.nii"].message
    assert "negative or zero sizes" in reasons[f"{folder}/negative.nii.gz"].message
    assert reasons[f"{folder}/huge.nii.gz"].code == "too_large"
    assert "matrix holds NaN/Inf" in next(v.message for v in report.violations
                                          if v.code == "affine")
    assert report.stats["skipped_files"] == 2 and report.stats["files"] == 9
    # Checked + skipped add up to the entries on disk, each skipped one with its reason.
    assert report.skipped == {f"{folder}/README.txt": "no reader for '.txt' files",
                              f"{folder}/.hidden.nii": "hidden file"}
    assert len(report.inputs) + len(report.skipped) == len(os.listdir(folder))
    report.to_json()  # serializable, undecodable names included


def test_voxels_judged_by_the_feature_rules(tmp_path: Path, write_nifti) -> None:
    data = np.zeros((6, 6, 6), np.float32)
    data[0, 0, 0], data[1, 1, 1] = np.nan, 50.0
    write_nifti("bad.nii.gz", data)
    write_nifti("flat.nii.gz", np.zeros((6, 6, 6), np.float32))
    report = check_paths([tmp_path], load_schema(SCHEMA))
    by_code = {v.code: v for v in report.violations}
    assert set(by_code) == {"nonfinite", "range", "constant"}
    assert by_code["nonfinite"].message.startswith("volume: nonfinite: 1 NaN/Inf values in ")
    assert "bad.nii.gz" in by_code["range"].where
    assert report.summaries["volume"]["elements"] == 2
    assert report.summaries["volume"]["shapes"] == {"6x6x6x1": 2}


def test_wrong_layout_rank_from_the_judge(tmp_path: Path, write_nifti) -> None:
    write_nifti("4d.nii.gz", np.ones((4, 4, 4, 3), np.float32))
    report = check_paths([tmp_path], load_schema(SCHEMA))
    assert {v.code for v in report.violations} == {"shape"}
    assert any("element shape (4, 4, 4, 3) does not match (*, *, *, 1)" in v.message
               for v in report.violations)


def test_empty_folder_and_missing_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    report = check_paths([empty, tmp_path / "nope"], load_schema(SCHEMA))
    assert_accounted(report, 2)
    assert report.inputs == {str(empty): "unreadable", str(tmp_path / "nope"): "unreadable"}
    messages = [v.message for v in report.violations]
    assert any("folder holds no" in m and "1 other files skipped" in m for m in messages)
    assert any("missing_file: no such file or folder" in m for m in messages)


def test_limits_from_the_schema(tmp_path: Path, write_nifti) -> None:
    write_nifti("vol.nii.gz", np.ones((20, 20, 20), np.float32))
    small = dict(SCHEMA, nifti={"max_voxels": 1000})
    report = check_paths([tmp_path], load_schema(small))
    assert report.codes() == ["too_large"] and report.counts()["unreadable"] == 1
    assert check_paths([tmp_path], load_schema(SCHEMA), limits=Limits(max_bytes=10)).codes() \
        == ["too_large"]


def test_pairs_in_a_folder(tmp_path: Path, write_nifti) -> None:
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        write_nifti(f"{name}.nii.gz", rng.normal(size=(5, 5, 5)).astype(np.float32))
    good = np.zeros((5, 5, 5), np.uint8)
    good[2, 2, 2] = 1
    write_nifti("a_mask.nii.gz", good)
    write_nifti("b_mask.nii", np.full((5, 5, 5), 3, np.uint8))
    write_nifti("orphan_mask.nii.gz", good)
    schema = load_schema(dict(SCHEMA, pairs={"labels": [0, 1]}))
    report = check_paths([tmp_path], schema)
    assert_accounted(report, 6)
    assert report.inputs[f"{tmp_path}/a_mask.nii.gz"] == "ok"
    assert report.inputs[f"{tmp_path}/b_mask.nii"] == "violating"
    assert report.inputs[f"{tmp_path}/c.nii.gz"] == "violating"  # no mask, required
    assert report.inputs[f"{tmp_path}/orphan_mask.nii.gz"] == "violating"
    messages = " ".join(v.message for v in report.violations)
    assert "mask values 3 (125 voxels) are outside the declared labels [0, 1]" in messages
    assert "has no mask c_mask.nii[.gz]" in messages and "has no image orphan" in messages


def test_real_nibabel_files_with_the_bundled_schema() -> None:
    import nibabel

    data = Path(os.path.dirname(nibabel.__file__)) / "tests" / "data"
    names = ["anatomical.nii", "reoriented_anat_moved.nii", "standard.nii.gz"]
    report = check([str(data / n) for n in names], "brain_t1_nifti")
    assert_accounted(report, 3)
    assert {"orientation", "spacing", "dtype"} <= set(report.codes())
    assert report.inputs[str(data / "anatomical.nii")] == "violating"


def test_cli_exit_codes_and_unicode_names(folder: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONIOENCODING="utf-8", LC_ALL="C.UTF-8")
    out = tmp_path / "r.json"
    run = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema",
                          "brain_t1_nifti", str(folder), "--json", str(out)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and "caf\\xe9.nii.gz" in run.stdout
    assert "Inputs: 9 (3 ok, 2 violating, 4 unreadable)" in run.stdout
    inputs = json.loads(out.read_text())["inputs"]
    assert len(inputs) == 9 and inputs[f"{folder}/line\\nbreak.nii.gz"]["status"] == "ok"
    usage = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema",
                            "no_such_schema", str(folder)], capture_output=True, text=True,
                           env=env, timeout=300)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_scaling_applied_before_the_voxel_rules(tmp_path: Path, write_nifti, patch) -> None:
    # int16 storage with scl_slope 0.01: the scaled values lie in [0, 1], the raw ones do not.
    stored = np.arange(101, dtype=np.int16).reshape(101, 1, 1) * np.ones((1, 2, 2), np.int16)
    patch(write_nifti("scaled.nii", stored), scl_slope=0.01, scl_inter=0.0)
    unit = {"name": "unit", "features": {"volume": {"layout": "DHW", "range": [0, 1]}}}
    applied = check_paths([tmp_path], load_schema(unit))
    assert applied.ok, applied.to_text()
    assert applied.summaries["volume"]["dtypes"] == {"float32": 1}
    raw = check_paths([tmp_path], load_schema(dict(unit, nifti={"scaling": "raw"})))
    assert raw.codes() == ["range"] and "max 100 > 1" in raw.violations[0].message


def test_pipes_never_block(tmp_path: Path) -> None:
    for name in ("pipe.h5", "pipe.npz", "pipe.nii.gz"):
        os.mkfifo(tmp_path / name)
    report = check_paths([tmp_path / n for n in ("pipe.h5", "pipe.npz", "pipe.nii.gz")],
                         load_schema(SCHEMA))
    assert report.counts()["unreadable"] == 3
    assert all("not a regular file" in v.message for v in report.violations)
