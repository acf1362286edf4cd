"""Turn what ``fit_stats`` is given into a stream of numpy batches.

Accepts numpy arrays (cut into slices so memory stays bounded), dicts of
arrays, iterables of batches, tf.data datasets, and files: NIfTI
(``.nii``/``.nii.gz``, one volume = one element, read channels-last), HDF5
(``.h5``/``.hdf5``, one dataset read in slices), ``.npy`` (memory-mapped) and
``.npz``. Readers only produce arrays; nothing here judges.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from datacheck.errors import DataError, require
from datacheck.readers.registry import format_of, stem_of

#: Values per slice when a big array or file is read in parts.
SLICE_VALUES = 1 << 23

#: A batch, its foreground mask (or None) and where it came from.
Part = tuple[np.ndarray, np.ndarray | None, str]



def is_tf_dataset(data: Any) -> bool:
    """True for a tf.data.Dataset, without importing TensorFlow."""
    return type(data).__module__.startswith("tensorflow") and hasattr(data, "as_numpy_iterator")


def _slices(arr: Any, mask: np.ndarray | None, where: str) -> Iterator[Part]:
    shape = tuple(arr.shape)
    per_element = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    step = max(1, SLICE_VALUES // max(per_element, 1))
    if len(shape) == 0 or shape[0] <= step:
        yield np.asarray(arr), None if mask is None else np.asarray(mask), where
        return
    for start in range(0, shape[0], step):
        part_mask = None if mask is None else np.asarray(mask[start:start + step])
        yield np.asarray(arr[start:start + step]), part_mask, f"{where}[{start}:{start + step}]"


def _pick(item: Any, feature: str | int | None, where: str) -> Any:
    if isinstance(item, Mapping):
        if feature is None:
            if len(item) != 1:
                raise DataError(f"{where}: the batch is a dict with keys {sorted(item)}; "
                                "pass feature=<key> to say which one to fit.")
            return next(iter(item.values()))
        if feature not in item:
            raise DataError(f"{where}: the batch has no {feature!r} (keys: {sorted(item)}). "
                            "Pass one of those as feature=.")
        return item[feature]
    if isinstance(item, (tuple, list)):
        index = feature if isinstance(feature, int) else 0
        if index >= len(item):
            raise DataError(f"{where}: the batch has {len(item)} parts; feature={feature} is "
                            "out of range.")
        return item[index]
    return item


def _nifti(path: Path, mask_path: Path | None = None) -> Iterator[Part]:
    """One volume as one channels-last element, read through the guarded reader.

    With ``mask_path`` the mask's non-zero voxels are the foreground (on the
    same grid, or a ``mask_mismatch`` error).
    """
    volume = _read(path).astype(np.float32, copy=False)
    if volume.ndim == 3:
        volume = volume[..., None]
    if volume.ndim != 4:
        raise DataError(f"{path}: rank: NIfTI volume has shape {volume.shape}; expected 3-D "
                        "(X, Y, Z) or 4-D (X, Y, Z, channels).")
    keep = None
    if mask_path is not None:
        mask = _read(mask_path)
        while mask.ndim > 3 and mask.shape[-1] == 1:
            mask = mask[..., 0]
        if mask.shape != volume.shape[:3]:
            raise DataError(f"{mask_path}: mask_mismatch: mask grid {mask.shape} differs from "
                            f"its image {volume.shape[:3]} ({path}). Resample the mask onto the "
                            "image (order=0) or pair the right files.")
        keep = (mask != 0)[None]
    yield volume[None], keep, str(path)


def _read(path: Path) -> np.ndarray:
    require("nibabel", "medical", "Reading NIfTI files")
    from datacheck.errors import DatacheckError
    from datacheck.readers.nifti import read_nifti

    # Through the gate and the size guards, like every reader (scaling applied, as get_fdata).
    try:
        return read_nifti(path).data
    except DatacheckError as exc:  # the reader's one line names the file and the problem
        text = str(exc).removeprefix(f"{path}: ")
        raise DataError(f"{path}: unreadable: {text}") from None


def mask_of(path: Path, suffix: str = "_mask") -> Path:
    """The mask beside a NIfTI image: NAME<suffix>.nii[.gz] (either extension).

    >>> mask_of(Path("sub-01.nii.gz")).name  # doctest: +SKIP
    'sub-01_mask.nii.gz'
    """
    from datacheck.readers.pairing import mask_beside

    found = mask_beside(path, suffix)
    if found:
        return found[0]
    raise DataError(f"{path}: missing_file: foreground='mask' needs its mask "
                    f"{stem_of(path)}{suffix}.nii[.gz] next to it, or pass (image, mask) path "
                    "pairs.")


def _hdf5(path: Path, key: str | None) -> Iterator[Part]:
    require("h5py", "medical", "Reading HDF5 files")
    from datacheck.readers.hdf5 import open_h5

    try:
        handle = open_h5(path)
    except DataError as exc:
        raise DataError(f"{path}: unreadable: {exc}") from None
    with handle:
        names: list[str] = []
        handle.visititems(lambda n, obj: names.append(n) if hasattr(obj, "shape") else None)
        if key is None and len(names) != 1:
            raise DataError(f"{path}: holds datasets {names}; pass key=<name> to pick one.")
        name = key if key is not None else names[0]
        if name not in names:
            raise DataError(f"{path}: has no dataset {name!r} (it has {names}). Pass one of "
                            "those as key=.")
        from datacheck.readers.h5chunks import open_dataset
        from datacheck.readers.hdf5 import describe, readable_guard

        # Described first: data in other files is refused, or read through the gate.
        info = describe(handle, "/" + name, str(path))
        if info is None:
            raise DataError(f"{path}: has no dataset {name!r}.")
        readable_guard(str(path), info)
        yield from _slices(open_dataset(handle, info), None, f"{path}:{name}")


def _file(path: Path, key: str | None, paired: bool = False,
          mask: Path | None = None) -> Iterator[Part]:

    if not path.exists():
        raise DataError(f"{path}: missing_file: no such file. Check the path.")
    fmt = format_of(path)
    kind = fmt.kind if fmt is not None else None
    if kind == "nifti":
        yield from _nifti(path, mask if mask is not None else mask_of(path) if paired else None)
    elif kind == "h5":
        yield from _hdf5(path, key)
    elif kind == "npy":
        from datacheck.readers.npy import read_npy

        yield from _slices(read_npy(path), None, str(path))
    elif kind == "npz":
        from datacheck.readers.npz import open_npz

        archive = open_npz(path)  # members inflate slice by slice, never unpickled
        keys = list(archive)
        if key is None and len(keys) != 1:
            raise DataError(f"{path}: holds arrays {keys}; pass key=<name> to pick one.")
        if (key or keys[0]) not in archive:
            raise DataError(f"{path}: has no array {key!r} (it has {keys}). Pass one of those "
                            "as key=.")
        yield from _slices(archive[key or keys[0]], None, f"{path}:{key or keys[0]}")
    else:
        raise DataError(f"{path}: cannot fit statistics on this file type; use .nii, .nii.gz, "
                        ".h5, .hdf5, .npy or .npz, or pass arrays.")


def _file_or_skip(path: Path, key: str | None, paired: bool, mask_path: Path | None,
                  unreadable: dict[str, str] | None) -> Iterator[Part]:
    """``_file``; with ``unreadable``, a file that cannot be opened is noted there and skipped.

    Only failures before the file's first part are skipped, so nothing of a file that
    broke half-way is ever merged silently (those still raise).
    """
    parts = _file(path, key, paired, mask_path)
    if unreadable is None:
        yield from parts
        return
    try:
        first = next(parts)
    except StopIteration:
        return
    except DataError as exc:
        unreadable[str(path)] = str(exc)
        return
    yield first
    yield from parts


def iter_parts(data: Any, *, feature: str | int | None = None, mask: Any = None,
               paired: bool = False, key: str | None = None,
               unreadable: dict[str, str] | None = None) -> Iterator[Part]:
    """Yield ``(batch, mask, where)`` from arrays, iterables, tf.data or files.

    ``mask`` is a foreground array for array data; with ``paired`` every item
    of an iterable is ``(batch, mask)``. ``unreadable``: files of a list of
    paths that cannot be read are recorded there (path -> reason) and skipped.

    >>> [w for _, _, w in iter_parts(np.zeros((2, 3)))]
    ['<array>']
    """
    if isinstance(data, (str, Path)):
        yield from _file(Path(data), key, paired)
        return
    if isinstance(data, np.ndarray):
        if mask is not None and np.shape(mask)[0] != data.shape[0]:
            raise DataError(f"<array>: mask_mismatch: mask has {np.shape(mask)[0]} elements, "
                            f"data has {data.shape[0]}. Pass one mask per element.")
        yield from _slices(data, None if mask is None else np.asarray(mask), "<array>")
        return
    if isinstance(data, Mapping):
        yield from _slices(np.asarray(_pick(data, feature, "<dict>")), None, "<dict>")
        return
    if is_tf_dataset(data):
        data = data.as_numpy_iterator()
    if not isinstance(data, Iterable):
        raise DataError(f"cannot fit statistics on a {type(data).__name__}; pass a numpy array, "
                        "an iterable of batches, a tf.data.Dataset or file paths.")
    for index, item in enumerate(data):
        where = f"batch {index}"
        if isinstance(item, (str, Path)):
            yield from _file_or_skip(Path(item), key, paired, None, unreadable)
        elif paired and isinstance(item, (tuple, list)) and len(item) == 2 \
                and all(isinstance(p, (str, Path)) for p in item):
            yield from _file_or_skip(Path(item[0]), key, paired, Path(item[1]), unreadable)
        elif paired:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise DataError(f"{where}: foreground='mask' needs (batch, mask) pairs, got "
                                f"{type(item).__name__}.")
            yield np.asarray(_pick(item[0], feature, where)), np.asarray(item[1]), where
        else:
            yield np.asarray(_pick(item, feature, where)), None, where
