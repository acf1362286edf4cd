"""Per-channel histograms on a fixed power-of-two grid: exact merges, comparable across datasets.

Bin ``i`` of a histogram with exponent ``exp`` is ``[i * 2**exp, (i+1) * 2**exp)``.
The edges never depend on which batch came first, only the exponent does,
and a finer grid maps onto a coarser one exactly (bin ``i`` -> ``i >> k``).
So batches, files, workers and whole datasets merge to the same counts, and
two datasets summarized apart (train today, serving next month) can be put
on one grid and compared without reading either again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Bins kept per channel while summarizing (the comparison coarsens further).
STORED_BINS = 256
#: int64 bin indices must not overflow: no bin finer than the float64 resolution of the data.
_MANTISSA = 52


def fit_exponent(lo: float, hi: float, bins: int) -> int:
    """Smallest exponent whose grid covers ``[lo, hi]`` with at most ``bins`` bins.

    >>> fit_exponent(0.0, 255.0, 256)
    0
    """
    biggest = max(abs(lo), abs(hi))
    exp = math.frexp(biggest)[1] - _MANTISSA if biggest > 0 else -60
    if hi > lo:
        exp = max(exp, math.floor(math.log2((hi - lo) / bins)) - 1)
    while math.floor(math.ldexp(hi, -exp)) - math.floor(math.ldexp(lo, -exp)) + 1 > bins:
        exp += 1
    return exp


#: Rows per chunk while histogramming (about 8 MiB of float64 scratch per channel).
_CHUNK = 1 << 20


def _chunks(arr: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(arr), _CHUNK):
        yield np.asarray(arr[start:start + _CHUNK], dtype=np.float64)


def _shift(index: np.ndarray, k: int) -> np.ndarray:
    # Right shift = floor division by 2**k, also for negative bins; >= 63 saturates.
    return index >> min(k, 63) if k > 0 else index


@dataclass(frozen=True)
class ChannelHistogram:
    """Counts of finite values per channel; ``merge`` is exact, associative and commutative.

    >>> h = ChannelHistogram.of(np.arange(256.0)[:, None]); h.counts.shape, h.total
    ((1, 256), 256)
    """

    bins: int = STORED_BINS
    exp: int = 0
    offset: int = 0
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    lo: float = math.inf
    hi: float = -math.inf

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
        exp = fit_exponent(lo, hi, bins)
        offset = math.floor(math.ldexp(lo, -exp))
        width = math.floor(math.ldexp(hi, -exp)) - offset + 1
        counts = np.zeros(channels * width, np.int64)
        shift = np.arange(channels)[None, :] * width
        for chunk in _chunks(arr):
            finite = np.isfinite(chunk)
            index = np.floor(np.ldexp(np.where(finite, chunk, lo), -exp)).astype(np.int64)
            counts += np.bincount((index - offset + shift)[finite], minlength=channels * width)
        return cls(bins, exp, offset, counts.reshape(channels, width), lo, hi)

    @property
    def channels(self) -> int:
        return int(self.counts.shape[0])

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def edges(self) -> np.ndarray:
        """Bin edges (``n + 1`` values) in data units."""
        return np.ldexp(np.arange(self.offset, self.offset + self.counts.shape[1] + 1,
                                  dtype=np.float64), self.exp)

    def coarsen(self, exp: int) -> ChannelHistogram:
        """The same counts on the coarser grid of width ``2**exp``."""
        if exp <= self.exp:
            return self
        if self.counts.shape[1] == 0:
            return ChannelHistogram(self.bins, exp, 0, self.counts, self.lo, self.hi)
        k = exp - self.exp
        index = _shift(np.arange(self.offset, self.offset + self.counts.shape[1],
                                 dtype=np.int64), k)
        offset = int(index[0])
        out = np.zeros((self.channels, int(index[-1]) - offset + 1), np.int64)
        for c in range(self.channels):
            np.add.at(out[c], index - offset, self.counts[c])
        return ChannelHistogram(self.bins, exp, offset, out, self.lo, self.hi)

    def pooled(self) -> ChannelHistogram:
        """All channels in one histogram (to compare features whose channels differ)."""
        return ChannelHistogram(self.bins, self.exp, self.offset,
                                self.counts.sum(axis=0, keepdims=True), self.lo, self.hi)

    def merge(self, other: ChannelHistogram) -> ChannelHistogram:
        if self.channels != other.channels and self.total and other.total:
            raise ValueError(f"cannot merge histograms of {self.channels} and {other.channels} "
                             "channels")
        if not other.total:
            return self
        if not self.total:
            return other
        a, b = align(self, other, self.bins)
        return ChannelHistogram(self.bins, a.exp, a.offset, a.counts + b.counts,
                                min(self.lo, other.lo), max(self.hi, other.hi))

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
    lo, hi = min(a.lo, b.lo), max(a.hi, b.hi)
    exp = max(a.exp, b.exp, fit_exponent(lo, hi, bins))
    a2, b2 = a.coarsen(exp), b.coarsen(exp)
    start = min(a2.offset if a2.total else b2.offset, b2.offset if b2.total else a2.offset)
    end = max(a2.offset + a2.counts.shape[1], b2.offset + b2.counts.shape[1])

    def place(h: ChannelHistogram) -> ChannelHistogram:
        out = np.zeros((h.channels, end - start), np.int64)
        if h.counts.shape[1]:
            out[:, h.offset - start:h.offset - start + h.counts.shape[1]] = h.counts
        return ChannelHistogram(h.bins, exp, start, out, h.lo, h.hi)

    return place(a2), place(b2)


def channel_values(batch: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """A batch as (values, channels): the element's channel axis last, everything else flat."""
    arr = np.asarray(batch)
    if channel_axis is None:
        return arr.reshape(-1, 1)
    moved = np.moveaxis(arr, channel_axis + 1, -1)
    return moved.reshape(-1, moved.shape[-1])
