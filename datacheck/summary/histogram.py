"""Per-channel histograms on a fixed power-of-two grid: exact merges, comparable across datasets.

Bin ``i`` of a histogram with exponent ``exp`` is ``[i * 2**exp, (i+1) * 2**exp)``
(the grid math is :mod:`datacheck.summary.pow2grid`). The edges never depend on
which batch came first, only the exponent does, and a finer grid maps onto a
coarser one exactly (bin ``i`` -> ``i >> k``). So batches, files, workers and
whole datasets merge to the same counts, and two datasets summarized apart
(train today, serving next month) can be put on one grid and compared without
reading either again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datacheck.summary.pow2grid import GridCounts, bin_numbers, fit_exponent, grid_for

__all__ = ["STORED_BINS", "ChannelHistogram", "align", "channel_values", "fit_exponent"]

#: Bins kept per channel while summarizing (the comparison coarsens further).
STORED_BINS = 256
#: Rows per chunk while histogramming (about 8 MiB of float64 scratch per channel).
_CHUNK = 1 << 20


def _chunks(arr: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(arr), _CHUNK):
        yield np.asarray(arr[start:start + _CHUNK], dtype=np.float64)


@dataclass(frozen=True)
class ChannelHistogram(GridCounts):
    """Counts of finite values per channel; ``merge`` is exact, associative and commutative.

    >>> h = ChannelHistogram.of(np.arange(256.0)[:, None]); h.counts.shape, h.total
    ((1, 256), 256)
    """

    bins: int = STORED_BINS
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))

    @classmethod
    def of(cls, values: np.ndarray, bins: int = STORED_BINS) -> ChannelHistogram:
        """Histogram of ``values`` shaped (n, channels); non-finite values are left out.

        Works through ``values`` in chunks, so a whole volume costs a few MiB of
        scratch memory, not several float64 copies of itself.
        """
        arr = np.asarray(values)
        if arr.ndim != 2:
            raise ValueError(f"values must be (n, channels), got shape {arr.shape}")
        channels = arr.shape[1]
        lo, hi = math.inf, -math.inf
        for chunk in _chunks(arr):
            finite = chunk[np.isfinite(chunk)]
            if finite.size:
                lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        if lo > hi:
            return cls(bins, counts=np.zeros((channels, 0), np.int64))
        exp, offset, width = grid_for(lo, hi, bins)
        counts = np.zeros(channels * width, np.int64)
        # Channel c counts into slots c*width .. c*width+width-1 of one bincount (exact in float).
        shift = np.arange(channels, dtype=np.float64) * width
        for chunk in _chunks(arr):
            finite = np.isfinite(chunk)
            index = bin_numbers(np.where(finite, chunk, lo), exp, offset)
            index += shift
            counts += np.bincount(index[finite].astype(np.intp), minlength=channels * width)
        return cls(bins, exp, offset, counts.reshape(channels, width), lo, hi)

    @property
    def channels(self) -> int:
        return int(self.counts.shape[0])

    def edges(self) -> np.ndarray:
        """Bin edges (``n + 1`` values) in data units."""
        return np.ldexp(np.arange(self.offset, self.offset + self.counts.shape[1] + 1,
                                  dtype=np.float64), self.exp)

    def pooled(self) -> ChannelHistogram:
        """All channels in one histogram (to compare features whose channels differ)."""
        return ChannelHistogram(self.bins, self.exp, self.offset,
                                self.counts.sum(axis=0, keepdims=True), self.lo, self.hi)

    def check_mergeable(self, other: ChannelHistogram) -> None:
        if self.channels != other.channels and self.total and other.total:
            raise ValueError(f"cannot merge histograms of {self.channels} and {other.channels} "
                             "channels")

    def to_dict(self) -> dict[str, Any]:
        return {"bins": self.bins, "exp": self.exp, "offset": self.offset,
                "start": float(math.ldexp(self.offset, self.exp)),
                "width": float(math.ldexp(1.0, self.exp)),
                "lo": self.lo if self.total else None, "hi": self.hi if self.total else None,
                "counts": self.counts.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChannelHistogram:
        counts = np.asarray(data.get("counts", [[]]), dtype=np.int64)
        if counts.ndim != 2:
            raise ValueError("histogram counts must be a list per channel")
        lo, hi = data.get("lo"), data.get("hi")
        return cls(int(data.get("bins", STORED_BINS)), int(data.get("exp", 0)),
                   int(data.get("offset", 0)), counts,
                   math.inf if lo is None else float(lo), -math.inf if hi is None else float(hi))


def align(a: ChannelHistogram, b: ChannelHistogram,
          bins: int) -> tuple[ChannelHistogram, ChannelHistogram]:
    """Both histograms on one grid of at most ``bins`` bins covering both (same offset/width)."""
    return a.align(b, bins)


def channel_values(batch: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """A batch as (values, channels): the element's channel axis last, everything else flat."""
    arr = np.asarray(batch)
    if channel_axis is None:
        return arr.reshape(-1, 1)
    moved = np.moveaxis(arr, channel_axis + 1, -1)
    return moved.reshape(-1, moved.shape[-1])
