"""A validated pipeline under tf.data service (worker in its own process): raise, warn, drop."""

from __future__ import annotations

import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import datacheck as dc  # noqa: E402
from datacheck.backends.tf.errors import from_tf_error  # noqa: E402
from datacheck.backends.tf.droplog import read_drop_log  # noqa: E402
from tests.service.conftest import consume  # noqa: E402

BATCH = 32


def _dataset(x: np.ndarray, y: np.ndarray) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)


def _count(batches: list[tuple[np.ndarray, np.ndarray]]) -> int:
    return sum(len(images) for images, _ in batches)


def test_the_worker_is_another_process_where_py_function_cannot_run(service):
    assert service.worker_pid != os.getpid() and service.worker.poll() is None
    # Proof that this setup would catch py_function breakage (FINDINGS.md): the
    # callback lives in the trainer's interpreter, so the remote worker cannot call it.
    ds = tf.data.Dataset.range(4).map(
        lambda i: tf.py_function(lambda v: v * 2, [i], tf.int64))
    with pytest.raises(tf.errors.OpError) as info:
        consume(service.distribute(ds, "probe-py-function"))
    assert "callback" in info.value.message.lower() or "pyfunc" in info.value.message.lower()


def test_clean_data_flows_through_in_raise_mode(service, digits):
    x, y = digits
    validated = dc.validate(_dataset(x, y), "digits", on_error="raise")
    batches = consume(service.distribute(validated, "raise-clean"))
    assert _count(batches) == len(x)


def test_raise_mode_violation_reaches_the_trainer_with_the_datacheck_message(service, digits):
    x, y = digits
    x = x.copy()
    x[77] = x[77] * 16  # 0-16 pixel values where [0, 1] is declared
    validated = dc.validate(_dataset(x, y), "digits", on_error="raise")
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        consume(service.distribute(validated, "raise-bad"))
    assert "image: range: max 16 > 1 in batch 2" in info.value.message
    translated = from_tf_error(info.value, "digits")
    assert translated is not None
    (violation,) = translated.violations
    assert (violation.code, violation.feature) == ("range", "image")
    assert violation.where == "batch 2, element 13 (index 77)"
    assert "divide by 255" in violation.message.lower()
    assert str(translated).startswith("schema 'digits': image: range:")


def test_warn_mode_keeps_every_element_and_the_worker_logs_the_violation(service, digits,
                                                                        tmp_path):
    x, y = digits
    x = x.copy()
    x[40, 2, 3, 0] = np.nan
    log = tmp_path / "warn.log"
    validated = dc.validate(_dataset(x, y), "digits", on_error="warn", log=str(log))
    batches = consume(service.distribute(validated, "warn"))
    assert _count(batches) == len(x)
    # The worker process wrote the log; the trainer reads it from the shared disk.
    text = log.read_text(encoding="utf-8")
    assert "datacheck warning: image: nonfinite: 1 NaN/Inf values in batch 1, element 8 " \
           "(index 40)" in text


def test_warn_mode_without_a_log_warns_on_the_worker_stderr(service, digits):
    x, y = digits
    x = x.copy()
    x[70] = -x[70] - 1  # batch 2: among the first warn_first batches, so it is not rate-limited
    validated = dc.validate(_dataset(x, y), "digits", on_error="warn")
    batches = consume(service.distribute(validated, "warn-stderr"))
    assert _count(batches) == len(x)
    assert "image: range: min -2 < 0 in batch 2, element 6 (index 70)" in service.worker_log()


def test_drop_mode_drops_exactly_the_planted_elements_and_accounts_for_them(service, digits,
                                                                           tmp_path):
    x, y = digits
    x, y = x.copy(), y.copy()
    x[5] = x[5] * 255
    x[100, 0, 0, 0] = np.inf
    y[640] = 10
    x[1500, 7, 7, 0] = -0.5
    planted = [5, 100, 640, 1500]
    log = tmp_path / "drop.log"
    validated = dc.validate(_dataset(x, y), "digits", on_error="drop", log=str(log))
    batches = consume(service.distribute(validated, "drop"))
    kept_x = np.concatenate([images for images, _ in batches])
    kept_y = np.concatenate([labels for _, labels in batches])
    dropped, violations = read_drop_log(str(log))
    assert dropped == planted
    assert len(kept_x) + len(dropped) == len(x)
    keep = np.setdiff1d(np.arange(len(x)), planted)
    np.testing.assert_array_equal(kept_x, x[keep])
    np.testing.assert_array_equal(kept_y, y[keep])
    assert {(v.code, v.feature) for v in violations} == {
        ("range", "image"), ("nonfinite", "image"), ("label_range", "label")}
