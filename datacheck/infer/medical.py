"""Schema sections inferred from file headers: ``nifti``, ``pairs``, ``hdf5`` and ``dicom``."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from datacheck.infer.observe import Observation

#: Mask label sets larger than this are not listed (they are not label masks).
MAX_MASK_LABELS = 64


def _facts(obs: Observation, field: str) -> Counter[str]:
    return Counter({value: n for (key, value), n in obs.headers.items() if key == field})


def nifti_section(name: str, obs: Observation, notes: list[str]) -> dict[str, Any] | None:
    """``nifti:`` from the headers of the volumes behind ``name`` (None when not NIfTI)."""
    if not _facts(obs, "ndim"):
        return None
    section: dict[str, Any] = {"feature": name}
    ndims = _facts(obs, "ndim")
    if len(ndims) == 1 and next(iter(ndims)) in ("3", "4"):
        section["ndim"] = int(next(iter(ndims)))
    orientations = _facts(obs, "orientation")
    if len(orientations) == 1:
        section["orientation"] = next(iter(orientations))
    elif orientations:
        notes.append("orientations differ between files ("
                     + ", ".join(f"{k}: {v}" for k, v in orientations.most_common())
                     + "): none declared; reorient them to one and declare it")
    spacings = _facts(obs, "spacing")
    if len(spacings) == 1:
        spacing = [float(v) for v in next(iter(spacings)).split("x")]
        # A schema declares 3 (or 4) finite, positive sizes; a header with NaN, zero or one
        # axis (a 1-D image) describes none worth declaring.
        if len(spacing) in (3, 4) and all(math.isfinite(v) and v > 0 for v in spacing):
            section["spacing"] = spacing
        else:
            notes.append(f"voxel spacing {next(iter(spacings))} mm is not 3 finite positive "
                         "sizes: none declared; fix the header's pixdim")
    elif spacings:
        notes.append("voxel spacings differ between files ("
                     + ", ".join(f"{k} mm: {v}" for k, v in spacings.most_common(5))
                     + "): none declared; resample to one spacing and declare it")
    dtypes = sorted(_facts(obs, "dtype"))
    if dtypes:
        section["dtype"] = dtypes[0] if len(dtypes) == 1 else dtypes
    return section


def pairs_section(obs: Observation, notes: list[str]) -> dict[str, Any]:
    """``pairs:`` for image/``NAME_mask`` files; labels are the mask values seen."""
    section: dict[str, Any] = {"mask_suffix": "_mask", "feature": "mask"}
    values = _facts(obs, "mask_value")
    if values and len(values) <= MAX_MASK_LABELS:
        section["labels"] = sorted(int(v) for v in values)
    elif values:
        notes.append(f"masks hold {len(values)} distinct values: no label set declared")
    return section


def sections_for(seen: dict[str, Observation], source_sections: dict[str, Any],
                 notes: dict[str, list[str]]) -> dict[str, Any]:
    """Every medical section the observations support, plus what the reader reported."""
    out: dict[str, Any] = dict(source_sections)
    if "volume" in seen:
        nifti = nifti_section("volume", seen["volume"], notes.setdefault("volume", []))
        if nifti is not None:
            out["nifti"] = nifti
    if "volume" in seen and _facts(seen["volume"], "modality"):
        out["dicom"] = dicom_section("volume", seen["volume"], notes.setdefault("volume", []))
    if "mask" in seen and _facts(seen["mask"], "ndim"):
        out["pairs"] = pairs_section(seen["mask"], notes.setdefault("mask", []))
    return out


def dicom_section(name: str, obs: Observation, notes: list[str]) -> dict[str, Any]:
    """``dicom:`` from the series behind ``name``: every modality and photometric
    interpretation seen, and orientation and spacing when all series agree."""
    section: dict[str, Any] = {"feature": name}
    for key, field in (("modality", "modality"), ("photometric", "photometric")):
        values = sorted(v for v in _facts(obs, field) if v != "(missing)")
        if values:
            section[key] = values
    orientations = _facts(obs, "dicom_orientation")
    if len(orientations) == 1:
        section["orientation"] = next(iter(orientations))
    elif orientations:
        notes.append("series orientations differ (" + ", ".join(
            f"{k}: {v}" for k, v in orientations.most_common()) + "): none declared")
    spacings = _facts(obs, "dicom_spacing")
    if len(spacings) == 1:
        section["spacing"] = [float(v) for v in next(iter(spacings)).split("x")]
    elif spacings:
        notes.append("series voxel spacings differ (" + ", ".join(
            f"{k} mm: {v}" for k, v in spacings.most_common(5)) + "): none declared")
    return section
