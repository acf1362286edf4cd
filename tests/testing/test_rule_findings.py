"""Rule bugs the strategies found, pinned as minimal reproducers (xfail strict).

Each is routed to the owner named in its reason; when it is fixed the test
XPASSes, fails (strict), and the xfail marker should be removed together with
the matching exclusion in ``test_strategies.known_rule_bug``.
"""

from __future__ import annotations

import numpy as np
import pytest

import datacheck as dc


@pytest.mark.xfail(strict=True, raises=AttributeError, reason=(
    "rules/labels.py: the one_hot/multi_hot width check passes an int as Finding.observed; "
    "backends/numpy/evaluate.py calls observed.format_map -> AttributeError, so dc.check "
    "crashes on one-hot labels of the wrong width"))
def test_one_hot_labels_of_the_wrong_width_are_a_num_classes_error():
    schema = {"name": "t", "labels": {"y": {"encoding": "one_hot", "num_classes": 10}}}
    y = np.eye(11, dtype="float32")[np.arange(10)]
    assert dc.check({"y": y}, schema).codes() == ["num_classes"]


@pytest.mark.xfail(strict=True, reason=(
    "rules/values.py: the 'constant' finding ignores the values > 1 condition of its "
    "predicate, so a one-value batch that fails another value check is also 'constant'"))
def test_one_out_of_range_value_is_only_a_range_violation():
    schema = {"name": "t", "features": {"x": {"rank": 0, "range": [0, 1]}}}
    assert dc.check({"x": np.array([5.0])}, schema).codes() == ["range"]


@pytest.mark.xfail(strict=True, reason=(
    "rules/labels.py or schema/model.py: one_hot with num_classes 1 has rows of width 1, "
    "which the label rules read as sparse ids (label_encoding); valid data cannot pass. "
    "Refuse num_classes < 2 for one_hot in the schema, or accept width 1"))
def test_one_hot_with_one_class_accepts_its_only_valid_encoding():
    schema = {"name": "t", "labels": {"y": {"encoding": "one_hot", "num_classes": 1}}}
    assert dc.check({"y": np.ones((4, 1), "float32")}, schema).ok


@pytest.mark.xfail(strict=True, reason=(
    "api.check / data.iter_batches: data with no array at all yields no batch, so nothing "
    "is judged and the report says OK; it should be missing_feature (or a DataError)"))
def test_checking_no_data_at_all_is_not_ok():
    assert not dc.check({}, "mnist").ok
