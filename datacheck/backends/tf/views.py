"""TF views of one batch: the same attributes as the numpy views, as graph tensors.

The fast predicates read the batch once where they can (see ``all_within``,
``all_finite``, ``constant``): each is a cheap *sufficient* test, and only
when it fails does an exact test (``reduce_min`` and ``reduce_max``: NaN
propagates through both, Inf lands in one) run, so the answer is always the
exact one. Everything else (counts, finite min/max, per-element masks) is
built lazily and, in ``validate``, only inside the branch that runs when a
check failed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

# Same-width unsigned views: for x >= +0 (floats and ints alike) the unsigned bit
# pattern grows with the value, while every negative value, -0.0, NaN and
# (for floats) anything above the top of the range maps above the threshold.
_UNSIGNED = {tf.float16: tf.uint16, tf.float32: tf.uint32, tf.float64: tf.uint64,
             tf.int8: tf.uint8, tf.int16: tf.uint16, tf.int32: tf.uint32, tf.int64: tf.uint64,
             tf.uint8: tf.uint8, tf.uint16: tf.uint16, tf.uint32: tf.uint32,
             tf.uint64: tf.uint64}
#: Values sampled (at scattered positions) to prove a batch is not constant without a pass.
SAMPLE = 256
_HASH = 2654435761  # Knuth's multiplicative hash: spreads the samples over the batch


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
        self._top: tf.Tensor | None = None  # max of the unsigned bit view, when computed

    def _numeric(self) -> tf.Tensor:
        return tf.cast(self.x, tf.uint8) if self.x.dtype == tf.bool else self.x

    def _at_top_level(self) -> bool:
        """Whether ops built now land in the batch's own graph (not inside a cond branch)."""
        if tf.executing_eagerly():
            return True
        return tf.compat.v1.get_default_graph() is self.x.graph

    def _bounds(self) -> tuple[tf.Tensor, tf.Tensor]:
        if self._lo is not None and self._hi is not None:
            return self._lo, self._hi
        x = self._numeric()
        lo = tf.cast(tf.reduce_min(x), tf.float64)
        hi = tf.cast(tf.reduce_max(x), tf.float64)
        if self._at_top_level():  # a tensor made inside a branch cannot be reused outside it
            self._lo, self._hi = lo, hi
        return lo, hi

    def _top_bits(self) -> tf.Tensor:
        """Max of the same-width unsigned bit view: one read-only pass."""
        if self._top is None:
            self._top = tf.reduce_max(tf.bitcast(self.x, _UNSIGNED[self.x.dtype]))
        return self._top

    def _exact_within(self, lo: float, hi: float) -> tf.Tensor:
        mn, mx = self._bounds()
        return tf.logical_and(mn >= lo, mx <= hi)

    def _exact_finite(self) -> tf.Tensor:
        mn, mx = self._bounds()
        return tf.logical_and(tf.math.is_finite(mn), tf.math.is_finite(mx))

    def _exact_constant(self) -> tf.Tensor:
        mn, mx = self._bounds()
        return tf.logical_and(tf.equal(mn, mx), tf.size(self.x) > 1)

    def all_within(self, lo: float, hi: float) -> Any:
        """Every value in [lo, hi] (NaN is not); one read-only pass when lo is 0."""
        threshold = None if self._lo is not None else _unsigned_threshold(self.x.dtype, lo, hi)
        if threshold is None or not self._at_top_level():
            return self._exact_within(lo, hi)
        if threshold is True:
            return np.True_  # the dtype cannot hold a value outside [lo, hi]
        bits = self._top_bits()
        fast = bits <= tf.constant(threshold, bits.dtype)
        if not self.x.dtype.is_floating:
            return fast  # exact for integers
        # -0.0 (>= 0, but with the sign bit set) is the one value the fast test rejects wrongly.
        return tf.cond(fast, lambda: tf.constant(True), lambda: self._exact_within(lo, hi))

    def all_finite(self) -> Any:
        """No NaN or Inf: a finite sum proves it in one pass; otherwise look exactly."""
        if not self.x.dtype.is_floating:
            return np.True_
        if self._lo is not None or self.x.dtype not in (tf.float32, tf.float64) \
                or not self._at_top_level():
            return self._exact_finite()
        # NaN and Inf poison the sum (an empty batch has min +inf: leave it to the exact test).
        fast = tf.logical_and(tf.math.is_finite(tf.reduce_sum(self.x)), tf.size(self.x) > 0)
        return tf.cond(fast, lambda: tf.constant(True), self._exact_finite)

    def constant(self) -> Any:
        """All values equal (and more than one); two differing samples disprove it cheaply."""
        if self._lo is not None or self.x.dtype == tf.bool or not self._at_top_level():
            return self._exact_constant()
        flat = tf.reshape(self.x, [-1])
        size = tf.size(flat, out_type=tf.int64)
        top = self._top

        def sampled_varies() -> tf.Tensor:
            positions = (tf.range(SAMPLE, dtype=tf.int64) * _HASH) % size
            sample = tf.gather(flat, positions)
            first = sample[0]
            varies = tf.reduce_any(tf.not_equal(sample, first))  # NaN != NaN counts as varying
            if top is not None:  # the largest bit pattern is a value of the batch as well
                varies = tf.logical_or(varies, tf.not_equal(tf.bitcast(top, self.x.dtype), first))
            return varies

        varies = tf.cond(size > 1, sampled_varies, lambda: tf.constant(False))
        return tf.cond(varies, lambda: tf.constant(False), self._exact_constant)

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


def _unsigned_threshold(dtype: tf.DType, lo: float, hi: float) -> int | bool | None:
    """Largest unsigned bit pattern of a value in [0, hi]; True if the dtype stays inside.

    None when the one-pass test does not apply (lo != 0, or no unsigned view).
    """
    if lo != 0 or hi < 0 or dtype not in _UNSIGNED:
        return None
    np_dtype = dtype.as_numpy_dtype
    if dtype.is_floating:
        info = np.finfo(np_dtype)
        if hi >= float(info.max):
            top = np_dtype(np.inf) if hi == np.inf else info.max
        else:
            top = np.asarray(hi, dtype=np_dtype)
            if float(top) > hi:  # rounded up: step down to the largest value <= hi
                top = np.nextafter(top, np_dtype(-np.inf))
        return int(np.asarray(top, dtype=np_dtype).view(_UNSIGNED[dtype].as_numpy_dtype))
    limits = np.iinfo(np_dtype)
    if hi >= limits.max:
        return True if limits.min >= 0 else int(limits.max)
    return int(np.floor(hi))


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
        if self._class is None:
            return tf.constant("?")
        if self._class.dtype == tf.string:
            return self._class
        return tf.strings.as_string(self._class)
