"""Cost of a fresh iterator over a validated dataset, side by side with the plain pipeline.

Keras makes a new iterator every epoch and every evaluate(), so this cost is paid
per epoch. Prints the median milliseconds of ``iter(ds)`` + the first batch, per
mode and label dtype (int64 as numpy gives, int32 as Keras'
``image_dataset_from_directory`` gives), and the ratio to the plain pipeline,
measured in one run. Target (issue: training pipelines): at most 10 ms per
fresh iterator in every mode.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((512, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, 512)
    print(f"{'pipeline':<10} {'labels':<7} {'ms per fresh iterator':>22} {'x plain':>8}")
    for labels in ("int64", "int32"):
        plain = tf.data.Dataset.from_tensor_slices((x, y.astype(labels))).batch(64)
        base = fresh_ms(plain, args.rounds)
        print(f"{'plain':<10} {labels:<7} {base:>22.1f} {1.0:>8.1f}")
        for mode in ("raise", "warn", "drop", "collect"):
            ms = fresh_ms(dc.validate(plain, "cifar10", on_error=mode), args.rounds)
            verdict = "met" if ms <= 10 else "MISSED"
            print(f"{mode:<10} {labels:<7} {ms:>22.1f} {ms / base:>8.1f}   "
                  f"target <= 10 ms: {verdict}")

if __name__ == "__main__":
    main()
