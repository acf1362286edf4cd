"""Single-class runs (``shuffle_window``): the class of a batch, in graph.

The scan of ``validate()`` follows runs of batches that hold one class only;
an unshuffled dataset shows itself as long runs.
"""

from __future__ import annotations

import tensorflow as tf


def classes_of(y: tf.Tensor) -> tf.Tensor:
    """The class of each element: argmax of one-hot rows, else the label itself."""
    if y.shape.rank is not None and y.shape.rank >= 2 and (y.shape[-1] is None or y.shape[-1] > 1):
        return tf.argmax(tf.reshape(y, [tf.shape(y)[0], -1]), axis=1)
    return tf.reshape(y, [-1])


def class_dtype(spec: tf.TensorSpec, batched: bool) -> tf.DType:
    """The dtype ``batch_class`` gives the class key of labels with this spec."""
    shape = spec.shape
    rank = None if shape.rank is None else shape.rank + (0 if batched else 1)
    if rank is not None and rank >= 2 and (shape[-1] is None or shape[-1] > 1):
        return tf.int64
    if spec.dtype.is_integer:
        return tf.int64  # one key dtype for every integer label dtype
    return spec.dtype if spec.dtype.is_floating else tf.string


def batch_class(y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(class of the batch, whether the batch holds one class only).

    Runs sequentially in the scan, so numeric classes stay numbers (no cond, no
    string formatting; the message formats the class only when the check fails).
    """
    classes = classes_of(y)
    if not (classes.dtype.is_integer or classes.dtype.is_floating):
        size = tf.size(classes)
        first = tf.cond(size > 0, lambda: classes[0], lambda: tf.zeros([], classes.dtype))
        key = first if classes.dtype == tf.string else tf.strings.as_string(first)
        return key, tf.logical_and(size > 0, tf.reduce_all(tf.equal(classes, first)))
    # Two reductions, no per-element compare: the scan runs them sequentially for every batch.
    # An empty batch has max < min (the reductions' identities), so it is not single; a batch
    # of one element holds one class by definition: no evidence of order.
    low, high = tf.reduce_min(classes), tf.reduce_max(classes)
    key = tf.cast(high, tf.int64) if classes.dtype.is_integer else high
    return key, tf.logical_and(tf.size(classes) > 1, tf.equal(low, high))


def advance_run(last: tf.Tensor, run: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(class key, run length) after batch ``y``: the run of single-class batches of one
    class grows by one, a single-class batch of another class starts a run of 1, and a
    batch of several classes ends it (0)."""
    key, single = batch_class(y)
    same = tf.logical_and(single, tf.equal(key, last))
    zero, one = tf.constant(0, tf.int64), tf.constant(1, tf.int64)
    return key, tf.where(same, run + 1, tf.where(single, one, zero))
