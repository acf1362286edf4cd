"""Turn the paths a user gave (files, folders, manifests) into scan units.

Planning runs in the parent and never opens a volume: it walks folders,
pairs images with masks, reads and judges manifest tables, and records
everything it refuses (missing paths, empty folders, paths escaping the
dataset root) so that every input ends up in the report.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from datacheck.errors import DatacheckError
from datacheck.readers.guards import Limits
from datacheck.readers.manifest import MANIFEST_SUFFIXES, printable
from datacheck.report.violation import Violation
from datacheck.scan.collect import has_error
from datacheck.scan.units import Unit, unreadable
from datacheck.schema.medical import ManifestSpec
from datacheck.schema.model import Schema

#: Suffix -> unit kind for the readers of this package (longest suffix wins).
UNIT_KINDS: dict[str, str] = {".nii.gz": "nifti", ".nii": "nifti", ".h5": "h5", ".hdf5": "h5",
                              ".npz": "npz"}


@dataclass
class Plan:
    """Units to run, plus what planning already decided (violations, input statuses)."""

    units: list[Unit] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    skipped: int = 0
    seen: set[str] = field(default_factory=set)

    def refuse(self, name: str, violation: Violation, status: str = "unreadable") -> None:
        self.violations.append(violation)
        self.inputs[name] = status

    def add(self, kind: str, path: Path, mask: Path | None = None,
            root: Path | None = None) -> None:
        key = os.fspath(path)
        if key in self.seen:
            return
        self.seen.add(key)
        self.units.append(Unit(len(self.units), kind, key, display(path),
                               None if mask is None else os.fspath(mask),
                               None if mask is None else display(mask),
                               None if root is None else os.fspath(root)))


def display(path: Path | str) -> str:
    """A path as one printable line: undecodable bytes and control characters become escapes.

    >>> display("a\\nb.nii")
    'a\\\\nb.nii'
    """
    # A newline, tab or NUL in a file name would break the report's one line per input.
    return printable(os.fsencode(path).decode("utf-8", "backslashreplace"))


def suffix_of(name: str, known: Sequence[str]) -> str | None:
    """The longest known suffix ``name`` ends with (case-insensitive), e.g. '.nii.gz'."""
    lower = name.lower()
    return next((s for s in sorted(known, key=len, reverse=True) if lower.endswith(s)), None)


def plan_scan(paths: Sequence[str | Path], schema: Schema, kinds: dict[str, str],
              limits: Limits) -> Plan:
    """Expand ``paths`` into units; ``kinds`` maps suffix -> unit kind."""
    plan = Plan()
    for raw in paths:
        path = Path(raw)
        name = display(path)
        if not path.exists():
            plan.refuse(name, Violation("missing_file", "*", f"{name}: missing_file: no such file "
                                        "or folder. Check the path.", where=name))
        elif path.is_dir():
            _plan_folder(plan, path, schema, kinds)
        elif suffix_of(path.name, MANIFEST_SUFFIXES):
            _plan_manifest(plan, path, schema, kinds, limits)
        elif (suffix := suffix_of(path.name, list(kinds))) is not None:
            plan.add(kinds[suffix], path)
        else:
            plan.refuse(name, Violation(
                "unreadable", "*", f"{name}: unreadable: no reader for '{path.suffix or path.name}'"
                f" files. Supported: {', '.join(sorted(set(kinds) | set(MANIFEST_SUFFIXES)))}.",
                where=name))
    return plan


def _walk(folder: Path) -> list[Path]:
    """Files under ``folder``, sorted, hidden entries skipped, symlinked folders not followed."""
    files: list[Path] = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files += [Path(root) / n for n in sorted(names) if not n.startswith(".")]
    return files


def _plan_folder(plan: Plan, folder: Path, schema: Schema, kinds: dict[str, str]) -> None:
    files = _walk(folder)
    known = [(f, suffix_of(f.name, list(kinds))) for f in files]
    supported = [(f, s) for f, s in known if s is not None]
    plan.skipped += len(files) - len(supported)
    if not supported:
        name = display(folder)
        plan.refuse(name, Violation(
            "unreadable", "*", f"{name}: unreadable: folder holds no {', '.join(sorted(kinds))} "
            f"files ({len(files)} other files skipped). Point at the data folder, or a manifest.",
            where=name))
        return
    if schema.pairs is None:
        for path, suffix in supported:
            plan.add(kinds[suffix], path)
        return
    _pair(plan, supported, schema.pairs.mask_suffix, schema.pairs.required, kinds)


def _pair(plan: Plan, files: list[tuple[Path, str]], mask_suffix: str, required: bool,
          kinds: dict[str, str]) -> None:
    """Pair NAME<ext> with NAME<mask_suffix><ext> (any NIfTI extension on either side)."""
    stems = {(path.parent, path.name[: -len(suffix)]): (path, suffix) for path, suffix in files}
    masks = {key for key in stems if key[1].endswith(mask_suffix) and
             kinds[stems[key][1]] == "nifti"}
    for key, (path, suffix) in stems.items():
        if key in masks:
            image_key = (key[0], key[1][: -len(mask_suffix)])
            if image_key not in stems:
                name = display(path)
                plan.refuse(name, Violation(
                    "missing_file", "image", f"image: missing_file: mask {name} has no image "
                    f"{image_key[1]}.nii[.gz] next to it. Add the image or rename the mask.",
                    where=name), status="violating")
            continue
        mask_key = (key[0], key[1] + mask_suffix)
        if kinds[suffix] != "nifti":
            plan.add(kinds[suffix], path)
            continue
        if mask_key in stems:
            plan.add("nifti", path, stems[mask_key][0])
            continue
        plan.add("nifti", path)
        if required:
            name = display(path)
            plan.refuse(name, Violation(
                "missing_file", "mask", f"mask: missing_file: image {name} has no mask "
                f"{mask_key[1]}.nii[.gz] next to it. Add the mask, or set pairs.required: false.",
                where=name), status="violating")


def _plan_manifest(plan: Plan, path: Path, schema: Schema, kinds: dict[str, str],
                   limits: Limits) -> None:
    from datacheck.readers.manifest import manifest_root, read_manifest
    from datacheck.rules.manifest import judge_manifest

    name = display(path)
    spec = schema.manifest or ManifestSpec()
    try:
        table = read_manifest(path, limits, source=name)
    except DatacheckError as exc:
        plan.refuse(name, unreadable(name, exc))
        return
    root = manifest_root(path, spec.root)
    row_name = "row" if path.suffix.lower() in (".parquet", ".pq") else "line"
    verdict = judge_manifest(spec, schema, table, name, root, row_name)
    plan.violations += verdict.violations
    plan.inputs[name] = "violating" if has_error(verdict.violations) else "ok"
    for refused in verdict.refused:
        plan.inputs.setdefault(display(refused), "unreadable")
    if not spec.check_files:
        return
    for entry in verdict.entries:
        suffix = suffix_of(entry.image.name, list(kinds))
        if suffix is None:
            image = display(entry.image)
            plan.refuse(image, Violation(
                "unreadable", spec.image_column, f"{image}: unreadable: no reader for "
                f"'{entry.image.suffix}' files ({entry.where}). Supported: "
                f"{', '.join(sorted(kinds))}.", where=image))
            continue
        mask = entry.mask if kinds[suffix] == "nifti" else None
        plan.add(kinds[suffix], entry.image, mask, root)
