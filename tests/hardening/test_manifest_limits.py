"""Manifests are read in bounded chunks under a row limit (default 1,000,000 rows).

The hostile file: a 36 KB Parquet declaring 5,000,000 rows (one dictionary-
encoded path repeated). Parsed whole it took 3 GB and 209 s; it must be refused
from its footer, in well under 5 s, inside a 1 GiB address space.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

import datacheck as dc
from datacheck.errors import DataError
from datacheck.readers.guards import DEFAULT_MAX_MANIFEST_ROWS, Limits, TooLargeError
from datacheck.readers.manifest import read_manifest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ADDRESS_SPACE = 1024**3


def _five_million(path: Path) -> Path:
    rows = 5_000_000
    table = pa.table({"image": pa.array(["a.nii.gz"] * rows).dictionary_encode(),
                      "label": pa.array([0] * rows, pa.int8())})
    pq.write_table(table, path, compression="zstd")
    return path


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def test_a_tiny_parquet_declaring_five_million_rows_is_too_large_at_once(tmp_path):
    path = _five_million(tmp_path / "manifest.parquet")
    assert path.stat().st_size < 100_000
    assert DEFAULT_MAX_MANIFEST_ROWS == 1_000_000
    code = ("import json, sys, datacheck as dc; r = dc.check(sys.argv[1], 'digits'); "
            "print(json.dumps([r.inputs, [[v.code, v.message] for v in r.violations]]))")
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=60, preexec_fn=_limit_memory,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr[-2000:]
    inputs, violations = json.loads(done.stdout.splitlines()[-1])
    assert inputs == {str(path): "unreadable"}
    assert [c for c, _ in violations] == ["too_large"]
    assert "manifest holds 5,000,000 rows, over the limit of 1,000,000" in violations[0][1]
    assert elapsed < 5 + 3  # the refusal itself; about 3 s of it is importing in a fresh process
    start = time.monotonic()
    with pytest.raises(TooLargeError, match="5,000,000 rows"):
        read_manifest(path)
    assert time.monotonic() - start < 5


def test_the_manifest_row_limit_is_configurable_and_counts_csv_rows(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_text("image,label\n" + "a.nii.gz,0\n" * 1001)
    assert len(read_manifest(path)) == 1001
    with pytest.raises(TooLargeError, match="1,001 rows, over the limit of 1,000"):
        read_manifest(path, Limits(max_manifest_rows=1000))
    # max_rows (archives) bounds manifests too: the smaller limit wins.
    assert Limits(max_rows=10, max_manifest_rows=1000).manifest_rows == 10
    report = dc.check(path, "digits", limits=Limits(max_manifest_rows=1000))
    assert [v.code for v in report.violations] == ["too_large"]
    assert report.inputs == {str(path): "unreadable"}


def test_a_large_csv_is_read_in_chunks_like_one_table(tmp_path, monkeypatch):
    from datacheck.readers import manifest

    path = tmp_path / "manifest.csv"
    path.write_text("image,label\n" + "".join(f"s{i}.nii.gz,{i % 3}\n" for i in range(1000)))
    whole = read_manifest(path)
    monkeypatch.setattr(manifest, "CHUNK_ROWS", 64)
    chunked = read_manifest(path)
    assert chunked.equals(whole) and list(chunked.index) == list(range(1000))


def test_parquet_cells_decoding_past_max_bytes_are_refused_while_reading(tmp_path):
    path = tmp_path / "wide.parquet"
    cell = "x" * (1 << 20)
    pq.write_table(pa.table({"image": [cell] * 16, "label": list(range(16))}), path,
                   use_dictionary=False, compression="zstd")
    assert path.stat().st_size < 1 << 20
    assert len(read_manifest(path, Limits(max_bytes=64 << 20))) == 16
    with pytest.raises(DataError, match=r"manifest cells decode to over 8\.0 MiB"):
        read_manifest(path, Limits(max_bytes=8 << 20))


def test_max_rows_on_the_command_line_bounds_a_manifest(tmp_path):
    """`--max-rows` reaches the manifest reader through the one limits resolver."""
    rows = ["image,label"] + [f"sub-{i:02d}.nii.gz,0" for i in range(12)]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema",
                           "brain_t1_nifti", str(manifest), "--max-rows", "5", "--json",
                           str(report)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 1, done.stderr[-2000:]
    found = json.loads(report.read_text())
    assert [v["code"] for v in found["violations"]] == ["too_large"]
    assert "12 rows, over the limit of 5" in found["violations"][0]["message"]
    bad = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema",
                          "brain_t1_nifti", str(manifest), "--max-rows", "0"],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert bad.returncode == 2 and "--max-rows must be >= 1" in bad.stderr
    assert "Traceback" not in bad.stderr
