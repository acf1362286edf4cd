"""DICOM series as a source: each folder of slices is one volume, checked as one element.

Planning groups the DICOM files of a scanned folder by the folder that holds
them (a series per folder, as PACS exports and dcm2niix inputs are laid
out). Files named ``*.dcm``/``*.dicom``/``*.ima`` are DICOM; files without a
suffix (``IM0001``, ``1.2.840...``) are too when the schema has a ``dicom:``
section. Running a unit reads every slice through the gate
(``readers.dicom``); a file that is not DICOM or is corrupt is ``unreadable``
with its reason and the series goes on without it. The slices are judged as
a series (``rules.dicom``), ordered along the slice normal, stacked into a
(columns, rows, slices) volume with RescaleSlope/Intercept applied, given the
affine nibabel and dcm2niix give it (LPS patient space turned into RAS), and
judged by the ``nifti:`` geometry rules and the feature rules like a NIfTI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from datacheck.readers.dicom import DICOM_SUFFIXES
from datacheck.report.violation import Violation

if TYPE_CHECKING:
    from datacheck.readers.dicom import DicomSlice
    from datacheck.readers.guards import Limits
    from datacheck.readers.nifti import NiftiHeader
    from datacheck.readers.registry import UnitKind
    from datacheck.report.report import InputStatus
    from datacheck.scan.collect import ScanCollector
    from datacheck.scan.plan import Plan
    from datacheck.scan.units import Options, Unit
    from datacheck.schema.dicom import DicomSpec
    from datacheck.schema.model import Schema

KIND: UnitKind = "dicom"
#: LPS (DICOM patient space) to RAS (NIfTI world space).
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def is_dicom_name(path: Path, schema: Schema | None) -> bool:
    """A DICOM suffix, or (with a ``dicom:`` section) no suffix or a numeric one (UIDs)."""
    name = path.name.lower()
    if name.endswith(DICOM_SUFFIXES):
        return True
    suffix = path.suffix[1:]
    return schema is not None and schema.dicom is not None and (not suffix or suffix.isdigit())


def plan_dicom(plan: Plan, files: list[Path]) -> None:
    """One unit per folder holding DICOM files: that folder's slices are one series."""
    from datacheck.scan.units import Unit

    folders: dict[Path, list[Path]] = {}
    for path in files:
        folders.setdefault(path.parent, []).append(path)
    for folder, members in folders.items():
        plan.units.append(Unit(len(plan.units), KIND, os.fspath(folder), plan.name(folder),
                               members=tuple((os.fspath(p), plan.name(p), None, i)
                                             for i, p in enumerate(members))))


def assemble(slices: list[DicomSlice], order: list[int], step: float,
             rescale: bool) -> tuple[np.ndarray, np.ndarray]:
    """The volume (columns, rows, slices[, samples]) and its RAS affine.

    Voxel (i, j, k) is column i, row j of slice k: the order nibabel's DICOM
    wrapper and dcm2niix use, so the affine's columns are the row direction x
    column spacing, the column direction x row spacing, and the slice normal
    x the slice step, from the first slice's ImagePositionPatient.

    >>> assemble(slices, [0, 1], 2.5, True)[0].shape  # doctest: +SKIP
    (128, 128, 2)
    """
    chosen = [slices[k] for k in order]
    planes = [(s.rescaled() if rescale else s.pixels) for s in chosen]
    volume = np.stack([np.swapaxes(p, 0, 1) for p in planes], axis=2)
    first = chosen[0]
    assert first.orientation is not None and first.position is not None
    assert first.pixel_spacing is not None
    row_dir = np.asarray(first.orientation[:3])
    col_dir = np.asarray(first.orientation[3:])
    normal = np.cross(row_dir, col_dir)
    lps = np.eye(4)
    lps[:3, 0] = row_dir * first.pixel_spacing[1]
    lps[:3, 1] = col_dir * first.pixel_spacing[0]
    lps[:3, 2] = normal * step
    lps[:3, 3] = first.position
    return volume, LPS_TO_RAS @ lps


def volume_header(name: str, volume: np.ndarray, affine: np.ndarray,
                  stored: np.dtype[np.generic]) -> NiftiHeader:
    """The assembled volume described as a NIfTI header (sform, mm), for the geometry rules."""
    from datacheck.readers.nifti import NiftiHeader

    zooms = tuple(float(v) for v in np.linalg.norm(affine[:3, :3], axis=0))
    return NiftiHeader(source=name, version=1, shape=tuple(volume.shape), dtype=stored.name,
                       itemsize=stored.itemsize, byteorder="<", zooms=zooms, affine=affine,
                       qform=None, sform=affine, qform_code=0, sform_code=1, slope=1.0,
                       inter=0.0, vox_offset=0, xyzt_units=2)


@dataclass
class Series:
    """What reading one series gave: its findings, its volume and header (None when no slice
    could be placed), and the reason for each file that could not be read."""

    violations: list[Violation]
    volume: np.ndarray | None = None
    header: NiftiHeader | None = None
    slices: list[DicomSlice] = field(default_factory=list)
    unreadable: dict[str, BaseException] = field(default_factory=dict)


def load_series(members: list[tuple[str, str]], name: str, spec: DicomSpec, limits: Limits,
                feature: str, root: str | None = None) -> Series:
    """Read the files (path, display name) of one series, judge the series and assemble it.

    >>> load_series([("ct/IM1.dcm", "ct/IM1.dcm")], "ct", DicomSpec(), Limits(), "volume")
    ... # doctest: +SKIP
    """
    from datacheck.readers.dicom import read_dicom_slice
    from datacheck.readers.guards import check_declared
    from datacheck.rules.dicom import (
        series_violations,
        slice_gap_violations,
        volume_geometry_violations,
    )

    slices: list[DicomSlice] = []
    bad: dict[str, BaseException] = {}
    for path, shown in members:
        try:
            slices.append(read_dicom_slice(path, limits, source=shown, root=root))
        except Exception as exc:  # one bad file never stops the series
            bad[shown] = exc
    found, kept = series_violations(spec, slices, name, feature)
    series = Series(found, slices=slices, unreadable=bad)
    if not kept:
        return series
    first = kept[0]
    assert first.orientation is not None
    normal = np.cross(first.orientation[:3], first.orientation[3:])
    depth = np.array([float(np.dot(s.position or (0.0, 0.0, 0.0), normal)) for s in kept])
    gaps, order, step = slice_gap_violations(spec, [s.source for s in kept], depth, name,
                                             feature)
    found += gaps
    if len(order) == 1:  # no second position to measure: the slice's own thickness
        step = first.thickness or step
    # Each slice passed the limits alone; the stacked volume must too (float32 once rescaled).
    itemsize = 4 if spec.rescale == "apply" else first.pixels.dtype.itemsize
    check_declared(name, (first.columns, first.rows, len(order)), itemsize, limits,
                   "Raise dicom.max_bytes if the series is genuine.")
    series.volume, affine = assemble(kept, order, step, spec.rescale == "apply")
    series.header = volume_header(name, series.volume, affine, first.pixels.dtype)
    found += volume_geometry_violations(spec, series.header, feature)
    return series


def run_dicom(unit: Unit, schema: Schema, options: Options, collector: ScanCollector,
              inputs: dict[str, InputStatus]) -> None:
    """Read the slices of one series, judge the series and its assembled volume."""

    from datacheck.backends.numpy.views import dtype_name
    from datacheck.errors import DataError
    from datacheck.readers.guards import limits_with
    from datacheck.rules.files import unreadable
    from datacheck.scan.collect import has_error
    from datacheck.scan.units import volume_feature
    from datacheck.scan.volume import element_shape, summarize_element
    from datacheck.schema.dicom import DicomSpec

    spec = schema.dicom or DicomSpec()
    limits = limits_with(spec.max_bytes, base=options.limits)
    members = unit.members or ((unit.path, unit.name, None, 0),)
    name = spec.feature or volume_feature(schema)
    series = load_series([(unit.at(p), shown) for p, shown, _, _ in members], unit.name, spec,
                         limits, name or "dicom", unit.root)
    for shown, exc in series.unreadable.items():
        collector.add([unreadable(shown, exc)], input=shown)
        inputs[shown] = "unreadable"
    if not series.slices:
        if unit.name not in inputs:  # a folder whose every file failed: the series too
            collector.add([unreadable(unit.name, DataError(
                f"{unit.name}: unreadable: none of its {len(members)} files is a readable "
                "DICOM slice (each is listed with its reason)."))])
            inputs[unit.name] = "unreadable"
        return
    found = list(series.violations)
    collector.add(found)
    volume = series.volume
    if volume is not None and name is not None and name in schema.features:
        shape = element_shape(volume.shape, schema.features[name])
        found += collector.add_element(name, shape, dtype_name(volume),
                                       summarize_element(volume, shape), unit.name)
    if volume is not None and series.header is not None:
        _preview(unit.name, volume, series.header.affine, collector)
    inputs[unit.name] = "violating" if has_error(found) or volume is None else "ok"


def _preview(name: str, volume: np.ndarray, affine: np.ndarray | None,
             collector: ScanCollector) -> None:
    """Slices and foreground histogram of the series for the HTML report, as NIfTI volumes
    get them (``scan.previews``): a picture, never a verdict."""
    from datacheck.scan.previews import preview

    try:
        with np.errstate(all="ignore"):
            slices, info, fg_hist = preview(volume, affine)
    except (ValueError, FloatingPointError, OverflowError):
        return
    if slices:
        collector.thumbnails[name] = slices
        collector.previews[name] = info
    if fg_hist is not None:
        collector.foreground = fg_hist if collector.foreground is None \
            else collector.foreground.merge(fg_hist)
