"""TF views of one batch: the same attributes as the numpy views, as graph tensors.

Exact predicates need ``reduce_min`` and ``reduce_max`` (NaN propagates
through both, Inf lands in one). ``validate`` first judges every batch with
fast views (``exact=False``): each predicate reads the batch at most once
(range [0, hi]: the max of the unsigned bit view; finite: the sum; constant:
a few samples) and is a *sufficient* test. Only when the fast verdict fails
does it re-judge the batch with exact views, inside the branch that also
builds the diagnostics (counts, finite min/max, per-element masks).
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
    """One batch, seen by the rules.

    ``exact=True`` (the default) gives exact predicates. ``exact=False`` gives
    one-pass predicates that are only *sufficient*: True proves the check
    holds, False means "look closer" (``validate`` then re-judges the batch
    with exact views, in the branch that only runs when the fast verdict fails).
    """

    def __init__(self, x: tf.Tensor, exact: bool = True) -> None:
        self.x = x
        self.exact = exact
        self.shape = dynamic_shape(x)
        self.dtype = tf_dtype_name(x.dtype)
        self.is_string = x.dtype == tf.string
        self._bounds_cache: tuple[Any, tf.Tensor, tf.Tensor] | None = None
        self._top: tf.Tensor | None = None  # max of the unsigned bit view, when computed

    def _numeric(self) -> tf.Tensor:
        return tf.cast(self.x, tf.uint8) if self.x.dtype == tf.bool else self.x

    def _bounds(self) -> tuple[tf.Tensor, tf.Tensor]:
        # A tensor made inside a cond branch cannot be used outside it: cache per graph.
        graph = None if tf.executing_eagerly() else tf.compat.v1.get_default_graph()
        if self._bounds_cache is not None and self._bounds_cache[0] is graph:
            return self._bounds_cache[1], self._bounds_cache[2]
        x = self._numeric()
        lo = tf.cast(tf.reduce_min(x), tf.float64)
        hi = tf.cast(tf.reduce_max(x), tf.float64)
        self._bounds_cache = (graph, lo, hi)
        return lo, hi

    def _fast(self) -> bool:
        """Whether the one-pass tests apply (fast mode, min/max not already computed)."""
        return not self.exact and self._bounds_cache is None

    def all_within(self, lo: float, hi: float) -> Any:
        """Every value in [lo, hi] (NaN is not). Fast mode: one read-only pass when lo is 0."""
        threshold = _unsigned_threshold(self.x.dtype, lo, hi)
        if threshold is True:
            return np.True_  # the dtype cannot hold a value outside [lo, hi]
        if threshold is not None and (self._fast() or not self.x.dtype.is_floating):
            # Exact for integers; for floats only -0.0 (>= 0, sign bit set) fails it wrongly.
            bits = self._top_bits()
            return bits <= tf.constant(threshold, bits.dtype)
        mn, mx = self._bounds()
        return tf.logical_and(mn >= lo, mx <= hi)

    def all_finite(self) -> Any:
        """No NaN or Inf. Fast mode: a finite sum proves it in one pass."""
        if not self.x.dtype.is_floating:
            return np.True_
        if self._fast() and self.x.dtype in (tf.float32, tf.float64):
            # NaN and Inf poison the sum; an empty batch is left to the exact test.
            return tf.logical_and(tf.math.is_finite(tf.reduce_sum(self.x)), tf.size(self.x) > 0)
        mn, mx = self._bounds()
        # An empty batch holds no NaN (its min/max are the reductions' +-inf identities).
        return tf.logical_or(tf.equal(tf.size(self.x), 0),
                             tf.logical_and(tf.math.is_finite(mn), tf.math.is_finite(mx)))

    def constant(self) -> Any:
        """All values equal (and more than one). Fast mode: False once two samples differ."""
        if not self._fast() or self.x.dtype == tf.bool:
            mn, mx = self._bounds()
            return tf.logical_and(tf.equal(mn, mx), tf.size(self.x) > 1)
        flat = tf.reshape(self.x, [-1])
        step = _sample_step(self.x.shape)
        if step is None:
            return self._constant_hashed(flat)
        # A static lattice needs no cond and no gather: one strided copy of SAMPLE values,
        # clamped for small batches (an empty or one-value batch is "maybe constant" and
        # goes to the exact judge, which says no).
        sample = flat[:step * SAMPLE:step]
        if self._top is not None:  # the largest value of the batch is a value as well
            reference = tf.reshape(tf.bitcast(self._top, self.x.dtype), [1])
        else:
            reference = sample[:1]
        # Values, not bits: -0.0 equals 0.0 as the exact judge sees it; NaN != NaN varies.
        return tf.logical_not(tf.reduce_any(tf.not_equal(sample, reference)))

    def _constant_hashed(self, flat: tf.Tensor) -> tf.Tensor:
        """Fast constant() when element sizes are not static: hashed gather positions."""
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

        # A single value (or none) is never "constant": answer that exactly, without sampling.
        return tf.logical_not(tf.cond(size > 1, sampled_varies, lambda: tf.constant(True)))

    def _top_bits(self) -> tf.Tensor:
        """Max of the same-width unsigned bit view: one read-only pass."""
        if self._top is None:
            self._top = tf.reduce_max(tf.bitcast(self.x, _UNSIGNED[self.x.dtype]))
        return self._top

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


def _sample_step(shape: tf.TensorShape) -> int | None:
    """Stride of the fast constant() sample, from the static size of one element.

    About SAMPLE / 4 samples per element, so the sample spans the first four
    elements; the stride is a prime above 3 so it does not keep landing on the
    same channel or on one column of power-of-two images. None: sizes not static.
    """
    if shape.rank is None or shape.rank < 1 or not shape[1:].is_fully_defined():
        return None
    per_element = max(1, shape[1:].num_elements())
    step = max(1, per_element * 4 // SAMPLE)
    if step <= 3:
        return step
    while any(step % k == 0 for k in range(2, int(step ** 0.5) + 1)):
        step += 1
    return step


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
                 batch_class: tf.Tensor | None = None, exact: bool = True) -> None:
        super().__init__(y, exact)
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
