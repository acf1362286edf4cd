"""Hostile manifest tables: rows wider than the header, NUL bytes and over-long names in paths."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from datacheck.errors import DataError
from datacheck.readers.manifest import (
    WIDE_ROWS,
    BadPathError,
    WideRow,
    file_problem,
    read_manifest,
    resolve_entry,
    shown_path,
)


def test_a_wide_first_row_is_left_out_not_made_the_index(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("image,label\nsub/a,b.nii.gz,0\nc.nii.gz,1\n", encoding="utf-8")
    table = read_manifest(path)
    assert table["image"].tolist() == ["c.nii.gz"] and table["label"].tolist() == [1]
    assert table.index.tolist() == [1]  # line 3, as the rules number it (index + 2)
    assert table.attrs[WIDE_ROWS] == [WideRow(index=0, fields=3, header=2)]


def test_wide_later_rows_keep_the_table_and_the_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "m.tsv"
    # A quoted cell spanning two lines and blank lines count as pandas counts them.
    path.write_text('image\tlabel\n"a\nb.nii.gz"\t0\n\nc.nii.gz\t1\tx\ty\nd.nii.gz\t0\n\n',
                    encoding="utf-8")
    table = read_manifest(path)
    assert table["image"].tolist() == ["a\nb.nii.gz", "d.nii.gz"]
    assert table["label"].dtype.kind == "i"  # the wide row's cells do not turn labels into text
    assert table.index.tolist() == [0, 2]
    assert table.attrs[WIDE_ROWS] == [WideRow(index=1, fields=4, header=2)]


def test_a_quoted_separator_is_not_a_wide_row(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('image,label\n"sub/a,b.nii.gz",0\n', encoding="utf-8")
    table = read_manifest(path)
    assert table["image"].tolist() == ["sub/a,b.nii.gz"] and WIDE_ROWS not in table.attrs


def test_a_cell_over_the_csv_field_limit_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("image,label\n" + "a" * (csv.field_size_limit() + 1) + ",0\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match=r"unreadable manifest \(line 2: .*shorten that cell"):
        read_manifest(path)


def test_nul_and_overlong_paths_get_a_reason(tmp_path: Path) -> None:
    with pytest.raises(BadPathError) as info:
        resolve_entry(tmp_path, "sub/in.nii.gz\x00.png")
    assert info.value.reason == "path contains a NUL byte"
    assert info.value.path == tmp_path / "sub/in.nii.gz\x00.png"
    assert "\x00" not in str(info.value) and "\\x00" in str(info.value)
    _, real = resolve_entry(tmp_path, "a" * 300 + ".nii.gz")  # type: ignore[misc]
    assert file_problem(real) == "file name longer than the file system allows"
    assert file_problem(tmp_path) == "missing" and file_problem(tmp_path / "no.nii") == "missing"


def test_shown_path_is_one_short_printable_line() -> None:
    assert shown_path("ünï/cødé.nii.gz") == "ünï/cødé.nii.gz"
    assert shown_path("a\nb\x00") == "a\\nb\\x00"
    long = shown_path("a" * 5000)
    assert len(long) < 250 and long.endswith("(5000 characters)")
