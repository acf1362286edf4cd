"""Schema sections for medical imaging: NIfTI headers, image/mask pairs, HDF5 files, manifests.

They sit next to ``features``/``labels`` in a schema (``nifti:``, ``pairs:``,
``hdf5:``, ``manifest:``). This module must not import ``schema.model`` at
import time (model imports it), so dtype names are checked lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datacheck.schema.dtypes import check_dtypes

if TYPE_CHECKING:
    from datacheck.schema.model import Schema

#: Opposite anatomical directions; an orientation takes one letter of each pair.
AXIS_PAIRS: tuple[tuple[str, str], ...] = (("L", "R"), ("A", "P"), ("S", "I"))

#: Default guard: a volume (or HDF5 row) may declare at most this many bytes / voxels.
DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_MAX_VOXELS = 512**3

Dim = int | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _dtypes(value: str | list[str] | None) -> str | list[str] | None:
    check_dtypes(value)
    return value


def _wildcards(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [None if d in ("*", "?", None, -1) else d for d in value]
    return value


class NiftiSpec(_Strict):
    """What every NIfTI volume's header must say; its voxels are judged as ``feature``.

    >>> NiftiSpec(orientation="RAS", spacing=[1, 1, 1], ndim=3).orientation
    'RAS'
    """

    feature: str | None = Field(
        None, description="Feature the voxel data is judged as (default: the first feature).")
    ndim: Literal[3, 4] | None = Field(None, description="3 for volumes, 4 for time series.")
    shape: list[Dim] | None = Field(None, description="Voxel grid (i, j, k[, t]); null = any.")
    dtype: str | list[str] | None = Field(
        None, description="On-disk datatype(s) of the header, e.g. int16 or floating.")
    orientation: str | None = Field(
        None, description="Axis codes of the affine, e.g. RAS or LPS (nibabel.aff2axcodes).")
    spacing: list[float] | None = Field(
        None, description="Voxel size in mm (3 values; a 4th is the repetition time in s), "
        "from the affine's column norms and xyzt_units.")
    spacing_tolerance: float = Field(
        0.01, ge=0, description="Absolute tolerance (mm) between the declared spacing and the "
        "affine's column norms.")
    affine_tolerance: float = Field(
        0.01, ge=0, description="Largest displacement (mm) of a corner voxel between qform and "
        "sform still called agreement.")
    qform_sform: Literal["agree", "ignore"] = Field(
        "agree", description="agree: when both are set they must describe the same space.")
    scaling: Literal["apply", "raw"] = Field(
        "apply", description="apply scl_slope/scl_inter before judging voxels, or judge raw.")
    max_obliquity: float | None = Field(
        30.0, ge=0, le=90, description="Largest tilt (degrees) of the voxel axes from the nearest "
        "axis-aligned frame (code oblique); null to allow any.")
    require_units: bool = Field(
        False, description="Unset xyzt spatial units are an error (code units); by default they "
        "are read as mm, as nibabel and ITK do (a warning when spacing is declared).")
    outlier_z: float | None = Field(
        5.0, gt=0, description="Robust z-score (median/MAD over the scans) of a scan's foreground "
        "median or 99th percentile beyond which it is an outlier (code outlier, a warning); "
        "null turns it off.")
    subject_pattern: str | None = Field(
        None, description="Path of a subject's images under a folder checked, without extension, "
        "with {entities} and [optional] parts, e.g. sub-{subject}/[ses-{session}/]anat/"
        "sub-{subject}[_ses-{session}]_{suffix}: the images of one subject (see "
        "same_grid_within) must share a voxel grid and affine (TorchIO's subject consistency; "
        "codes shape, affine). Files that do not match are checked as usual.")
    same_grid_within: list[str] = Field(
        default_factory=lambda: ["subject"], min_length=1,
        description="Entities of subject_pattern whose values make one group of images on one "
        "grid: [subject] (coregistered sessions) or [subject, session] (each session apart).")
    intent: Literal["volume", "any"] = Field(
        "volume", description="volume: refuse CIFTI, surface and point-set intents (code "
        "intent).")
    max_voxels: int | None = Field(None, ge=1, description="Guard: refuse larger headers.")
    max_bytes: int | None = Field(None, ge=1, description="Guard: refuse larger voxel data.")

    @field_validator("shape", mode="before")
    @classmethod
    def _shape_wildcards(cls, value: Any) -> Any:
        return _wildcards(value)

    @field_validator("shape")
    @classmethod
    def _shape_dims(cls, value: list[Dim] | None) -> list[Dim] | None:
        if value is not None:
            if not 3 <= len(value) <= 4:
                raise ValueError(f"shape needs 3 or 4 dims (i, j, k[, t]), got {value}")
            if any(d is not None and d < 1 for d in value):
                raise ValueError(f"shape dims must be >= 1 or null, got {value}")
        return value

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, value: str | list[str] | None) -> str | list[str] | None:
        return _dtypes(value)

    @field_validator("orientation")
    @classmethod
    def _orientation(cls, value: str | None) -> str | None:
        if value is None:
            return None
        codes = value.strip().upper()
        pairs = [next((p for p in AXIS_PAIRS if c in p), None) for c in codes]
        if len(codes) != 3 or None in pairs or len(set(map(str, pairs))) != 3:
            raise ValueError(f"orientation {value!r} must be 3 axis codes with one of L/R, A/P "
                             "and S/I each, e.g. RAS or LPS")
        return codes

    @field_validator("spacing")
    @classmethod
    def _spacing(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (not 3 <= len(value) <= 4 or any(v <= 0 for v in value)):
            raise ValueError(f"spacing needs 3 (or 4) positive sizes in mm, got {value}")
        return value

    @model_validator(mode="after")
    def _subject_pattern(self) -> NiftiSpec:
        from datacheck.scan.bids import pattern_regex

        if self.subject_pattern is not None:
            names = set(pattern_regex(self.subject_pattern, repeats=True).groupindex)
            missing = [e for e in self.same_grid_within if e not in names]
            if missing:
                raise ValueError(f"same_grid_within names {missing}, not entities of "
                                 f"subject_pattern {self.subject_pattern!r}")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> NiftiSpec:
        if self.ndim is not None and self.shape is not None and len(self.shape) != self.ndim:
            raise ValueError(f"ndim={self.ndim} but shape {self.shape} has {len(self.shape)} dims")
        return self


class PairSpec(_Strict):
    """Image/mask pairs: same grid and affine, mask values within ``labels``.

    >>> PairSpec(labels=[0, 1, 2]).mask_suffix
    '_mask'
    """

    mask_suffix: str = Field(
        "_mask", min_length=1,
        description="In folders, NAME<suffix>.nii.gz is the mask of NAME.nii.gz.")
    image_pattern: str | None = Field(
        None, description="Name template of images with {entities} and [optional] parts, e.g. "
        "sub-{subject}[_ses-{session}]_desc-preproc_T1w (pairs by entities, not by suffix).")
    mask_pattern: str | None = Field(
        None, description="Name template of masks with the same entities, e.g. "
        "sub-{subject}[_ses-{session}]_desc-brain_mask.")
    labels: list[int] | None = Field(None, description="Declared label set of the masks.")
    affine_tolerance: float = Field(
        0.01, ge=0, description="Largest displacement (mm) of a corner voxel between the image "
        "and mask affines.")
    allow_empty: bool = Field(False, description="An all-background mask is allowed (else "
                              "code empty_mask).")
    min_mask_coverage: float = Field(
        0.9, ge=0, le=1, description="Smallest fraction of mask voxels on the image's foreground "
        "(code mask_mismatch); 0 turns the check off. A brain mask flipped top to bottom on the "
        "MNI template keeps 72%, one shifted 10 mm 89%; the template's own mask 100%.")
    min_foreground_coverage: float = Field(
        0.0, ge=0, le=1, description="Smallest fraction of the image's foreground the mask "
        "covers (code mask_mismatch); 0 (default) turns it off, since a lesion mask covers a "
        "small part of the head. Set about 0.9 for brain masks of skull-stripped images.")
    feature: str | None = Field(None, description="Feature the mask voxels are judged as.")
    required: bool = Field(True, description="An image without a mask is a missing_file.")

    @property
    def measures_coverage(self) -> bool:
        """True when either mask/foreground coverage threshold is on (the scan needs the
        image's foreground bitmap)."""
        return self.min_mask_coverage > 0 or self.min_foreground_coverage > 0

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"labels has duplicates: {value}")
        return value

    @model_validator(mode="after")
    def _patterns(self) -> PairSpec:
        from datacheck.scan.bids import entities

        if (self.image_pattern is None) != (self.mask_pattern is None):
            raise ValueError("image_pattern and mask_pattern go together (set both)")
        if self.image_pattern is not None and self.mask_pattern is not None:
            image, mask = entities(self.image_pattern), entities(self.mask_pattern)
            if image != mask:
                raise ValueError(f"image_pattern entities {sorted(image)} differ from "
                                 f"mask_pattern entities {sorted(mask)}; pairs match on them")
        return self


class H5DatasetSpec(_Strict):
    """One HDF5 dataset, addressed by its path inside the file.

    >>> H5DatasetSpec(path="/train/images", shape=[None, 64, 64, 1]).batched
    True
    """

    path: str = Field(..., min_length=1, description="Path inside the file, e.g. /train/images.")
    batched: bool = Field(True, description="Axis 0 indexes examples; false: one large element.")
    shape: list[Dim] | None = Field(None, description="Stored shape (with axis 0); null = any.")
    dtype: str | list[str] | None = Field(None, description="Stored dtype(s).")
    attrs: dict[str, Any] = Field(
        default_factory=dict, description="Required attributes: value, or null for 'present'.")

    @field_validator("shape", mode="before")
    @classmethod
    def _shape_wildcards(cls, value: Any) -> Any:
        return _wildcards(value)

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, value: str | list[str] | None) -> str | list[str] | None:
        return _dtypes(value)


class HDF5Spec(_Strict):
    """Which HDF5 dataset holds each feature/label (default: ``/<name>``, batched).

    >>> HDF5Spec(datasets={"image": {"path": "/x"}}).datasets["image"].path
    '/x'
    """

    datasets: dict[str, H5DatasetSpec] = Field(default_factory=dict)
    slab_bytes: int = Field(64 * 1024**2, ge=1024,
                            description="Read at most this many bytes per dataset at once.")
    attr_tolerance: float = Field(1e-6, ge=0, description="Tolerance for numeric attributes.")
    allow_external: bool = Field(
        False, description="Read data kept in other files (external links, external raw "
        "storage, virtual datasets) when each target is inside the dataset root; read "
        "through the gate. Default: refused with a reason.")


class ManifestSpec(_Strict):
    """A CSV/Parquet table listing the files of a dataset, one row per example.

    >>> ManifestSpec(subject_column="subject", split_column="split").image_column
    'image'
    """

    root: str | None = Field(
        None, description="Dataset root; relative to the manifest's folder (default: that folder).")
    image_column: str = Field("image", description="Column of image paths (relative to root).")
    other_image_columns: list[str] = Field(
        default_factory=list, description="More images of the same example (T2w, FLAIR): each "
        "is checked as a volume and must share the image's grid and affine (TorchIO's subject "
        "consistency).")
    same_grid_per_subject: bool = Field(
        False, description="All images of a subject (every row: sessions) share one grid and "
        "affine; for coregistered data.")
    mask_column: str | None = Field(None, description="Column of mask paths.")
    id_column: str | None = Field(None, description="Column of example ids (must be unique).")
    label_column: str | None = Field(None, description="Column of labels.")
    label_values: list[int | str] | None = Field(
        None, description="Label domain (default: from the schema label of that name).")
    subject_column: str | None = Field(None, description="Column of subject ids (for leakage).")
    split_column: str | None = Field(None, description="Column of split names (train/val/test).")
    splits: list[str] | None = Field(None, description="Allowed split names.")
    required_columns: list[str] = Field(default_factory=list, description="More required columns.")
    check_files: bool = Field(True, description="Open and check every referenced file.")

    def columns(self) -> list[str]:
        """Every column the manifest must have, in a stable order."""
        named = [self.id_column, self.subject_column, self.split_column, self.image_column,
                 *self.other_image_columns, self.mask_column, self.label_column,
                 *self.required_columns]
        return list(dict.fromkeys(c for c in named if c))


def check_references(schema: Schema) -> None:
    """Cross-section checks: named features and labels must exist in the schema."""
    if schema.nifti is not None and schema.nifti.feature is not None \
            and schema.nifti.feature not in schema.features:
        raise ValueError(f"nifti.feature {schema.nifti.feature!r} is not a feature "
                         f"(features: {sorted(schema.features)})")
    if schema.dicom is not None and schema.dicom.feature is not None \
            and schema.dicom.feature not in schema.features:
        raise ValueError(f"dicom.feature {schema.dicom.feature!r} is not a feature "
                         f"(features: {sorted(schema.features)})")
    if schema.pairs is not None and schema.pairs.feature is not None \
            and schema.pairs.feature not in schema.features:
        raise ValueError(f"pairs.feature {schema.pairs.feature!r} is not a feature "
                         f"(features: {sorted(schema.features)})")
    for name, label in schema.labels.items():
        if label.encoding == "label_map" and label.image is not None \
                and label.image not in schema.features:
            raise ValueError(f"labels.{name}.image {label.image!r} is not a feature "
                             f"(features: {sorted(schema.features)})")
    if schema.hdf5 is not None:
        for name, spec in schema.hdf5.datasets.items():
            if name not in schema.features and name not in schema.labels:
                raise ValueError(f"hdf5.datasets.{name}: not a feature or label of the schema "
                                 f"(names: {schema.names()})")
            if name in schema.labels and not spec.batched:
                raise ValueError(f"hdf5.datasets.{name}: labels are per example; "
                                 "batched: false is for one large feature array")


def medical_model_at(loc: list[str]) -> type[BaseModel] | None:
    """The section model at a pydantic error location (for unknown-key suggestions)."""
    if not loc:
        return None
    if loc[0] == "hdf5":
        return H5DatasetSpec if len(loc) >= 3 and loc[1] == "datasets" else HDF5Spec
    from datacheck.schema.dicom import DicomSpec

    models: dict[str, type[BaseModel]] = {"nifti": NiftiSpec, "pairs": PairSpec,
                                          "manifest": ManifestSpec, "dicom": DicomSpec}
    return models.get(loc[0])
