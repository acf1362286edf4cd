"""Subjects with several images: every image of a manifest row (and optionally of a subject),
or of a subject found by a folder pattern, on one voxel grid, read from headers only (TorchIO's
subject consistency checks).

A row's first image column is the reference; ``other_image_columns`` and
the mask are compared with it. With ``manifest.same_grid_per_subject``
every row of a subject (its sessions) is compared with the subject's first
row, for coregistered datasets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacheck.errors import DatacheckError
from datacheck.readers.guards import Limits
from datacheck.readers.registry import suffix_of, suffixes
from datacheck.report.violation import Violation

if TYPE_CHECKING:
    from datacheck.readers.nifti import NiftiHeader
    from datacheck.rules.manifest import ManifestEntry
    from datacheck.schema.model import Schema


def subject_violations(entries: list[ManifestEntry], schema: Schema,
                       limits: Limits | None = None) -> list[Violation]:
    """Grid and affine mismatches between the images of each row (and subject, if asked).

    Headers that cannot be read are skipped here: the unit that reads the file
    reports it as unreadable with its reason.
    """
    from datacheck.rules.geometry import consistency_violations
    from datacheck.schema.medical import ManifestSpec

    spec = schema.manifest or ManifestSpec()
    per_subject = spec.same_grid_per_subject and spec.subject_column is not None
    if not spec.other_image_columns and not per_subject:
        return []
    tolerance = schema.nifti.affine_tolerance if schema.nifti is not None else 0.01
    out: list[Violation] = []
    first_of: dict[Any, NiftiHeader] = {}
    for entry in entries:
        reference = _header(entry.image, limits, entry.root)
        if reference is None:
            continue
        for column, path in entry.others.items():
            other = _header(path, limits, entry.root)
            if other is not None:
                out += consistency_violations(reference, other, tolerance, column,
                                              f"row ({entry.where})")
        if per_subject and entry.subject is not None:
            first = first_of.setdefault(entry.subject, reference)
            if first is not reference:
                out += consistency_violations(first, reference, tolerance,
                                              spec.image_column, f"subject {entry.subject}")
    return out


def folder_subject_violations(folder: Path, files: list[tuple[Path, str]], schema: Schema,
                              limits: Limits | None = None) -> list[Violation]:
    """Grid and affine mismatches among the images of each subject under ``folder``.

    ``nifti.subject_pattern`` is matched against each file's path relative to
    ``folder`` (POSIX separators, extension stripped); files with the same
    values of ``nifti.same_grid_within`` are one group, each compared with the
    image most of the group agrees with. ``files`` are (path, extension).
    """
    from datacheck.rules.geometry import consistency_violations
    from datacheck.scan.bids import pattern_regex
    from datacheck.scan.units import volume_feature

    spec = schema.nifti
    if spec is None or spec.subject_pattern is None:
        return []
    regex = pattern_regex(spec.subject_pattern, repeats=True)
    groups: dict[tuple[str, ...], list[Path]] = {}
    for path, suffix in sorted(files):
        relative = path.relative_to(folder).as_posix()
        match = regex.fullmatch(relative[: -len(suffix)] if suffix else relative)
        if match is not None:
            key = tuple(match[e] or "" for e in spec.same_grid_within)
            groups.setdefault(key, []).append(path)
    feature = volume_feature(schema) or "volume"
    out: list[Violation] = []
    for key, paths in groups.items():
        label = ", ".join(f"{e} {v}" for e, v in zip(spec.same_grid_within, key, strict=True)
                          if v)
        headers = [h for h in (_header(p, limits) for p in paths) if h is not None]
        # The reference is the image most others agree with (the first such in path
        # order), so the odd one out is the one named, whatever its file name sorts as.
        agree = [sum(not consistency_violations(h, o, spec.affine_tolerance, feature, "")
                     for o in headers) for h in headers]
        reference = headers[agree.index(max(agree))] if headers else None
        for other in headers:
            if other is not reference and reference is not None:
                out += consistency_violations(reference, other, spec.affine_tolerance,
                                              feature, label or "group")
    return out


def _header(path: Any, limits: Limits | None, root: Any = None) -> NiftiHeader | None:
    from datacheck.readers.nifti import read_nifti_header
    from datacheck.scan.plan import display

    if suffix_of(path) not in suffixes("nifti"):
        return None
    # Opened only inside the row's root (the gate); absolute, so not read relative to the root.
    at = os.path.join(os.getcwd(), path) if root is not None else path
    try:  # named as the report names the input
        return read_nifti_header(at, limits, source=display(path), root=root)
    except DatacheckError:
        return None
