"""NIfTI peak memory stays within 1.5x the voxel bytes of the volume returned.

Measured with tracemalloc (numpy and zlib report their buffers to it). The
volume returned is the floor: a scaled int16 volume comes back as float32,
so its floor is twice the stored bytes. Before: a scaled read held the raw,
byte-swapped and float copies at once (2x the float32 volume for a
big-endian file, 3x its stored bytes), and one zlib call per volume held a
.nii.gz's voxels three times over.
"""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from datacheck.readers.nifti import read_nifti

nib = pytest.importorskip("nibabel")
NIB_DATA = Path(nib.__file__).parent / "tests" / "data"
SHAPE = (256, 256, 64)  # 8 MiB of int16: large next to the fixed buffers (< 1 MiB)


def _scaled(path: Path, data: np.ndarray, endian: str, slope: float, inter: float) -> Path:
    """``data`` saved as int16 with scl_slope/scl_inter written into the header bytes."""
    header = nib.Nifti1Header()
    if endian == ">":
        header = header.as_byteswapped(">")
    image = nib.Nifti1Image(data.astype(np.int16), np.eye(4), header)
    image.header.set_data_dtype(np.int16)
    plain = path.with_name("plain_" + path.name.removesuffix(".gz"))
    image.to_filename(plain)
    block = bytearray(plain.read_bytes())
    block[112:120] = struct.pack(endian + "ff", slope, inter)  # scl_slope, scl_inter
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(bytes(block), compresslevel=1))
    else:
        path.write_bytes(bytes(block))
    return path


def _peak(path: Path, scaling: str = "apply") -> tuple[np.ndarray, int]:
    read_nifti(path, scaling=scaling)  # imports and caches outside the measure
    tracemalloc.start()
    try:
        data = read_nifti(path, scaling=scaling).data
        return data, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("endian", ["<", ">"], ids=["little", "big"])
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("scaling", ["apply", "raw"])
def test_peak_memory_is_within_one_and_a_half_volumes(tmp_path, endian, suffix, scaling):
    data = (np.arange(np.prod(SHAPE)) % 3001 - 1500).reshape(SHAPE)
    path = _scaled(tmp_path / f"scaled{suffix}", data, endian, 2.5, -10.0)
    volume, peak = _peak(path, scaling)
    expected = data * 2.5 - 10.0 if scaling == "apply" else data
    assert volume.dtype == (np.float32 if scaling == "apply" else np.int16)
    assert volume.dtype.isnative
    np.testing.assert_array_equal(volume, expected.astype(volume.dtype))
    assert peak <= 1.5 * volume.nbytes, f"peak {peak / volume.nbytes:.2f}x the volume"
    if scaling == "apply":
        np.testing.assert_array_equal(volume, nib.load(path).get_fdata(dtype=np.float32))


@pytest.mark.parametrize("name", ["anatomical.nii", "example4d.nii.gz", "functional.nii",
                                  "standard.nii.gz", "reoriented_anat_moved.nii",
                                  "example_nifti2.nii.gz"])
def test_values_equal_nibabel_on_its_own_test_files(name):
    path = NIB_DATA / name
    volume = read_nifti(path).data
    reference = nib.load(path).get_fdata()
    assert volume.dtype.isnative and volume.shape == reference.shape
    if volume.dtype.kind in "iu":  # unscaled: the stored integers exactly
        np.testing.assert_array_equal(volume, reference)
    else:  # scaled in float32 (x * slope + inter), nibabel in float64: within float32 rounding
        np.testing.assert_allclose(volume, reference, rtol=1e-6)


def test_a_scaled_big_endian_nibabel_file_equals_get_fdata(tmp_path):
    block = bytearray((NIB_DATA / "anatomical.nii").read_bytes())  # big-endian int16
    block[112:120] = struct.pack(">ff", 0.75, 3.0)
    path = tmp_path / "anatomical_scaled.nii"
    path.write_bytes(bytes(block))
    volume, peak = _peak(path)
    reference = nib.load(path).get_fdata()
    np.testing.assert_allclose(volume, reference, rtol=1e-6)
    np.testing.assert_array_equal(volume, nib.load(path).get_fdata(dtype=np.float32))
    assert peak <= 1.5 * volume.nbytes + (1 << 20)  # a small volume: the chunk buffer shows
