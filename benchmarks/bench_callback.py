"""``ValidationCallback(rate=1.0)`` against validating the pipeline itself, inside ``model.fit``.

CIFAR-sized data (float32 32x32x3 in [0, 1], sparse labels, ``cifar10`` schema),
batches of 128, 40 steps per epoch, a small CNN. Variants, each its own model,
``fit`` calls alternating, the first epoch of each call left out:

- ``plain``: ``model.fit(ds)``;
- ``validate``: ``model.fit(dc.validate(ds, "cifar10"))``;
- ``callback``: ``model.fit(ds, callbacks=[ValidationCallback("cifar10", ds, rate=1.0)])``:
  at ``rate=1.0`` the callback judges the batches ``fit`` trains on, inside the
  train step (``batches="trained"``, the default where the model allows it);
- ``callback-copy``: the same with ``batches="copy"``: every batch of the
  callback's own copy of the data judged by the graph judge (what ``rate=1.0``
  did before);
- ``callback-numpy``: the copy judged by the numpy engine (only with
  ``dataset_rules=True``).

Target (issue: training pipelines): ``callback`` costs no more than validating the
pipeline itself. Read three ways, all printed: the epoch with the callback
against the epoch of ``fit(dc.validate(ds))``; what the callback adds to a plain
epoch against what ``validate`` adds; and what it adds against one pass of
``dc.validate(ds)`` alone (what a callback reading a copy has to pay for).
Epoch times are lower quartiles (see ``bench_training.quartile``); the median of
paired rounds (callback against validate, each round's median epochs, the two
run back to back) is printed too: on this 2-core machine the lower quartiles of
one run move by 10-20% between runs.

    python benchmarks/bench_callback.py [--rounds 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from bench_training import EpochTimes, epoch_seconds, quartile

import datacheck as dc
from datacheck.testing.keras_callback import ValidationCallback

BATCH, STEPS = 128, 40


def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    built = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(16, 3, 2),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
    built.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--without-numpy", action="store_true",
                        help="leave out the (slow) numpy-engine variant")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((BATCH * STEPS, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, BATCH * STEPS)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(2048, seed=0).batch(BATCH)
    variants: dict[str, tuple[tf.data.Dataset, Any]] = {
        "plain": (ds, lambda: []),
        "validate": (dc.validate(ds, "cifar10"), lambda: []),
        "callback": (ds, lambda: [ValidationCallback("cifar10", ds, rate=1.0,
                                                     batch_size=BATCH)]),
        "callback-copy": (ds, lambda: [ValidationCallback("cifar10", ds, rate=1.0,
                                                          batch_size=BATCH, batches="copy")]),
        "callback-numpy": (ds, lambda: [ValidationCallback("cifar10", ds, rate=1.0,
                                                           batch_size=BATCH,
                                                           dataset_rules=True)]),
    }
    if args.without_numpy:
        del variants["callback-numpy"]
    models = {name: model() for name in variants}
    for name, built in models.items():
        built.fit(variants[name][0], epochs=1, steps_per_epoch=2, verbose=0)
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    per_round: list[float] = []  # callback / validate, each round's median epochs
    names = list(variants)
    for index in range(args.rounds):
        this_round: dict[str, float] = {}
        for name in names if index % 2 == 0 else names[::-1]:
            data, callbacks = variants[name]
            times = EpochTimes()
            models[name].fit(data, epochs=args.epochs + 1, verbose=0,
                             callbacks=[*callbacks(), times])
            seconds[name] += times.seconds[1:]
            this_round[name] = statistics.median(times.seconds[1:])
        per_round.append(this_round["callback"] / this_round["validate"])
    validated = dc.validate(ds, "cifar10")
    passes = [epoch_seconds(validated) for _ in range(args.rounds * args.epochs)]
    plain, check = quartile(seconds["plain"]), quartile(seconds["validate"])
    print(f"{BATCH * STEPS} CIFAR-sized images, {STEPS} steps per epoch; epoch time "
          "(lower quartile):")
    for name, values in seconds.items():
        value = quartile(values)
        print(f"  {name:<15} {value * 1e3:8.1f} ms  {value / plain:5.2f}x plain  "
              f"{value / check:5.2f}x validate")
    print(f"callback / validate, median of {len(per_round)} paired rounds: "
          f"{statistics.median(per_round):.3f} (rounds "
          f"{', '.join(f'{r:.2f}' for r in per_round)})")
    ratio = quartile(seconds["callback"]) / check
    print(f"callback(rate=1.0) epoch / fit(dc.validate(ds)) epoch: {ratio:.3f} "
          f"(target <= 1.0): {'met' if ratio <= 1.0 else 'MISSED'}")
    added = quartile(seconds["callback"]) - plain
    print(f"the callback adds {added * 1e3:.1f} ms to a plain epoch, validate adds "
          f"{(check - plain) * 1e3:.1f} ms")
    alone = quartile(passes)
    print(f"the callback adds {added * 1e3:.1f} ms to a plain epoch; one pass of "
          f"dc.validate(ds) alone takes {alone * 1e3:.1f} ms: {added / alone:.3f} "
          f"(target <= 1.0): {'met' if added <= alone else 'MISSED'}")

if __name__ == "__main__":
    main()
