"""HTML reports escape everything that comes from data, file names and messages."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datacheck as dc
from datacheck.report import Report, Violation
from datacheck.report.html import render_html

#: A tag no report ever writes itself: if it shows up unescaped, data became markup.
MARK = "<x-evil"
PAYLOADS = [f"{MARK} onload=alert(1)>", f"\"'>{MARK}>", f"</td></tr></table>{MARK}>",
            f"<script>{MARK}</script>", f"{MARK}&amp;&#x3c;"]
_HOSTILE = st.builds(lambda a, p, b: a + p + b, st.text(max_size=10), st.sampled_from(PAYLOADS),
                     st.text(max_size=10))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=_HOSTILE, feature=_HOSTILE, message=_HOSTILE, where=_HOSTILE, severity=_HOSTILE,
       source=_HOSTILE, stat=_HOSTILE)
def test_hostile_strings_anywhere_in_a_report_stay_text(schema, feature, message, where,
                                                         severity, source, stat):
    report = Report(schema=schema, kind="check")
    report.add(Violation("range", feature, message, observed=stat, expected=[stat], where=where,
                         severity=severity))
    report.mark_input(source, "violating")
    report.stats[stat] = {stat: stat}
    report.summaries[feature] = {"kind": "label", "histogram": {stat: 3}, "elements": 3}
    page = render_html(report)
    assert MARK not in page
    assert page.count("<script") == 0


def test_string_labels_and_file_names_from_a_real_check_are_escaped(tmp_path):
    schema = {"name": "<x-evil>", "features": {"image": {"layout": "HWC", "shape": [8, 8, 1]}},
              "labels": {"label": {"encoding": "string", "classes": ["cat", "dog"]}}}
    x = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
    y = np.array(["cat", "dog", f"{MARK}>", "cat"])
    report = dc.check((x, y), schema)
    assert "label_range" in report.codes()
    page = render_html(report, data=(x, y))
    assert MARK not in page and "&lt;x-evil" in page
