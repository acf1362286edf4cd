"""dc.doctor end to end: files, schemas, tf.data, the smoke test, the report a person reads."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

import datacheck as dc
from datacheck.report import Report
from datacheck.report.render import print_report


def test_dc_doctor_is_callable_even_after_importing_the_package(cnn, digits):
    import datacheck.doctor.smoke  # noqa: F401  (rebinds dc.doctor to the package)

    report = dc.doctor(cnn, digits)
    assert report.kind == "doctor" and report.ok


def test_importing_the_doctor_loads_no_tensorflow():
    code = ("import datacheck, datacheck.doctor, datacheck.cli.cmd_doctor, sys\n"
            "print(','.join(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_model_and_data_from_files(cnn, digits, tmp_path):
    x, y = digits
    model_path = tmp_path / "digits.keras"
    cnn.save(model_path)
    data_path = tmp_path / "raw.npz"
    np.savez(data_path, image=(x * 255).astype("uint8")[..., 0], label=y)
    report = dc.doctor(str(model_path), str(data_path))
    assert set(report.codes()) == {"unnormalized", "input_shape"}
    assert report.inputs == {str(data_path): "violating"}
    assert report.stats["elements"] == len(y)


def test_schema_adds_core_violations_without_repeating_them(cnn, digits, one_hot):
    x, y = digits
    raw = (x * 255)[..., 0]
    skewed = np.where(np.arange(len(y)) % 50 == 0, y, 0)
    report = dc.doctor(cnn, {"image": raw, "label": skewed}, "digits")
    codes = report.codes()
    # The doctor's findings replace the core's range/rank findings on the same feature ...
    assert "unnormalized" in codes and "range" not in codes
    assert "input_shape" in codes and "rank" not in codes
    # ... and the schema's own rules (min_class_fraction) still report, as errors.
    balance = [v for v in report.violations if v.code == "class_balance"]
    assert len(balance) == 1 and balance[0].severity == "error"
    assert report.schema == "digits"
    assert "label" in report.summaries
    one_hot_report = dc.doctor(cnn, {"image": x, "label": one_hot}, "digits")
    assert "loss_mismatch" in one_hot_report.codes()
    assert "label_encoding" not in one_hot_report.codes()


def test_tf_dataset_with_schema_reports_the_sample(cnn, digits):
    tf = pytest.importorskip("tensorflow")
    x, y = digits
    ds = tf.data.Dataset.from_tensor_slices({"image": x * 255, "label": y}).batch(32)
    report = dc.doctor(cnn, ds, "digits", max_batches=10)
    assert report.stats["sampled_batches"] == 10 and report.stats["exhausted"] is False
    assert "unnormalized" in report.codes()
    assert any("first 10 batches" in n for n in report.stats["notes"])
    assert report.inputs == {"<tf.data>": "violating"}


def test_report_round_trips_through_json(make_cnn, digits):
    report = dc.doctor(make_cnn(units=2), digits, smoke=True, smoke_steps=3)
    again = Report.from_json(report.to_json())
    assert again.kind == "doctor" and again.codes() == report.codes()
    assert again.violations[0].message == report.violations[0].message


def test_text_report_reads_in_ten_seconds(make_cnn, digits):
    x, y = digits
    report = dc.doctor(make_cnn(activation="sigmoid", units=2), ((x * 255)[..., 0], y))
    out = io.StringIO()
    print_report(report, file=out)
    text = out.getvalue()
    assert text.splitlines()[0].strip().startswith("datacheck doctor: model 'digits_cnn'")
    errors_first = [v.severity for v in report.sorted_violations()]
    assert errors_first == sorted(errors_first, key=lambda s: s != "error")
    for code in ("output_units", "unnormalized", "input_shape"):
        assert code in text
    assert "FAILED" in text.splitlines()[-1]


def test_smoke_healthy_model_learns_and_is_left_untouched(cnn, digits):
    before = [w.copy() for w in cnn.get_weights()]
    report = dc.doctor(cnn, digits, smoke=True)
    smoke = report.stats["smoke"]
    assert report.ok and smoke["losses"][-1] < 0.7 * smoke["losses"][0]
    assert all(np.array_equal(a, b) for a, b in zip(before, cnn.get_weights(), strict=True))


def test_smoke_catches_a_model_that_cannot_overfit_one_batch(make_cnn, keras, digits):
    model = make_cnn(front=[keras.layers.Rescaling(1 / 255)])
    report = dc.doctor(model, digits, smoke=True)
    v = next(v for v in report.violations if v.code == "not_learning")
    assert "cannot overfit one batch" in v.message and v.feature == "y"
    assert "double_normalized" in report.codes()


def test_smoke_reports_keras_own_error(cnn, digits, one_hot):
    report = dc.doctor(cnn, (digits[0], one_hot), smoke=True)
    v = next(v for v in report.violations if v.code == "not_learning")
    assert "fitting one batch of 32 failed" in v.message and "ValueError" in v.message


def test_smoke_needs_a_loss(make_cnn, digits):
    report = dc.doctor(make_cnn(loss=None), digits, smoke=True)
    assert "skipped" in report.stats["smoke"]
    assert any("Smoke test skipped" in n for n in report.stats["notes"])
    given = dc.doctor(make_cnn(loss=None), digits, smoke=True, smoke_steps=5,
                      loss="sparse_categorical_crossentropy")
    assert len(given.stats["smoke"]["losses"]) == 5


def test_bad_inputs_are_one_line_errors(cnn, digits):
    with pytest.raises(dc.DatacheckError, match=r"model must be a keras\.Model"):
        dc.doctor("not a model object".split(), digits)
    with pytest.raises(dc.DatacheckError, match="no bundled schema"):
        dc.doctor(cnn, digits, "no_such_schema")


def test_two_inputs_two_outputs_pair_by_name(keras, digits, rng):
    x, y = digits
    image = keras.Input((8, 8, 1), name="image")
    extra = keras.Input((3,), name="extra")
    hidden = keras.layers.Concatenate()([keras.layers.Flatten()(image), extra])
    digit = keras.layers.Dense(10, activation="softmax", name="digit")(hidden)
    parity = keras.layers.Dense(1, activation="sigmoid", name="parity")(hidden)
    model = keras.Model([image, extra], [digit, parity])
    model.compile(optimizer="adam", loss={"digit": "sparse_categorical_crossentropy",
                                          "parity": "binary_crossentropy"})
    features = {"extra": rng.random((len(y), 3)).astype("float32"), "image": x}
    good = dc.doctor(model, (features, {"parity": y % 2, "digit": y}), smoke=True)
    assert good.ok, good.to_text()
    assert "error" not in good.stats["smoke"]
    bad = dc.doctor(model, (features, {"parity": y, "digit": y}))
    assert [(v.feature, v.code) for v in bad.violations] == [("parity", "loss_mismatch")]


def test_smoke_does_not_call_a_healthy_slow_starting_cnn_not_learning(keras, digits):
    """Batch norm, dropout and global pooling overfit one batch more slowly than a plain
    CNN: at the first learning rate 30 steps were not enough (ratios 0.71-0.74 for three
    seeds), so the smoke test tries further steps and rates before it judges."""
    for seed in range(2):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([
            keras.Input((8, 8, 1)), keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(), keras.layers.Dropout(0.3),
            keras.layers.Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        report = dc.doctor(model, digits, schema="digits", smoke=True)
        assert "not_learning" not in report.codes(), report.stats["smoke"]
        assert report.stats["smoke"]["attempts"]
