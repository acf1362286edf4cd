"""ValidationCallback judging the batches model.fit trains on (batches="trained"), in real fits.

The reference is ``dc.validate(ds)`` on the same pipeline (what a pass of the
data holds) and, where the order is random, the batches the model's own train
step saw.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

import datacheck as dc  # noqa: E402
from datacheck.testing.keras_callback import ValidationCallback  # noqa: E402

BATCH = 64


def _model(**compile_options) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", **compile_options)
    return model


def _planted(digits) -> tuple[np.ndarray, np.ndarray]:
    """640 digits with a blank image (batch 1, element 3), an unscaled one (batch 2,
    element 5) and a NaN pixel (batch 3, element 0), in batches of 64. (A label out of
    range would stop fit inside Keras' loss before any callback runs.)"""
    x, y = digits
    x, y = x[:640].copy(), y[:640].copy()
    x[64 + 3] = 0.5
    x[128 + 5] *= 16
    x[192, 4, 4, 0] = np.nan
    return x, y


def _found(report) -> list[tuple[str, str]]:
    return sorted((v.code, v.where) for v in report.violations)


def _validated(ds) -> list[tuple[str, str]]:
    validated = dc.validate(ds, "digits", on_error="collect")
    for _ in validated:
        pass
    return sorted((v.code, v.where) for v in validated.report().violations)


PLANTED = [("constant", "batch 1, element 3 (index 67)"),
           ("nonfinite", "batch 3, element 0 (index 192)"),
           ("range", "batch 2, element 5 (index 133)")]


@pytest.mark.parametrize("pipeline", ["batch", "prefetch", "map-filter-prefetch"])
def test_every_trained_batch_is_judged_each_epoch(digits, pipeline):
    x, y = _planted(digits)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    if pipeline == "prefetch":
        ds = ds.prefetch(2)
    elif pipeline == "map-filter-prefetch":  # drops batch 5 before training
        ds = ds.enumerate().filter(lambda i, e: i != 5).map(lambda i, e: e).prefetch(2)
    callback = ValidationCallback("digits", ds, rate=1.0)
    history = _model().fit(ds, epochs=2, verbose=0, callbacks=[callback])
    batches = 9 if pipeline == "map-filter-prefetch" else 10
    assert [r.stats["judged_batches"] for r in callback.reports] == ["trained", "trained"]
    for report in callback.reports:
        # Every batch fit trained on, every element of them, each finding with its own place.
        assert report.stats["steps"] == report.stats["sampled_batches"] == batches
        assert report.stats["elements"] == batches * BATCH
        assert report.stats["violating_batches"] == 3
        assert _found(report) == _validated(ds) == PLANTED
        assert len({v.message for v in report.violations}) == 3
    assert history.history["datacheck_violating_batches"] == [3, 3]
    assert "train_step" not in vars(callback.model)  # the model's own step after fit


def test_findings_equal_those_of_a_copy(digits):
    x, y = _planted(digits)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    reports = {}
    for batches in ("trained", "copy"):
        callback = ValidationCallback("digits", ds, rate=1.0, batches=batches)
        _model().fit(ds, epochs=1, verbose=0, callbacks=[callback])
        (reports[batches],) = callback.reports
        assert reports[batches].stats["judged_batches"] == batches
    assert [(v.code, v.where, v.message) for v in reports["trained"].violations] == \
        [(v.code, v.where, v.message) for v in reports["copy"].violations]
    assert reports["trained"].stats["elements"] == reports["copy"].stats["elements"] == 640


class RecordingModel(keras.Model):
    """A user's model with its own train_step, which notes the step of any unscaled batch."""

    def __init__(self) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(10, activation="softmax")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.unscaled_step = tf.Variable(-1, dtype=tf.int64, trainable=False)

    def call(self, x):
        return self.dense(tf.reshape(x, [-1, 64]))

    def train_step(self, data):
        x, _ = data
        self.unscaled_step.assign(tf.where(tf.reduce_max(x) > 1, self.step,
                                           self.unscaled_step))
        self.step.assign_add(1)
        return super().train_step(data)


def test_judges_the_batches_trained_on_in_their_random_order(digits):
    """A reshuffled pipeline puts the unscaled image in another batch every epoch: the
    callback names the batch the user's train step got, which no copy of the data can."""
    x, y = digits
    x, y = x[:640].copy(), y[:640].copy()
    x[100] *= 16
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(640).batch(BATCH)
    model = RecordingModel()
    model.compile("adam", "sparse_categorical_crossentropy")
    seen = []

    class Note(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            model.step.assign(0)

        def on_epoch_end(self, epoch, logs=None):
            seen.append(int(model.unscaled_step.numpy()))

    callback = ValidationCallback("digits", ds, rate=1.0)
    model.fit(ds, epochs=4, verbose=0, callbacks=[Note(), callback])
    wheres = [[v.where for v in r.violations if v.code == "range"] for r in callback.reports]
    assert [w[0].split(",")[0] for w in wheres] == [f"batch {step}" for step in seen]
    assert len(set(seen)) > 1  # the batch did move between epochs


def test_steps_per_execution_and_run_eagerly(digits):
    x, y = _planted(digits)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    for options in ({"steps_per_execution": 3}, {"run_eagerly": True},
                    {"run_eagerly": True, "steps_per_execution": 3}):
        callback = ValidationCallback("digits", ds, rate=1.0)
        _model(**options).fit(ds, epochs=2, verbose=0, callbacks=[callback])
        for report in callback.reports:
            assert report.stats["judged_batches"] == "trained"
            assert _found(report) == PLANTED, options
            assert report.stats["sampled_batches"] == 10
            assert report.stats["elements"] == 640


def test_unshuffled_labels_are_found_across_trained_batches(digits):
    x, y = digits
    order = np.argsort(y, kind="stable")
    ds = tf.data.Dataset.from_tensor_slices((x[order][:640], y[order][:640])).batch(32)
    callback = ValidationCallback("digits", ds, rate=1.0)
    _model().fit(ds, epochs=2, verbose=0, callbacks=[callback])
    for report in callback.reports:
        unshuffled = sorted((v.code, v.where) for v in report.violations
                            if v.code == "unshuffled")
        assert unshuffled and unshuffled == [f for f in _validated(ds) if f[0] == "unshuffled"]


def test_arrays_given_to_fit_are_judged_as_trained(digits):
    x, y = _planted(digits)
    callback = ValidationCallback("digits", None, rate=1.0)
    _model().fit(x, y, batch_size=BATCH, shuffle=False, epochs=2, verbose=0,
                 callbacks=[callback])
    for report in callback.reports:
        assert _found(report) == PLANTED
        assert report.stats["elements"] == 640


def test_falls_back_to_the_copy_where_the_step_cannot_judge(digits):
    x, y = _planted(digits)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        distributed = _model()
    for model, why in ((_model(jit_compile=True), "jit_compile"),
                       (distributed, "tf.distribute strategy")):
        auto = ValidationCallback("digits", ds, rate=1.0)
        model.fit(ds, epochs=1, verbose=0, callbacks=[auto])
        assert auto.reports[0].stats["judged_batches"] == "copy"
        assert _found(auto.reports[0]) == PLANTED
        for data, batches in ((ds, "trained"), (None, "auto")):
            strict = ValidationCallback("digits", data, rate=1.0, batches=batches)
            with pytest.raises(dc.DatacheckError, match=f"cannot judge the batches fit.*{why}"):
                model.fit(ds, epochs=1, verbose=0, callbacks=[strict])


def test_a_sampling_rate_reads_the_copy(digits):
    x, y = _planted(digits)
    callback = ValidationCallback("digits", (x, y), rate=0.5, batch_size=BATCH)
    _model().fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[callback])
    assert callback.reports[0].stats["judged_batches"] == "copy"
    with pytest.raises(dc.DatacheckError, match=r"leave rate=1\.0"):
        ValidationCallback("digits", (x, y), rate=0.5, batches="trained")
    with pytest.raises(dc.DatacheckError, match="needs the data"):
        ValidationCallback("digits", None, batches="copy")


def test_raise_leaves_the_model_as_it_was(digits):
    x, y = _planted(digits)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    model = _model()
    callback = ValidationCallback("digits", ds, rate=1.0, on_violation="raise")
    with pytest.raises(dc.ValidationError) as info:
        model.fit(ds, epochs=2, verbose=0, callbacks=[callback])
    assert [(v.code, v.where) for v in info.value.violations] == [PLANTED[0]]
    assert "train_step" not in vars(model)
    # The next fits: without the callback nothing is judged, with it each batch once.
    model.fit(ds, epochs=1, verbose=0)
    again = ValidationCallback("digits", ds, rate=1.0)
    model.fit(ds, epochs=1, verbose=0, callbacks=[again])
    assert again.reports[0].stats["violating_batches"] == 3


def test_a_step_left_wrapped_by_a_failed_fit_is_judged_once(digits):
    x, y = _planted(digits)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    model = _model()
    callback = ValidationCallback("digits", ds, rate=1.0)

    class Crash(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise RuntimeError("the trainer failed")

    with pytest.raises(RuntimeError):
        model.fit(ds, epochs=1, verbose=0, callbacks=[callback, Crash()])
    assert "train_step" in vars(model)  # on_train_end never ran, and the step did not fail
    again = ValidationCallback("digits", ds, rate=1.0)
    model.fit(ds, epochs=1, verbose=0, callbacks=[again])
    assert _found(again.reports[0]) == PLANTED
    assert again.reports[0].stats["violating_batches"] == 3
    assert "train_step" not in vars(model)


def test_stop_finishes_the_epoch_and_warn_logs_each_finding_once(digits, caplog):
    x, y = _planted(digits)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    stop = ValidationCallback("digits", ds, rate=1.0, on_violation="stop")
    history = _model().fit(ds, epochs=3, verbose=0, callbacks=[stop])
    assert len(history.epoch) == 1 and stop.reports[0].stats["steps"] == 10
    caplog.clear()
    caplog.set_level("WARNING", logger="datacheck")
    warn = ValidationCallback("digits", ds, rate=1.0)
    _model().fit(ds, epochs=2, verbose=0, callbacks=[warn])
    logged = [r.getMessage() for r in caplog.records if r.name == "datacheck"]
    assert sorted(m.split(":")[2].strip() for m in logged) == ["constant", "nonfinite", "range"]


def test_multi_input_dicts_and_sample_weights_are_bound_as_keras_binds_them(digits):
    x, y = digits
    x = x[:640].copy()
    schema = {"name": "two-eyes",
              "features": {"left": {"layout": "HWC", "shape": [8, 8, 1], "range": [0, 1]},
                           "right": {"layout": "HWC", "shape": [8, 8, 1], "range": [0, 1]}},
              "labels": {"digit": {"encoding": "sparse", "num_classes": 10}}}
    right = x.copy()
    right[300] *= 16
    weights = np.ones(len(x), "float32")
    ds = tf.data.Dataset.from_tensor_slices(({"left": x, "right": right}, y[:640],
                                             weights)).batch(BATCH)
    inputs = {k: keras.Input((8, 8, 1), name=k) for k in ("left", "right")}
    merged = keras.layers.Concatenate()([keras.layers.Flatten()(v) for v in inputs.values()])
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(merged))
    model.compile("adam", "sparse_categorical_crossentropy")
    callback = ValidationCallback(schema, ds, rate=1.0)
    model.fit(ds, epochs=2, verbose=0, callbacks=[callback])
    for report in callback.reports:
        assert report.stats["judged_batches"] == "trained"
        assert [(v.feature, v.code, v.where) for v in report.violations] == [
            ("right", "range", "batch 4, element 44 (index 300)")]
        assert report.stats["elements"] == 640
    # A structure the schema cannot bind: one line naming the part, from fit's first step.
    wrong = tf.data.Dataset.from_tensor_slices((x, y[:640], weights)).batch(BATCH)
    single = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                               keras.layers.Dense(10, activation="softmax")])
    single.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(dc.DataError, match=r"x \(the first part of each element\) is one tensor"):
        single.fit(wrong, epochs=1, verbose=0,
                   callbacks=[ValidationCallback(schema, None, rate=1.0)])
    assert "train_step" not in vars(single)  # the failed fit gave the step back
    assert len(single.fit(wrong, epochs=2, verbose=0).history["loss"]) == 2


@pytest.mark.parametrize("order", ["first-ends-first", "last-ends-first"])
def test_two_callbacks_judge_one_fit_and_give_the_step_back(digits, order):
    x, y = _planted(digits)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    model = _model()
    model.fit(ds, epochs=1, verbose=0)
    own_function = model.train_function
    lenient = {"name": "lenient", "features": {"image": {"layout": "HWC", "shape": [8, 8, 1]}},
               "labels": {"label": {"encoding": "sparse", "num_classes": 10}}}
    strict = ValidationCallback("digits", ds, rate=1.0)
    loose = ValidationCallback(lenient, ds, rate=1.0)
    callbacks = [strict, loose] if order == "first-ends-first" else [loose, strict]
    model.fit(ds, epochs=2, verbose=0, callbacks=callbacks)
    for report in strict.reports:
        assert _found(report) == PLANTED and report.stats["elements"] == 640
    for report in loose.reports:  # no range declared: only the default rules speak
        assert sorted(report.codes()) == ["constant", "nonfinite"]
        assert report.stats["sampled_batches"] == 10
    assert "train_step" not in vars(model)
    assert model.train_function is own_function or order == "last-ends-first"
    model.fit(ds, epochs=1, verbose=0)  # trains without any judge left
    assert "train_step" not in vars(model)
