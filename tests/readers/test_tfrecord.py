"""TFRecord files written by TensorFlow's own writer, checked by datacheck without TensorFlow.

Digits (scikit-learn) as PNG bytes or raw float32 tensors with int64 labels;
corrupt bytes, undecodable images and a missing schema section each end in
the report with the record index and the reason.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datacheck.readers.tfrecord import iter_records, parse_example
from datacheck.scan.paths import check_paths
from datacheck.schema.model import Feature, Label, Schema
from datacheck.schema.tfrecord import TFRecordSpec

tf = pytest.importorskip("tensorflow")


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _example(**features: object) -> bytes:
    feature = {}
    for key, value in features.items():
        key = key.replace("__", "/")
        if isinstance(value, bytes):
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        elif np.asarray(value).dtype.kind == "f":
            floats = np.asarray(value).ravel().tolist()
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=floats))
        else:
            ints = np.asarray(value).ravel().tolist()
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=ints))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


@pytest.fixture(scope="module")
def digits_u8() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images[:60] * 255 / 16).round().astype(np.uint8), data.target[:60]


def _write(path: Path, records: list[bytes]) -> Path:
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    return path


def _png_schema() -> Schema:
    return Schema(name="digits", features={"image": Feature(
        layout="HWC", shape=[8, 8, 1], normalization="unit")},
        labels={"label": Label(num_classes=10)},
        tfrecord=TFRecordSpec(features={"image": {"key": "image/encoded", "encoding": "image"},
                                        "label": {"key": "image/class/label"}}))


def test_png_records_and_labels_pass(tmp_path: Path, digits_u8) -> None:
    x, y = digits_u8
    path = _write(tmp_path / "train.tfrecord", [
        _example(image__encoded=_png(img), image__class__label=[int(lab)])
        for img, lab in zip(x, y, strict=True)])
    report = check_paths([path], _png_schema())
    assert report.ok, report.to_text()
    assert report.summaries["label"]["elements"] == 60
    assert report.inputs == {str(path): "ok"}


def test_parse_matches_what_tensorflow_wrote(tmp_path: Path) -> None:
    values = np.array([1.5, -2.25, 3.0], np.float32)
    path = _write(tmp_path / "a.tfrecord", [_example(f=values, i=[-3, 0, 2**40], b=b"\x00ab")])
    (record,) = list(iter_records(path))
    parsed = parse_example(record)
    np.testing.assert_array_equal(parsed["f"], values)
    np.testing.assert_array_equal(parsed["i"], [-3, 0, 2**40])
    assert parsed["b"] == [b"\x00ab"]


def test_raw_tensors_are_judged_per_record(tmp_path: Path, digits_u8) -> None:
    x, y = digits_u8
    images = (x / 255.0).astype(np.float32)
    images[7] *= 255  # one record left unscaled
    path = _write(tmp_path / "raw.tfrecord", [
        _example(x=img.tobytes(), y=[int(lab)]) for img, lab in zip(images, y, strict=True)])
    schema = Schema(name="raw", features={"image": Feature(layout="HW", normalization="unit")},
                    labels={"label": Label(num_classes=10)},
                    tfrecord=TFRecordSpec(features={
                        "image": {"key": "x", "encoding": "raw", "dtype": "float32",
                                  "shape": [8, 8]},
                        "label": {"key": "y"}}))
    report = check_paths([path], schema)
    assert report.codes() == ["range"]
    assert report.violations[0].extra["indices"] == [7]
    assert report.inputs[str(path)] == "violating"


def test_undecodable_records_are_named_and_the_rest_checked(tmp_path: Path, digits_u8) -> None:
    x, y = digits_u8
    records = [_example(image__encoded=_png(img), image__class__label=[int(lab)])
               for img, lab in zip(x[:10], y[:10], strict=True)]
    records[4] = _example(image__encoded=b"not a png", image__class__label=[1])
    path = _write(tmp_path / "mixed.tfrecord", records)
    report = check_paths([path], _png_schema())
    (bad,) = [v for v in report.violations if v.code != "num_classes"]  # 10 digits: a class short
    assert bad.code == "unreadable" and bad.extra["bad_records"] == [4]
    assert "1 of 10 records could not be decoded (record 4;" in bad.message
    assert report.summaries["label"]["elements"] == 9
    assert report.inputs[str(path)] == "violating"


def test_corrupt_bytes_end_the_file_and_say_where(tmp_path: Path, digits_u8) -> None:
    x, y = digits_u8
    path = _write(tmp_path / "c.tfrecord", [
        _example(image__encoded=_png(img), image__class__label=[int(lab)])
        for img, lab in zip(x[:10], y[:10], strict=True)])
    data = bytearray(path.read_bytes())
    size = len(data) // 10
    data[size * 6 + 40] ^= 0xFF  # inside record 6
    path.write_bytes(bytes(data))
    report = check_paths([path], _png_schema())
    (bad,) = [v for v in report.violations if v.code != "num_classes"]  # 6 digits: classes short
    assert bad.code == "unreadable" and "record 6" in bad.message
    assert "the file breaks after 6 records" in bad.message
    assert report.summaries["label"]["elements"] == 6


def test_a_schema_without_the_section_says_how_to_write_it(tmp_path: Path, digits_u8) -> None:
    x, _ = digits_u8
    path = _write(tmp_path / "t.tfrecord", [_example(image__encoded=_png(x[0]))])
    schema = Schema(name="s", features={"image": Feature(layout="HWC")})
    report = check_paths([path], schema)
    (bad,) = report.violations
    assert bad.code == "unreadable" and "needs a tfrecord: section" in bad.message
    assert report.inputs[str(path)] == "unreadable"


def _frame(data: bytes) -> bytes:
    import struct

    from datacheck.readers.tfrecord import masked_crc

    head = struct.pack("<Q", len(data))
    return (head + struct.pack("<I", masked_crc(head)) + data
            + struct.pack("<I", masked_crc(data)))


def test_own_framing_matches_tensorflow(tmp_path: Path, digits_u8) -> None:
    record = _example(image__encoded=_png(digits_u8[0][0]), image__class__label=[3])
    path = _write(tmp_path / "one.tfrecord", [record])
    assert path.read_bytes() == _frame(record)


def test_fuzzed_examples_end_in_the_report_with_a_reason(tmp_path_factory, digits_u8) -> None:
    """Mutated Example bytes, re-framed with valid CRCs so the protobuf parser sees them."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.hardening import targets

    folder = tmp_path_factory.mktemp("fuzz")
    seed = _example(image__encoded=_png(digits_u8[0][0]), image__class__label=[3])
    schema = _png_schema()

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(edits=st.lists(st.tuples(st.integers(0, 1 << 10), st.binary(min_size=1, max_size=3)),
                          min_size=1, max_size=4), cut=st.none() | st.integers(0, 1 << 10),
           raw=st.booleans())
    def run(edits, cut, raw) -> None:
        data = bytearray(seed)
        for at, patch in edits:
            at %= len(data)
            data[at:at + len(patch)] = patch
        if cut is not None:
            data = data[:cut % (len(data) + 1)]
        framed = bytes(data) if raw else _frame(bytes(data))
        path = folder / "case.tfrecord"
        path.write_bytes(framed)
        targets.reader_file(path, schema)

    run()
