"""Fuzz the NIfTI, HDF5, .npz and manifest readers through the public ``dc.check(path, schema)``.

Seeds are real files (nibabel's own test data, h5py/numpy files of the
scikit-learn digits) mutated byte by byte and field by field. Every file must
end in the report as ok / violating / unreadable with a datacheck reason
(``targets.reader_file``). The findings so far are fixed and kept as regression
tests in test_bombs.py and tests/readers; a new one fails here.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening import targets

nibabel = pytest.importorskip("nibabel")
h5py = pytest.importorskip("h5py")

FOLDER = Path(tempfile.mkdtemp(prefix="datacheck-reader-fuzz-"))
NIB_DATA = Path(nibabel.__file__).parent / "tests" / "data"
NIFTI_SEEDS = {name: (gzip.decompress if name.endswith(".gz") else bytes)(
    (NIB_DATA / name).read_bytes()) for name in
    ("anatomical.nii", "functional.nii", "example4d.nii.gz", "standard.nii.gz",
     "example_nifti2.nii.gz")}
#: Values that break header fields in interesting ways, per struct format.
FIELD_VALUES = {"h": [0, -1, 1, 7, 32767, -32768, 2048], "i": [0, -1, 348, 540, 2 ** 31 - 1],
                "f": [0.0, -1.0, 1e38, float("nan"), float("inf"), 1e-45],
                "q": [0, -1, 2 ** 40, 2 ** 62], "d": [0.0, float("nan"), 1e308]}


def fuzz(examples: int) -> Any:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _write(name: str, data: bytes) -> Path:
    path = FOLDER / name
    path.write_bytes(data)
    return path


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images[:64, ..., None] / 16.0).astype("float32"), bunch.target[:64]


# -- NIfTI -----------------------------------------------------------------------------
_NIFTI_OP = st.one_of(
    st.tuples(st.just("field"), st.integers(0, 270), st.sampled_from(sorted(FIELD_VALUES)),
              st.integers(0, 6)),
    st.tuples(st.just("flip"), st.integers(0, 560), st.integers(0, 255), st.just(0)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 20), st.just("h"), st.just(0)),
    st.tuples(st.just("append"), st.integers(1, 200), st.just("h"), st.just(0)))


def _mutate_nifti(data: bytes, ops: list[tuple[str, int, Any, int]]) -> bytes:
    out = bytearray(data)
    endian = "<" if struct.unpack("<i", data[:4])[0] in (348, 540) else ">"
    for op, at, arg, pick in ops:
        if op == "field":
            fmt = endian + arg
            value = FIELD_VALUES[arg][pick % len(FIELD_VALUES[arg])]
            offset = at * 2
            out[offset:offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
        elif op == "flip" and at < len(out):
            out[at] = arg
        elif op == "truncate":
            out = out[:at % (len(out) + 1)]
        elif op == "append":
            out += bytes(range(at))
    return bytes(out)


@fuzz(300)
@given(seed=st.sampled_from(sorted(NIFTI_SEEDS)), ops=st.lists(_NIFTI_OP, min_size=1, max_size=4),
       compress=st.sampled_from(["no", "gzip", "corrupt-gzip"]), flip_at=st.integers(10, 10_000))
def test_mutated_nifti_files_end_in_the_report_with_a_reason(seed, ops, compress, flip_at):
    data = _mutate_nifti(NIFTI_SEEDS[seed], ops)
    if compress != "no":
        data = gzip.compress(data, compresslevel=1)
        if compress == "corrupt-gzip":
            corrupt = bytearray(data)
            corrupt[flip_at % len(corrupt)] ^= 0xFF
            data = bytes(corrupt)
    path = _write("case.nii" + (".gz" if compress != "no" else ""), data)
    targets.reader_file(path, "brain_t1_nifti")


# -- HDF5 ------------------------------------------------------------------------------
def _h5_seed(compression: str | None) -> bytes:
    x, y = _digits()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle.create_dataset("image", data=x, chunks=(16, 8, 8, 1), compression=compression)
        handle["label"] = y
        handle["image"].attrs["scale"] = 1.0
    return buffer.getvalue()


H5_SEEDS = {"plain": _h5_seed(None), "gzip": _h5_seed("gzip")}


def _patch_bytes(seed: bytes, edits: list[tuple[int, bytes]], cut: int | None) -> bytes:
    """``seed`` with each patch written at its offset (wrapped), then cut short if asked."""
    data = bytearray(seed)
    for at, patch in edits:
        at %= len(data)
        data[at:at + len(patch)] = patch
    return bytes(data if cut is None else data[:cut % (len(data) + 1)])


@fuzz(250)
@given(seed=st.sampled_from(sorted(H5_SEEDS)),
       edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.binary(min_size=1, max_size=8)),
                      min_size=1, max_size=5), cut=st.none() | st.integers(0, 1 << 16))
def test_mutated_hdf5_files_end_in_the_report_with_a_reason(seed, edits, cut):
    targets.reader_file(_write("case.h5", _patch_bytes(H5_SEEDS[seed], edits, cut)), "digits")


# -- .npz ------------------------------------------------------------------------------
def _npz_seed() -> bytes:
    x, y = _digits()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, image=x, label=y)
    return buffer.getvalue()


NPZ_SEED = _npz_seed()


@fuzz(200)
@given(edits=st.lists(st.tuples(st.integers(0, 1 << 14), st.binary(min_size=1, max_size=4)),
                      min_size=1, max_size=4), cut=st.none() | st.integers(0, 1 << 14))
def test_mutated_npz_files_end_in_the_report_with_a_reason(edits, cut):
    targets.reader_file(_write("case.npz", _patch_bytes(NPZ_SEED, edits, cut)), "digits")


# -- manifests -------------------------------------------------------------------------
ROOT = FOLDER / "dataset"
(ROOT / "sub").mkdir(parents=True, exist_ok=True)
(FOLDER / "outside.nii.gz").write_bytes((NIB_DATA / "standard.nii.gz").read_bytes())
(ROOT / "sub" / "in.nii.gz").write_bytes((NIB_DATA / "standard.nii.gz").read_bytes())
if not (ROOT / "escape.nii.gz").is_symlink():
    os.symlink(FOLDER / "outside.nii.gz", ROOT / "escape.nii.gz")
PATH_CELLS = ["sub/in.nii.gz", "../outside.nii.gz", str(FOLDER / "outside.nii.gz"),
              "escape.nii.gz", "sub/../../outside.nii.gz", "sub/../sub/in.nii.gz",
              "file:///etc/passwd", "~/x.nii.gz", "", " ", "sub", "/dev/zero", "/proc/self/mem",
              "sub/in.nii.gz\x00.png", "a" * 300 + ".nii.gz", "ünï/cødé.nii.gz"]
_CELL = st.sampled_from(PATH_CELLS) | st.text(max_size=30)
_ROW = st.tuples(st.text("0123456789ab", max_size=4), st.sampled_from(["s1", "s2", "s3", ""]),
                 st.sampled_from(["train", "val", "test", "oops", ""]), _CELL, _CELL,
                 st.sampled_from(["0", "1", "2", "x", "", "1.5"]))


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text


@fuzz(100)
@given(rows=st.lists(_ROW, min_size=1, max_size=6),
       header=st.sampled_from(["id,subject,split,image,mask,label", "image", "id,image,,label",
                               "image,image,label", ""]), junk=st.text(max_size=40))
def test_fuzzed_manifests_never_open_a_path_outside_the_root(rows, header, junk):
    lines = [header] + [",".join(_csv_cell(c) for c in row) for row in rows] + [junk]
    path = ROOT / "manifest.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    report = targets.reader_file(path, "brain_t1_nifti")
    if report is None:
        return
    root = ROOT.resolve()
    for name, status in report.inputs.items():
        if name == str(path):
            continue
        try:
            resolved = Path(name).resolve()
        except (OSError, ValueError):
            continue
        inside = resolved == root or root in resolved.parents
        assert inside or status == "unreadable", f"{name} outside the root was opened ({status})"


def test_manifest_escapes_are_refused_with_the_line_and_never_opened():
    lines = ["id,subject,split,image,label", "1,s1,train,sub/in.nii.gz,0",
             "2,s2,train,../outside.nii.gz,1", f"3,s3,val,{FOLDER / 'outside.nii.gz'},0",
             "4,s4,val,escape.nii.gz,1"]
    path = ROOT / "listing.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = targets.reader_file(path, "brain_t1_nifti")
    assert report is not None
    (escape,) = [v for v in report.violations
                 if v.code == "manifest" and "escape the dataset root" in v.message]
    assert escape.message.startswith("image: manifest: 3 paths escape the dataset root")
    assert "line 3: ../outside.nii.gz" in escape.message and "refused, not opened" in escape.message
    opened = {name for name, status in report.inputs.items() if status != "unreadable"}
    assert not any("outside" in name or "escape" in name for name in opened)


def test_the_npz_zip_container_with_a_path_traversal_member_is_just_data(tmp_path):
    path = tmp_path / "traversal.npz"
    x, y = _digits()
    with zipfile.ZipFile(path, "w") as archive:
        for name, arr in (("../../image.npy", x), ("label.npy", y)):
            buffer = io.BytesIO()
            np.save(buffer, arr, allow_pickle=False)
            archive.writestr(name, buffer.getvalue())
    targets.reader_file(path, "digits")
    assert not (tmp_path.parent.parent / "image.npy").exists()  # nothing is extracted
