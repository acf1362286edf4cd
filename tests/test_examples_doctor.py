"""The doctor example reproduces the six seed failure modes and names each one."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXPECTED = {
    "string_labels": "label_encoding",
    "one_hot_for_sparse_loss": "loss_mismatch",
    "pixels_0_255": "unnormalized",
    "no_channel_axis": "input_shape",
    "sigmoid_for_10_classes": "output_activation",
    "two_units": "output_units",
}


def test_doctor_example_catches_every_seed_failure():
    pytest.importorskip("keras")
    pytest.importorskip("sklearn")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "doctor_seed_failures.py")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "caught before training: 6 of 6 cases" in out
    # Each case's section prints the doctor's table, then the codes it found.
    sections = dict(re.findall(r"=== (\w+): .*?\ncodes: ([^\n]*)", out, flags=re.S))
    assert set(sections) == set(EXPECTED)
    for case, code in EXPECTED.items():
        assert code in sections[case].split(", "), (case, sections[case])
    assert "Rescaling(1/255)" in out and "StringLookup" in out and "x[..., None]" in out
    assert "Traceback" not in result.stderr
