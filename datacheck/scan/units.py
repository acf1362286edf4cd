"""Scan units: one file (or image/mask pair) checked start to finish, in any process.

``run_unit`` is a top-level function of picklable arguments, so the same
code runs in the parent, in a process pool and on Dask workers. It never
raises for bad data: an input that cannot be read comes back ``unreadable``
with its reason, and the scan goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from datacheck.backends.numpy.views import dtype_name
from datacheck.data import iter_batches
from datacheck.errors import DataError
from datacheck.readers.guards import Limits, limits_with
from datacheck.report.report import Report
from datacheck.rules.files import unreadable
from datacheck.scan.collect import ScanCollector, ScanResult, has_error
from datacheck.schema.medical import NiftiSpec, PairSpec
from datacheck.schema.model import Schema

if TYPE_CHECKING:
    from datacheck.readers.registry import UnitKind
    from datacheck.report.report import InputStatus


@dataclass(frozen=True)
class Unit:
    """One thing to check: ``path`` (and ``mask``) as OS paths, ``name``s as printable text."""

    index: int
    kind: UnitKind
    path: str
    name: str
    mask: str | None = None
    mask_name: str | None = None
    #: The split this unit belongs to (e.g. "manifest.csv split train"), for per-split rules.
    group: str | None = None
    #: The dataset root of a manifest row: its files are opened only inside it (the gate).
    root: str | None = None
    #: Image folders: (path, name, label or None, element index) of each image of the unit.
    members: tuple[tuple[str, str, int | None, int], ...] = ()

    def at(self, path: str) -> str:
        """``path`` as the gate takes it: absolute when confined (relative would mean the root)."""
        return os.path.join(os.getcwd(), path) if self.root is not None else path


@dataclass(frozen=True)
class Options:
    """Scan settings that travel to workers with each unit."""

    batch_size: int = 32
    limits: Limits = field(default_factory=Limits)


Runner = Callable[[Unit, Schema, Options, ScanCollector, dict[str, "InputStatus"]], None]


def run_unit(unit: Unit, schema: Schema, options: Options) -> ScanResult:
    """Check one unit; every input it touches ends ok, violating or unreadable.

    >>> run_unit(Unit(0, "nifti", "a.nii.gz", "a.nii.gz"), schema, Options())  # doctest: +SKIP
    ScanResult(index=0, inputs={'a.nii.gz': 'ok'}, ...)
    """
    collector = ScanCollector(schema, Report(schema=schema.name), input=unit.name)
    inputs: dict[str, InputStatus] = {}
    try:
        # A pipe or device would block the reader forever (image folders check each file).
        if not unit.members and not os.path.isfile(unit.path):
            raise DataError(f"{unit.name}: not a regular file (a folder, device or pipe); "
                            "pass files.")
        RUNNERS[unit.kind](unit, schema, options, collector, inputs)
    except Exception as exc:  # one bad file must never stop the scan
        collector.add([unreadable(unit.name, exc)])
        inputs[unit.name] = "unreadable"
        if unit.mask_name is not None and unit.mask_name not in inputs:
            # The mask of an unreadable image is still an input, with why it went unchecked.
            reason = DataError(f"{unit.mask_name}: unreadable: not checked, its image "
                               f"{unit.name} could not be read. Fix the image and rerun.")
            collector.add([unreadable(unit.mask_name, reason)], input=unit.mask_name)
            inputs[unit.mask_name] = "unreadable"
    result = collector.result(unit.index, inputs)
    result.group = unit.group
    return result


def _limits(schema: Schema, options: Options) -> Limits:
    spec = schema.nifti
    if spec is None:
        return options.limits
    return limits_with(spec.max_bytes, spec.max_voxels, base=options.limits)


def volume_feature(schema: Schema) -> str | None:
    """The feature NIfTI voxels are judged as: ``nifti.feature``, else the first feature."""
    if schema.nifti is not None and schema.nifti.feature is not None:
        return schema.nifti.feature
    return next(iter(schema.features), None)


def run_nifti_unit(unit: Unit, schema: Schema, options: Options, collector: ScanCollector,
               inputs: dict[str, InputStatus]) -> None:
    from datacheck.readers.nifti import read_nifti
    from datacheck.rules.medical import nifti_header_violations
    from datacheck.scan.volume import (
        element_shape,
        foreground,
        foreground_percentiles,
        summarize_element,
    )

    spec = schema.nifti or NiftiSpec()
    limits = _limits(schema, options)
    name = volume_feature(schema)
    volume = read_nifti(unit.at(unit.path), limits, spec.scaling, source=unit.name,
                        root=unit.root)
    found = nifti_header_violations(spec, volume.header, name or "nifti")
    collector.add(found)
    if any(v.code == "intent" for v in found):
        inputs[unit.name] = "violating"  # not an image volume: its voxels are not judged
        return
    pairs = schema.pairs or PairSpec()
    # The mask is read after the image is freed; keep only the foreground bitmap it needs.
    fg = foreground(volume.data) if unit.mask is not None and pairs.measures_coverage \
        else None
    if spec.outlier_z is not None:
        stats = foreground_percentiles(volume.data)
        if stats is not None:
            collector.scan_stats[unit.name] = stats
    if name is not None:
        shape = element_shape(volume.data.shape, schema.features[name])
        found += collector.add_element(name, shape, dtype_name(volume.data),
                                       summarize_element(volume.data, shape), unit.name)
    header = volume.header
    # Every volume gets a preview (the merge keeps the most severe ones): the HTML report
    # draws them from the report and never reads the file again.
    from datacheck.rules.geometry import affine_sane
    from datacheck.scan.previews import add_outline, preview

    affine = header.affine if affine_sane(header) else None
    try:
        with np.errstate(all="ignore"):
            slices, info, fg_hist = preview(volume.data, affine)
    except (ValueError, FloatingPointError, OverflowError):  # a picture, never a verdict
        slices, info, fg_hist = [], {}, None
    if slices:
        collector.thumbnails[unit.name] = slices
        collector.previews[unit.name] = info
    if fg_hist is not None:
        collector.foreground = fg_hist if collector.foreground is None \
            else collector.foreground.merge(fg_hist)
    del volume  # free the image before the mask is read
    inputs[unit.name] = "violating" if has_error(found) else "ok"
    if unit.mask is None or unit.mask_name is None:
        return
    from datacheck.rules.medical import pair_violations
    from datacheck.scan.volume import mask_coverage, mask_label_counts

    try:
        mask = read_nifti(unit.at(unit.mask), limits, spec.scaling, source=unit.mask_name,
                          root=unit.root)
    except Exception as exc:
        collector.add([unreadable(unit.mask_name, exc)], input=unit.mask_name)
        inputs[unit.mask_name] = "unreadable"
        return
    mask_found = pair_violations(pairs, header, mask.header, mask_label_counts(mask.data),
                                 pairs.feature or "mask",
                                 None if fg is None else mask_coverage(fg, mask.data))
    collector.add(mask_found, input=unit.mask_name)
    if pairs.feature is not None:
        shape = element_shape(mask.data.shape, schema.features[pairs.feature])
        mask_found += collector.add_element(pairs.feature, shape, dtype_name(mask.data),
                                            summarize_element(mask.data, shape), unit.mask_name,
                                            input=unit.mask_name)
    info["mask"] = unit.mask_name  # its reasons go on the image's card
    # The mask is drawn as an outline over its image, only when both share a grid.
    info["outline"] = mask.data.shape[:3] == header.shape[:3] and bool(slices) \
        and add_outline(slices, mask.data, affine)
    inputs[unit.mask_name] = "violating" if has_error(mask_found) else "ok"


def run_npz_unit(unit: Unit, schema: Schema, options: Options, collector: ScanCollector,
             inputs: dict[str, InputStatus]) -> None:
    from datacheck.readers.npz import read_npz

    arrays = read_npz(unit.at(unit.path), schema, _limits(schema, options), root=unit.root)
    bad, offset = False, 0
    for index, batch in enumerate(iter_batches(arrays, options.batch_size)):
        bad |= has_error(collector.add_batch(batch, index, offset, source=unit.name))
        offset += max((a.shape[0] if a.ndim else 1 for a in batch.values()), default=0)
    bad |= _empty_file(unit, schema, collector, offset)
    inputs[unit.name] = "violating" if bad else "ok"


def _empty_file(unit: Unit, schema: Schema, collector: ScanCollector, elements: int) -> bool:
    """Report a file with zero elements (``empty``); True when it was reported."""
    from datacheck.rules.dataset import empty_violation

    found = empty_violation(schema, elements, unit.name, collector.report.violations)
    if found is not None:
        collector.add([found])
    return found is not None


def run_h5_unit(unit: Unit, schema: Schema, options: Options, collector: ScanCollector,
            inputs: dict[str, InputStatus]) -> None:
    from datacheck.scan.h5scan import scan_h5

    status = scan_h5(unit, schema, options, collector)
    if status == "ok" and collector.elements == 0 and _empty_file(unit, schema, collector, 0):
        status = "violating"
    inputs[unit.name] = status


def _run_external(unit: Unit, schema: Schema, options: Options, collector: ScanCollector,
                  inputs: dict[str, InputStatus]) -> None:
    from datacheck.readers.registry import suffix_of
    from datacheck.scan.paths import CHECKERS

    checker = CHECKERS[suffix_of(unit.path, tuple(CHECKERS))]
    report = checker(Path(unit.path), schema, options.batch_size)
    collector.add(report.violations)
    inputs.update(report.inputs or {unit.name: "violating" if not report.ok else "ok"})


class _Runners(dict[str, "Runner"]):
    """Unit kind -> runner, resolved through the reader registry on first use (a test may
    replace one, as a crash hook does)."""

    def __missing__(self, kind: str) -> Runner:
        from datacheck.readers.registry import by_kind

        runner: Runner = by_kind(kind).handler("runner")
        self[kind] = runner
        return runner


#: Unit kind -> runner; ``external`` runs a checker registered in ``scan.paths.CHECKERS``.
RUNNERS: dict[str, Runner] = _Runners(external=_run_external)
