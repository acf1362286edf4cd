"""input_shape, unnormalized, double_normalized, dtype, nonfinite, constant on real models."""

from __future__ import annotations

import numpy as np
import pytest

from datacheck.doctor import doctor
from datacheck.rules.model.inputs import shape_fix


def _one(report, code):
    found = [v for v in report.violations if v.code == code]
    assert found, f"no {code} in {report.codes()}"
    return found[0]


def test_clean_data_and_model_pass(cnn, digits):
    report = doctor(cnn, digits)
    assert report.ok and report.violations == [] and report.kind == "doctor"


def test_missing_channel_axis_unbuilt_model(keras, digits):
    x, y = digits
    model = keras.Sequential([keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    model.compile(loss="sparse_categorical_crossentropy")
    report = doctor(model, (x[..., 0], y))
    v = _one(report, "input_shape")
    assert v.severity == "error" and v.feature == "x"
    assert "shape (8, 8) but the model's first layer 'conv2d" in v.message
    assert "x[..., None]" in v.message
    with pytest.raises(ValueError, match="expected min_ndim=4"):  # the bug, as Keras meets it
        model.predict(x[:4, :, :, 0], verbose=0)
    assert doctor(model, (x[..., 0][..., None], y)).ok  # the suggested fix works


def test_missing_channel_axis_functional_model_is_a_warning(make_cnn, digits):
    x, y = digits
    # A fresh model per test that feeds Keras bad shapes: after a call with another rank,
    # Keras retraces predict with unknown rank and the model's later calls fail.
    model = make_cnn()
    # Keras 3 functional models expand a missing trailing axis of size 1 themselves.
    assert model.predict(x[:4, :, :, 0], verbose=0).shape == (4, 10)
    report = doctor(model, (x[..., 0], y))
    v = _one(report, "input_shape")
    assert v.severity == "warning" and report.ok
    assert "shape (8, 8) but the model input expects (8, 8, 1)" in v.message
    assert "x[..., None]" in v.message and "Keras 3 adjusts this axis itself" in v.message


def test_nchw_data_for_nhwc_model_gets_the_permutation(make_cnn, digits):
    x, y = digits
    model = make_cnn()
    nchw = np.transpose(x, (0, 3, 1, 2))
    with pytest.raises(ValueError):
        model.predict(nchw[:4], verbose=0)
    v = _one(doctor(model, (nchw, y)), "input_shape")
    assert "channels-first (NCHW)" in v.message and "np.transpose(x, (0, 2, 3, 1))" in v.message
    assert doctor(model, (np.transpose(nchw, (0, 2, 3, 1)), y)).ok


def test_rgb_nchw_permutation_and_channels_first_model():
    assert "np.transpose(x, (0, 2, 3, 1))" in shape_fix((3, 32, 32), (32, 32, 3), False)
    assert "np.transpose(x, (0, 3, 1, 2))" in shape_fix((32, 32, 3), (3, 32, 32), True)
    assert "np.expand_dims(x, 1)" in shape_fix((8, 8), (1, 8, 8), True)
    assert "np.squeeze(x, axis=3)" in shape_fix((8, 8, 1, 1), (8, 8, 1), False)
    assert "keras.layers.Resizing(8, 8)" in shape_fix((16, 16, 1), (8, 8, 1), False)


def test_flat_model_fed_images_says_flatten(keras, digits):
    x, y = digits
    mlp = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    mlp.compile(loss="sparse_categorical_crossentropy")
    v = _one(doctor(mlp, (x, y)), "input_shape")
    assert "x.reshape(len(x), -1)" in v.message


def test_pixels_0_255_without_rescaling(make_cnn, digits):
    x, y = digits
    model = make_cnn()
    raw = (x * 255).astype("uint8")
    # The bug: the untrained model's loss on raw pixels is far from the ln(10) of a fresh head.
    raw_loss = model.evaluate(raw[:128], y[:128], verbose=0)
    assert raw_loss > 2 * model.evaluate(x[:128], y[:128], verbose=0)
    v = _one(doctor(model, (raw, y)), "unnormalized")
    assert v.severity == "error"
    assert "values span [0, 255]" in v.message and "Rescaling(1/255)" in v.message
    import keras

    assert doctor(make_cnn(front=[keras.layers.Rescaling(1 / 255)]), (raw, y)).ok


def test_digits_0_16_suggest_their_own_scale(cnn, digits):
    x, y = digits
    v = _one(doctor(cnn, (x * 16, y)), "unnormalized")
    assert "Rescaling(1/16)" in v.message


def test_unadapted_normalization_layer(make_cnn, keras, digits):
    x, y = digits
    model = make_cnn(front=[keras.layers.Normalization(axis=None)])
    v = _one(doctor(model, (x * 255, y)), "unnormalized")
    assert "was never adapted" in v.message and ".adapt(x_train)" in v.message


def test_rescaling_with_the_wrong_factor(make_cnn, keras, digits):
    x, y = digits
    model = make_cnn(front=[keras.layers.Rescaling(1 / 16)])
    v = _one(doctor(model, (x * 255, y)), "unnormalized")
    assert "still span [0, 15.9" in v.message


def test_lambda_in_front_downgrades_to_warning(make_cnn, keras, digits):
    x, y = digits
    model = make_cnn(front=[keras.layers.Lambda(lambda t: t / 255.0)])
    report = doctor(model, (x * 255, y))
    v = _one(report, "unnormalized")
    assert v.severity == "warning" and "Lambda" in v.message and report.ok


def test_batch_normalization_in_front_is_not_judged(make_cnn, keras, digits):
    x, y = digits
    model = make_cnn(front=[keras.layers.BatchNormalization()])
    assert doctor(model, (x * 255, y)).violations == []


def test_double_normalized_rescaling(make_cnn, keras, digits):
    x, _y = digits
    rescale = keras.layers.Rescaling(1 / 255)
    assert float(np.max(rescale(x))) < 0.004  # the bug: what the Conv2D actually receives
    v = _one(doctor(make_cnn(front=[rescale]), digits), "double_normalized")
    assert v.severity == "error" and "Remove the Rescaling layer" in v.message
    assert "[0, 0.003922]" in v.message


def test_double_normalized_normalization_adapted_on_raw(make_cnn, keras, digits):
    x, _y = digits
    norm = keras.layers.Normalization(axis=None)
    norm.adapt(x * 255)
    v = _one(doctor(make_cnn(front=[norm]), digits), "double_normalized")
    assert "Adapt the Normalization layer" in v.message


def test_string_nan_and_constant_inputs(keras, cnn, digits):
    x, y = digits
    flat = keras.Sequential([keras.Input((1,)), keras.layers.Dense(10, activation="softmax")])
    flat.compile(loss="sparse_categorical_crossentropy")
    v = _one(doctor(flat, (np.array([["a"]] * len(y)), y)), "dtype")
    assert "StringLookup" in v.message
    nan = x.copy()
    nan[3, 0, 0, 0] = np.nan
    assert "1 NaN/Inf" in _one(doctor(cnn, (nan, y)), "nonfinite").message
    assert "every value is 0" in _one(doctor(cnn, (np.zeros_like(x), y)), "constant").message
