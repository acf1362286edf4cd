"""Report accounting: per-input status, codes and first reason; verdict; old JSON still loads."""

from __future__ import annotations

import io

import datacheck as dc
from datacheck.report.html import render_html
from datacheck.report.render import print_report
from datacheck.report.report import DATASET_SCOPE, Report
from datacheck.report.violation import Violation


def _v(code: str, name: str | None, severity: str = "error") -> Violation:
    return Violation(code, "image", f"image: {code}: in {name or 'dataset'}. Fix it.",
                     where=name or "dataset", severity=severity, input=name)


def test_input_details_status_codes_first_reason_errors_first() -> None:
    report = Report(schema="s", inputs={"a": "violating", "b": "ok", "c": "unreadable"})
    report.extend([_v("constant", "a", "warning"), _v("range", "a"), _v("unreadable", "c"),
                   _v("drift", "b", "warning")])
    details = report.input_details()
    assert details["a"] == {"status": "violating", "codes": ["range", "constant"],
                            "message": "image: range: in a. Fix it."}
    assert details["b"]["codes"] == ["drift"] and details["b"]["status"] == "ok"
    assert details["c"]["codes"] == ["unreadable"]
    assert report.verdict() == ("FAILED: 2 errors, 2 warnings (constant, range, unreadable, "
                                "drift). Inputs: 3 (1 ok, 1 violating, 1 unreadable).")


def test_ok_verdict_counts_warnings_and_skipped() -> None:
    report = Report(inputs={"a": "ok"})
    report.add(_v("drift", None, "warning"))
    report.skip("notes.txt", "no reader for '.txt' files")
    assert report.ok
    assert report.verdict() == ("OK: all checks hold (0 errors, 1 warning: drift). Inputs: 1 "
                                "(1 ok, 0 violating, 0 unreadable). Skipped: 1 (not checked, "
                                "see the inputs list).")
    assert report.counts() == {"ok": 1, "violating": 0, "unreadable": 0, "total": 1,
                               "skipped": 1}


def test_json_round_trip_and_reports_written_before_details() -> None:
    report = Report(schema="s", inputs={"a": "violating"})
    report.add(_v("range", "a"))
    report.skip(".hidden", "hidden file")
    back = Report.from_json(report.to_json())
    assert back.inputs == {"a": "violating"} and back.skipped == {".hidden": "hidden file"}
    assert back.violations[0].input == "a"
    data = report.to_dict()
    assert data["inputs"]["a"]["codes"] == ["range"]
    assert data["violations"][0]["scope"] == "input"
    # A report written before inputs carried details: name -> status, violations unowned.
    old = {"version": 1, "schema": "s", "inputs": {"a": "violating", "b": "ok"},
           "violations": [{"code": "range", "feature": "image", "message": "m", "where": "a"}]}
    loaded = Report.from_dict(old)
    assert loaded.inputs == {"a": "violating", "b": "ok"}
    # The unowned error is the failing input's reason: never a failing input without one.
    assert loaded.input_details()["a"]["codes"] == ["range"]


def test_in_memory_data_failed_by_a_dataset_rule_keeps_a_reason(digits) -> None:
    x, y = digits
    keep = y < 9  # class 9 missing: a dataset-scope finding
    report = dc.check((x[keep], y[keep]), "digits")
    scope = report.dataset_findings()
    assert {v.code for v in scope} == {"num_classes", "class_balance"}
    detail = report.input_details()["<array>"]
    assert detail["status"] == "violating" and detail["codes"] == ["class_balance"]


def test_capping_is_per_input_and_counts_are_exact(digits) -> None:
    x, y = digits
    collector_report = dc.check((x * 255, y), "digits", batch_size=32)
    records = collector_report.stats["suppressed_violations"]
    assert records == [{"input": "<array>", "feature": "image", "code": "range",
                        "occurrences": 57, "not_listed": 56}]
    assert collector_report.not_listed() == 56


def test_text_and_html_show_the_inputs_table_and_dataset_scope() -> None:
    report = Report(schema="s", inputs={f"f{i}.npz": "ok" for i in range(30)})
    report.mark_input("f3.npz", "violating")
    report.add(_v("range", "f3.npz"))
    report.add(_v("class_balance", None))
    report.skip("README.txt", "no reader for '.txt' files")
    out = io.StringIO()
    print_report(report, file=out)
    text = out.getvalue()
    assert "severity" in text and "first reason" in text
    row = next(line for line in text.splitlines() if "f3.npz" in line and "violating" in line)
    assert "range" in row
    assert DATASET_SCOPE in text and "README.txt" in text
    # 29 ok inputs are counted, not listed.
    assert "... and 29 more inputs not shown" in text
    page = render_html(report)
    assert "<th>first reason</th>" in page and "f3.npz" in page
    assert DATASET_SCOPE in page and "README.txt" in page and "1 skipped" in page
    plain = report.to_text()
    assert "violating: f3.npz [range] image: range: in f3.npz. Fix it." in plain


def test_small_runs_list_every_input() -> None:
    report = Report(inputs={"a.npz": "ok", "b.npz": "violating"})
    report.add(_v("range", "b.npz"))
    out = io.StringIO()
    print_report(report, file=out)
    assert "a.npz" in out.getvalue() and "more inputs" not in out.getvalue()


def test_html_histograms_name_a_file_they_could_not_reread(tmp_path, digits) -> None:
    import numpy as np

    x, y = digits
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    np.savez(good, image=x, label=y)
    np.savez(bad, image=x, label=y)
    report = dc.check([str(good), str(bad)], "digits")
    report.summaries["image"].pop("histogram", None)
    bad.write_bytes(b"PK\x03\x04 gone")  # changed after the check: cannot be re-read
    # The page reads no file a report names (issue 14): without data it says so...
    page = render_html(report)
    assert "No intensity histogram for image" in page and "no file they name is read" in page
    # ...and with the data passed again, a file that cannot be re-read is named, the rest drawn.
    page = render_html(report, data=[str(good), str(bad)])
    assert "Histograms leave out" in page and "bad.npz" in page
    assert "image intensity histogram" in page


def test_an_interrupted_scan_lists_what_was_not_checked_and_is_never_ok(tmp_path) -> None:
    from datacheck.cli.output import write_failed_list

    report = Report(schema="s", inputs={"a": "ok", "b": "violating"})
    report.add(_v("range", "b"))
    report.stats["interrupted"] = "the scan was interrupted (Ctrl-C) before it was checked"
    for name in ("c", "d", "a"):  # "a" was checked: it keeps its verdict
        report.mark_input(name, "not_checked")
    assert report.counts() == {"ok": 1, "violating": 1, "unreadable": 0, "not_checked": 2,
                               "total": 4, "skipped": 0}
    assert report.inputs["a"] == "ok"
    assert report.verdict() == ("INTERRUPTED: 2 of 4 inputs not checked; in the rest 1 error, "
                                "0 warnings (range). Inputs: 4 (1 ok, 1 violating, 0 unreadable, "
                                "2 not checked).")
    details = report.input_details()
    assert details["c"] == {"status": "not_checked", "codes": [], "message": "c: not checked: "
                            "the scan was interrupted (Ctrl-C) before it was checked"}
    # Nothing failed, but not everything was checked: never OK.
    clean = Report(inputs={"a": "ok"})
    clean.mark_input("b", "not_checked")
    assert not clean.ok and clean.verdict().startswith("INTERRUPTED: 1 of 2 inputs not checked")
    again = Report.from_json(report.to_json())
    assert again.input_details() == details and again.counts() == report.counts()
    write_failed_list(report, str(tmp_path / "failed.csv"))
    rows = (tmp_path / "failed.csv").read_text().splitlines()
    assert rows[1:] == ["b,violating,range,image: range: in b. Fix it.",
                        "c,not_checked,,c: not checked: the scan was interrupted (Ctrl-C) "
                        "before it was checked",
                        "d,not_checked,,d: not checked: the scan was interrupted (Ctrl-C) "
                        "before it was checked"]
    assert "2 not checked" in render_html(report)
