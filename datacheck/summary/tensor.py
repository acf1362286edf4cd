"""TensorSummary: the mergeable record of what one tensor feature looked like."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datacheck.summary.moments import Moments
from datacheck.summary.records import TensorSummaryRecord

#: Observed shapes beyond this many distinct ones are folded into a count.
MAX_DISTINCT_SHAPES = 32
#: Values per element drawn into the stored histogram (the HTML report's picture): all of a
#: small element, else at least this many and one in SAMPLE_EVERY of a large one.
HISTOGRAM_SAMPLE = 256
SAMPLE_EVERY = 1024


def _stride(size: int, dims: tuple[int, ...]) -> int:
    """Step through one element's values: from its size alone (so batches merge exactly),
    sharing no factor with any axis length so the sample walks every row and column of a
    volume instead of one plane."""
    target = max(HISTOGRAM_SAMPLE, size // SAMPLE_EVERY)
    step = max(1, -(-size // target))
    while step > 1 and any(math.gcd(step, d) != 1 for d in dims if d > 1):
        step += 1
    return step


def sample_histogram(batch: np.ndarray) -> Any:
    """ChannelHistogram of a fixed per-element sample of ``batch`` (first axis = elements).

    The sample depends only on each element's shape, never on how elements were
    batched, so histograms of batches merge to the histogram of the dataset.
    """
    from datacheck.summary.histogram import ChannelHistogram

    arr = np.asarray(batch)
    if arr.dtype.kind not in "biuf" or not arr.size:
        return None
    count = arr.shape[0] if arr.ndim else 1
    step = _stride(arr.size // max(count, 1), tuple(int(d) for d in arr.shape[1:]))
    if count == 1:
        # One volume: ravel(order="K") is a view of a C- or Fortran-ordered array, no copy.
        sample = np.ravel(arr, order="K")[::step]
    else:
        sample = arr.reshape(count, -1)[:, ::step].reshape(-1)
    return ChannelHistogram.of(sample[:, None])


def _merge_histograms(a: TensorSummary, b: TensorSummary) -> Any:
    # A histogram of part of the data would pass for the whole: keep one only if every part
    # holding values carried one.
    if a.histogram is None or b.histogram is None:
        return (a.histogram if not b.values else b.histogram if not a.values else None)
    return a.histogram.merge(b.histogram)


@dataclass
class TensorSummary:
    """Count, min/max of finite values, moments, non-finite count, shapes and dtypes.

    ``merge`` is associative and commutative: summarize batches, files or
    workers and merge, and you get the dataset's summary.

    >>> s = TensorSummary.from_array(np.zeros((2, 4, 4, 1), np.float32))
    >>> s.elements, s.min, s.max
    (2, 0.0, 0.0)
    """

    elements: int = 0
    values: int = 0
    nonfinite: int = 0
    min: float = float("inf")
    max: float = float("-inf")
    moments: Moments = field(default_factory=Moments.empty)
    shapes: Counter[tuple[int, ...]] = field(default_factory=Counter)
    dtypes: Counter[str] = field(default_factory=Counter)
    constant_batches: int = 0
    batches: int = 0
    #: ChannelHistogram of a per-element sample of the values (see ``sample_histogram``).
    histogram: Any = None

    @classmethod
    def from_array(cls, batch: np.ndarray) -> TensorSummary:
        """Summarize a batch whose first axis indexes elements."""
        arr = np.asarray(batch)
        summary = cls(elements=int(arr.shape[0]) if arr.ndim else 1, batches=1)
        summary.shapes[tuple(int(d) for d in arr.shape[1:])] += summary.elements
        summary.dtypes[arr.dtype.name if arr.dtype.kind not in "USO" else "string"] += 1
        summary.values = int(arr.size)
        if arr.dtype.kind in "biuf" and arr.size:
            values = arr.astype(np.float64, copy=False)
            finite = np.isfinite(values)
            summary.nonfinite = int(values.size - finite.sum())
            if summary.nonfinite < values.size:
                finite_values = values[finite] if summary.nonfinite else values
                summary.min = float(finite_values.min())
                summary.max = float(finite_values.max())
            summary.moments = Moments.of(values, all_finite=summary.nonfinite == 0)
            summary.constant_batches = int(summary.values > 1 and summary.min == summary.max
                                           and summary.nonfinite == 0)
            summary.histogram = sample_histogram(arr if arr.ndim else arr.reshape(1))
        return summary

    def merge(self, other: TensorSummary) -> TensorSummary:
        shapes = self.shapes + other.shapes
        if len(shapes) > MAX_DISTINCT_SHAPES:
            shapes = Counter(dict(shapes.most_common(MAX_DISTINCT_SHAPES)))
        return TensorSummary(
            elements=self.elements + other.elements,
            values=self.values + other.values,
            nonfinite=self.nonfinite + other.nonfinite,
            min=min(self.min, other.min),
            max=max(self.max, other.max),
            moments=self.moments.merge(other.moments),
            shapes=shapes,
            dtypes=self.dtypes + other.dtypes,
            constant_batches=self.constant_batches + other.constant_batches,
            batches=self.batches + other.batches,
            histogram=_merge_histograms(self, other),
        )

    @property
    def mean(self) -> float:
        return float(self.moments.mean) if self.moments.count > 0 else float("nan")

    @property
    def std(self) -> float:
        return float(self.moments.std) if self.moments.count > 0 else float("nan")

    def to_dict(self) -> TensorSummaryRecord:
        record: TensorSummaryRecord = {
            "kind": "tensor",
            "elements": self.elements,
            "values": self.values,
            "nonfinite": self.nonfinite,
            "min": self.min if self.values and self.min != float("inf") else None,
            "max": self.max if self.values and self.max != float("-inf") else None,
            "mean": None if self.moments.count == 0 else self.mean,
            "std": None if self.moments.count == 0 else self.std,
            "moments": {"count": float(self.moments.count), "mean": float(self.moments.mean),
                        "m2": float(self.moments.m2)},
            "shapes": {"x".join(map(str, k)) or "scalar": v for k, v in self.shapes.items()},
            "dtypes": dict(self.dtypes),
            "batches": self.batches,
            "constant_batches": self.constant_batches,
        }
        if self.histogram is not None:
            record["histogram"] = self.histogram.to_dict()
        return record

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSummary:
        mom = data.get("moments", {})
        shapes: Counter[tuple[int, ...]] = Counter()
        for key, count in data.get("shapes", {}).items():
            shapes[() if key == "scalar" else tuple(int(d) for d in key.split("x"))] = int(count)
        return cls(
            elements=int(data["elements"]), values=int(data["values"]),
            nonfinite=int(data["nonfinite"]),
            min=float("inf") if data.get("min") is None else float(data["min"]),
            max=float("-inf") if data.get("max") is None else float(data["max"]),
            moments=Moments(np.asarray(mom.get("count", 0.0)), np.asarray(mom.get("mean", 0.0)),
                            np.asarray(mom.get("m2", 0.0))),
            shapes=shapes, dtypes=Counter(data.get("dtypes", {})),
            batches=int(data.get("batches", 0)),
            constant_batches=int(data.get("constant_batches", 0)),
            histogram=_histogram_from(data.get("histogram")),
        )


def _histogram_from(data: Any) -> Any:
    from datacheck.summary.histogram import ChannelHistogram

    return ChannelHistogram.from_dict(data) if isinstance(data, dict) else None
