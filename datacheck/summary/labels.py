"""LabelSummary and RunState: mergeable records of what the labels looked like."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datacheck.summary.records import LabelSummaryRecord

#: Distinct label values beyond this many are not tracked one by one.
MAX_DISTINCT_LABELS = 100_000


@dataclass(frozen=True)
class RunState:
    """Runs of consecutive batches that hold a single class, over an ordered sequence.

    Merging is associative (not commutative: ``a.merge(b)`` means a came
    first), so shuffle checks work on batches, files and workers alike.

    >>> one = RunState.of_batch(3, 0); one.merge(RunState.of_batch(3, 1)).longest
    2
    """

    batches: int = 0
    first: Any = None  # class of the leading run, None when the first batch is mixed
    prefix: int = 0  # length of the leading single-class run
    last: Any = None
    suffix: int = 0
    longest: int = 0
    longest_class: Any = None
    longest_end: int = -1  # batch index (global) where the longest run ends
    start_index: int = 0

    @classmethod
    def of_batch(cls, single_class: Any, index: int) -> RunState:
        """State of one batch: ``single_class`` is its only class, or None when mixed."""
        if single_class is None:
            return cls(batches=1, start_index=index)
        return cls(1, single_class, 1, single_class, 1, 1, single_class, index, index)

    def merge(self, other: RunState) -> RunState:
        if self.batches == 0:
            return other
        if other.batches == 0:
            return self
        joins = self.last is not None and self.last == other.first
        bridge = self.suffix + other.prefix if joins else 0
        candidates = [
            (self.longest, self.longest_class, self.longest_end),
            (other.longest, other.longest_class, other.longest_end),
            (bridge, self.last, other.start_index + other.prefix - 1),
        ]
        longest, longest_class, longest_end = max(candidates, key=lambda c: c[0])
        self_uniform = self.prefix == self.batches
        other_uniform = other.prefix == other.batches
        prefix = self.prefix + other.prefix if self_uniform and joins else self.prefix
        suffix = self.suffix + other.suffix if other_uniform and joins else other.suffix
        return RunState(
            batches=self.batches + other.batches,
            first=self.first, prefix=prefix, last=other.last, suffix=suffix,
            longest=longest, longest_class=longest_class, longest_end=longest_end,
            start_index=self.start_index,
        )


def single_class(classes: np.ndarray) -> int | float | None:
    """The one class all of a batch's elements hold, or None (mixed, or not numeric).

    A batch of one element holds one class by definition: no evidence of order.

    >>> single_class(np.array([3, 3])), single_class(np.array([3])), single_class(np.array([1, 2]))
    (3, None, None)
    """
    if classes.dtype.kind not in "iubf" or len(classes) < 2 or not np.isfinite(classes[0]):
        return None
    if not np.all(classes == classes[0]):
        return None
    return int(classes[0]) if float(classes[0]).is_integer() else float(classes[0])


@dataclass
class LabelSummary:
    """Class histogram, value range, encoding evidence and shuffle runs of a label feature.

    >>> s = LabelSummary.from_array(np.array([0, 1, 1]))
    >>> dict(s.histogram)
    {0: 1, 1: 2}
    """

    elements: int = 0
    values: int = 0
    nonfinite: int = 0
    non_integer: int = 0
    min: float = float("inf")
    max: float = float("-inf")
    one_hot_rows: int = 0
    binary_rows: int = 0
    row_width: Counter[int] = field(default_factory=Counter)
    histogram: Counter[Any] = field(default_factory=Counter)
    dtypes: Counter[str] = field(default_factory=Counter)
    shapes: Counter[tuple[int, ...]] = field(default_factory=Counter)
    runs: RunState = field(default_factory=RunState)
    batches: int = 0

    @classmethod
    def from_array(cls, batch: np.ndarray, batch_index: int = 0,
                   per_value: bool = False) -> LabelSummary:
        """Summarize a batch. ``per_value``: count every value as a class (segmentation
        label maps: class frequencies per pixel), not one class per element."""
        arr = np.asarray(batch)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        s = cls(elements=int(arr.shape[0]), values=int(arr.size), batches=1)
        s.shapes[tuple(int(d) for d in arr.shape[1:])] += s.elements
        if arr.dtype.kind in "USO":
            s.dtypes["string"] += 1
            texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                     for v in arr.reshape(-1)]
            s.histogram.update(texts)
            first = texts[0] if len(texts) > 1 and all(v == texts[0] for v in texts) else None
            s.runs = RunState.of_batch(first, batch_index)
            return s
        s.dtypes[arr.dtype.name] += 1
        if not arr.size:
            s.runs = RunState.of_batch(None, batch_index)
            return s
        values = arr.astype(np.float64, copy=False)
        finite = np.isfinite(values)
        s.nonfinite = int(values.size - finite.sum())
        if finite.any():
            s.min = float(values[finite].min())
            s.max = float(values[finite].max())
        s.non_integer = int((finite & (np.floor(values) != values)).sum())
        squeezed = values.reshape(values.shape[0], -1) if values.ndim > 1 else values[:, None]
        width = squeezed.shape[1]
        s.row_width[width] += s.elements
        if per_value:
            ints = values[finite]
            if s.non_integer == 0 and ints.size:
                uniq, counts = np.unique(ints.astype(np.int64), return_counts=True)
                s.histogram.update(dict(zip((int(u) for u in uniq), (int(c) for c in counts),
                                            strict=True)))
            s.runs = RunState.of_batch(None, batch_index)
            return s
        if values.ndim >= 2 and width > 1:
            binary = np.all((squeezed == 0) | (squeezed == 1), axis=1)
            s.binary_rows = int(binary.sum())
            s.one_hot_rows = int((binary & (squeezed.sum(axis=1) == 1)).sum())
            classes: np.ndarray = np.argmax(squeezed, axis=1)
            s.histogram.update(int(c) for c in classes)
        else:
            flat = squeezed[:, 0]
            ints = flat[np.isfinite(flat)]
            if s.non_integer == 0:
                uniq, counts = np.unique(ints.astype(np.int64), return_counts=True)
                s.histogram.update(dict(zip((int(u) for u in uniq), (int(c) for c in counts),
                                            strict=True)))
            classes = flat
        s.runs = RunState.of_batch(single_class(classes), batch_index)
        return s

    def merge(self, other: LabelSummary) -> LabelSummary:
        histogram = self.histogram + other.histogram
        if len(histogram) > MAX_DISTINCT_LABELS:
            histogram = Counter(dict(histogram.most_common(MAX_DISTINCT_LABELS)))
        return LabelSummary(
            elements=self.elements + other.elements,
            values=self.values + other.values,
            nonfinite=self.nonfinite + other.nonfinite,
            non_integer=self.non_integer + other.non_integer,
            min=min(self.min, other.min), max=max(self.max, other.max),
            one_hot_rows=self.one_hot_rows + other.one_hot_rows,
            binary_rows=self.binary_rows + other.binary_rows,
            row_width=self.row_width + other.row_width,
            histogram=histogram,
            dtypes=self.dtypes + other.dtypes,
            shapes=self.shapes + other.shapes,
            runs=self.runs.merge(other.runs),
            batches=self.batches + other.batches,
        )

    @property
    def is_string(self) -> bool:
        return "string" in self.dtypes

    def class_fractions(self) -> dict[Any, float]:
        total = sum(self.histogram.values())
        return {k: v / total for k, v in self.histogram.items()} if total else {}

    def to_dict(self) -> LabelSummaryRecord:
        return {
            "kind": "label",
            "elements": self.elements,
            "nonfinite": self.nonfinite,
            "non_integer": self.non_integer,
            "min": None if self.min == float("inf") else self.min,
            "max": None if self.max == float("-inf") else self.max,
            "one_hot_rows": self.one_hot_rows,
            "histogram": {str(k): v for k, v in sorted(self.histogram.items(), key=lambda kv:
                                                       str(kv[0]))},
            "dtypes": dict(self.dtypes),
            "shapes": {"x".join(map(str, k)) or "scalar": v for k, v in self.shapes.items()},
            "longest_single_class_run": self.runs.longest,
            "batches": self.batches,
        }
