"""Turn the paths a user gave (files, folders, manifests) into scan units.

Planning runs in the parent and never opens a volume: it walks folders,
pairs images with masks, reads and judges manifest tables, and records
everything it refuses (missing paths, empty folders, paths escaping the
dataset root) so that every input ends up in the report.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from datacheck.errors import DatacheckError
from datacheck.readers.guards import Limits
from datacheck.readers.manifest import MANIFEST_SUFFIXES, printable
from datacheck.readers.registry import is_parquet, stem_of, unit_kinds
from datacheck.readers.registry import suffix_of as registry_suffix_of
from datacheck.report.violation import Violation
from datacheck.rules.files import (
    image_without_mask,
    mask_without_image,
    missing_path,
    no_data_in_folder,
    no_reader,
    unreadable,
)
from datacheck.scan.collect import has_error
from datacheck.scan.units import Unit
from datacheck.schema.medical import ManifestSpec
from datacheck.schema.model import Schema

if TYPE_CHECKING:
    from datacheck.readers.registry import UnitKind
    from datacheck.report.report import InputStatus
    from datacheck.rules.manifest import ManifestEntry

#: Suffix -> unit kind of every format check scans file by file (the reader registry's).
UNIT_KINDS: dict[str, UnitKind] = unit_kinds()


@dataclass
class Plan:
    """Units to run, plus what planning already decided (violations, input statuses).

    ``skipped`` maps each entry a folder walk did not check to why; ``names``
    keeps display names unique, so two paths that print alike stay two inputs.
    """

    units: list[Unit] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    inputs: dict[str, InputStatus] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    seen: set[tuple[str, str | None]] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)

    def name(self, path: Path | str) -> str:
        """The display name of ``path``, made unique among this plan's inputs."""
        key, shown = os.fspath(path), display(path)
        candidate, n = shown, 1
        while self.names.setdefault(candidate, key) != key:
            n += 1
            candidate = f"{shown} [#{n}]"
        return candidate

    def refuse(self, name: str, violation: Violation, status: InputStatus = "unreadable") -> None:
        if violation.input is None:
            violation = replace(violation, input=name)
        self.violations.append(violation)
        # An input refused as unreadable stays so whatever else is said about it.
        if self.inputs.get(name) != "unreadable":
            self.inputs[name] = status

    def skip(self, path: Path, reason: str) -> None:
        self.skipped[self.name(path)] = reason

    def add(self, kind: UnitKind, path: Path, mask: Path | None = None,
            group: str | None = None, root: Path | None = None) -> None:
        key = (os.fspath(path), None if mask is None else os.fspath(mask))
        if key in self.seen:
            return
        self.seen.add(key)
        self.units.append(Unit(len(self.units), kind, key[0], self.name(path), key[1],
                               None if mask is None else self.name(mask), group,
                               None if root is None else os.fspath(root)))


def display(path: Path | str) -> str:
    """A path as one printable line: undecodable bytes and control characters become escapes.

    >>> display("a\\nb.nii")
    'a\\\\nb.nii'
    """
    # A newline, tab or NUL in a file name would break the report's one line per input.
    return printable(os.fsencode(path).decode("utf-8", "backslashreplace"))


def suffix_of(name: str, known: Sequence[str]) -> str | None:
    """The longest of ``known`` that ``name`` ends with (case-insensitive), e.g. '.nii.gz'."""
    return registry_suffix_of(name, tuple(known)) or None


def plan_scan(paths: Sequence[str | Path], schema: Schema, kinds: dict[str, UnitKind],
              limits: Limits) -> Plan:
    """Expand ``paths`` into units; ``kinds`` maps suffix -> unit kind."""
    plan = Plan()
    for raw in paths:
        path = Path(raw)
        name = plan.name(path)
        if not path.exists():
            plan.refuse(name, missing_path(name))
        elif path.is_dir():
            _plan_folder(plan, path, schema, kinds, limits)
        elif suffix_of(path.name, MANIFEST_SUFFIXES):
            _plan_manifest(plan, path, schema, kinds, limits)
        elif (suffix := suffix_of(path.name, list(kinds))) is not None:
            plan.add(kinds[suffix], path)
        else:
            plan.refuse(name, no_reader(name, path.suffix or path.name,
                                        sorted(set(kinds) | set(MANIFEST_SUFFIXES))))
    return plan


def _walk(plan: Plan, folder: Path) -> list[Path]:
    """Files under ``folder``, sorted; every entry not returned is skipped or refused with why.

    Hidden entries are skipped. Symlinks follow the manifest rule: followed when
    the target lies inside the scanned folder (each file and folder once),
    refused when it leaves it. A subfolder that cannot be listed is refused.
    """
    from datacheck.rules.files import folder_unreadable, symlink_broken, symlink_refused

    root = folder.resolve()
    entered: dict[Path, Path] = {root: folder}
    files: list[Path] = []
    real_files: dict[str, Path] = {}  # real path as text: hashing Path objects is slow

    def visit(directory: Path, real_dir: Path) -> None:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            name = plan.name(directory)
            plan.refuse(name, folder_unreadable(name, exc.strerror or type(exc).__name__))
            return
        for entry in entries:
            path = Path(entry.path)
            is_dir = _is_dir(entry)
            if entry.name.startswith("."):
                plan.skip(path, "hidden folder, not entered" if is_dir else "hidden file")
                continue
            real = real_dir / entry.name  # where the entry really is (real_dir is resolved)
            if entry.is_symlink():
                try:
                    real = path.resolve(strict=True)
                except (OSError, RuntimeError) as exc:  # dangling, or a loop
                    name = plan.name(path)
                    plan.refuse(name, symlink_broken(name, getattr(exc, "strerror", None)
                                                     or str(exc) or "a loop"))
                    continue
                if not real.is_relative_to(root):
                    name = plan.name(path)
                    plan.refuse(name, symlink_refused(name, display(real), display(folder)))
                    continue
            if is_dir:
                if real in entered:
                    plan.skip(path, f"folder already scanned as {display(entered[real])} "
                              "(symlink followed once)")
                    continue
                entered[real] = path
                visit(path, real)
                continue
            # The real path, so a file reached through a link (or a linked folder) runs once.
            key = os.fspath(real)
            if key in real_files:
                plan.skip(path, f"same file as {display(real_files[key])} "
                          "(symlink followed, checked once)")
                continue
            real_files[key] = path
            files.append(path)

    visit(folder, root)
    return files


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _plan_folder(plan: Plan, folder: Path, schema: Schema, kinds: dict[str, UnitKind],
                 limits: Limits) -> None:
    from datacheck.rules.files import duplicate_volume

    before = len(plan.skipped)
    files = _walk(plan, folder)
    supported: list[tuple[Path, str]] = []
    images: list[Path] = []
    slices: list[Path] = []
    from datacheck.scan.dicom import is_dicom_name, plan_dicom

    for path in files:
        suffix = suffix_of(path.name, list(kinds))
        if suffix is not None and kinds[suffix] == "images":
            images.append(path)
        elif is_dicom_name(path, schema):
            slices.append(path)
        elif suffix is not None:
            supported.append((path, suffix))
        elif suffix_of(path.name, MANIFEST_SUFFIXES):
            plan.skip(path, "a table inside a data folder is not read as a manifest; pass it "
                      "by name to check it")
        else:
            plan.skip(path, f"no reader for '{path.suffix or path.name}' files")
    if slices:  # DICOM: the slices of each folder are one series, one volume
        plan_dicom(plan, slices)
    if images:  # an image folder: class subfolders or a labels table give the labels
        from datacheck.scan.images import plan_images

        plan_images(plan, folder, images, schema, limits)
    if (images or slices) and not supported:
        return
    if not supported:
        name = plan.name(folder)
        plan.refuse(name, no_data_in_folder(name, list(kinds), len(plan.skipped) - before))
        return
    # NAME.nii beside NAME.nii.gz: two inputs, both checked, each told of the other.
    copies: dict[str, list[Path]] = {}
    for path, suffix in supported:
        if kinds[suffix] == "nifti":
            copies.setdefault(os.fspath(path)[: -len(suffix)], []).append(path)
    for group in copies.values():
        for path in group if len(group) > 1 else []:
            name = plan.name(path)
            plan.refuse(name, duplicate_volume(name, [plan.name(p) for p in group if p != path]),
                        status="violating")
    if schema.nifti is not None and schema.nifti.subject_pattern is not None:
        from datacheck.scan.subjects import folder_subject_violations

        nifti = [(p, s) for p, s in supported if kinds[s] == "nifti"]
        for v in folder_subject_violations(folder, nifti, schema, limits):
            plan.refuse(v.where, v, status="violating")
    if schema.pairs is None:
        for path, suffix in supported:
            plan.add(kinds[suffix], path)
        return
    if schema.pairs.image_pattern is not None and schema.pairs.mask_pattern is not None:
        from datacheck.scan.bids import plan_pattern_pairs

        plan_pattern_pairs(plan, supported, schema.pairs, kinds)
        return
    _pair(plan, supported, schema.pairs.mask_suffix, schema.pairs.required, kinds)


def _pair(plan: Plan, files: list[tuple[Path, str]], mask_suffix: str, required: bool,
          kinds: dict[str, UnitKind]) -> None:
    """Pair NAME<ext> with NAME<mask_suffix><ext> (any NIfTI extension on either side)."""
    from datacheck.readers.pairing import by_suffix, pair_files

    found = pair_files([p for p, s in files if kinds[s] == "nifti"], by_suffix(mask_suffix))
    masks_of = dict(found.pairs)
    orphans = set(found.orphans)
    paired = {mask for masks in masks_of.values() for mask in masks}
    for path, suffix in files:  # in walk order, so inputs are listed as found
        if kinds[suffix] != "nifti":
            plan.add(kinds[suffix], path)
        elif path in orphans:
            name = plan.name(path)
            plan.refuse(name, mask_without_image(name, stem_of(path)[: -len(mask_suffix)]),
                        status="violating")
        elif path in paired:
            continue
        elif masks_of.get(path):
            # A duplicated mask (NAME_mask.nii and .nii.gz): each copy is checked.
            for mask in masks_of[path]:
                plan.add("nifti", path, mask)
        else:
            plan.add("nifti", path)
            if required:
                name = plan.name(path)
                plan.refuse(name, image_without_mask(name, stem_of(path) + mask_suffix),
                            status="violating")


def _plan_manifest(plan: Plan, path: Path, schema: Schema, kinds: dict[str, UnitKind],
                   limits: Limits) -> None:
    from datacheck.readers.manifest import manifest_root, read_manifest
    from datacheck.rules.manifest import judge_manifest

    name = plan.name(path)
    spec = schema.manifest or ManifestSpec()
    try:
        table = read_manifest(path, limits, source=name)
    except DatacheckError as exc:
        plan.refuse(name, unreadable(name, exc))
        return
    root = manifest_root(path, spec.root)
    row_name = "row" if is_parquet(path) else "line"
    verdict = judge_manifest(spec, schema, table, name, root, row_name)
    for refused in verdict.refused:
        refused_name = plan.name(refused)
        plan.inputs.setdefault(refused_name, "unreadable")
        finding = verdict.refused_by.get(refused)
        if finding is not None:  # the table-level finding that names it is its reason
            finding.extra.setdefault("inputs", []).append(refused_name)
    plan.violations += [replace(v, input=name) for v in verdict.violations]
    plan.inputs[name] = "violating" if has_error(verdict.violations) else "ok"
    if not spec.check_files:
        return
    for entry in verdict.entries:
        suffix = suffix_of(entry.image.name, list(kinds))
        if suffix is None:
            image = plan.name(entry.image)
            plan.refuse(image, no_reader(image, entry.image.suffix, list(kinds),
                                         feature=spec.image_column, context=entry.where))
            continue
        mask = entry.mask if kinds[suffix] == "nifti" else None
        split = None if entry.split is None or entry.split != entry.split else \
            f"{name} split {printable(str(entry.split))}"
        plan.add(kinds[suffix], entry.image, mask, split, root)
        for other in entry.others.values():  # T2w, FLAIR...: volumes of the same example
            if (kind := suffix_of(other.name, list(kinds))) is not None:
                plan.add(kinds[kind], other, None, split, root)
    # Files of refused rows (the mask of a missing image) are still accounted for.
    used = {u.path for u in plan.units} | {u.mask for u in plan.units if u.mask}
    for path, reason in verdict.unchecked.items():
        if os.fspath(path) not in used and plan.name(path) not in plan.inputs:
            plan.skip(path, reason)
    _plan_subjects(plan, verdict.entries, schema, limits)


def _plan_subjects(plan: Plan, entries: list[ManifestEntry], schema: Schema,
                   limits: Limits) -> None:
    """Images of one row (or subject) off each other's grid: violating, with the reason."""
    from datacheck.scan.subjects import subject_violations

    for v in subject_violations(entries, schema, limits):
        plan.refuse(v.where, v, status="violating")
