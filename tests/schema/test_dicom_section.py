"""The dicom: schema section: values normalised, junk refused with one clear line."""

from __future__ import annotations

import pytest

from datacheck.errors import SchemaError
from datacheck.schema.io import load_schema


def test_values_are_normalised():
    schema = load_schema({"name": "ct", "features": {"volume": {}},
                          "dicom": {"modality": "ct", "photometric": ["monochrome2"],
                                    "orientation": "lps", "spacing": [0.5, 0.5, 2]}})
    assert schema.dicom is not None
    assert (schema.dicom.modality, schema.dicom.photometric, schema.dicom.orientation) == (
        ["CT"], ["MONOCHROME2"], "LPS")
    assert schema.dicom.rescale == "apply" and schema.dicom.slice_tolerance == 0.05


@pytest.mark.parametrize(("key", "value", "message"), [
    ("modality", False, "dicom.modality: needs a name or a list of names"),
    ("modality", [1], "dicom.modality: needs a name or a list of names"),
    ("photometric", [], "dicom.photometric: needs a name or a list of names"),
    ("orientation", "XYZ", "dicom.orientation: orientation 'XYZ' must be 3 axis codes"),
    ("spacing", [1, 2], "dicom.spacing: spacing needs 3 positive sizes"),
    ("rescale", "x", "dicom.rescale"),
    ("feature", "nope", "dicom.feature 'nope' is not a feature"),
])
def test_junk_is_one_schema_error(key, value, message):
    with pytest.raises(SchemaError) as info:
        load_schema({"name": "ct", "features": {"volume": {}}, "dicom": {key: value}})
    assert message in str(info.value).splitlines()[0]


def test_a_dicom_section_alone_is_a_schema():
    assert load_schema({"name": "ct", "dicom": {"modality": "MR"}}).dicom is not None
