"""`diff`: drift between two datasets or saved profiles, with thresholds from the schema."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.drift import DriftConfig, build_profile, diff
from datacheck.drift.profile import Profile
from datacheck.errors import DataError, SchemaError
from datacheck.schema.io import schema_from_text


def split(digits):
    x, y = digits
    return (x[:900], y[:900]), (x[900:], y[900:])


def test_random_splits_do_not_drift(digits):
    a, b = split(digits)
    report = diff(a, b)
    assert report.ok and not report.violations, report.to_text()
    assert report.kind == "diff"
    distances = report.summaries["image"]["distances"]
    assert distances["js_divergence"][0] < 0.01
    assert report.summaries["label"]["distances"]["linf"] < 0.05


def test_unscaled_pixels_drift_with_numbers_in_the_message(digits):
    a, (xb, yb) = split(digits)
    report = diff(a, (xb * 255, yb))
    assert report.codes() == ["drift"] and not report.ok
    message = report.violations[0].message
    assert message.startswith("image: drift: intensity distribution of B differs from A")
    assert "Jensen-Shannon divergence" in message and "> 0.1" in message
    assert "range [0, 1] -> [0, 255]" in message
    assert report.inputs == {"A": "ok", "B": "violating"}


def test_label_shift_and_new_class(digits):
    (xa, ya), (xb, yb) = split(digits)
    keep = yb < 5
    report = diff((xa, ya), (xb[keep], yb[keep]))
    [v] = report.violations
    assert v.code == "drift" and v.feature == "label"
    assert "class frequencies shifted" in v.message and "stratify" in v.message
    relabelled = np.where(yb == 9, 10, yb)
    report = diff((xa, ya), (xb, relabelled))
    messages = " ".join(v.message for v in report.violations)
    assert "1 classes occur in B but never in A (10)" in messages


def test_dtype_shape_and_missing_feature(digits):
    (xa, ya), (xb, yb) = split(digits)
    report = diff((xa, ya), ((xb * 255).astype(np.uint8), yb))
    assert any("dtype float32 in A but uint8 in B" in v.message for v in report.violations)
    report = diff((xa, ya), (np.pad(xb, ((0, 0), (1, 1), (1, 1), (0, 0))), yb))
    assert any("has shape (8, 8, 1) but B has (10, 10, 1)" in v.message for v in report.violations)
    report = diff({"image": xa, "label": ya}, {"image": xb})
    [v] = [v for v in report.violations if v.code == "missing_feature"]
    assert v.message.startswith("label: missing_feature: B has no 'label'")


def test_thresholds_come_from_the_schema(digits, tmp_path):
    a, (xb, yb) = split(digits)
    shifted = (np.clip(xb + 0.1, 0, 1), yb)
    assert "drift" in diff(a, shifted).codes()
    schema = schema_from_text(
        "name: lenient\nfeatures:\n  image: {layout: HWC}\nlabels:\n  label: {num_classes: 10}\n"
        "drift:\n  js_divergence: 0.9\n  linf: 0.9\n", origin="test")
    assert diff(a, shifted, schema).ok
    strict = schema.model_copy(update={"drift": DriftConfig(
        js_divergence=0.9, linf=0.9, features={"image": {"js_divergence": 0.01}})})
    assert "drift" in diff(a, shifted, strict).codes()
    assert strict.drift.thresholds("image") == (0.01, 0.9)
    with pytest.raises(SchemaError, match="drift"):
        schema_from_text("name: x\nfeatures: {image: {}}\ndrift: {js_divergence: 2}\n", "bad")
    yaml_text = strict.to_yaml()
    assert "drift:" in yaml_text
    assert dc.load_schema(_write(tmp_path, yaml_text)).drift == strict.drift


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    return path


def test_saved_profiles_compare_like_the_data(digits, tmp_path):
    a, (xb, yb) = split(digits)
    profile = build_profile(a)
    path = tmp_path / "train.json"
    profile.write(path)
    loaded = Profile.read(path)
    assert loaded.entries["image"].histogram.total == a[0].size
    direct = diff(a, (xb * 255, yb))
    saved = diff(path, (xb * 255, yb))
    assert [v.code for v in saved.violations] == [v.code for v in direct.violations]
    d1 = direct.summaries["image"]["distances"]["js_divergence"]
    d2 = saved.summaries["image"]["distances"]["js_divergence"]
    assert d1 == pytest.approx(d2)
    (tmp_path / "other.json").write_text(json.dumps({"kind": "report"}))
    with pytest.raises(DataError, match="not a datacheck profile"):
        diff(tmp_path / "other.json", a)


nib = pytest.importorskip("nibabel")
NIB_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"


def test_orientation_and_spacing_drift(tmp_path):
    train = tmp_path / "train"
    serve = tmp_path / "serve"
    train.mkdir()
    serve.mkdir()
    img = nib.load(NIB_DATA / "anatomical.nii")
    data = np.asarray(img.dataobj).astype(np.float32)
    for k in range(2):
        nib.save(nib.Nifti1Image(data + k, img.affine), train / f"s{k}.nii.gz")
    flipped = img.affine.copy()
    flipped[0] *= -1  # LAS -> RAS
    flipped[:3, :3] *= 1.5  # 2 mm -> 3 mm
    nib.save(nib.Nifti1Image(data, flipped), serve / "s9.nii.gz")
    report = diff(train, serve)
    messages = [v.message for v in report.violations if v.code == "drift"]
    assert any("orientation RAS in" in m and "never occurs" in m for m in messages)
    assert any("typical voxel spacing 3x3x3 mm" in m for m in messages)
    shutil.rmtree(serve)
    serve.mkdir()
    nib.save(nib.Nifti1Image(data, img.affine), serve / "same.nii.gz")
    assert diff(train, serve).ok


def test_cli_diff(tmp_path, digits):
    (xa, ya), (xb, yb) = split(digits)
    np.savez(tmp_path / "train.npz", image=xa, label=ya)
    np.savez(tmp_path / "val.npz", image=xb * 255, label=yb)
    out = tmp_path / "diff.json"
    run = [sys.executable, "-m", "datacheck", "diff", str(tmp_path / "train.npz"),
           str(tmp_path / "val.npz"), "--json", str(out), "--save-a", str(tmp_path / "a.json")]
    result = subprocess.run(run, capture_output=True, text=True, timeout=180)
    assert result.returncode == 1, result.stderr
    assert "drift" in result.stdout
    data = json.loads(out.read_text())
    assert data["kind"] == "diff" and data["violations"][0]["code"] == "drift"
    again = subprocess.run([sys.executable, "-m", "datacheck", "diff", str(tmp_path / "a.json"),
                            str(tmp_path / "train.npz"), "-q"], capture_output=True, text=True,
                           timeout=180)
    assert again.returncode == 0 and again.stdout.startswith("OK"), again.stdout + again.stderr
    bad = subprocess.run([sys.executable, "-m", "datacheck", "diff", str(tmp_path / "a.json"),
                          str(tmp_path / "val.npz"), "--dedup"], capture_output=True, text=True,
                         timeout=180)
    assert bad.returncode == 2 and "without element hashes" in bad.stderr


def test_nifti_dtype_subset_is_not_an_error(tmp_path):
    # Issue 16: train stores int16 and float32 files, val only float32: one dataset once loaded.
    img = nib.load(NIB_DATA / "anatomical.nii")
    data = np.asarray(img.dataobj)
    for split, dtypes in (("train", ["int16", "float32"]), ("val", ["float32"]),
                          ("test", ["uint8"])):
        (tmp_path / split).mkdir()
        for k, dtype in enumerate(dtypes):
            scaled = data // 128 if dtype == "uint8" else data  # keep values in range
            nib.save(nib.Nifti1Image(scaled.astype(dtype), img.affine),
                     tmp_path / split / f"s{k}.nii.gz")
    subset = diff(tmp_path / "train", tmp_path / "val")
    assert not [v for v in subset.violations if "drift: dtype" in v.message], subset.to_text()
    widened = diff(tmp_path / "val", tmp_path / "train")
    [warning] = [v for v in widened.violations if "drift: dtype" in v.message]
    assert warning.severity == "warning" and "dtype int16 occurs in" in warning.message
    disjoint = diff(tmp_path / "train", tmp_path / "test")
    [error] = [v for v in disjoint.violations if "drift: dtype" in v.message]
    assert error.severity == "error" and "dtype float32/int16 in" in error.message


def test_label_shift_on_a_few_labels_is_a_warning(digits):
    # Issue 16: 12 labels cannot show a class shift beyond chance; 450 can.
    (xa, ya), (xb, yb) = split(digits)
    few = np.random.default_rng(0).choice(len(yb), 12, replace=False)  # a random small split
    report = diff((xa, ya), (xb[few], yb[few]))
    [v] = [v for v in report.violations if v.feature == "label"]
    assert v.observed["linf"] > 0.1  # beyond the distance threshold, by chance alone
    assert v.severity == "warning" and "may be chance (chi-square p = " in v.message
    assert v.observed["p_value"] >= 0.01
    many = np.flatnonzero(yb < 5)
    [v] = [v for v in diff((xa, ya), (xb[many], yb[many])).violations if v.feature == "label"]
    assert v.severity == "error" and v.observed["p_value"] < 1e-6


def test_two_splits_of_one_manifest(tmp_path):
    # Issue 16: `diff m.csv --split-a train --split-b val`.
    from datacheck.cli.main import main

    img = nib.load(NIB_DATA / "anatomical.nii")
    data = np.asarray(img.dataobj).astype(np.float32)
    rows = ["subject,split,image"]
    for k in range(3):
        nib.save(nib.Nifti1Image(data * (1 + 0.01 * k), img.affine), tmp_path / f"t{k}.nii.gz")
        rows.append(f"s{k},train,t{k}.nii.gz")
    nib.save(nib.Nifti1Image(data, img.affine), tmp_path / "v0.nii.gz")
    nib.save(nib.Nifti1Image(data / 1000, img.affine), tmp_path / "w0.nii.gz")
    rows += ["s7,val,v0.nii.gz", "s8,test,w0.nii.gz"]
    manifest = tmp_path / "m.csv"
    manifest.write_text("\n".join(rows) + "\n")
    same = diff(manifest, split_a="train", split_b="val")
    assert same.ok, same.to_text()
    assert same.stats["a"] == {"source": f"{manifest} [train]", "elements": 3}
    assert same.stats["b"]["elements"] == 1
    scaled = diff(manifest, split_a="train", split_b="test")
    assert "drift" in scaled.codes() and not scaled.ok
    assert main(["diff", str(manifest), "--split-a", "train", "--split-b", "val", "-q"]) == 0
    assert main(["diff", str(manifest), "--split-a", "train", "--split-b", "test", "-q"]) == 1
    with pytest.raises(DataError, match="split 'holdout' does not occur in column 'split'"):
        diff(manifest, split_a="train", split_b="holdout")
