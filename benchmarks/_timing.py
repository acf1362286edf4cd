"""Timing helpers for tf.data benchmarks: long-lived iterators, alternating order, medians.

tf.data pitfalls these avoid (see FINDINGS.md): destroying an iterator with
AUTOTUNE on can block until the autotuner wakes (0.3-5 s), so each variant
keeps ONE iterator over ``ds.repeat()`` for the whole run and every timed
epoch takes exactly ``steps`` elements from it; elements are drained inside a
``tf.function`` (like ``model.fit``) so per-element Python overhead does not
blur the differences; variants are timed in alternating order and reported
as medians, and ratios compare variants measured side by side in one run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tensorflow as tf


def drainer(dataset: tf.data.Dataset) -> Callable[[int], None]:
    """A function that pulls ``steps`` elements from one long-lived iterator.

    >>> drain = drainer(tf.data.Dataset.range(10))
    >>> drain(10)
    """
    iterator = iter(dataset.repeat())

    @tf.function
    def pull(steps: tf.Tensor) -> tf.Tensor:
        count = tf.constant(0, tf.int64)
        for _ in tf.range(steps):
            element = next(iterator)
            # Touch one value of every component so nothing can be pruned.
            for part in tf.nest.flatten(element):
                count += tf.cast(tf.size(part) > 0, tf.int64)
        return count

    def drain(steps: int) -> None:
        pull(tf.constant(steps, tf.int64)).numpy()

    return drain


@dataclass
class Timings:
    """Seconds per epoch for each variant, in the order they were added."""

    times: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def spread(self, name: str) -> float:
        """(max - min) / median: how noisy this variant's repeats were."""
        values = self.times[name]
        return (max(values) - min(values)) / self.median(name)


def measure(variants: dict[str, tf.data.Dataset], steps: int, repeats: int,
            warmup: int = 1, on_epoch: Callable[[str, float], Any] | None = None) -> Timings:
    """Time ``steps`` elements of every variant, ``repeats`` times, alternating the order."""
    drains = {name: drainer(ds) for name, ds in variants.items()}
    for drain in drains.values():
        for _ in range(warmup):
            drain(steps)  # traces, fills the autotuner's history, faults pages in
    timings = Timings({name: [] for name in variants})
    order = list(drains)
    for repeat in range(repeats):
        sequence = order if repeat % 2 == 0 else order[::-1]
        for name in sequence:
            start = time.perf_counter()
            drains[name](steps)
            elapsed = time.perf_counter() - start
            timings.times[name].append(elapsed)
            if on_epoch is not None:
                on_epoch(name, elapsed)
    return timings
