"""Sections of the HTML report: feature statistics, histograms, class bars, drift.

Every string here is escaped with ``html.escape`` before it reaches the page.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from datacheck.errors import DatacheckError
from datacheck.report.report import Report

#: Classes drawn as bars per label (the most frequent ones).
MAX_CLASSES = 60
#: Largest stored histogram drawn (channels x bins); a report is untrusted input.
MAX_HISTOGRAM_CELLS = 64 * 4096


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _img(b64: str, alt: str) -> str:
    return f"<img src='data:image/png;base64,{b64}' alt='{_e(alt)}'>"


def _num(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_num(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_num(v) for v in value)
    return _num(value)


def key_values(data: Any) -> str:
    if not isinstance(data, dict):
        return f"<p>{_e(data)}</p>"
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_value(v))}</td></tr>" for k, v in data.items())
    return f"<table class='stats'>{rows}</table>"


def tensor_section(name: str, summary: dict[str, Any], histogram: Any) -> str:
    from datacheck.report.html_figures import histogram_png

    keys = ("elements", "min", "max", "mean", "std", "nonfinite", "dtypes", "shapes")
    shown = {k: summary[k] for k in keys if k in summary}
    out = key_values(shown)
    if histogram is not None and histogram.total:
        edges = histogram.edges().tolist()
        b64 = histogram_png(edges, histogram.counts.tolist(), f"{name}: intensity histogram")
        out += _img(b64, f"{name} intensity histogram, {histogram.channels} channel(s)")
        if "histogram" in summary:
            out += ("<p class='muted'>Drawn from a fixed sample of each element's values (all "
                    "of a small element, at least 256 and about one in 1,024 of a large one), "
                    "stored in the report at check time.</p>")
    else:
        out += "<p class='muted'>No intensity histogram (see Notes).</p>"
    return out


def class_bars(a: dict[str, Any], b: dict[str, Any] | None, names: tuple[str, str]) -> str:
    """Class balance as bars (two per class when comparing A and B), largest classes first."""
    from datacheck.summary.distance import _class_order

    ca = {str(k): int(v) for k, v in a.items()}
    cb = {str(k): int(v) for k, v in (b or {}).items()}
    classes = sorted(set(ca) | set(cb), key=_class_order)
    if not classes:
        return "<p class='muted'>No class counts.</p>"
    total_a, total_b = sum(ca.values()) or 1, sum(cb.values()) or 1
    if len(classes) > MAX_CLASSES:
        classes = sorted(classes, key=lambda c: -(ca.get(c, 0) + cb.get(c, 0)))[:MAX_CLASSES]
    peak = max([ca.get(c, 0) / total_a for c in classes] +
               [cb.get(c, 0) / total_b for c in classes] + [1e-9])
    rows = []
    for c in classes:
        fa = ca.get(c, 0) / total_a
        cells = (f"<td>{_e(c)}</td><td style='width:55%'><div class='bar' "
                 f"style='width:{100 * fa / peak:.1f}%'></div>")
        text = f"{ca.get(c, 0)} ({fa:.1%})"
        if b is not None:
            fb = cb.get(c, 0) / total_b
            cells += f"<div class='bar b' style='width:{100 * fb / peak:.1f}%'></div>"
            text = (f"{_e(names[0])}: {ca.get(c, 0)} ({fa:.1%}) / "
                    f"{_e(names[1])}: {cb.get(c, 0)} ({fb:.1%})")
        rows.append(f"<tr>{cells}</td><td>{text if b is not None else _e(text)}</td></tr>")
    more = len(set(ca) | set(cb)) - len(classes)
    tail = f"<p class='muted'>{more} more classes not drawn.</p>" if more > 0 else ""
    return (f"<table class='bars' data-classes='{len(classes)}'><tr><th>class</th>"
            f"<th>balance</th><th>count</th></tr>{''.join(rows)}</table>{tail}")


def drift_section(name: str, summary: dict[str, Any], stats: Mapping[str, Any]) -> str:
    from datacheck.report.html_figures import drift_png

    names = (str(stats.get("a", {}).get("source", "A")), str(stats.get("b", {}).get("source", "B")))
    dist = summary.get("distances") or {}
    a, b = summary.get("a") or {}, summary.get("b") or {}
    out = []
    if "edges" in dist:
        out.append(_img(drift_png(dist["edges"], dist["a"], dist["b"], name, names),
                        f"{name} intensity histograms of A and B"))
        js = ", ".join(f"{v:.4g}" for v in dist.get("js_divergence", []))
        lf = ", ".join(f"{v:.4g}" for v in dist.get("linf", []))
        out.append(f"<p>Jensen-Shannon divergence per channel: {_e(js)}; L-infinity: {_e(lf)}.</p>")
    elif a.get("classes") is not None or b.get("classes") is not None:
        out.append(class_bars(a.get("classes") or {}, b.get("classes") or {}, names))
        if "linf" in dist:
            out.append(f"<p>Largest class-fraction change {dist['linf']:.4g} (class "
                       f"{_e(dist.get('worst_class'))}); Jensen-Shannon divergence "
                       f"{dist.get('js_divergence', 0):.4g}.</p>")
    for label, entry in ((names[0], a), (names[1], b)):
        if entry:
            out.append(f"<h4>{_e(label)}</h4>" + key_values(
                {k: entry.get("summary", {}).get(k) for k in ("elements", "min", "max", "mean",
                                                             "std", "dtypes", "shapes")}))
    return "".join(out)


def histograms_for(report: Report, data: Any, notes: list[str]) -> dict[str, Any]:
    """Per-name ChannelHistograms: those stored in the summaries, else drawn from ``data``.

    Never from the files a report names: a report (perhaps someone else's JSON) is
    rendered from what it holds, so it cannot make datacheck read a path.
    """
    from datacheck.summary.histogram import ChannelHistogram

    found: dict[str, Any] = {}
    for name, summary in report.summaries.items():
        hist = summary.get("histogram") if isinstance(summary, dict) else None
        if isinstance(hist, dict) and "counts" in hist and "exp" in hist:
            try:
                histogram = ChannelHistogram.from_dict(hist)
                if histogram.counts.size > MAX_HISTOGRAM_CELLS:
                    raise ValueError("too many bins")
                found[name] = histogram
            except (TypeError, ValueError, OverflowError):
                notes.append(f"Histogram of {name} not drawn: the report's counts are malformed.")
    wanted = [n for n, s in report.summaries.items()
              if isinstance(s, dict) and s.get("kind") == "tensor" and n not in found]
    if not wanted:
        return found
    if data is None:
        notes.append(f"No intensity histogram for {', '.join(wanted[:10])}: the report does not "
                     "store one (HDF5 data, or a report from an older datacheck). Reports are "
                     "drawn from what they hold; no file they name is read.")
        return found
    try:
        from datacheck.drift.profile import build_profile

        profile = build_profile(data)
    except (DatacheckError, ValueError, OSError) as exc:
        notes.append(f"Histograms skipped: {exc}")
        return found
    # A file that cannot be re-read is left out of the histograms, and named.
    notes += [f"Histograms leave out {v.message}" for v in profile.problems.values()]
    names = list(profile.entries)
    rename = {} if set(wanted) & set(names) else dict(zip(names, report.summaries, strict=False))
    for key, entry in profile.entries.items():
        target = rename.get(key, key)
        if target in wanted and entry.histogram is not None:
            found[target] = entry.histogram
    return found


#: Largest thumbnail side read back from a report (the scan stores 64).
_MAX_SIDE = 256


def _thumbnail(entry: Any) -> Any:
    """A stored thumbnail as a uint8 array, or None when it is not a well-formed one."""
    import base64
    import binascii

    import numpy as np

    if not isinstance(entry, dict):
        return None
    height, width, data = entry.get("height"), entry.get("width"), entry.get("data")
    if not (isinstance(height, int) and isinstance(width, int) and isinstance(data, str)
            and 0 < height <= _MAX_SIDE and 0 < width <= _MAX_SIDE
            and len(data) <= 4 * (_MAX_SIDE * _MAX_SIDE // 3 + 1)):
        return None
    try:
        pixels = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(pixels) != height * width:
        return None
    return np.frombuffer(pixels, np.uint8).reshape(height, width)
