"""Rules for DICOM series: one folder of slices must be one volume on one regular grid.

What a series must hold before it can be a volume: one SeriesInstanceUID
(``mixed_series``), one Rows x Columns (``shape``), one PixelSpacing
(``spacing``), one ImageOrientationPatient (``orientation``), the declared
Modality and PhotometricInterpretation (``attribute``), and slices evenly
spaced along the slice normal: two slices at one position are ``duplicate``,
a gap of k times the usual step is ``missing_slice`` (k - 1 missing), any
other uneven gap is ``spacing``. Slices that break the series are named and
left out of the volume, so the rest is still judged. The assembled volume's
geometry then goes through the ``nifti:`` rules (orientation, spacing,
obliquity) on the affine built from the slices.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from datacheck.rules.base import fmt_num
from datacheck.rules.violation import Violation

if TYPE_CHECKING:
    from datacheck.readers.dicom import DicomSlice
    from datacheck.readers.nifti import NiftiHeader
    from datacheck.schema.dicom import DicomSpec

K = TypeVar("K", bound=Hashable)
#: Files named in a message / kept in ``extra``.
SHOWN, KEPT = 3, 100
#: Largest difference of two direction cosines still called the same orientation.
COSINE_TOLERANCE = 1e-4


def _names(slices: Sequence[DicomSlice]) -> str:
    shown = ", ".join(s.source for s in slices[:SHOWN])
    return shown + (f" and {len(slices) - SHOWN} more" if len(slices) > SHOWN else "")


def _split(slices: list[DicomSlice], key: Callable[[DicomSlice], K],
           ) -> tuple[K, list[DicomSlice], list[DicomSlice]]:
    """The most common value of ``key``, the slices with it, and the others."""
    common = Counter(key(s) for s in slices).most_common(1)[0][0]
    return common, [s for s in slices if key(s) == common], [s for s in slices
                                                              if key(s) != common]


def _close(a: tuple[float, ...] | None, b: tuple[float, ...] | None, tol: float) -> bool:
    if a is None or b is None:
        return a is b
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def series_violations(spec: DicomSpec, slices: list[DicomSlice], name: str,
                      feature: str) -> tuple[list[Violation], list[DicomSlice]]:
    """Findings about the slices of one series folder, and the slices that form its volume.

    >>> series_violations(DicomSpec(), [], "ct/", "volume")  # doctest: +SKIP
    ([], [])
    """
    out: list[Violation] = []

    def add(code: str, text: str, odd: Sequence[DicomSlice], observed: Any, expected: Any,
            **extra: Any) -> None:
        out.append(Violation(code, feature, f"{feature}: {code}: {text}", observed=observed,
                             expected=expected, where=name,
                             extra={"files": [s.source for s in odd[:KEPT]], **extra}))

    if not slices:
        return out, []
    uid, kept, odd = _split(slices, lambda s: s.series_uid)
    if odd:
        others = sorted({str(s.series_uid) for s in odd})
        add("mixed_series", f"{len(odd)} of {len(slices)} slices in {name} belong to "
            f"{len(others)} other series ({_names(odd)}; SeriesInstanceUID {others[0]}), not "
            f"{uid}. One folder must hold one series: move the other slices to their own "
            "folder.", odd, len(odd), 0, series=others[:KEPT])
    grid, kept, odd = _split(kept, lambda s: (s.rows, s.columns))
    if odd:
        add("shape", f"{len(odd)} slices of {name} are not {grid[0]} x {grid[1]} (Rows x "
            f"Columns) like the other {len(kept)}: {_names(odd)} is "
            f"{odd[0].rows} x {odd[0].columns}. A volume needs one grid: remove or resample "
            "them.", odd, [odd[0].rows, odd[0].columns], list(grid))
    ref_spacing = Counter(s.pixel_spacing for s in kept).most_common(1)[0][0]
    odd = [s for s in kept if not _close(s.pixel_spacing, ref_spacing, spec.spacing_tolerance)]
    if odd:
        kept = [s for s in kept if s not in odd]
        seen = odd[0].pixel_spacing
        add("spacing", f"PixelSpacing of {len(odd)} slices of {name} differs from the other "
            f"{len(kept)} ({_spacing(ref_spacing)} mm): {_names(odd)} has {_spacing(seen)} mm. "
            "Slices of one volume share their pixel size: re-export the series or resample "
            "those slices.", odd, list(seen or []), list(ref_spacing or []))
    ref_orient = Counter(s.orientation for s in kept).most_common(1)[0][0]
    odd = [s for s in kept if not _close(s.orientation, ref_orient, COSINE_TOLERANCE)]
    if odd:
        kept = [s for s in kept if s not in odd]
        add("orientation", f"ImageOrientationPatient of {len(odd)} slices of {name} differs "
            f"from the other {len(kept)}: {_names(odd)}. A series with tilted or reformatted "
            "slices is not one volume: split it into its acquisitions.", odd,
            list(odd[0].orientation or []), list(ref_orient or []))
    for tag, allowed, key in (("Modality", spec.modality, "modality"),
                              ("PhotometricInterpretation", spec.photometric, "photometric")):
        if allowed is None:
            continue
        wrong = [s for s in kept if getattr(s, key) not in allowed]
        if wrong:
            values = sorted({getattr(s, key) or "(missing)" for s in wrong})
            add("attribute", f"{tag} is {'/'.join(values)} in {len(wrong)} of {len(kept)} "
                f"slices of {name} ({_names(wrong)}), expected {' or '.join(allowed)}. Check "
                f"that this is the right series, or declare dicom.{key}: {values[0]}.", wrong,
                values, allowed, tag=tag)
    missing = [s for s in kept if s.position is None or s.orientation is None]
    if missing:
        add("attribute", f"{len(missing)} slices of {name} lack ImagePositionPatient or "
            f"ImageOrientationPatient ({_names(missing)}): they cannot be placed in the "
            "volume. Re-export the series with its geometry tags.", missing, "missing",
            "ImagePositionPatient and ImageOrientationPatient", tag="ImagePositionPatient")
        kept = [s for s in kept if s not in missing]
    return out, kept


def _spacing(value: tuple[float, float] | None) -> str:
    return "missing" if value is None else " x ".join(fmt_num(v) for v in value)


def slice_gap_violations(spec: DicomSpec, names: list[str], depth: np.ndarray, name: str,
                         feature: str) -> tuple[list[Violation], list[int], float]:
    """Duplicated, missing and unevenly spaced slices, from each slice's position along the
    slice normal (``depth``, mm). Returns the findings, the slice indices in volume order
    (duplicates left out) and the slice step (the median gap, mm).

    >>> from datacheck.schema.dicom import DicomSpec
    >>> slice_gap_violations(DicomSpec(), ["a", "b", "c"], np.array([0., 2., 4.]), "s", "v")[1:]
    ([0, 1, 2], 2.0)
    """
    out: list[Violation] = []
    order = [int(i) for i in np.argsort(depth, kind="stable")]
    if len(order) < 2:
        return out, order, 1.0
    gaps = np.diff(depth[order])
    positive = gaps[gaps > 1e-3]
    step = float(np.median(positive)) if positive.size else 0.0
    same = gaps <= max(1e-3, 0.01 * step)
    if same.any():
        pairs = [(names[order[k]], names[order[k + 1]]) for k in np.flatnonzero(same)]
        shown = "; ".join(f"{a} = {b}" for a, b in pairs[:SHOWN])
        out.append(Violation(
            "duplicate", feature, f"{feature}: duplicate: {len(pairs)} slices of {name} lie at "
            f"the position of another slice ({shown}). A duplicated slice (the same file "
            "copied twice, or two acquisitions mixed) doubles anatomy: remove the copies.",
            observed=len(pairs), expected=0, where=name,
            extra={"pairs": [list(p) for p in pairs[:KEPT]]}))
        keep = [order[0]] + [order[k + 1] for k in range(len(gaps)) if not same[k]]
        order, gaps = keep, gaps[~same]
    if step <= 0 or not len(gaps):
        return out, order, step or 1.0
    ratio = gaps / step
    tolerance = spec.slice_tolerance
    whole = np.rint(ratio)
    missing = (whole >= 2) & (np.abs(ratio - whole) <= tolerance)
    uneven = ~missing & (np.abs(ratio - 1) > tolerance)
    if missing.any():
        count = int((whole[missing] - 1).sum())
        where = [(names[order[k]], names[order[k + 1]], int(whole[k] - 1))
                 for k in np.flatnonzero(missing)]
        shown = "; ".join(f"{n} between {a} and {b}" for a, b, n in where[:SHOWN])
        out.append(Violation(
            "missing_slice", feature, f"{feature}: missing_slice: {count} "
            f"slice{'s' * (count != 1)} missing in {name} (gaps of a whole number of "
            f"{fmt_num(step)} mm steps: {shown}). The volume "
            "would close the gap and misplace the anatomy beyond it: re-export the complete "
            "series.", observed=count, expected=0, where=name,
            extra={"gaps": [{"after": a, "before": b, "missing": n} for a, b, n in where[:KEPT]],
                   "step_mm": step}))
    if uneven.any():
        seen = sorted({round(float(g), 4) for g in gaps[uneven]})
        out.append(Violation(
            "spacing", feature, f"{feature}: spacing: slice spacing of {name} is uneven: "
            f"{int(uneven.sum())} gaps of {', '.join(fmt_num(g) for g in seen[:SHOWN])} mm "
            f"against a step of {fmt_num(step)} mm (tolerance {fmt_num(tolerance * 100)}%). "
            "Resample to a regular grid (dcm2niix writes uneven series as separate volumes).",
            observed=seen[:KEPT], expected=round(step, 6), where=name))
    return out, order, step


def volume_geometry_violations(spec: DicomSpec, header: NiftiHeader,
                               feature: str) -> list[Violation]:
    """The ``nifti:`` geometry rules (orientation, spacing, obliquity) on the assembled volume.

    >>> volume_geometry_violations(DicomSpec(orientation="RAS"), header, "ct")  # doctest: +SKIP
    [Violation(code='orientation', ...)]
    """
    from datacheck.rules.medical import nifti_header_violations
    from datacheck.schema.medical import NiftiSpec

    nifti = NiftiSpec(orientation=spec.orientation, spacing=spec.spacing,
                      spacing_tolerance=spec.spacing_tolerance,
                      max_obliquity=spec.max_obliquity)
    return nifti_header_violations(nifti, header, feature)
