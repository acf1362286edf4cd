"""Timing helpers for tf.data benchmarks: long-lived iterators, alternating order, medians.

tf.data pitfalls these avoid (see FINDINGS.md): destroying an iterator with
AUTOTUNE on can block until the autotuner wakes (0.3-5 s), and creating one
serializes the dataset graph (with every captured array: about 1 s per GiB),
so each variant keeps one long-lived iterator; an idle iterator refills its
prefetch buffers in the background and would start its next timed epoch with
those elements banked, so an untimed warm-up precedes every timed epoch.
Elements are drained inside a ``tf.function`` (like ``model.fit``) so
per-element Python overhead does not blur the differences; variants are timed
in alternating order (forward, then backward) round after round; times are
medians, and ratios are medians of per-round ratios (variants timed back to
back in one run).
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

    def ratio(self, name: str, base: str) -> float:
        """Median over rounds of name/base, each pair timed back to back.

        Pairing cancels slow drifts in the load of a shared machine better
        than a ratio of medians does.
        """
        return statistics.median(a / b for a, b in zip(self.times[name], self.times[base],
                                                        strict=True))

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def spread(self, name: str) -> float:
        """(max - min) / median: how noisy this variant's repeats were."""
        values = self.times[name]
        return (max(values) - min(values)) / self.median(name)


def measure(variants: dict[str, tf.data.Dataset], steps: int, repeats: int,
            warmup: float = 0.25, on_epoch: Callable[[str, float], Any] | None = None) -> Timings:
    """Seconds for one epoch (``steps`` elements) of each variant, ``repeats`` times.

    Each variant keeps one iterator over ``ds.repeat()`` for the whole run
    (iterators are created, traced and warmed once, and destroyed outside any
    timing). An idle iterator refills its prefetch buffers in the background,
    so before every timed epoch ``warmup`` of an epoch is pulled untimed: the
    banked elements are spent and the timed epoch starts in steady state.
    """
    pulls = {name: puller() for name in variants}
    iterators = {name: iter(ds.repeat()) for name, ds in variants.items()}
    warm = min(steps, max(16, int(steps * warmup)))
    for name, iterator in iterators.items():
        pulls[name](iterator, max(warm, steps // 2))  # traces; the autotuner settles
    timings = Timings({name: [] for name in variants}, {name: [] for name in variants})
    order = list(variants)
    for repeat in range(repeats):
        sequence = order if repeat % 2 == 0 else order[::-1]
        for name in sequence:
            pulls[name](iterators[name], warm)
            start, start_cpu = time.perf_counter(), time.process_time()
            pulls[name](iterators[name], steps)
            elapsed = time.perf_counter() - start
            timings.cpu[name].append(time.process_time() - start_cpu)
            timings.times[name].append(elapsed)
            if on_epoch is not None:
                on_epoch(name, elapsed)
    iterators.clear()
    gc.collect()
    return timings
