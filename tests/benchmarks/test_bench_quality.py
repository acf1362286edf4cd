"""Smoke test of benchmarks/bench_quality.py on tiny sizes: it runs and prints its table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_quality.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)


def test_quick_run_prints_found_planted_and_false_positives() -> None:
    proc = _run("--quick")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["source", "variant", "fault", "found", "planted", "rate",
                                "seconds"]
    for source, faults in (("digits", ("dark", "blurred", "blank")),
                           ("photos", ("dark", "blurred", "blank", "saturated"))):
        clean = next(line for line in lines if line.startswith(f"{source} ") and " clean " in line)
        assert "(false +)" in clean
        for fault in faults:
            row = next(line for line in lines if line.split()[:3] == [source, "planted", fault])
            found, planted = int(row.split()[3]), int(row.split()[4])
            assert 0 <= found <= planted and planted > 0, row
            assert float(row.split()[-1]) > 0, row
    verdicts = [line for line in lines if "(target" in line]
    assert len(verdicts) == 4 and all(line.endswith(("met", "MISSED")) for line in verdicts)
    assert "quick sizes" in proc.stdout


def test_bad_fraction_is_a_usage_error() -> None:
    proc = _run("--quick", "--fraction", "0.9")
    assert proc.returncode == 2 and "--fraction" in proc.stderr
