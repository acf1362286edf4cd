"""What ``dc.validate`` adds per batch, in wall time and in CPU time, side by side with plain.

One cached batch (32 float32 photos of 56x56x3 in [0, 1] and sparse labels, the
``bench_training`` schema) repeated 2,000 times, so nothing but datacheck's stages
differs between the variants; each pass ends in ``prefetch(2)``. Prints the
microseconds per batch that raise and drop mode add to the plain pipeline: wall
time (what a consumer waits) and process CPU time (what the stages take from a
pipeline that keeps every core busy, such as JPEG decoding on a small machine).
Minimum over rounds, the variants timed in turn in each round.

    python benchmarks/bench_batch_cost.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
from bench_training import SCHEMA

import datacheck as dc

BATCHES = 2000


def timed_pass(dataset: tf.data.Dataset) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one pass."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in dataset.prefetch(2):
        pass
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    batch = (rng.random((32, 56, 56, 3), dtype=np.float32), rng.integers(0, 2, 32))
    plain = tf.data.Dataset.from_tensors(batch).repeat(BATCHES)
    variants = {"plain": plain, "raise": dc.validate(plain, SCHEMA),
                "drop": dc.validate(plain, SCHEMA, on_error="drop")}
    for dataset in variants.values():
        timed_pass(dataset)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, dataset in variants.items():
            results[name].append(timed_pass(dataset))
    wall0 = min(w for w, _ in results["plain"])
    cpu0 = min(c for _, c in results["plain"])
    print(f"{BATCHES} cached batches of 32x56x56x3 float32; microseconds per batch "
          f"(minimum of {args.rounds} rounds):")
    for name, values in results.items():
        wall, cpu = (min(v[i] for v in values) * 1e6 / BATCHES for i in (0, 1))
        added_wall, added_cpu = wall - wall0 * 1e6 / BATCHES, cpu - cpu0 * 1e6 / BATCHES
        print(f"  {name:<6} wall {wall:7.1f} (+{added_wall:6.1f})  cpu {cpu:7.1f} "
              f"(+{added_cpu:6.1f})")


if __name__ == "__main__":
    main()
