"""Smoke test of benchmarks/bench_training.py: it runs every variant, throughput and
``model.fit``, and prints a ratio for each (no timing asserts)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_training.py"
VARIANTS = ("floor", "raise", "drop")


@pytest.mark.slow
def test_quick_run_times_every_variant_against_plain_in_the_same_rounds() -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                          text=True, timeout=600, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line.strip() for line in proc.stdout.splitlines()]
    fit_at = next(i for i, line in enumerate(lines) if line.startswith("model.fit"))
    throughput, fit = lines[:fit_at], lines[fit_at:]
    plain_ms = set()
    for name in VARIANTS:
        row = next(line for line in throughput if line.startswith(name + " "))
        found = re.search(r"plain (\d+\.\d) ms -> throughput (\d+\.\d+)x plain \(median of "
                          r"paired rounds (\d+\.\d+)x; CPU (\d+\.\d+)x\)", row)
        assert found, row
        plain_ms.add(found.group(1))
        assert all(float(value) > 0 for value in found.groups()), row
        row = next(line for line in fit if line.startswith(name + " "))
        assert re.search(r"-> \d+\.\d+x \(median of paired rounds \d+\.\d+x\)", row), row
    # One plain baseline, shared by every variant of the same rounds.
    assert len(plain_ms) == 1
