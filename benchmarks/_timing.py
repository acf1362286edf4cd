"""Timing helpers for tf.data benchmarks: long-lived iterators, alternating order, medians.

tf.data pitfalls these avoid (see FINDINGS.md): destroying an iterator with
AUTOTUNE on can block until the autotuner wakes (0.3-5 s), so the timer
stops before the iterator is dropped; an idle long-lived iterator keeps
prefetching in the background (it steals CPU from the variant being timed and
banks elements for its own next epoch), so only one iterator exists at a
time. Elements are drained inside a ``tf.function`` (like ``model.fit``) so
per-element Python overhead does not blur the differences; variants are timed
in alternating order and reported as medians, and ratios compare variants
measured side by side in one run.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tensorflow as tf


def puller() -> Callable[[Any, int], None]:
    """A function that pulls ``steps`` elements from an iterator inside one ``tf.function``.

    >>> pull = puller()
    >>> pull(iter(tf.data.Dataset.range(10)), 10)
    """

    @tf.function
    def pull(iterator: Any, steps: tf.Tensor) -> tf.Tensor:
        count = tf.constant(0, tf.int64)
        for _ in tf.range(steps):
            element = next(iterator)
            # Use every component so nothing upstream can be pruned.
            for part in tf.nest.flatten(element):
                count += tf.cast(tf.size(part) > 0, tf.int64)
        return count

    def run(iterator: Any, steps: int) -> None:
        pull(iterator, tf.constant(steps, tf.int64)).numpy()

    return run


@dataclass
class Timings:
    """Seconds per epoch for each variant: wall clock, and CPU time of this process.

    CPU time (all threads) is less disturbed by other processes sharing the
    machine; wall time is what training sees.
    """

    times: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def cpu_median(self, name: str) -> float:
        return statistics.median(self.cpu[name])

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def spread(self, name: str) -> float:
        """(max - min) / median: how noisy this variant's repeats were."""
        values = self.times[name]
        return (max(values) - min(values)) / self.median(name)


def measure(variants: dict[str, tf.data.Dataset], steps: int, repeats: int,
            warmup: float = 0.5, on_epoch: Callable[[str, float], Any] | None = None) -> Timings:
    """Seconds for one epoch (``steps`` elements) of each variant, ``repeats`` times.

    Each sample uses a fresh iterator over ``ds.repeat()``: ``warmup`` of an
    epoch untimed (the autotuner settles, prefetch buffers fill), then one
    timed epoch in steady state, then the iterator is destroyed outside the
    timer. Only one pipeline runs at a time, so no idle iterator prefetches
    in the background (stealing CPU, or banking elements for its next epoch).
    """
    pulls = {name: puller() for name in variants}
    timings = Timings({name: [] for name in variants}, {name: [] for name in variants})
    order = list(variants)
    warm = max(1, int(steps * warmup))
    for repeat in range(repeats):
        sequence = order if repeat % 2 == 0 else order[::-1]
        for name in sequence:
            iterator = iter(variants[name].repeat())
            pulls[name](iterator, warm)
            start, start_cpu = time.perf_counter(), time.process_time()
            pulls[name](iterator, steps)
            elapsed = time.perf_counter() - start
            timings.cpu[name].append(time.process_time() - start_cpu)
            del iterator
            gc.collect()
            timings.times[name].append(elapsed)
            if on_epoch is not None:
                on_epoch(name, elapsed)
    return timings
