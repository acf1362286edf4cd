"""The NIfTI reader: real files agree with nibabel; corrupt and hostile files fail in one line."""

from __future__ import annotations

import gzip
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from datacheck.errors import DataError
from datacheck.readers.guards import Limits, TooLargeError
from datacheck.readers.nifti import read_nifti, read_nifti_header

REAL = ["anatomical.nii", "functional.nii", "example4d.nii.gz", "standard.nii.gz",
        "example_nifti2.nii.gz", "reoriented_anat_moved.nii"]


@pytest.mark.parametrize("name", REAL)
def test_real_files_match_nibabel(nibabel_data: Path, name: str) -> None:
    import nibabel as nib

    img = nib.load(nibabel_data / name)
    volume = read_nifti(nibabel_data / name)
    np.testing.assert_allclose(volume.data, np.asanyarray(img.dataobj), rtol=1e-6)
    assert volume.header.shape == img.shape
    np.testing.assert_allclose(volume.header.affine, img.affine, atol=1e-5)
    assert volume.data.dtype.isnative


def test_header_fields_of_real_files(nibabel_data: Path) -> None:
    anat = read_nifti_header(nibabel_data / "anatomical.nii")
    assert (anat.version, anat.dtype, anat.zooms) == (1, "int16", (2.0, 2.0, 2.0))
    assert anat.byteorder == ">"  # a big-endian file, read natively
    nifti2 = read_nifti_header(nibabel_data / "example_nifti2.nii.gz")
    assert nifti2.version == 2 and nifti2.shape == (32, 20, 12, 2)
    standard = read_nifti_header(nibabel_data / "standard.nii.gz")
    assert standard.qform_code == 0 and standard.qform is None and standard.sform is not None


def test_scaling_applied_like_nibabel_or_raw(nibabel_data: Path) -> None:
    # functional.nii stores int16 with scl_slope 0.075 and scl_inter 3100.
    scaled = read_nifti(nibabel_data / "functional.nii")
    raw = read_nifti(nibabel_data / "functional.nii", scaling="raw")
    assert scaled.scaled and not raw.scaled
    assert raw.data.dtype == np.int16 and scaled.data.dtype == np.float32
    slope, inter = scaled.header.scaling() or (1.0, 0.0)
    np.testing.assert_allclose(scaled.data, raw.data * slope + inter, rtol=1e-6)


def test_written_scaling_is_applied(write_nifti, patch) -> None:
    path = write_nifti("scaled.nii", np.arange(24, dtype=np.int16).reshape(2, 3, 4))
    patch(path, scl_slope=0.5, scl_inter=10.0)
    volume = read_nifti(path)
    assert float(volume.data.min()) == 10.0 and float(volume.data.max()) == 10.0 + 23 * 0.5


def test_zero_slope_means_unscaled(write_nifti, patch) -> None:
    path = patch(write_nifti("zero.nii", np.arange(8, dtype=np.int16).reshape(2, 2, 2)),
                 scl_slope=0.0, scl_inter=5.0)
    volume = read_nifti(path)
    assert not volume.scaled and volume.data.dtype == np.int16


def test_truncated_gzip_is_one_line(write_nifti) -> None:
    path = write_nifti("cut.nii.gz", np.random.default_rng(0).normal(size=(20, 20, 20)))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated gzip stream") as info:
        read_nifti(path)
    assert "\n" not in str(info.value) and "cut.nii.gz" in str(info.value)


def test_truncated_uncompressed_says_how_much(write_nifti) -> None:
    path = write_nifti("cut.nii", np.zeros((10, 10, 10), np.float32))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"truncated: header declares 3\.9 KiB"):
        read_nifti(path)


def test_wrong_magic(write_nifti, tmp_path: Path) -> None:
    path = write_nifti("magic.nii", np.zeros((4, 4, 4), np.float32))
    raw = bytearray(path.read_bytes())
    raw[344:348] = b"abc\x00"
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="wrong magic"):
        read_nifti(path)
    png = tmp_path / "photo.nii"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(400))
    with pytest.raises(DataError, match=r"not a NIfTI file: wrong magic \(sizeof_hdr"):
        read_nifti(png)


def test_negative_dims_are_refused(write_nifti, patch) -> None:
    path = patch(write_nifti("neg.nii.gz", np.zeros((4, 4, 4), np.float32)),
                 dim=[3, 4, -3, 4, 1, 1, 1, 1])
    with pytest.raises(DataError, match=r"dimensions \(4, -3, 4\) include negative"):
        read_nifti(path)


def test_empty_and_tiny_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.nii"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty file"):
        read_nifti(empty)
    tiny = tmp_path / "tiny.nii.gz"
    tiny.write_bytes(gzip.compress(b"\x5c\x01"))
    with pytest.raises(DataError, match="not a NIfTI file"):
        read_nifti(tiny)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.nii"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        read_nifti(fifo)


def test_huge_header_refused_before_allocation(write_nifti, patch) -> None:
    # A 1 KiB file whose header declares 4000^3 float32 voxels (238 GiB).
    path = patch(write_nifti("huge.nii.gz", np.zeros((2, 2, 2), np.float32)),
                 dim=[3, 4000, 4000, 4000, 1, 1, 1, 1])
    tracemalloc.start()
    with pytest.raises(TooLargeError, match=r"too_large: header declares 4000x4000x4000"):
        read_nifti(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 * 1024**2


def test_lying_gzip_offset_stops_decompressing(tmp_path: Path, write_nifti, patch) -> None:
    # The header declares a small volume but puts it 64 MiB into a stream of zeros:
    # a gzip bomb. The reader must refuse it without inflating the stream.
    path = write_nifti("bomb.nii", np.zeros((4, 4, 4), np.float32))
    patch(path, vox_offset=64 * 1024**2)
    bomb = tmp_path / "bomb.nii.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        out.write(path.read_bytes()[:352])
        chunk = bytes(1024**2)
        for _ in range(65):
            out.write(chunk)
    tracemalloc.start()
    with pytest.raises(TooLargeError, match="vox_offset"):
        read_nifti(bomb, Limits(max_bytes=8 * 1024**2))
    assert tracemalloc.get_traced_memory()[1] < 5 * 1024**2
    tracemalloc.stop()


def test_limits_are_configurable(write_nifti) -> None:
    path = write_nifti("vol.nii.gz", np.zeros((32, 32, 32), np.float32))
    with pytest.raises(TooLargeError, match=r"over the limit of 64\.0 KiB"):
        read_nifti(path, Limits(max_bytes=64 * 1024))
    with pytest.raises(TooLargeError, match="1,000 voxels"):
        read_nifti(path, Limits(max_voxels=1000))
    assert read_nifti(path).data.shape == (32, 32, 32)


def test_nan_sform_is_read_not_judged(write_nifti, patch) -> None:
    path = patch(write_nifti("nan.nii.gz", np.ones((3, 3, 3), np.float32)),
                 srow_x=[np.nan, 0, 0, 0])
    header = read_nifti_header(path)
    assert header.sform is not None and np.isnan(header.sform).any()


def test_invalid_quaternion_is_recorded(write_nifti, patch) -> None:
    path = patch(write_nifti("quat.nii", np.ones((3, 3, 3), np.float32)),
                 quatern_b=2.0, quatern_c=2.0, sform_code=0)
    header = read_nifti_header(path)
    assert "qform" in header.problems and header.affine is None
