"""Image folders as a source: Keras' class-per-subfolder layout and a flat folder + labels.csv.

Real images: tiles of scikit-learn's sample photos (china.jpg, flower.jpg)
saved as PNG and JPEG class folders, and its digits saved as PNG. Every file
on disk must end as an input (ok, violating, unreadable) or as skipped, with
its own reason.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datacheck.scan.paths import check_paths
from datacheck.schema.model import Feature, Label, Schema
from datacheck.schema.quality import QualitySpec

ROOT = Path(__file__).resolve().parents[2]


def _files(folder: Path) -> set[str]:
    return {str(p) for p in folder.rglob("*") if p.is_file()}


def _accounted(report, folder: Path) -> None:
    """Every file is an input or skipped, each non-ok input has its own reason."""
    assert set(report.inputs) | set(report.skipped) == _files(folder)
    assert not set(report.inputs) & set(report.skipped)
    counts = report.counts()
    assert counts["ok"] + counts["violating"] + counts["unreadable"] == counts["total"]
    reasons = {v.input for v in report.violations}
    for name, status in report.inputs.items():
        if status != "ok":
            assert name in reasons, name


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    """china/ and flower/ class folders of 64x64 tiles, PNG and JPEG mixed."""
    from sklearn.datasets import load_sample_images

    root = tmp_path_factory.mktemp("photos")
    for name, image in zip(("china", "flower"), load_sample_images().images, strict=True):
        (root / name).mkdir()
        for k in range(6):
            tile = image[96 + k * 48: 160 + k * 48, 200:264]
            Image.fromarray(tile).save(root / name / f"{k}.{'png' if k % 2 else 'jpg'}")
    return root


def _photo_schema(**feature: object) -> Schema:
    return Schema(name="photos", features={"image": Feature(layout="HWC", normalization="unit",
                                                            **feature)},
                  labels={"label": Label(num_classes=2)})


def test_clean_class_folders_pass_with_labels_by_sorted_name(photo_folder: Path) -> None:
    report = check_paths([photo_folder], _photo_schema(quality=QualitySpec(blurry=None)))
    assert report.ok, report.to_text()
    assert report.counts()["ok"] == 12
    assert report.summaries["label"]["histogram"] == {"0": 6, "1": 6}
    _accounted(report, photo_folder)


def test_broken_files_are_each_reported_and_the_scan_goes_on(photo_folder: Path,
                                                             tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(photo_folder, root)
    gray = np.asarray(Image.open(root / "china" / "1.png").convert("L"))
    Image.fromarray(gray).save(root / "china" / "gray.png")
    (root / "flower" / "empty.png").write_bytes(b"")
    data = (root / "china" / "0.jpg").read_bytes()
    (root / "china" / "cut.jpg").write_bytes(data[: len(data) // 2])
    (root / "china" / "bomb.png").write_bytes(_png_header(30000, 30000))
    (root / "notes.txt").write_text("taken in 2024")
    Image.fromarray(gray).save(root / "stray.png")  # beside the class folders
    (root / "china" / ".thumb.png").write_bytes(b"")
    report = check_paths([root], _photo_schema())
    by_input = {v.input: v for v in report.violations}
    name = str(root)
    assert by_input[f"{name}/flower/empty.png"].code == "unreadable"
    assert "zero-byte" in by_input[f"{name}/flower/empty.png"].message
    assert "truncated" in by_input[f"{name}/china/cut.jpg"].message
    assert by_input[f"{name}/china/bomb.png"].code == "too_large"
    layout = by_input[f"{name}/china/gray.png"]
    assert layout.code == "layout" and "1 channel(s) (grayscale)" in layout.message
    assert report.inputs[f"{name}/china/gray.png"] == "violating"
    assert "image_dataset_from_directory ignores it" in report.skipped[f"{name}/stray.png"]
    assert "no reader" in report.skipped[f"{name}/notes.txt"]
    assert report.skipped[f"{name}/china/.thumb.png"] == "hidden file"
    assert report.counts()["ok"] == 12
    _accounted(report, root)


def test_declared_channels_name_each_grayscale_file(photo_folder: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(photo_folder, root)
    Image.open(root / "flower" / "1.png").convert("L").save(root / "flower" / "g.png")
    report = check_paths([root], _photo_schema(channels=3))
    bad = [v for v in report.violations if v.input == f"{root}/flower/g.png"]
    assert [v.code for v in bad] == ["shape"]
    assert f"{root}/flower/g.png" in bad[0].message
    _accounted(report, root)


def test_a_third_class_folder_is_out_of_range(photo_folder: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(photo_folder, root)
    (root / "zebra").mkdir()
    shutil.copy(root / "china" / "1.png", root / "zebra" / "z.png")
    report = check_paths([root], _photo_schema())
    ranged = [v for v in report.violations if v.code == "label_range"]
    assert [v.input for v in ranged] == [f"{root}/zebra/z.png"]  # zebra sorts third: class 2


@pytest.fixture(scope="module")
def digit_pngs(tmp_path_factory) -> tuple[Path, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    root = tmp_path_factory.mktemp("digits")
    for i in range(150):
        pixels = (data.images[i] * 255 / 16).round().astype(np.uint8)
        Image.fromarray(pixels).save(root / f"d{i:03d}.png")
    return root, data.target[:150]


def _digit_schema() -> Schema:
    return Schema(name="digits", features={"image": Feature(
        layout="HWC", shape=[8, 8, 1], normalization="unit", quality=QualitySpec())},
        labels={"label": Label(num_classes=10)})


def test_flat_folder_with_labels_csv(digit_pngs, tmp_path: Path) -> None:
    import shutil

    source, labels = digit_pngs
    root = tmp_path / "flat"
    shutil.copytree(source, root)
    rows = [f"d{i:03d}.png,{labels[i]}" for i in range(150) if i != 17]
    rows.append("gone.png,3")
    (root / "labels.csv").write_text("filename,label\n" + "\n".join(rows) + "\n")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "d017.png")  # unlisted, and blank
    report = check_paths([root], _digit_schema())
    unlisted = [v for v in report.violations if v.input == f"{root}/d017.png"]
    assert [v.code for v in unlisted] == ["manifest"]
    assert "no row of" in unlisted[0].message
    gone = [v for v in report.violations if v.code == "missing_file"]
    assert len(gone) == 1 and "line 151 names 'gone.png'" in gone[0].message
    assert report.inputs[f"{root}/labels.csv"] == "violating"
    assert report.summaries["label"]["elements"] == 149
    assert report.counts()["ok"] == 149
    _accounted(report, root)


def test_planted_quality_faults_in_a_folder_name_their_files(digit_pngs, tmp_path) -> None:
    import shutil

    source, labels = digit_pngs
    root = tmp_path / "classes"
    for i in range(150):
        (root / str(labels[i])).mkdir(parents=True, exist_ok=True)
        shutil.copy(source / f"d{i:03d}.png", root / str(labels[i]) / f"d{i:03d}.png")
    dark = root / str(labels[5]) / "d005.png"
    pixels = np.asarray(Image.open(dark))
    Image.fromarray((pixels * 0.05).astype(np.uint8)).save(dark)
    report = check_paths([root], _digit_schema())
    assert [(v.code, v.input) for v in report.violations] == [("dark", str(dark))]
    assert report.counts()["violating"] == 1 and report.counts()["ok"] == 149


def test_infer_then_check_a_digit_folder(digit_pngs, tmp_path: Path) -> None:
    import shutil

    source, labels = digit_pngs
    root = tmp_path / "classes"
    for i in range(150):
        (root / str(labels[i])).mkdir(parents=True, exist_ok=True)
        shutil.copy(source / f"d{i:03d}.png", root / str(labels[i]) / f"d{i:03d}.png")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    inferred = subprocess.run([sys.executable, "-m", "datacheck", "infer", str(root)],
                              capture_output=True, text=True, env=env, timeout=300)
    assert inferred.returncode == 0, inferred.stderr
    assert "shape: [8, 8, 1]" in inferred.stdout and "num_classes: 10" in inferred.stdout
    schema = tmp_path / "schema.yaml"
    schema.write_text(inferred.stdout)
    checked = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema",
                              str(schema), str(root)], capture_output=True, text=True, env=env,
                             timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Inputs: 150 (150 ok" in checked.stdout


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
