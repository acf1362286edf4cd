"""`empty`: zero elements pass every other rule, so zero elements is itself a violation."""

from __future__ import annotations

import numpy as np
import pytest

import datacheck as dc


def _allowing(name: str) -> dc.Schema:
    data = dc.load_schema(name).to_dict()
    data["allow_empty"] = True
    return dc.load_schema(data)


def test_zero_elements_of_arrays_is_empty_unless_allowed():
    x, y = np.zeros((0, 8, 8, 1), "float32"), np.zeros(0, "int64")
    report = dc.check((x, y), "digits")
    (v,) = report.violations
    assert v.code == "empty" and v.where == "dataset" and "allow_empty: true" in v.message
    assert report.inputs == {"<array>": "violating"}
    assert dc.check((x, y), _allowing("digits")).ok


def test_an_empty_npz_file_is_named_and_the_good_one_passes(tmp_path, digits):
    x, y = digits
    good, empty = tmp_path / "good.npz", tmp_path / "empty.npz"
    np.savez(good, image=x, label=y)
    np.savez(empty, image=x[:0], label=y[:0])
    report = dc.check([str(good), str(empty)], "digits")
    assert report.counts() == {"ok": 1, "violating": 1, "unreadable": 0, "total": 2,
                               "skipped": 0}
    (v,) = report.violations
    assert v.code == "empty" and v.where == str(empty)
    assert dc.check([str(good), str(empty)], _allowing("digits")).ok


def test_an_hdf5_file_with_zero_rows_is_empty(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "none.h5"
    with h5py.File(path, "w") as handle:
        handle["image"] = np.zeros((0, 8, 8, 1), "float32")
        handle["label"] = np.zeros(0, "int64")
    report = dc.check(str(path), "digits")
    assert report.codes() == ["empty"] and report.counts()["violating"] == 1


def test_unreadable_input_is_not_also_called_empty(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    assert dc.check(str(junk), "digits").codes() == ["unreadable"]


def test_an_empty_dataset_consumed_by_check_is_empty():
    tf = pytest.importorskip("tensorflow")
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((0, 8, 8, 1), "float32"),
                                             np.zeros(0, "int64"))).batch(4)
    assert dc.check(ds, "digits").codes() == ["empty"]


def test_allow_empty_round_trips_through_yaml():
    schema = _allowing("digits")
    assert "allow_empty: true" in schema.to_yaml()
    assert dc.load_schema(schema.to_dict()).allow_empty
