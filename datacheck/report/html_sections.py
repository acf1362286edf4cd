"""Sections of the HTML report: feature statistics, histograms, class bars, drift, montage.

Every string here is escaped with ``html.escape`` before it reaches the page.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from datacheck.errors import DatacheckError
from datacheck.report.report import Report

#: Classes drawn as bars per label (the most frequent ones).
MAX_CLASSES = 60
#: Files re-read to draw histograms of a report that carries none.
MAX_HISTOGRAM_FILES = 64


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
    else:
        out += "<p class='muted'>No intensity histogram: the data could not be re-read.</p>"
    return out


def class_bars(a: dict[str, Any], b: dict[str, Any] | None, names: tuple[str, str]) -> str:
    """Class balance as bars (two per class when comparing A and B), largest classes first."""
    from datacheck.drift.distance import _class_order

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


def drift_section(name: str, summary: dict[str, Any], stats: dict[str, Any]) -> str:
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
    """Per-name ChannelHistograms: from the summaries, else from ``data`` or re-read inputs."""
    from datacheck.drift.histogram import ChannelHistogram

    found: dict[str, Any] = {}
    for name, summary in report.summaries.items():
        hist = summary.get("histogram") if isinstance(summary, dict) else None
        if isinstance(hist, dict) and "counts" in hist and "exp" in hist:
            found[name] = ChannelHistogram.from_dict(hist)
    wanted = [n for n, s in report.summaries.items()
              if isinstance(s, dict) and s.get("kind") == "tensor" and n not in found]
    if not wanted:
        return found
    source: Any = data
    if source is None:
        files = [p for p, s in report.inputs.items() if s != "unreadable" and Path(p).is_file()]
        if not files:
            if any(not p.startswith("<") for p in report.inputs):
                notes.append("Histograms not drawn: the report's input files are not found "
                             "from here (render it where the check ran).")
            return found
        if len(files) > MAX_HISTOGRAM_FILES:
            notes.append(f"Histograms drawn from the first {MAX_HISTOGRAM_FILES} of {len(files)} "
                         "inputs.")
        source = files[:MAX_HISTOGRAM_FILES]
    try:
        from datacheck.drift.profile import build_profile

        profile = build_profile(source)
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


def montage(paths: list[str], notes: list[str]) -> str | None:
    """Middle slices of each volume in ``paths``; unreadable ones are noted and skipped."""
    from datacheck.report.html_figures import middle_slices, montage_png

    try:
        from datacheck.readers.nifti import read_nifti
    except ImportError:
        notes.append("Montage skipped: this build has no NIfTI reader.")
        return None
    rows = []
    for path in paths:
        try:
            volume = read_nifti(path)
        except DatacheckError as exc:
            notes.append(f"Montage: {exc}")
            continue
        rows.append((Path(path).name, middle_slices(volume.data)))
    return montage_png(rows) if rows else None
