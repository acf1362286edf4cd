"""assert_matches / assert_violates on real data (scikit-learn digits)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import datacheck as dc
from datacheck.testing import assert_matches, assert_violates
from datacheck.testing.strategies import batches


def test_assert_matches_passes_on_real_data_and_returns_the_report(digits):
    report = assert_matches(digits, "digits")
    assert report.ok and report.stats["elements"] == len(digits[0])


def test_assert_matches_failure_lists_code_feature_where_and_message(digits):
    x, y = digits
    with pytest.raises(AssertionError) as info:
        assert_matches((x * 16, y), "digits")
    text = str(info.value)
    first = text.splitlines()[0]
    assert first == "data does not match schema 'digits': 1 violation (range)"
    # Every one of the 57 batches breaks the rule; it is listed once with its count.
    assert "  - range [error] image @ batch 0, element 0 (x57)" in text
    assert "image: range: max 16 > 1 in batch 0, element 0. If these are 0-255 pixels" in text
    assert text.splitlines()[-1].startswith("FAILED: 1 error, 0 warnings (range); 56 repeats "
                                            "not listed.")


def test_ignore_and_strict(digits):
    x, y = digits
    no_balance = dc.load_schema("digits").to_dict()
    del no_balance["labels"]["label"]["min_class_fraction"]
    few = (x[:5], np.array([0, 1, 2, 3, 4]))  # classes 5-9 missing: a warning
    assert assert_matches(few, no_balance).ok
    with pytest.raises(AssertionError, match=r"num_classes \[warning\]"):
        assert_matches(few, no_balance, strict=True)
    assert_matches(few, no_balance, strict=True, ignore=["num_classes"])
    assert_matches((x * 16, y), "digits", ignore={"range"})


def test_assert_violates_returns_the_violations_of_that_code(digits):
    x, y = digits
    y = y.copy()
    y[10] = 10
    (found,) = assert_violates((x, y), "digits", "label_range", feature="label")
    assert found.where == "batch 0, element 10"


def test_assert_violates_fails_when_the_data_passes(digits):
    with pytest.raises(AssertionError, match=r"(?s)expected a 'range' violation.*the data passes"):
        assert_violates(digits, "digits", "range")


def test_assert_violates_only_refuses_other_codes(digits):
    x, y = digits
    y = y.copy()
    y[3] = -1
    with pytest.raises(AssertionError, match=r"(?s)expected only 'range'.*label_range"):
        assert_violates((x * 16, y), "digits", "range")
    assert assert_violates((x * 16, y), "digits", "range", only=False)


@settings(max_examples=5, deadline=None)
@given(batches("mnist"))
def test_generated_batches_carry_their_batch_size(batch):
    assert batch.batch_size == batch.size
    assert assert_matches(batch, "mnist", strict=True).stats["batches"] == 1
    assert len(batch.batches()) == 1 and "batch_size=" in repr(batch)
