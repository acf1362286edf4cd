"""Write DICOM series into tmp_path from pydicom's bundled CT_small.dcm (a real CT slice)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

CT_SMALL = get_testdata_file("CT_small.dcm")
MR_SMALL = get_testdata_file("MR_small.dcm")


def write_series(folder: Path, count: int = 6, step: float = 2.5,
                 edit: Callable[[int, Any], None] | None = None, source: str | None = None,
                 ) -> list[Path]:
    """``count`` slices ``step`` mm apart along z (the slice normal of CT_small), one series;
    ``edit(k, dataset)`` plants a fault in slice k before it is saved."""
    folder.mkdir(parents=True, exist_ok=True)
    base = pydicom.dcmread(source or CT_SMALL)
    x, y, z = (float(v) for v in base.ImagePositionPatient)
    paths = []
    for k in range(count):
        ds = copy.deepcopy(base)
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [x, y, z + step * k]
        ds.SOPInstanceUID = generate_uid()
        # Different pixels per slice, so the volume shows which slice went where.
        ds.PixelData = (ds.pixel_array + 10 * k).astype(ds.pixel_array.dtype).tobytes()
        if edit is not None:
            edit(k, ds)
        path = folder / f"IM{k:04d}.dcm"
        ds.save_as(path)
        paths.append(path)
    return paths
