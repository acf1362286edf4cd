"""Messages name what was seen and the fix that matches it (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest

import datacheck as dc
from datacheck.rules.base import ELEMENTS_RE


def _rgb_schema(channels: int, layout: str = "HWC") -> dc.Schema:
    shape = [8, 8, channels] if layout == "HWC" else [channels, 8, 8]
    return dc.Schema(features={"image": dc.Feature(layout=layout, shape=shape,
                                                   normalization="unit")})


def test_grayscale_given_rgb_expected_suggests_grayscale_to_rgb(digits):
    x, _ = digits
    (v,) = dc.check({"image": x[:16]}, _rgb_schema(3)).violations
    assert v.code == "shape"
    assert "tf.image.grayscale_to_rgb(x)" in v.message
    assert "resize" not in v.message.lower()


def test_rgb_given_grayscale_expected_suggests_rgb_to_grayscale(digits):
    x, _ = digits
    rgb = np.repeat(x[:16], 3, axis=-1)
    (v,) = dc.check({"image": rgb}, _rgb_schema(1)).violations
    assert v.code == "shape" and "tf.image.rgb_to_grayscale(x)" in v.message
    assert "resize" not in v.message.lower()


def test_channel_and_size_mismatch_gets_both_fixes(digits):
    x, _ = digits
    small = x[:16, :6, :6]
    (v,) = dc.check({"image": small}, _rgb_schema(3)).violations
    assert "grayscale_to_rgb" in v.message and "tf.image.resize" in v.message


def test_other_channel_mismatches_keep_the_resize_advice(digits):
    x, _ = digits
    two = np.repeat(x[:16], 2, axis=-1)
    (v,) = dc.check({"image": two}, _rgb_schema(3)).violations
    assert "tf.image.resize" in v.message and "grayscale" not in v.message


def test_multi_hot_mismatch_names_the_value_seen():
    schema = dc.Schema(labels={"tags": dc.Label(encoding="multi_hot", num_classes=4)})
    y = np.array([[0, 1, 1, 0], [0, 2, 0, 1], [1, 0, 0, 0]], "float32")
    (v,) = dc.check({"tags": y}, schema).errors
    assert v.code == "label_encoding"
    assert "found 2 (values in [0, 2])" in v.message and "tf.minimum(y, 1)" in v.message
    assert v.where == "batch 0, element 1"
    assert v.observed == "2"


tf = pytest.importorskip("tensorflow")


def test_graph_messages_match_numpy_for_channels_and_multi_hot(digits):
    x, _ = digits
    ds = tf.data.Dataset.from_tensor_slices({"image": x[:16]}).batch(8)
    with pytest.raises(dc.ValidationError) as info:
        dc.validate(ds, _rgb_schema(3))
    assert "tf.image.grayscale_to_rgb(x)" in info.value.violations[0].message
    schema = dc.Schema(labels={"tags": dc.Label(encoding="multi_hot", num_classes=4)})
    y = np.array([[0, 1, 1, 0], [0, 2, 0, 1], [1, 0, 0, 0]], "float32")
    with pytest.raises(dc.ValidationError) as info:
        for _ in dc.validate(tf.data.Dataset.from_tensor_slices({"tags": y}).batch(3), schema):
            pass
    (graph,) = info.value.violations
    (numpy,) = dc.check({"tags": y}, schema).errors
    assert graph.where == numpy.where
    assert graph.message == ELEMENTS_RE.sub("", numpy.message)
