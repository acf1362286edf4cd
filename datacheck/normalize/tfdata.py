"""Normalize inside a tf.data pipeline: the layer's math in TF ops, applied after batch().

For users who normalize in the input pipeline (on the CPU: tf.data map
functions never run on the GPU). The constants come from the same
:class:`~datacheck.normalize.params.NormParams` as the Keras layer, so both
give the same output within float tolerance. ``check=True`` adds the cheapest
correct check (one boolean reduction; diagnostics only when it fails).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from datacheck.errors import DatacheckError, require
from datacheck.normalize.params import NormParams, resolve_params


def _params(norm: Any, method: str, channel_axis: int | None,
            options: dict[str, Any]) -> tuple[NormParams, int | None, str]:
    if isinstance(norm, NormParams):
        return norm, channel_axis, "normalize"
    if hasattr(norm, "params") and isinstance(norm.params, NormParams):  # a Normalize layer
        return norm.params, norm.channel_axis, norm.feature or norm.name
    return resolve_params(norm, method, **options), channel_axis, "normalize"


def normalize_tensor(params: NormParams, x: Any, channel_axis: int | None = -1) -> Any:
    """Apply ``params`` to one batch with TF ops (the twin of ``Normalize.call``)."""
    import tensorflow as tf
    x = tf.cast(x, tf.float32)
    ndim = x.shape.rank
    if ndim is None or ndim < 2:
        raise DatacheckError(f"normalize_dataset: elements must be batched (batch, ..., "
                             f"channels) with a known rank; got shape {x.shape}. Apply it "
                             "after ds.batch().")
    axis = None if channel_axis is None else channel_axis % ndim
    shape = [1] * ndim
    if axis is not None and params.channels not in (None, 1):
        shape[axis] = params.channels

    def const(values: Any) -> Any:
        return tf.constant(np.asarray(values, np.float32).reshape(shape))

    fg = None
    if params.foreground == "nonzero":
        nonzero = tf.not_equal(x, 0.0)
        fg = nonzero if axis is None else tf.reduce_any(nonzero, axis=axis, keepdims=True)
    if params.method == "zscore_per_sample":
        reduce = [i for i in range(1, ndim) if i != axis]
        d = x if params.shift is None else x - const(params.shift)
        if fg is None:
            m1 = tf.reduce_mean(d, axis=reduce, keepdims=True)
            sq = tf.reduce_mean(d * d, axis=reduce, keepdims=True)
        else:
            w = tf.cast(fg, tf.float32)
            n = tf.maximum(tf.reduce_sum(w, axis=reduce, keepdims=True), 1.0)
            m1 = tf.reduce_sum(d * w, axis=reduce, keepdims=True) / n
            sq = tf.reduce_sum(d * d * w, axis=reduce, keepdims=True) / n
        std = tf.maximum(tf.sqrt(tf.maximum(sq - m1 * m1, 0.0)), params.epsilon)
        y = (d - m1) / std
    else:
        if params.lo is not None and params.hi is not None:
            x = tf.minimum(tf.maximum(x, const(params.lo)), const(params.hi))
        y = (x - const(params.center)) * const(params.inverse_scale())
    return y if fg is None else tf.where(fg, y, tf.zeros_like(y))


def _checked(tf: Any, y: Any, bounds: tuple[float, float] | None, name: str, method: str) -> Any:
    if bounds is None:
        ok = tf.reduce_all(tf.math.is_finite(y))
        expected = "finite values"
    else:
        # Comparisons are false for NaN, so one reduction covers range, NaN and Inf.
        ok = tf.reduce_all((y >= bounds[0]) & (y <= bounds[1]))
        expected = f"finite values in [{bounds[0]:g}, {bounds[1]:g}]"

    def fail() -> Any:
        finite = tf.math.is_finite(y)
        bad = tf.reduce_sum(tf.cast(~finite, tf.int64))
        lo = tf.reduce_min(tf.where(finite, y, np.inf))
        hi = tf.reduce_max(tf.where(finite, y, -np.inf))
        message = (f"{name}: nonfinite/range: Normalize({method}) output in a batch is not "
                   f"{expected}; non-finite count, finite min, finite max:")
        with tf.control_dependencies([tf.debugging.Assert(False, [message, bad, lo, hi])]):
            return tf.identity(y)

    return tf.cond(ok, lambda: y, fail)


def normalize_dataset(ds: Any, norm: Any, method: str = "zscore", *,
                      feature: str | int | None = None, channel_axis: int | None = -1,
                      check: bool = False, num_parallel_calls: int | None = None,
                      **options: Any) -> Any:
    """Map a batched tf.data.Dataset through the normalization (after ``batch()``).

    ``norm``: a ``Normalize`` layer (its exact constants), ``NormParams``, or
    statistics (``NormStats``, dict or path) with ``method`` and its options
    (``percentiles``, ``window``, ``clip``, ``foreground``, ``epsilon``).
    ``feature`` picks the part of tuple/dict elements to normalize (default:
    the first tuple part; required for dicts with several keys).

    >>> ds = normalize_dataset(tf_ds.batch(32), fit_stats(train))  # doctest: +SKIP
    """
    tf = require("tensorflow", "tf", "Normalizing inside tf.data")
    params, axis, name = _params(norm, method, channel_axis, options)
    bounds = params.expected_feature().value_range()

    def apply(x: Any) -> Any:
        y = normalize_tensor(params, x, axis)
        return _checked(tf, y, bounds, name, params.method) if check else y

    @tf.autograph.experimental.do_not_convert  # only static Python branches here
    def fn(*element: Any) -> Any:
        item = element[0] if len(element) == 1 else element
        if isinstance(item, dict):
            key = feature if feature is not None else (next(iter(item)) if len(item) == 1
                                                       else None)
            if key not in item:
                raise DatacheckError(f"normalize_dataset: elements are dicts with keys "
                                     f"{sorted(item)}; pass feature=<key>.")
            return {**item, key: apply(item[key])}
        if isinstance(item, tuple):
            index = feature if isinstance(feature, int) else 0
            return tuple(apply(v) if i == index else v for i, v in enumerate(item))
        return apply(item)

    calls = tf.data.AUTOTUNE if num_parallel_calls is None else num_parallel_calls
    return ds.map(fn, num_parallel_calls=calls)
