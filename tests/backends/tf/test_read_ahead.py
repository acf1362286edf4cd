"""validate() reads its input ahead in a thread of its own, within a memory bound."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import datacheck as dc  # noqa: E402
from datacheck.backends.tf.stages import AHEAD_BYTES, read_ahead  # noqa: E402

AUTOTUNE = tf.data.AUTOTUNE


def _buffer(ds) -> int:
    return int(ds._buffer_size.numpy())


def test_a_synchronous_input_gets_a_bounded_buffer():
    small = tf.data.Dataset.from_tensor_slices(np.zeros((8, 32, 32, 3), "float32")).batch(4)
    assert _buffer(read_ahead(small)) == 4
    # 64 MiB per row (the unknown batch dim counts as 1): one element ahead.
    big = tf.data.Dataset.from_tensors(tf.zeros([1, 256, 256, 256], tf.float32))
    assert AHEAD_BYTES // (256**3 * 4) == 1
    assert _buffer(read_ahead(big)) == 1
    mapped = small.map(lambda x: x * 2)  # a sequential map runs in its consumer's thread
    assert type(read_ahead(mapped)).__name__ == "_PrefetchDataset"


@pytest.mark.parametrize("make", [
    lambda ds: ds.prefetch(2),
    lambda ds: ds.map(lambda x: x, num_parallel_calls=AUTOTUNE),
    lambda ds: ds.interleave(lambda x: tf.data.Dataset.from_tensors(x),
                             num_parallel_calls=AUTOTUNE),
    lambda ds: ds.unbatch().batch(4, num_parallel_calls=AUTOTUNE),
])
def test_an_input_with_threads_of_its_own_is_left_as_it_is(make):
    ds = make(tf.data.Dataset.from_tensor_slices(np.zeros((8, 4), "float32")).batch(4))
    assert read_ahead(ds) is ds


def test_validated_elements_and_drop_counts_are_unchanged_by_reading_ahead(digits):
    x, y = digits
    x = x.copy()
    x[[3, 700]] *= 16
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
    dropped = dc.validate(ds, "digits", on_error="drop")
    for _ in range(2):
        kept = sum(int(b[0].shape[0]) for b in dropped)
        assert kept == len(x) - 2
    complete = [p for p in dropped.report().stats["passes"] if p["complete"]]
    assert [p["dropped_indices"] for p in complete] == [[3, 700], [3, 700]]
    order = np.concatenate([b[1].numpy() for b in dc.validate(
        tf.data.Dataset.from_tensor_slices((digits[0], y)).batch(64), "digits")])
    np.testing.assert_array_equal(order, y)  # every element, in order
