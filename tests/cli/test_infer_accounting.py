"""`datacheck infer` never aborts on one bad file, and infers the order labels must arrive in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.infer.schema import infer

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "datacheck", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env=env)


def test_infer_on_a_folder_with_one_truncated_volume(tmp_path: Path, write_nifti) -> None:
    rng = np.random.default_rng(0)
    scans = tmp_path / "scans"
    scans.mkdir()
    for k in range(3):
        path = write_nifti(f"s{k}.nii.gz", rng.normal(size=(6, 7, 8)).astype(np.float32))
        path.rename(scans / path.name)
    cut = scans / "s1.nii.gz"
    cut.write_bytes(cut.read_bytes()[:200])
    result = run("infer", "scans", "-o", "schema.yaml", "--json", "infer.json", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "not used for the schema: scans/s1.nii.gz: unreadable" in result.stderr
    assert "1 of 3 inputs unreadable" in result.stderr
    schema = dc.load_schema(str(tmp_path / "schema.yaml"))
    assert schema.features["volume"].shape == [6, 7, 8, 1]
    text = (tmp_path / "schema.yaml").read_text()
    assert "(2 batches)" in text and "# Not used (1 unreadable inputs):" in text
    report = json.loads((tmp_path / "infer.json").read_text())
    assert report["kind"] == "infer" and report["counts"]["unreadable"] == 1
    assert report["counts"]["total"] == 3 == len(os.listdir(scans))
    entry = report["inputs"]["scans/s1.nii.gz"]
    assert entry["codes"] == ["unreadable"] and "truncated gzip stream" in entry["message"]
    assert report["inputs"]["scans/s0.nii.gz"]["status"] == "ok"
    # The schema describes the readable volumes: they pass it.
    assert dc.check([str(scans / "s0.nii.gz"), str(scans / "s2.nii.gz")], schema).ok
    # --profile reads the same way.
    again = run("infer", "scans", "--profile", "p.json", cwd=tmp_path)
    assert again.returncode == 1 and "scans/s1.nii.gz" in again.stderr
    assert again.stdout.startswith("# Inferred")


def test_infer_exit_0_and_missing_paths_named(tmp_path: Path, digits) -> None:
    x, y = digits
    np.savez(tmp_path / "a.npz", image=x, label=y)
    assert run("infer", "a.npz", cwd=tmp_path).returncode == 0
    result = run("infer", "a.npz", "nope.npz", "--json", "r.json", cwd=tmp_path)
    assert result.returncode == 1 and "nope.npz: no such file or folder" in result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert {k: v["status"] for k, v in report["inputs"].items()} == {"a.npz": "ok",
                                                                      "nope.npz": "unreadable"}
    nothing = run("infer", "nope.npz", cwd=tmp_path)
    assert nothing.returncode == 2 and "no readable input" in nothing.stderr


def test_python_api_warns_and_names_each_unreadable_input(tmp_path: Path, digits) -> None:
    x, y = digits
    np.savez(tmp_path / "a.npz", image=x, label=y)
    (tmp_path / "b.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.warns(UserWarning, match="1 unreadable inputs left out.*b.npz"):
        schema = dc.infer_schema([str(tmp_path / "a.npz"), str(tmp_path / "b.npz")])
    assert schema.labels["label"].num_classes == 10
    inference = infer([str(tmp_path / "a.npz"), str(tmp_path / "b.npz")])
    assert inference.inputs == {str(tmp_path / "a.npz"): "ok", str(tmp_path / "b.npz"):
                                "unreadable"}


def test_inferred_shuffle_window_fails_sorted_data(digits) -> None:
    x, y = digits  # shuffled
    inference = infer((x, y))
    label = inference.schema.labels["label"]
    assert label.shuffle_window == 3
    assert any("shuffle_window 3" in n for n in inference.notes["label"])
    assert dc.check((x, y), inference.schema).ok
    order = np.argsort(y, kind="stable")
    sorted_report = dc.check((x[order], y[order]), inference.schema)
    assert sorted_report.codes() == ["unshuffled"]
    # Inferred from sorted data, the schema passes that data (as with finite: false) and the
    # YAML says so, with the window shuffled data would get.
    from_sorted = infer((x[order], y[order]))
    assert from_sorted.schema.labels["label"].shuffle_window == 7
    assert "WARNING labels arrive sorted: 6 single-class batches in a row" in \
        from_sorted.to_yaml()


def test_shuffle_window_scales_with_imbalance_and_skips_single_elements() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(5000) < 0.03).astype(np.int64)  # 97% class 0: single-class batches happen
    x = rng.random((5000, 4)).astype(np.float32)
    window = infer({"x": x, "label": y}).schema.labels["label"].shuffle_window
    assert window is not None and window > 3
    assert dc.check({"x": x, "label": y}, infer({"x": x, "label": y}).schema).ok
    # Batches of one element carry no evidence of order.
    assert infer({"x": x[:50], "label": y[:50]}, batch_size=1).schema.labels[
        "label"].shuffle_window is None
