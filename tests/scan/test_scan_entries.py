"""Folder scans account for every entry on disk: checked, skipped with a reason, or refused."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from datacheck.api import check
from datacheck.scan import check_paths
from datacheck.schema import load_schema

SCHEMA = {
    "name": "brain",
    "features": {"volume": {"layout": "DHWC", "shape": [None, None, None, 1],
                            "dtype": "floating", "range": [-10, 10]}},
}


def assert_every_non_ok_input_has_a_reason(report) -> None:
    for name, detail in report.input_details().items():
        if detail["status"] != "ok":
            assert detail["codes"] and detail["message"], (name, detail)


@pytest.fixture()
def scans(tmp_path: Path, write_nifti) -> Path:
    rng = np.random.default_rng(0)
    data = tmp_path / "scans"
    (data / "sub").mkdir(parents=True)
    (data / ".git").mkdir()
    (data / ".git" / "HEAD").write_text("ref")

    def good(name: str) -> Path:
        path = write_nifti(Path(name).name, rng.normal(size=(4, 4, 4)).astype(np.float32))
        return Path(shutil.move(path, data / name))

    good("a.nii.gz")
    good("a.nii")  # the same volume name twice: two inputs, both `duplicate`
    good("b.nii.gz")
    good("sub/c.nii.gz")
    good(".hidden.nii.gz")
    (data / "notes.txt").write_text("x")
    (data / "labels.csv").write_text("image\nb.nii.gz\n")
    outside = good("out.nii.gz").rename(tmp_path / "out.nii.gz")
    (data / "link_in.nii.gz").symlink_to("b.nii.gz")
    (data / "link_out.nii.gz").symlink_to(outside)
    (data / "dangling.nii.gz").symlink_to(tmp_path / "nowhere.nii.gz")
    (data / "sublink").symlink_to("sub", target_is_directory=True)
    (data / "outlink").symlink_to(tmp_path, target_is_directory=True)
    return data


def test_every_entry_checked_skipped_or_refused(scans: Path) -> None:
    report = check_paths([scans], load_schema(SCHEMA))
    s = f"{scans}/"
    assert report.inputs == {
        s + "a.nii": "violating", s + "a.nii.gz": "violating", s + "b.nii.gz": "ok",
        s + "dangling.nii.gz": "unreadable", s + "link_out.nii.gz": "unreadable",
        s + "outlink": "unreadable", s + "sub/c.nii.gz": "ok"}
    assert report.skipped == {
        s + ".git": "hidden folder, not entered",
        s + ".hidden.nii.gz": "hidden file",
        s + "labels.csv": "a table inside a data folder is not read as a manifest; pass it by "
                          "name to check it",
        s + "link_in.nii.gz": f"same file as {s}b.nii.gz (symlink followed, checked once)",
        s + "notes.txt": "no reader for '.txt' files",
        s + "sublink": f"folder already scanned as {s}sub (symlink followed once)"}
    # Checked + skipped = every entry on disk, but for the folder that was entered.
    on_disk = len(os.listdir(scans)) - 1 + len(os.listdir(scans / "sub"))
    assert len(report.inputs) + len(report.skipped) == on_disk
    assert report.counts()["skipped"] == 6 and report.stats["skipped_files"] == 6
    assert_every_non_ok_input_has_a_reason(report)
    details = report.input_details()
    assert details[s + "a.nii"]["codes"] == ["duplicate"]
    assert "stored again as " + s + "a.nii.gz" in details[s + "a.nii"]["message"]
    assert "stored again as " + s + "a.nii" in details[s + "a.nii.gz"]["message"]
    out = details[s + "link_out.nii.gz"]["message"]
    assert "outside the dataset root" in out and "refused, not followed" in out
    assert "outside the dataset root" in details[s + "outlink"]["message"]
    assert details[s + "dangling.nii.gz"]["codes"] == ["missing_file"]
    # Both copies were read: their voxels reached the summary.
    assert report.summaries["volume"]["elements"] == 4


def _scan_as_nobody(data: Path, queue) -> None:  # type: ignore[no-untyped-def]
    try:
        os.setgid(65534)
        os.setuid(65534)
        queue.put(check_paths([data], load_schema(SCHEMA)).to_dict())
    except BaseException as exc:  # reported to the parent, which fails the test with it
        queue.put(repr(exc))


def test_unreadable_subfolder_as_a_non_root_user(write_nifti) -> None:
    """A folder that cannot be listed fails the run, named, with its reason."""
    import multiprocessing

    base = Path(tempfile.mkdtemp(prefix="datacheck-perm-"))
    data = base / "scans"
    (data / "locked").mkdir(parents=True)
    for name in ("ok.nii.gz", "locked/inside.nii.gz"):
        volume = np.random.default_rng(0).normal(size=(3, 3, 3)).astype(np.float32)
        path = write_nifti("v.nii.gz", volume)
        shutil.move(path, data / name)
    (data / "locked").chmod(0)
    try:
        if os.geteuid() == 0:
            # root reads every folder: scan as nobody, in a forked child (the interpreter
            # lives under /root, so a fresh one could not start). Imports are warmed first.
            check_paths([data / "ok.nii.gz"], load_schema(SCHEMA))
            for entry in (base, data):
                entry.chmod(0o755)
            (data / "ok.nii.gz").chmod(0o644)
            context = multiprocessing.get_context("fork")
            queue = context.Queue()
            child = context.Process(target=_scan_as_nobody, args=(data, queue))
            child.start()
            report = queue.get(timeout=120)
            child.join(30)
        else:
            report = check_paths([data], load_schema(SCHEMA)).to_dict()
    finally:
        (data / "locked").chmod(0o755)
        shutil.rmtree(base)
    assert isinstance(report, dict), report
    assert report["ok"] is False
    entry = report["inputs"][f"{data}/locked"]
    assert entry["status"] == "unreadable" and entry["codes"] == ["unreadable"]
    assert "folder cannot be listed (Permission denied)" in entry["message"]
    assert report["inputs"][f"{data}/ok.nii.gz"]["status"] == "ok"
    assert len(report["inputs"]) == 2 and report["skipped"] == {}


def test_names_that_print_alike_stay_two_inputs(tmp_path: Path, write_nifti) -> None:
    volume = np.random.default_rng(0).normal(size=(3, 3, 3)).astype(np.float32)
    real = write_nifti("x.nii.gz", volume)
    real.rename(tmp_path / "x\nz.nii.gz")  # a newline, shown as the two characters \n
    write_nifti("x\\nz.nii.gz", volume)  # a backslash and an n: the same printed name
    report = check_paths([tmp_path], load_schema(SCHEMA))
    assert report.counts()["total"] == 2 and report.counts()["ok"] == 2
    names = sorted(report.inputs)
    assert names[0] == f"{tmp_path}/x\\nz.nii.gz"
    assert names[1] == f"{tmp_path}/x\\nz.nii.gz [#2]"


def test_dataset_scope_together_by_default_and_each_on_request(tmp_path: Path, digits) -> None:
    x, y = digits
    train, test = tmp_path / "train.npz", tmp_path / "test.npz"
    np.savez(train, image=x[y != 7], label=y[y != 7])  # class 7 missing from train
    np.savez(test, image=x, label=y)
    together = check([str(train), str(test)], "digits")
    assert together.ok and "num_classes" not in together.codes(), together.to_text()
    assert together.stats["dataset_scope"] == "all inputs together"
    each = check([str(train), str(test)], "digits", each=True)
    found = {v.code: v for v in each.violations}
    assert set(found) == {"num_classes", "class_balance"}
    assert all(v.input == str(train) and str(train) in v.message for v in found.values())
    assert "missing: 7" in found["num_classes"].message
    assert "class 7 makes up 0.00%" in found["class_balance"].message
    details = each.input_details()
    assert details[str(train)]["status"] == "violating"
    assert set(details[str(train)]["codes"]) == {"num_classes", "class_balance"}
    assert details[str(test)] == {"status": "ok", "codes": [], "message": None}
    assert each.verdict().startswith("FAILED: 1 error, 1 warning (")
    assert each.stats["dataset_scope"] == "each input"


def test_dataset_scope_findings_belong_to_no_file(tmp_path: Path, digits) -> None:
    x, y = digits
    order = np.argsort(y, kind="stable")
    few = np.isin(y[order], [0, 1])  # only classes 0 and 1: others missing, 0/1 dominate
    parts = [tmp_path / "p1.npz", tmp_path / "p2.npz"]
    rng = np.random.default_rng(0)
    keep = rng.permutation(np.flatnonzero(few))
    np.savez(parts[0], image=x[order][keep[:100]], label=y[order][keep[:100]])
    np.savez(parts[1], image=x[order][keep[100:]], label=y[order][keep[100:]])
    report = check([str(p) for p in parts], "digits")
    scope = report.dataset_findings()
    assert {v.code for v in scope} == {"class_balance", "num_classes"}
    assert all(v.to_dict()["scope"] == "dataset" and v.input is None for v in scope)
    assert not report.ok and set(report.inputs.values()) == {"ok"}
    assert all(d["codes"] == [] for d in report.input_details().values())
    text = report.to_text()
    assert "class_balance" in text and "FAILED: 1 error, 1 warning" in text


@pytest.fixture()
def manifest(tmp_path: Path, write_nifti) -> Path:
    """Four train rows z-scored, two val rows 100x too large; one row refers outside."""
    rng = np.random.default_rng(0)
    root = tmp_path / "ds"
    root.mkdir()
    rows = ["id,subject,split,image,label"]
    for i in range(6):
        scale = 1.0 if i < 4 else 100.0
        volume = rng.normal(size=(6, 6, 6)).astype(np.float32) * scale
        write_nifti(f"s{i}.nii.gz", volume).rename(root / f"s{i}.nii.gz")
        rows.append(f"{i},sub{i},{'train' if i < 4 else 'val'},s{i}.nii.gz,{i % 2}")
    rows += ["6,sub6,train,../../outside.nii.gz,0", "7,sub7,train,gone.nii.gz,1"]
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root / "manifest.csv"


def _zscore_schema() -> dict:
    schema = load_schema("brain_t1_nifti").model_dump(exclude_none=True)
    schema["features"]["volume"]["normalization"] = "zscore"
    schema["features"]["volume"]["tolerance"] = 0.5
    schema["manifest"].pop("mask_column")
    return schema


def test_manifest_refused_files_each_have_a_reason(manifest: Path) -> None:
    report = check(str(manifest), _zscore_schema())
    details = report.input_details()
    outside = details[str(manifest.parent / "../../outside.nii.gz")]
    gone = details[str(manifest.parent / "gone.nii.gz")]
    assert outside["status"] == "unreadable" and outside["codes"] == ["manifest"]
    assert "escape the dataset root" in outside["message"]
    assert gone["codes"] == ["missing_file"] and "do not exist" in gone["message"]
    assert_every_non_ok_input_has_a_reason(report)


def test_each_judges_dataset_rules_per_manifest_split(manifest: Path) -> None:
    together = check(str(manifest), _zscore_schema())
    unnormalized = [v for v in together.violations if v.code == "unnormalized"]
    assert [v.where for v in unnormalized] == ["dataset"] and unnormalized[0].input is None
    each = check(str(manifest), _zscore_schema(), each=True)
    unnormalized = [v for v in each.violations if v.code == "unnormalized"]
    # The val split (100x too large) fails on its own; train (z-scored) passes.
    assert [v.where for v in unnormalized] == [f"{manifest} split val"]
    assert unnormalized[0].input is None and "split val mean" in unnormalized[0].message


def test_mask_of_an_unreadable_image_is_still_an_input(tmp_path: Path, write_nifti) -> None:
    rng = np.random.default_rng(0)
    image = write_nifti("a.nii.gz", rng.normal(size=(5, 5, 5)).astype(np.float32))
    image.write_bytes(image.read_bytes()[:200])
    write_nifti("a_mask.nii.gz", (rng.random((5, 5, 5)) > 0.5).astype(np.uint8))
    report = check_paths([tmp_path], load_schema(dict(SCHEMA, pairs={"labels": [0, 1]})))
    assert report.inputs == {f"{tmp_path}/a.nii.gz": "unreadable",
                             f"{tmp_path}/a_mask.nii.gz": "unreadable"}
    mask = report.input_details()[f"{tmp_path}/a_mask.nii.gz"]
    assert "not checked, its image" in mask["message"] and "a.nii.gz" in mask["message"]
    assert_every_non_ok_input_has_a_reason(report)


def test_symlinks_follow_one_rule_in_folder_and_manifest_mode(scans: Path) -> None:
    """Inside the root: followed; leaving it: refused, and the message says so, both modes."""
    (scans / "m.csv").write_text("image\nlink_in.nii.gz\nlink_out.nii.gz\n")
    schema = dict(SCHEMA, manifest={"image_column": "image"})
    report = check_paths([scans / "m.csv"], load_schema(schema))
    assert report.inputs[f"{scans}/link_in.nii.gz"] == "ok"
    refused = report.input_details()[f"{scans}/link_out.nii.gz"]
    assert refused["status"] == "unreadable"
    assert "refused, not opened (symlinks are followed only when their target stays inside " \
        "the root)" in refused["message"]
    folder = check_paths([scans], load_schema(SCHEMA)).input_details()
    assert "refused, not followed (links inside the root are followed)" in \
        folder[f"{scans}/link_out.nii.gz"]["message"]
