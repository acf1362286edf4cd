"""The Normalize Keras layer: every method against numpy, fused checks, the judge, .keras files."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from datacheck.errors import DatacheckError  # noqa: E402
from datacheck.normalize import Normalize, fit_stats  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from reference import reference  # noqa: E402

METHODS = ["zscore", "zscore_per_sample", "minmax", "percentile", "window"]


@pytest.fixture()
def train(rng) -> np.ndarray:
    return rng.normal([100.0, -20.0], [15.0, 4.0], (24, 6, 7, 5, 2)).astype(np.float32)


def _layer(train: np.ndarray, method: str, **kw) -> Normalize:
    if method == "window":
        return Normalize(method="window", window=(90.0, 60.0), **kw)
    return Normalize(fit_stats(train), method=method, **kw)


def _tolerance(train: np.ndarray, method: str) -> float:
    if method != "percentile":
        return 2e-5
    stats = fit_stats(train)
    lo, hi = stats.percentile(0.5), stats.percentile(99.5)
    # Bounds are estimated within error_bound(); outputs move by at most ~2 bounds / range.
    return float(np.max(2 * stats.error_bound() / (hi - lo))) + 2e-5


@pytest.mark.parametrize("method", METHODS)
def test_each_method_matches_the_numpy_reference(train, method):
    layer = _layer(train, method)
    y = keras.ops.convert_to_numpy(layer(train[:8]))
    expected = reference(train[:8], method, train, window=(90.0, 60.0))
    np.testing.assert_allclose(y, expected, atol=_tolerance(train, method), rtol=1e-5)
    assert layer.violations() == []


@pytest.mark.parametrize("strategy", ["branch", "select"])
@pytest.mark.parametrize("method", ["zscore", "minmax"])
def test_fused_check_scalars_equal_numpy_over_the_output(train, method, strategy):
    layer = _layer(train, method, strategy=strategy)
    outputs = []
    for start in range(0, 24, 8):
        outputs.append(keras.ops.convert_to_numpy(layer(train[start:start + 8])).astype(float))
        last = layer.last_check()
        assert last["values"] == outputs[-1].size and last["elements"] == 8
        np.testing.assert_allclose([last["min"], last["max"]],
                                   [outputs[-1].min(), outputs[-1].max()], rtol=1e-6)
        np.testing.assert_allclose([last["mean"], last["std"]],
                                   [outputs[-1].mean(), outputs[-1].std()], atol=1e-4)
    running, everything = layer.last_check("running"), np.concatenate(outputs)
    assert running["batches"] == 3 and running["values"] == everything.size
    np.testing.assert_allclose([running["mean"], running["std"]],
                               [everything.mean(), everything.std()], atol=1e-4)
    layer.reset_check()
    assert layer.last_check("running")["batches"] == 0 and layer.violations() == []


@pytest.mark.parametrize("strategy", ["branch", "select"])
def test_nan_input_is_reported_as_nonfinite_with_finite_min_max(train, strategy):
    layer = _layer(train, "zscore", strategy=strategy, feature="t1")
    bad = train[:4].copy()
    bad[1, 2, 2, 2, 0] = np.nan
    bad[3, 0, 0, 0, 1] = np.inf
    layer(bad)
    check = layer.last_check()
    assert check["nonfinite"] == 2 and np.isfinite(check["min"]) and np.isfinite(check["max"])
    found = layer.violations(scope="batch")
    assert [v.code for v in found] == ["nonfinite"]
    assert found[0].message.startswith("t1: nonfinite: 2 NaN/Inf values in batch 0.")
    assert "Normalize zscore" in found[0].message


def test_out_of_range_and_unnormalized_and_constant_use_core_codes(train):
    minmax = _layer(train, "minmax", feature="ct")
    minmax(train[:4] * 2.0)  # beyond the fitted max
    (range_violation,) = minmax.violations()
    assert range_violation.code == "range" and range_violation.feature == "ct"
    assert "ct: range: max" in range_violation.message and "clip=True" in range_violation.message
    clipped = Normalize(fit_stats(train), "minmax", clip=True)
    clipped(train[:4] * 2.0)
    assert clipped.violations() == [] and clipped.last_check()["max"] <= 1.0

    zscore = _layer(train, "zscore")
    zscore(train[:4] * 3.0 + 50.0)  # statistics from other data
    (unnormalized,) = zscore.violations()
    assert unnormalized.code == "unnormalized"
    assert "expected mean 0 and std 1 within 0.1" in unnormalized.message

    window = _layer(train, "window")
    window(np.full((2, 4, 4, 4, 2), -500.0, np.float32))  # everything below the window
    assert [v.code for v in window.violations()] == ["constant"]
    assert "Hounsfield" in window.violations()[0].message


def test_return_check_gives_the_vector_in_the_same_call(train):
    layer = _layer(train, "zscore", return_check=True)
    y, state = layer(train[:8])
    state = keras.ops.convert_to_numpy(state)
    np.testing.assert_allclose(state, keras.ops.convert_to_numpy(layer.batch_check.value))
    assert layer.violations(state=state) == []
    assert y.shape == train[:8].shape


def test_nonzero_foreground_keeps_background_zero(rng):
    volumes = rng.normal(800.0, 120.0, (6, 8, 8, 8, 1)).astype(np.float32)
    volumes[:, :3] = 0.0
    stats = fit_stats(volumes, foreground="nonzero")
    for method in ("zscore", "zscore_per_sample"):
        layer = Normalize(stats, method=method)
        y = keras.ops.convert_to_numpy(layer(volumes))
        assert (y[:, :3] == 0).all()
        fg = y[:, 3:]
        assert abs(fg.mean()) < 1e-3 and abs(fg.std() - 1) < 1e-3
        check = layer.last_check()
        assert check["values"] == fg.size  # the check covers the foreground only
        assert layer.violations() == []
    no_mask = Normalize(stats, method="zscore", foreground=None)
    no_mask(volumes)
    assert no_mask.params.foreground == "nonzero"  # inherited from the statistics


def test_keras_file_round_trip_keeps_statistics_and_checks(tmp_path, train):
    stats = fit_stats(train)
    inputs = keras.Input((6, 7, 5, 2))
    x = Normalize(stats, method="percentile", name="norm", feature="image")(inputs)
    outputs = keras.layers.Dense(1, kernel_initializer="ones")(x)
    model = keras.Model(inputs, outputs)
    before = model.predict(train[:4], verbose=0)
    assert model.get_layer("norm").last_check("running")["batches"] == 1
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    layer = loaded.get_layer("norm")
    assert isinstance(layer, Normalize)
    assert layer.params == model.get_layer("norm").params
    assert layer.stats_summary["mean"] == pytest.approx(stats.mean.tolist())
    np.testing.assert_allclose(loaded.predict(train[:4], verbose=0), before, rtol=1e-6)
    bad = train[:4].copy()
    bad[0, 0, 0, 0, 0] = np.nan
    loaded.predict(bad, verbose=0)
    assert "image: nonfinite" in layer.violations("batch")[0].message


def test_mixed_precision_output_is_checked_in_float32(train):
    layer = _layer(train, "zscore", dtype="mixed_float16")
    y = layer(train[:4])
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert abs(layer.last_check()["std"] - 1.0) < 0.1


def test_bad_configuration_raises_one_clear_error(train):
    stats = fit_stats(train)
    with pytest.raises(DatacheckError, match="statistics have 2 channels but the input has 3"):
        Normalize(stats)(np.zeros((1, 4, 3), np.float32))
    with pytest.raises(DatacheckError, match="unknown normalization method 'zscores'"):
        Normalize(stats, method="zscores")
    with pytest.raises(DatacheckError, match="needs statistics"):
        Normalize(method="minmax")
    with pytest.raises(DatacheckError, match="window=\\(center, width\\)"):
        Normalize(method="window")
    with pytest.raises(DatacheckError, match="width must be > 0"):
        Normalize(method="window", window=(40, 0))
    with pytest.raises(DatacheckError, match="0 <= low < high <= 100"):
        Normalize(stats, method="percentile", percentiles=(99, 1))
    with pytest.raises(DatacheckError, match="no check state"):
        Normalize(stats).last_check()


JAX_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, keras
    from datacheck.normalize import Normalize, fit_stats
    assert keras.backend.backend() == "jax"
    sys.path.insert(0, sys.argv[1])
    from reference import reference
    rng = np.random.default_rng(0)
    train = rng.normal(100, 15, (16, 6, 6, 6, 1)).astype(np.float32)
    stats = fit_stats(train)
    for method in ("zscore", "zscore_per_sample", "minmax"):
        layer = Normalize(stats, method=method)
        y = np.asarray(layer(train[:4]))
        np.testing.assert_allclose(y, reference(train[:4], method, train), atol=2e-5)
    model = keras.models.load_model(sys.argv[2])
    out = model.predict(train[:4], verbose=0)
    bad = train[:4].copy(); bad[0, 0, 0, 0, 0] = np.nan
    model.predict(bad, verbose=0)
    layer = model.get_layer("norm")
    print(json.dumps({"out": out.tolist(), "codes": [v.code for v in layer.violations()],
                      "batches": layer.last_check("running")["batches"]}))
""")


@pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                    reason="JAX is not installed (run with jax on PYTHONPATH to test it)")
def test_same_layer_and_keras_file_on_the_jax_backend(tmp_path):
    import json

    rng = np.random.default_rng(0)
    train = rng.normal(100, 15, (16, 6, 6, 6, 1)).astype(np.float32)
    inputs = keras.Input((6, 6, 6, 1))
    outputs = Normalize(fit_stats(train), method="zscore", name="norm")(inputs)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "m.keras")
    expected = model.predict(train[:4], verbose=0)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run([sys.executable, "-c", JAX_SCRIPT, os.path.dirname(__file__),
                          str(tmp_path / "m.keras")], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(np.array(result["out"]), expected, atol=1e-5)
    assert result["codes"] == ["nonfinite"] and result["batches"] == 2


def test_channels_first_layer_and_statistics_agree_with_channels_last(train):
    first = np.moveaxis(train, -1, 1)  # (N, C, D, H, W)
    layer = Normalize(fit_stats(first, channel_axis=1), method="zscore", channel_axis=1)
    y = keras.ops.convert_to_numpy(layer(first[:4]))
    expected = np.moveaxis(reference(train[:4], "zscore", train), -1, 1)
    np.testing.assert_allclose(y, expected, atol=2e-5)
    assert layer.violations() == []


def test_first_layer_of_a_model_trains_and_counts_every_batch(digits):
    images, labels = digits
    stats = fit_stats(images[:1000])
    model = keras.Sequential([keras.Input((8, 8, 1)), Normalize(stats, name="norm"),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images[:1000], labels[:1000], batch_size=100, epochs=1, verbose=0)
    layer = model.get_layer("norm")
    assert layer.last_check("running")["batches"] == 10
    assert layer.violations() == []
    assert model.get_layer("norm").trainable_weights == []
