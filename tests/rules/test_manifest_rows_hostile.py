"""Hostile manifest rows through check(): each ends as a report entry, never a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datacheck.api import check

HEADER = "id,subject,split,image,mask,label"


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    import nibabel as nib

    (tmp_path / "sub").mkdir()
    volume = nib.Nifti1Image(np.arange(64, dtype=np.int16).reshape(4, 4, 4), np.eye(4))
    nib.save(volume, tmp_path / "sub" / "in.nii.gz")
    return tmp_path


def run(root: Path, *rows: str):  # type: ignore[no-untyped-def]
    path = root / "manifest.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path, check(path, "brain_t1_nifti")


def test_a_wide_row_is_reported_with_its_line_and_the_rest_are_checked(dataset: Path) -> None:
    path, report = run(dataset, "1,s1,train,sub/in,x.nii.gz,,0", "2,s2,val,sub/in.nii.gz,,1",
                       "3,s3,test,nope.nii.gz,,1")
    assert report.inputs[str(path)] == "violating"
    assert report.inputs[str(dataset / "sub" / "in.nii.gz")] == "ok"
    (wide,) = [v for v in report.violations if v.code == "manifest"]
    assert "line 2 has 7 fields, the header has 6" in wide.message
    assert "Quote the path or remove the extra cell" in wide.message
    (missing,) = [v for v in report.violations if v.code == "missing_file"]
    assert "line 4: nope.nii.gz" in missing.message  # lines after the wide row stay true


def test_only_wide_rows_are_not_called_an_empty_manifest(dataset: Path) -> None:
    path, report = run(dataset, "1,s1,train,sub/in.nii.gz,,0,extra")
    assert report.inputs[str(path)] == "violating"
    assert [v.code for v in report.violations] == ["manifest"]
    assert "that row is skipped" in report.violations[0].message


def test_a_nul_byte_in_a_path_is_a_missing_file(dataset: Path) -> None:
    path, report = run(dataset, "1,s1,train,sub/in.nii.gz\x00.png,,0")
    assert report.inputs[str(path)] == "violating"
    # Report input names are one printable line: the NUL shows as an escape.
    assert report.inputs[f"{dataset}/sub/in.nii.gz\\x00.png"] == "unreadable"
    (missing,) = [v for v in report.violations if v.code == "missing_file"]
    assert "line 2: sub/in.nii.gz\\x00.png: path contains a NUL byte" in missing.message


def test_a_name_over_name_max_is_a_missing_file(dataset: Path) -> None:
    name = "a" * 300 + ".nii.gz"
    path, report = run(dataset, f"1,s1,train,{name},,0")
    assert report.inputs[str(path)] == "violating"
    assert report.inputs[str(dataset / name)] == "unreadable"
    (missing,) = [v for v in report.violations if v.code == "missing_file"]
    assert "file name longer than the file system allows" in missing.message
    assert "(307 characters)" in missing.message


def test_a_file_that_cannot_be_checked_is_unreadable(dataset: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (dataset / "locked.nii.gz").write_bytes(b"x")
    real_is_file = Path.is_file

    def is_file(self: Path) -> bool:
        if self.name == "locked.nii.gz":  # tests may run as root, where chmod does not lock
            raise PermissionError(13, "Permission denied")
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", is_file)
    path, report = run(dataset, "1,s1,train,locked.nii.gz,,0")
    assert report.inputs[str(path)] == "violating"
    assert report.inputs[str(dataset / "locked.nii.gz")] == "unreadable"
    (unreadable,) = [v for v in report.violations if v.code == "unreadable"]
    assert "line 2: locked.nii.gz: permission denied" in unreadable.message
    assert "refused, not opened" in unreadable.message


def test_escaping_paths_are_still_refused(dataset: Path) -> None:
    outside = dataset.parent / "outside.nii.gz"
    outside.write_bytes((dataset / "sub" / "in.nii.gz").read_bytes())
    name = "../" + "b" * 300 + ".nii.gz"
    path, report = run(dataset, "1,s1,train,../outside.nii.gz,,0", f"2,s2,val,{name},,1")
    (escape,) = [v for v in report.violations if "escape the dataset root" in v.message]
    assert escape.code == "manifest" and "2 paths escape" in escape.message
    assert report.inputs[str(dataset / "../outside.nii.gz")] == "unreadable"
    assert report.inputs[str(path)] == "violating"
