"""One self-contained HTML page per report: verdict, violations, histograms, classes, montage.

Everything is inline (CSS, base64 PNG images); nothing is fetched. Every
string that comes from data, file names or messages goes through
``html.escape``, and a Content-Security-Policy forbids scripts and remote
loads, so a file named ``<script>...`` shows as text and never runs.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, cast

from datacheck.errors import DatacheckError
from datacheck.readers.registry import suffix_of, suffixes
from datacheck.report.report import DATASET_SCOPE, Report

#: Rows of the violations table; the rest are counted.
MAX_ROWS = 500
#: Volume cards shown by default (``montages=`` / ``--montages`` shows more).
MAX_MONTAGE = 12

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;
padding:0 16px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}
.verdict{padding:12px 16px;border-radius:6px;font-size:17px;font-weight:600}
.ok{background:#e6f4ea;color:#137333}.fail{background:#fce8e6;color:#a50e0e}
table{border-collapse:collapse;width:100%;margin:6px 0}td,th{border:1px solid #ddd;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f5f5f5}
td.msg{word-break:break-word}tr.warning td{color:#8a5a00}
.code{font-family:monospace;font-weight:600}
.bars td{border:none;padding:1px 6px}.bar{background:#4c72b0;height:12px}.bar.b{background:#dd8452}
.muted{color:#777}img{max-width:100%}code{word-break:break-all}
.card{border:1px solid #ddd;border-left:6px solid #34a853;border-radius:4px;padding:6px 12px;
margin:10px 0}.card.sev-error{border-left-color:#c5221f}.card.sev-warning{border-left-color:#e8a200}
.card h3{margin:4px 0}.card .sev{font-size:12px;padding:1px 6px;border-radius:3px;
background:#e6f4ea;color:#137333}.card.sev-error .sev{background:#fce8e6;color:#a50e0e}
.card.sev-warning .sev{background:#fef7e0;color:#8a5a00}.card .orient{margin:2px 0;
font-size:12px;color:#555}.reasons{margin:4px 0 4px 18px;padding:0}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def write_html(report: Report, path: str | Path, *, data: Any = None,
               montages: int = MAX_MONTAGE) -> None:
    """Write ``report`` as one self-contained HTML file.

    Only what the report holds is drawn: histograms stored in its summaries,
    thumbnails of flagged volumes stored at check time. No file the report
    names is opened. ``data`` (optional) is the data that was checked, to draw
    intensity histograms the report does not store. ``montages`` volume cards
    are drawn (errors first, then warnings, then volumes without findings),
    as many as the report stores (``check(..., montages=N)``).

    >>> write_html(dc.check((x, y), "mnist"), "report.html", data=(x, y))  # doctest: +SKIP
    """
    text = render_html(report, data=data, montages=montages)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DatacheckError(f"cannot write --html {path}: {exc.strerror}") from None


def render_html(report: Report, *, data: Any = None, montages: int = MAX_MONTAGE) -> str:
    """The HTML page of ``report`` as a string (see :func:`write_html`)."""
    from datacheck import __version__

    notes: list[str] = []
    title = f"datacheck {report.kind}" + (f": schema {report.schema}" if report.schema else "")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<div class='verdict {'ok' if report.ok else 'fail'}' id='verdict'>"
        f"{_e(report.verdict())}</div>",
        _violations(report),
        _features(report, data, notes),
        _montage(report, notes, montages),
        _inputs(report),
    ]
    stats = {k: v for k, v in report.to_dict()["stats"].items()
             if k not in ("thumbnails", "previews", "foreground_histogram")}
    if stats:
        parts.append("<h2>Statistics</h2><details><summary>raw statistics (JSON)</summary><pre>"
                     + _e(json.dumps(stats, indent=2)) + "</pre></details>")
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes)
                     + "</ul>")
    parts.append(f"<p class='muted'>Written by datacheck {_e(__version__)}.</p></body></html>")
    return "\n".join(parts)


def _violations(report: Report) -> str:
    rows = report.sorted_violations()
    if not rows:
        return "<h2>Violations</h2><p id='no-violations'>No violations.</p>"
    out = ["<h2>Violations</h2><table id='violations'><thead><tr><th>severity</th><th>code</th>"
           "<th>feature</th><th>where</th><th>message (what, observed, expected, fix)</th>"
           "</tr></thead><tbody>"]
    for v in rows[:MAX_ROWS]:
        out.append(f"<tr class='{_e(v.severity)}'><td>{_e(v.severity)}</td>"
                   f"<td class='code'>{_e(v.code)}</td><td>{_e(v.feature)}</td>"
                   f"<td>{_e(v.where)}</td><td class='msg'>{_e(v.message)}</td></tr>")
    out.append("</tbody></table>")
    if len(rows) > MAX_ROWS:
        out.append(f"<p>... and {len(rows) - MAX_ROWS} more (see the JSON report).</p>")
    suppressed = report.stats.get("suppressed_violations")
    if isinstance(suppressed, list) and suppressed:
        shown = "; ".join(f"{r.get('input') or DATASET_SCOPE} {r.get('feature')}:{r.get('code')}"
                          f" {r.get('not_listed')}" for r in suppressed[:MAX_ROWS]
                          if isinstance(r, dict))
        more = f" (and {len(suppressed) - MAX_ROWS} more)" if len(suppressed) > MAX_ROWS else ""
        out.append(f"<p class='muted'>Repeats not listed (input feature:code count): "
                   f"{_e(shown)}{_e(more)}.</p>")
    return "".join(out)


def _inputs(report: Report) -> str:
    from datacheck.report.render import input_rows

    rows, left_out = input_rows(report, MAX_ROWS * 10)
    if not rows:
        return ""
    body = "".join(f"<tr class='{_e(d['status'])}'><td>{_e(d['status'])}</td>"
                   f"<td><code>{_e(name)}</code></td><td class='code'>{_e(', '.join(d['codes']))}"
                   f"</td><td class='msg'>{_e(d['message'] or '')}</td></tr>" for name, d in rows)
    counts = report.counts()
    more = f"<p>... and {left_out} more inputs (ok ones, see the JSON report).</p>" \
        if left_out else ""
    skipped = f", {counts['skipped']} skipped" if counts["skipped"] else ""
    if counts.get("not_checked"):  # an interrupted scan
        skipped = f", {counts['not_checked']} not checked" + skipped
    return (f"<h2>Inputs</h2><details{' open' if len(rows) <= 50 else ''}><summary>"
            f"{counts['total']} inputs: {counts['ok']} ok, {counts['violating']} violating, "
            f"{counts['unreadable']} unreadable{skipped}</summary><table id='inputs'><tr>"
            f"<th>status</th><th>input</th><th>codes</th><th>first reason</th></tr>{body}"
            f"</table>{more}</details>")


def _img(b64: str, alt: str) -> str:
    return f"<img src='data:image/png;base64,{b64}' alt='{_e(alt)}'>"


def _features(report: Report, data: Any, notes: list[str]) -> str:
    from datacheck.report import html_sections as sections

    if not report.summaries:
        return ""
    histograms = sections.histograms_for(report, data, notes)
    out = ["<h2>Features and labels</h2>"]
    for name, record in report.summaries.items():
        out.append(f"<section class='feature'><h3>{_e(name)}</h3>")
        # A saved report is untrusted input: its records are read as plain dicts, defensively.
        summary = cast(dict[str, Any], record)
        kind = summary.get("kind") if isinstance(summary, dict) else None
        if kind == "tensor":
            out.append(sections.tensor_section(name, summary, histograms.get(name)))
        elif kind == "label":
            out.append(sections.class_bars(summary.get("histogram") or {}, None, ("count", "")))
        elif kind == "drift":
            out.append(sections.drift_section(name, summary, report.stats))
        else:
            out.append(sections.key_values(summary))
        out.append("</section>")
    return "".join(out)


def _montage(report: Report, notes: list[str], limit: int = MAX_MONTAGE) -> str:
    from datacheck.report.html_volumes import volume_cards

    section = volume_cards(report, notes, limit)
    flagged = [p for p, s in report.inputs.items() if s == "violating"
               and suffix_of(p) in suffixes("nifti")]
    kept = report.stats.get("thumbnails")
    previews = report.stats.get("previews")
    # A flagged mask is drawn on its image's card.
    masks = {i.get("mask") for i in previews.values() if isinstance(i, dict)} \
        if isinstance(previews, dict) else set()
    missing = [p for p in flagged if (not isinstance(kept, dict) or p not in kept)
               and p not in masks]
    if missing and not (isinstance(kept, dict) and kept):
        notes.append(f"No slice montage for the {len(flagged)} flagged volume(s): the report "
                     "stores no thumbnails of them, and no file it names is read.")
    elif missing:  # e.g. refused for its intent, or past the stored limit
        notes.append(f"No slices drawn for {len(missing)} flagged volume(s) without stored "
                     f"thumbnails ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})"
                     "; no file it names is read. check --montages N stores more.")
    return section
