"""Header and decompression bombs are refused before allocation; reader findings as reproducers.

Memory is measured with tracemalloc (numpy reports its buffers to it), so a
refused bomb shows a peak of a few MiB however large the declared data.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from tests.hardening import targets

nibabel = pytest.importorskip("nibabel")
h5py = pytest.importorskip("h5py")

MiB = 1 << 20
NIB_DATA = Path(nibabel.__file__).parent / "tests" / "data"


def _peak(run):  # type: ignore[no-untyped-def]
    """(result, peak traced bytes) of ``run()``."""
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _nifti_header(shape: tuple[int, ...], dtype: str = "int16") -> bytes:
    header = nibabel.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    header.set_zooms((1.0,) * len(shape))
    header["vox_offset"] = 352
    return header.binaryblock + b"\x00" * 4


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_a_nifti_header_declaring_terabytes_is_too_large_before_allocation(tmp_path, suffix):
    data = _nifti_header((32767, 32767, 32767)) + b"\x00" * 1024
    path = tmp_path / f"bomb{suffix}"
    path.write_bytes(gzip.compress(data) if suffix == ".nii.gz" else data)
    report, peak = _peak(lambda: targets.reader_file(path, "brain_t1_nifti", strict=True))
    assert report is not None and report.inputs == {str(path): "unreadable"}
    (violation,) = [v for v in report.violations if v.code == "too_large"]
    assert "header declares 32767x32767x32767" in violation.message
    assert "refused before reading" in violation.message
    assert peak < 16 * MiB


def test_a_gzip_stream_longer_than_its_header_is_never_inflated_past_the_declared_size(tmp_path):
    path = tmp_path / "gzbomb.nii.gz"
    zeros = bytes(MiB)
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(_nifti_header((64, 64, 64), "float32"))  # declares 1 MiB of voxels
        for _ in range(96):  # ... followed by 96 MiB that inflate from ~100 KiB
            out.write(zeros)
    assert path.stat().st_size < 2 * MiB
    report, peak = _peak(lambda: targets.reader_file(path, "brain_t1_nifti", strict=True))
    assert report is not None and str(path) in report.inputs
    assert peak < 24 * MiB


def test_schema_max_bytes_refuses_a_volume_before_reading_it(tmp_path):
    path = tmp_path / "big.nii"
    path.write_bytes(_nifti_header((128, 128, 128), "float32") + bytes(8 * MiB))
    schema = dc.load_schema("brain_t1_nifti").to_dict()
    schema["nifti"]["max_bytes"] = MiB
    report, peak = _peak(lambda: targets.reader_file(path, schema, strict=True))
    assert report is not None and report.codes()[:1] == ["too_large"]
    assert peak < 4 * MiB


def test_an_hdf5_row_declaring_gigabytes_is_too_large_before_allocation(tmp_path):
    path = tmp_path / "row.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("image", shape=(2, 60000, 60000, 1), dtype="float32",
                              chunks=(1, 64, 64, 1))
        handle["label"] = np.array([0, 1])
    assert path.stat().st_size < 64 * 1024
    report, peak = _peak(lambda: targets.reader_file(path, "digits", strict=True))
    assert report is not None and report.inputs == {str(path): "unreadable"}
    assert any(v.code == "too_large" and "60000x60000x1" in v.message for v in report.violations)
    assert peak < 16 * MiB


# -- reader findings from fuzzing (once xfail reproducers; now regression tests) ---------


def test_declared_but_unwritten_hdf5_rows_do_not_hang_the_scan(tmp_path):
    path = tmp_path / "timebomb.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("image", shape=(10 ** 8, 8, 8, 1), dtype="float32",
                              chunks=(4096, 8, 8, 1))
        handle.create_dataset("label", shape=(10 ** 8,), dtype="int64", chunks=(65536,))
    code = f"import datacheck as dc; print(dc.check({str(path)!r}, 'digits').codes())"
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=10, check=True)
    except subprocess.TimeoutExpired:
        pytest.fail("dc.check on a 1.7 KB HDF5 file ran for more than 10 s")
    assert "unreadable" in done.stdout
    report = targets.reader_file(path, "digits", strict=True)
    assert report is not None and report.inputs[str(path)] == "unreadable"
    assert any("never written" in v.message for v in report.violations)


@pytest.mark.parametrize("kind", ["vlen", "reference"])
def test_hdf5_object_dtypes_are_refused_with_a_reason(tmp_path, kind):
    path = tmp_path / f"{kind}.h5"
    with h5py.File(path, "w") as handle:
        handle["label"] = np.arange(3)
        if kind == "vlen":
            data = handle.create_dataset("image", shape=(3,), dtype=h5py.vlen_dtype(np.float32))
            for i in range(3):
                data[i] = np.ones(1000, np.float32)
        else:
            data = handle.create_dataset("image", shape=(3,), dtype=h5py.ref_dtype)
            for i in range(3):
                data[i] = handle["label"].ref
    report = targets.reader_file(path, "digits", strict=True)
    assert report is not None and report.inputs[str(path)] == "unreadable"
    assert any("object" in v.message for v in report.violations if v.code == "unreadable")


def test_an_hdf5_soft_link_loop_is_unreadable_with_a_datacheck_reason(tmp_path):
    path = tmp_path / "loop.h5"
    with h5py.File(path, "w") as handle:
        handle["image"] = h5py.SoftLink("/image")
        handle["label"] = np.arange(3)
    report = targets.reader_file(path, "digits", strict=True)
    assert report is not None and report.inputs[str(path)] == "unreadable"
    (message,) = [v.message for v in report.violations if v.code == "unreadable"]
    assert message.startswith(str(path)) and "link loops" in message


@pytest.mark.parametrize("code", [0, 1, 255, 1536, 2048])
def test_a_nifti_datatype_without_a_voxel_size_is_refused_with_a_reason(tmp_path, code):
    data = bytearray((NIB_DATA / "anatomical.nii").read_bytes())
    data[70:72] = struct.pack(">h", code)  # anatomical.nii is big-endian
    path = tmp_path / "datatype.nii"
    path.write_bytes(bytes(data))
    report = targets.reader_file(path, "brain_t1_nifti", strict=True)
    assert report is not None and report.inputs[str(path)] == "unreadable"
    (message,) = [v.message for v in report.violations if v.code == "unreadable"]
    assert f"header datatype {code}" in message and "re-save" in message


def _npy(shape: tuple[int, ...], dtype: str) -> bytes:
    from numpy.lib import format as npy_format

    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return buffer.getvalue()


def test_an_npz_decompression_bomb_is_refused_before_allocation(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("image.npy", "w", force_zip64=True) as member:
            member.write(_npy((32768, 32, 32, 1), "<f4"))  # 128 MiB of float32 zeros
            for _ in range(128):
                member.write(bytes(MiB))
        archive.writestr("label.npy", _npy((10,), "<i8") + bytes(80))
    assert os.path.getsize(path) < 1 * MiB
    report, peak = _peak(lambda: targets.reader_file(path, "digits", strict=True))
    assert peak < 32 * MiB, f"peak {peak / MiB:.0f} MiB for a {os.path.getsize(path)} B file"
    assert report is not None and str(path) in report.inputs


@pytest.mark.parametrize(("offset", "patch"), [(28, b"\x00"), (4, b"\x40")],
                         ids=["deflate-stream", "zip-version"])
def test_a_corrupt_npz_container_is_unreadable_with_a_datacheck_reason(tmp_path, offset, patch):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, image=np.zeros((64, 8, 8, 1), "float32"), label=np.arange(64))
    data = bytearray(buffer.getvalue())
    if offset == 4:  # "version needed to extract" of the central directory's first entry
        offset = data.rfind(b"PK\x01\x02") + 6
    data[offset:offset + len(patch)] = patch
    path = tmp_path / "corrupt.npz"
    path.write_bytes(bytes(data))
    targets.reader_file(path, "digits", strict=True)


@pytest.mark.parametrize("row", ["sub/in.nii.gz,0,extra", "sub/in.nii.gz\x00.png,0",
                                 "a" * 300 + ".nii.gz,0"], ids=["wide-row", "nul", "long"])
def test_hostile_manifest_rows_are_reported_not_raised(tmp_path, row):
    path = tmp_path / "manifest.csv"
    path.write_text(f"image,label\n{row}\n", encoding="utf-8")
    report = targets.reader_file(path, "brain_t1_nifti", strict=True)
    assert report is not None
    reasons = " ".join(v.message for v in report.violations)
    assert {"wide-row": "has 3 fields, the header has 2", "nul": "NUL byte",
            "long": "longer than the file system allows"}[row_id(row)] in reasons


def row_id(row: str) -> str:
    return "wide-row" if row.endswith("extra") else "nul" if "\x00" in row else "long"
