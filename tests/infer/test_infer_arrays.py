"""Schema inference from numpy data: the inferred schema passes on the data it came from."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_digits

import datacheck as dc
from datacheck.errors import DataError
from datacheck.infer import infer
from datacheck.infer.decide import _round_out
from datacheck.infer.sources import guess_layout, positional_names
from datacheck.schema.io import schema_from_text


@pytest.fixture(scope="module")
def raw_digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    return bunch.images, bunch.target


def test_digits_round_trip_unit(digits):
    x, y = digits
    schema = dc.infer_schema((x, y))
    image, label = schema.features["image"], schema.labels["label"]
    assert (image.layout, image.shape, image.dtype) == ("HWC", [8, 8, 1], "float32")
    assert image.normalization == "unit"
    assert (label.encoding, label.num_classes) == ("sparse", 10)
    assert 0 < label.min_class_fraction < 0.1
    report = dc.check((x, y), schema)
    assert report.ok and not report.violations, report.to_text()


def test_raw_integer_pixels_are_raw_uint8_with_a_note(raw_digits):
    x, y = raw_digits
    inference = infer((x[..., None], y))
    assert inference.schema.features["image"].normalization == "raw_uint8"
    assert any("max 16 < 128" in note for note in inference.notes["image"])
    assert dc.check((x[..., None], y), inference.schema).ok
    # The schema it wrote catches what it should: the same images scaled by 255.
    bad = dc.check((x[..., None] * 255, y), inference.schema)
    assert "range" in bad.codes()


def test_yaml_is_editable_and_loads_back(digits):
    x, y = digits
    text = infer((x, y)).to_yaml()
    assert text.startswith("# Inferred by datacheck")
    data = yaml.safe_load(text)
    assert data["features"]["image"]["layout"] == "HWC"
    data["features"]["image"]["normalization"] = "symmetric"
    edited = schema_from_text(yaml.safe_dump(data), origin="edited")
    report = dc.check((x * 2 - 1, y), edited)
    assert report.ok, report.to_text()


def test_dict_with_string_labels_and_flat_vectors(raw_digits):
    x, y = raw_digits
    data = {"pixels": x.reshape(len(x), -1) / 16.0, "digit": np.array([f"d{v}" for v in y])}
    schema = dc.infer_schema(data)
    assert schema.features["pixels"].shape == [64] and schema.features["pixels"].layout is None
    digit = schema.labels["digit"]
    assert digit.encoding == "string" and digit.classes == [f"d{i}" for i in range(10)]
    assert dc.check(data, schema).ok


def test_one_hot_labels_are_recognized(digits):
    x, y = digits
    onehot = np.eye(10, dtype="float32")[y]
    schema = dc.infer_schema((x, onehot))
    assert schema.labels["label"].encoding == "one_hot"
    assert schema.labels["label"].num_classes == 10
    assert dc.check((x, onehot), schema).ok


def test_label_ids_not_starting_at_zero_are_listed(digits):
    x, y = digits
    ids = (y * 10 + 100)[:500]
    inference = infer((x[:500], ids))
    label = inference.schema.labels["label"]
    assert label.classes == list(range(100, 200, 10))
    assert any("not 0..n-1" in n for n in inference.notes["label"])
    assert dc.check((x[:500], ids), inference.schema).ok
    assert "label_range" in dc.check((x[:10], np.full(10, 5)), inference.schema).codes()


def test_varying_sizes_become_wildcards(rng):
    batches = {"image": np.concatenate([rng.random((32, 20, 30, 3)), rng.random((32, 20, 30, 3))])}
    schema = dc.infer_schema(batches)
    assert schema.features["image"].shape == [20, 30, 3]
    # Sizes that vary between elements cannot live in one array; between files they can.
    a = rng.random((10, 16, 16, 1)).astype("float32")
    b = rng.random((10, 24, 16, 1)).astype("float32")
    from datacheck.infer.observe import Observation
    from datacheck.infer.schema import from_observations

    seen = {"image": Observation.of(a, 0).merge(Observation.of(b, 1))}
    inferred = from_observations(seen, ["image"], set(), "two files", None, 2).schema
    assert inferred.features["image"].shape == [None, 16, 1]
    assert inferred.features["image"].layout == "HWC"


def test_channels_first_and_zscore(rng):
    x = rng.standard_normal((256, 3, 16, 16)).astype("float32")
    x = (x - x.mean()) / x.std()
    schema = dc.infer_schema({"image": x})
    feature = schema.features["image"]
    assert feature.layout == "CHW" and feature.normalization == "zscore"
    assert dc.check({"image": x}, schema).ok
    assert "unnormalized" in dc.check({"image": x * 3 + 2}, schema).codes()


def test_other_ranges_are_rounded_outward(rng):
    x = (rng.random((64, 8, 8)) * 3071.3 - 1024.17).astype("float64")
    feature = dc.infer_schema({"ct": x}).features["ct"]
    lo, hi = feature.range
    assert lo <= x.min() and hi >= x.max()
    assert hi - lo < (x.max() - x.min()) * 1.01
    assert _round_out(3071.2, down=False) == 3072.0
    assert _round_out(-0.123456, down=True) == -0.1235


def test_nan_values_make_finite_false_with_a_warning(digits):
    x, y = digits
    x = x.copy()
    x[5, 2, 2, 0] = np.nan
    inference = infer((x, y))
    assert inference.schema.features["image"].finite is False
    assert inference.schema.features["image"].normalization is None
    assert any("NaN/Inf" in n and "finite: true" in n for n in inference.notes["image"])
    assert dc.check((x, y), inference.schema).ok


def test_constant_batches_turn_off_not_constant(digits):
    x, y = digits
    x = x.copy()
    x[:32] = 0.0  # a blank first batch
    schema = dc.infer_schema((x, y))
    assert schema.features["image"].not_constant is False
    assert dc.check((x, y), schema).ok


def test_labels_argument_overrides_the_guess(digits):
    x, y = digits
    schema = dc.infer_schema({"image": x, "quality": y}, labels=["quality"])
    assert list(schema.labels) == ["quality"]
    with pytest.raises(DataError, match=r"labels=\['nope'\] are not in the data"):
        dc.infer_schema({"image": x}, labels=["nope"])


def test_positional_names_and_layout_guesses():
    assert guess_layout([32, 32, 3]) == "HWC"
    assert guess_layout([1, 28, 28]) == "CHW"
    assert guess_layout([33, 41, 25]) == "DHW"
    assert guess_layout([64, 64, 32, 1]) == "DHWC"
    assert guess_layout([17, 21, 3, 20]) is None
    parts = [np.zeros((4, 8, 8, 3)), np.zeros((4, 16, 16, 1)), np.arange(4)]
    assert positional_names(parts) == ["image", "image_2", "label"]
    # A label-looking part before a feature stays a feature: tuples bind features first.
    assert positional_names([np.zeros((4, 8, 8)), np.arange(4), np.zeros((4, 8, 8))]) == [
        "image", "x", "image_2"]


def test_npz_positional_keys_round_trip(tmp_path, digits):
    x, y = digits
    path = tmp_path / "digits.npz"
    np.savez(path, x, y)
    schema = dc.infer_schema(path)
    assert schema.name == "digits" and set(schema.names()) == {"image", "label"}
    assert dc.check(path, schema).ok


def test_bad_inputs_raise_one_clear_line(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        dc.infer_schema(tmp_path / "missing.npz")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"no reader for '\.txt'"):
        dc.infer_schema(tmp_path / "notes.txt")
    with pytest.raises(DataError, match="holds no files datacheck can read"):
        dc.infer_schema(tmp_path)
    with pytest.raises(DataError, match="cannot read data of type"):
        dc.infer_schema(object())
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        dc.infer_schema(tmp_path / "broken.npz")
