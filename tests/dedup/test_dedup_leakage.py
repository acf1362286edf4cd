"""Duplicates within a split and leakage across splits, through `diff(..., dedup=True)`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from datacheck.dedup.hashing import content_hash
from datacheck.dedup.index import HashIndex
from datacheck.drift import diff
from datacheck.rules.dedup import duplicate_violations


def test_exact_copies_across_splits_are_leakage_errors(digits):
    x, y = digits
    xa, ya, xb, yb = x[:900], y[:900], x[900:].copy(), y[900:].copy()
    xb[:12] = xa[100:112]
    yb[:12] = ya[100:112]
    report = diff((xa, ya), (xb, yb), dedup=True)
    [leak] = [v for v in report.violations if v.code == "leakage" and v.severity == "error"]
    assert leak.message.startswith("image: leakage: 12 elements of B are exact copies of "
                                   "elements of A, e.g. B: <array> element 0 = A: <array> "
                                   "element 100")
    assert "Deduplicate before splitting" in leak.message
    assert leak.observed == 12 and len(leak.extra["groups"]) == 12
    assert not report.ok and report.inputs == {"A": "violating", "B": "violating"}


def test_label_conflicts_are_named(digits):
    x, y = digits
    xb, yb = x[900:].copy(), y[900:].copy()
    xb[:3] = x[:3]
    yb[:3] = (y[:3] + 1) % 10
    report = diff((x[:900], y[:900]), (xb, yb), dedup=True)
    leak = next(v for v in report.violations if v.code == "leakage")
    assert "3 of these carry different labels" in leak.message


def test_near_copies_are_warnings(digits, rng):
    x, y = digits
    xa, xb = x[:900], x[900:].copy()
    xb[:20] = np.clip(xa[:20] * 0.95 + rng.normal(0, 0.01, xa[:20].shape), 0, 1)
    report = diff((xa, y[:900]), (xb, y[900:]), dedup=True)
    near = next(v for v in report.violations if v.code == "leakage")
    assert near.severity == "warning" and near.extra["kind"] == "near"
    planted = {f"B: <array> element {i}" for i in range(20)}
    linked = {member for group in near.extra["groups"] for member in group}
    assert len(planted & linked) >= 18
    assert "near copies (perceptual hash within 4 bits)" in near.message
    assert report.ok  # near copies warn; only exact leakage fails the run


def test_duplicates_within_one_split(digits):
    x, y = digits
    xa = x[:300].copy()
    xa[200:205] = xa[:5]
    report = diff((xa, y[:300]), (x[300:600], y[300:600]), dedup=True, max_distance=0)
    dup = next(v for v in report.violations if v.code == "duplicate" and "A holds" in v.message)
    assert dup.severity == "warning"
    assert dup.message.startswith("image: duplicate: A holds 5 groups of exact copies "
                                  "(5 redundant elements)")
    assert report.stats["dedup"]["exact_duplicate_groups_A"] == 5


def test_duplicate_violations_on_indexes_directly():
    a, b = HashIndex("train"), HashIndex("test")
    for i in range(4):
        a.add(f"a.npz element {i}", content_hash([np.full(3, i)]), None, str(i))
    b.add("b.npz element 0", content_hash([np.full(3, 2)]), None, "2")
    found, stats = duplicate_violations([a, b], "x")
    [v] = found
    assert v.code == "leakage" and v.where == "test: b.npz element 0"
    assert stats["exact_leakage_groups"] == 1


nib = pytest.importorskip("nibabel")
NIB_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"


def test_volume_copied_into_both_splits(tmp_path):
    img = nib.load(NIB_DATA / "anatomical.nii")
    data = np.asarray(img.dataobj).astype(np.float32)
    for split in ("train", "test"):
        (tmp_path / split).mkdir()
    for k in range(3):
        nib.save(nib.Nifti1Image(data * (1 + k), img.affine), tmp_path / f"train/s{k}.nii.gz")
    nib.save(nib.Nifti1Image(data * 2, img.affine), tmp_path / "test/t0.nii.gz")  # = s1
    nib.save(nib.Nifti1Image(data[::-1].copy(), img.affine), tmp_path / "test/t1.nii.gz")
    out = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "datacheck", "diff", str(tmp_path / "train"),
         str(tmp_path / "test"), "--dedup", "--json", str(out)], capture_output=True, text=True,
        timeout=180)
    assert result.returncode == 1, result.stderr
    assert "leakage" in result.stdout
    report = json.loads(out.read_text())
    [exact] = [v for v in report["violations"] if v["code"] == "leakage"
               and v["extra"]["kind"] == "exact"]
    [[first, second]] = exact["extra"]["groups"]
    assert {Path(first).name, Path(second).name} == {"t0.nii.gz", "s1.nii.gz"}
    flipped = [m for v in report["violations"] if v["code"] == "leakage"
               for g in v["extra"]["groups"] for m in g if m.endswith("t1.nii.gz")]
    assert flipped == []


def test_find_duplicates_across_three_splits(digits):
    from datacheck.dedup import find_duplicates

    x, y = digits
    train, val, test = x[:600], x[600:1200].copy(), x[1200:].copy()
    test[:4] = train[:4]
    report = find_duplicates((train, y[:600]), (val, y[600:1200]), (test, y[1200:]),
                             names=["train", "val", "test"], near=False)
    [leak] = report.violations
    assert leak.code == "leakage" and "4 elements of test are exact copies" in leak.message
    assert report.kind == "dedup" and report.inputs["val"] == "ok"
    assert report.inputs["train"] == report.inputs["test"] == "violating"


def test_diff_dedup_reports_label_conflicts_across_the_sides(digits, rng):
    """4 exact and 6 near (noise sigma 0.03) copies of A in B with another label; 5 exact
    copies with the same label are leakage, not conflicts."""
    x, y = digits
    xa, ya, xb, yb = x[:900], y[:900], x[900:].copy(), y[900:].copy()
    xb[:4], yb[:4] = xa[:4], (ya[:4] + 1) % 10
    xb[10:16] = np.clip(xa[10:16] + rng.normal(0, 0.03, xa[10:16].shape), 0, 1)
    yb[10:16] = (ya[10:16] + 2) % 10
    xb[20:25], yb[20:25] = xa[20:25], ya[20:25]
    report = diff((xa, ya), (xb, yb), dedup=True)
    [exact] = [v for v in report.violations
               if v.code == "label_conflict" and v.extra["kind"] == "exact"]
    assert exact.severity == "error" and exact.observed == 4
    groups = {frozenset(m["where"] for m in g) for g in exact.extra["groups"]}
    assert groups == {frozenset({f"A: <array> element {i}", f"B: <array> element {i}"})
                      for i in range(4)}
    for group in exact.extra["groups"]:
        assert {m["label"] for m in group} == {str(ya[int(group[0]["where"].split()[-1])]),
                                               str(yb[int(group[0]["where"].split()[-1])])}
    assert exact.message.startswith("image: label_conflict: 4 groups of exact copies carry "
                                    "different labels (8 elements)")
    [near] = [v for v in report.violations
              if v.code == "label_conflict" and v.extra["kind"] == "near"]
    assert near.severity == "warning"
    pairs = {frozenset(m["where"] for m in g) for g in near.extra["groups"]}
    wanted = {frozenset({f"A: <array> element {10 + i}", f"B: <array> element {10 + i}"})
              for i in range(6)}
    assert len(wanted & pairs) >= 5 and len(pairs - wanted) <= 1
    assert "perceptual hash within 4 bits" in near.message
    assert report.stats["dedup"]["label_conflict_groups"] == len(groups) + len(pairs)
    # the same-label copies are leakage (9 exact copies in all), never a conflict
    leak = next(v for v in report.violations if v.code == "leakage" and v.severity == "error")
    assert leak.observed == 9
    assert not report.ok and report.inputs == {"A": "violating", "B": "violating"}


def test_diff_dedup_on_clean_halves_has_no_label_conflict(digits):
    x, y = digits
    report = diff((x[:900], y[:900]), (x[900:], y[900:]), dedup=True)
    assert not [v for v in report.violations if v.code == "label_conflict"]
    assert report.stats["dedup"]["label_conflict_groups"] == 0


def test_diff_dedup_cli_exits_1_on_a_label_conflict(digits, tmp_path):
    x, y = digits
    xb, yb = x[900:].copy(), y[900:].copy()
    xb[:3], yb[:3] = x[:3], (y[:3] + 1) % 10
    np.savez(tmp_path / "train.npz", image=x[:900], label=y[:900])
    np.savez(tmp_path / "val.npz", image=xb, label=yb)
    out = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "datacheck", "diff", str(tmp_path / "train.npz"),
         str(tmp_path / "val.npz"), "--dedup", "--json", str(out)], capture_output=True,
        text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert result.returncode == 1, result.stderr
    found = json.loads(out.read_text())
    [conflict] = [v for v in found["violations"] if v["code"] == "label_conflict"]
    assert conflict["severity"] == "error" and conflict["observed"] == 3
    assert "label_conflict: 3 groups of exact copies carry different labels" in result.stdout

