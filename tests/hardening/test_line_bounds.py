"""Hostile names make short lines: a 60-100 KB member, feature or path name never makes a
60-100 KB message, error line, report field or drop-log line, and never a second line."""

from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np
import pytest

import datacheck as dc
from datacheck.cli.main import main
from datacheck.excerpt import MAX_LINE, bounded, excerpt
from datacheck.report.violation import Violation

HOSTILE = "evil\nname\t" + "x" * 100_000
LONGEST = MAX_LINE + 100  # the bound plus the "(N characters)" note


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_bounded_and_excerpt_escape_and_elide():
    line = bounded(HOSTILE)
    assert len(line) < LONGEST and "\n" not in line and "\t" not in line
    assert line.startswith("evil\\nname\\t") and "(100,010 characters)" in line
    assert len(excerpt(HOSTILE)) < 120
    assert bounded("short, printable") == "short, printable"


def test_a_violation_bounds_its_message_feature_and_where():
    v = Violation("range", HOSTILE, f"{HOSTILE}: range: too high", where=HOSTILE)
    assert len(v.message) < LONGEST and "\n" not in v.message
    assert len(v.feature) < 300 and len(v.where) < LONGEST
    assert len(json.dumps(v.to_dict())) < 3 * LONGEST


def test_a_huge_npz_member_name_makes_short_lines(tmp_path, capsys):
    name = "m\n" + "y" * 60_000  # a zip name holds at most 65,535 bytes
    path = tmp_path / "names.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name + ".npy", _npy(np.array([{"a": 1}], dtype=object)))
        archive.writestr("label.npy", _npy(np.arange(3)))
    start = time.monotonic()
    report = dc.check(path, "digits")
    assert time.monotonic() - start < 5
    assert report.inputs == {str(path): "unreadable"}
    assert report.violations and all(v.code == "unreadable" for v in report.violations)
    for v in report.violations:
        assert len(v.message) < LONGEST and "\n" not in v.message, len(v.message)
        assert "pickled Python objects" in v.message  # the reason survives the elision
    out = tmp_path / "report.json"
    assert main(["check", "--schema", "digits", str(path), "--json", str(out), "-q"]) == 1
    captured = capsys.readouterr()
    for line in (captured.out + captured.err).splitlines():
        assert len(line) < LONGEST
    stored = json.loads(out.read_text())
    assert all(len(v["message"]) < LONGEST for v in stored["violations"])


def test_a_huge_name_in_an_error_line_is_elided(tmp_path, capsys):
    path = tmp_path / ("z" * 200)
    path.mkdir()
    hostile = path / "schema.yaml"
    hostile.write_text(f"name: t\nfeatures:\n  {'q' * 100_000}: {{dtype: nosuchtype}}\n")
    assert main(["check", "--schema", str(hostile), str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < LONGEST, len(err)


def test_drop_log_lines_are_bounded_for_a_huge_feature_name(tmp_path):
    tf = pytest.importorskip("tensorflow")
    name = "f" * 100_000
    schema = dc.load_schema({"name": "long", "features": {name: {
        "dtype": "float32", "shape": [4], "range": [0.0, 1.0]}}})
    x = np.linspace(0.0, 1.0, 32, dtype=np.float32).reshape(8, 4)
    x[[2, 5]] *= 7.0
    log = tmp_path / "drop.log"
    validated = dc.validate(tf.data.Dataset.from_tensor_slices({name: x}).batch(4), schema,
                            on_error="drop", log=str(log))
    kept = list(validated.as_numpy_iterator())
    assert sum(len(b[name]) for b in kept) == 6
    report = validated.report()
    assert report.stats["dropped_indices"] == [2, 5]
    assert {v.code for v in report.violations} == {"range"}
    lines = log.read_text().splitlines()
    assert lines and max(len(line) for line in lines) < 2 * LONGEST, \
        max(len(line) for line in lines)
    assert all(len(v.message) < LONGEST for v in report.violations)
