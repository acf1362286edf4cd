"""class_balance and unshuffled, judged the way fit() consumes arrays and datasets."""

from __future__ import annotations

import numpy as np
import pytest

from datacheck.doctor import doctor


def _one(report, code):
    found = [v for v in report.violations if v.code == code]
    assert found, f"no {code} in {report.codes()}"
    return found[0]


@pytest.fixture(scope="module")
def sorted_digits(digits):
    x, y = digits
    order = np.argsort(y, kind="stable")
    return x[order], y[order]


def test_sorted_labels_break_validation_split(make_cnn, sorted_digits):
    x, y = sorted_digits
    model = make_cnn(loss=None)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, batch_size=64, validation_split=0.2, verbose=0)
    assert history.history["val_accuracy"][-1] < 0.25  # validates on classes it never saw
    v = _one(doctor(model, (x, y)), "unshuffled")
    assert v.severity == "error" and "sorted by class" in v.message
    assert "hold only classes 7, 8, 9 of 10" in v.message
    assert "classes 8, 9 never occur in the first 80%" in v.message
    assert "permutation(len(y))" in v.message


def test_grouped_in_random_class_order(cnn, digits):
    x, y = digits
    classes = [3, 7, 1, 9, 0, 5, 2, 8, 6, 4]
    order = np.concatenate([np.flatnonzero(y == c) for c in classes])
    v = _one(doctor(cnn, (x[order], y[order])), "unshuffled")
    assert "grouped by class" in v.message and "classes 4, 6 of 10" in v.message


def test_shuffled_digits_are_clean(cnn, digits):
    assert not {"unshuffled", "class_balance"} & set(doctor(cnn, digits).codes())


def test_single_class_batches_warn_for_arrays(cnn, rng):
    # Runs of 3 single-class batches cycling through all classes: validation_split still sees
    # every class, but fit(shuffle=False) or a tf.data pipeline would train class by class.
    y = np.repeat(np.tile(np.arange(10), 7), 96)
    x = rng.random((len(y), 8, 8, 1)).astype("float32")
    report = doctor(cnn, (x, y))
    v = _one(report, "unshuffled")
    assert v.severity == "warning" and "consecutive batches of 32" in v.message and report.ok


def test_dataset_in_class_order(cnn, sorted_digits):
    tf = pytest.importorskip("tensorflow")
    ds = tf.data.Dataset.from_tensor_slices(sorted_digits).batch(32)
    v = _one(doctor(cnn, ds, max_batches=5), "unshuffled")
    assert v.severity == "error"
    assert "first 5 batches (160 examples) all hold class 0" in v.message
    assert "ds.shuffle(buffer_size)" in v.message
    runs = _one(doctor(cnn, ds, max_batches=20), "unshuffled")
    assert "consecutive batches of 32" in runs.message
    shuffled = tf.data.Dataset.from_tensor_slices(sorted_digits).shuffle(2000, seed=0).batch(32)
    assert "unshuffled" not in doctor(cnn, shuffled, max_batches=20).codes()


def test_one_class_dominates(cnn, digits, one_hot):
    x, y = digits
    skewed = np.where(np.arange(len(y)) % 20 == 0, y, 0)
    report = doctor(cnn, (x, skewed))
    v = _one(report, "class_balance")
    assert v.severity == "warning" and report.ok
    assert "class 0 makes up 95.4%" in v.message and "class_weight=" in v.message
    one_hot_skewed = np.eye(10)[skewed]
    assert "class_balance" in doctor(cnn, (x, one_hot_skewed),
                                     loss="categorical_crossentropy").codes()


def test_only_one_class(cnn, digits):
    x, y = digits
    v = _one(doctor(cnn, (x, np.full_like(y, 4))), "class_balance")
    assert v.severity == "error" and "every one of the 1797 labels is class 4" in v.message
