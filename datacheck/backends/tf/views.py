"""TF views of one batch: the same attributes as the numpy views, as graph tensors.

Value verdicts are per element: each is one reduction over the non-batch axes
(a [B] vector), so one blank or unscaled image inside a good batch is found by
its index. Exact predicates read per-element ``reduce_min``/``reduce_max``
(NaN propagates through both, Inf lands in one). ``validate`` first judges
every batch with fast views (``exact=False``): each predicate reads the batch
at most once (range [0, hi]: the per-element max of the unsigned bit view;
finite: per-element sums; constant: a few samples per element, checked against
that max) and is a *sufficient* test. Only when the fast verdict fails does it
re-judge the batch with exact views, inside the branch that also builds the
diagnostics (counts, finite min/max, per-element masks).
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
    """One batch, seen by the rules; value verdicts are per element (axis 0).

    Every value predicate is one reduction over the non-batch axes (a [B] vector)
    and then a tiny reduction over B, so a blank image inside a good batch is
    found by its index. ``exact=True`` (the default) gives exact predicates.
    ``exact=False`` gives one-pass predicates that are only *sufficient*: True
    proves the check holds, False means "look closer" (``validate`` then
    re-judges the batch with exact views, in the branch that only runs when the
    fast verdict fails).
    """

    def __init__(self, x: tf.Tensor, exact: bool = True) -> None:
        self.x = x
        self.exact = exact
        self.shape = dynamic_shape(x)
        self.dtype = tf_dtype_name(x.dtype)
        self.is_string = x.dtype == tf.string
        self._cache: dict[str, tuple[Any, Any]] = {}
        self._top: tf.Tensor | None = None  # per-element max of the unsigned bit view

    def _cached(self, key: str, make: Any) -> Any:
        # A tensor made inside a cond branch cannot be used outside it: cache per graph.
        graph = None if tf.executing_eagerly() else tf.compat.v1.get_default_graph()
        hit = self._cache.get(key)
        if hit is not None and hit[0] is graph:
            return hit[1]
        value = make()
        self._cache[key] = (graph, value)
        return value

    def _numeric(self) -> tf.Tensor:
        return tf.cast(self.x, tf.uint8) if self.x.dtype == tf.bool else self.x

    def _per_element(self) -> int | tf.Tensor:
        """Values per element: a static int when known, else a scalar tensor."""
        static = self.x.shape[1:]
        if static.is_fully_defined():
            return int(static.num_elements() or 0)
        return tf.reduce_prod(tf.shape(self.x)[1:])

    def _flat(self, x: tf.Tensor) -> tf.Tensor:
        """[B, values per element]; safe for empty batches (no -1 to infer)."""
        size = self._per_element()
        if isinstance(size, int):
            return tf.reshape(x, [-1, size]) if size else tf.reshape(x, [tf.shape(x)[0], 0])
        return tf.reshape(x, tf.stack([tf.shape(x)[0], size]))

    def _element_bounds(self) -> tuple[tf.Tensor, tf.Tensor]:
        """Per-element min and max in the native dtype (NaN propagates through both)."""
        def make() -> tuple[tf.Tensor, tf.Tensor]:
            rows = self._flat(self._numeric())
            return tf.reduce_min(rows, axis=1), tf.reduce_max(rows, axis=1)
        return self._cached("bounds", make)  # type: ignore[no-any-return]

    def _fast(self) -> bool:
        """Whether the one-pass tests apply (fast mode, min/max not already computed)."""
        return not self.exact and "bounds" not in self._cache

    def all_within(self, lo: float, hi: float) -> Any:
        """Every value in [lo, hi] (NaN is not). Fast mode: one read-only pass when lo is 0."""
        threshold = _unsigned_threshold(self.x.dtype, lo, hi)
        if threshold is True:
            return np.True_  # the dtype cannot hold a value outside [lo, hi]
        if threshold is not None and (self._fast() or not self.x.dtype.is_floating):
            # Exact for integers; for floats only -0.0 (>= 0, sign bit set) fails it wrongly.
            top = self._top_bits()
            return tf.reduce_all(top <= tf.constant(threshold, top.dtype))
        return tf.reduce_all(self.element_within(lo, hi))

    def all_finite(self) -> Any:
        """No NaN or Inf. Fast mode: finite per-element sums prove it in one pass."""
        if not self.x.dtype.is_floating:
            return np.True_
        if self._fast() and self.x.dtype in (tf.float32, tf.float64):
            # NaN and Inf poison a sum; an overflowing sum is only "look closer".
            return tf.reduce_all(tf.math.is_finite(tf.reduce_sum(self._flat(self.x), axis=1)))
        return tf.reduce_all(self.element_finite())

    def constant(self) -> Any:
        """Some element holds one value throughout (and more than one value).

        Fast mode: False once every element shows two different sampled values.
        """
        size = self._per_element()
        if isinstance(size, int) and size <= 1:
            return np.False_
        if not self._fast() or self.x.dtype == tf.bool:
            return tf.reduce_any(self.element_constant())
        rows = self._flat(self.x)
        step = _sample_step(self.x.shape)
        if step is not None:
            # A static lattice needs no cond and no gather: one strided copy of about
            # SAMPLE / 4 values per element.
            varies = self._varies(rows[:, ::step])
        else:
            n = tf.cast(size, tf.int64)

            def sampled() -> tf.Tensor:
                positions = (tf.range(SAMPLE // 4, dtype=tf.int64) * _HASH) % n
                return self._varies(tf.gather(rows, positions, axis=1))

            # Elements of one value (or none) are never "constant": no sampling needed.
            varies = tf.cond(n > 1, sampled, lambda: tf.ones([tf.shape(rows)[0]], tf.bool))
        return tf.reduce_any(tf.logical_not(varies))

    def _varies(self, sample: tf.Tensor) -> tf.Tensor:
        """Per element: two sampled values differ (values, not bits: -0.0 == 0.0, NaN varies)."""
        first = sample[:, :1]
        varies = tf.reduce_any(tf.not_equal(sample, first), axis=1)
        if self._top is not None:  # the largest bit pattern is a value of the element too
            top = tf.bitcast(self._top, self.x.dtype)
            varies = tf.logical_or(varies, tf.not_equal(top, first[:, 0]))
        return varies

    def _top_bits(self) -> tf.Tensor:
        """Per-element max of the same-width unsigned bit view: one read-only pass."""
        if self._top is None:
            self._top = tf.reduce_max(self._flat(tf.bitcast(self.x, _UNSIGNED[self.x.dtype])),
                                      axis=1)
        return self._top

    # -- per-element masks (exact) and diagnostics (built only when a check failed) --
    def element_within(self, lo: float, hi: float) -> tf.Tensor:
        mn, mx = self._element_bounds()
        return tf.logical_and(tf.cast(mn, tf.float64) >= lo, tf.cast(mx, tf.float64) <= hi)

    def element_finite(self) -> tf.Tensor:
        if not self.x.dtype.is_floating:
            return tf.ones([tf.shape(self.x)[0]], tf.bool)
        mn, mx = self._element_bounds()
        return tf.logical_and(tf.math.is_finite(mn), tf.math.is_finite(mx))

    def element_constant(self) -> tf.Tensor:
        mn, mx = self._element_bounds()
        return tf.logical_and(tf.equal(mn, mx), tf.cast(self._per_element(), tf.int64) > 1)

    def _as_float(self) -> tf.Tensor:
        x = self._numeric()
        return x if x.dtype in (tf.float32, tf.float64) else tf.cast(x, tf.float64)

    def _rows(self, mask: tf.Tensor) -> tf.Tensor:
        return self._flat(mask)

    def _finite_bounds(self) -> tuple[tf.Tensor, tf.Tensor]:
        """Per-element min and max of the finite values (+inf / -inf when there are none)."""
        def make() -> tuple[tf.Tensor, tf.Tensor]:
            rows = self._flat(self._as_float())
            finite = tf.math.is_finite(rows)
            inf = tf.constant(float("inf"), rows.dtype)
            lo = tf.reduce_min(tf.where(finite, rows, inf), axis=1)
            hi = tf.reduce_max(tf.where(finite, rows, -inf), axis=1)
            return tf.cast(lo, tf.float64), tf.cast(hi, tf.float64)
        return self._cached("finite", make)  # type: ignore[no-any-return]

    def element_finite_min(self) -> tf.Tensor:
        return self._finite_bounds()[0]

    def element_finite_max(self) -> tf.Tensor:
        return self._finite_bounds()[1]

    def nonfinite_count(self) -> tf.Tensor:
        bad = tf.logical_not(tf.math.is_finite(self._as_float()))
        return tf.reduce_sum(tf.cast(bad, tf.int64))

    def finite_min(self) -> tf.Tensor:
        return tf.reduce_min(self.element_finite_min())  # +inf for an empty batch

    def finite_max(self) -> tf.Tensor:
        return tf.reduce_max(self.element_finite_max())

    def constant_value(self) -> tf.Tensor:
        """The smallest value that fills a whole element (+inf when none does)."""
        mn, _ = self._element_bounds()
        return tf.reduce_min(tf.where(self.element_constant(), tf.cast(mn, tf.float64),
                                      tf.constant(np.inf, tf.float64)))

    # -- backend-neutral helpers for rules --------------------------------------------
    @staticmethod
    def partial(mask: Any) -> tf.Tensor:
        """The per-element mask holds both True and False."""
        mask = tf.convert_to_tensor(mask)
        return tf.logical_and(tf.reduce_any(mask), tf.logical_not(tf.reduce_all(mask)))

    @staticmethod
    def select(pred: Any, if_true: str, if_false: str) -> tf.Tensor:
        return tf.where(tf.convert_to_tensor(pred), if_true, if_false)

    @staticmethod
    def every(mask: Any) -> tf.Tensor:
        return tf.reduce_all(tf.convert_to_tensor(mask))

    @staticmethod
    def masked_min(values: Any, mask: Any) -> tf.Tensor:
        return tf.reduce_min(tf.where(mask, values, tf.constant(np.inf, tf.float64)))

    @staticmethod
    def masked_max(values: Any, mask: Any) -> tf.Tensor:
        return tf.reduce_max(tf.where(mask, values, tf.constant(-np.inf, tf.float64)))

    def image_stats(self, lo: float, hi: float, channel_axis: int | None,
                    min_contrast: float) -> dict[str, tf.Tensor]:
        """Per-image quality statistics (``backends/tf/quality.py``), once per graph."""
        from datacheck.backends.tf.quality import image_stats

        return self._cached(f"quality{(lo, hi, channel_axis, min_contrast)}",  # type: ignore[no-any-return]
                            lambda: image_stats(self.x, lo, hi, channel_axis, min_contrast))


def _sample_step(shape: tf.TensorShape) -> int | None:
    """Stride of the fast constant() sample, from the static size of one element.

    About SAMPLE / 4 samples per element, so the sample spans the first four
    elements; the stride is a prime above 3 so it does not keep landing on the
    same channel or on one column of power-of-two images. None: sizes not static.
    """
    if shape.rank is None or shape.rank < 1 or not shape[1:].is_fully_defined():
        return None
    per_element = max(1, int(shape[1:].num_elements()))
    step: int = max(1, per_element * 4 // SAMPLE)
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
        return self._flat(self._as_float())

    def element_binary(self) -> tf.Tensor:
        rows = self._label_rows()
        return tf.reduce_all(tf.logical_or(tf.equal(rows, 0), tf.equal(rows, 1)), axis=1)

    def non_binary_value(self) -> tf.Tensor:
        """The smallest value that is neither 0 nor 1 (+inf when there is none)."""
        rows = tf.cast(self._label_rows(), tf.float64)
        binary = tf.logical_or(tf.equal(rows, 0), tf.equal(rows, 1))
        return tf.reduce_min(tf.where(binary, tf.constant(np.inf, tf.float64), rows))

    def element_fraction_not(self, value: float) -> tf.Tensor:
        """Per element: the fraction of values that differ from ``value``."""
        rows = self._label_rows()
        differ = tf.cast(tf.not_equal(rows, tf.cast(value, rows.dtype)), tf.float64)
        return tf.math.divide_no_nan(tf.reduce_sum(differ, axis=1),
                                     tf.cast(tf.shape(rows)[1], tf.float64))

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
