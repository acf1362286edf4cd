"""Fuzz infer, diff and report --html with hostile manifests; oracle: clean errors, no escapes.

The rows come from the reader fuzz (``..``, absolute paths, a symlink out of the
root, URLs, ``~``, devices, NUL bytes, overlong names). Every command must
end in a result or a DatacheckError, and the audit hook must see no open of
the file outside the root.
"""

from __future__ import annotations

import json
import os

from hypothesis import given
from hypothesis import strategies as st

from datacheck.drift.api import diff
from datacheck.infer.schema import infer
from datacheck.report.html import render_html
from datacheck.report.report import Report
from tests.hardening import targets
from tests.hardening.test_gate import _watching
from tests.hardening.test_reader_fuzz import _ROW, FOLDER, ROOT, _csv_cell, fuzz

OUTSIDE = os.path.realpath(FOLDER / "outside.nii.gz")


def _escaped(opened: list[str]) -> list[str]:
    return [p for p in opened if os.path.realpath(p) == OUTSIDE]


@fuzz(40)
@given(rows=st.lists(_ROW, min_size=1, max_size=5),
       header=st.sampled_from(["id,subject,split,image,mask,label", "image", "image,label"]))
def test_fuzzed_manifests_through_infer_diff_and_report_html(rows, header):
    lines = [header] + [",".join(_csv_cell(c) for c in row) for row in rows]
    path = ROOT / "gate.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    with _watching() as opened:
        targets.expect_clean(lambda: infer([path]), "infer(manifest)")
        targets.expect_clean(lambda: diff(str(path), str(path)), "diff(manifest)")
        report = targets.reader_file(path, "brain_t1_nifti")
        if report is not None:
            # What `datacheck report` renders: the JSON alone, with a hostile input list.
            data = json.loads(report.to_json())
            data["inputs"][OUTSIDE] = "violating"
            targets.expect_clean(lambda: render_html(Report.from_dict(data)), "report --html")
    assert _escaped(opened) == [], "a path outside the root was opened"
