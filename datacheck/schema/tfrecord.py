"""The ``tfrecord:`` schema section: which Example keys hold each feature and label, and how.

>>> TFRecordSpec(features={"image": {"key": "image/encoded", "encoding": "image"}}).features[
...     "image"].encoding
'image'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TFRecordFeature(_Strict):
    """One schema name read from one ``tf.train.Example`` key."""

    key: str = Field(description="The Example feature key, e.g. image/encoded.")
    encoding: Literal["image", "raw", "int64", "float"] = Field(
        "int64", description="image: PNG/JPEG/BMP/GIF bytes; raw: tensor bytes (dtype, shape); "
        "int64 / float: the Example's own lists.")
    dtype: str = Field("uint8", description="raw: the dtype of the bytes.")
    shape: list[int] | None = Field(None, description="raw, int64, float: the element shape "
                                    "(default: the values as a flat vector; one value: scalar).")

    @model_validator(mode="after")
    def _raw_needs_shape(self) -> TFRecordFeature:
        if self.encoding == "raw" and self.shape is None:
            raise ValueError(f"{self.key}: encoding raw needs a shape (the bytes hold no shape)")
        return self


class TFRecordSpec(_Strict):
    """``tfrecord: {features: {image: {key: image/encoded, encoding: image}, label: {...}}}``."""

    features: dict[str, TFRecordFeature] = Field(
        description="Schema feature or label name -> the Example key and encoding it is read "
        "from.")
