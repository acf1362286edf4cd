"""What does ``dc.validate`` cost inside a tf.data pipeline? Ratios measured side by side.

Pipelines (in-memory arrays from a fixed seed, so no disk I/O blurs the numbers):

- ``cifar-uint8``: 50,000 x 32x32x3 uint8 images + int64 labels ->
  ``from_tensor_slices -> batch(128) -> map(cast to float32 / 255)``, as Keras
  users load CIFAR-10. Checked against the bundled ``cifar10`` schema.
- ``cifar-float32``: the same images already stored as float32 in [0, 1]
  (``from_tensor_slices -> batch(128)``).
- ``3d-unit``: 128 volumes of 128^3 x 1 float32 in [0, 1] (min-max scaled
  intensities) per epoch, cycling through 16 distinct volumes held in one
  tensor and indexed by a ``range`` dataset (zero-copy slices, so making
  volumes costs nothing) -> ``batch(2)`` (one copy per batch, as any loader
  makes). Schema: DHWC [128,128,128,1] float32, range [0, 1], sparse labels
  0-1, shuffle_window 8.
- ``3d-zscore``: the same pipeline with z-scored volumes and the bundled
  ``mri3d`` schema (finite + not constant, no range).

Variants of each pipeline (every one ends in ``prefetch(AUTOTUNE)``):

- ``plain``: the pipeline alone.
- ``floor``: plain + one ``tf.reduce_sum`` of every component (every byte read
  once: the cheapest conceivable check).
- ``debug``: plain + a hand-written chain of ``tf.debugging`` asserts
  (assert_rank, range asserts, check_numerics, label asserts).
- ``validated``: ``dc.validate(plain, schema)`` (on_error="raise").

Targets: validated <= 1.3x floor on every pipeline; debug >= 2x validated on the
3D pipeline whose chain has the range asserts the target names (``3d-unit``;
``3d-zscore`` has no range, so its chain is one ``check_numerics`` pass and the
ratio is printed for information).
Ratios are medians of per-round ratios (the two variants timed back to back),
with their interquartile range: on a shared machine single epochs vary by
tens of percent, so read the range, and rerun before trusting a 5% difference.

    python benchmarks/bench_tfdata.py            # full sizes (under 2 minutes, ~2 GiB RAM)
    python benchmarks/bench_tfdata.py --quick    # small sizes, smoke run (< 1 minute)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import Timings, measure

import datacheck as dc

AUTOTUNE = tf.data.AUTOTUNE
# Timed in this order, then reversed: validated sits next to both floor and debug.
VARIANTS = ("plain", "floor", "validated", "debug")
TARGET_FLOOR = 1.3
TARGET_DEBUG_3D = 2.0

VOLUME_SCHEMA = {
    "name": "volume3d-unit",
    "version": 1,
    "description": "128^3 single-channel volumes, min-max scaled to [0, 1]; binary labels.",
    "features": {"volume": {"layout": "DHWC", "shape": [128, 128, 128, 1],
                            "dtype": "float32", "range": [0, 1]}},
    "labels": {"label": {"encoding": "sparse", "num_classes": 2, "dtype": "integer",
                         "shuffle_window": 8}},
}


@dataclass
class Pipeline:
    name: str
    plain: tf.data.Dataset
    schema: Any
    steps: int  # batches per epoch
    debug: Callable[..., Any]
    megabytes: float  # feature bytes per epoch


def _sum_all(*parts: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """The floor: one read-only pass over every component.

    The sum is returned as an extra component: a sum that is only a control
    dependency of ``tf.identity`` outputs is pruned by the graph optimizer and
    costs nothing (measured: as fast as the plain pipeline).
    """
    sums = [tf.reduce_sum(tf.cast(p, tf.float32) if p.dtype.is_integer else p) for p in parts]
    return (*parts, tf.add_n(sums))


def _debug_image(lo: float | None, hi: float | None, num_classes: int,
                 rank: int) -> Callable[..., Any]:
    """What a careful user writes by hand with tf.debugging."""

    def check(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        asserts = [tf.debugging.assert_rank(x, rank), tf.debugging.assert_rank(y, 1)]
        if lo is not None and hi is not None:
            asserts += [tf.debugging.assert_greater_equal(x, tf.constant(lo, x.dtype)),
                        tf.debugging.assert_less_equal(x, tf.constant(hi, x.dtype))]
        asserts += [tf.debugging.assert_greater_equal(y, tf.constant(0, y.dtype)),
                    tf.debugging.assert_less(y, tf.constant(num_classes, y.dtype))]
        with tf.control_dependencies(asserts):
            return tf.debugging.check_numerics(x, "image"), tf.identity(y)

    return check


def cifar(n: int, batch: int, source: str) -> Pipeline:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.int64)
    if source == "uint8":
        ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch).map(
            lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=AUTOTUNE)
    else:
        scaled = (images / np.float32(255)).astype(np.float32)
        ds = tf.data.Dataset.from_tensor_slices((scaled, labels)).batch(batch)
    return Pipeline(f"cifar-{source}", ds, dc.load_schema("cifar10"), -(-n // batch),
                    _debug_image(0.0, 1.0, 10, 4), n * 32 * 32 * 3 * 4 / 2**20)


def volumes(n: int, side: int, batch: int, kind: str, pool: int = 16) -> Pipeline:
    """``n`` volumes per epoch, cycling through ``pool`` distinct ones (128 MiB at 128^3).

    A pool keeps data generation and iterator creation (which serializes every
    captured array) out of the way while the data still comes from DRAM, not
    cache; each volume is a zero-copy slice and ``batch`` copies it, as any
    loader's batching would.
    """
    rng = np.random.default_rng(0)
    pool = min(pool, n)
    shape = (pool, side, side, side, 1)
    if kind == "unit":
        data = rng.random(shape, dtype=np.float32)
        spec = dict(VOLUME_SCHEMA)
        spec["features"] = {"volume": {"layout": "DHWC", "shape": [side, side, side, 1],
                                       "dtype": "float32", "range": [0, 1]}}
        schema = dc.load_schema(spec)
    else:
        data = rng.standard_normal(shape, dtype=np.float32)
        schema = dc.load_schema("mri3d")
    stored = tf.constant(data)
    labels = tf.constant(np.arange(n, dtype=np.int64) % 2)
    ds = tf.data.Dataset.range(n).map(lambda i: (stored[i % pool], labels[i])).batch(batch)
    lo, hi = (0.0, 1.0) if kind == "unit" else (None, None)
    return Pipeline(f"3d-{kind}", ds, schema, -(-n // batch), _debug_image(lo, hi, 2, 5),
                    n * side**3 * 4 / 2**20)


def variants(pipe: Pipeline) -> dict[str, tf.data.Dataset]:
    plain = pipe.plain
    options = {"num_parallel_calls": AUTOTUNE, "deterministic": True}
    built = {
        "plain": plain,
        "floor": plain.map(_sum_all, **options),
        "validated": dc.validate(plain, pipe.schema),
        "debug": plain.map(pipe.debug, **options),
    }
    return {name: built[name].prefetch(AUTOTUNE) for name in VARIANTS}


@dataclass
class Result:
    name: str
    steps: int
    megabytes: float
    timings: Timings


def table(results: list[Result]) -> str:
    head = (f"{'pipeline':<14} {'batches':>7} {'plain s':>8} {'floor s':>8} {'valid. s':>8} "
            f"{'debug s':>8}  {'valid/floor (IQR)':<21} {'debug/valid (IQR)':<21} "
            f"{'valid MB/s':>10}")
    lines = [head, "-" * len(head)]
    for result in results:
        t = result.timings
        med = {v: t.median(v) for v in VARIANTS}
        cells = []
        for name, base in (("validated", "floor"), ("debug", "validated")):
            lo, hi = t.ratio_spread(name, base)
            cells.append(f"{t.ratio(name, base):.2f}x ({lo:.2f}-{hi:.2f})")
        lines.append(
            f"{result.name:<14} {result.steps:>7} {med['plain']:>8.3f} {med['floor']:>8.3f} "
            f"{med['validated']:>8.3f} {med['debug']:>8.3f}  {cells[0]:<21} {cells[1]:<21} "
            f"{result.megabytes / med['validated']:>10.0f}")
    return "\n".join(lines)


def verdicts(results: list[Result]) -> list[str]:
    out = []
    for result in results:
        t = result.timings
        ratio = t.ratio("validated", "floor")
        mark = "met" if ratio <= TARGET_FLOOR else "MISSED"
        out.append(f"{result.name}: validated/floor {ratio:.2f}x "
                   f"(target <= {TARGET_FLOOR}x): {mark}")
        speedup = t.ratio("debug", "validated")
        if result.name == "3d-unit":
            mark = "met" if speedup >= TARGET_DEBUG_3D else "MISSED"
            out.append(f"{result.name}: debug/validated {speedup:.2f}x "
                       f"(target >= {TARGET_DEBUG_3D}x): {mark}")
        elif result.name == "3d-zscore":
            # Without a range the hand-written chain is one check_numerics pass, the floor's
            # cost: no check that reads every byte can be 2x faster than it.
            out.append(f"{result.name}: debug/validated {speedup:.2f}x (no range asserts in "
                       "the chain: informational)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes for a smoke run (< 1 minute)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed epochs per variant (default 7, quick 3)")
    parser.add_argument("--only", default=None,
                        help="comma-separated subset of: cifar-uint8, cifar-float32, 3d-unit, "
                             "3d-zscore")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    if args.quick:
        builders = {"cifar-uint8": lambda: cifar(2_048, 128, "uint8"),
                    "cifar-float32": lambda: cifar(2_048, 128, "float32"),
                    "3d-unit": lambda: volumes(8, 32, 2, "unit"),
                    "3d-zscore": lambda: volumes(8, 32, 2, "zscore")}
    else:
        builders = {"cifar-uint8": lambda: cifar(50_000, 128, "uint8"),
                    "cifar-float32": lambda: cifar(50_000, 128, "float32"),
                    "3d-unit": lambda: volumes(128, 128, 2, "unit"),
                    "3d-zscore": lambda: volumes(128, 128, 2, "zscore")}
    chosen = args.only.split(",") if args.only else list(builders)
    unknown = [name for name in chosen if name not in builders]
    if unknown:
        parser.error(f"unknown pipeline(s) {unknown}; choose from {list(builders)}")
    print(f"tensorflow {tf.__version__}, {os.cpu_count()} CPUs, "
          f"{'quick' if args.quick else 'full'} sizes, {repeats} timed epochs per variant "
          "(median; ratios: median of per-round ratios), alternating order, a fresh "
          "warmed iterator per sample",
          flush=True)
    results = []
    for name in chosen:
        start = time.perf_counter()
        pipe = builders[name]()
        timings = measure(variants(pipe), pipe.steps, repeats)
        results.append(Result(pipe.name, pipe.steps, pipe.megabytes, timings))
        print(f"  {name}: measured in {time.perf_counter() - start:.0f} s", flush=True)
        del pipe  # frees its arrays before the next pipeline is built
    print()
    print(table(results))
    print()
    if args.quick:
        print("(quick sizes: a smoke run; the ratios below say nothing about the targets)")
    print("\n".join(verdicts(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
