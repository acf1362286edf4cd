"""The command line: exit codes 0/1/2, --json, one clear line and no traceback on bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "datacheck", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.fixture()
def npz_files(tmp_path, digits):
    x, y = digits
    good = tmp_path / "good.npz"
    bad = tmp_path / "bad.npz"
    np.savez(good, image=x, label=y)
    np.savez(bad, image=x * 16, label=y)
    return good, bad


def test_exit_0_when_all_checks_hold(npz_files):
    good, _ = npz_files
    result = run("check", "--schema", "digits", str(good))
    assert result.returncode == 0, result.stderr
    assert "OK: all checks hold" in result.stdout


def test_exit_1_with_table_and_json(npz_files, tmp_path):
    good, bad = npz_files
    out = tmp_path / "report.json"
    result = run("check", "--schema", "digits", str(good), str(bad), "--json", str(out))
    assert result.returncode == 1
    assert "range" in result.stdout and "divide by 255" in result.stdout.replace("\n", " ")
    data = json.loads(out.read_text())
    assert data["ok"] is False
    assert data["counts"] == {"ok": 1, "violating": 1, "unreadable": 0, "total": 2,
                              "skipped": 0}
    assert data["violations"][0]["code"] == "range"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["check", "--schema", "nope", "x.npz"], "no bundled schema named 'nope'"),
        (["check", "x.npz"], "--schema"),
        (["frobnicate"], "invalid choice"),
        (["check", "--schema", "mnist", "--workers", "0", "x.npz"], "--workers must be >= 1"),
    ],
)
def test_exit_2_on_usage_errors(args, needle):
    result = run(*args)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "text",
    ["features: {image: {rnage: [0, 1]}}", "features:\n  image: {range: [0, 1}\n",
     "features: {image: {layout: XYZ}}", "features: {image: {range: [5, 1]}}", "- just a list"],
)
def test_bad_schema_file_exit_2_one_line(tmp_path, npz_files, text):
    schema = tmp_path / "schema.yaml"
    schema.write_text(text)
    result = run("check", "--schema", str(schema), str(npz_files[0]))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(schema) in result.stderr


def test_file_that_is_not_an_array_is_unreadable_not_a_crash(tmp_path):
    fake = tmp_path / "fake.npz"
    fake.write_text("hello")
    result = run("check", "--schema", "digits", str(fake))
    assert result.returncode == 1
    assert "unreadable" in result.stdout and "Traceback" not in result.stderr


def test_schema_json_schema_and_listing():
    result = run("schema", "--json-schema")
    assert result.returncode == 0 and json.loads(result.stdout)["title"] == "datacheck schema"
    listing = run("schema")
    assert "cifar10" in listing.stdout and "mri3d" in listing.stdout
    shown = run("schema", "mnist")
    assert "layout: HWC" in shown.stdout


def test_max_bytes_flag_refuses_large_volumes(tmp_path):
    nib = pytest.importorskip("nibabel")
    volume = np.random.default_rng(0).random((16, 16, 16)).astype("float32")
    path = tmp_path / "vol.nii.gz"
    nib.save(nib.Nifti1Image(volume, np.eye(4)), path)
    schema = tmp_path / "s.yaml"
    schema.write_text("features: {volume: {layout: DHW}}\nnifti: {}\n")
    result = run("check", "--schema", str(schema), str(path), "--max-bytes", "1024")
    assert result.returncode == 1
    assert "too_large" in result.stdout
    assert run("check", "--schema", str(schema), str(path)).returncode == 0
    bad = run("check", "--schema", str(schema), str(path), "--max-bytes", "0")
    assert bad.returncode == 2 and "--max-bytes must be >= 1" in bad.stderr
