"""The manifest reader: CSV, TSV and Parquet tables; path resolution against a root."""

from __future__ import annotations

from pathlib import Path

import pytest

from datacheck.errors import DataError
from datacheck.readers.guards import Limits
from datacheck.readers.manifest import manifest_root, read_manifest, resolve_entry


def test_csv_tsv_and_parquet(tmp_path: Path) -> None:
    import pandas as pd

    csv = tmp_path / "m.csv"
    csv.write_text("id, image ,label\n1,a.nii.gz,0\n2,b.nii.gz,1\n", encoding="utf-8")
    table = read_manifest(csv)
    assert table.columns.tolist() == ["id", "image", "label"]
    assert table["image"].tolist() == ["a.nii.gz", "b.nii.gz"]
    tsv = tmp_path / "m.tsv"
    tsv.write_text("id\timage\n1\ta.nii\n")
    assert read_manifest(tsv)["image"].tolist() == ["a.nii"]
    parquet = tmp_path / "m.parquet"
    pd.DataFrame({"id": [1], "image": ["a.nii"]}).to_parquet(parquet)
    assert read_manifest(parquet)["id"].tolist() == [1]


def test_bad_tables_fail_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty file"):
        read_manifest(empty)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,image\n1,caf\xe9.nii\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_manifest(latin)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="unreadable manifest") as info:
        read_manifest(broken)
    assert "\n" not in str(info.value)
    big = tmp_path / "big.csv"
    big.write_text("id\n" + "1\n" * 1000)
    with pytest.raises(DataError, match="too_large"):
        read_manifest(big, Limits(max_bytes=100))


def test_resolve_entry_and_root(tmp_path: Path) -> None:
    root = manifest_root(tmp_path / "m.csv", "data")
    assert root == tmp_path / "data"
    joined, real = resolve_entry(root, " sub-01/a.nii.gz ")  # type: ignore[misc]
    assert joined == root / "sub-01" / "a.nii.gz" and real.is_absolute()
    assert resolve_entry(root, float("nan")) is None and resolve_entry(root, "  ") is None
    _, escaped = resolve_entry(root, "../../etc/passwd")  # type: ignore[misc]
    assert not escaped.is_relative_to(root.resolve())
