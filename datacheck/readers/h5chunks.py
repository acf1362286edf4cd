"""HDF5 chunks: what one read inflates, the guard on it, and a chunk cache that holds it.

HDF5 inflates every chunk a read touches whole. Its default chunk cache is
1 MiB, so a larger chunk read slab by slab was inflated again for every slab
(a 278 KB file with one 256 MiB chunk took 115 s). Datasets are opened once
per file with a cache of one row of chunks, so each chunk is inflated once;
:func:`chunk_guard` refuses chunks whose row passes ``max_bytes`` first.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from datacheck.readers.guards import Limits, TooLargeError, human_bytes

if TYPE_CHECKING:
    from datacheck.readers.hdf5 import H5Info


def chunk_row_bytes(info: H5Info) -> int:
    """Bytes HDF5 inflates to read any row of a chunked dataset: one row of chunks (0 if none).

    A row read inflates every chunk it touches whole; the chunk cache holds that
    much (see :func:`open_dataset`) so each chunk is inflated once per scan.
    """
    if not info.chunks or not info.shape:
        return 0
    span = math.prod(-(-int(s) // int(c)) * int(c)
                     for s, c in zip(info.shape[1:], info.chunks[1:], strict=True))
    return int(info.chunks[0]) * span * max(info.itemsize, 1)


def chunk_guard(source: str, info: H5Info, limits: Limits) -> None:
    """Refuse a dataset whose row of chunks passes ``max_bytes``: any read inflates it."""
    need = chunk_row_bytes(info)
    if need > limits.max_bytes:
        raise TooLargeError(
            f"{source}:{info.path}: too_large: its chunks {info.chunks} inflate to "
            f"{human_bytes(need)} for any row read, over the limit of {limits.describe()}; "
            "refused before reading. Rechunk it (h5repack -l CHUNK=...), or raise max_bytes.")


#: Fewest chunk-cache slots (a prime); more for wide rows of chunks, so that the chunks of
#: one row (consecutive indices) never evict each other.
_SLOTS_FLOOR = 10_007


def open_dataset(handle: Any, info: H5Info) -> Any:
    """The dataset at ``info.path``, opened once per file with a chunk cache of one chunk row.

    HDF5's default cache is 1 MiB: a larger chunk is inflated again for every
    slab that touches it (a 256 MiB chunk read in 64 slabs took 115 s). Sized
    to one row of chunks and kept open across slabs, each chunk is inflated once.
    """
    import h5py

    opened = handle.__dict__.setdefault("datacheck_datasets", {})
    if info.path not in opened and info.path not in handle.__dict__.get("datacheck_described",
                                                                         ()):
        # Described on another handle of the file: describe here first, so data in other
        # files is read through its registered reader, never by HDF5 following a name.
        from datacheck.readers.hdf5 import describe, readable_guard

        fresh = describe(handle, info.path)
        if fresh is not None:
            readable_guard(str(getattr(handle, "datacheck_label", info.path)), fresh)
    if info.path in opened:
        return opened[info.path]
    need = chunk_row_bytes(info)
    if not need:
        dataset = handle[info.path]
    else:
        count = need // (math.prod(info.chunks or (1,)) * max(info.itemsize, 1))
        dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
        dapl.set_chunk_cache(max(_SLOTS_FLOOR, 10 * count + 1), need, 1.0)
        dataset = h5py.Dataset(h5py.h5d.open(handle.id, info.path.encode(), dapl=dapl))
    opened[info.path] = dataset
    return dataset


def register(handle: Any, inner: str, reader: Any) -> None:
    """Read ``inner`` in ``handle`` through ``reader`` (data in another file, via the gate)."""
    handle.__dict__.setdefault("datacheck_datasets", {})[inner] = reader
