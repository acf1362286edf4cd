"""The schema model: what the data is expected to be (pydantic, round-trips to YAML).

A schema names tensor ``features`` (images, volumes) and ``labels``. Data
given as a tuple maps onto features first, then labels, in declaration order.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datacheck.schema.dicom import DicomSpec
from datacheck.schema.drift import DriftConfig
from datacheck.schema.dtypes import check_dtypes
from datacheck.schema.layout import channel_axis, parse_layout
from datacheck.schema.medical import HDF5Spec, ManifestSpec, NiftiSpec, PairSpec, check_references
from datacheck.schema.quality import ImageFolderSpec, QualitySpec
from datacheck.schema.tfrecord import TFRecordSpec

Dim = int | None
Normalization = Literal["raw_uint8", "unit", "symmetric", "zscore"]
Encoding = Literal["sparse", "one_hot", "multi_hot", "string", "label_map"]
#: Spatial layouts a label map (one class id per pixel/voxel) may have; C must be 1.
LABEL_MAP_LAYOUTS = ("HW", "HWC", "DHW", "DHWC", "W", "WC")

#: Value range implied by each declared normalization state.
NORMALIZATION_RANGES: dict[str, tuple[float, float] | None] = {
    "raw_uint8": (0.0, 255.0),
    "unit": (0.0, 1.0),
    "symmetric": (-1.0, 1.0),
    "zscore": None,
}

#: dtype names accepted in schemas, plus kinds that match a family of dtypes.
#: Most classes a label may declare (extreme classification stays below this).
MAX_CLASSES = 1_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Feature(_Strict):
    """A tensor feature (image, volume) of one element, without the batch axis.

    >>> Feature(layout="HWC", shape=[32, 32, 3], dtype="float32", normalization="unit").element_rank
    3
    """

    layout: str | None = Field(None, description="Axis meaning, e.g. HWC, CHW, DHWC, NHWC.")
    shape: list[Dim] | None = Field(
        None, description="Element shape without the batch axis; null is a wildcard."
    )
    rank: int | None = Field(None, ge=0, le=8, description="Element rank (without batch).")
    channels: int | None = Field(None, ge=1, description="Size of the C axis of the layout.")
    dtype: str | list[str] | None = Field(
        None, description="Allowed dtype names or kinds (floating, integer, ...)."
    )
    range: Annotated[list[float], Field(min_length=2, max_length=2)] | None = Field(
        None, description="Inclusive [min, max] every value must lie in."
    )
    normalization: Normalization | None = Field(
        None, description="Declared state: raw_uint8 (0-255), unit [0,1], symmetric [-1,1], zscore."
    )
    mean: float | None = Field(None, description="Expected dataset mean (zscore: 0).")
    std: float | None = Field(None, gt=0, description="Expected dataset std (zscore: 1).")
    tolerance: float = Field(0.1, gt=0, description="Absolute tolerance for mean and std.")
    finite: bool = Field(True, description="No NaN or Inf anywhere.")
    not_constant: bool = Field(True, description="A batch whose values are all equal is a bug.")
    optional: bool = Field(False, description="The feature may be absent.")
    quality: QualitySpec | None = Field(
        None, description="Per-image quality rules (dark, bright, low_information, blurry, "
        "saturated); off unless given.")

    @field_validator("shape", mode="before")
    @classmethod
    def _wildcards(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [None if d in ("*", "?", None, -1) else d for d in value]
        return value

    @field_validator("shape")
    @classmethod
    def _positive_dims(cls, value: list[Dim] | None) -> list[Dim] | None:
        for dim in value or []:
            if dim is not None and dim < 0:
                raise ValueError(f"shape dimensions must be >= 0 or null (wildcard), got {dim}")
        return value

    @field_validator("layout")
    @classmethod
    def _layout(cls, value: str | None) -> str | None:
        return None if value is None else parse_layout(value)

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, value: str | list[str] | None) -> str | list[str] | None:
        check_dtypes(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Feature:
        # A NaN bound makes every comparison false and an infinite one admits everything:
        # either way the range rule would be switched off without a word.
        if self.range is not None and not all(math.isfinite(b) for b in self.range):
            raise ValueError(
                f"range {self.range} has a NaN or infinite bound, which switches the range "
                "check off; write finite [min, max] bounds or drop range"
            )
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(
                f"range {self.range} defines an empty interval (min > max); write [min, max]"
            )
        ranks = {}
        if self.layout is not None:
            ranks["layout"] = len(self.layout)
        if self.shape is not None:
            ranks["shape"] = len(self.shape)
        if self.rank is not None:
            ranks["rank"] = self.rank
        if len(set(ranks.values())) > 1:
            raise ValueError(f"layout, shape and rank disagree on the element rank: {ranks}")
        if self.channels is not None and self.layout is not None:
            axis = channel_axis(self.layout)
            if axis is None:
                raise ValueError(f"channels given but layout {self.layout!r} has no C axis")
            if self.shape is not None and self.shape[axis] not in (None, self.channels):
                raise ValueError(
                    f"channels={self.channels} but shape {self.shape} has "
                    f"{self.shape[axis]} on the C axis"
                )
        implied = NORMALIZATION_RANGES.get(self.normalization or "")
        if implied is not None and self.range is not None:
            lo, hi = self.range
            if lo < implied[0] or hi > implied[1]:
                raise ValueError(
                    f"range {self.range} contradicts normalization {self.normalization!r} "
                    f"(implies {list(implied)}); drop one of them"
                )
        if self.quality is not None:
            self._quality_applies()
        return self

    def _quality_applies(self) -> None:
        if self.value_range() is None:
            raise ValueError("quality: needs the pixel range to scale intensities; declare "
                             "normalization (raw_uint8, unit, symmetric) or range")
        rank = self.element_rank
        if rank is not None and rank not in (2, 3):
            raise ValueError(f"quality: judges 2D images (HW, HWC or CHW); this feature has "
                             f"rank {rank}")
        if self.layout is not None and self.layout not in ("HW", "HWC", "CHW"):
            raise ValueError(f"quality: judges 2D images (HW, HWC or CHW), not layout "
                             f"{self.layout!r}")

    @property
    def element_rank(self) -> int | None:
        if self.layout is not None:
            return len(self.layout)
        if self.shape is not None:
            return len(self.shape)
        return self.rank

    @property
    def expected_channels(self) -> int | None:
        if self.channels is not None:
            return self.channels
        if self.layout is not None and self.shape is not None:
            axis = channel_axis(self.layout)
            if axis is not None:
                return self.shape[axis]
        return None

    def value_range(self) -> tuple[float, float] | None:
        """The range every value must lie in: declared, else implied by normalization."""
        if self.range is not None:
            return float(self.range[0]), float(self.range[1])
        return NORMALIZATION_RANGES.get(self.normalization or "")

    def expected_moments(self) -> tuple[float | None, float | None]:
        if self.normalization == "zscore":
            return (0.0 if self.mean is None else self.mean, 1.0 if self.std is None else self.std)
        return self.mean, self.std

    def dtypes(self) -> list[str] | None:
        return check_dtypes(self.dtype)


class Label(_Strict):
    """A label feature.

    >>> Label(encoding="sparse", num_classes=10).encoding
    'sparse'
    """

    encoding: Encoding = Field(
        "sparse", description="sparse ints, one_hot, multi_hot, string, or label_map (one class "
        "id per pixel/voxel, for segmentation).")
    # Rules walk the class domain (missing classes, balance): bound it like any other size.
    num_classes: int | None = Field(None, ge=1, le=MAX_CLASSES, description="Number of classes.")
    classes: list[int | str] | None = Field(
        None, description="Allowed label values (ints or strings); names the classes."
    )
    dtype: str | list[str] | None = Field(None, description="Allowed dtype names or kinds.")
    min_class_fraction: float | None = Field(
        None, ge=0, le=1, description="Every class must make up at least this fraction."
    )
    shuffle_window: int | None = Field(
        None, ge=2,
        description="This many consecutive batches holding one single class is 'unshuffled'.",
    )
    optional: bool = Field(False, description="The label may be absent.")
    layout: str | None = Field(
        None, description="label_map: spatial layout (HW, HWC, DHW, DHWC; C must be 1).")
    image: str | None = Field(
        None, description="label_map: the feature whose spatial shape it must match "
        "(default: the first feature).")
    background: int = Field(0, description="label_map: the background class id.")
    min_foreground_fraction: float | None = Field(
        None, ge=0, le=1, description="label_map: every element needs at least this fraction "
        "of non-background pixels (opt-in; an all-background mask is not an error by default).")

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, value: str | list[str] | None) -> str | list[str] | None:
        check_dtypes(value)
        return value

    @field_validator("layout")
    @classmethod
    def _layout(cls, value: str | None) -> str | None:
        if value is None:
            return None
        layout = parse_layout(value)
        if layout not in LABEL_MAP_LAYOUTS:
            raise ValueError(f"label map layout {value!r}: use one of "
                             f"{', '.join(LABEL_MAP_LAYOUTS)} (class ids, at most a C of 1)")
        return layout

    @model_validator(mode="after")
    def _label_map(self) -> Label:
        if self.encoding != "label_map":
            used = [k for k in ("layout", "image", "min_foreground_fraction")
                    if getattr(self, k) is not None]
            if used:
                raise ValueError(f"{', '.join(used)} apply to encoding: label_map only")
            return self
        if self.n_classes is None:
            raise ValueError("encoding 'label_map' needs classes or num_classes")
        if self.shuffle_window is not None:
            raise ValueError("shuffle_window does not apply to label maps (every mask holds "
                             "several classes); drop it")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Label:
        if self.classes is not None and not self.classes:
            raise ValueError("classes is empty, which would accept no label (or switch the check "
                             "off); list the class values or drop classes")
        if self.encoding in ("sparse", "label_map") and self.n_classes is not None \
                and self.n_classes < 2:
            raise ValueError(
                f"sparse labels with {self.n_classes} class are a constant; a classifier "
                "needs num_classes >= 2 (binary: num_classes: 2)"
            )
        if self.classes is not None:
            if len(set(map(str, self.classes))) != len(self.classes):
                raise ValueError(f"classes has duplicates: {self.classes}")
            if self.num_classes is not None and len(self.classes) != self.num_classes:
                raise ValueError(
                    f"num_classes={self.num_classes} but {len(self.classes)} classes are listed"
                )
        if self.encoding in ("one_hot", "multi_hot") and self.num_classes is None \
                and self.classes is None:
            raise ValueError(f"encoding {self.encoding!r} needs num_classes")
        if self.encoding == "one_hot" and self.n_classes == 1:
            raise ValueError("one_hot with a single class is a constant; use encoding: sparse "
                             "with num_classes: 2 (or a sigmoid head) for a binary label")
        if self.min_class_fraction is not None and self.n_classes is not None \
                and self.min_class_fraction * self.n_classes > 1:
            raise ValueError(
                f"min_class_fraction={self.min_class_fraction} with {self.n_classes} classes "
                "is impossible (fractions would sum past 1)"
            )
        return self

    @property
    def n_classes(self) -> int | None:
        if self.num_classes is not None:
            return self.num_classes
        return len(self.classes) if self.classes is not None else None

    def integer_classes(self) -> list[int] | None:
        """Allowed integer values when the classes are not simply 0..n-1."""
        if self.classes is None or not all(isinstance(c, int) for c in self.classes):
            return None
        values = [int(c) for c in self.classes]
        return None if values == list(range(len(values))) else values

    def dtypes(self) -> list[str] | None:
        return check_dtypes(self.dtype)


class Schema(_Strict):
    """What the data going into a model must be.

    >>> s = Schema(name="toy", features={"x": Feature(rank=1)}, labels={"y": Label(num_classes=2)})
    >>> s.names()
    ['x', 'y']
    """

    name: str = Field("unnamed", description="Schema name, shown in every message.")
    version: int = Field(1, description="Schema format version.")
    description: str | None = None
    features: dict[str, Feature] = Field(default_factory=dict)
    labels: dict[str, Label] = Field(default_factory=dict)
    drift: DriftConfig | None = Field(None, description="Thresholds for `datacheck diff`.")
    nifti: NiftiSpec | None = None
    pairs: PairSpec | None = None
    hdf5: HDF5Spec | None = None
    manifest: ManifestSpec | None = None
    images: ImageFolderSpec | None = None
    tfrecord: TFRecordSpec | None = None
    dicom: DicomSpec | None = None
    allow_empty: bool = Field(
        False, description="Zero elements (an empty dataset, file or split) is not an error.")

    @model_validator(mode="after")
    def _non_empty(self) -> Schema:
        sections = (self.nifti, self.pairs, self.hdf5, self.manifest, self.dicom)
        if not self.features and not self.labels and all(s is None for s in sections):
            raise ValueError("a schema needs at least one entry under 'features' or 'labels' "
                             "(or a nifti, pairs, hdf5, manifest or dicom section)")
        check_references(self)
        clash = set(self.features) & set(self.labels)
        if clash:
            raise ValueError(f"names used both as feature and label: {sorted(clash)}")
        return self

    def names(self) -> list[str]:
        return list(self.features) + list(self.labels)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude_unset=True,
                               exclude={"version"}) | {"version": self.version}

    def to_yaml(self) -> str:
        import yaml

        data = self.to_dict()
        first: tuple[str, ...] = ("name", "version", "description", "features", "labels")
        ordered: dict[str, Any] = {k: data[k] for k in first if k in data}
        ordered.update({k: v for k, v in data.items() if k not in ordered})
        return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=None)

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2)
