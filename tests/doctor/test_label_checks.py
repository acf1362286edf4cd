"""loss_mismatch, label_encoding, output_units, output_activation, label_range.

Each test builds the broken setup with a real Keras model, shows what Keras
itself does with it (raises, warns, or silently computes nonsense), and
asserts the doctor's code and fix.
"""

from __future__ import annotations

import numpy as np
import pytest

from datacheck.doctor import doctor
from datacheck.schema import Label, Schema


def _one(report, code):
    found = [v for v in report.violations if v.code == code]
    assert found, f"no {code} in {report.codes()}"
    return found[0]


def test_sparse_loss_with_one_hot_labels(make_cnn, digits, one_hot):
    x, _ = digits
    model = make_cnn()  # fresh: Keras calls with bad data leave a model's functions retraced
    with pytest.raises(ValueError, match="rank"):
        model.evaluate(x[:32], one_hot[:32], verbose=0)
    v = _one(doctor(model, (x, one_hot)), "loss_mismatch")
    assert v.severity == "error"
    assert "one-hot rows of width 10" in v.message and "categorical_crossentropy" in v.message
    assert "y.argmax(-1)" in v.message


def test_categorical_loss_with_integer_labels(make_cnn, digits, one_hot):
    x, y = digits
    model = make_cnn(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="same rank"):
        model.evaluate(x[:32], y[:32], verbose=0)
    v = _one(doctor(model, (x, y)), "loss_mismatch")
    assert "integer class ids [0, 9]" in v.message and "to_categorical(y, 10)" in v.message
    assert "shape (B, 1)" not in v.message
    assert doctor(model, (x, one_hot)).ok


def test_categorical_loss_with_column_of_ids_the_broadcast_case(make_cnn, digits):
    x, y = digits
    model = make_cnn(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="same shape"):
        model.evaluate(x[:32], y[:32, None], verbose=0)
    v = _one(doctor(model, (x, y[:, None])), "loss_mismatch")
    assert "shape (B, 1)" in v.message and "broadcast" in v.message
    assert v.observed == "class ids, shape (B, 1)"


def test_binary_loss_with_multi_class_labels(make_cnn, keras, digits):
    x, y = digits
    model = make_cnn(units=1, activation="sigmoid", loss="binary_crossentropy")
    # Class 6 as a BCE target: the loss has no minimum, it falls below zero as p -> 1.
    below_zero = keras.losses.binary_crossentropy(np.array([[6.0]]), np.array([[0.99]]))
    assert float(np.asarray(below_zero)[0]) < 0
    v = _one(doctor(model, (x, y)), "loss_mismatch")
    assert "10 class ids [0, 9]" in v.message and "Dense(10, activation='softmax')" in v.message
    assert doctor(model, (x, (y > 4).astype("int64"))).ok


def test_binary_loss_with_two_unit_head(make_cnn, digits):
    x, y = digits
    model = make_cnn(units=2, activation="sigmoid", loss="binary_crossentropy")
    v = _one(doctor(model, (x, (y > 4).astype("int64"))), "loss_mismatch")
    assert "Dense(1, activation='sigmoid')" in v.message


def test_linear_head_with_from_logits_false(make_cnn, keras, digits):
    x, y = digits
    # Keras clips logits read as probabilities: a wrong logit costs -log(1e-7) = 16.1, flat.
    clipped = keras.losses.SparseCategoricalCrossentropy()(np.array([0]), np.array([[-3.0, 5.0]]))
    assert float(clipped) == pytest.approx(16.118, abs=1e-2)
    v = _one(doctor(make_cnn(activation=None), digits), "loss_mismatch")
    assert v.severity == "error" and "from_logits=False" in v.message
    assert "SparseCategoricalCrossentropy(from_logits=True)" in v.message
    fixed = make_cnn(activation=None,
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert doctor(fixed, (x, y)).ok


def test_softmax_head_with_from_logits_true(make_cnn, keras, digits):
    x, y = digits
    model = make_cnn(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.warns(UserWarning, match="from_logits=True"):
        model.evaluate(x[:32], y[:32], verbose=0)
    report = doctor(model, (x, y))
    v = _one(report, "loss_mismatch")
    assert v.severity == "warning" and "applied twice" in v.message and report.ok


def test_string_labels(make_cnn, digits):
    x, y = digits
    model = make_cnn()
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])[y]
    with pytest.raises(ValueError):
        model.evaluate(x[:32], names[:32], verbose=0)
    v = _one(doctor(model, (x, names)), "label_encoding")
    assert "labels are strings ('six'" in v.message
    assert "StringLookup" in v.message and "LabelEncoder" in v.message


def test_fractional_float_labels(make_cnn, keras, digits):
    x, y = digits
    model = make_cnn()
    probs = model.predict(x[:64], verbose=0)
    scaled = y[:64] / 9.0
    # Keras casts the floats to int: 0.67 becomes class 0, silently.
    as_float = keras.losses.sparse_categorical_crossentropy(scaled, probs)
    as_cast = keras.losses.sparse_categorical_crossentropy(scaled.astype("int64"), probs)
    np.testing.assert_allclose(np.asarray(as_float), np.asarray(as_cast), rtol=1e-6)
    v = _one(doctor(model, (x, y / 9.0)), "label_encoding")
    assert "fractional floats in [0, 1]" in v.message and "casts them to int" in v.message


def test_two_unit_head_for_ten_classes(make_cnn, digits):
    x, y = digits
    model = make_cnn(units=2)
    with pytest.raises(Exception, match="outside the valid range"):
        model.evaluate(x[:32], y[:32], verbose=0)
    v = _one(doctor(model, (x, y)), "output_units")
    assert v.severity == "error" and (v.observed, v.expected) == (2, 10)
    assert "labels hold 10 classes" in v.message and "Dense(10, activation='softmax')" in v.message


def test_extra_units_warn_without_schema_and_fail_with_one(make_cnn, digits):
    x, y = digits
    model = make_cnn(units=12)
    v = _one(doctor(model, (x, y)), "output_units")
    assert v.severity == "warning" and "only 10 classes" in v.message
    schema = Schema(name="digits10", labels={"label": Label(num_classes=10)},
                    features={"image": {"shape": [8, 8, 1]}})
    v = _one(doctor(model, (x, y), schema), "output_units")
    assert v.severity == "error" and "schema num_classes 10" in v.message


def test_one_hot_width_against_units(make_cnn, digits, one_hot):
    model = make_cnn(units=5, loss="categorical_crossentropy")
    v = _one(doctor(model, (digits[0], one_hot)), "output_units")
    assert "rows of width 10" in v.message and "Dense(10)" in v.message


def test_softmax_on_one_unit(make_cnn, digits):
    x, y = digits
    model = make_cnn(units=1, loss="binary_crossentropy")
    with pytest.warns(UserWarning, match="always return the value 1"):
        out = model.predict(x[:16], verbose=0)
    np.testing.assert_allclose(out, 1.0, rtol=1e-6)  # constant output, nothing to learn
    v = _one(doctor(model, (x, (y > 4).astype("int64"))), "output_activation")
    assert v.severity == "error" and "always outputs 1.0" in v.message
    assert "activation='sigmoid'" in v.message


def test_sigmoid_on_a_ten_class_head(make_cnn, digits):
    x, y = digits
    model = make_cnn(activation="sigmoid")
    sums = model.predict(x[:16], verbose=0).sum(axis=1)
    assert not np.allclose(sums, 1.0)  # not a distribution over classes
    report = doctor(model, (x, y))
    v = _one(report, "output_activation")
    assert v.severity == "warning" and "sigmoid on a 10-class single-label head" in v.message
    bce = doctor(make_cnn(activation="sigmoid", loss="binary_crossentropy"),
                 (x, np.eye(10)[y]))
    assert "binary accuracy" in _one(bce, "output_activation").message


def test_relu_final_activation(make_cnn, digits):
    v = _one(doctor(make_cnn(activation="relu"), digits), "output_activation")
    assert v.severity == "error" and "'relu'" in v.message


def test_negative_and_one_based_labels(make_cnn, cnn, digits):
    x, y = digits
    with pytest.raises(Exception, match="outside the valid range"):  # class 10 of 10 units
        make_cnn().evaluate(x[:32], np.full(32, 10), verbose=0)
    v = _one(doctor(cnn, (x, y + 1)), "label_range")
    assert "look 1-based" in v.message and "y - 1" in v.message
    assert "output_units" not in doctor(cnn, (x, y + 1)).codes()
    unlabeled = np.where(np.arange(len(y)) % 10 == 0, -1, y)
    v = _one(doctor(cnn, (x, unlabeled)), "label_range")
    assert "must be >= 0" in v.message and "ignore_class=-1" in v.message


def test_labels_beyond_schema_num_classes(make_cnn, digits):
    x, y = digits
    schema = Schema(name="digits8", features={"image": {"shape": [8, 8, 1]}},
                    labels={"label": Label(num_classes=8)})
    report = doctor(make_cnn(units=8), (x, y), schema)
    v = _one(report, "label_range")
    assert "num_classes 8" in v.message and v.expected == "[0, 7]"


def test_mse_on_class_ids(make_cnn, digits):
    x, y = digits
    model = make_cnn(loss="mse")
    with pytest.raises(ValueError, match="Dimensions must be equal"):
        model.evaluate(x[:32], y[:32], verbose=0)
    assert "shape error" in _one(doctor(model, (x, y)), "loss_mismatch").message
    # A column of ids broadcasts against the 10 outputs: no error from Keras at all.
    assert np.isfinite(model.evaluate(x[:32], y[:32, None], verbose=0))
    v = _one(doctor(model, (x, y[:, None])), "loss_mismatch")
    assert "broadcasting" in v.message and "sparse_categorical_crossentropy" in v.message


def test_multi_hot_with_categorical_loss(make_cnn, digits):
    x, y = digits
    multi = np.eye(10)[y] + np.eye(10)[(y + 1) % 10]
    v = _one(doctor(make_cnn(loss="categorical_crossentropy"), (x, multi)), "loss_mismatch")
    assert v.severity == "warning" and "multi-hot" in v.message


def test_uncompiled_model_still_checks_units(make_cnn, digits):
    report = doctor(make_cnn(units=2, loss=None), digits)
    assert "output_units" in report.codes()
    assert any("not compiled" in n for n in report.stats["notes"])
    given = doctor(make_cnn(units=10, loss=None), (digits[0], digits[1] / 9.0),
                   loss="sparse_categorical_crossentropy")
    assert "label_encoding" in given.codes()
