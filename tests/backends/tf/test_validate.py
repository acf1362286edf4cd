"""validate() in graph: the same rules as the numpy backend, in every mode."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import datacheck as dc  # noqa: E402
from tests.cases import BATCH, CASES, schema_for  # noqa: E402


def _dataset(x, y, batch=BATCH):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)


def _codes_from_validate(x, y, schema):
    """Codes found by raise mode: at validate() (static) or while iterating (graph)."""
    try:
        for _ in dc.validate(_dataset(x, y), schema):
            pass
    except dc.ValidationError as exc:
        return [v.code for v in exc.violations]
    return []


@pytest.mark.parametrize(("name", "make", "schema", "code"), CASES, ids=[c[0] for c in CASES])
def test_graph_and_numpy_agree_on_seed_failures(name, make, schema, code):
    x, y = make()
    resolved = schema_for(schema)
    graph_codes = _codes_from_validate(x, y, resolved)
    assert code in graph_codes
    numpy_report = dc.check((x, y), resolved, batch_size=BATCH)
    assert code in numpy_report.codes()


@pytest.mark.parametrize(("name", "make", "schema", "code"), CASES, ids=[c[0] for c in CASES])
def test_collect_mode_finds_what_check_finds(name, make, schema, code):
    x, y = make()
    resolved = schema_for(schema)
    try:
        validated = dc.validate(_dataset(x, y), resolved, on_error="collect")
    except dc.ValidationError:  # pragma: no cover - collect never raises
        pytest.fail("collect mode raised")
    for _ in validated:
        pass
    collected = validated.report()
    checked = dc.check((x, y), resolved, batch_size=BATCH)
    assert collected.codes() == checked.codes()


def test_raise_error_names_schema_feature_batch_and_element(digits):
    x, y = digits
    x = x.copy()
    x[77] = x[77] * 16
    with pytest.raises(dc.ValidationError) as info:
        for _ in dc.validate(_dataset(x, y, 32), "digits"):
            pass
    (violation,) = info.value.violations
    assert violation.code == "range" and violation.feature == "image"
    assert violation.where == "batch 2, element 13 (index 77)"
    assert "schema 'digits'" in str(info.value)
    assert "divide by 255" in violation.message


def test_tf_error_after_further_transformations_carries_the_message(digits):
    from datacheck.backends.tf.errors import from_tf_error

    x, y = digits
    x = x.copy()
    x[3, 0, 0, 0] = np.nan
    ds = dc.validate(_dataset(x, y, 32), "digits").prefetch(2)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        for _ in ds:
            pass
    assert "nonfinite" in info.value.message
    translated = from_tf_error(info.value, "digits")
    assert translated is not None and translated.violations[0].code == "nonfinite"


def test_static_spec_is_checked_before_any_data_is_read():
    def explode(x, y):
        tf.debugging.Assert(False, ["data was read"])
        return x, y

    images = np.zeros((4, 28, 28), "float32")
    ds = tf.data.Dataset.from_tensor_slices((images, np.arange(4))).batch(2).map(explode)
    with pytest.raises(dc.ValidationError) as info:
        dc.validate(ds, "mnist")
    assert info.value.violations[0].code == "rank"
    assert "element_spec" in info.value.violations[0].where


def test_dynamic_spatial_dims_are_checked_at_run_time():
    schema = dc.Schema(features={"image": dc.Feature(layout="HWC", shape=[8, 8, 1])})
    rng = np.random.default_rng(0)
    gen = lambda: iter([rng.random((2, 8, 8, 1), "float32"),
                        rng.random((2, 9, 8, 1), "float32")])
    ds = tf.data.Dataset.from_generator(
        gen, output_signature=tf.TensorSpec([None, None, None, 1], tf.float32))
    seen = []
    with pytest.raises(dc.ValidationError) as info:
        for batch in dc.validate(ds, schema, batched=True):
            seen.append(batch.shape[1])
    assert seen == [8]
    assert info.value.violations[0].code == "shape"
    assert "(9, 8, 1)" in info.value.violations[0].message


def test_warn_mode_logs_and_keeps_everything(digits, capfd):
    x, y = digits
    x = x.copy()
    x[40] = x[40] * 16
    validated = dc.validate(_dataset(x, y, 64), "digits", on_error="warn")
    count = sum(int(b[0].shape[0]) for b in validated)
    assert count == len(x)
    err = capfd.readouterr().err
    assert "datacheck warning: image: range" in err and "(index 40)" in err


def test_drop_mode_accounts_for_every_element(digits, tmp_path):
    x, y = digits
    x, y = x.copy(), y.copy()
    planted = [5, 64, 65, 700, 1796]
    x[5, 0, 0, 0] = np.nan
    x[64] *= 16
    y[65] = 12
    x[700, 2, 2, 0] = -1.0
    y[1796] = -3
    log = tmp_path / "drops.log"
    validated = dc.validate(_dataset(x, y, 64), "digits", on_error="drop", log=str(log))
    kept = 0
    for images, labels in validated:
        kept += int(images.shape[0])
        assert float(tf.reduce_max(images)) <= 1.0
        assert int(tf.reduce_max(labels)) < 10
    report = validated.report()
    assert report.stats["dropped_indices"] == planted
    assert kept + report.stats["dropped"] == len(x) == report.stats["elements"]
    assert {"nonfinite", "range", "label_range"} <= set(report.codes())


def test_unbatched_elements_and_dict_structure(digits):
    x, y = digits
    ds = tf.data.Dataset.from_tensor_slices({"image": x[:20], "label": y[:20]})
    out = list(dc.validate(ds, "digits"))
    assert len(out) == 20 and out[0]["image"].shape == (8, 8, 1)
    bad = tf.data.Dataset.from_tensor_slices({"image": x[:20] * 16, "label": y[:20]})
    with pytest.raises(dc.ValidationError, match=r"in element 0\b"):  # never "batch 0"
        list(dc.validate(bad, "digits"))


def test_validated_pipeline_trains_a_keras_model(digits):
    keras = pytest.importorskip("keras")
    x, y = digits
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(dc.validate(_dataset(x, y, 64), "digits"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_bad_mode_and_bad_input():
    with pytest.raises(dc.DatacheckError, match="on_error must be one of"):
        dc.validate(tf.data.Dataset.range(3), "mnist", on_error="ignore")
    with pytest.raises(dc.DatacheckError, match=r"needs a tf.data.Dataset"):
        dc.validate(np.zeros(3), "mnist")


def test_check_consumes_a_dataset(digits):
    x, y = digits
    report = dc.check(_dataset(x, y, 100), "digits")
    assert report.ok and report.stats["elements"] == len(x)
    report = dc.check(tf.data.Dataset.from_tensor_slices((x * 16, y)), "digits")
    assert "range" in report.codes()
