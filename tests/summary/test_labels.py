from functools import reduce

import numpy as np
import pytest

from datacheck.summary import LabelSummary, RunState


def test_histogram_merges_three_ways(digits):
    _, labels = digits
    whole = LabelSummary.from_array(labels)
    parts = [LabelSummary.from_array(p, i) for i, p in enumerate(np.array_split(labels, 9))]
    merged = reduce(lambda a, b: a.merge(b), parts)
    assert merged.histogram == whole.histogram
    assert sum(whole.histogram.values()) == len(labels) == merged.elements
    assert (merged.min, merged.max) == (0.0, 9.0)


def test_one_hot_rows_and_argmax_histogram():
    y = np.eye(4)[[0, 1, 1, 3]]
    s = LabelSummary.from_array(y)
    assert s.one_hot_rows == 4 and s.histogram == {0: 1, 1: 2, 3: 1}


def test_string_labels():
    s = LabelSummary.from_array(np.array(["cat", "dog", "cat"]))
    assert s.is_string and s.histogram == {"cat": 2, "dog": 1}


def test_non_integer_labels_counted():
    s = LabelSummary.from_array(np.array([0.0, 0.5, 1.0]))
    assert s.non_integer == 1


def _runs(classes):
    return [RunState.of_batch(c, i) for i, c in enumerate(classes)]


@pytest.mark.parametrize(
    ("classes", "longest"),
    [
        ([0, 0, 0, 1, 1, None, 2, 2, 2, 2], 4),
        ([None, None], 0),
        ([5], 1),
        ([1, 1, None, 1, 1, 1], 3),
        ([3, 3, 3, 3], 4),
    ],
)
def test_run_state_is_associative(classes, longest):
    states = _runs(classes)
    left = reduce(lambda a, b: a.merge(b), states)
    # every split point, merged as (left part) + (right part)
    for cut in range(1, len(states)):
        a = reduce(lambda x, y: x.merge(y), states[:cut])
        b = reduce(lambda x, y: x.merge(y), states[cut:])
        assert a.merge(b).longest == left.longest == longest
        assert a.merge(b).suffix == left.suffix
        assert a.merge(b).prefix == left.prefix
