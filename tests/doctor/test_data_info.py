"""read_data: arrays, dicts, .npz files and tf.data samples, split into features and labels."""

from __future__ import annotations

import numpy as np
import pytest

from datacheck.doctor.data_info import label_facts, read_data, split
from datacheck.errors import DataError
from datacheck.schema import load_schema


def test_tuple_binds_x_and_y_and_ignores_sample_weights(digits):
    x, y = digits
    features, labels = split((x, y, np.ones(len(y))), None, [], [])
    assert list(features) == ["x"] and list(labels) == ["y"]


def test_dict_keys_split_by_name(digits):
    x, y = digits
    features, labels = split({"image": x, "label": y}, None, [], [])
    assert list(features) == ["image"] and list(labels) == ["label"]
    features, labels = split({"pixels": x, "digit": y}, None, ["pixels"], ["digit"])
    assert list(features) == ["pixels"] and list(labels) == ["digit"]


def test_list_of_arrays_is_one_array_per_input(digits):
    x, y = digits
    features, _ = split(([x, x[:, :, :, 0]], y), None, ["a", "b"], [])
    assert list(features) == ["a", "b"]


def test_schema_names_bind_positionally(digits):
    features, labels = split(digits, load_schema("digits"), [], [])
    assert list(features) == ["image"] and list(labels) == ["label"]


def test_bad_type_is_one_line_error():
    with pytest.raises(DataError, match="cannot read data of type int"):
        split(3, None, [], [])


@pytest.mark.parametrize(("labels", "kind"), [
    (np.array([0, 3, 9, 3]), "sparse"),
    (np.array([[0], [3], [9], [1]]), "sparse"),
    (np.array([0.0, 0.5, 1.0, 0.25]), "float"),
    (np.eye(4)[[0, 1, 2, 3]], "one_hot"),
    (np.array([[1, 1, 0], [0, 1, 0]]), "multi_hot"),
    (np.array([[0.9, 0.1], [0.2, 0.8]]), "soft"),
    (np.zeros((2, 8, 8), dtype="int64"), "dense"),
    (np.array(["cat", "dog"]), "string"),
])
def test_label_kinds(labels, kind):
    assert label_facts("y", labels, 32).kind == kind


def test_one_hot_sequence_is_the_argmax(one_hot, digits):
    facts = label_facts("y", one_hot, 32)
    assert (facts.sequence == digits[1]).all() and facts.width == 10


def test_npz_named_and_unnamed(tmp_path, digits):
    x, y = digits
    named = tmp_path / "named.npz"
    np.savez(named, x_train=x, y_train=y)
    info = read_data(str(named), None, [], [])
    assert list(info.features) == ["x_train"] and list(info.labels) == ["y_train"]
    unnamed = tmp_path / "unnamed.npz"
    np.savez(unnamed, x, y)
    info = read_data(unnamed, None, [], [])
    assert list(info.features) == ["x"] and info.elements == len(y)
    assert info.source == str(unnamed)


def test_npz_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_data(tmp_path / "missing.npz", None, [], [])
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(DataError, match=r"reads \.npz files"):
        read_data(tmp_path / "data.csv", None, [], [])
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        read_data(tmp_path / "bad.npz", None, [], [])


def test_tf_dataset_sample_is_bounded_and_says_so(digits):
    tf = pytest.importorskip("tensorflow")
    x, y = digits
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    info = read_data(ds, None, [], [], model_rank=3, max_batches=5)
    assert (info.sampled_batches, info.exhausted, info.elements) == (5, False, 160)
    assert "first 5 batches sampled" in info.describe()
    whole = read_data(ds, None, [], [], model_rank=3, max_batches=100)
    assert whole.exhausted and whole.elements == len(y) and whole.sampled_batches == 57


def test_tf_dataset_unbatched_is_batched_for_reading(digits):
    tf = pytest.importorskip("tensorflow")
    x, y = digits
    ds = tf.data.Dataset.from_tensor_slices({"image": x, "label": y})
    info = read_data(ds, None, [], [], model_rank=3, max_batches=2)
    assert info.elements == 64 and info.batch_size == 32
    assert info.feature_summaries["image"].shapes[(8, 8, 1)] == 64


def test_tf_dataset_string_labels_decode(digits):
    tf = pytest.importorskip("tensorflow")
    x, y = digits
    ds = tf.data.Dataset.from_tensor_slices((x, np.array([str(v) for v in y]))).batch(32)
    facts = read_data(ds, None, [], [], max_batches=1).label_facts["y"]
    assert facts.kind == "string" and facts.examples[0] == str(y[0])


def test_empty_and_failing_datasets(digits):
    tf = pytest.importorskip("tensorflow")
    x, y = digits
    with pytest.raises(DataError, match="empty"):
        read_data(tf.data.Dataset.from_tensor_slices((x, y)).batch(32).take(0), None, [], [])
    # A pipeline whose map raises on the first element (division by zero -> NaN -> error).
    failing = tf.data.Dataset.from_tensor_slices((x[:4], y[:4])).batch(1).map(
        lambda a, b: (tf.debugging.check_numerics(a / tf.cast(b - b, tf.float32), "x"), b))
    with pytest.raises(DataError, match=r"reading the tf\.data pipeline failed"):
        read_data(failing, None, [], [])
