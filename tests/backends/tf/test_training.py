"""A validated dataset is a drop-in tf.data.Dataset for real Keras training, in every mode.

Every test trains a real Keras model for at least two epochs, the way a user
would: unknown cardinality (filter), prefetch, repeat with steps_per_epoch,
validation_data, evaluate and predict. Drop counts are exact per pass however
the dataset is consumed.
"""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import datacheck as dc  # noqa: E402

BATCH = 64


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _unknown_cardinality(x, y) -> tf.data.Dataset:
    # filter() makes the cardinality unknown, as TFRecord or interleave pipelines are.
    ds = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(BATCH)
    assert int(ds.cardinality()) == int(tf.data.UNKNOWN_CARDINALITY)
    return ds


def _planted(digits, bad: list[int]):
    x, y = digits
    x = x.copy()
    x[bad] = x[bad] * 16  # 0-16 pixel values where [0, 1] is declared
    return x, y


@pytest.mark.parametrize("mode", ["raise", "warn", "drop", "collect"])
def test_fit_evaluate_predict_on_unknown_cardinality_in_every_mode(digits, mode, tmp_path):
    x, y = digits
    log = str(tmp_path / "log.txt") if mode in ("drop", "warn") else None
    validated = dc.validate(_unknown_cardinality(x, y), "digits", on_error=mode, log=log)
    model = _model()
    history = model.fit(validated, epochs=2, validation_data=validated, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["val_loss"]).all()
    loss, _ = model.evaluate(validated, verbose=0)
    assert np.isfinite(loss)
    assert model.predict(validated, verbose=0).shape == (len(x), 10)
    assert validated.report().ok


@pytest.mark.parametrize("mode", ["raise", "drop"])
def test_fit_after_prefetch_filter_repeat_and_steps_per_epoch(digits, mode):
    x, y = digits
    validated = dc.validate(_unknown_cardinality(x, y), "digits", on_error=mode)
    ds = validated.map(lambda a, b: (a, b)).filter(lambda a, b: True).repeat().prefetch(2)
    history = _model().fit(ds, epochs=3, steps_per_epoch=10, verbose=0)
    assert len(history.history["loss"]) == 3


def test_a_violation_reaches_fit_through_any_depth_as_a_validation_error(digits):
    x, y = _planted(digits, [77])
    ds = dc.validate(_unknown_cardinality(x, y), "digits").prefetch(2).map(lambda a, b: (a, b))
    with pytest.raises(tf.errors.InvalidArgumentError) as raw:
        _model().fit(ds, epochs=2, verbose=0)
    text = raw.value.message
    # Readable as TF prints it: no escaped newlines or quotes in the datacheck part.
    assert "datacheck: schema `digits`: image: range: max 16 > 1 in batch 1" in text
    assert "\\n" not in text.split("[datacheck-records:")[0]
    with pytest.raises(dc.ValidationError) as info, dc.translate_errors():
        _model().fit(ds, epochs=2, verbose=0)
    (violation,) = info.value.violations
    assert (violation.code, violation.feature) == ("range", "image")
    assert violation.where == "batch 1, element 13 (index 77)"


def test_translate_errors_leaves_other_errors_alone():
    with pytest.raises(ZeroDivisionError), dc.translate_errors():
        raise ZeroDivisionError("not ours")

    @dc.translate_errors()
    def clean() -> int:
        return 3

    assert clean() == 3


def test_direct_iteration_still_raises_validation_error(digits):
    x, y = _planted(digits, [5])
    validated = dc.validate(_unknown_cardinality(x, y), "digits")
    with pytest.raises(dc.ValidationError, match="schema 'digits'"):
        for _ in validated:
            pass


def test_drop_counts_are_exact_per_epoch_when_keras_consumes_a_prefetched_copy(digits, tmp_path):
    bad = [3, 64, 65, 1000, 1796]
    x, y = _planted(digits, bad)
    log = tmp_path / "drops.log"
    log.write_text("datacheck-pass\tolder-run\tp\t5\t5\nstale line\n")  # a previous run's log
    validated = dc.validate(_unknown_cardinality(x, y), "digits", on_error="drop", log=str(log))
    _model().fit(validated.prefetch(tf.data.AUTOTUNE), epochs=3, verbose=0)
    stats = validated.report().stats
    assert "older-run" not in log.read_text()
    assert stats["complete_passes"] == 3 and stats["partial_passes"] == 0
    for entry in stats["passes"]:
        assert entry["dropped_indices"] == bad
        assert entry["kept"] + entry["dropped"] == entry["elements"] == len(x)
    assert stats["dropped_indices"] == bad
    assert stats["elements"] == 3 * len(x) and stats["dropped"] == 3 * len(bad)
    report = validated.report()
    assert {v.where.split(",")[0] for v in report.violations} == {"pass 1", "pass 2", "pass 3"}


def test_repeat_counts_each_repetition_as_a_pass_and_take_leaves_a_partial_one(digits):
    bad = [10, 900]
    x, y = _planted(digits, bad)
    validated = dc.validate(_unknown_cardinality(x, y), "digits", on_error="drop")
    batches = len(x) // BATCH + 1
    seen = sum(len(a) for a, _ in validated.repeat(2).take(2 * batches - 3))
    stats = validated.report().stats
    assert stats["complete_passes"] == 1 and stats["partial_passes"] == 1
    assert stats["passes"][0]["dropped_indices"] == bad
    assert stats["passes"][0]["kept"] == len(x) - len(bad)
    assert stats["elements"] == len(x)  # the partial pass is listed, not counted as data
    assert seen < 2 * (len(x) - len(bad))


def test_unbatched_drop_counts(digits):
    x, y = _planted(digits, [0, 1])
    ds = tf.data.Dataset.from_tensor_slices((x[:50], y[:50]))
    validated = dc.validate(ds, "digits", on_error="drop", batched=False)
    kept = list(validated.prefetch(4))
    stats = validated.report().stats
    assert len(kept) == 48 and stats["dropped_indices"] == [0, 1] and stats["elements"] == 50


def test_max_drop_fraction_stops_a_pass_that_drops_too_much(digits):
    x, y = digits
    validated = dc.validate(_unknown_cardinality(x * 16, y), "digits", on_error="drop")
    with pytest.raises(dc.DropLimitError, match=r"removed 17\d\d of 1797 elements"), \
            dc.translate_errors():
        _model().fit(validated, epochs=2, verbose=0)
    allowed = dc.validate(_unknown_cardinality(x, y), "digits", on_error="drop",
                          max_drop_fraction=0.0)
    _model().fit(allowed, epochs=2, verbose=0)  # nothing dropped: 0.0 still passes
    with pytest.raises(dc.DatacheckError, match="max_drop_fraction"):
        dc.validate(_unknown_cardinality(x, y), "digits", on_error="drop", max_drop_fraction=2)


def test_temporary_drop_log_is_removed_with_the_dataset(digits):
    import gc
    import os

    x, y = digits
    validated = dc.validate(_unknown_cardinality(x, y), "digits", on_error="drop")
    path = validated.log_path
    assert path and os.path.exists(path)
    del validated
    gc.collect()
    assert not os.path.exists(path)


@pytest.mark.parametrize("mode", ["raise", "drop"])
def test_save_load_snapshot_cache_shuffle(digits, mode, tmp_path):
    x, y = digits
    validated = dc.validate(_unknown_cardinality(x[:300], y[:300]), "digits", on_error=mode)
    validated.save(str(tmp_path / "saved"))
    loaded = tf.data.Dataset.load(str(tmp_path / "saved"))
    assert sum(len(a) for a, _ in loaded) == 300
    cached = validated.cache().shuffle(8).snapshot(str(tmp_path / "snap"))
    history = _model().fit(cached, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_save_of_a_raise_pipeline_raises_instead_of_hanging(digits, tmp_path):
    x, y = _planted(digits, [100, 1500])
    validated = dc.validate(_unknown_cardinality(x, y), "digits")
    target = tmp_path / "saved"
    with pytest.raises(dc.ValidationError) as info:
        validated.save(str(target))
    assert [v.where for v in info.value.violations] == [
        "batch 1, element 36 (index 100)", "batch 23, element 28 (index 1500)"]
    assert not target.exists()  # nothing half-saved is left for training to pick up


def test_keras_structures_multi_input_dicts_and_sample_weights(digits):
    x, y = digits
    schema = {"name": "two-eyes",
              "features": {"left": {"layout": "HWC", "shape": [8, 8, 1], "range": [0, 1]},
                           "right": {"layout": "HWC", "shape": [8, 8, 1], "range": [0, 1]}},
              "labels": {"digit": {"encoding": "sparse", "num_classes": 10}}}
    weights = np.ones(len(x), "float32")
    ds = tf.data.Dataset.from_tensor_slices(({"left": x, "right": x}, y, weights)).batch(BATCH)
    validated = dc.validate(ds, schema, on_error="drop")
    left, right = keras.Input((8, 8, 1), name="left"), keras.Input((8, 8, 1), name="right")
    merged = keras.layers.Concatenate()([keras.layers.Flatten()(left),
                                         keras.layers.Flatten()(right)])
    model = keras.Model({"left": left, "right": right},
                        keras.layers.Dense(10, activation="softmax")(merged))
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(validated, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    bad = tf.data.Dataset.from_tensor_slices(({"left": x, "right": x * 16}, y)).batch(BATCH)
    with pytest.raises(dc.ValidationError) as info:
        list(dc.validate(bad, schema))
    assert info.value.violations[0].feature == "right"
    wrong = tf.data.Dataset.from_tensor_slices((x, y, weights)).batch(BATCH)
    with pytest.raises(dc.DataError, match=r"x \(the first part of each element\) is one tensor"):
        dc.validate(wrong, schema)


@pytest.mark.parametrize(("element", "says"), [
    (lambda x, y: ((x,),), r"^dataset elements are \(\(tensor,\),\), which nests tuples or dicts; "
     r"schema 'eye' declares 1 \(image\) and no labels, so no part is Keras' x or y\."),
    (lambda x, y: (x, x, x), r"^dataset elements have 3 parts but schema 'eye' declares 1 "),
])
def test_structures_that_bind_to_no_name_get_one_line_saying_what_they_are(digits, element,
                                                                           says):
    x, y = digits
    schema = {"name": "eye", "features": {"image": {"layout": "HWC", "shape": [8, 8, 1]}}}
    ds = tf.data.Dataset.from_tensor_slices(element(x, y)).batch(BATCH)
    with pytest.raises(dc.DataError, match=says) as info:
        dc.validate(ds, schema)
    assert "\n" not in str(info.value) and "Give elements as x, (x, y)" in str(info.value)


def test_ragged_components_get_one_line_naming_them():
    ragged = tf.ragged.constant([[1.0], [2.0, 3.0]])
    ds = tf.data.Dataset.from_tensor_slices((ragged, [0, 1])).batch(2)
    schema = {"features": {"tokens": {"shape": [None]}},
              "labels": {"label": {"encoding": "sparse", "num_classes": 2}}}
    with pytest.raises(dc.DataError, match=r"^tokens: is a tf.RaggedTensor; .*padded_batch"):
        dc.validate(ds, schema)


def test_unbatched_variable_size_images_are_seen_as_unbatched(digits):
    x, y = digits

    def grow(i):
        size = 8 + i % 3
        return tf.image.resize(x[0], [size, size]), y[0]

    ds = tf.data.Dataset.range(6).map(lambda i: grow(tf.cast(i, tf.int32)))
    assert ds.element_spec[0].shape.as_list() == [None, None, 1]
    schema = {"features": {"image": {"layout": "HWC", "channels": 1, "range": [0, 1]}},
              "labels": {"label": {"encoding": "sparse", "num_classes": 10}}}
    validated = dc.validate(ds, schema)
    assert len(list(validated)) == 6


def test_collect_report_says_whether_the_pass_was_complete(digits):
    x, y = digits
    validated = dc.validate(_unknown_cardinality(x, y), "digits", on_error="collect")
    assert sum(len(a) for a, _ in validated) == len(x)
    stats = validated.report().stats
    assert stats["elements"] == len(x) and not stats["partial"] and stats["complete_passes"] == 1


def test_the_end_marker_is_built_at_run_time_not_stored_in_the_graph():
    # A static batch of 2 x 64^3 floats is 2 MiB: a constant marker would ship in the graph.
    ds = tf.data.Dataset.range(4).map(
        lambda i: (tf.random.uniform([64, 64, 64, 1]), i % 2)).batch(2, drop_remainder=True)
    schema = {"features": {"v": {"layout": "DHWC", "shape": [64, 64, 64, 1]}},
              "labels": {"y": {"encoding": "sparse", "num_classes": 2}}}
    validated = dc.validate(ds, schema, on_error="drop")
    assert len(validated._as_serialized_graph().numpy()) < 1_000_000
    assert sum(int(a.shape[0]) for a, _ in validated) == 4
    assert validated.report().stats["passes"][0] == {
        "pass": 1, "complete": True, "elements": 4, "kept": 4, "dropped": 0,
        "dropped_indices": []}


def test_an_empty_dataset_is_a_violation_unless_the_schema_allows_it(digits):
    x, y = digits
    known_empty = tf.data.Dataset.from_tensor_slices((x[:0], y[:0])).batch(BATCH)
    with pytest.raises(dc.ValidationError) as info:
        dc.validate(known_empty, "digits")
    assert info.value.violations[0].code == "empty"
    emptied = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: False).batch(BATCH)
    with pytest.raises(dc.ValidationError) as info:
        list(dc.validate(emptied, "digits", on_error="drop"))
    assert [v.code for v in info.value.violations] == ["empty"]
    allowed = {**dc.load_schema("digits").to_dict(), "allow_empty": True}
    assert list(dc.validate(emptied, allowed, on_error="drop")) == []


@pytest.mark.parametrize("mode", ["raise", "warn"])
def test_an_empty_pass_of_unknown_size_is_found_in_raise_and_warn_mode(digits, tmp_path, mode):
    x, y = digits
    emptied = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: False).batch(BATCH)
    assert int(emptied.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    log = tmp_path / "warn.log"
    validated = dc.validate(emptied, "digits", on_error=mode, log=str(log))
    if mode == "raise":
        with pytest.raises(dc.ValidationError) as info:
            list(validated)
        assert [v.code for v in info.value.violations] == ["empty"]
        # Through a downstream transformation the raw TF error translates to the same.
        with pytest.raises(dc.ValidationError) as info, dc.translate_errors():
            list(validated.map(lambda a, b: (a, b)).prefetch(2))
        assert [v.code for v in info.value.violations] == ["empty"]
    else:
        assert list(validated) == []
        assert "empty" in log.read_text() and "one pass over the dataset" in log.read_text()
    allowed = {**dc.load_schema("digits").to_dict(), "allow_empty": True}
    assert list(dc.validate(emptied, allowed, on_error=mode)) == []


def test_the_end_marker_of_unknown_size_pipelines_changes_no_element(digits):
    x, y = digits
    kept = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: b != 3).batch(BATCH)
    plain = [(a.numpy(), b.numpy()) for a, b in kept]
    for mode in ("raise", "warn"):
        seen = [(a.numpy(), b.numpy()) for a, b in dc.validate(kept, "digits", on_error=mode)]
        assert len(seen) == len(plain)
        assert all(np.array_equal(a, c) and np.array_equal(b, d)
                   for (a, b), (c, d) in zip(seen, plain, strict=True))
