"""What inference records per name while reading: summaries plus shape and integer evidence."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datacheck.infer.sources import integer_like
from datacheck.summary import LabelSummary, TensorSummary

#: Elements with at most this many values also get a label summary (one-hot up to 4096 classes).
LABEL_CANDIDATE_SIZE = 4096


#: Single elements with more values than this (volumes) are summarized slab by slab.
SLAB_SUMMARY_VALUES = 1 << 20


def _summary(arr: np.ndarray) -> TensorSummary:
    if arr.shape[0] == 1 and arr.size > SLAB_SUMMARY_VALUES and arr.dtype.kind in "biuf":
        from datacheck.scan.volume import summarize_element

        # Same summary as from_array, without float64 copies of a whole volume.
        return summarize_element(arr[0])
    return TensorSummary.from_array(arr)


@dataclass
class Observation:
    """Everything inference needs about one name; ``merge`` is associative.

    >>> o = Observation.of(np.zeros((2, 3)), 0); o.dims, o.ranks
    ([3], {1})
    """

    tensor: TensorSummary = field(default_factory=TensorSummary)
    label: LabelSummary | None = None
    ranks: set[int] = field(default_factory=set)
    dims: list[int | None] | None = None  # per element axis; None where sizes differ
    integer_like: bool = True
    headers: Counter[Any] = field(default_factory=Counter)  # e.g. NIfTI orientation/spacing

    @classmethod
    def of(cls, batch: np.ndarray, batch_index: int) -> Observation:
        arr = np.asarray(batch)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        element: list[int | None] = [int(d) for d in arr.shape[1:]]
        obs = cls(tensor=_summary(arr), ranks={len(element)}, dims=element)
        obs.integer_like = arr.dtype.kind in "USO" or integer_like(arr)
        per_element = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1
        if arr.dtype.kind in "USO" or per_element <= LABEL_CANDIDATE_SIZE:
            obs.label = LabelSummary.from_array(arr, batch_index)
        return obs

    def merge(self, other: Observation) -> Observation:
        if not self.ranks:
            return other
        if not other.ranks:
            return self
        dims: list[int | None] | None = None
        if self.ranks == other.ranks and len(self.ranks) == 1 and self.dims is not None \
                and other.dims is not None:
            dims = [a if a == b else None for a, b in zip(self.dims, other.dims, strict=True)]
        label = None
        if self.label is not None and other.label is not None:
            label = self.label.merge(other.label)
        return Observation(
            tensor=self.tensor.merge(other.tensor), label=label,
            ranks=self.ranks | other.ranks, dims=dims,
            integer_like=self.integer_like and other.integer_like,
            headers=self.headers + other.headers)


def observe(batches: Any, max_batches: int | None = None) -> tuple[dict[str, Observation], int]:
    """Merge observations over an iterable of :class:`~datacheck.infer.sources.Batch`.

    Returns the observations by name and the number of batches read.
    """
    seen: dict[str, Observation] = {}
    count = 0
    for index, batch in enumerate(batches):
        if max_batches is not None and index >= max_batches:
            break
        for name, arr in batch.arrays.items():
            obs = Observation.of(arr, index)
            obs.headers.update(batch.headers.get(name, {}))
            seen[name] = seen[name].merge(obs) if name in seen else obs
        count += 1
    return seen, count
