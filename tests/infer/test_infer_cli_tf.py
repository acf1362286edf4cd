"""`datacheck infer` on the command line, and inference from tf.data datasets."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import datacheck as dc


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "datacheck", *args], capture_output=True,
                          text=True, timeout=180)


def test_cli_writes_yaml_that_checks(tmp_path, digits):
    x, y = digits
    data = tmp_path / "train.npz"
    np.savez(data, image=x, label=y)
    schema_path = tmp_path / "schema.yaml"
    profile = tmp_path / "train.profile.json"
    result = run("infer", str(data), "--name", "train_digits", "-o", str(schema_path),
                 "--profile", str(profile), "--hashes")
    assert result.returncode == 0, result.stderr
    text = schema_path.read_text()
    assert "name: train_digits" in text and "normalization: unit" in text
    saved = json.loads(profile.read_text())
    assert saved["kind"] == "datacheck-profile" and len(saved["hashes"]["exact"]) == len(x)
    check = run("check", "--schema", str(schema_path), str(data))
    assert check.returncode == 0, check.stdout + check.stderr
    out = run("infer", str(data), "--format", "json")
    assert json.loads(out.stdout)["labels"]["label"]["num_classes"] == 10


def test_cli_errors_exit_2(tmp_path):
    result = run("infer", str(tmp_path / "nothing.npz"))
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr and "Traceback" not in result.stderr
    result = run("infer", str(tmp_path), "--hashes")
    assert result.returncode == 2 and "--hashes goes with --profile" in result.stderr


def test_tf_datasets_batched_and_not(digits):
    tf = pytest.importorskip("tensorflow")
    x, y = digits
    single = tf.data.Dataset.from_tensor_slices((x, y))
    schema = dc.infer_schema(single)
    assert schema.features["image"].shape == [8, 8, 1]
    assert schema.labels["label"].num_classes == 10
    assert dc.check(single, schema).ok
    batched = tf.data.Dataset.from_tensor_slices({"pixels": x, "label": y}).batch(64)
    schema = dc.infer_schema(batched)
    assert set(schema.features) == {"pixels"} and set(schema.labels) == {"label"}
    assert dc.check(batched, schema).ok
