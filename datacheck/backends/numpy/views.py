"""Numpy views of one batch: the attributes rules read, computed eagerly and cached.

Value verdicts are per element, from one min/max reduction over the non-batch
axes (the numpy twin of ``backends/tf/views.py``).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from datacheck.summary import LabelSummary, TensorSummary


def dtype_name(arr: np.ndarray) -> str:
    return "string" if arr.dtype.kind in "USO" else arr.dtype.name


def _element_reduce(mask: np.ndarray) -> np.ndarray:
    return np.asarray(mask.reshape(mask.shape[0], -1).all(axis=1) if mask.ndim > 1 else mask)


class SummaryView:
    """What value rules read, answered from a TensorSummary alone (no per-element masks).

    Serves whole files judged from a streamed summary, the normalization layer's check
    vector, and (as the base of NumpyTensorView) in-memory batches.
    """

    def __init__(self, summary: TensorSummary, shape: tuple[Any, ...] = (),
                 dtype: str = "float32") -> None:
        self.summary = summary
        self.shape: tuple[Any, ...] = shape
        self.dtype = dtype
        self.is_string = dtype == "string"

    # NaN-propagating min/max, like tf.reduce_min/max: the fast predicates rely on it.
    @cached_property
    def _lo(self) -> float:
        return float("nan") if self.summary.nonfinite else self.summary.min

    @cached_property
    def _hi(self) -> float:
        return float("nan") if self.summary.nonfinite else self.summary.max

    def all_within(self, lo: float, hi: float) -> np.bool_:
        return np.bool_(self._lo >= lo) & np.bool_(self._hi <= hi)

    def all_finite(self) -> np.bool_:
        return np.bool_(self.summary.nonfinite == 0)

    def constant(self) -> np.bool_:
        return np.bool_(self.summary.values > 1 and self._lo == self._hi)

    def element_within(self, lo: float, hi: float) -> np.ndarray | None:
        return None

    def element_finite(self) -> np.ndarray | None:
        return None

    def element_constant(self) -> np.ndarray | None:
        return None

    def element_finite_min(self) -> np.ndarray | None:
        return None

    def element_finite_max(self) -> np.ndarray | None:
        return None

    def constant_value(self) -> np.float64:
        return np.float64(self.summary.min)

    @staticmethod
    def partial(mask: Any) -> np.bool_:
        """The per-element mask holds both True and False (False without a mask)."""
        if mask is None:
            return np.False_
        arr = np.asarray(mask, dtype=bool)
        return np.bool_(arr.any() and not arr.all())

    @staticmethod
    def select(pred: Any, if_true: str, if_false: str) -> str:
        return if_true if bool(pred) else if_false

    def nonfinite_count(self) -> np.int64:
        return np.int64(self.summary.nonfinite)

    def image_stats(self, lo: float, hi: float, channel_axis: int | None,
                    min_contrast: float) -> dict[str, np.ndarray] | None:
        """Per-image quality statistics; None from a summary alone (no pixels to look at)."""
        return None

    @staticmethod
    def every(mask: Any) -> np.bool_:
        return np.bool_(np.asarray(mask, dtype=bool).all())

    @staticmethod
    def masked_min(values: Any, mask: Any) -> np.float64:
        """The smallest of ``values`` where ``mask`` holds (+inf when nowhere)."""
        return np.float64(np.where(mask, values, np.inf).min(initial=np.inf))

    @staticmethod
    def masked_max(values: Any, mask: Any) -> np.float64:
        return np.float64(np.where(mask, values, -np.inf).max(initial=-np.inf))

    def finite_min(self) -> np.float64:
        return np.float64(self.summary.min)

    def finite_max(self) -> np.float64:
        return np.float64(self.summary.max)


class NumpyTensorView(SummaryView):
    """A batch as rules see it: per-element min/max computed once, batch verdicts from them."""

    def __init__(self, batch: np.ndarray, summary: TensorSummary | None = None) -> None:
        super().__init__(summary if summary is not None else TensorSummary.from_array(batch),
                         tuple(int(d) for d in batch.shape), dtype_name(batch))
        self.array = batch
        self._stats: tuple[Any, dict[str, np.ndarray]] | None = None

    @cached_property
    def _rows(self) -> np.ndarray:
        arr = self.array.astype(np.uint8) if self.array.dtype == bool else self.array
        n = arr.shape[0] if arr.ndim else 1
        return arr.reshape(n, int(np.prod(arr.shape[1:])) if arr.ndim else 1)

    @cached_property
    def _element_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-element min and max, native dtype (NaN propagates, like tf.reduce_min/max)."""
        rows = self._rows
        if rows.shape[1] == 0:  # the reductions' identities, as in TF
            kind = rows.dtype.kind
            info = np.finfo(rows.dtype) if kind == "f" else np.iinfo(rows.dtype)
            top = np.inf if kind == "f" else info.max
            bottom = -np.inf if kind == "f" else info.min
            return (np.full(len(rows), top, rows.dtype), np.full(len(rows), bottom, rows.dtype))
        return rows.min(axis=1), rows.max(axis=1)

    @cached_property
    def _finite_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        rows = self._rows.astype(np.float64, copy=False)
        finite = np.isfinite(rows)
        lo = np.where(finite, rows, np.inf).min(axis=1, initial=np.inf)
        hi = np.where(finite, rows, -np.inf).max(axis=1, initial=-np.inf)
        return lo, hi

    def all_within(self, lo: float, hi: float) -> np.bool_:
        return np.bool_(self.element_within(lo, hi).all())

    def all_finite(self) -> np.bool_:
        return np.bool_(self.element_finite().all())

    def constant(self) -> np.bool_:
        return np.bool_(self.element_constant().any())

    def element_within(self, lo: float, hi: float) -> np.ndarray:
        mn, mx = self._element_bounds
        with np.errstate(invalid="ignore"):
            return (mn.astype(np.float64) >= lo) & (mx.astype(np.float64) <= hi)

    def element_finite(self) -> np.ndarray:
        mn, mx = self._element_bounds
        if mn.dtype.kind != "f":
            return np.ones(len(mn), bool)
        return np.asarray(np.isfinite(mn) & np.isfinite(mx))

    def element_constant(self) -> np.ndarray:
        # Native compare: large int64 values collide once cast to float64.
        mn, mx = self._element_bounds
        return np.asarray((mn == mx) & (self._rows.shape[1] > 1))

    def element_finite_min(self) -> np.ndarray:
        return self._finite_bounds[0]

    def element_finite_max(self) -> np.ndarray:
        return self._finite_bounds[1]

    def image_stats(self, lo: float, hi: float, channel_axis: int | None,
                    min_contrast: float) -> dict[str, np.ndarray]:
        key = (lo, hi, channel_axis, min_contrast)
        if self._stats is None or self._stats[0] != key:
            from datacheck.backends.numpy.quality import image_stats

            self._stats = (key, image_stats(self.array, lo, hi, channel_axis, min_contrast))
        return self._stats[1]

    def constant_value(self) -> np.float64:
        mn, _ = self._element_bounds
        values = np.where(self.element_constant(), mn.astype(np.float64), np.inf)
        return np.float64(values.min(initial=np.inf))


class NumpyLabelView(NumpyTensorView):
    """Labels: adds integrality, set membership, one-hot rows and single-class runs."""

    def __init__(self, batch: np.ndarray, label_summary: LabelSummary, run_length: int) -> None:
        super().__init__(batch)
        self.labels = label_summary
        self._run = run_length

    def all_integral(self) -> np.bool_ | None:
        if self.array.dtype.kind != "f":
            return None
        return np.bool_(self.labels.non_integer == 0)

    def _member(self, allowed: list[Any]) -> np.ndarray:
        if self.is_string:
            flat = np.array([v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                             for v in self.array.reshape(-1)], dtype=object)
            return np.isin(flat, np.array(allowed, dtype=object)).reshape(self.array.shape)
        return np.isin(self.array, np.array(allowed))

    def all_in_set(self, allowed: list[Any]) -> np.bool_:
        return np.bool_(self._member(allowed).all())

    def element_in_set(self, allowed: list[Any]) -> np.ndarray:
        return _element_reduce(self._member(allowed))

    def _label_rows(self) -> np.ndarray:
        return self.array.reshape(self.array.shape[0], -1)

    def element_binary(self) -> np.ndarray:
        rows = self._label_rows()
        return np.asarray(np.all((rows == 0) | (rows == 1), axis=1))

    def non_binary_value(self) -> np.float64:
        """The smallest value that is neither 0 nor 1 (+inf when there is none)."""
        rows = self._label_rows().astype(np.float64)
        return np.float64(np.where((rows == 0) | (rows == 1), np.inf, rows).min(initial=np.inf))

    def element_fraction_not(self, value: float) -> np.ndarray:
        """Per element: the fraction of values that differ from ``value``."""
        rows = self._label_rows()
        return (rows != value).mean(axis=1) if rows.shape[1] else np.zeros(len(rows))

    def element_rows_one_hot(self) -> np.ndarray:
        return np.asarray(self.element_binary() & (self._label_rows().sum(axis=1) == 1))

    def all_binary(self) -> np.bool_:
        return np.bool_(self.element_binary().all())

    def rows_one_hot(self) -> np.bool_:
        return np.bool_(self.element_rows_one_hot().all())

    def single_class_run(self) -> np.int64:
        return np.int64(self._run)

    def batch_class(self) -> Any:
        return self.labels.runs.last
