"""The power-of-two grid shared by the drift and normalization histograms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datacheck.normalize.histogram import Histogram
from datacheck.summary.histogram import ChannelHistogram
from datacheck.summary.pow2grid import (
    EXP_MIN,
    coarsen_counts,
    fit_exponent,
    grid_for,
    place_counts,
)


@settings(max_examples=80, deadline=None)
@given(st.integers(-10_000, 10_000), st.integers(1, 300), st.integers(1, 3), st.integers(1, 80))
def test_coarsen_counts_maps_bin_i_to_i_shifted(offset, n, channels, k):
    counts = np.random.default_rng(n).integers(0, 9, (channels, n))
    fine = np.array([i >> k for i in range(offset, offset + n)])  # Python ints: floor, any k
    start, coarse = coarsen_counts(counts, offset, k)
    expected = np.zeros((channels, int(fine[-1]) - int(fine[0]) + 1), np.int64)
    for c in range(channels):
        np.add.at(expected[c], fine - fine[0], counts[c])
    assert start == fine[0]
    np.testing.assert_array_equal(coarse, expected)
    one_start, one = coarsen_counts(counts[0], offset, k)  # 1-D counts: the same, last axis
    assert one_start == start
    np.testing.assert_array_equal(one, expected[0])


def test_place_counts_pads_with_zeros():
    out = place_counts(np.array([[1, 2], [3, 4]]), offset=5, start=3, end=8)
    assert out.tolist() == [[0, 0, 1, 2, 0], [0, 0, 3, 4, 0]]


def test_fit_exponent_floor_and_extremes():
    assert fit_exponent(0.0, 0.0, 256) == EXP_MIN  # all zeros: the finest grid
    assert fit_exponent(-1e-310, 1e-310, 256) == EXP_MIN  # subnormal: 2**-exp stays finite
    exp, offset, width = grid_for(-1e308, 1e308, 256)  # hi - lo overflows float64
    assert width <= 256 and offset == np.floor(np.ldexp(-1e308, -exp))


@pytest.mark.parametrize("values", [[-1e308, 0.0, 1e308], [0.0, 5e-324], [-5e-324, 5e-324]])
def test_extreme_ranges_are_histogrammed(values):
    """A span overflowing float64, or one so small that span / bins underflows to 0."""
    arr = np.array(values)
    h = ChannelHistogram.of(arr[:, None])
    assert h.total == arr.size and h.counts.shape[1] <= h.bins
    one = Histogram.of(arr)
    assert one.total == arr.size and one.counts.size <= one.bins


def test_both_histograms_share_the_grid(rng):
    values = rng.lognormal(2, 1, 5000)
    one, per_channel = Histogram.of(values, 256), ChannelHistogram.of(values[:, None], 256)
    assert (one.exp, one.offset) == (per_channel.exp, per_channel.offset)
    np.testing.assert_array_equal(one.counts, per_channel.counts[0])
    coarse = one.coarsen(one.exp + 3)
    np.testing.assert_array_equal(coarse.counts, per_channel.coarsen(one.exp + 3).counts[0])


@pytest.mark.parametrize("zero_exp", [-60, EXP_MIN])
def test_saved_all_zero_histograms_of_either_floor_merge(rng, zero_exp):
    """Drift profiles saved before the grids were shared have exp -60 for all-zero channels."""
    saved = ChannelHistogram.from_dict({"bins": 256, "exp": zero_exp, "offset": 0,
                                        "lo": 0.0, "hi": 0.0, "counts": [[10]]})
    zeros = ChannelHistogram.of(np.zeros((5, 1)))
    assert zeros.exp == EXP_MIN
    merged = saved.merge(zeros)
    assert merged.total == 15 and merged.counts.tolist() == [[15]]
    assert merged.exp == max(zero_exp, EXP_MIN)
    data = rng.normal(0, 1, (100, 1))
    both = saved.merge(ChannelHistogram.of(data))
    whole = ChannelHistogram.of(np.concatenate([np.zeros((10, 1)), data]))
    assert (both.exp, both.offset) == (whole.exp, whole.offset)
    np.testing.assert_array_equal(both.counts, whole.counts)
    tiny = ChannelHistogram.of(np.full((4, 1), 1e-30))  # a grid finer than 2**-60
    a, b = saved.align(tiny, 64)
    assert a.exp == b.exp >= zero_exp and a.total == 10 and b.total == 4
