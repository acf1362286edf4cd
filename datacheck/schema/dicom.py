"""The ``dicom:`` schema section: what every DICOM series (a folder of slices) must be.

A series is assembled into one volume and its geometry is judged with the
``nifti:`` rules (orientation, spacing, obliquity), so those fields mean
exactly what they mean there, on the affine built from the slices.

>>> DicomSpec(modality="CT", orientation="LPS").modality
['CT']
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _upper_list(value: str | list[str] | None) -> list[str] | None:
    if value is None:
        return None
    # Pydantic runs this before type checks: anything but text or a list of text is refused.
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if not values or any(not isinstance(v, str) or not v.strip() for v in values):
        raise ValueError(f"needs a name or a list of names (e.g. CT or [CT, MR]), got {value!r}")
    return [v.strip().upper() for v in values]


class DicomSpec(_Strict):
    """``dicom: {modality: CT, photometric: MONOCHROME2, orientation: LPS, spacing: [...]}``."""

    feature: str | None = Field(
        None, description="Feature the assembled volume is judged as (default: the first "
        "feature).")
    modality: list[str] | None = Field(
        None, description="Allowed Modality (0008,0060) values, e.g. CT or [MR]; null = any.")
    photometric: list[str] | None = Field(
        None, description="Allowed PhotometricInterpretation (0028,0004), e.g. MONOCHROME2.")
    orientation: str | None = Field(
        None, description="Axis codes of the assembled volume's affine (RAS+ world, as nibabel "
        "and dcm2niix write it), e.g. LPS for axial slices stored in the usual order.")
    spacing: list[float] | None = Field(
        None, description="Voxel size in mm (columns, rows, slices); the slice spacing comes "
        "from ImagePositionPatient, not SliceThickness.")
    spacing_tolerance: float = Field(
        0.01, ge=0, description="Absolute tolerance (mm) of the declared spacing, and of "
        "PixelSpacing between slices.")
    slice_tolerance: float = Field(
        0.05, ge=0, description="Largest departure (as a share of the median slice spacing) of "
        "one slice gap before it counts as non-uniform (code spacing) or missing slices.")
    max_obliquity: float | None = Field(
        30.0, ge=0, le=90, description="Largest tilt (degrees) of the volume's axes from the "
        "nearest axis-aligned frame (code oblique); null to allow any.")
    rescale: Literal["apply", "raw"] = Field(
        "apply", description="apply RescaleSlope/RescaleIntercept (CT in Hounsfield units) "
        "before judging voxels, or judge the stored values.")
    max_bytes: int | None = Field(None, ge=1, description="Guard: refuse larger series.")

    @field_validator("modality", "photometric", mode="before")
    @classmethod
    def _values(cls, value: str | list[str] | None) -> list[str] | None:
        return _upper_list(value)

    @field_validator("orientation")
    @classmethod
    def _orientation(cls, value: str | None) -> str | None:
        from datacheck.schema.medical import AXIS_PAIRS

        if value is None:
            return None
        codes = value.strip().upper()  # the same rule as nifti.orientation
        pairs = [next((p for p in AXIS_PAIRS if c in p), None) for c in codes]
        if len(codes) != 3 or None in pairs or len(set(map(str, pairs))) != 3:
            raise ValueError(f"orientation {value!r} must be 3 axis codes with one of L/R, A/P "
                             "and S/I each, e.g. LPS or RAS")
        return codes

    @field_validator("spacing")
    @classmethod
    def _spacing(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (len(value) != 3 or any(v <= 0 for v in value)):
            raise ValueError(f"spacing needs 3 positive sizes in mm, got {value}")
        return value
