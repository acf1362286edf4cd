"""Cost of a fresh iterator over a validated dataset, side by side with the plain pipeline.

Keras makes a new iterator every epoch and every evaluate(), so this cost is paid
per epoch. Prints the median milliseconds of ``iter(ds)`` + the first batch, per
mode and label dtype (int64 as numpy gives, int32 as Keras'
``image_dataset_from_directory`` gives), and the ratio to the plain pipeline,
measured in one run. Target (issue: training pipelines): at most 10 ms per
fresh iterator in every mode.

The last column is what a whole pass (a fresh iterator read to its end, as an
epoch reads it) costs over the plain pass: it adds what runs once at a pass's
end (drop mode's counts, collect mode's pass count) and the batches' checks.

    python benchmarks/bench_iterators.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

import datacheck as dc


def fresh_ms(dataset: tf.data.Dataset, rounds: int) -> float:
    iterator = iter(dataset)
    next(iterator)
    del iterator
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        iterator = iter(dataset)
        next(iterator)
        times.append(time.perf_counter() - start)
        del iterator
    return float(np.median(times) * 1e3)


def pass_ms(dataset: tf.data.Dataset, rounds: int) -> float:
    """Median milliseconds of a whole pass on a fresh iterator."""
    times = []
    for _ in range(rounds + 1):
        start = time.perf_counter()
        for _ in dataset:
            pass
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((512, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, 512)
    print(f"{'pipeline':<10} {'labels':<7} {'ms per fresh iterator':>22} {'x plain':>8}"
          f"   {'target <= 10 ms':<16} {'pass (8 batches) ms over plain':>31}")
    for labels in ("int64", "int32"):
        plain = tf.data.Dataset.from_tensor_slices((x, y.astype(labels))).batch(64)
        base = fresh_ms(plain, args.rounds)
        base_pass = pass_ms(plain, args.rounds)
        print(f"{'plain':<10} {labels:<7} {base:>22.1f} {1.0:>8.1f}")
        for mode in ("raise", "warn", "drop", "collect"):
            validated = dc.validate(plain, "cifar10", on_error=mode)
            ms = fresh_ms(validated, args.rounds)
            verdict = "met" if ms <= 10 else "MISSED"
            extra = pass_ms(validated, args.rounds) - base_pass
            print(f"{mode:<10} {labels:<7} {ms:>22.1f} {ms / base:>8.1f}   {verdict:<16} "
                  f"{extra:>+31.1f}")

if __name__ == "__main__":
    main()
