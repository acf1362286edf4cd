"""The DICOM reader and the series assembly against what pydicom (and nibabel) say per slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")

from pydicom.pixels import apply_modality_lut  # noqa: E402

from datacheck.errors import DataError  # noqa: E402
from datacheck.readers.dicom import read_dicom_slice  # noqa: E402
from datacheck.readers.guards import Limits, TooLargeError  # noqa: E402
from datacheck.scan.dicom import load_series  # noqa: E402
from datacheck.schema.dicom import DicomSpec  # noqa: E402
from tests.readers.dicom_series import CT_SMALL, MR_SMALL, write_series  # noqa: E402


def test_a_bundled_ct_slice_reads_as_pydicom_reads_it():
    s = read_dicom_slice(CT_SMALL)
    ds = pydicom.dcmread(CT_SMALL)
    assert (s.rows, s.columns, s.modality, s.photometric) == (128, 128, "CT", "MONOCHROME2")
    assert s.pixel_spacing == pytest.approx((0.661468, 0.661468))
    assert s.position == pytest.approx((-158.135803, -179.035797, -75.699997))
    assert (s.slope, s.intercept) == (1.0, -1024.0)
    assert np.array_equal(s.pixels, ds.pixel_array)
    assert np.array_equal(s.rescaled(), apply_modality_lut(ds.pixel_array, ds).astype(np.float32))


def test_the_mr_slice_has_no_rescale():
    s = read_dicom_slice(MR_SMALL)
    assert (s.modality, s.slope, s.intercept, s.rows) == ("MR", 1.0, 0.0, 64)


def test_assembled_volume_matches_each_slice(tmp_path: Path):
    paths = write_series(tmp_path / "ct", count=5, step=2.5)
    # stored out of order: the volume must follow ImagePositionPatient, not the file names
    members = [(str(p), p.name) for p in reversed(paths)]
    series = load_series(members, "ct", DicomSpec(), Limits(), "volume")
    assert series.violations == [] and series.volume is not None and series.header is not None
    assert series.volume.shape == (128, 128, 5) and series.volume.dtype == np.float32
    affine = series.header.affine
    assert affine is not None
    for k, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        expected = apply_modality_lut(ds.pixel_array, ds)
        # voxel (i, j, k) is column i, row j of slice k
        assert np.array_equal(series.volume[:, :, k], expected.T.astype(np.float32))
        lps = np.array([float(v) for v in ds.ImagePositionPatient])
        assert affine[:3] @ [0, 0, k, 1] == pytest.approx([-lps[0], -lps[1], lps[2]])
    assert series.header.zooms == pytest.approx((0.661468, 0.661468, 2.5))


def test_affine_agrees_with_nibabel_dicom_wrapper(tmp_path: Path):
    import warnings

    paths = write_series(tmp_path / "ct", count=3)
    series = load_series([(str(p), p.name) for p in paths], "ct", DicomSpec(), Limits(), "v")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nibabel calls its DICOM readers experimental
        from nibabel.nicom import dicomwrappers

        wrapper = dicomwrappers.wrapper_from_data(pydicom.dcmread(paths[0]))
    assert series.header is not None and series.header.affine is not None
    for row, col in [(0, 0), (5, 17), (127, 3), (64, 100)]:
        lps = wrapper.affine @ [row, col, 0, 1]  # nibabel indexes (row, column), LPS mm
        ras = series.header.affine @ [col, row, 0, 1]
        assert ras[:3] == pytest.approx([-lps[0], -lps[1], lps[2]], abs=1e-6)


def test_raw_keeps_stored_values(tmp_path: Path):
    paths = write_series(tmp_path / "ct", count=2)
    series = load_series([(str(p), p.name) for p in paths], "ct", DicomSpec(rescale="raw"),
                         Limits(), "v")
    assert series.volume is not None and series.volume.dtype == np.int16
    assert np.array_equal(series.volume[:, :, 0], pydicom.dcmread(paths[0]).pixel_array.T)


def test_not_dicom_zero_bytes_truncated_and_too_large(tmp_path: Path):
    text = tmp_path / "notes.dcm"
    text.write_text("not a scan\n" * 20)
    with pytest.raises(DataError, match="not a DICOM file"):
        read_dicom_slice(text)
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="zero-byte"):
        read_dicom_slice(empty)
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(Path(CT_SMALL).read_bytes()[:20_000])
    with pytest.raises(DataError, match="unreadable"):
        read_dicom_slice(cut)
    with pytest.raises(TooLargeError, match="too_large"):
        read_dicom_slice(CT_SMALL, Limits(max_bytes=10_000))
    with pytest.raises(TooLargeError, match="128x128"):
        read_dicom_slice(CT_SMALL, Limits(max_voxels=1000))


def test_mutated_slices_read_or_fail_with_one_clear_error(tmp_path: Path):
    """Bytes of CT_small cut short or overwritten at random places: a slice, or a DataError
    (unreadable / too_large), never another exception."""
    from datacheck.errors import DatacheckError

    data = Path(CT_SMALL).read_bytes()
    rng = np.random.default_rng(7)
    path = tmp_path / "x.dcm"
    outcomes = {"read": 0, "refused": 0}
    for case in range(150):
        raw = bytearray(data)
        if case % 3 == 0:
            raw = raw[: int(rng.integers(0, len(raw)))]
        else:  # overwrite a few bytes in the header region, where the tags are
            for _ in range(int(rng.integers(1, 8))):
                raw[int(rng.integers(128, 2000))] = int(rng.integers(0, 256))
        path.write_bytes(bytes(raw))
        try:
            read_dicom_slice(path)
            outcomes["read"] += 1
        except DatacheckError:
            outcomes["refused"] += 1
    assert outcomes["read"] > 0 and outcomes["refused"] > 0
