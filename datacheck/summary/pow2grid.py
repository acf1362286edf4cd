"""Counts on a power-of-two grid: the bin math behind the drift and normalization histograms.

Bin ``i`` of the grid with exponent ``exp`` is ``[i * 2**exp, (i+1) * 2**exp)``.
The edges never depend on which batch came first, only the exponent does, and
a finer grid maps onto a coarser one exactly (bin ``i`` -> ``i >> k``). So
batches, files, workers and whole datasets merge to the same counts, in any
order, and summaries made apart can be put on one grid without the data.

:class:`GridCounts` holds the counts along the last axis (1-D for one
histogram, ``(channels, n)`` for one per channel) and does the coarsening,
aligning and merging; the histogram classes add how they are built and read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Self

import numpy as np

#: No bin finer than the float64 resolution of the data: bin numbers stay below 2**53.
MANTISSA = 52
#: The finest grid (all-zero or subnormal data); keeps ``2**-exp`` a finite float64.
EXP_MIN = -1000


def fit_exponent(lo: float, hi: float, bins: int) -> int:
    """Smallest exponent whose grid covers ``[lo, hi]`` with at most ``bins`` bins.

    >>> fit_exponent(0.0, 255.0, 256), fit_exponent(0.0, 255.0, 4096), fit_exponent(0.0, 0.0, 8)
    (0, -4, -1000)
    """
    biggest = max(abs(lo), abs(hi))
    exp = EXP_MIN if biggest == 0 else max(EXP_MIN, math.frexp(biggest)[1] - MANTISSA)
    # A lower bound to start from: a finer grid cannot hold the span in ``bins`` bins. Skipped
    # where the span/bins underflows to 0; split where hi - lo overflows float64.
    span = (hi - lo) / bins if hi - lo < math.inf else hi / bins - lo / bins
    if span > 0:
        exp = max(exp, math.floor(math.log2(span)) - 1)
    while _width(lo, hi, exp) > bins:
        exp += 1
    return exp


def _width(lo: float, hi: float, exp: int) -> int:
    return _bin_of(hi, exp) - _bin_of(lo, exp) + 1


def _bin_of(value: float, exp: int) -> int:
    """``floor(value / 2**exp)``, exactly: also where the scaled value underflows.

    Scaling a subnormal down can round a negative value to ``-0.0``, whose floor
    is 0, although the value lies in bin -1 ([-2**exp, 0)).

    >>> _bin_of(-5e-324, 1), _bin_of(5e-324, 1), _bin_of(-0.0, 1)
    (-1, 0, 0)
    """
    scaled = math.floor(math.ldexp(value, -exp))
    return -1 if scaled == 0 and value < 0 else scaled


def grid_for(lo: float, hi: float, bins: int) -> tuple[int, int, int]:
    """``(exp, offset, width)`` of the grid for ``[lo, hi]``: bins ``offset .. offset+width-1``."""
    exp = fit_exponent(lo, hi, bins)
    return exp, _bin_of(lo, exp), _width(lo, hi, exp)


def bin_numbers(values: np.ndarray, exp: int, offset: int) -> np.ndarray:
    """``floor(values / 2**exp) - offset`` as a new float64 array, for ``np.bincount``.

    Scaling by a power of two and subtracting an integer below 2**53 are exact,
    so this is the bin number without np.ldexp (slow) or int64 temporaries. The
    one inexact case, a negative value that scaling down rounds to ``-0.0``
    (see :func:`_bin_of`), is put back into bin -1.
    """
    index = values * math.ldexp(1.0, -exp)
    np.floor(index, out=index)
    if exp > 0 and offset < 0:  # only a coarse grid holding negatives can underflow so
        index[(index == 0) & (values < 0)] = -1
    index -= offset
    return index


def coarsen_counts(counts: np.ndarray, offset: int, k: int) -> tuple[int, np.ndarray]:
    """``(offset, counts)`` of the same counts on a grid ``2**k`` times coarser (last axis).

    >>> coarsen_counts(np.array([1, 2, 3, 4, 5]), -3, 1)
    (-2, array([1, 5, 9]))
    """
    if k <= 0 or counts.shape[-1] == 0:
        return offset, counts
    # Right shift = floor division by 2**k, also for negative bins; >= 63 saturates exactly.
    k = min(k, 63)
    first, last = offset >> k, (offset + counts.shape[-1] - 1) >> k
    # Coarse bin j starts at fine bin j << k: sum the counts between consecutive starts.
    starts = np.maximum((np.arange(first, last + 1, dtype=np.int64) << k) - offset, 0)
    return first, np.add.reduceat(counts, starts, axis=-1)


def place_counts(counts: np.ndarray, offset: int, start: int, end: int) -> np.ndarray:
    """``counts`` (bins ``offset ..``) widened with zeros to bins ``start .. end-1``."""
    out = np.zeros((*counts.shape[:-1], end - start), np.int64)
    out[..., offset - start:offset - start + counts.shape[-1]] = counts
    return out


@dataclass(frozen=True)
class GridCounts:
    """Counts of values on one power-of-two grid, with their exact min and max.

    >>> a = GridCounts(8, 0, 0, np.array([1, 1]), 0.0, 1.5)
    >>> b = GridCounts(8, 0, 4, np.array([3]), 4.0, 4.5)
    >>> m = a.merge(b); m.exp, m.offset, m.counts.tolist()
    (0, 0, [1, 1, 0, 0, 3])
    """

    bins: int
    exp: int = 0
    offset: int = 0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    lo: float = math.inf
    hi: float = -math.inf

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def coarsen(self, exp: int) -> Self:
        """The same counts on the coarser grid of width ``2**exp``."""
        if exp <= self.exp:
            return self
        offset, counts = coarsen_counts(self.counts, self.offset, exp - self.exp)
        return replace(self, exp=exp, offset=offset if counts.shape[-1] else 0, counts=counts)

    def align(self, other: Self, bins: int) -> tuple[Self, Self]:
        """Both on one grid of at most ``bins`` bins covering both (same exp, offset, shape)."""
        exp, start, a, b = self._common_grid(other, bins)
        return (replace(self, exp=exp, offset=start, counts=a),
                replace(other, exp=exp, offset=start, counts=b))

    def _common_grid(self, other: Self,
                     bins: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        lo, hi = min(self.lo, other.lo), max(self.hi, other.hi)
        fit = fit_exponent(lo, hi, bins) if lo <= hi else EXP_MIN
        exp = max(self.exp, other.exp, fit)  # never finer than a stored grid, whatever its floor
        grids = [coarsen_counts(h.counts, h.offset, exp - h.exp) for h in (self, other)]
        spans = [(o, o + c.shape[-1]) for o, c in grids if c.shape[-1]]
        start, end = (min(s for s, _ in spans), max(e for _, e in spans)) if spans else (0, 0)
        a, b = (place_counts(c, o, start, end) for o, c in grids)
        return exp, start, a, b

    def check_mergeable(self, other: Self) -> None:
        """Raise ValueError where ``other`` cannot be merged into this one."""

    def merge(self, other: Self) -> Self:
        """Exact, associative and commutative: the counts of both on the grid that fits both."""
        self.check_mergeable(other)
        if not other.total:
            return self
        if not self.total:
            return other
        exp, start, a, b = self._common_grid(other, self.bins)
        return replace(self, exp=exp, offset=start, counts=a + b, lo=min(self.lo, other.lo),
                       hi=max(self.hi, other.hi))
