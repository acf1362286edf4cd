"""Smoke test of benchmarks/bench_tfdata.py: it runs and prints its table (no timing asserts)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_tfdata.py"
PIPELINES = ("cifar-uint8", "cifar-float32", "3d-unit", "3d-zscore")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=env)


@pytest.mark.slow
def test_quick_run_prints_times_and_ratios_for_every_pipeline() -> None:
    proc = _run("--quick")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("pipeline"))
    for column in ("plain s", "floor s", "valid. s", "debug s", "valid/floor", "debug/valid"):
        assert column in header
    for name in PIPELINES:
        row = next(line for line in lines if line.startswith(name + " "))
        times = [float(v) for v in row.split()[2:6]]
        assert all(t > 0 for t in times), row
        ratios = re.findall(r"(\d+\.\d+)x \((\d+\.\d+)-(\d+\.\d+)\)", row)
        assert len(ratios) == 2, row
        for median, low, high in ratios:
            assert float(low) <= float(median) <= float(high), row
    verdicts = [line for line in lines if "(target" in line]
    # every pipeline vs floor; the 3D pipeline with range asserts vs debug
    assert len(verdicts) == len(PIPELINES) + 1
    assert all(line.endswith(("met", "MISSED")) for line in verdicts)
    assert any(line.startswith("3d-zscore: debug/validated") and "informational" in line
               for line in lines)
    assert "quick sizes" in proc.stdout


def test_unknown_pipeline_is_a_usage_error() -> None:
    proc = _run("--quick", "--only", "cifar-uint8,imagenet")
    assert proc.returncode == 2
    assert "imagenet" in proc.stderr and "choose from" in proc.stderr
