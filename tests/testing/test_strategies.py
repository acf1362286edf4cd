"""The strategies prove the rules: valid batches pass every rule, and each planted
violation is caught by its rule and by no other (numpy backend, bundled and random schemas).

Known rule bugs found this way are excluded here by ``known_rule_bug`` and
kept as regression tests in test_rule_findings.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import datacheck as dc
from datacheck.schema import bundled_names
from datacheck.testing import assert_matches, assert_violates
from datacheck.testing.strategies import (
    VIOLATION_CODES,
    Batch,
    batches,
    is_warning,
    schemas,
    violation_codes,
    violations,
)

SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def fast(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=SUPPRESS)
BUNDLED = bundled_names()
CASES = [(name, code) for name in BUNDLED for code in violation_codes(name)]


def known_rule_bug(schema: dc.Schema, batch: Batch) -> str | None:
    """The routed rule bugs (see test_rule_findings.py) this batch would trip over."""
    return None


def _check_planted(schema: dc.Schema, batch: Batch) -> None:
    assert batch.code is not None and batch.feature is not None
    found = assert_violates(batch, schema, batch.code, feature=batch.feature)
    severity = "warning" if is_warning(schema, batch.code, batch.feature) else "error"
    assert {v.severity for v in found} == {severity}


@pytest.mark.parametrize("name", BUNDLED)
@fast(8)
@given(data=st.data())
def test_valid_batches_of_bundled_schemas_pass_every_rule(name, data):
    batch = data.draw(batches(name))
    assert batch.code is None and batch.batch_size == batch.size
    assert_matches(batch, name, strict=True)


@pytest.mark.parametrize(("name", "code"), CASES, ids=[f"{n}-{c}" for n, c in CASES])
@fast(4)
@given(data=st.data())
def test_each_rule_catches_its_violation_and_nothing_else(name, code, data):
    schema = dc.load_schema(name)
    batch = data.draw(violations(schema, code))
    assert batch.code == code and batch.feature in violation_codes(schema)[code]
    _check_planted(schema, batch)


@fast(60)
@given(schema=schemas(max_features=3, max_labels=2), data=st.data())
def test_valid_batches_of_random_schemas_pass_every_rule(schema, data):
    try:
        strategy = batches(schema, max_batch=5)
    except dc.SchemaError:
        assume(False)  # a schema no data can satisfy (e.g. range [0.2, 0.4] for integers)
    assert_matches(data.draw(strategy), schema, strict=True)


@fast(200)
@given(schema=schemas(max_features=3, max_labels=2), data=st.data())
def test_each_rule_catches_its_violation_on_random_schemas(schema, data):
    codes = sorted(violation_codes(schema))
    assume(codes)
    code = data.draw(st.sampled_from(codes))
    try:
        strategy = violations(schema, code, max_batch=5)
    except dc.SchemaError:
        assume(False)
    batch = data.draw(strategy)
    assume(known_rule_bug(schema, batch) is None)
    _check_planted(schema, batch)


def test_every_plantable_code_is_a_violation_code():
    assert set(VIOLATION_CODES) <= dc.report.violation.CODES


def test_violations_refuses_a_code_the_schema_cannot_break():
    with pytest.raises(dc.SchemaError, match="declares nothing that can break 'unnormalized' alone"
                       ) as info:
        violations("mnist", "unnormalized")
    assert "Codes it can: class_balance, constant" in str(info.value)
    with pytest.raises(dc.SchemaError, match="cannot plant 'drift'"):
        violations("mnist", "drift")
    with pytest.raises(dc.SchemaError, match="in 'label'"):
        violations("mnist", "range", feature="label")


def test_batches_refuses_a_schema_no_data_can_satisfy():
    impossible = {"name": "impossible", "features": {"x": {"rank": 1, "dtype": "integer",
                                                             "range": [0.2, 0.4]}}}
    with pytest.raises(dc.SchemaError, match=r"x: no allowed dtype .* can hold values in range"):
        batches(impossible)


@fast(10)
@given(batches("digits", max_batch=30))
def test_valid_digits_batches_touch_the_declared_bounds_sometimes(batch):
    image = batch["image"].astype(np.float64)
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert set(np.unique(batch["label"])) == set(range(10))  # every class, balanced
    counts = np.bincount(batch["label"].reshape(-1), minlength=10)
    assert counts.min() == counts.max()


@fast(5)
@given(violations("mnist", "unshuffled"))
def test_unshuffled_violations_come_as_sorted_runs_of_batches(batch):
    window = dc.load_schema("mnist").labels["label"].shuffle_window
    assert window is not None and batch.size == 10 * window * batch.batch_size
    runs = [set(np.unique(part["label"])) for part in batch.batches()]
    assert all(len(classes) == 1 for classes in runs)


@fast(150)
@given(data=st.data())
def test_elements_made_non_constant_keep_the_declared_moments(data):
    """Found by the random-schema property above: making every element hold two values
    changed values of a z-scored integer feature and broke its mean/std. The values
    are now dealt out among the elements instead."""
    schema = dc.load_schema({"name": "moments", "features": {
        "image": {"layout": "HW", "normalization": "raw_uint8", "not_constant": True},
        "scores": {"layout": "HWC", "dtype": "integer", "normalization": "zscore",
                   "not_constant": True}},
        "labels": {"label": {"encoding": "one_hot", "num_classes": 2}}})
    batch = data.draw(violations(schema, "constant", max_batch=5))
    assert batch.feature == "image"
    _check_planted(schema, batch)
    assert_matches(data.draw(batches(schema, max_batch=5)), schema, strict=True)
