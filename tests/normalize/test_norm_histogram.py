"""The power-of-two histogram: exact merges and percentiles within the stated bound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from datacheck.normalize.histogram import Histogram, fit_exponent


def _same(a: Histogram, b: Histogram) -> None:
    assert (a.exp, a.offset, a.lo, a.hi) == (b.exp, b.offset, b.lo, b.hi)
    np.testing.assert_array_equal(a.counts, b.counts)


def _three_ways(values: np.ndarray, parts: int, bins: int = 256) -> tuple[Histogram, ...]:
    chunks = np.array_split(values, parts)
    streamed = Histogram(bins=bins)
    for chunk in chunks:  # batch by batch
        streamed = streamed.merge(Histogram.of(chunk, bins))
    hists = [Histogram.of(c, bins) for c in chunks]
    tree = hists[0]  # merged from parts, in another grouping and order
    if len(hists) > 1:
        right = hists[-1]
        for h in reversed(hists[1:-1]):
            right = h.merge(right)
        tree = hists[0].merge(right)
    return streamed, tree, Histogram.of(values, bins)


@pytest.mark.parametrize("parts", [1, 3, 17])
def test_batchwise_merged_and_whole_histograms_are_identical(rng, parts):
    values = np.concatenate([rng.normal(0, 1, 5000), rng.lognormal(3, 1, 300), [-40.0]])
    rng.shuffle(values)
    streamed, tree, whole = _three_ways(values, parts)
    _same(streamed, whole)
    _same(tree, whole)
    assert whole.total == values.size
    assert whole.counts.size <= 256


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 400),
              elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)),
       st.integers(1, 6))
def test_merge_is_exact_for_any_data_and_split(values, parts):
    parts = min(parts, values.size)
    streamed, tree, whole = _three_ways(values, parts, bins=64)
    _same(streamed, whole)
    _same(tree, whole)


@pytest.mark.parametrize("values", [
    [-5e-324, 63.0],  # the draw that failed CI: -5e-324 / 2 rounds to -0.0, whose floor is 0
    [63.0, -5e-324, 1.0, -1e-320],
    [-5e-324, 5e-324, 1e6, -2.5e-323],
])
@pytest.mark.parametrize("parts", [1, 2, 3])
def test_negative_subnormals_stay_below_zero_on_a_coarse_grid(values, parts):
    values = np.asarray(values)
    parts = min(parts, values.size)
    streamed, tree, whole = _three_ways(values, parts, bins=64)
    _same(streamed, whole)
    _same(tree, whole)
    # The field's definition of the bin: floor(value / width), computed without underflow.
    width = 2.0 ** whole.exp
    bins = [int(np.floor(np.float64(v) / width)) if v >= 0 or abs(v) >= width else -1
            for v in values]
    assert whole.offset == min(bins)
    assert whole.counts[bins[values.argmin()] - whole.offset] >= 1


@pytest.mark.parametrize("kind", ["normal", "lognormal", "integers", "outliers", "constant"])
@pytest.mark.parametrize("bins", [64, 4096])
def test_percentiles_lie_within_the_error_bound(rng, kind, bins):
    values = {
        "normal": rng.normal(100, 20, 20000),
        "lognormal": rng.lognormal(0, 2, 20000),
        "integers": rng.integers(-600, 30000, 20000).astype(np.float64),
        "outliers": np.concatenate([rng.normal(0, 1, 20000), [1e5, -1e5]]),
        "constant": np.full(1000, 7.25),
    }[kind]
    hist = Histogram.of(values, bins)
    qs = np.array([0, 0.5, 1, 5, 25, 50, 75, 95, 99, 99.5, 100])
    err = np.abs(hist.percentile(qs) - np.percentile(values, qs))
    assert (err <= hist.error_bound()).all(), (err.max(), hist.error_bound())
    # The documented bound in terms of the range: below (hi - lo) / (bins - 2), or float
    # resolution for (near-)constant data.
    span = values.max() - values.min()
    assert hist.error_bound() <= max(span / (bins - 2), np.spacing(np.abs(values).max()))


def test_merged_percentiles_equal_whole_percentiles(rng):
    a, b = rng.normal(0, 1, 3000), rng.normal(5, 2, 2000)
    merged = Histogram.of(a).merge(Histogram.of(b))
    whole = Histogram.of(np.concatenate([a, b]))
    np.testing.assert_array_equal(merged.percentile([1, 50, 99]), whole.percentile([1, 50, 99]))


def test_dict_round_trip_and_empty_histogram():
    hist = Histogram.of(np.arange(-3.0, 300.0))
    _same(Histogram.from_dict(hist.to_dict()), hist)
    empty = Histogram()
    assert empty.total == 0 and np.isnan(empty.percentile(50))
    _same(empty.merge(hist), hist)
    assert Histogram.from_dict(empty.to_dict()).total == 0


def test_fit_exponent_is_the_smallest_grid_that_fits():
    exp = fit_exponent(-610.0, 30393.0, 4096)
    width = 2.0 ** exp
    assert np.floor(30393.0 / width) - np.floor(-610.0 / width) + 1 <= 4096
    half = width / 2
    assert np.floor(30393.0 / half) - np.floor(-610.0 / half) + 1 > 4096


def test_merging_different_bin_counts_is_refused():
    with pytest.raises(ValueError, match="64 and 128 bins"):
        Histogram.of(np.ones(3), 64).merge(Histogram.of(np.ones(3), 128))
