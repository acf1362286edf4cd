"""Named batches from files and folders, for inference, drift and duplicate detection.

Each file type has an opener that returns a :class:`Source` for one file;
folders are walked in sorted order so two runs see the same elements in the
same order. NIfTI images and their ``NAME_mask`` files are read as pairs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from datacheck.data import iter_batches
from datacheck.errors import DataError
from datacheck.infer.sources import Batch, Source, positional_names

#: Opens one file (with its mask, if paired) as a Source: (path, mask, batch_size).
Opener = Callable[[Path, Path | None, int], Source]

_POSITIONAL_KEY = re.compile(r"arr_\d+")
_TABLES = (".csv", ".tsv", ".parquet", ".pq")
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
    """Suffix -> opener for every file type this build can read."""
    from datacheck.infer.manifest import MANIFEST_OPENERS
    from datacheck.infer.volumes import volume_openers

    return {".npz": open_npz, **volume_openers(), **MANIFEST_OPENERS}


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def _stem(path: Path) -> str:
    return path.name[: -len(suffix_of(path))] if suffix_of(path) else path.name


def _pairs(files: list[Path]) -> list[tuple[Path, Path | None]]:
    """Images with their ``NAME_mask`` NIfTI file (same folder); unpaired masks stay images."""
    volumes = {(f.parent, _stem(f)): f for f in files if suffix_of(f) in (".nii", ".nii.gz")}
    masks = {key for key in volumes if key[1].endswith(MASK_SUFFIX)
             and (key[0], key[1][: -len(MASK_SUFFIX)]) in volumes}
    out: list[tuple[Path, Path | None]] = []
    for f in files:
        key = (f.parent, _stem(f))
        if key in masks:
            continue
        mask = volumes.get((key[0], key[1] + MASK_SUFFIX)) if key in volumes else None
        out.append((f, mask))
    return out


def expand(paths: list[str | Path], known: dict[str, Opener]) -> list[tuple[Path, Path | None]]:
    """Files named directly, plus readable files found (recursively, sorted) in folders."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # Tables inside a data folder (participants.tsv...) are not manifests to expand.
            found = sorted(p for p in path.rglob("*") if p.is_file() and suffix_of(p) in known
                           and suffix_of(p) not in _TABLES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise DataError(f"{path}: the folder holds no files datacheck can read "
                                f"({', '.join(sorted(known))}).")
            out.extend(found)
        elif path.is_file():
            if suffix_of(path) not in known:
                raise DataError(f"{path}: no reader for '{suffix_of(path) or path.name}' files. "
                                f"Supported: {', '.join(sorted(known))}.")
            out.append(path)
        else:
            raise DataError(f"{path}: no such file or folder. Check the path.")
    return _pairs(out)


def open_paths(paths: list[str | Path], batch_size: int) -> Source:
    """One Source over many files: names come from the first file, later files must match."""
    known = openers()
    files = expand(paths, known)
    first = known[suffix_of(files[0][0])](files[0][0], files[0][1], batch_size)

    def batches() -> Iterator[Batch]:
        yield from first.batches
        for path, mask in files[1:]:
            source = known[suffix_of(path)](path, mask, batch_size)
            rename = dict(zip(source.names, first.names, strict=False)) if (
                first.positional and source.positional
                and len(source.names) == len(first.names)) else {}
            for batch in source.batches:
                if rename:
                    batch.arrays = {rename.get(k, k): v for k, v in batch.arrays.items()}
                    batch.headers = {rename.get(k, k): v for k, v in batch.headers.items()}
                yield batch

    description = str(paths[0]) if len(paths) == 1 else f"{len(files)} files"
    return Source(first.names, first.positional, batches(), description, first.sections)
