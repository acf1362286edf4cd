"""Rules for NIfTI geometry: affine validity and agreement, spacing, units, obliquity, intent.

Distances are millimetres of voxel displacement and angles are degrees
(measured in ``datacheck.readers.geometry``), never raw matrix entries. Each
function returns the violations of one header for one concern;
``rules.medical.nifti_header_violations`` runs them in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from datacheck.readers.geometry import (
    SPATIAL_NAMES,
    column_norms,
    corner_displacement,
    obliquity,
    rotation_angle,
    spatial_unit,
    temporal_unit,
)
from datacheck.rules.base import fmt_num
from datacheck.rules.registry import SeverityName
from datacheck.rules.violation import Violation
from datacheck.schema.medical import NiftiSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from datacheck.readers.nifti import NiftiHeader

RESET_AFFINE = ("Rewrite a sane affine with nibabel (img.set_sform(affine, code=1); "
                "img.set_qform(affine, code=1)) or re-convert from DICOM.")

#: Intents whose data is not an image on a voxel grid: surfaces, point sets, node indices,
#: spline coefficient grids and every CIFTI-2 connectivity intent (3000-3099).
NON_VOLUME_INTENTS: frozenset[int] = frozenset(
    {1008, 1009, 2002, 2005, 2007, 2008, 2009, 2016, 2017, *range(3000, 3100)})

#: Header pixdim and affine column norms may differ by this fraction (float32 storage).
PIXDIM_RELATIVE_TOLERANCE = 1e-3

def _adder(out: list[Violation], feature: str, where: str) -> Callable[..., None]:
    def add(code: str, message: str, observed: Any = None, expected: Any = None,
            severity: SeverityName = "error") -> None:
        out.append(Violation(code, feature, f"{feature}: {code}: {message}", observed=observed,
                             expected=expected, where=where, severity=severity))
    return add


def axcodes(affine: np.ndarray) -> str:
    """Orientation codes of an affine, e.g. 'RAS' (nibabel.aff2axcodes)."""
    import nibabel as nib

    # nibabel is untyped
    codes = nib.aff2axcodes(affine)  # type: ignore[no-untyped-call]
    return "".join(str(c) for c in codes)


def affine_sane(header: NiftiHeader) -> bool:
    """True when the header's affine is finite and invertible (orientation is meaningful)."""
    a = header.affine
    return a is not None and bool(np.isfinite(a).all()) and abs(np.linalg.det(a[:3, :3])) > 1e-12


def affine_gap(a: np.ndarray, b: np.ndarray, shape: tuple[int, ...]) -> tuple[float, float]:
    """(mm the corner voxels of ``shape`` move, rotation in degrees) between two affines."""
    mm = corner_displacement(a, b, shape)
    finite = bool(np.isfinite(a).all() and np.isfinite(b).all())
    ok = finite and all(abs(np.linalg.det(m[:3, :3])) > 1e-12 for m in (a, b))
    return mm, rotation_angle(a, b) if ok else float("nan")


def gap_text(mm: float, degrees: float) -> str:
    """'12.3 mm (corner voxels), rotated 10°' for a message."""
    turn = "" if not np.isfinite(degrees) or degrees < 0.01 else f", rotated {degrees:.3g}°"
    return f"{mm:.3g} mm (largest corner-voxel displacement){turn}"


def intent_violations(spec: NiftiSpec, header: NiftiHeader, feature: str) -> list[Violation]:
    """A non-volume intent (CIFTI, surfaces, point sets): not an image volume, naming it."""
    code = header.intent_code
    if spec.intent != "volume" or code not in NON_VOLUME_INTENTS:
        return []
    from nibabel.nifti1 import intent_codes

    name = str(intent_codes.label[code]) if code in intent_codes.label else "unknown"
    kind = "a CIFTI-2 file" if 3000 <= code < 3100 else "not voxel data"
    named = f", intent_name {header.intent_name!r}" if header.intent_name else ""
    out: list[Violation] = []
    _adder(out, feature, header.source)(
        "intent", f"{header.source} is not an image volume: NIfTI intent {code} ({name}{named}), "
        f"{kind}; its dimensions are not a voxel grid. Use the volumetric image (for CIFTI, the "
        "NIfTI it was made from, or wb_command -cifti-separate), or set nifti.intent: any.",
        f"{code} ({name})", "an image volume intent")
    return out


def affine_violations(spec: NiftiSpec, header: NiftiHeader, feature: str) -> list[Violation]:
    """Uninterpretable, missing, non-finite or singular affines; qform/sform disagreement (mm)."""
    where = header.source
    out: list[Violation] = []
    add = _adder(out, feature, where)
    for name, problem in header.problems.items():
        add("affine", f"the {name} of {where} cannot be interpreted ({problem}). {RESET_AFFINE}",
            problem, "a valid matrix")
    a = header.affine
    if a is None:
        return out
    if header.qform_code == 0 and header.sform_code == 0:
        add("affine", f"neither qform nor sform is set in {where}: orientation and position are "
            f"undefined and tools disagree (nibabel assumes "
            f"{axcodes(a) if affine_sane(header) else '?'} from pixdim, others refuse the "
            f"file). {RESET_AFFINE}", "qform_code=0, sform_code=0", "a coded qform or sform")
    if not np.isfinite(a).all():
        add("affine", f"matrix holds NaN/Inf in {where}; voxel positions, orientation and "
            f"spacing are undefined. {RESET_AFFINE}", "non-finite", "finite")
        return out
    det = float(np.linalg.det(a[:3, :3]))
    if abs(det) <= 1e-12:
        add("affine", f"matrix is singular (determinant {det:.3g}) in {where}; voxels collapse "
            f"onto a plane or line. {RESET_AFFINE}", det, "non-zero determinant")
        return out
    q, s = header.qform, header.sform
    if spec.qform_sform == "agree" and q is not None and s is not None \
            and np.isfinite(q).all() and np.isfinite(s).all():
        mm, degrees = affine_gap(q, s, header.shape)
        if mm > spec.affine_tolerance:
            add("affine", f"qform and sform disagree by up to {gap_text(mm, degrees)} in {where} "
                f"(qform {axcodes(q)}, sform {axcodes(s)}); tools that read one (ITK, ANTs) and "
                "the other (nibabel, FSL) see different anatomy. Make them one: "
                "img.set_qform(img.get_sform(), code=1), or raise nifti.affine_tolerance (mm).",
                {"mm": mm, "degrees": degrees}, f"<= {fmt_num(spec.affine_tolerance)} mm")
    return out


def spacing_mm(header: NiftiHeader) -> list[float] | None:
    """Voxel size in mm along i, j, k: affine column norms x the spatial unit (None: unknown).

    >>> spacing_mm(read_nifti_header("anatomical.nii"))  # doctest: +SKIP
    [2.0, 2.0, 2.0]
    """
    _, factor = spatial_unit(header.xyzt_units)
    if factor is None:
        return None
    if affine_sane(header):
        assert header.affine is not None
        return [float(v) * factor for v in column_norms(header.affine)]
    return [abs(float(z)) * factor for z in header.zooms[:3]]


def spacing_violations(spec: NiftiSpec, header: NiftiHeader, feature: str) -> list[Violation]:
    """pixdim against the affine's column norms, and the declared spacing against the affine's."""
    where = header.source
    out: list[Violation] = []
    add = _adder(out, feature, where)
    code, factor = spatial_unit(header.xyzt_units)
    if factor is None:
        return out  # an undefined unit is a units error; no spacing can be read from it
    unit = SPATIAL_NAMES.get(code, "mm") if code else "mm"
    pixdim = [abs(float(z)) for z in header.zooms[:3]]
    spacing = spacing_mm(header)
    assert spacing is not None
    coded = header.qform_code > 0 or header.sform_code > 0
    if coded and affine_sane(header) and len(pixdim) == 3:
        norms = [v / factor for v in spacing]
        # "not <=" so a NaN pixdim disagrees too (nibabel's zooms would be NaN).
        if any(not abs(p - n) <= PIXDIM_RELATIVE_TOLERANCE * max(n, 1e-12)
               for p, n in zip(pixdim, norms, strict=True)):
            which = "sform" if header.sform is not None else "qform"
            add("spacing", f"pixdim says ({', '.join(fmt_num(p) for p in pixdim)}) {unit} but "
                f"the {which} columns are ({', '.join(f'{n:.4g}' for n in norms)}) {unit} in "
                f"{where}; nibabel zooms and ITK/TorchIO spacing disagree. Rewrite the header "
                "from the right one (img.header.set_zooms(...) or img.set_sform(...)).",
                pixdim, [round(n, 6) for n in norms])
    if spec.spacing is None:
        return out
    seen = list(spacing)
    if len(spec.spacing) == 4:
        _, seconds = temporal_unit(header.xyzt_units)
        if len(header.zooms) >= 4 and seconds is not None:
            seen.append(abs(float(header.zooms[3])) * seconds)
    bad = len(seen) < len(spec.spacing) or any(
        not abs(z - e) <= spec.spacing_tolerance for z, e in zip(seen, spec.spacing,
                                                                 strict=False))
    if bad:
        shown = ", ".join(f"{z:.4g}" for z in seen)
        want = ", ".join(fmt_num(e) for e in spec.spacing)
        native = "" if code in (0, 2) else f" (stored in {unit})"
        add("spacing", f"voxel size ({shown}) mm{native} in {where}, expected ({want}) ± "
            f"{fmt_num(spec.spacing_tolerance)}. Resample (nibabel.processing.conform or "
            "resample_to_output, SimpleITK) or declare the spacing.",
            [round(z, 6) for z in seen], list(spec.spacing))
    return out


def units_violations(spec: NiftiSpec, header: NiftiHeader, feature: str) -> list[Violation]:
    """Spatial units NIfTI does not define (error); unset units (code 0) as a warning when
    a spacing is declared (it was judged assuming mm), an error with ``require_units``.

    Unset units are nibabel's default, so without a declared spacing they
    are read as mm silently, as nibabel and ITK do.
    """
    out: list[Violation] = []
    add = _adder(out, feature, header.source)
    code, factor = spatial_unit(header.xyzt_units)
    if factor is None:
        add("units", f"xyzt_units {header.xyzt_units} in {header.source} has spatial code "
            f"{code}, which NIfTI does not define (1 meter, 2 mm, 3 micron); voxel size cannot "
            "be read. Set it: img.header.set_xyzt_units('mm', 'sec').", code, "1, 2 or 3")
    elif code == 0 and (spec.require_units or spec.spacing is not None):
        # Judging a declared spacing in mm rests on the unit: say it was assumed.
        add("units", f"spatial units are not set (xyzt_units {header.xyzt_units}) in "
            f"{header.source}; spacing was read as mm, as nibabel and ITK do. Set them: "
            "img.header.set_xyzt_units('mm', 'sec').", "unknown", "mm, micron or meter",
            severity="error" if spec.require_units else "warning")
    if spec.spacing is not None and len(spec.spacing) == 4 and len(header.zooms) >= 4 \
            and temporal_unit(header.xyzt_units)[1] is None:
        add("units", f"time unit code {header.xyzt_units & 0x38} in {header.source} is not a "
            "time (s, ms, us); the repetition time cannot be read. Set it: "
            "img.header.set_xyzt_units('mm', 'sec').", header.xyzt_units & 0x38, "8, 16 or 24")
    return out


def oblique_violations(spec: NiftiSpec, header: NiftiHeader, feature: str) -> list[Violation]:
    """Voxel axes tilted more than ``max_obliquity`` degrees from every axis-aligned frame."""
    if spec.max_obliquity is None or not affine_sane(header) or \
            (header.qform_code == 0 and header.sform_code == 0):
        return []
    assert header.affine is not None
    degrees = obliquity(header.affine)
    if degrees <= spec.max_obliquity:
        return []
    out: list[Violation] = []
    _adder(out, feature, header.source)(
        "oblique", f"voxel axes are tilted {degrees:.3g}° from the nearest axis-aligned frame "
        f"({axcodes(header.affine)}) in {header.source}, more than "
        f"{fmt_num(spec.max_obliquity)}°; orientation codes are ambiguous and axis-aligned "
        "crops or flips move the anatomy. Resample onto an axis-aligned grid "
        "(nibabel.processing.resample_to_output, or FSL/ANTs reslice), or raise "
        "nifti.max_obliquity.", round(degrees, 3), f"<= {fmt_num(spec.max_obliquity)}°")
    return out


def consistency_violations(reference: NiftiHeader, other: NiftiHeader, tolerance: float,
                           feature: str, context: str) -> list[Violation]:
    """``other`` must lie on ``reference``'s voxel grid (TorchIO's subject consistency).

    Same (i, j, k) shape, and no corner voxel more than ``tolerance`` mm
    apart between the two affines; ``context`` names the row or subject.
    """
    where = other.source
    out: list[Violation] = []
    add = _adder(out, feature, where)
    grid, other_grid = reference.shape[:3], other.shape[:3]
    fix = ("Resample it onto the reference image (nibabel.processing.resample_from_to; "
           "order=0 for label maps), or list the right files.")
    if grid != other_grid:
        add("shape", f"{where} has the voxel grid {other_grid} but {reference.source} of the "
            f"same {context} has {grid}; images of one example must share a grid. {fix}",
            list(other_grid), list(grid))
    elif reference.affine is not None and other.affine is not None:
        mm, degrees = affine_gap(reference.affine, other.affine, reference.shape)
        if mm > tolerance:
            orient = ""
            if affine_sane(reference) and affine_sane(other):
                orient = f" ({axcodes(other.affine)} vs {axcodes(reference.affine)})"
            add("affine", f"{where} is {gap_text(mm, degrees)} away from {reference.source} of "
                f"the same {context}{orient}; images of one example must share an affine. {fix}",
                {"mm": mm, "degrees": degrees}, f"<= {fmt_num(tolerance)} mm")
    return out
