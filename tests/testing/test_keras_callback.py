"""ValidationCallback during a real Keras fit on scikit-learn digits."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

import datacheck as dc  # noqa: E402
from datacheck.testing.keras_callback import ValidationCallback  # noqa: E402


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_clean_data_writes_an_ok_report_per_epoch(digits, tmp_path):
    x, y = digits
    callback = ValidationCallback("digits", (x, y), rate=0.2, batch_size=64,
                                  report_path=tmp_path / "reports" / "epoch{epoch}.json")
    history = _model().fit(x, y, epochs=2, batch_size=64, verbose=0, callbacks=[callback])
    assert history.history["datacheck_violating_batches"] == [0, 0]
    assert [r.ok for r in callback.reports] == [True, True]
    for epoch in (0, 1):
        saved = json.loads((tmp_path / "reports" / f"epoch{epoch}.json").read_text())
        assert saved["ok"] and saved["kind"] == "fit" and saved["stats"]["epoch"] == epoch
        assert saved["stats"]["steps"] == 29  # ceil(1797 / 64)
        assert 1 <= saved["stats"]["sampled_batches"] <= 29


def test_violations_are_reported_and_stop_training(digits, tmp_path):
    x, y = digits
    raw = x * 16  # pixels 0-16: the classic forgotten rescale
    callback = ValidationCallback("digits", (raw, y), rate=0.5, on_violation="stop",
                                  report_path=tmp_path / "fit.json")
    history = _model().fit(raw, y, epochs=5, batch_size=64, verbose=0, callbacks=[callback])
    (report,) = callback.reports
    assert len(history.epoch) == 1
    assert history.history["datacheck_violating_batches"] == [report.stats["sampled_batches"]]
    assert report.codes() == ["range"]
    assert report.violations[0].message.startswith("image: range: max 16 > 1 in batch 0")
    assert json.loads((tmp_path / "fit.json").read_text())["ok"] is False


def test_raise_mode_stops_fit_with_a_validation_error(digits):
    x, y = digits
    y = y.copy()
    y[5] = 10
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    callback = ValidationCallback("digits", (x, y), rate=1.0, on_violation="raise")
    with pytest.raises(dc.ValidationError) as info:
        model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0,
                  callbacks=[callback])
    assert info.value.violations[0].code == "label_range"
    assert info.value.violations[0].where == "batch 0, element 5"
    # Judged in the train step (rate=1.0): it stopped before the bad batch trained (which
    # would also have crashed Keras' sparse loss on the label 10).
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)

    shuffled = ValidationCallback("digits", (x, y), rate=1.0, on_violation="raise")
    with pytest.raises(dc.ValidationError) as info:  # named where fit's shuffle put it
        model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[shuffled])
    assert info.value.violations[0].code == "label_range"


def test_samples_a_tf_data_pipeline_and_checks_at_least_one_batch(digits):
    x, y = digits
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(128)
    callback = ValidationCallback("digits", ds, rate=0.0, min_batches=2)
    _model().fit(ds, epochs=1, verbose=0, callbacks=[callback])
    (report,) = callback.reports
    assert report.ok and report.stats["sampled_batches"] == 2
    assert report.stats["elements"] == 256


def test_bad_arguments_are_datacheck_errors(digits):
    with pytest.raises(dc.DatacheckError, match="rate must be in"):
        ValidationCallback("digits", digits, rate=2)
    with pytest.raises(dc.DatacheckError, match="on_violation must be one of"):
        ValidationCallback("digits", digits, on_violation="explode")
    empty = ValidationCallback("digits", [], rate=1.0)
    with pytest.raises(dc.DatacheckError, match="the data to sample is empty"):
        empty.on_epoch_end(0)


def test_dataset_rules_on_the_sample_only_when_asked(digits):
    x, y = digits
    unbalanced = (x[y != 3], y[y != 3])  # class 3 never occurs
    quiet = ValidationCallback("digits", unbalanced, rate=0.0, min_batches=3)
    quiet.on_epoch_begin(0)
    quiet.on_epoch_end(0)
    assert quiet.reports[0].ok
    loud = ValidationCallback("digits", unbalanced, rate=0.0, min_batches=3, dataset_rules=True)
    loud.on_epoch_begin(0)
    loud.on_epoch_end(0)
    assert set(loud.reports[0].codes()) == {"num_classes", "class_balance"}
    assert loud.reports[0].violations[0].where == "sampled batches"


def test_sampling_follows_the_rate(digits):
    x, y = digits
    callback = ValidationCallback("digits", (x, y), rate=0.25, seed=3)
    callback.on_epoch_begin(0)
    for step in range(400):
        callback.on_train_batch_end(step)
    assert 60 <= callback._sampled <= 140  # binomial(400, 0.25): mean 100
    assert np.isclose(callback._steps, 400)


def _planted(digits) -> tuple[np.ndarray, np.ndarray]:
    """Digits with a blank image (batch 1, element 3), an unscaled one (batch 2, element 5)
    and a label out of range (batch 3, element 0), batches of 64."""
    x, y = digits
    x, y = x[:640].copy(), y[:640].copy()
    x[64 + 3] = 0.5
    x[128 + 5] *= 16
    y[192] = 10
    return x, y


def _epoch_violations(data, batch_size=64, **options):
    callback = ValidationCallback("digits", data, rate=1.0, batch_size=batch_size, **options)
    callback.on_epoch_begin(0)
    for step in range(640 // batch_size):
        callback.on_train_batch_end(step)
    callback.on_epoch_end(0)
    (report,) = callback.reports
    assert report.stats["sampled_batches"] == 640 // batch_size
    assert report.stats["elements"] == 640
    return sorted((v.code, v.where, v.message) for v in report.violations)


@pytest.mark.parametrize("source", ["arrays", "tf.data"])
def test_the_graph_judge_finds_what_the_numpy_engine_finds(digits, source):
    """rate=1.0 judges with validate()'s graph judge; its findings are the numpy engine's."""
    x, y = _planted(digits)
    data = (x, y) if source == "arrays" else tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
    graph = _epoch_violations(data)
    numpy_engine = _epoch_violations((x, y), dataset_rules=True)
    per_batch = [v for v in numpy_engine if v[1] != "sampled batches"]
    assert [(code, where) for code, where, _ in graph] == [
        ("constant", "batch 1, element 3 (index 67)"),
        ("label_range", "batch 3, element 0 (index 192)"),
        ("range", "batch 2, element 5 (index 133)")]
    assert [v[:2] for v in graph] == [v[:2] for v in per_batch]
    for (_, _, message), (_, _, expected) in zip(graph, per_batch, strict=True):
        assert message.split(".")[0] == expected.split(".")[0]


@pytest.mark.parametrize("source", ["arrays", "tf.data"])
def test_the_graph_judge_follows_single_class_runs(digits, source):
    """Sorted labels (unshuffled) are found across the batches the callback judges."""
    x, y = digits
    order = np.argsort(y, kind="stable")
    x, y = x[order][:640], y[order][:640]
    data = (x, y) if source == "arrays" else tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    found = _epoch_violations(data, batch_size=32)
    assert "unshuffled" in {code for code, _, _ in found}
    numpy_engine = _epoch_violations((x, y), batch_size=32, dataset_rules=True)
    assert [v for v in found if v[0] == "unshuffled"] == \
        [v for v in numpy_engine if v[0] == "unshuffled"]
