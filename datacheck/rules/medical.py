"""Rules for medical volumes: NIfTI headers, image/mask pairs and HDF5 datasets.

The judge for what readers report about files (headers, attributes, mask
values). Voxel intensities are not judged here: they go through the same
feature rules as any tensor (``rules.judge`` via the numpy Collector).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from datacheck.report.violation import Violation
from datacheck.rules.base import fmt_num, fmt_shape
from datacheck.schema.medical import H5DatasetSpec, NiftiSpec, PairSpec
from datacheck.schema.model import dtype_matches

if TYPE_CHECKING:
    from datacheck.readers.hdf5 import H5Info
    from datacheck.readers.nifti import NiftiHeader
    from datacheck.scan.volume import MaskValues

#: A concrete dtype to suggest for each dtype kind.
_CONCRETE = {"floating": "float32", "integer": "int16", "signed": "int16", "unsigned": "uint8"}

RESET_AFFINE = ("Rewrite a sane affine with nibabel (img.set_sform(affine, code=1); "
                "img.set_qform(affine, code=1)) or re-convert from DICOM.")


def axcodes(affine: np.ndarray) -> str:
    """Orientation codes of an affine, e.g. 'RAS' (nibabel.aff2axcodes)."""
    import nibabel as nib

    return "".join(str(c) for c in nib.aff2axcodes(affine))


def effective_ndim(shape: tuple[int, ...]) -> int:
    """Dimensions, not counting trailing singleton axes past the third ((64, 64, 30, 1) is 3D)."""
    n = len(shape)
    while n > 3 and shape[n - 1] == 1:
        n -= 1
    return n


def affine_sane(header: NiftiHeader) -> bool:
    """True when the header's affine is finite and invertible (orientation is meaningful)."""
    a = header.affine
    return a is not None and bool(np.isfinite(a).all()) and abs(np.linalg.det(a[:3, :3])) > 1e-12


def nifti_header_violations(spec: NiftiSpec, header: NiftiHeader,
                            feature: str = "nifti") -> list[Violation]:
    """Orientation, spacing, affine, shape, dtype and scaling of one header.

    >>> nifti_header_violations(NiftiSpec(orientation="RAS"), header)  # doctest: +SKIP
    [Violation(code='orientation', ...)]
    """
    where = header.source
    out: list[Violation] = []

    def add(code: str, message: str, observed: Any = None, expected: Any = None,
            severity: str = "error") -> None:
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
            target = _CONCRETE.get(allowed[0], allowed[0])
            add("dtype", f"stored as {header.dtype} in {where}, expected {' or '.join(allowed)}. "
                f"Re-save with img.set_data_dtype('{target}'), or declare the dtype.",
                header.dtype, allowed)
    out += _affine_violations(spec, header, feature)
    if spec.orientation is not None and affine_sane(header):
        assert header.affine is not None
        codes = axcodes(header.affine)
        if codes != spec.orientation:
            fix = ("nibabel.as_closest_canonical(img)" if spec.orientation == "RAS" else
                   f"img.as_reoriented(nib.orientations.ornt_transform(nib.io_orientation("
                   f"img.affine), nib.orientations.axcodes2ornt('{spec.orientation}')))")
            add("orientation", f"axes are {codes} in {where}, expected {spec.orientation}. "
                f"Reorient with {fix}, or declare orientation: {codes}.", codes, spec.orientation)
    if spec.spacing is not None:
        zooms = tuple(abs(z) for z in header.zooms[:len(spec.spacing)])
        bad = len(zooms) < len(spec.spacing) or any(
            not abs(z - e) <= spec.spacing_tolerance for z, e in zip(zooms, spec.spacing,
                                                                     strict=False))
        if bad:
            seen = ", ".join(fmt_num(z) for z in zooms)
            want = ", ".join(fmt_num(e) for e in spec.spacing)
            add("spacing", f"voxel size ({seen}) mm in {where}, expected ({want}) ± "
                f"{fmt_num(spec.spacing_tolerance)}. Resample (nibabel.processing.conform or "
                "resample_to_output, SimpleITK) or declare the spacing.", list(zooms),
                list(spec.spacing))
    if header.slope != 0 and np.isfinite(header.slope) and not np.isfinite(header.inter):
        add("nonfinite", f"scl_inter is {header.inter} while scl_slope is "
            f"{fmt_num(header.slope)} in {where}: scaled voxels are undefined and nibabel "
            "refuses the file. Set scl_inter to 0 (hdr['scl_inter'] = 0).", header.inter, "finite")
    elif np.isinf(header.slope):
        add("nonfinite", f"scl_slope is {header.slope} in {where}; nibabel ignores it, other "
            "readers may scale every voxel to Inf. Set scl_slope to 1 (or 0 for 'unscaled').",
            header.slope, "finite", severity="warning")
    return out


def _affine_violations(spec: NiftiSpec, header: NiftiHeader, feature: str) -> list[Violation]:
    where = header.source
    out: list[Violation] = []

    def add(message: str, observed: Any = None, expected: Any = None,
            severity: str = "error") -> None:
        out.append(Violation("affine", feature, f"{feature}: affine: {message}",
                             observed=observed, expected=expected, where=where,
                             severity=severity))

    for name, problem in header.problems.items():
        add(f"the {name} of {where} cannot be interpreted ({problem}). {RESET_AFFINE}",
            problem, "a valid matrix")
    a = header.affine
    if a is None:
        return out
    if header.qform_code == 0 and header.sform_code == 0:
        add(f"neither qform nor sform is set in {where}; tools disagree on orientation (nibabel "
            f"assumes {axcodes(a) if affine_sane(header) else '?'}). {RESET_AFFINE}",
            "qform_code=0, sform_code=0", "a coded qform or sform", severity="warning")
    if not np.isfinite(a).all():
        add(f"matrix holds NaN/Inf in {where}; voxel positions, orientation and spacing are "
            f"undefined. {RESET_AFFINE}", "non-finite", "finite")
        return out
    det = float(np.linalg.det(a[:3, :3]))
    if abs(det) <= 1e-12:
        add(f"matrix is singular (determinant {det:.3g}) in {where}; voxels collapse onto a "
            f"plane or line. {RESET_AFFINE}", det, "non-zero determinant")
        return out
    if spec.qform_sform == "agree" and header.qform is not None and header.sform is not None \
            and np.isfinite(header.qform).all() and np.isfinite(header.sform).all():
        gap = float(np.abs(header.qform - header.sform).max())
        if gap > spec.affine_tolerance:
            add(f"qform and sform disagree by up to {gap:.3g} mm in {where} (qform "
                f"{axcodes(header.qform)}, sform {axcodes(header.sform)}); tools that read one "
                "(ITK, ANTs) and the other (nibabel, FSL) see different anatomy. Make them one: "
                "img.set_qform(img.get_sform(), code=1), or raise nifti.affine_tolerance.",
                gap, f"<= {fmt_num(spec.affine_tolerance)}")
    return out


def pair_violations(spec: PairSpec, image: NiftiHeader, mask: NiftiHeader, values: MaskValues,
                    feature: str = "mask") -> list[Violation]:
    """Same grid and affine as the image, mask values within the declared labels.

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
        diff = np.abs(image.affine - mask.affine)
        gap = float(diff.max()) if np.isfinite(diff).all() else float("inf")
        if gap > spec.affine_tolerance:
            orient = ""
            if affine_sane(image) and affine_sane(mask):
                orient = f" (image {axcodes(image.affine)}, mask {axcodes(mask.affine)})"
            out.append(Violation(
                "mask_mismatch", feature,
                f"{feature}: mask_mismatch: mask affine differs from its image's by {gap:.3g} "
                f"mm{orient} in {where}; the mask would label the wrong voxels. Resample the "
                "mask onto the image (nibabel.processing.resample_from_to, order=0) or copy the "
                "image affine if only the header is wrong.",
                observed=gap, expected=f"<= {fmt_num(spec.affine_tolerance)}", where=where))
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
            f"{sorted(attrs) or 'none'}). Write it: f['{path}'].attrs['{key}'] = ...",
            observed=None, expected={key: expected}, where=where)]
    seen = attrs[key]
    if expected is None or _same(seen, expected, tolerance):
        return []
    return [Violation(
        code, name, f"{name}: {code}: attribute {key}={seen!r} of {path} in {source}, expected "
        f"{expected!r}. Fix the data (or the attribute), or the schema's hdf5 attrs.",
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
