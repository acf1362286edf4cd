"""Named batches from files and folders, for inference, drift and duplicate detection.

Each file type has an opener that returns a :class:`Source` for one file;
folders are walked in sorted order so two runs see the same elements in the
same order. NIfTI images and their ``NAME_mask`` files are read as pairs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacheck.data import iter_batches
from datacheck.errors import DataError
from datacheck.infer.sources import Batch, Source, positional_names
from datacheck.readers.registry import suffix_of, suffixes

if TYPE_CHECKING:
    from datacheck.report.report import InputStatus


#: Opens one file (with its mask, if paired) as a Source: (path, mask, batch_size).
Opener = Callable[[Path, Path | None, int], Source]

_POSITIONAL_KEY = re.compile(r"arr_\d+")
_TABLES = suffixes("manifest")
#: Suffix of mask files next to their images (as in the schema's ``pairs.mask_suffix``).
MASK_SUFFIX = "_mask"


def read_npz_arrays(path: Path) -> tuple[dict[str, Any], bool]:
    """Arrays of an .npz (never unpickled); ``arr_0, arr_1`` keys are named by position."""
    from datacheck.readers.npz import open_npz

    # Headers checked against the size limits before anything is inflated; members are
    # read batch by batch (NpzRows), never unpickled.
    arrays = open_npz(path)
    if not arrays:
        raise DataError(f"{path}: the .npz archive holds no arrays")
    if all(_POSITIONAL_KEY.fullmatch(k) for k in arrays):
        parts = [arrays[f"arr_{i}"] for i in range(len(arrays))]
        # Decided from a first batch (members are read lazily, see readers/npz.py).
        names = positional_names([p[:4096] if p.ndim else p.reshape(1) for p in parts])
        return dict(zip(names, parts, strict=True)), True
    return arrays, False


def open_npz(path: Path, mask: Path | None, batch_size: int) -> Source:
    arrays, positional = read_npz_arrays(path)

    def batches() -> Iterator[Batch]:
        offset = 0
        for part in iter_batches(arrays, batch_size):
            yield Batch(part, str(path), offset)
            offset += max((a.shape[0] if a.ndim else 1 for a in part.values()), default=0)

    return Source(list(arrays), positional, batches(), str(path))


def openers() -> dict[str, Opener]:
    """Suffix -> opener for every format in the reader registry that infer can read."""
    from datacheck.readers.registry import FORMATS

    return {suffix: fmt.handler("opener") for fmt in FORMATS if fmt.opener is not None
            for suffix in fmt.suffixes}


def _pairs(files: list[Path]) -> list[tuple[Path, Path | None]]:
    """Images with their ``NAME_mask`` NIfTI file (same folder); unpaired masks stay images."""
    from datacheck.readers.pairing import by_suffix, pair_files

    found = pair_files([f for f in files if suffix_of(f) in suffixes("nifti")],
                       by_suffix(MASK_SUFFIX))
    masks_of = {image: masks[0] for image, masks in found.pairs if masks}
    paired = {mask for _, masks in found.pairs for mask in masks}
    return [(f, masks_of.get(f)) for f in files if f not in paired]


def expand(paths: list[str | Path], known: dict[str, Opener],
           problems: dict[str, Any] | None = None) -> list[tuple[Path, Path | None]]:
    """Files named directly, plus readable files found (recursively, sorted) in folders.

    A path that cannot be used (missing, no reader, a folder without data) is
    recorded in ``problems`` and the rest go on; with no ``problems`` dict, or
    when nothing usable is left, it raises DataError.
    """
    out: list[Path] = []
    found_problems: dict[str, Any] = {}
    for raw in paths:
        path = Path(raw)
        try:
            out.extend(_expand_one(path, known))
        except DataError as exc:
            if problems is None:
                raise
            from datacheck.rules.files import unreadable
            from datacheck.scan.plan import display

            found_problems[display(path)] = unreadable(display(path), exc)
    if problems is not None:
        problems.update(found_problems)
        if not out:
            reasons = "; ".join(v.message for v in found_problems.values())
            raise DataError(f"no readable input to infer from: {reasons}")
    return _pairs(out)


def _expand_one(path: Path, known: dict[str, Opener]) -> list[Path]:
    if path.is_dir():
        from datacheck.scan.images import is_image

        if any(is_image(p) for p in path.rglob("*") if p.is_file()):
            return [path]  # an image folder is one source: its labels come from its layout
        from datacheck.infer.dicom import dicom_folders

        series = dicom_folders(path)
        if series:
            return series  # each folder of DICOM slices is one series, one volume
        # Tables inside a data folder (participants.tsv...) are not manifests to expand.
        found = sorted(p for p in path.rglob("*") if p.is_file() and suffix_of(p) in known
                       and suffix_of(p) not in _TABLES
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not found:
            raise DataError(f"{path}: the folder holds no files datacheck can read "
                            f"({', '.join(sorted(known))}).")
        return found
    if path.is_file():
        if suffix_of(path) not in known:
            raise DataError(f"{path}: no reader for '{suffix_of(path) or path.name}' files. "
                            f"Supported: {', '.join(sorted(known))}.")
        return [path]
    raise DataError(f"{path}: no such file or folder. Check the path.")


def open_paths(paths: list[str | Path], batch_size: int) -> Source:
    """One Source over many files: names come from the first readable file, later files must
    match. A file that cannot be opened or read is recorded in ``Source.problems`` (its
    status in ``Source.inputs``) and the read goes on with the rest.
    """
    from datacheck.rules.files import unreadable
    from datacheck.scan.plan import display

    known = openers()
    problems: dict[str, Any] = {}
    files = expand(paths, known, problems)
    inputs: dict[str, InputStatus] = {name: "unreadable" for name in problems}

    def fail(path: Path, exc: Exception) -> None:
        name = display(path)
        problems[name] = unreadable(name, exc)
        inputs[name] = "unreadable"

    def opened(path: Path, mask: Path | None) -> Source | None:
        try:
            if path.is_dir():  # an image folder or a DICOM series (see _expand_one)
                from datacheck.infer.dicom import dicom_files, open_dicom_series
                from datacheck.infer.images import open_image_folder

                if dicom_files(path):
                    return open_dicom_series(path, mask, batch_size)
                return open_image_folder(path, mask, batch_size)
            return known[suffix_of(path)](path, mask, batch_size)
        except Exception as exc:  # one bad file must never stop inference
            fail(path, exc)
            return None

    first: Source | None = None
    first_index = 0
    while first is None and first_index < len(files):
        first = opened(*files[first_index])
        first_index += first is None
    if first is None:
        reasons = "; ".join(v.message for v in problems.values())
        raise DataError(f"no readable input to infer from: {reasons}")
    head = first

    def batches() -> Iterator[Batch]:
        for index, (path, mask) in enumerate(files[first_index:], start=first_index):
            source = head if index == first_index else opened(path, mask)
            if source is None:
                continue
            rename = dict(zip(source.names, head.names, strict=False)) if (
                head.positional and source.positional
                and len(source.names) == len(head.names)) else {}
            try:
                for batch in source.batches:
                    if rename:
                        batch.arrays = {rename.get(k, k): v for k, v in batch.arrays.items()}
                        batch.headers = {rename.get(k, k): v for k, v in batch.headers.items()}
                    yield batch
            except Exception as exc:  # a truncated file fails while read: note it, go on
                fail(path, exc)
                continue
            inputs.setdefault(display(path), "ok")
            # A manifest's rows are inputs of their own (read or not, with the reason).
            inputs.update(source.inputs)
            problems.update(source.problems)

    description = str(paths[0]) if len(paths) == 1 else f"{len(files)} files"
    return Source(head.names, head.positional, batches(), description, head.sections,
                  inputs, problems)
