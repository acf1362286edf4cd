import numpy as np
import pytest

import datacheck as dc
from tests.cases import BATCH, CASES, schema_for


@pytest.mark.parametrize(("name", "make", "schema", "code"), CASES, ids=[c[0] for c in CASES])
def test_seed_failure_modes_are_caught(name, make, schema, code):
    x, y = make()
    report = dc.check((x, y), schema_for(schema), batch_size=BATCH)
    assert not report.ok
    assert code in report.codes(), report.to_text()
    first = next(v for v in report.violations if v.code == code)
    assert first.message.startswith(f"{first.feature}: {code}:")
    assert "batch" in first.where


def test_clean_real_data_passes(digits):
    x, y = digits
    report = dc.check((x, y), "digits")
    assert report.ok, report.to_text()
    assert report.summaries["label"]["elements"] == len(y)
    assert report.stats["elements"] == len(y)


def test_message_names_batch_element_and_fix():
    x = np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32")
    x[37] *= 255
    report = dc.check({"image": x, "label": np.arange(64) % 10}, "mnist", batch_size=32)
    (violation,) = report.violations
    assert violation.code == "range"
    assert violation.where == "batch 1, element 5 (index 37)"
    assert "divide by 255" in violation.message
    assert violation.expected == "[0, 1]"


def test_class_balance_and_missing_classes(digits):
    x, y = digits
    keep = (y != 7) | (np.arange(len(y)) % 50 == 0)
    report = dc.check((x[keep], y[keep]), "digits")
    assert "class_balance" in report.codes()
    y2 = np.where(y == 9, 8, y)
    report = dc.check((x, y2), "digits")
    warning = next(v for v in report.violations if v.code == "num_classes")
    assert warning.severity == "warning" and "missing: 9" in warning.message


def test_zscore_moments_are_judged_on_the_dataset(rng):
    schema = dc.load_schema("mri3d")
    volumes = rng.normal(100.0, 20.0, size=(4, 8, 8, 8, 1)).astype("float32")
    report = dc.check((volumes, np.array([0, 1, 0, 1])), schema)
    assert "unnormalized" in report.codes()
    good = ((volumes - volumes.mean()) / volumes.std()).astype("float32")
    assert dc.check((good, np.array([0, 1, 0, 1])), schema).ok


def test_missing_feature_and_mismatched_lengths(rng):
    x = rng.random((10, 28, 28, 1)).astype("float32")
    report = dc.check({"image": x}, "mnist")
    assert report.codes() == ["missing_feature"]
    report = dc.check({"image": x, "label": np.arange(9)}, "mnist", batch_size=100)
    assert "shape" in report.codes()


def test_repeated_violations_are_capped_and_counted(rng):
    x = rng.random((320, 28, 28, 1)).astype("float32") * 255
    report = dc.check((x, np.arange(320) % 10), "mnist", batch_size=32)
    assert len(report.violations) == 3
    assert report.violations[0].extra["occurrences"] == 10


def test_data_that_is_not_an_array():
    with pytest.raises(dc.DataError, match="dtype=object"):
        dc.check(({"a": 1}, [1]), "mnist")
    with pytest.raises(dc.DataError, match="cannot check data of type"):
        dc.check(42, "mnist")


def test_npz_round_trip(tmp_path, digits):
    x, y = digits
    path = tmp_path / "digits.npz"
    np.savez(path, x, y)
    report = dc.check(str(path), "digits")
    assert report.ok and report.inputs == {str(path): "ok"}
    bad = tmp_path / "bad.npz"
    np.savez(bad, image=x * 16, label=y)
    report = dc.check([str(path), str(bad)], "digits")
    assert report.counts() == {"ok": 1, "violating": 1, "unreadable": 0, "total": 2,
                               "skipped": 0}
    assert all(str(bad) in v.where for v in report.violations)


def test_npz_with_pickled_objects_is_unreadable(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, image=np.array([{"x": 1}], dtype=object))
    report = dc.check(str(path), "digits")
    assert report.counts()["unreadable"] == 1
    assert "pickled" in report.violations[0].message
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    assert dc.check(str(junk), "digits").counts()["unreadable"] == 1


def test_report_json_round_trip(rng):
    x = rng.random((8, 28, 28, 1)).astype("float32") * 255
    report = dc.check((x, np.arange(8)), "mnist")
    again = dc.Report.from_json(report.to_json())
    assert [v.to_dict() for v in again.violations] == [v.to_dict() for v in report.violations]
    assert again.ok is False
