"""The bundled examples reproduce each zero-accuracy failure mode, and datacheck catches each."""

import subprocess
import sys
from pathlib import Path

import pytest

import datacheck as dc

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"

EXPECTED = {
    "digits_clean.npz": set(),
    "digits_pixels_0_255.npz": {"range"},
    "digits_string_labels.npz": {"label_encoding"},
    "digits_one_hot_labels.npz": {"label_encoding"},
    "digits_no_channel_axis.npz": {"rank"},
    "digits_nchw.npz": {"layout"},
    "digits_labels_1_based.npz": {"label_range"},
    "digits_sorted_by_class.npz": {"unshuffled"},
}


@pytest.mark.parametrize(("name", "codes"), EXPECTED.items())
def test_bundled_example_files(name, codes):
    report = dc.check(str(DATA / name), "digits")
    errors = {v.code for v in report.errors}
    assert codes <= errors
    assert report.ok == (not codes)


def test_every_example_file_is_listed():
    assert {p.name for p in DATA.glob("*.npz")} == set(EXPECTED)


def test_zero_accuracy_script_catches_all_seven():
    pytest.importorskip("tensorflow")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "zero_accuracy_cnn.py")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 of 7 failure modes caught" in result.stdout
    assert result.stdout.count("[caught]") == 7
