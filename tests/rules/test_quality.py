"""Per-image quality rules on real images: planted faults found by index, clean data quiet.

Digits (scikit-learn's 8x8 scans) and tiles of its two sample photos; the
numpy backend (``check``) and the graph (``validate``) must name the same elements.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.ndimage import gaussian_filter

import datacheck as dc
from datacheck.report.violation import CODES
from datacheck.schema.model import Feature, Label, Schema
from datacheck.schema.quality import QualitySpec

QUALITY = ("dark", "bright", "low_information", "blurry", "saturated")


def _schema(**quality: object) -> Schema:
    return Schema(name="dq", features={"image": Feature(
        layout="HWC", normalization="unit", quality=QualitySpec(**quality))},
        labels={"label": Label(num_classes=10)})


@pytest.fixture(scope="module")
def tiles() -> np.ndarray:
    """96x96 tiles (stride 48) of china.jpg and flower.jpg in [0, 1]."""
    from sklearn.datasets import load_sample_images

    out = [image[i:i + 96, j:j + 96] for image in load_sample_images().images
           for i in range(0, image.shape[0] - 95, 48) for j in range(0, image.shape[1] - 95, 48)]
    return (np.stack(out) / 255.0).astype(np.float32)


def _planted(digits: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    x, y = digits
    x = x[:400].copy()
    x[7] *= 0.05  # dark
    x[50] = 0.3  # blank
    x[123] = gaussian_filter(x[123], sigma=(2, 2, 0))  # blurred
    x[300] = 1.0 - (1.0 - x[300]) * 0.005  # washed out
    return x, y[:400]


def test_codes_are_registered() -> None:
    assert set(QUALITY) <= CODES


def test_planted_digits_are_found_by_index(digits) -> None:
    x, y = _planted(digits)
    report = dc.check((x, y), _schema(), batch_size=64)
    found = {v.code: v.extra["indices"] for v in report.violations if v.code in QUALITY}
    # A washed-out image is nearly one grey level: low information as well as bright.
    assert found == {"dark": [7], "low_information": [50, 300], "blurry": [123],
                     "bright": [300]}
    assert "constant" in report.codes()  # the blank one is also constant
    blurry = next(v for v in report.violations if v.code == "blurry")
    assert "dataset median" in blurry.message and "element 59 (index 123)" in blurry.message
    dark = next(v for v in report.violations if v.code == "dark")
    assert dark.message.startswith("image: dark: ") and "quality.dark" in dark.message
    assert dark.extra["elements"] == 1


def test_clean_digits_and_photo_tiles_stay_quiet(digits, tiles) -> None:
    report = dc.check(digits, _schema(), batch_size=128)
    assert report.ok, report.to_text()
    photos = Schema(name="photos", features={"image": Feature(
        layout="HWC", normalization="unit", quality=QualitySpec())})
    report = dc.check({"image": tiles}, photos, batch_size=64)
    found = [v for v in report.violations if v.code in QUALITY]
    # At most 1% of the 168 clean tiles: one bokeh background tile may be called blurry.
    assert sum(v.extra["elements"] for v in found) <= 1, report.to_text()


def test_saturated_photo_tile_found(tiles) -> None:
    x = tiles.copy()
    bright_tile = int(np.argmax(x.reshape(len(x), -1).mean(axis=1) * (x.std(axis=(1, 2, 3)) > .1)))
    x[bright_tile] = np.clip(x[bright_tile] * 4, 0, 1)
    photos = Schema(name="photos", features={"image": Feature(
        layout="HWC", normalization="unit", quality=QualitySpec())})
    report = dc.check({"image": x}, photos, batch_size=64)
    saturated = [v for v in report.violations if v.code == "saturated"]
    assert [v.extra["indices"] for v in saturated] == [[bright_tile]]


def test_thresholds_switch_rules_off_and_no_section_means_no_rules(digits) -> None:
    x, y = _planted(digits)
    quiet = _schema(dark=None, low_information=None, blurry=None, bright=None)
    assert not set(dc.check((x, y), quiet).codes()) & set(QUALITY)
    plain = Schema(name="plain", features={"image": Feature(layout="HWC", normalization="unit")},
                   labels={"label": Label(num_classes=10)})
    assert not set(dc.check((x, y), plain).codes()) & set(QUALITY)


def test_uint8_pixels_are_scaled_by_the_declared_range(digits) -> None:
    x, _ = _planted(digits)
    raw = (x * 255).round().astype(np.uint8)
    schema = Schema(name="raw", features={"image": Feature(
        layout="HWC", normalization="raw_uint8", quality=QualitySpec(bright=None))})
    report = dc.check({"image": raw}, schema)
    found = {v.code: v.extra["indices"] for v in report.violations if v.code in QUALITY}
    assert found == {"dark": [7], "low_information": [50, 300], "blurry": [123]}


@pytest.mark.parametrize(("feature", "needle"), [
    ({"layout": "HWC"}, "needs the pixel range"),
    ({"layout": "DHWC", "normalization": "unit"}, "2D images"),
    ({"rank": 4, "normalization": "unit"}, "rank 4"),
])
def test_schema_refuses_quality_it_cannot_judge(feature, needle) -> None:
    with pytest.raises(ValidationError, match=needle):
        Feature(quality=QualitySpec(), **feature)


def test_graph_drops_exactly_the_bad_images(digits) -> None:
    tf = pytest.importorskip("tensorflow")
    x, y = _planted(digits)
    # In graph blurry is absolute: declare it from the clean digits' sharpness (~7.6 median).
    schema = _schema(blurry_below=0.5)
    ds = tf.data.Dataset.from_tensor_slices({"image": x, "label": y}).batch(64)
    kept = np.concatenate([b["image"].numpy() for b in dc.validate(ds, schema, on_error="drop")])
    assert len(kept) == len(x) - 4  # dark, blank, blurred (absolute), washed out
    bad = [7, 50, 123, 300]
    np.testing.assert_array_equal(kept, np.delete(x, bad, axis=0))
    with pytest.raises(dc.ValidationError) as info:
        for _ in dc.validate(ds, schema, on_error="raise"):
            pass
    codes = {v.code for v in info.value.violations}
    assert {"dark", "low_information"} <= codes
    ids = [(v.code, v.where) for v in info.value.violations if v.code in QUALITY]
    assert ("dark", "batch 0, element 7") in ids


def test_graph_and_numpy_statistics_agree(digits, tiles) -> None:
    tf = pytest.importorskip("tensorflow")
    from datacheck.backends.numpy.quality import image_stats as np_stats
    from datacheck.backends.tf.quality import image_stats as tf_stats

    rgba = np.concatenate([tiles[:5], np.ones_like(tiles[:5, ..., :1])], axis=-1)
    for batch in (digits[0][:50], tiles[:20], rgba):
        eager = np_stats(batch, 0.0, 1.0, 2, 0.02)
        graph = tf.function(lambda b: tf_stats(b, 0.0, 1.0, 2, 0.02))(tf.constant(batch))
        for key, values in eager.items():
            np.testing.assert_allclose(graph[key].numpy(), values, rtol=1e-4, atol=1e-6,
                                       err_msg=key)


def test_alpha_is_not_light(tiles) -> None:
    """An opaque RGBA tile is judged on its colours: alpha at 255 is not 'saturated'."""
    from datacheck.backends.numpy.quality import image_stats

    rgba = np.concatenate([tiles[:20], np.ones_like(tiles[:20, ..., :1])], axis=-1)
    np.testing.assert_allclose(image_stats(rgba, 0.0, 1.0, 2, 0.02)["saturated"],
                               image_stats(tiles[:20], 0.0, 1.0, 2, 0.02)["saturated"])
