"""NIfTI test files: written with nibabel in tmp_path, and nibabel's own test data.

Shared by the reader, scan, loader and rule tests (fixtures are registered in
tests/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def nibabel_data() -> Path:
    """Real NIfTI files that nibabel ships with its tests."""
    import nibabel

    return Path(os.path.dirname(nibabel.__file__)) / "tests" / "data"


def save_nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None, *,
               slope: float | None = None, inter: float | None = None,
               version: int = 1) -> Path:
    """Write ``data`` as a NIfTI file with sform and qform set and mm units, as scanners'
    converters (dcm2niix) write them; parent folders are made."""
    import nibabel as nib

    affine = np.eye(4) if affine is None else affine
    klass = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    img = klass(data, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    img.header.set_xyzt_units("mm", "sec")
    if slope is not None:
        img.header.set_slope_inter(slope, inter or 0.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, path)
    return path


@pytest.fixture()
def write_nifti(tmp_path: Path) -> Callable[..., Path]:
    """write_nifti(name, data, affine=eye, slope=None, inter=None, version=1) -> path."""

    def write(name: str, data: np.ndarray, affine: np.ndarray | None = None,
              slope: float | None = None, inter: float | None = None,
              version: int = 1) -> Path:
        return save_nifti(tmp_path / name, data, affine, slope=slope, inter=inter,
                          version=version)

    return write


def patch_header(path: Path, **fields: object) -> Path:
    """Overwrite raw header fields of a written .nii/.nii.gz in place (what a buggy writer does)."""
    import gzip

    import nibabel as nib

    compressed = path.name.endswith(".gz")
    raw = gzip.decompress(path.read_bytes()) if compressed else path.read_bytes()
    size = 348 if int.from_bytes(raw[:4], "little") == 348 else 540
    klass = nib.Nifti1Header if size == 348 else nib.Nifti2Header
    hdr = klass(binaryblock=raw[:size], check=False)
    for key, value in fields.items():
        hdr[key] = value
    raw = hdr.binaryblock + raw[size:]
    path.write_bytes(gzip.compress(raw, compresslevel=1) if compressed else raw)
    return path


@pytest.fixture()
def patch() -> Callable[..., Path]:
    return patch_header
