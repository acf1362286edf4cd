"""Read .npz archives (numpy's own format) without ever unpickling."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from datacheck.errors import DataError
from datacheck.schema.model import Schema


def read_npz(path: str | Path, schema: Schema) -> dict[str, np.ndarray]:
    """Load arrays from an .npz and bind them to schema names.

    Keys that match schema names bind by name; otherwise the arrays bind in
    file order (features first, then labels), as ``np.savez(f, x, y)`` writes them.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    # zipfile surfaces corrupt containers as zlib/struct errors and NotImplementedError
    # (an odd "version needed" field), not only as BadZipFile.
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error, struct.error,
            NotImplementedError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        reason = f"corrupt archive: {reason}" if isinstance(
            exc, (zlib.error, struct.error, NotImplementedError, RuntimeError)) else reason
        if "allow_pickle" in reason or "Object arrays" in reason:
            reason = "it holds pickled Python objects, which datacheck never loads"
        raise DataError(f"{path}: not a readable .npz archive ({reason})") from None
    names = schema.names()
    if any(key in names for key in arrays):
        return arrays
    if len(arrays) > len(names):
        raise DataError(f"{path}: has {len(arrays)} arrays {list(arrays)} but schema "
                        f"{schema.name!r} names {names}; save with those names "
                        "(np.savez(f, image=x, label=y)).")
    return dict(zip(names, arrays.values(), strict=False))
