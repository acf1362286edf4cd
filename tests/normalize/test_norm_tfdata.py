"""normalize_dataset: the same output as the layer, inside a tf.data pipeline."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from datacheck.errors import DatacheckError  # noqa: E402
from datacheck.normalize import Normalize, fit_stats, normalize_dataset  # noqa: E402

METHODS = ["zscore", "zscore_per_sample", "minmax", "percentile", "window"]


@pytest.fixture()
def volumes(rng) -> np.ndarray:
    data = rng.normal([300.0, 40.0], [80.0, 10.0], (20, 6, 6, 6, 2)).astype(np.float32)
    data[:, :2] = 0.0  # background for the nonzero cases
    return data


def _layer(volumes: np.ndarray, method: str, foreground: str | None) -> Normalize:
    stats = fit_stats(volumes, foreground=foreground)
    if method == "window":
        return Normalize(method="window", window="soft_tissue", foreground=foreground)
    return Normalize(stats, method=method, foreground=foreground)


def _collect(ds) -> np.ndarray:
    return np.concatenate([np.asarray(b) for b in ds.as_numpy_iterator()])


@pytest.mark.parametrize("foreground", [None, "nonzero"])
@pytest.mark.parametrize("method", METHODS)
def test_pipeline_output_equals_the_layer_output(volumes, method, foreground):
    layer = _layer(volumes, method, foreground)
    ds = tf.data.Dataset.from_tensor_slices(volumes).batch(6)
    from_pipeline = _collect(normalize_dataset(ds, layer))
    from_layer = np.concatenate([keras.ops.convert_to_numpy(layer(volumes[i:i + 6]))
                                 for i in range(0, 20, 6)])
    np.testing.assert_allclose(from_pipeline, from_layer, rtol=1e-6, atol=1e-6)


def test_statistics_and_method_without_a_layer(volumes):
    stats = fit_stats(volumes)
    ds = tf.data.Dataset.from_tensor_slices(volumes).batch(5)
    out = _collect(normalize_dataset(ds, stats, "percentile", percentiles=(1, 99)))
    layer = Normalize(stats, method="percentile", percentiles=(1, 99))
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(layer(volumes)), atol=1e-6)


def test_tuple_and_dict_elements_normalize_only_the_feature(volumes):
    labels = np.arange(20)
    layer = Normalize(fit_stats(volumes))
    pairs = tf.data.Dataset.from_tensor_slices((volumes, labels)).batch(10)
    x, y = next(iter(normalize_dataset(pairs, layer)))
    np.testing.assert_array_equal(y.numpy(), labels[:10])
    np.testing.assert_allclose(x.numpy(), keras.ops.convert_to_numpy(layer(volumes[:10])),
                               atol=1e-6)
    dicts = tf.data.Dataset.from_tensor_slices({"scan": volumes, "y": labels}).batch(10)
    element = next(iter(normalize_dataset(dicts, layer, feature="scan")))
    np.testing.assert_allclose(element["scan"].numpy(), x.numpy(), atol=1e-6)
    np.testing.assert_array_equal(element["y"].numpy(), labels[:10])
    with pytest.raises(DatacheckError, match="pass feature="):
        normalize_dataset(dicts, layer)


def test_check_passes_clean_batches_and_stops_at_nan(volumes):
    layer = Normalize(fit_stats(volumes), method="minmax")
    clean = tf.data.Dataset.from_tensor_slices(volumes).batch(5)
    assert _collect(normalize_dataset(clean, layer, check=True)).shape == volumes.shape
    bad = volumes.copy()
    bad[7, 3, 3, 3, 0] = np.nan
    broken = normalize_dataset(tf.data.Dataset.from_tensor_slices(bad).batch(5), layer,
                               check=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"nonfinite/range.*in \[0, 1\]"):
        _collect(broken)


def test_unbatched_scalars_are_refused():
    ds = tf.data.Dataset.from_tensor_slices(np.arange(4.0, dtype=np.float32))
    with pytest.raises(DatacheckError, match=r"after ds\.batch"):
        normalize_dataset(ds, {"mean": [0.0], "std": [1.0]})
