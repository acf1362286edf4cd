"""Rule bugs the strategies found once, kept as minimal regression tests."""

from __future__ import annotations

import numpy as np
import pytest

import datacheck as dc


def test_one_hot_labels_of_the_wrong_width_are_a_num_classes_error():
    schema = {"name": "t", "labels": {"y": {"encoding": "one_hot", "num_classes": 10}}}
    y = np.eye(11, dtype="float32")[np.arange(10)]
    assert dc.check({"y": y}, schema).codes() == ["num_classes"]


def test_one_out_of_range_value_is_only_a_range_violation():
    schema = {"name": "t", "features": {"x": {"rank": 0, "range": [0, 1]}}}
    assert dc.check({"x": np.array([5.0])}, schema).codes() == ["range"]


def test_one_hot_with_one_class_is_refused_by_the_schema():
    schema = {"name": "t", "labels": {"y": {"encoding": "one_hot", "num_classes": 1}}}
    with pytest.raises(dc.SchemaError, match="single class"):
        dc.check({"y": np.ones((4, 1), "float32")}, schema)


def test_checking_no_data_at_all_is_not_ok():
    assert not dc.check({}, "mnist").ok
