"""Training set-ups that need a fresh interpreter: two logical CPUs for MirroredStrategy,
and collect mode abandoned mid-epoch (the process must exit cleanly, never hang)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("tensorflow")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def _run(*parts: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT}
    script = "\n".join(textwrap.dedent(part) for part in parts)
    return subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


DIGITS = """
import numpy as np, tensorflow as tf, keras, datacheck as dc
from sklearn.datasets import load_digits
bunch = load_digits()
x = (bunch.images[..., None] / 16.0).astype("float32"); y = bunch.target.astype("int64")
"""


def test_mirrored_strategy_on_two_cpus_trains_and_counts_drops_exactly():
    result = _run("""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
        """, DIGITS, """
        x[[7, 300]] *= 16
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        ds = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(64)
        validated = dc.validate(ds, "digits", on_error="drop")
        with strategy.scope():
            model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile("adam", "sparse_categorical_crossentropy")
        # Dropping makes a batch of 63 mid-epoch, and Keras under MirroredStrategy fails on
        # uneven replica splits (it does without datacheck too): rebatch after the drop.
        history = model.fit(validated.rebatch(64), epochs=2, verbose=0)
        assert len(history.history["loss"]) == 2
        dist = strategy.experimental_distribute_dataset(validated)
        seen = 0
        for images, labels in dist:
            for part in strategy.experimental_local_results(images):
                seen += int(part.shape[0])
        assert seen == len(x) - 2, seen
        stats = validated.report().stats
        assert all(p["dropped_indices"] == [7, 300] for p in stats["passes"] if p["complete"])
        assert stats["complete_passes"] >= 3, stats
        print("mirrored-ok")
        """)
    assert "mirrored-ok" in result.stdout, result.stderr[-3000:]


def test_collect_mode_abandoned_mid_epoch_exits_cleanly_every_time():
    script = """
        validated = dc.validate(tf.data.Dataset.from_tensor_slices((x, y)).batch(32), "digits",
                                on_error="collect")
        iterator = iter(validated)
        next(iterator); next(iterator)
        report = validated.report()
        # What was judged so far (prefetching may have read ahead), and that it is partial.
        assert report.stats["elements"] >= 64 and report.stats["partial"], report.stats
        print("abandoned-ok", flush=True)
        raise SystemExit(0)
        """
    for attempt in range(20):
        result = _run(DIGITS, script, timeout=60)
        assert result.returncode == 0 and "abandoned-ok" in result.stdout, (
            attempt, result.returncode, result.stderr[-2000:])


def test_keras_on_the_jax_backend_trains_on_a_validated_tf_data_pipeline():
    pytest.importorskip("jax")
    result = _run("""
        import os
        os.environ["KERAS_BACKEND"] = "jax"
        """, DIGITS, """
        assert keras.backend.backend() == "jax"
        x[[5, 900]] *= 16
        ds = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(64)
        dropped = dc.validate(ds, "digits", on_error="drop")
        model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        history = model.fit(dropped, epochs=2, verbose=0)
        assert len(history.history["loss"]) == 2
        stats = dropped.report().stats
        complete = [p for p in stats["passes"] if p["complete"]]
        assert len(complete) >= 2 and all(p["dropped_indices"] == [5, 900] for p in complete)
        assert all(p["kept"] == len(x) - 2 for p in complete), stats
        try:
            with dc.translate_errors():
                model.fit(dc.validate(ds, "digits"), epochs=2, verbose=0)
        except dc.ValidationError as exc:
            assert "batch 0, element 5" in exc.violations[0].where, exc.violations[0].where
            print("jax-ok")
        """)
    assert "jax-ok" in result.stdout, result.stderr[-3000:]


def test_validation_callback_on_the_jax_backend_samples_its_copy():
    """rate=1.0 cannot judge JAX's own train step: the callback reads its copy, and says so
    where it has none."""
    pytest.importorskip("jax")
    result = _run("""
        import os
        os.environ["KERAS_BACKEND"] = "jax"
        """, DIGITS, """
        from datacheck.testing.keras_callback import ValidationCallback
        assert keras.backend.backend() == "jax"
        x[70] *= 16
        x[900, 3, 3, 0] = np.nan
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
        model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        callback = ValidationCallback("digits", ds, rate=1.0)
        model.fit(ds, epochs=2, verbose=0, callbacks=[callback])
        for report in callback.reports:
            assert report.stats["judged_batches"] == "copy", report.stats
            assert report.stats["elements"] == len(x) and report.stats["sampled_batches"] == 29
            assert sorted((v.code, v.where) for v in report.violations) == [
                ("nonfinite", "batch 14, element 4 (index 900)"),
                ("range", "batch 1, element 6 (index 70)")], report.violations
        try:
            model.fit(ds, epochs=1, verbose=0,
                      callbacks=[ValidationCallback("digits", None, rate=1.0)])
        except dc.DatacheckError as exc:
            assert "the jax backend runs its own step" in str(exc), exc
            print("jax-callback-ok")
        """)
    assert "jax-callback-ok" in result.stdout, result.stderr[-3000:]
