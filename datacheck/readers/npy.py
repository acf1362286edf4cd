"""Read a plain .npy array memory-mapped from one checked descriptor, never unpickling.

``np.load(path, mmap_mode="r")`` reopens the path by name and accepts any
header; here the file is opened once through the gate, the header is parsed
(object arrays refused) and the data is mapped from that same descriptor.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from datacheck.errors import DataError
from datacheck.readers.gate import file_size, open_file

_FIX = "Re-save it with np.save(path, array)."


def read_npy(path: str | os.PathLike[str], source: str | None = None) -> np.ndarray:
    """The array in ``path``, memory-mapped read-only (an empty array is read as is).

    >>> read_npy("scans.npy").shape  # doctest: +SKIP
    (10, 64, 64, 64)
    """
    label = source or str(path)
    with open_file(path, label=label) as handle:
        try:
            version = npy_format.read_magic(handle)
            reader = {(1, 0): npy_format.read_array_header_1_0,
                      (2, 0): npy_format.read_array_header_2_0}.get(version)
            if reader is None:
                raise ValueError(f"format version {version[0]}.{version[1]}")
            shape, fortran, dtype = reader(handle)
        except Exception as exc:  # literal_eval of a hostile header raises many kinds
            text = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            raise DataError(f"{label}: not a readable .npy array ({text}). {_FIX}") from None
        dtype = np.dtype(dtype)
        if dtype.hasobject:
            raise DataError(f"{label} holds pickled Python objects, which datacheck never "
                            "loads; save numeric arrays.")
        offset = handle.tell()
        needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if file_size(handle) < offset + needed:
            raise DataError(f"{label}: truncated: the header declares {needed:,} bytes of data, "
                            f"the file holds {max(file_size(handle) - offset, 0):,}. {_FIX}")
        if needed == 0:
            return np.empty(shape, dtype=dtype)
        # np.memmap maps the open descriptor (it dups it), so the name is not looked up again.
        mapped: Any = np.memmap(handle, dtype=dtype, mode="r", offset=offset, shape=shape,
                                order="F" if fortran else "C")
        return mapped
