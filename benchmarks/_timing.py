"""Timing helpers for tf.data benchmarks: long-lived iterators, alternating order, medians.

tf.data pitfalls these avoid (see FINDINGS.md): an idle long-lived iterator
keeps filling its AUTOTUNE buffers in the background (measured: up to a whole
epoch of 16 MiB batches banked, "timed" at 40 GB/s, while stealing CPU from
the variant being timed), so every sample gets a fresh iterator, warmed up
untimed; destroying an iterator with AUTOTUNE on can block until the
autotuner wakes (0.3-5 s), so it is dropped on a background thread after the
timer stopped. Elements are drained inside a ``tf.function`` (like ``model.fit``) so
per-element Python overhead does not blur the differences; variants are timed
in alternating order (forward, then backward) round after round; times are
medians, and ratios are medians of per-round ratios (variants timed back to
back in one run).
"""

from __future__ import annotations

import statistics
import threading
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

    def ratios(self, name: str, base: str) -> list[float]:
        """name/base for every round (the two were timed back to back)."""
        return [a / b for a, b in zip(self.times[name], self.times[base], strict=True)]

    def ratio(self, name: str, base: str) -> float:
        """Median over rounds of name/base.

        Pairing cancels slow drifts in the load of a shared machine better
        than a ratio of medians does.
        """
        return statistics.median(self.ratios(name, base))

    def ratio_spread(self, name: str, base: str) -> tuple[float, float]:
        """Interquartile range of the per-round ratios (how much to trust the median)."""
        values = self.ratios(name, base)
        if len(values) < 4:
            return min(values), max(values)
        q1, _, q3 = statistics.quantiles(values, n=4)
        return q1, q3

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def spread(self, name: str) -> float:
        """(max - min) / median: how noisy this variant's repeats were."""
        values = self.times[name]
        return (max(values) - min(values)) / self.median(name)


def _drop(iterator: Any) -> None:
    del iterator  # destroying may wait for the autotuner to wake up: off the main thread


def measure(variants: dict[str, tf.data.Dataset], steps: int, repeats: int,
            warmup: float = 0.25, on_epoch: Callable[[str, float], Any] | None = None) -> Timings:
    """Seconds for one epoch (``steps`` elements) of each variant, ``repeats`` times.

    Every sample uses a fresh iterator over ``ds.repeat()``: ``warmup`` of an
    epoch untimed (the autotuner sizes buffers and parallelism), then one timed
    epoch in steady state; the iterator is then dropped on a background thread,
    so the timer never waits for its destruction and no idle pipeline keeps
    running while another variant is timed.
    """
    pulls = {name: puller() for name in variants}
    timings = Timings({name: [] for name in variants}, {name: [] for name in variants})
    order = list(variants)
    warm = min(steps, max(8, int(steps * warmup)))
    for repeat in range(repeats):
        sequence = order if repeat % 2 == 0 else order[::-1]
        for name in sequence:
            iterator = iter(variants[name].repeat())
            pulls[name](iterator, warm)
            start, start_cpu = time.perf_counter(), time.process_time()
            pulls[name](iterator, steps)
            elapsed = time.perf_counter() - start
            timings.cpu[name].append(time.process_time() - start_cpu)
            timings.times[name].append(elapsed)
            threading.Thread(target=_drop, args=(iterator,), daemon=True).start()
            del iterator
            if on_epoch is not None:
                on_epoch(name, elapsed)
    return timings
