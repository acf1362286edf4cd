"""NIfTI datatype codes datacheck cannot judge are refused from the header, with the code named."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.errors import DataError
from datacheck.readers.nifti import read_nifti, read_nifti_header

nibabel = pytest.importorskip("nibabel")


def _no_voxel_size(code: int) -> bool:
    """True where nibabel has no numpy type for ``code`` (float128 exists on some platforms)."""
    from nibabel.nifti1 import data_type_codes

    return np.dtype(data_type_codes.dtype[code]).itemsize == 0


def _with_datatype(src: Path, dst: Path, code: int) -> Path:
    data = bytearray(src.read_bytes())
    data[70:72] = struct.pack(">h", code)  # anatomical.nii is big-endian
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize(("code", "name", "fix"), [
    (0, "none", "float32"), (1, "binary", "float32"), (255, "all", "float32"),
    (1536, "float128", "float32"), (2048, "complex256", "float32"),
    (128, "RGB", "channel axis"), (2304, "RGBA", "channel axis"),
    (9999, "not a NIfTI code", "float32")])
def test_a_datatype_datacheck_cannot_read_is_refused_with_the_code(tmp_path, nibabel_data,
                                                                  code, name, fix):
    if code in (1536, 2048) and not _no_voxel_size(code):
        pytest.skip(f"this platform has a numpy type for datatype {code}")
    path = _with_datatype(nibabel_data / "anatomical.nii", tmp_path / "datatype.nii", code)
    report = dc.check(path, "brain_t1_nifti")
    assert report.inputs == {str(path): "unreadable"}
    (violation,) = [v for v in report.violations if v.code == "unreadable"]
    assert violation.message.startswith(f"{path}: header datatype {code} ({name}) is not "
                                        "supported: datacheck reads int8-uint64")
    assert fix in violation.message
    with pytest.raises(DataError, match=f"header datatype {code} "):
        read_nifti_header(path)  # refused from the header alone


def test_an_unsupported_datatype_is_refused_from_the_header_however_large(tmp_path):
    header = nibabel.Nifti1Header()
    header.set_data_shape((32767, 32767, 32767))
    block = bytearray(header.binaryblock + b"\x00" * 4)
    block[70:72] = struct.pack("<h", 1)  # binary: no voxel size to multiply the shape by
    path = tmp_path / "huge_binary.nii"
    path.write_bytes(bytes(block))
    report = dc.check(path, "brain_t1_nifti")
    assert report.inputs == {str(path): "unreadable"}
    assert [v.code for v in report.violations] == ["unreadable"]
    assert "header datatype 1 (binary) is not supported" in report.violations[0].message


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32", "float64", "complex64"])
def test_supported_datatypes_still_read(write_nifti, dtype):
    data = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    path = write_nifti(f"{dtype}.nii", data)
    volume = read_nifti(path, scaling="raw")
    assert volume.data.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(volume.data, data)
