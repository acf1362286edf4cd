"""The one-pass (fast) TF views: sufficient tests that defer to the exact judge when unsure."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import datacheck as dc  # noqa: E402
from datacheck.backends.tf.views import SAMPLE, TFTensorView, _sample_step  # noqa: E402
from datacheck.rules.base import ELEMENTS_RE  # noqa: E402


def _schema(**feature):
    return dc.Schema(features={"x": dc.Feature(layout="HWC", shape=[8, 8, 3], **feature)})


def _graph_codes(batch, schema):
    ds = tf.data.Dataset.from_tensor_slices({"x": batch}).batch(len(batch))
    try:
        for _ in dc.validate(ds, schema):
            pass
    except dc.ValidationError as exc:
        return sorted({v.code for v in exc.violations})
    return []


def test_the_sample_stride_is_a_prime_that_skips_channels_and_power_of_two_columns():
    assert _sample_step(tf.TensorShape([None, 32, 32, 3])) == 53  # 3072 * 4 / 256 = 48 -> 53
    assert _sample_step(tf.TensorShape([None, 128, 128, 128, 1])) == 32771
    assert _sample_step(tf.TensorShape([None, 4])) == 1
    assert _sample_step(tf.TensorShape([None, None, 8, 1])) is None
    assert _sample_step(tf.TensorShape(None)) is None


def test_fast_constant_proves_variation_from_the_sample_alone():
    x = tf.constant(np.random.default_rng(0).random((16, 8, 8, 3), dtype=np.float32))
    assert not bool(TFTensorView(x, exact=False).constant())


@pytest.mark.parametrize("feature", [{}, {"range": [0, 1]}], ids=["no-range", "range"])
def test_elements_whose_samples_agree_pass_when_they_vary_elsewhere(feature):
    # Every element is 0 on the sample lattice (stride 3) and 0.5 at one position off it:
    # the fast test cannot prove variation, the exact judge must settle it per element.
    batch = np.zeros((SAMPLE, 8, 8, 3), np.float32)
    batch[:, 7, 7, 1] = 0.5  # flat position 190, not a multiple of the stride
    assert _graph_codes(batch, _schema(**feature)) == []
    assert dc.check({"x": batch}, _schema(**feature), batch_size=SAMPLE).codes() == []


@pytest.mark.parametrize("feature", [{}, {"range": [0, 1]}], ids=["no-range", "range"])
def test_a_blank_element_among_varying_ones_is_found_by_index(feature):
    # Before per-element verdicts this batch passed: the batch as a whole varies.
    batch = np.zeros((SAMPLE, 8, 8, 3), np.float32)
    batch[:, 7, 7, 1] = 0.5
    batch[100] = 0.0
    ds = tf.data.Dataset.from_tensor_slices({"x": batch}).batch(len(batch))
    with pytest.raises(dc.ValidationError) as info:
        for _ in dc.validate(ds, _schema(**feature)):
            pass
    (graph,) = info.value.violations
    (numpy,) = dc.check({"x": batch}, _schema(**feature), batch_size=SAMPLE).violations
    assert graph.code == numpy.code == "constant"
    assert graph.where == numpy.where == "batch 0, element 100"
    # The report restates the count for the whole input; the batch sentence is the same.
    assert ELEMENTS_RE.sub("", graph.message) == ELEMENTS_RE.sub("", numpy.message)
    assert graph.message.endswith("Affected: 1 of 256 elements (index 100).")
    assert numpy.message.endswith("Affected: 1 of 256 elements of the input (index 100).")
    assert numpy.extra == {"elements": 1, "indices": [100], "of": 256}


def test_a_constant_batch_fails_in_graph_as_in_numpy():
    batch = np.full((6, 8, 8, 3), 0.25, np.float32)
    assert _graph_codes(batch, _schema()) == ["constant"]
    assert dc.check({"x": batch}, _schema(), batch_size=6).codes() == ["constant"]


def test_negative_zero_is_the_same_value_as_zero_in_both_backends():
    batch = np.zeros((6, 8, 8, 3), np.float32)
    batch[0, 0, 0, 0] = -0.0
    batch.reshape(-1)[53] = -0.0  # on the sample lattice
    assert _graph_codes(batch, _schema()) == ["constant"]
    assert dc.check({"x": batch}, _schema(), batch_size=6).codes() == ["constant"]


def test_a_one_value_batch_is_never_constant():
    # The fast test cannot prove it (one sample): the exact judge answers.
    schema = dc.Schema(features={"x": dc.Feature(shape=[1])})
    ds = tf.data.Dataset.from_tensor_slices({"x": np.ones((1, 1), np.float32)}).batch(1)
    assert [b["x"].numpy().tolist() for b in dc.validate(ds, schema)] == [[[1.0]]]


@pytest.mark.parametrize("mode", ["raise", "drop"])
def test_an_empty_batch_of_a_finite_only_feature_passes(mode):
    schema = dc.Schema(features={"x": dc.Feature(layout="DHWC", finite=True)})
    empty = {"x": np.zeros((0, 4, 4, 4, 1), np.float32)}
    ds = tf.data.Dataset.from_tensors(empty)
    allowing = dc.Schema(features=schema.features, allow_empty=True)
    # No rule fires on the empty batch (never a raw TF error). Drop mode counts the pass:
    # zero elements in all is `empty` unless allowed, as check() says below.
    assert [b["x"].shape[0] for b in dc.validate(ds, allowing, on_error=mode, batched=True)] \
        == ([0] if mode == "raise" else [])
    if mode == "drop":
        with pytest.raises(dc.ValidationError) as info:
            list(dc.validate(ds, schema, on_error=mode, batched=True))
        assert [v.code for v in info.value.violations] == ["empty"]
    assert dc.check(empty, schema).codes() == ["empty"]
    assert dc.check(empty, allowing).codes() == []
