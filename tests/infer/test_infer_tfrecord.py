"""`datacheck infer` on TFRecord files (written by TensorFlow's own writer): the schema it
writes has the tfrecord: section, checks its own clean data and fails on a planted fault."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from datacheck.infer.tfrecord import tfrecord_section
from datacheck.scan.paths import check_paths
from datacheck.schema.io import load_schema

tf = pytest.importorskip("tensorflow")
ROOT = Path(__file__).resolve().parents[2]


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _bytes(value: bytes) -> object:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _ints(values: list[int]) -> object:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _write(path: Path, examples: list[dict[str, object]]) -> Path:
    with tf.io.TFRecordWriter(str(path)) as writer:
        for feature in examples:
            writer.write(tf.train.Example(features=tf.train.Features(
                feature=feature)).SerializeToString())
    return path


@pytest.fixture(scope="module")
def digits_u8() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images[:120] * 255 / 16).round().astype(np.uint8), data.target[:120]


def _png_records(x: np.ndarray, y: np.ndarray) -> list[dict[str, object]]:
    return [{"image/encoded": _bytes(_png(img)), "image/class/label": _ints([int(lab)])}
            for img, lab in zip(x, y, strict=True)]


def _infer(*paths: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "datacheck", "infer", *map(str, paths)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_infer_png_records_writes_the_section_and_checks_clean_data(tmp_path, digits_u8):
    x, y = digits_u8
    path = _write(tmp_path / "train.tfrecord", _png_records(x, y))
    inferred = _infer(path)
    assert inferred.returncode == 0, inferred.stderr
    text = inferred.stdout
    body = yaml.safe_load(text)
    spec = body["tfrecord"]["features"]
    assert set(spec) == {"image", "label"}
    assert (spec["image"]["key"], spec["image"]["encoding"]) == ("image/encoded", "image")
    assert (spec["label"]["key"], spec["label"]["encoding"]) == ("image/class/label", "int64")
    assert body["features"]["image"]["shape"] == [8, 8, 1]
    assert body["labels"]["label"]["num_classes"] == 10
    schema_path = tmp_path / "schema.yaml"
    schema_path.write_text(text)
    report = check_paths([path], load_schema(schema_path))
    assert report.ok, report.to_text()
    assert report.summaries["label"]["elements"] == 120
    assert report.inputs == {str(path): "ok"}


def test_the_inferred_schema_fails_on_a_planted_fault(tmp_path, digits_u8):
    x, y = digits_u8
    clean = _write(tmp_path / "train.tfrecord", _png_records(x, y))
    inferred = _infer(clean)
    assert inferred.returncode == 0, inferred.stderr
    schema = tmp_path / "schema.yaml"
    schema.write_text(inferred.stdout)
    # Same digits, but record 7 is an RGB image and record 30 carries label 12.
    records = _png_records(x, y)
    records[7]["image/encoded"] = _bytes(_png(np.repeat(x[7][..., None], 3, axis=2)))
    records[30]["image/class/label"] = _ints([12])
    faulty = _write(tmp_path / "val.tfrecord", records)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    checked = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema",
                              str(schema), str(faulty), "--json", str(tmp_path / "r.json")],
                             capture_output=True, text=True, env=env, timeout=300)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    import json

    found = json.loads((tmp_path / "r.json").read_text())
    by_code = {v["code"]: v for v in found["violations"]}
    assert set(by_code) == {"shape", "label_range"}
    assert by_code["shape"]["feature"] == "image"
    assert "element shape (8, 8, 3) does not match (8, 8, 1)" in by_code["shape"]["message"]
    assert by_code["shape"]["where"] == f"{faulty}, element 7"  # element N is record N
    assert by_code["label_range"]["feature"] == "label"
    assert by_code["label_range"]["where"] == f"{faulty}, element 30"
    assert "labels span [12, 12], expected [0, 9]" in by_code["label_range"]["message"]


def test_raw_tensors_with_shape_keys_and_a_corrupt_record(tmp_path, digits_u8):
    x, y = digits_u8
    records = [{"pixels": _bytes((img / 255).astype(np.float32).tobytes()),
                "height": _ints([8]), "width": _ints([8]), "label": _ints([int(lab)])}
               for img, lab in zip(x[:40], y[:40], strict=True)]
    records[5]["pixels"] = _bytes(b"\x00" * 10)  # cut short: that record is unreadable
    path = _write(tmp_path / "raw.tfrecord", records)
    from datacheck.infer.schema import infer

    inference = infer(str(path))
    section = inference.schema.tfrecord
    assert section is not None
    spec = section.features["pixels"]
    assert (spec.encoding, spec.dtype, spec.shape) == ("raw", "float32", [8, 8])
    assert section.features["label"].key == "label"
    assert [k for k in inference.problems] == [f"{path} record 5"]
    assert "holds 10 bytes, but float32 [8, 8] needs 256" in \
        inference.problems[f"{path} record 5"].message
    assert inference.inputs[f"{path} record 5"] == "unreadable"


def test_raw_bytes_without_a_shape_are_left_out_with_the_reason():
    notes: list[str] = []
    section = tfrecord_section([{"blob": [b"\x01\x02\x03"], "y": np.array([1])}], notes)
    assert section == {"label": {"key": "y", "encoding": "int64"}}
    assert notes and notes[0].startswith("left out: blob: raw bytes (3 per record)")
