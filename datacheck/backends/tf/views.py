"""TF views of one batch: the same attributes as the numpy views, as graph tensors.

The fast predicates need only ``reduce_min`` and ``reduce_max`` (two read-only
passes; NaN propagates through both and Inf lands in one). Everything else
(counts, finite min/max, per-element masks) is built lazily and, in
``validate``, only inside the branch that runs when a check failed.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def tf_dtype_name(dtype: tf.DType) -> str:
    return "string" if dtype == tf.string else dtype.name


def dynamic_shape(x: tf.Tensor) -> tuple[Any, ...]:
    """Static dims as ints; unknown dims as scalar tensors read at run time."""
    static = x.shape.as_list() if x.shape.rank is not None else []
    if all(d is not None for d in static):
        return tuple(static)
    dynamic = tf.shape(x)
    return tuple(d if d is not None else dynamic[i] for i, d in enumerate(static))


class TFTensorView:
    def __init__(self, x: tf.Tensor) -> None:
        self.x = x
        self.shape = dynamic_shape(x)
        self.dtype = tf_dtype_name(x.dtype)
        self.is_string = x.dtype == tf.string
        self._lo: tf.Tensor | None = None
        self._hi: tf.Tensor | None = None

    def _numeric(self) -> tf.Tensor:
        return tf.cast(self.x, tf.uint8) if self.x.dtype == tf.bool else self.x

    def _bounds(self) -> tuple[tf.Tensor, tf.Tensor]:
        if self._lo is None or self._hi is None:
            x = self._numeric()
            self._lo = tf.cast(tf.reduce_min(x), tf.float64)
            self._hi = tf.cast(tf.reduce_max(x), tf.float64)
        return self._lo, self._hi

    def all_within(self, lo: float, hi: float) -> tf.Tensor:
        mn, mx = self._bounds()
        return tf.logical_and(mn >= lo, mx <= hi)

    def all_finite(self) -> tf.Tensor:
        mn, mx = self._bounds()
        return tf.logical_and(tf.math.is_finite(mn), tf.math.is_finite(mx))

    def constant(self) -> tf.Tensor:
        mn, mx = self._bounds()
        return tf.logical_and(tf.equal(mn, mx), tf.size(self.x) > 1)

    # -- diagnostics: built only when a check failed --------------------------------
    def _as_float(self) -> tf.Tensor:
        x = self._numeric()
        return x if x.dtype in (tf.float32, tf.float64) else tf.cast(x, tf.float64)

    def _rows(self, mask: tf.Tensor) -> tf.Tensor:
        return tf.reshape(mask, [tf.shape(mask)[0], -1])

    def element_within(self, lo: float, hi: float) -> tf.Tensor:
        x = self._as_float()
        inside = tf.logical_and(x >= tf.cast(lo, x.dtype), x <= tf.cast(hi, x.dtype))
        return tf.reduce_all(self._rows(inside), axis=1)

    def element_finite(self) -> tf.Tensor:
        return tf.reduce_all(self._rows(tf.math.is_finite(self._as_float())), axis=1)

    def nonfinite_count(self) -> tf.Tensor:
        bad = tf.logical_not(tf.math.is_finite(self._as_float()))
        return tf.reduce_sum(tf.cast(bad, tf.int64))

    def finite_min(self) -> tf.Tensor:
        x = self._as_float()
        inf = tf.constant(float("inf"), x.dtype)
        return tf.cast(tf.reduce_min(tf.where(tf.math.is_finite(x), x, inf)), tf.float64)

    def finite_max(self) -> tf.Tensor:
        x = self._as_float()
        inf = tf.constant(float("-inf"), x.dtype)
        return tf.cast(tf.reduce_max(tf.where(tf.math.is_finite(x), x, inf)), tf.float64)


class TFLabelView(TFTensorView):
    def __init__(self, y: tf.Tensor, run: tf.Tensor | None = None,
                 batch_class: tf.Tensor | None = None) -> None:
        super().__init__(y)
        self._run = run
        self._class = batch_class

    def all_integral(self) -> tf.Tensor | None:
        if not self.x.dtype.is_floating:
            return None
        return tf.reduce_all(tf.equal(tf.floor(self.x), self.x))

    def _member(self, allowed: list[Any]) -> tf.Tensor:
        values = tf.constant(allowed, dtype=tf.string if self.is_string else tf.float64)
        y = self.x if self.is_string else tf.cast(self.x, tf.float64)
        return tf.reduce_any(tf.equal(tf.expand_dims(y, -1), values), axis=-1)

    def all_in_set(self, allowed: list[Any]) -> tf.Tensor:
        return tf.reduce_all(self._member(allowed))

    def element_in_set(self, allowed: list[Any]) -> tf.Tensor:
        member = self._member(allowed)
        if member.shape.rank == 1:
            return member
        return tf.reduce_all(self._rows(member), axis=1)

    def _label_rows(self) -> tf.Tensor:
        y = self._as_float()
        return tf.reshape(y, [tf.shape(y)[0], -1])

    def element_binary(self) -> tf.Tensor:
        rows = self._label_rows()
        return tf.reduce_all(tf.logical_or(tf.equal(rows, 0), tf.equal(rows, 1)), axis=1)

    def element_rows_one_hot(self) -> tf.Tensor:
        rows = self._label_rows()
        return tf.logical_and(self.element_binary(), tf.equal(tf.reduce_sum(rows, axis=1), 1))

    def all_binary(self) -> tf.Tensor:
        return tf.reduce_all(self.element_binary())

    def rows_one_hot(self) -> tf.Tensor:
        return tf.reduce_all(self.element_rows_one_hot())

    def single_class_run(self) -> tf.Tensor:
        return tf.constant(0, tf.int64) if self._run is None else self._run

    def batch_class(self) -> tf.Tensor:
        return tf.constant("?") if self._class is None else self._class
