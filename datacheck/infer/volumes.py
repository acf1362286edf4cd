"""Volume files for inference and drift: NIfTI (with masks) and HDF5, via datacheck.readers.

NIfTI voxels become one element of ``volume`` (a channel axis is added to 3D
volumes, as the ``DHWC`` schemas expect) and their headers are counted:
orientation, spacing, on-disk dtype and dimensionality. HDF5 files yield
their batched datasets slab by slab, never whole.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from datacheck.errors import DataError
from datacheck.infer.sources import Batch, Source


def nifti_headers(header: Any) -> dict[tuple[str, str], int]:
    """Header facts counted per file: orientation, spacing (mm), on-disk dtype, ndim.

    Spacing is the affine's column norms in mm (``rules.geometry.spacing_mm``),
    as the spacing rule judges it, not pixdim alone.
    """
    from datacheck.rules.geometry import affine_sane, axcodes, spacing_mm
    from datacheck.rules.medical import effective_ndim

    ndim = effective_ndim(header.shape)
    zooms = [abs(float(z)) for z in header.zooms[:3]]
    # A header without 3 finite positive pixdims (NaN, a 1-D image) declares no spacing: its
    # raw pixdims are recorded, and infer notes them instead of declaring the affine's.
    sane = len(zooms) == 3 and all(math.isfinite(z) and z > 0 for z in zooms)
    spacing = (spacing_mm(header) if sane else None) or zooms
    facts = {("dtype", header.dtype): 1, ("ndim", str(ndim)): 1,
             ("spacing", "x".join(f"{z:.6g}" for z in spacing)): 1}
    if affine_sane(header):
        facts[("orientation", axcodes(header.affine))] = 1
    return facts


def as_element(data: np.ndarray) -> np.ndarray:
    """Voxels as one element: 3D volumes get a channel axis; trailing size-1 axes fold."""
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    return data[..., None] if data.ndim == 3 else data


def open_nifti(path: Path, mask: Path | None, batch_size: int,
               root: Path | None = None) -> Source:
    """A volume (and its mask) as one element; with ``root``, both are read inside it."""
    from datacheck.readers.nifti import read_nifti

    names = ["volume"] + (["mask"] if mask is not None else [])

    def batches() -> Iterator[Batch]:
        volume = read_nifti(path, root=root)
        arrays = {"volume": as_element(volume.data)[None]}
        headers = {"volume": nifti_headers(volume.header)}
        if mask is not None:
            from datacheck.scan.volume import mask_label_counts

            masked = read_nifti(mask, root=root)
            arrays["mask"] = as_element(masked.data)[None]
            headers["mask"] = nifti_headers(masked.header)
            counts = mask_label_counts(masked.data).counts
            if len(counts) <= 1024:
                headers["mask"].update({("mask_value", str(v)): 1 for v in counts})
        yield Batch(arrays, str(path), 0, headers, single=True)

    return Source(names, False, batches(), str(path))


def _h5_datasets(handle: Any) -> list[Any]:
    import h5py

    from datacheck.readers.hdf5 import describe

    paths: list[str] = []
    handle.visititems(lambda name, obj: paths.append("/" + name)
                      if isinstance(obj, h5py.Dataset) else None)
    # visititems never crosses an external link: describe each, so it is refused with its
    # reason (or read through the gate with --allow-external), never silently left out.
    handle.visititems_links(lambda name, link: paths.append("/" + name)
                            if isinstance(link, h5py.ExternalLink) else None)
    infos = [describe(handle, p) for p in sorted(paths)]
    # Datasets the reader refuses (object dtypes, never-written rows) are not data to learn
    # a schema from; the others in the file still are.
    return [i for i in infos if i is not None and i.dataset and i.shape and not i.refusal]


def open_hdf5(path: Path, mask: Path | None, batch_size: int) -> Source:
    """Batched datasets of the group holding the largest one, read together in slabs."""
    from datacheck.readers.guards import active_limits
    from datacheck.readers.h5chunks import chunk_guard
    from datacheck.readers.hdf5 import open_h5, read_rows, slab_rows
    from datacheck.schema.medical import HDF5Spec

    with open_h5(path) as handle:
        infos = _h5_datasets(handle)
        subjects = _per_subject(infos)
        if subjects:
            return _subject_source(path, subjects)
        infos = [i for i in infos if not _id_like(handle, i)]
    if not infos:
        raise DataError(f"{path}: the HDF5 file holds no datasets with rows to infer from")
    biggest = max(infos, key=lambda i: int(np.prod(i.shape)) * i.itemsize)
    group = biggest.path.rsplit("/", 1)[0]
    chosen = [i for i in infos if i.path.rsplit("/", 1)[0] == group
              and i.shape[0] == biggest.shape[0]]
    names: dict[str, Any] = {}
    for info in chosen:
        base = info.path.rsplit("/", 1)[1] or "data"
        key, k = base, 2
        while key in names:
            key, k = f"{base}_{k}", k + 1
        names[key] = info
        chunk_guard(str(path), info, active_limits())  # any read inflates a row of chunks
    slab = HDF5Spec().slab_bytes
    step = max(1, min(min(slab_rows(i, slab) for i in chosen), batch_size * 64))
    step = max(batch_size, step - step % batch_size)

    def batches() -> Iterator[Batch]:
        with open_h5(path) as handle:
            for start in range(0, biggest.shape[0], step):
                stop = min(start + step, biggest.shape[0])
                rows = {k: read_rows(handle, i, start, stop, str(path)) for k, i in names.items()}
                for b in range(0, stop - start, batch_size):
                    yield Batch({k: v[b:b + batch_size] for k, v in rows.items()}, str(path),
                                start + b)

    datasets = {k: {"path": i.path} for k, i in names.items()}
    return Source(list(names), False, batches(), str(path), {"hdf5": {"datasets": datasets}})


#: Dataset names that identify examples; never features or labels.
ID_DATASETS = frozenset({"id", "ids", "uid", "example_id", "image_id", "subject", "subject_id",
                         "subjects", "participant_id", "patient_id", "case_id", "name", "names",
                         "filename", "filenames", "key", "keys"})


def _id_like(handle: Any, info: Any) -> bool:
    """An id dataset: named like one, or 1-D strings/integers that never repeat (one per row)."""
    base = info.path.rsplit("/", 1)[-1].lower()
    if base in ID_DATASETS:
        return True
    if len(info.shape) != 1 or info.shape[0] < 50 or np.dtype(info.dtype).kind not in "iuSUO":
        return False
    from datacheck.readers.h5chunks import open_dataset

    values = np.asarray(open_dataset(handle, info)[()])
    # Labels repeat (a few classes over many rows); ids do not.
    return len(np.unique(values)) == values.shape[0]


def _per_subject(infos: list[Any]) -> dict[str, list[Any]]:
    """``{'/*/T1w': [infos]}`` when the file is one group per subject holding volumes."""
    groups: dict[str, list[Any]] = {}
    for info in infos:
        parts = info.path.split("/")
        if len(parts) == 3 and len(info.shape) >= 3:  # /<subject>/<name>, a volume
            groups.setdefault(f"/*/{parts[2]}", []).append(info)
    return {pattern: found for pattern, found in groups.items() if len(found) >= 2}


def _subject_source(path: Path, subjects: dict[str, list[Any]]) -> Source:
    """One element per subject and volume name (``batched: false`` wildcard datasets)."""
    from datacheck.readers.hdf5 import open_h5, read_rows

    names = {pattern.rsplit("/", 1)[1]: found for pattern, found in subjects.items()}

    def batches() -> Iterator[Batch]:
        with open_h5(path) as handle:
            for offset, key in enumerate(sorted({i.path.split("/")[1] for f in names.values()
                                                 for i in f})):
                arrays = {}
                for name, found in names.items():
                    info = next((i for i in found if i.path.split("/")[1] == key), None)
                    if info is not None:
                        arrays[name] = as_element(read_rows(handle, info, 0, info.shape[0],
                                                            str(path)))[None]
                if arrays:
                    yield Batch(arrays, f"{path}:/{key}", offset, single=True)

    datasets = {name: {"path": f"/*/{name}", "batched": False} for name in names}
    return Source(list(names), False, batches(), str(path), {"hdf5": {"datasets": datasets}})
