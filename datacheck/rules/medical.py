"""Rules for medical volumes: NIfTI headers, image/mask pairs and HDF5 datasets.

The judge for what readers report about files (headers, attributes, mask
values). Voxel intensities are not judged here: they go through the same
feature rules as any tensor (``rules.judge`` via the numpy Collector).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from datacheck.excerpt import excerpt
from datacheck.rules.base import fmt_num, fmt_shape
from datacheck.rules.geometry import (
    affine_gap,
    affine_sane,
    affine_violations,
    axcodes,
    gap_text,
    intent_violations,
    oblique_violations,
    spacing_violations,
    units_violations,
)
from datacheck.rules.registry import SeverityName
from datacheck.rules.violation import Violation
from datacheck.schema.dtypes import concrete_dtype, dtype_matches
from datacheck.schema.medical import H5DatasetSpec, NiftiSpec, PairSpec

if TYPE_CHECKING:
    from datacheck.readers.hdf5 import H5Info
    from datacheck.readers.nifti import NiftiHeader
    from datacheck.scan.volume import MaskCoverage, MaskValues



def effective_ndim(shape: tuple[int, ...]) -> int:
    """Dimensions, not counting trailing singleton axes past the third ((64, 64, 30, 1) is 3D)."""
    n = len(shape)
    while n > 3 and shape[n - 1] == 1:
        n -= 1
    return n


def nifti_header_violations(spec: NiftiSpec, header: NiftiHeader,
                            feature: str = "nifti") -> list[Violation]:
    """Intent, shape, dtype, affine, orientation, spacing, units, obliquity, scaling of a header.

    A non-volume intent (CIFTI, surfaces) is the only finding: its
    dimensions are not a voxel grid, so nothing else can be judged.

    >>> nifti_header_violations(NiftiSpec(orientation="RAS"), header)  # doctest: +SKIP
    [Violation(code='orientation', ...)]
    """
    where = header.source
    out: list[Violation] = intent_violations(spec, header, feature)
    if out:
        return out

    def add(code: str, message: str, observed: Any = None, expected: Any = None,
            severity: SeverityName = "error") -> None:
        out.append(Violation(code, feature, f"{feature}: {code}: {message}", observed=observed,
                             expected=expected, where=where, severity=severity))

    ndim = effective_ndim(header.shape)
    if spec.ndim is not None and ndim != spec.ndim:
        fix = ("Split the time series into 3D volumes (nibabel.funcs.four_to_three)"
               if ndim > spec.ndim else "Check that this is the right file")
        add("shape", f"{ndim}D volume {fmt_shape(header.shape)} in {where}, expected "
            f"{spec.ndim}D. {fix}, or declare ndim: {ndim}.", list(header.shape),
            f"{spec.ndim}D")
    elif spec.shape is not None:
        shape = header.shape[:ndim]
        expected = tuple(spec.shape)
        if len(shape) != len(expected) or any(e is not None and s != e
                                               for s, e in zip(shape, expected, strict=False)):
            text = fmt_shape(expected).replace("?", "*")
            add("shape", f"voxel grid {fmt_shape(shape)} in {where}, expected {text}. Resample "
                "or crop to the expected grid, or fix nifti.shape (null for any size).",
                list(shape), text)
    if spec.dtype is not None:
        allowed = [spec.dtype] if isinstance(spec.dtype, str) else list(spec.dtype)
        if not dtype_matches(header.dtype, allowed):
            target = concrete_dtype(allowed[0])
            add("dtype", f"stored as {header.dtype} in {where}, expected {' or '.join(allowed)}. "
                f"Re-save with img.set_data_dtype('{target}'), or declare the dtype.",
                header.dtype, allowed)
    out += affine_violations(spec, header, feature)
    if spec.orientation is not None and affine_sane(header):
        assert header.affine is not None
        codes = axcodes(header.affine)
        if codes != spec.orientation:
            fix = ("nibabel.as_closest_canonical(img)" if spec.orientation == "RAS" else
                   f"img.as_reoriented(nib.orientations.ornt_transform(nib.io_orientation("
                   f"img.affine), nib.orientations.axcodes2ornt('{spec.orientation}')))")
            add("orientation", f"axes are {codes} in {where}, expected {spec.orientation}. "
                f"Reorient with {fix}, or declare orientation: {codes}.", codes, spec.orientation)
    out += spacing_violations(spec, header, feature)
    out += units_violations(spec, header, feature)
    out += oblique_violations(spec, header, feature)
    if header.slope != 0 and np.isfinite(header.slope) and not np.isfinite(header.inter):
        add("nonfinite", f"scl_inter is {header.inter} while scl_slope is "
            f"{fmt_num(header.slope)} in {where}: scaled voxels are undefined and nibabel "
            "refuses the file. Set scl_inter to 0 (hdr['scl_inter'] = 0).", header.inter, "finite")
    elif np.isinf(header.slope):
        add("nonfinite", f"scl_slope is {header.slope} in {where}; nibabel ignores it, other "
            "readers may scale every voxel to Inf. Set scl_slope to 1 (or 0 for 'unscaled').",
            header.slope, "finite", severity="warning")
    return out


def pair_violations(spec: PairSpec, image: NiftiHeader, mask: NiftiHeader, values: MaskValues,
                    feature: str = "mask",
                    coverage: MaskCoverage | None = None) -> list[Violation]:
    """Same grid and affine as the image, mask values within the declared labels, not empty,
    and (given ``coverage``) lying on the image's foreground.

    >>> pair_violations(PairSpec(labels=[0, 1]), img_hdr, mask_hdr, values)  # doctest: +SKIP
    []
    """
    where = mask.source
    out: list[Violation] = []
    grid, mgrid = image.shape[:3], mask.shape[:3]
    if grid != mgrid or effective_ndim(mask.shape) > effective_ndim(image.shape):
        out.append(Violation(
            "mask_mismatch", feature,
            f"{feature}: mask_mismatch: mask grid {fmt_shape(mask.shape)} in {where} differs "
            f"from its image {fmt_shape(image.shape)} ({image.source}). Resample the mask onto "
            "the image grid with nearest-neighbour interpolation (order=0), or pair the right "
            "files.", observed=list(mask.shape), expected=list(image.shape), where=where))
    elif image.affine is not None and mask.affine is not None:
        gap, degrees = affine_gap(image.affine, mask.affine, image.shape)
        if gap > spec.affine_tolerance:
            orient = ""
            if affine_sane(image) and affine_sane(mask):
                orient = f" (image {axcodes(image.affine)}, mask {axcodes(mask.affine)})"
            out.append(Violation(
                "mask_mismatch", feature,
                f"{feature}: mask_mismatch: mask affine differs from its image's by up to "
                f"{gap_text(gap, degrees)}{orient} in {where}; the mask would label the wrong "
                "voxels. Resample the "
                "mask onto the image (nibabel.processing.resample_from_to, order=0) or copy the "
                "image affine if only the header is wrong.",
                observed={"mm": gap, "degrees": degrees},
                expected=f"<= {fmt_num(spec.affine_tolerance)} mm", where=where))
    out += _mask_content_violations(spec, image, mask, values, feature, coverage,
                                    grid_ok=not out)
    if values.non_integer:
        shown = ", ".join(fmt_num(v) for v in values.examples)
        out.append(Violation(
            "label_range", feature,
            f"{feature}: label_range: {values.non_integer:,} mask voxels are not whole numbers "
            f"(e.g. {shown}) in {where}; the mask was probably resampled with linear "
            "interpolation. Resample masks with nearest neighbour (order=0).",
            observed=list(values.examples), expected="integer labels", where=where))
    if spec.labels is not None:
        extra = {v: n for v, n in values.counts.items() if v not in set(spec.labels)}
        if extra:
            shown = ", ".join(f"{v} ({n:,} voxels)" for v, n in list(extra.items())[:10])
            out.append(Violation(
                "label_range", feature,
                f"{feature}: label_range: mask values {shown} are outside the declared labels "
                f"{spec.labels} in {where}. Remap the label map, or add them to pairs.labels.",
                observed=sorted(extra), expected=spec.labels, where=where))
    return out


def unpaired_violation(missing: str, name: str, pattern: str) -> Violation:
    """``missing_file`` for an image without its mask (``missing='mask'``) or the reverse.

    >>> unpaired_violation("mask", "sub-01_T1w.nii.gz", "sub-{subject}_mask").code
    'missing_file'
    """
    have = "image" if missing == "mask" else "mask"
    fix = ("Add the mask, or set pairs.required: false." if missing == "mask"
           else "Add the image or rename the mask.")
    return Violation(
        "missing_file", missing, f"{missing}: missing_file: {have} {name} has no {missing} "
        f"matching {pattern}.nii[.gz] with the same entities in its folder. {fix}",
        observed=name, expected=pattern, where=name)


def _mask_content_violations(spec: PairSpec, image: NiftiHeader, mask: NiftiHeader,
                             values: MaskValues, feature: str, coverage: MaskCoverage | None,
                             grid_ok: bool) -> list[Violation]:
    where = mask.source
    labelled = values.non_integer + sum(n for v, n in values.counts.items() if v != 0)
    if not labelled and not spec.allow_empty:
        return [Violation(
            "empty_mask", feature,
            f"{feature}: empty_mask: every voxel of {where} is 0; the mask of {image.source} "
            "labels nothing, so a segmentation model learns 'background everywhere'. Regenerate "
            "the mask (or pair the right file), or set pairs.allow_empty: true for images "
            "without findings.", observed=0, expected="> 0 labelled voxels", where=where)]
    if not grid_ok or coverage is None or not coverage.mask_voxels:
        return []
    # Both directions: the mask's share on foreground catches a mask on background; the
    # foreground's share under the mask catches one that moved within the head.
    on_fg, covered = coverage.fraction, coverage.foreground_fraction
    low_mask = on_fg < spec.min_mask_coverage
    low_fg = coverage.foreground_voxels > 0 and covered < spec.min_foreground_coverage
    if not (low_mask or low_fg):
        return []
    both = (f"{on_fg:.1%} of the {coverage.mask_voxels:,} mask voxels of {where} lie on the "
            f"foreground of {image.source}, and the mask covers {covered:.1%} of its "
            f"{coverage.foreground_voxels:,} foreground voxels (Dice {coverage.dice:.2f})")
    if low_mask:
        what, seen, least = "mask on foreground", on_fg, spec.min_mask_coverage
        knob = "pairs.min_mask_coverage"
    else:
        what, seen, least = "foreground covered", covered, spec.min_foreground_coverage
        knob = "pairs.min_foreground_coverage"
    return [Violation(
        "mask_mismatch", feature,
        f"{feature}: mask_mismatch: only {both}; expected {what} >= {fmt_num(least)}. The "
        "mask is shifted, flipped or belongs to another scan. Check the pairing and the "
        f"mask's orientation (compare both in a viewer), or lower {knob}.", observed=round(seen, 4),
        expected=f">= {fmt_num(least)}", where=where,
        extra={"mask_voxels": coverage.mask_voxels, "on_foreground": coverage.on_foreground,
               "foreground_voxels": coverage.foreground_voxels,
               "mask_on_foreground": round(on_fg, 4), "foreground_covered": round(covered, 4),
               "dice": round(coverage.dice, 4)})]


def h5_dataset_violations(source: str, name: str, spec: H5DatasetSpec, info: H5Info | None,
                          tolerance: float = 1e-6) -> list[Violation]:
    """Presence, stored shape, dtype and attributes of one HDF5 dataset."""
    where = f"{source}:{spec.path}"
    if info is None or not info.dataset:
        what = "a group, not a dataset" if info is not None else "missing"
        return [Violation(
            "missing_feature", name,
            f"{name}: missing_feature: {spec.path} is {what} in {source}. Fix hdf5.datasets."
            f"{name}.path, or write the dataset (h5py: f.create_dataset('{spec.path}', ...)).",
            observed=what, expected=spec.path, where=where)]
    out: list[Violation] = []
    if spec.shape is not None:
        ok = len(info.shape) == len(spec.shape) and all(
            e is None or s == e for s, e in zip(info.shape, spec.shape, strict=False))
        if not ok:
            text = fmt_shape(tuple(spec.shape)).replace("?", "*")
            out.append(Violation(
                "shape", name, f"{name}: shape: {spec.path} has shape {fmt_shape(info.shape)} in "
                f"{source}, expected {text}. Rewrite the dataset or fix hdf5.datasets.{name}.shape"
                " (null for any size).", observed=list(info.shape), expected=text, where=where))
    if spec.dtype is not None:
        allowed = [spec.dtype] if isinstance(spec.dtype, str) else list(spec.dtype)
        if not dtype_matches(info.dtype, allowed):
            out.append(Violation(
                "dtype", name, f"{name}: dtype: {spec.path} is stored as {info.dtype} in "
                f"{source}, expected {' or '.join(allowed)}. Rewrite it with dtype= or declare "
                "the dtype.", observed=info.dtype, expected=allowed, where=where))
    for key, expected in spec.attrs.items():
        out += _attr_violations(name, spec.path, source, where, key, expected, info.attrs,
                                tolerance)
    return out


def _attr_violations(name: str, path: str, source: str, where: str, key: str, expected: Any,
                     attrs: dict[str, Any], tolerance: float) -> list[Violation]:
    code = "spacing" if key.lower() in ("spacing", "voxel_size", "pixdim", "zooms") else "attribute"
    if key not in attrs:
        return [Violation(
            code, name, f"{name}: {code}: {path} has no attribute {key!r} in {source} (has: "
            f"{excerpt(sorted(attrs)) if attrs else 'none'}). Write it: "
            f"f['{path}'].attrs['{key}'] = ...",
            observed=None, expected={key: expected}, where=where)]
    seen = attrs[key]
    if expected is None or _same(seen, expected, tolerance):
        return []
    return [Violation(
        code, name, f"{name}: {code}: attribute {key}={excerpt(seen)} of {path} in {source}, "
        f"expected {excerpt(expected)}. Fix the data (or the attribute), or the schema's hdf5 "
        "attrs.",
        observed=seen, expected=expected, where=where)]


def _same(seen: Any, expected: Any, tolerance: float) -> bool:
    if isinstance(expected, (list, tuple)) and isinstance(seen, Iterable) \
            and not isinstance(seen, str):
        items = list(seen)
        return len(items) == len(expected) and all(
            _same(s, e, tolerance) for s, e in zip(items, expected, strict=True))
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) \
            and isinstance(seen, (int, float)) and not isinstance(seen, bool):
        return abs(float(seen) - float(expected)) <= tolerance
    return bool(seen == expected)
