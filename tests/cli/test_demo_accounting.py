"""The project's own demo: every buggy file named with its own code in text, JSON and CSV."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "examples" / "data"
#: Each buggy demo file and the code that must name it.
BUGS = {
    "digits_labels_1_based.npz": "label_range",
    "digits_nchw.npz": "layout",
    "digits_no_channel_axis.npz": "rank",
    "digits_one_hot_labels.npz": "label_encoding",
    "digits_pixels_0_255.npz": "range",
    "digits_sorted_by_class.npz": "unshuffled",
    "digits_string_labels.npz": "label_encoding",
}


def _env() -> dict[str, str]:
    import os

    root = str(Path(__file__).resolve().parents[2])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("demo")
    for path in sorted(DEMO.glob("*.npz")):
        shutil.copy(path, folder / path.name)
    # As a user runs it: `datacheck check --schema digits *.npz` in the data folder.
    files = sorted(p.name for p in folder.glob("*.npz"))
    out, failed = folder / "report.json", folder / "failed.csv"
    run = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema", "digits",
                          *files, "--json", str(out), "--failed-list", str(failed)],
                         capture_output=True, text=True, timeout=300, cwd=folder,
                         env=_env())
    return {"folder": folder, "run": run, "json": json.loads(out.read_text()),
            "csv": list(csv.DictReader(failed.open(encoding="utf-8")))}


def test_every_buggy_file_named_with_its_own_code_in_json(demo) -> None:
    data = demo["json"]
    assert demo["run"].returncode == 1, demo["run"].stderr
    inputs = data["inputs"]
    assert len(inputs) == 8 and data["counts"] == {"ok": 1, "violating": 7, "unreadable": 0,
                                                   "total": 8, "skipped": 0}
    assert inputs["digits_clean.npz"] == {"status": "ok", "codes": [],
                                                     "message": None}
    for name, code in BUGS.items():
        entry = inputs[name]
        assert entry["status"] == "violating" and entry["codes"] == [code], name
        assert name in entry["message"] and f": {code}: " in entry["message"], name
        # A listed violation of its own names it, not only the inputs entry.
        assert any(v["input"] == name and v["code"] == code
                   and v["scope"] == "input" for v in data["violations"]), name


def test_not_listed_counts_are_exact_and_per_input(demo) -> None:
    data = demo["json"]
    listed: dict[tuple[str, str, str], int] = {}
    for v in data["violations"]:
        key = (v["input"], v["feature"], v["code"])
        listed[key] = listed.get(key, 0) + 1
    records = data["stats"]["suppressed_violations"]
    assert {r["input"] for r in records} <= set(data["inputs"])
    for r in records:
        key = (r["input"], r["feature"], r["code"])
        assert r["not_listed"] == r["occurrences"] - listed[key] > 0, r
    # digits_nchw: 57 batches of 32, all with the layout error; one listed (same message).
    nchw = next(r for r in records if r["input"].endswith("digits_nchw.npz"))
    assert (nchw["occurrences"], nchw["not_listed"]) == (57, 56)
    # The first listed finding of a capped key carries the exact total.
    first = next(v for v in data["violations"] if v["input"].endswith("digits_nchw.npz"))
    assert first["extra"]["occurrences"] == 57


def test_text_names_every_buggy_file_with_severity_and_verdict(demo) -> None:
    out = demo["run"].stdout
    lines = out.splitlines()
    assert "severity" in lines[2] and "first reason" in out
    for name, code in BUGS.items():
        row = next(line for line in lines if name in line and line.lstrip("│ ").startswith(
            "violating"))
        assert code in row, (name, row)
    start = next(i for i, line in enumerate(lines) if line.startswith("FAILED:"))
    text = " ".join(lines[start:])  # the verdict may wrap at 160 columns
    assert text.startswith("FAILED: 11 errors, 0 warnings (")
    assert "Inputs: 8 (1 ok, 7 violating, 0" in text


def test_failed_list_csv(demo) -> None:
    rows = demo["csv"]
    assert {r["path"]: (r["status"], r["codes"]) for r in rows} == {
        name: ("violating", code) for name, code in BUGS.items()}
    assert all(r["reason"] for r in rows)
