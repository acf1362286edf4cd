"""Nothing lost in drop mode: every dropped element is reported by index, kept + dropped = input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

tf = pytest.importorskip("tensorflow")

import datacheck as dc  # noqa: E402

#: index -> how that element is broken (image pixels, or the label).
PLANTS = {
    "scaled": lambda x, y, i: x.__setitem__(i, x[i] * 255),
    "nan": lambda x, y, i: x.__setitem__((i, 1, 1, 0), np.nan),
    "inf": lambda x, y, i: x.__setitem__((i, 0, 7, 0), -np.inf),
    "negative": lambda x, y, i: x.__setitem__((i, 4, 4, 0), -0.25),
    "label": lambda x, y, i: y.__setitem__(i, 12),
    "negative_label": lambda x, y, i: y.__setitem__(i, -1),
}


def _no_shuffle_rule() -> dict:
    """digits without shuffle_window: with .batch(1) every batch is single-class (see xfail)."""
    data = dc.load_schema("digits").to_dict()
    del data["labels"]["label"]["shuffle_window"]
    return data


def _planted(digits, plants: dict[int, str]) -> tuple[np.ndarray, np.ndarray]:
    x, y = digits
    x, y = x.copy(), y.copy()
    for index, kind in plants.items():
        PLANTS[kind](x, y, index)
    return x, y


def _run_drop(x, y, batch: int | None, log: str, schema=None):
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.batch(batch) if batch else ds
    if schema is None:
        schema = _no_shuffle_rule() if batch == 1 else "digits"
    validated = dc.validate(ds, schema, on_error="drop", log=log, batched=batch is not None)
    kept = list(validated.as_numpy_iterator()) if batch else None
    if kept is None:
        kept = [(a[None], b[None]) for a, b in validated.as_numpy_iterator()]
    # Iterate through the ValidatedDataset itself too, so its kept counter is exercised.
    return validated, kept


def _assert_accounted(validated, kept, x, y, plants: dict[int, str]) -> None:
    report = validated.report()
    kept_x = np.concatenate([a for a, _ in kept]) if kept else np.zeros((0, 8, 8, 1))
    kept_y = np.concatenate([b for _, b in kept]) if kept else np.zeros(0)
    assert report.stats["dropped_indices"] == sorted(plants)
    assert report.stats["dropped"] == len(plants)
    assert len(kept_x) + report.stats["dropped"] == len(x)
    keep = np.setdiff1d(np.arange(len(x)), list(plants))
    np.testing.assert_array_equal(kept_x, x[keep])
    np.testing.assert_array_equal(kept_y, y[keep])
    assert not report.ok and report.inputs == {"<dataset>": "violating"}


@pytest.mark.parametrize("batch", [32, 7, None], ids=["batch32", "batch7", "unbatched"])
def test_drop_mode_reports_every_dropped_index(digits, tmp_path, batch):
    plants = {0: "scaled", 31: "nan", 32: "label", 33: "negative", 700: "inf",
              1795: "negative_label", 1796: "scaled"}
    x, y = _planted(digits, plants)
    validated, kept = _run_drop(x, y, batch, str(tmp_path / "drop.log"))
    _assert_accounted(validated, kept, x, y, plants)
    codes = {v.code for v in validated.report().violations}
    assert {"range", "nonfinite", "label_range"} <= codes


def test_drop_mode_drops_a_whole_bad_batch_and_keeps_counting(digits, tmp_path):
    plants = {i: "scaled" for i in range(64, 96)}  # all of batch 2
    x, y = _planted(digits, plants)
    validated, kept = _run_drop(x, y, 32, str(tmp_path / "drop.log"))
    _assert_accounted(validated, kept, x, y, plants)
    assert len(kept) == -(-len(x) // 32) - 1  # every batch but the emptied one arrives


def test_kept_counter_of_the_validated_dataset_matches(digits, tmp_path):
    plants = {3: "nan", 900: "label"}
    x, y = _planted(digits, plants)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    validated = dc.validate(ds, "digits", on_error="drop", log=str(tmp_path / "drop.log"))
    for _ in validated:
        pass
    stats = validated.report().stats
    assert stats["kept"] + stats["dropped"] == stats["elements"] == len(x)


def test_batch_of_one_drop_mode_keeps_every_valid_element_of_shuffled_data(digits, tmp_path):
    x, y = digits
    validated, _ = _run_drop(x[:300], y[:300], 1, str(tmp_path / "drop.log"),
                                schema="digits")
    assert validated.report().stats["dropped_indices"] == []


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(plants=st.dictionaries(st.integers(0, 1796), st.sampled_from(sorted(PLANTS)), max_size=12),
       batch=st.sampled_from([1, 16, 100]))
def test_drop_accounting_holds_for_any_planted_set(digits, tmp_path_factory, plants, batch):
    x, y = _planted(digits, plants)
    x, y = x[:800], y[:800]
    plants = {i: kind for i, kind in plants.items() if i < 800}
    log = tmp_path_factory.mktemp("drop") / "drop.log"
    validated, kept = _run_drop(x, y, batch, str(log))
    report = validated.report()
    assert report.stats["dropped_indices"] == sorted(plants)
    kept_n = sum(len(a) for a, _ in kept)
    assert kept_n + len(plants) == len(x)
