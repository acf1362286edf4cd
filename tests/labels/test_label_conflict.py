"""label_conflict: exact and near copies of one digit that carry different labels."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cleanlab")

import datacheck as dc
from datacheck.rules.label_quality import ConflictGroup, label_conflict_violations


@pytest.fixture(scope="module")
def planted(digits):
    x, y = digits
    x, y = x.copy(), y.copy()
    rng = np.random.default_rng(3)
    # 4 exact copies and 6 near copies (Gaussian noise sigma 0.03) with a different label
    x[1000:1004], y[1000:1004] = x[:4], (y[:4] + 1) % 10
    x[1100:1106] = np.clip(x[10:16] + rng.normal(0, 0.03, x[10:16].shape), 0, 1)
    y[1100:1106] = (y[10:16] + 2) % 10
    # 3 exact copies with the same label: duplicates, not conflicts
    x[1200:1203], y[1200:1203] = x[20:23], y[20:23]
    return x, y, dc.find_label_issues((x, y))


def test_exact_copies_with_two_labels_are_errors(planted):
    _x, _y, report = planted
    [exact] = [v for v in report.violations if v.code == "label_conflict"
               and v.extra["kind"] == "exact"]
    assert exact.severity == "error" and exact.observed == 4
    pairs = {frozenset(m["where"] for m in g) for g in exact.extra["groups"]}
    assert pairs == {frozenset({f"<array> element {i}", f"<array> element {1000 + i}"})
                     for i in range(4)}
    for group in exact.extra["groups"]:
        assert len({m["label"] for m in group}) == 2
    assert exact.message.startswith("image: label_conflict: 4 groups of exact copies carry "
                                    "different labels (8 elements), e.g. <array> element ")
    assert "decide which label is right" in exact.message
    assert not report.ok


def test_near_copies_with_two_labels_are_warnings(planted):
    _x, _y, report = planted
    [near] = [v for v in report.violations if v.code == "label_conflict"
              and v.extra["kind"] == "near"]
    assert near.severity == "warning"
    pairs = {frozenset(m["where"] for m in g) for g in near.extra["groups"]}
    wanted = {frozenset({f"<array> element {10 + i}", f"<array> element {1100 + i}"})
              for i in range(6)}
    assert wanted <= pairs and len(pairs - wanted) <= 1
    assert report.stats["labels"]["conflict_groups"] == len(pairs) + 4


def test_the_conflict_rule_on_groups_directly():
    groups = [ConflictGroup([("a.npz element 0", "cat"), ("b.npz element 3", "dog")], True,
                            ["a.npz", "b.npz"])]
    [v] = label_conflict_violations("image", groups)
    assert v.code == "label_conflict" and v.where == "a.npz element 0"
    assert "a.npz element 0 (label cat) = b.npz element 3 (label dog)" in v.message
    assert v.extra["inputs"] == ["a.npz", "b.npz"]
