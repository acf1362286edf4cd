"""Named batches from files and folders, for inference, drift and duplicate detection.

Each reader returns the arrays of one file keyed by name; folders are walked
in sorted order so two runs see the same elements in the same order.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from datacheck.data import iter_batches
from datacheck.errors import DataError
from datacheck.infer.sources import Batch, Source, positional_names

#: A file reader: path -> (arrays keyed by name, names were positional).
FileReader = Callable[[Path], tuple[dict[str, np.ndarray], bool]]

_POSITIONAL_KEY = re.compile(r"arr_\d+")


def read_npz_arrays(path: Path) -> tuple[dict[str, np.ndarray], bool]:
    """Arrays of an .npz (never unpickled); ``arr_0, arr_1`` keys are named by position."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "allow_pickle" in reason or "Object arrays" in reason:
            reason = "it holds pickled Python objects, which datacheck never loads"
        raise DataError(f"{path}: not a readable .npz archive ({reason})") from None
    if not arrays:
        raise DataError(f"{path}: the .npz archive holds no arrays")
    if all(_POSITIONAL_KEY.fullmatch(k) for k in arrays):
        parts = [arrays[f"arr_{i}"] for i in range(len(arrays))]
        names = positional_names([p if p.ndim else p.reshape(1) for p in parts])
        return dict(zip(names, parts, strict=True)), True
    return arrays, False


def readers() -> dict[str, FileReader]:
    """Suffix -> reader for every file type this build can read."""
    from datacheck.infer.volumes import volume_readers

    return {".npz": read_npz_arrays, **volume_readers()}


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def expand(paths: list[str | Path], known: dict[str, FileReader]) -> list[Path]:
    """Files named directly, plus readable files found (recursively, sorted) in folders."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and suffix_of(p) in known)
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
    return out


def open_paths(paths: list[str | Path], batch_size: int) -> Source:
    """One Source over many files: names come from the first file, later files must match."""
    known = readers()
    files = expand(paths, known)
    first_arrays, positional = known[suffix_of(files[0])](files[0])
    names = list(first_arrays)

    def batches() -> Iterator[Batch]:
        for index, path in enumerate(files):
            if index == 0:
                arrays = first_arrays
            else:
                arrays, _ = known[suffix_of(path)](path)
                if positional and len(arrays) == len(names):
                    arrays = dict(zip(names, arrays.values(), strict=True))
            offset = 0
            for part in iter_batches(arrays, batch_size):
                yield Batch(part, str(path), offset)
                offset += max((a.shape[0] if a.ndim else 1 for a in part.values()), default=0)

    description = str(paths[0]) if len(paths) == 1 else f"{len(files)} files"
    return Source(names, positional, batches(), description)
