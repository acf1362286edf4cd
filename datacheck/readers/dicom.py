"""Read one DICOM slice (pydicom) through the gate: the geometry tags and the stored pixels.

The file is opened once by the gate and pydicom parses that file object,
never the path again. Its size is checked against the limits before
parsing, and the pixel data the header declares (Rows x Columns x
SamplesPerPixel x BitsAllocated) before it is decoded. A file without the
``DICM`` marker, a truncated one, or pixels pydicom cannot decode raise
:class:`DataError` with the reason (``unreadable``). The reader only reports
what the slice says; ``rules.dicom`` judges a series of them.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from datacheck.errors import DatacheckError, DataError, require
from datacheck.readers.gate import file_size, open_file
from datacheck.readers.guards import Limits, TooLargeError, active_limits, check_declared
from datacheck.readers.registry import suffixes

#: Suffixes DICOM files are commonly saved with (many have none: see ``scan.dicom``).
DICOM_SUFFIXES: tuple[str, ...] = suffixes("dicom")
_FIX = "Re-export the series from the PACS or scanner, or remove the file from the folder."


@dataclass(frozen=True, eq=False)  # one slice is itself: compared by identity, not pixels
class DicomSlice:
    """One slice: identity, geometry and intensity tags, and its stored pixels (rows, columns).

    ``pixel_spacing`` is (row spacing, column spacing) in mm as DICOM orders
    it; ``orientation`` the 6 direction cosines (row direction, then column
    direction) and ``position`` the patient-space (LPS) mm of the first pixel.
    """

    source: str
    series_uid: str | None
    sop_uid: str | None
    instance: int | None
    rows: int
    columns: int
    pixel_spacing: tuple[float, float] | None
    orientation: tuple[float, ...] | None
    position: tuple[float, float, float] | None
    slope: float
    intercept: float
    modality: str
    photometric: str
    pixels: np.ndarray
    #: SpacingBetweenSlices, else SliceThickness (mm): the step of a one-slice series only.
    thickness: float | None = None

    def rescaled(self) -> np.ndarray:
        """Pixels after RescaleSlope/RescaleIntercept (the modality LUT), as float32.

        >>> read_dicom_slice("CT_small.dcm").rescaled().min()  # doctest: +SKIP
        -1024.0
        """
        return (self.pixels.astype(np.float64) * self.slope + self.intercept).astype(np.float32)


def _floats(value: Any, count: int) -> tuple[float, ...] | None:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return out if len(out) == count and all(np.isfinite(out)) else None


def _number(ds: Any, keyword: str, default: float) -> float:
    value = ds.get(keyword)
    try:
        out = float(value) if value is not None and value != "" else default
    except (TypeError, ValueError):
        return default
    return out if np.isfinite(out) else default


def read_dicom_slice(path: str | os.PathLike[str], limits: Limits | None = None,
                     source: str | None = None,
                     root: str | os.PathLike[str] | None = None) -> DicomSlice:
    """The slice at ``path``, read once through the gate within ``limits``.

    >>> read_dicom_slice("series/IM0001.dcm").rows  # doctest: +SKIP
    512
    """
    limits = limits or active_limits()
    name = source or os.fspath(path)
    pydicom = require("pydicom", "dicom", "Reading DICOM files")
    with open_file(path, root=root, label=name) as handle:
        size = file_size(handle)
        if size == 0:
            raise DataError(f"{name}: unreadable: zero-byte file (an interrupted copy). {_FIX}")
        if size > limits.max_bytes:
            raise TooLargeError(f"{name}: too_large: the file holds {size:,} bytes, over the "
                                f"limit of {limits.describe()}; refused before parsing. Raise "
                                "dicom.max_bytes if the slice is genuine.")
        with warnings.catch_warnings():
            # pydicom warns about each odd element; the reason that matters is raised below.
            warnings.simplefilter("ignore")
            return _parse(pydicom, handle, name, limits)


def _parse(pydicom: Any, handle: Any, name: str, limits: Limits) -> DicomSlice:
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(handle)
    except InvalidDicomError:
        raise DataError(f"{name}: unreadable: not a DICOM file (no 'DICM' marker after the "
                        f"128-byte preamble). {_FIX}") from None
    except Exception as exc:  # truncated or corrupt element lists
        raise DataError(f"{name}: unreadable: pydicom cannot parse it ({type(exc).__name__}:"
                        f" {_first_line(exc)}). {_FIX}") from None
    try:
        return _slice(ds, name, limits)
    except DatacheckError:
        raise
    except Exception as exc:  # a tag whose value pydicom cannot convert (read lazily)
        raise DataError(f"{name}: unreadable: a DICOM element cannot be read "
                        f"({type(exc).__name__}: {_first_line(exc)}). {_FIX}") from None


def _slice(ds: Any, name: str, limits: Limits) -> DicomSlice:
    """The slice's tags and pixels from a parsed dataset (elements are converted here)."""
    if "PixelData" not in ds:
        raise DataError(f"{name}: unreadable: a DICOM object without pixel data (a report, "
                        "structured set or presentation state), not an image slice. Keep "
                        "only image slices in a series folder.")
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    bits = int(ds.get("BitsAllocated", 16) or 16)
    if rows < 1 or columns < 1:
        raise DataError(f"{name}: unreadable: Rows x Columns is {rows} x {columns}. {_FIX}")
    check_declared(name, (frames, rows, columns, samples), max(1, bits // 8), limits,
                   "Raise dicom.max_bytes if the series is genuine.")
    if frames > 1:
        raise DataError(f"{name}: unreadable: a multi-frame object ({frames} frames); "
                        "datacheck reads series of single-frame slices. Convert it with "
                        "dcm2niix and check the NIfTI.")
    try:
        pixels = np.asarray(ds.pixel_array)
    except Exception as exc:  # compressed without a decoder, truncated pixel data
        raise DataError(f"{name}: unreadable: the pixel data cannot be decoded "
                        f"({type(exc).__name__}: {_first_line(exc)}). Install a decoder "
                        "for its transfer syntax (pylibjpeg, gdcm) or re-export it "
                        "uncompressed.") from None
    instance = ds.get("InstanceNumber")
    return DicomSlice(
        source=name, series_uid=_text(ds.get("SeriesInstanceUID")),
        sop_uid=_text(ds.get("SOPInstanceUID")),
        instance=int(instance) if instance not in (None, "") else None,
        rows=rows, columns=columns,
        pixel_spacing=_pair(_floats(ds.get("PixelSpacing") or (), 2)),
        orientation=_floats(ds.get("ImageOrientationPatient") or (), 6),
        position=_triple(_floats(ds.get("ImagePositionPatient") or (), 3)),
        slope=_number(ds, "RescaleSlope", 1.0), intercept=_number(ds, "RescaleIntercept", 0.0),
        modality=str(ds.get("Modality", "") or "").strip().upper(),
        photometric=str(ds.get("PhotometricInterpretation", "") or "").strip().upper(),
        pixels=pixels,
        thickness=_number(ds, "SpacingBetweenSlices", _number(ds, "SliceThickness", 0.0)) or None)


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0][:200] if text else ""


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _pair(value: tuple[float, ...] | None) -> tuple[float, float] | None:
    return None if value is None else (value[0], value[1])


def _triple(value: tuple[float, ...] | None) -> tuple[float, float, float] | None:
    return None if value is None else (value[0], value[1], value[2])
