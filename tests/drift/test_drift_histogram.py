"""Fixed-grid histograms merge exactly, and the distances behave as documented."""

from __future__ import annotations

import numpy as np
import pytest

from datacheck.summary.distance import class_distance, js_divergence, linf
from datacheck.summary.histogram import ChannelHistogram, align, channel_values, fit_exponent


def _parts(values: np.ndarray, n: int) -> list[ChannelHistogram]:
    return [ChannelHistogram.of(chunk) for chunk in np.array_split(values, n)]


def test_batchwise_merged_and_whole_agree(digits):
    x, _ = digits
    values = channel_values(x * 255, 2)  # HWC: channel axis 2 of the element
    whole = ChannelHistogram.of(values)
    running = ChannelHistogram()
    for part in _parts(values, 7):
        running = running.merge(part)
    parts = _parts(values, 4)
    tree = parts[0].merge(parts[1]).merge(parts[2].merge(parts[3]))
    for h in (running, tree):
        assert (h.exp, h.offset) == (whole.exp, whole.offset)
        np.testing.assert_array_equal(h.counts, whole.counts)
    assert whole.total == x.size


def test_merge_of_different_ranges_coarsens_exactly(rng):
    a = rng.random((1000, 1))  # [0, 1): fine grid
    b = rng.random((1000, 1)) * 500 + 100  # [100, 600): coarse grid
    merged = ChannelHistogram.of(a).merge(ChannelHistogram.of(b))
    both = ChannelHistogram.of(np.concatenate([a, b]))
    np.testing.assert_array_equal(merged.counts, both.counts)
    edges = merged.edges()
    assert edges[0] <= 0 and edges[-1] >= 600 and merged.counts.shape[1] <= merged.bins


def test_channels_nonfinite_and_json_round_trip(rng):
    x = rng.random((50, 4, 4, 3))
    x[0, 0, 0, 1] = np.nan
    h = ChannelHistogram.of(channel_values(x, 2))
    assert h.channels == 3
    assert h.counts.sum(axis=1).tolist() == [800, 799, 800]
    again = ChannelHistogram.from_dict(h.to_dict())
    np.testing.assert_array_equal(again.counts, h.counts)
    assert (again.exp, again.offset, again.lo, again.hi) == (h.exp, h.offset, h.lo, h.hi)
    with pytest.raises(ValueError, match="cannot merge histograms of 3 and 1 channels"):
        h.merge(ChannelHistogram.of(rng.random((10, 1))))


def test_align_and_fit_exponent():
    assert fit_exponent(0.0, 255.0, 256) == 0
    a = ChannelHistogram.of(np.arange(0.0, 16.0)[:, None])
    b = ChannelHistogram.of(np.arange(0.0, 256.0, 16.0)[:, None])
    a2, b2 = align(a, b, 64)
    assert (a2.exp, a2.offset) == (b2.exp, b2.offset) and a2.counts.shape == b2.counts.shape
    assert a2.counts.shape[1] <= 64 and a2.total == 16 and b2.total == 16


def test_distances():
    p, q = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert float(js_divergence(p, q)) == pytest.approx(1.0)
    assert float(js_divergence(p, p)) == 0.0
    assert float(linf([3, 1], [1, 1])) == pytest.approx(0.25)
    d = class_distance({0: 50, 1: 50}, {"0": 30, "1": 50, "7": 20})
    assert d["only_b"] == ["7"] and d["only_a"] == []
    assert d["worst_class"] == "0" and d["fraction_a"] == 0.5 and d["fraction_b"] == 0.3
