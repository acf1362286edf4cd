"""Segmentation label maps (encoding: label_map): judged per pixel, shaped like their image."""

from __future__ import annotations

import numpy as np
import pytest

import datacheck as dc
from datacheck.errors import SchemaError


def _schema(**mask) -> dc.Schema:
    mask = {"encoding": "label_map", "classes": [0, 1, 2], "layout": "HW", "dtype": "integer",
            **mask}
    return dc.load_schema({
        "name": "seg",
        "features": {"image": {"layout": "HWC", "shape": [None, None, 1],
                               "normalization": "unit"}},
        "labels": {"mask": mask}})


def _data(n: int = 24, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Digit-like images and masks: background 0, a square of class 1, a bar of class 2."""
    rng = np.random.default_rng(0)
    images = rng.random((n, size, size, 1)).astype("float32")
    masks = np.zeros((n, size, size), "int64")
    for i in range(n):
        r, c = rng.integers(0, size - 6, 2)
        masks[i, r:r + 5, c:c + 5] = 1
        masks[i, i % size, :3] = 2
    return images, masks


def test_valid_label_maps_pass_and_report_class_frequencies_per_pixel():
    x, y = _data()
    report = dc.check({"image": x, "mask": y}, _schema(), batch_size=8)
    assert report.ok, report.to_text()
    uniq, counts = np.unique(y, return_counts=True)
    assert report.summaries["mask"]["histogram"] == {str(u): int(c)
                                                     for u, c in zip(uniq, counts, strict=True)}


def test_a_per_pixel_label_is_not_told_to_reshape():
    x, y = _data()
    sparse = dc.load_schema({"features": {"image": {"layout": "HWC"}},
                             "labels": {"mask": {"encoding": "sparse", "num_classes": 3}}})
    assert "tf.reshape(y, [-1])" in dc.check({"image": x, "mask": y}, sparse).violations[0].message
    report = dc.check({"image": x, "mask": y}, _schema())
    assert report.ok and "reshape" not in report.to_text()


def test_a_pixel_outside_the_class_set_is_found_by_element():
    x, y = _data()
    y[13, 4, 4] = 5
    report = dc.check({"image": x, "mask": y}, _schema(), batch_size=8)
    (v,) = report.errors
    assert v.code == "label_range" and v.where == "batch 1, element 5 (index 13)"
    assert v.extra["indices"] == [13]


def test_spatial_shape_must_equal_the_image():
    x, y = _data()
    report = dc.check({"image": x, "mask": y[:, :15]}, _schema())
    (v,) = report.errors
    assert v.code == "shape" and v.feature == "mask"
    assert "(15, 16)" in v.message and "(16, 16)" in v.message
    assert "method='nearest'" in v.message


def test_one_hot_masks_and_fractional_masks_are_named():
    x, y = _data()
    one_hot = np.eye(3, dtype="int64")[y]
    (v,) = dc.check({"image": x, "mask": one_hot}, _schema(layout="HWC")).errors
    assert v.code == "shape" and "tf.argmax(y, -1)" in v.message
    soft = y.astype("float32") / 2
    (v,) = dc.check({"image": x, "mask": soft}, _schema(dtype="floating")).errors
    assert v.code == "label_encoding"


def test_all_background_is_fine_by_default_and_empty_mask_when_opted_in():
    x, y = _data()
    y[5] = 0
    assert dc.check({"image": x, "mask": y}, _schema()).ok
    report = dc.check({"image": x, "mask": y}, _schema(min_foreground_fraction=0.01),
                      batch_size=8)
    (v,) = report.errors
    assert v.code == "empty_mask" and v.where == "batch 0, element 5"
    assert v.extra["indices"] == [5]


@pytest.mark.parametrize(("mask", "needle"), [
    ({"encoding": "label_map"}, "needs classes or num_classes"),
    ({"encoding": "sparse", "num_classes": 3, "layout": "HW"}, "label_map only"),
    ({"encoding": "label_map", "num_classes": 3, "image": "nope"}, "is not a feature"),
    ({"encoding": "label_map", "num_classes": 3, "shuffle_window": 3}, "shuffle_window"),
    ({"encoding": "label_map", "num_classes": 3, "layout": "CHW"}, "label map layout"),
    ({"encoding": "label_map", "num_classes": 1}, "num_classes >= 2"),
])
def test_label_map_schemas_that_cannot_work_are_refused(mask, needle):
    with pytest.raises(SchemaError, match=needle):
        dc.load_schema({"features": {"image": {"layout": "HWC"}}, "labels": {"mask": mask}})


tf = pytest.importorskip("tensorflow")


def _ds(x, y, batch=8):
    return tf.data.Dataset.from_tensor_slices({"image": x, "mask": y}).batch(batch)


def test_graph_finds_the_same_label_map_faults(tmp_path):
    x, y = _data()
    assert len(list(dc.validate(_ds(x, y), _schema()))) == 3
    bad = y.copy()
    bad[13, 4, 4] = 5
    with pytest.raises(dc.ValidationError) as info:
        for _ in dc.validate(_ds(x, bad), _schema()):
            pass
    (v,) = info.value.violations
    assert v.code == "label_range" and v.where == "batch 1, element 5 (index 13)"
    with pytest.raises(dc.ValidationError) as info:
        for _ in dc.validate(_ds(x, y[:, :15]), _schema()):
            pass
    assert info.value.violations[0].code == "shape"
    assert "(15, 16)" in info.value.violations[0].message
    empty = y.copy()
    empty[[5, 17]] = 0
    validated = dc.validate(_ds(x, empty), _schema(min_foreground_fraction=0.01),
                            on_error="drop", log=str(tmp_path / "drop.log"))
    kept = sum(len(b["image"]) for b in validated.as_numpy_iterator())
    assert validated.report().stats["dropped_indices"] == [5, 17] and kept == 22
