"""read_model: input shapes, output heads, scaling layers and losses of real Keras models."""

from __future__ import annotations

import numpy as np
import pytest

from datacheck.doctor.model_info import load_model, read_model
from datacheck.errors import DatacheckError


def test_sequential_cnn(cnn):
    info = read_model(cnn)
    assert [i.shape for i in info.inputs] == [(8, 8, 1)]
    (head,) = info.outputs
    assert (head.units, head.activation) == (10, "softmax")
    assert info.losses[0].name == "sparse_categorical_crossentropy"
    assert info.losses[0].from_logits is False
    assert info.losses[0].family == "sparse"
    assert info.compiled and not info.scaling and not info.channels_first


def test_activation_found_behind_activation_softmax_and_dropout_layers(keras):
    inp = keras.Input((8, 8), name="image")
    x = keras.layers.Flatten()(inp)
    x = keras.layers.Dense(10, name="logits")(x)
    x = keras.layers.Softmax()(x)
    out = keras.layers.Dropout(0.1)(x)
    info = read_model(keras.Model(inp, out))
    assert info.inputs[0].name == "image"
    assert (info.outputs[0].units, info.outputs[0].activation, info.outputs[0].layer) == \
        (10, "softmax", "logits")
    x = keras.layers.Dense(1)(keras.layers.Flatten()(inp))
    info = read_model(keras.Model(inp, keras.layers.Activation("sigmoid")(x)))
    assert info.outputs[0].activation == "sigmoid"


def test_linear_head_and_loss_instance_with_from_logits(make_cnn, keras):
    model = make_cnn(activation=None,
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    info = read_model(model)
    assert info.outputs[0].activation == "linear"
    assert info.losses[0].from_logits is True


def test_loss_function_alias_and_override(make_cnn, keras):
    assert read_model(make_cnn(loss=keras.losses.binary_crossentropy)).losses[0].family == "binary"
    assert read_model(make_cnn(loss="mse")).losses[0].name == "mean_squared_error"
    uncompiled = make_cnn(loss=None)
    assert read_model(uncompiled).losses == [None]
    given = read_model(uncompiled, loss="categorical_crossentropy").losses[0]
    assert (given.name, given.source) == ("categorical_crossentropy", "argument")


def test_unknown_loss_name_is_one_line_error(cnn):
    with pytest.raises(DatacheckError, match="unknown loss 'sparse_crossentropy'"):
        read_model(cnn, loss="sparse_crossentropy")


def test_multi_output_losses_by_name(keras):
    inp = keras.Input((4,))
    a = keras.layers.Dense(3, activation="softmax", name="kind")(inp)
    b = keras.layers.Dense(1, activation="sigmoid", name="flag")(inp)
    model = keras.Model(inp, {"kind": a, "flag": b})
    model.compile(loss={"kind": "sparse_categorical_crossentropy", "flag": "binary_crossentropy"})
    info = read_model(model)
    by_name = {o.name: (o.units, loss.family) for o, loss in zip(info.outputs, info.losses,
                                                                 strict=True)}
    assert by_name == {"kind": (3, "sparse"), "flag": (1, "binary")}


def test_scaling_layers_in_front(make_cnn, keras, digits):
    info = read_model(make_cnn(front=[keras.layers.Rescaling(1 / 255)]))
    assert info.scaling[0].kind == "Rescaling"
    assert info.scaling[0].scale == pytest.approx(1 / 255)
    norm = keras.layers.Normalization(axis=None)
    norm.adapt(digits[0] * 255)
    info = read_model(make_cnn(front=[norm]))
    assert info.scaling[0].adapted
    assert info.scaling[0].scale == pytest.approx(1 / (digits[0] * 255).std(), rel=1e-3)
    unadapted = make_cnn(front=[keras.layers.Normalization(axis=None)])
    assert not read_model(unadapted).scaling[0].adapted


def test_unbuilt_sequential_still_reports_its_head(keras):
    info = read_model(keras.Sequential([keras.layers.Dense(5, activation="softmax")]))
    assert info.inputs == []
    assert (info.outputs[0].units, info.outputs[0].activation) == (5, "softmax")


def test_channels_first_conv_detected(keras):
    model = keras.Sequential([keras.Input((1, 8, 8)),
                              keras.layers.Conv2D(4, 3, data_format="channels_first"),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    assert read_model(model).channels_first


def test_load_model_from_keras_file(cnn, tmp_path):
    path = tmp_path / "digits.keras"
    cnn.save(path)
    info = read_model(load_model(str(path)))
    assert info.outputs[0].units == 10 and info.losses[0].name == "sparse_categorical_crossentropy"


def test_load_model_errors_are_one_line(tmp_path):
    with pytest.raises(DatacheckError, match="no such model file"):
        load_model(tmp_path / "missing.keras")
    other = tmp_path / "weights.npz"
    np.savez(other, a=np.zeros(2))
    with pytest.raises(DatacheckError, match="not a Keras model file"):
        load_model(other)
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    with pytest.raises(DatacheckError, match="Keras cannot load this model"):
        load_model(broken)
    with pytest.raises(DatacheckError, match=r"must be a keras\.Model"):
        load_model(42)
