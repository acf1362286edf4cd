"""Smoke test of benchmarks/bench_labels.py at quick sizes: it runs and prints every row."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cleanlab")

ROOT = Path(__file__).resolve().parents[2]
FAULTS = ("5% flipped labels", "7 -> 1, probe", "7 -> 1, model predictions",
          "exact copies across splits", "near copies across splits (sigma 0.03)",
          "copies with another label")


def test_quick_run_prints_a_row_per_fault():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_labels.py"),
                           "--quick"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("digits: 600 elements (quick sizes)")
    for fault in FAULTS:
        row = next(line for line in lines if line.startswith(fault))
        cells = re.split(r"\s{2,}", row.strip())
        found, planted = cells[1].split()[0].split("/")
        assert 0 <= int(found) <= int(planted), row
        assert float(row.split()[-1]) >= 0, row
    exact = re.split(r"\s{2,}", next(line for line in lines if line.startswith("exact copies")))
    k = exact[1].split()[0].split("/")[1]
    assert exact[1].split()[0] == f"{k}/{k}"  # exact copies are always found
    assert "targets: not judged at quick sizes" in proc.stdout
