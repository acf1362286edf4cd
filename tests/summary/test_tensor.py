"""Summaries agree three ways (TFDV style): batch by batch, merged from parts, whole."""

from functools import reduce

import numpy as np
import pytest

from datacheck.summary import Moments, TensorSummary


def _close(a: TensorSummary, b: TensorSummary) -> None:
    assert a.elements == b.elements and a.values == b.values
    assert a.nonfinite == b.nonfinite
    assert a.min == b.min and a.max == b.max
    assert np.allclose(a.moments.count, b.moments.count)
    assert np.allclose(a.moments.mean, b.moments.mean)
    assert np.allclose(a.moments.m2, b.moments.m2, rtol=1e-9)
    assert a.shapes == b.shapes


@pytest.mark.parametrize("splits", [1, 3, 7])
def test_merge_agrees_with_whole(digits, splits):
    images, _ = digits
    whole = TensorSummary.from_array(images)
    parts = [TensorSummary.from_array(p) for p in np.array_split(images, splits)]
    sequential = reduce(lambda a, b: a.merge(b), parts)
    tree = parts[0] if len(parts) == 1 else reduce(
        lambda a, b: b.merge(a), reversed(parts))  # a different association and order
    _close(whole, sequential)
    _close(whole, tree)
    assert whole.mean == pytest.approx(float(images.mean()))
    assert whole.std == pytest.approx(float(images.std()), rel=1e-6)


def test_nonfinite_values_are_counted_not_averaged(rng):
    x = rng.random((4, 3, 3)).astype("float32")
    x[1, 0, 0] = np.nan
    x[2, 1, 1] = np.inf
    s = TensorSummary.from_array(x)
    assert s.nonfinite == 2
    finite = x[np.isfinite(x)]
    assert s.max == pytest.approx(float(finite.max()))
    assert s.mean == pytest.approx(float(finite.mean()))


def test_round_trip_through_dict(rng):
    s = TensorSummary.from_array(rng.normal(size=(5, 2, 2)))
    again = TensorSummary.from_dict(s.to_dict())
    _close(s, again)


def test_empty_merge_identity(rng):
    s = TensorSummary.from_array(rng.random((3, 2)))
    _close(TensorSummary().merge(s), s)


def test_moments_per_channel(rng):
    x = rng.normal(loc=[1.0, 5.0], scale=[1.0, 3.0], size=(1000, 2))
    m = Moments.of(x, axis=0)
    parts = Moments.of(x[:300], axis=0).merge(Moments.of(x[300:], axis=0))
    assert np.allclose(m.mean, x.mean(axis=0))
    assert np.allclose(parts.std, x.std(axis=0))


def test_constant_batch_is_recorded():
    assert TensorSummary.from_array(np.zeros((2, 4))).constant_batches == 1
    assert TensorSummary.from_array(np.arange(8.0).reshape(2, 4)).constant_batches == 0
