"""What does the Normalize stage cost? Ratios measured side by side in one run.

CPU mode (default; TensorFlow backend, what CI machines have):

- ``layer``: ``Normalize`` called inside one ``tf.function`` on one batch held
  in memory, for every method, without and with its fused output check,
  against a plain copy of the same batch (``x * 1.0``). Ratio = copy time /
  layer time (1.0 = as fast as a copy; higher is better).
- ``tf.data``: ``normalize_dataset`` (with and without ``check=True``) mapped
  after ``batch()`` against the same pipeline without it. Ratio = plain time /
  normalized time.
- ``fit``: one ``fit_stats`` pass over the batch against ``np.copy``.

Device mode (``--device``; run with ``KERAS_BACKEND=jax`` on a GPU machine):
the layer jitted through ``stateless_call`` (normalize + fused checks in one
XLA computation) against a jitted device copy of the same batch, with the
issue's targets (>= 0.85x dataset z-score with checks, >= 0.6x per-sample),
and the speed-up over the same normalization on the CPU inside tf.data (or in
numpy when TensorFlow is absent there). Not run in the session that wrote it.

    python benchmarks/bench_normalize.py            # [4, 64, 64, 64, 1], < 2 minutes
    python benchmarks/bench_normalize.py --quick    # smoke run, ~30 s
    python benchmarks/bench_normalize.py --full     # [8, 128, 128, 128, 1] (the issue's size)
    KERAS_BACKEND=jax python benchmarks/bench_normalize.py --device --full
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from datacheck.normalize import NormStats, fit_stats

METHODS = {
    "zscore": {},
    "zscore_per_sample": {},
    "minmax": {},
    "percentile": {},
    "window": {"window": "soft_tissue"},
}
TARGETS = {"zscore+check": 0.85, "zscore_per_sample+check": 0.6}
FULL_SHAPE = (8, 128, 128, 128, 1)
DEFAULT_SHAPE = (4, 64, 64, 64, 1)
QUICK_SHAPE = (2, 48, 48, 48, 1)


def interleaved(fns: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Median seconds per call; candidates alternate each round so drift hits all alike."""
    for fn in fns.values():
        fn()
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    order = list(fns)
    for r in range(rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def batch(shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(0)
    # MRI-like: intensities around 400 with a zero background in the first slab.
    data = rng.normal(400.0, 90.0, shape).astype(np.float32)
    data[:, : shape[1] // 8] = 0.0
    return data


def layer_kwargs(method: str) -> dict[str, Any]:
    return METHODS[method]


def cpu(shape: tuple[int, ...], rounds: int, steps: int) -> None:
    import tensorflow as tf

    from datacheck.normalize import Normalize, normalize_dataset

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _timing import measure

    tf.get_logger().setLevel("ERROR")  # one tf.function per layer reads as "retracing"
    x_np = batch(shape)
    mib = x_np.nbytes / 2**20
    print(f"CPU, TensorFlow {tf.__version__} backend, batch {list(shape)} float32 "
          f"({mib:.0f} MiB), {rounds} interleaved rounds, medians")

    fit = interleaved({"copy": lambda: np.copy(x_np), "fit": lambda: fit_stats(x_np)},
                      max(3, rounds // 3))
    print(f"\nfit_stats, one pass: {fit['fit'] * 1e3:.1f} ms ({mib / fit['fit']:.0f} MiB/s); "
          f"ratio vs np.copy {fit['copy'] / fit['fit']:.2f}x")
    stats = fit_stats(x_np)

    x = tf.constant(x_np)
    fns: dict[str, Callable[[], Any]] = {}
    copy = tf.function(lambda t: t * 1.0)
    fns["copy"] = lambda: copy(x).numpy()
    for method in METHODS:
        for check in (False, True):
            layer = Normalize(stats, method=method, check=check, **layer_kwargs(method))
            layer.build(x.shape)  # variables exist before tracing: one trace per layer

            @tf.function
            def call(t: Any, layer: Any = layer) -> Any:
                return layer(t)

            def run(call: Any = call) -> Any:
                return call(x).numpy()

            fns[f"{method}{'+check' if check else ''}"] = run
    medians = interleaved(fns, rounds)
    print(f"\nlayer (tf.function, no XLA): copy {medians['copy'] * 1e3:.2f} ms")
    print(f"{'variant':28s} {'ms':>8s} {'ratio vs copy':>14s}")
    for name, seconds in medians.items():
        if name != "copy":
            print(f"{name:28s} {seconds * 1e3:8.2f} {medians['copy'] / seconds:13.2f}x")

    # A realistic plain pipeline materializes every batch once (batch() copies the slices).
    volumes = np.concatenate([x_np] * steps)
    plain = tf.data.Dataset.from_tensor_slices(volumes).batch(shape[0])
    layer = Normalize(stats, method="zscore")
    variants = {
        "plain": plain.prefetch(tf.data.AUTOTUNE),
        "zscore": normalize_dataset(plain, layer).prefetch(tf.data.AUTOTUNE),
        "zscore+check": normalize_dataset(plain, layer, check=True).prefetch(tf.data.AUTOTUNE),
        "percentile+check": normalize_dataset(
            plain, Normalize(stats, method="percentile"), check=True).prefetch(tf.data.AUTOTUNE),
    }
    timings = measure(variants, steps, max(3, rounds // 2))
    base = timings.median("plain")
    print(f"\ntf.data (from_tensor_slices -> batch -> map, {steps} batches per epoch): plain "
          f"{base / steps * 1e3:.2f} ms/batch")
    for name in variants:
        if name != "plain":
            t = timings.median(name)
            print(f"{name:28s} {t / steps * 1e3:8.2f} ms/batch, ratio vs plain {base / t:.2f}x")


def device(shape: tuple[int, ...], rounds: int, allow_cpu: bool) -> int:
    import keras

    if keras.backend.backend() != "jax":
        print("--device needs KERAS_BACKEND=jax", file=sys.stderr)
        return 2
    import jax

    from datacheck.normalize import Normalize

    platform = jax.devices()[0].platform
    if platform == "cpu" and not allow_cpu:
        print("--device found no accelerator (jax platform cpu); pass --allow-cpu to dry-run",
              file=sys.stderr)
        return 2
    x_np = batch(shape)
    stats = fit_stats(x_np)
    x = jax.device_put(x_np)
    copy = jax.jit(lambda t: t * 1.0)
    fns: dict[str, Callable[[], Any]] = {"copy": lambda: copy(x).block_until_ready()}
    kernels: dict[str, int] = {}
    for method, check in (("zscore", False), ("zscore", True), ("zscore_per_sample", True),
                          ("minmax", True), ("percentile", True)):
        layer = Normalize(stats, method=method, check=check)
        layer.build(x.shape)
        trainable = [v.value for v in layer.trainable_variables]
        state = [v.value for v in layer.non_trainable_variables]
        step = jax.jit(lambda s, t, layer=layer, tv=trainable: layer.stateless_call(tv, s, t))

        def run(step: Any = step, state: list[Any] = state) -> None:
            out, new_state = step(state, x)
            jax.block_until_ready((out, new_state))

        name = f"{method}{'+check' if check else ''}"
        fns[name] = run
        kernels[name] = fused_kernels(step, state, x)
    medians = interleaved(fns, rounds)
    moved = 2 * x_np.nbytes
    print(f"device {jax.devices()[0].device_kind} ({platform}), Keras {keras.__version__} on "
          f"JAX {jax.__version__}, batch {list(shape)} float32; jitted copy "
          f"{medians['copy'] * 1e6:.0f} us ({moved / medians['copy'] / 1e9:.0f} GB/s)")
    for name, seconds in medians.items():
        if name == "copy":
            continue
        ratio = medians["copy"] / seconds
        target = TARGETS.get(name)
        verdict = "" if target is None else \
            f"  target >= {target}x: {'met' if ratio >= target else 'MISSED'}"
        print(f"{name:28s} {seconds * 1e6:9.0f} us  ratio vs copy {ratio:.2f}x  "
              f"({kernels[name]} fused kernels){verdict}")
    host = host_normalize_seconds(x_np, stats, rounds)
    print(f"speed-up over {host[0]}: {host[1] / medians['zscore+check']:.1f}x "
          f"({host[1] * 1e3:.1f} ms per batch on the host)")
    return 0


def fused_kernels(step: Any, *args: Any) -> int:
    """How many fusions XLA compiled the step into (1-2 means the checks rode along)."""
    text = step.lower(*args).compile().as_text()
    entry = text[text.find("ENTRY"):]
    return sum(" fusion(" in line for line in entry.splitlines())


def host_normalize_seconds(x_np: np.ndarray, stats: NormStats, rounds: int) -> tuple[str, float]:
    """Seconds per batch for the same z-score on the host CPU: tf.data if present, else numpy."""
    try:
        import tensorflow as tf
    except ImportError:
        mean, inv = np.float32(stats.mean[0]), np.float32(1 / stats.std[0])
        t = interleaved({"np": lambda: ((x_np - mean) * inv).sum()}, rounds)["np"]
        return "numpy z-score + sum on the CPU (TensorFlow not installed)", t
    from datacheck.normalize import normalize_dataset

    with tf.device("/CPU:0"):
        ds = normalize_dataset(tf.data.Dataset.from_tensors(x_np).repeat(), stats, check=True)
        iterator = iter(ds)
        t = interleaved({"tfdata": lambda: next(iterator)}, rounds)["tfdata"]
    return "tf.data z-score + check on the CPU", t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small batch, few rounds")
    parser.add_argument("--full", action="store_true", help="the issue's [8,128,128,128,1]")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--device", action="store_true", help="JAX on the accelerator")
    parser.add_argument("--allow-cpu", action="store_true", help="let --device run on CPU")
    args = parser.parse_args(argv)
    shape = FULL_SHAPE if args.full else QUICK_SHAPE if args.quick else DEFAULT_SHAPE
    rounds = args.rounds or (5 if args.quick else 15)
    if args.device:
        return device(shape, rounds * 4, args.allow_cpu)
    cpu(shape, rounds, steps=8 if args.quick else 16)
    return 0


if __name__ == "__main__":
    sys.exit(main())
