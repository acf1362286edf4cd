"""HDF5 files and manifests through check(): chunked reads, bounded memory, table rules, pairs."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from datacheck.api import check
from datacheck.scan import check_paths
from datacheck.schema import load_schema


def write_h5(path: Path, **datasets: np.ndarray) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        for name, data in datasets.items():
            chunks = (min(len(data), 16), *data.shape[1:]) if data.ndim > 1 else None
            f.create_dataset(name, data=data, chunks=chunks)
    return path


def test_h5_digits_batched_like_arrays(tmp_path: Path, digits) -> None:
    images, labels = digits
    path = write_h5(tmp_path / "digits.h5", image=images, label=labels)
    from_file = check(str(path), "digits", batch_size=64)
    from_arrays = check((images, labels), "digits", batch_size=64)
    assert from_file.ok and from_arrays.ok
    assert from_file.inputs == {str(path): "ok"}
    assert from_file.summaries["image"]["elements"] == 1797
    assert from_file.summaries["label"]["histogram"] == from_arrays.summaries["label"]["histogram"]
    np.testing.assert_allclose(from_file.summaries["image"]["mean"],
                               from_arrays.summaries["image"]["mean"])


def test_h5_paths_attrs_and_pixel_range(tmp_path: Path, digits) -> None:
    import h5py

    images, labels = digits
    path = tmp_path / "raw.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("train/x", data=images * 255.0)
        f.create_dataset("train/y", data=labels)
        f["train/x"].attrs["source"] = "sklearn"
    schema = load_schema("digits").model_dump()
    schema["hdf5"] = {"datasets": {"image": {"path": "/train/x", "attrs": {"source": "mnist"}},
                                   "label": {"path": "/train/y", "dtype": "int64"}}}
    report = check(str(path), schema)
    assert report.codes() == ["attribute", "range"]
    assert "attribute source='sklearn' of /train/x" in report.violations[0].message
    assert report.violations[1].message.startswith("image: range: max 255 > 1 in ")
    assert report.inputs == {str(path): "violating"}


def test_h5_missing_dataset_and_misaligned_lengths(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((10, 8, 8, 1)).astype(np.float32)
    only_x = write_h5(tmp_path / "only_x.h5", image=x)
    report = check(str(only_x), "digits")
    assert report.codes() == ["missing_feature"]
    assert "/label is missing in" in report.violations[0].message
    misaligned = write_h5(tmp_path / "mis.h5", image=x, label=np.arange(9) % 10)
    report = check(str(misaligned), "digits")
    assert "shape" in report.codes()
    assert any("different lengths {'image': 10, 'label': 9}" in v.message
               for v in report.violations)


def test_h5_large_single_volume_is_summarized_in_slabs(tmp_path: Path) -> None:
    volume = np.random.default_rng(0).normal(size=(160, 128, 128)).astype(np.float32)  # 10 MiB
    path = write_h5(tmp_path / "vol.h5", volume=volume)
    del volume
    schema = load_schema({
        "name": "big", "features": {"volume": {"layout": "DHWC", "normalization": "zscore",
                                               "tolerance": 0.05}},
        "hdf5": {"datasets": {"volume": {"path": "/volume", "batched": False}},
                 "slab_bytes": 256 * 1024}})
    tracemalloc.start()
    report = check_paths([path], schema)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.ok, report.to_text()
    assert report.summaries["volume"]["shapes"] == {"160x128x128x1": 1}
    assert abs(report.summaries["volume"]["std"] - 1.0) < 0.01
    assert peak < 4 * 1024**2, peak  # the 10 MiB volume was never loaded whole


def test_h5_corrupt_file_is_unreadable(tmp_path: Path, digits) -> None:
    images, labels = digits
    good = write_h5(tmp_path / "good.h5", image=images, label=labels)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(good.read_bytes()[:4096])
    report = check([str(good), str(bad)], "digits")
    assert report.inputs == {str(good): "ok", str(bad): "unreadable"}
    assert report.violations[0].code == "unreadable"


@pytest.fixture()
def dataset(tmp_path: Path, write_nifti) -> Path:
    rng = np.random.default_rng(0)
    root = tmp_path / "ds"
    root.mkdir()
    rows = ["id,subject,split,image,mask,label"]
    for i in range(6):
        write_nifti(f"s{i}.nii.gz", rng.normal(size=(6, 6, 6)).astype(np.float32)).rename(
            root / f"s{i}.nii.gz")
        mask = (rng.random((6, 6, 6)) > 0.5).astype(np.uint8)
        write_nifti(f"s{i}_mask.nii.gz", mask).rename(root / f"s{i}_mask.nii.gz")
        split = "train" if i < 4 else "test"
        rows.append(f"{i},sub{i},{split},s{i}.nii.gz,s{i}_mask.nii.gz,{i % 2}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def test_clean_manifest_scans_every_file(dataset: Path) -> None:
    report = check(str(dataset / "manifest.csv"), "brain_t1_nifti")
    assert report.counts() == {"ok": 13, "violating": 0, "unreadable": 0, "total": 13,
                               "skipped": 0}, \
        report.to_text()


def test_manifest_problems(dataset: Path) -> None:
    text = (dataset / "manifest.csv").read_text().splitlines()
    text[2] = text[2].replace("sub1,train", "sub0,test")  # leakage: sub0 in train and test
    text[3] = text[3].replace("s2.nii.gz", "../../outside.nii.gz")
    text[4] = text[4].replace("s3_mask.nii.gz", "missing_mask.nii.gz")
    text.append("7,sub7,train,s5.nii.gz,s5_mask.nii.gz,4")
    (dataset / "manifest.csv").write_text("\n".join(text) + "\n")
    report = check(str(dataset / "manifest.csv"), "brain_t1_nifti")
    assert set(report.codes()) == {"leakage", "manifest", "missing_file", "label_range"}
    assert report.inputs[str(dataset / "manifest.csv")] == "violating"
    assert report.inputs[str(dataset / "../../outside.nii.gz")] == "unreadable"
    assert report.inputs[str(dataset / "missing_mask.nii.gz")] == "unreadable"
    assert str(dataset / "s3.nii.gz") not in report.inputs  # a row with a missing file is skipped
    # ...but still accounted for, with why: its row's mask was refused.
    assert report.skipped[str(dataset / "s3.nii.gz")] == (
        f"not checked: another file of its row (line 5 of {dataset / 'manifest.csv'}) was "
        "refused")
    assert str(dataset / "s2_mask.nii.gz") in report.skipped  # the mask of an outside image
    counts = report.counts()
    assert counts["total"] == counts["ok"] + counts["violating"] + counts["unreadable"]


def test_manifest_missing_a_column(dataset: Path) -> None:
    lines = [",".join(line.split(",")[:-1]) for line in
             (dataset / "manifest.csv").read_text().splitlines()]
    (dataset / "no_label.csv").write_text("\n".join(lines) + "\n")
    report = check(str(dataset / "no_label.csv"), "brain_t1_nifti")
    assert report.codes() == ["manifest"]
    assert "lacks column 'label'" in report.violations[0].message
    assert report.inputs[str(dataset / "no_label.csv")] == "violating"


def test_unreadable_manifest(tmp_path: Path) -> None:
    bad = tmp_path / "m.parquet"
    bad.write_bytes(b"PAR1 nope")
    report = check(str(bad), "brain_t1_nifti")
    assert report.inputs == {str(bad): "unreadable"} and report.codes() == ["unreadable"]
