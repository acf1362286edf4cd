import pytest

import datacheck as dc
from datacheck.errors import SchemaError
from datacheck.schema.io import schema_from_text


def load(text: str) -> dc.Schema:
    return schema_from_text(text, origin="test.yaml")


def test_bundled_schemas_load_by_name():
    from datacheck.schema import bundled_names

    names = bundled_names()
    assert {"mnist", "cifar10", "mri3d"} <= set(names)
    for name in names:
        schema = dc.load_schema(name)
        assert schema.name == name
        assert schema.features or schema.labels


def test_cifar10_declares_layout_channels_and_normalization():
    schema = dc.load_schema("cifar10")
    image = schema.features["image"]
    assert image.layout == "HWC" and image.expected_channels == 3
    assert image.value_range() == (0.0, 1.0)
    assert schema.labels["label"].n_classes == 10


def test_layout_with_batch_axis_is_normalized():
    assert dc.Feature(layout="NCDHW").layout == "CDHW"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("features: {image: {rnage: [0, 1]}}", "did you mean 'range'"),
        ("features: {image: {layout: NHCW}}", "unknown layout"),
        ("features: {image: {range: [1, 0]}}", "empty interval"),
        ("features: {image: {dtype: flaot32}}", "did you mean 'float32'"),
        ("features: {image: {normalization: unit, range: [0, 255]}}", "contradicts"),
        ("features: {image: {layout: HWC, shape: [32, 32]}}", "disagree"),
        ("features: {image: {layout: HWC, channels: 3, shape: [32, 32, 1]}}", "channels=3"),
        ("labels: {y: {encoding: one_hot}}", "needs num_classes"),
        ("labels: {y: {num_classes: 10, min_class_fraction: 0.2}}", "impossible"),
        ("labels: {y: {num_classes: 3, classes: [a, b]}}", "num_classes=3"),
        ("labels: {y: {encodng: sparse}}", "did you mean 'encoding'"),
        ("featurs: {}", "did you mean 'features'"),
        ("{}", "at least one"),
        ("features: {image: {shape: [-3, 2]}}", ">= 0"),
        ("features: {image: {rank: many}}", "rank"),
        # Schemas that would switch a rule off are refused at load.
        ("features: {image: {range: [0, .nan]}}", "NaN or infinite bound"),
        ("features: {image: {range: [.nan, 1]}}", "NaN or infinite bound"),
        ("features: {image: {range: [-.inf, .inf]}}", "NaN or infinite bound"),
        ("features: {image: {range: [0, .inf]}}", "NaN or infinite bound"),
        ("labels: {y: {classes: []}}", "classes is empty"),
        ("labels: {y: {encoding: string, classes: []}}", "classes is empty"),
        ("labels: {y: {num_classes: 1}}", "num_classes >= 2"),
        ("labels: {y: {encoding: sparse, classes: [7]}}", "num_classes >= 2"),
    ],
)
def test_bad_schemas_give_one_clear_line(text, needle):
    with pytest.raises(SchemaError) as info:
        load(text)
    message = str(info.value)
    assert needle in message
    assert message.startswith("test.yaml")
    assert "\n" not in message


def test_malformed_yaml_names_the_line():
    with pytest.raises(SchemaError, match=r"malformed YAML at line 2"):
        load("features:\n  image: {range: [0, 1}\n")


def test_yaml_that_is_not_a_mapping():
    with pytest.raises(SchemaError, match="must be a mapping"):
        load("- a\n- b\n")


def test_yaml_uses_safe_load_only():
    with pytest.raises(SchemaError):
        load("features: !!python/object/apply:os.system ['echo hacked']\n")


def test_schema_round_trips_through_yaml():
    schema = dc.load_schema("mri3d")
    again = load(schema.to_yaml())
    assert again == schema


def test_wildcards_in_shape():
    feature = dc.Feature(layout="DHWC", shape=["*", None, -1, 1])
    assert feature.shape == [None, None, None, 1]


def test_unknown_bundled_name_suggests(tmp_path):
    with pytest.raises(SchemaError, match="Did you mean 'cifar10'"):
        dc.load_schema("cifar")
    with pytest.raises(SchemaError, match="does not exist"):
        dc.load_schema(tmp_path / "nope.yaml")


def test_json_schema_describes_features_and_labels():
    from datacheck.schema import json_schema

    doc = json_schema()
    assert "Feature" in doc["$defs"] and "Label" in doc["$defs"]
    assert doc["$defs"]["Feature"]["additionalProperties"] is False
    assert "layout" in doc["$defs"]["Feature"]["properties"]


def test_schema_from_json_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"name": "j", "labels": {"y": {"num_classes": 2}}}')
    assert dc.load_schema(path).labels["y"].n_classes == 2
    path.write_text('{"name": ')
    with pytest.raises(SchemaError, match="invalid JSON"):
        dc.load_schema(path)


def test_typo_suggestions_inside_sections():
    with pytest.raises(SchemaError, match="did you mean 'orientation'"):
        load("features: {volume: {layout: DHW}}\nnifti: {orientaton: RAS}\n")
    with pytest.raises(SchemaError, match="did you mean 'js_divergence'"):
        load("features: {image: {rank: 2}}\ndrift: {js_divergense: 0.1}\n")
