"""Volume cards of the HTML report: oriented slices, mask outline, reasons, foreground histogram.

One card per volume whose previews the report stores (``scan.previews``),
errors first, then warnings, then volumes without findings, each in input
order. A card names its file, the orientation shown, its mask, and every
reason (code and message) of the volume and of its mask. Nothing here opens a
file: a report is drawn from what it holds.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from datacheck.readers.registry import suffix_of, suffixes
from datacheck.report.report import Report

#: Characters of a reason's message shown on a card (the table above has all of it).
SHORT_MESSAGE = 220
_RANKS = ("error", "warning", "ok")
#: Slices drawn per volume (the scan stores axial, coronal and sagittal).
MAX_PANELS = 3


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _reasons(report: Report, names: set[str]) -> list[tuple[str, str, str]]:
    """(severity, code, message) of every violation about one of ``names``, errors first."""
    found = [(v.severity, v.code, v.message) for v in report.violations
             if v.input in names or (v.input is None and str(v.where) in names)]
    return sorted(found, key=lambda r: _RANKS.index(r[0]) if r[0] in _RANKS else 1)


def _short(message: str) -> str:
    text = " ".join(str(message).split())
    return text if len(text) <= SHORT_MESSAGE else text[:SHORT_MESSAGE - 3] + "..."


def _panels(slices: Any) -> list[dict[str, Any]] | None:
    """The stored slices as figure panels; None when any is malformed."""
    import base64
    import binascii

    import numpy as np

    from datacheck.report.html_sections import _thumbnail

    if not isinstance(slices, list) or not slices:
        return None
    panels = []
    for entry in slices[:MAX_PANELS]:  # a report is untrusted: a bounded figure
        image = _thumbnail(entry)
        if image is None:
            return None
        edges = entry.get("edges")
        if not (isinstance(edges, list) and len(edges) == 4
                and all(isinstance(e, str) and len(e) <= 2 for e in edges)):
            edges = ["?"] * 4
        if "view" not in entry:  # a report from before oriented previews: stored voxel order
            image = np.rot90(image)
        mask = None
        packed = entry.get("mask")
        if isinstance(packed, str) and len(packed) <= 4 * (image.size // 24 + 2):
            try:
                bits = np.unpackbits(np.frombuffer(base64.b64decode(packed, validate=True),
                                                   np.uint8))
            except (binascii.Error, ValueError):
                bits = np.zeros(0, np.uint8)
            if bits.size >= image.size:
                mask = bits[:image.size].reshape(image.shape).astype(bool)
        aspect = entry.get("aspect")
        aspect = float(aspect) if isinstance(aspect, (int, float)) and 0.05 < aspect < 20 else 1.0
        panels.append({"image": image, "mask": mask, "edges": edges, "aspect": aspect,
                       "view": str(entry.get("view", ""))[:20]})
    return panels


def _count(value: Any) -> str:
    """A stored count as text; anything else (a report is untrusted input) as '?'."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


def _histogram(info: dict[str, Any]) -> dict[str, Any] | None:
    hist = info.get("histogram")
    if not isinstance(hist, dict):
        return None
    counts, span = hist.get("counts"), hist.get("range")
    if not (isinstance(counts, list) and 0 < len(counts) <= 4096
            and all(isinstance(c, int) and c >= 0 for c in counts)
            and isinstance(span, list) and len(span) == 2
            and all(isinstance(v, (int, float)) for v in span) and span[1] > span[0]):
        return None
    return hist


def dataset_foreground(report: Report, notes: list[str]) -> str:
    """Foreground intensities of every scanned volume (merged at check time), drawn between
    the merged histogram's 1st and 99th percentile."""
    import numpy as np

    from datacheck.report.html_figures import histogram_png
    from datacheck.report.html_sections import MAX_HISTOGRAM_CELLS
    from datacheck.summary.histogram import ChannelHistogram

    stored = report.stats.get("foreground_histogram")
    if not isinstance(stored, dict):
        return ""
    try:
        hist = ChannelHistogram.from_dict(stored)
        if hist.counts.size > MAX_HISTOGRAM_CELLS or not hist.total or (hist.counts < 0).any():
            raise ValueError("too many bins, none, or negative counts")
    except (TypeError, ValueError, OverflowError, KeyError):
        notes.append("Foreground histogram not drawn: the report's counts are malformed.")
        return ""
    counts = hist.counts.sum(axis=0).astype(float)
    edges = hist.edges()
    cdf = np.cumsum(counts) / counts.sum()
    first = int(np.searchsorted(cdf, 0.01))
    last = int(np.searchsorted(cdf, 0.99))
    lo, hi = float(edges[first]), float(edges[last + 1])
    b64 = histogram_png(edges[first:last + 2].tolist(), [counts[first:last + 1].tolist()],
                        "foreground intensities of all volumes (p1-p99)")
    return (f"<h3>Foreground intensities, all volumes</h3><img src='data:image/png;base64,{b64}'"
            f" alt='foreground intensity histogram of all volumes'><p class='muted'>Voxels above "
            f"background of every volume checked, drawn from {lo:.4g} to {hi:.4g} (the bins "
            "holding the 1st to 99th percentile); a sample stored at check time.</p>")


def volume_cards(report: Report, notes: list[str], limit: int) -> str:
    """The "Flagged volumes first" section: at most ``limit`` cards, most severe first."""
    stored = report.stats.get("thumbnails")
    if not isinstance(stored, dict) or not stored:
        return ""
    previews = report.stats.get("previews")
    previews = previews if isinstance(previews, dict) else {}
    cards = []
    for order, (name, slices) in enumerate(stored.items()):
        info = previews.get(name)
        info = info if isinstance(info, dict) else {}
        mask = info.get("mask") if isinstance(info.get("mask"), str) else None
        reasons = _reasons(report, {str(name)} | ({mask} if mask else set()))
        severities = {r[0] for r in reasons}
        rank = 0 if "error" in severities else 1 if "warning" in severities else 2
        cards.append((rank, order, str(name), slices, info, mask, reasons))
    cards.sort(key=lambda c: (c[0], c[1]))
    shown = cards[:max(limit, 0)]
    out = []
    for rank, _, name, slices, info, mask, reasons in shown:
        panels = _panels(slices)
        if panels is None:
            notes.append(f"Montage: the thumbnails of {name} are malformed; not drawn.")
            continue
        out.append(_card(_RANKS[rank], name, panels, info, mask, reasons))
    if not out:
        return ""
    title = f"Flagged volumes first: {len(out)} of {len(stored)} stored volume previews"
    masks = {c[5] for c in cards if c[5]}
    volumes = [p for p in report.inputs if suffix_of(p) in suffixes("nifti")
               and p not in masks]
    more = []
    if len(cards) > len(shown):
        more.append(f"{len(cards) - len(shown)} more stored previews not shown (raise "
                    "--montages / montages= when rendering).")
    if len(volumes) > len(stored):
        more.append("The report stores the slices of the most severe volumes only (check "
                    "--montages N keeps N).")
    return (f"<h2 id='volumes'>{_e(title)}</h2><p>Middle slices of each volume (axial, coronal, "
            "sagittal), reoriented at check time to the closest canonical RAS frame and shown in "
            "radiological convention: the patient's right (R) on the viewer's left; letters at "
            "each edge name the side. A paired mask is drawn as a red outline. The last panel "
            "is the histogram of the volume's foreground voxels between their 1st and 99th "
            "percentile (a sample stored at check time).</p>"
            + ("<p class='muted'>" + _e(" ".join(more)) + "</p>" if more else "")
            + dataset_foreground(report, notes) + "<div id='cards'>" + "".join(out) + "</div>")


def _card(severity: str, name: str, panels: list[dict[str, Any]], info: dict[str, Any],
          mask: str | None, reasons: list[tuple[str, str, str]]) -> str:
    from datacheck.report.html_figures import volume_png

    hist = _histogram(info)
    b64 = volume_png(panels, hist)
    alt = "middle slices of flagged volumes" if severity != "ok" \
        else "middle slices of a volume without findings"
    views = " · ".join(f"{p['view']}: {p['edges'][0]} left, {p['edges'][1]} right, "
                       f"{p['edges'][2]} top, {p['edges'][3]} bottom" for p in panels)
    stored, shown = info.get("stored"), info.get("shown")
    if shown == "RAS":
        orient = f"shown in RAS (stored {_e(stored)})"
    elif shown is None:  # previews of an older datacheck stored no orientation
        orient = "orientation not stored in this report: voxel order, sides unknown"
    else:
        orient = "no usable affine: shown in stored voxel order, sides unknown"
    outline = ""
    if mask:
        outline = (f"; mask <code>{_e(Path(mask).name)}</code> outlined" if info.get("outline")
                   else f"; mask <code>{_e(Path(mask).name)}</code> on another grid, not drawn")
    items = "".join(f"<li class='sev-{_e(s)}'><span class='code'>{_e(code)}</span> "
                    f"({_e(s)}): {_e(_short(message))}</li>" for s, code, message in reasons)
    if not items:
        items = "<li>no findings</li>"
    robust = ""
    if hist:
        lo, hi = hist["range"]
        below, above = (_count(hist.get(k)) for k in ("below", "above"))
        robust = (f"<p class='muted hist'>Foreground intensity p1-p99: {lo:.4g} to {hi:.4g} "
                  f"({below} sampled voxels below, {above} above, not drawn).</p>")
    return (f"<section class='card sev-{_e(severity)}' data-severity='{_e(severity)}'>"
            f"<h3><span class='sev'>{_e(severity.upper())}</span> <code>{_e(name)}</code></h3>"
            f"<p class='orient'>{orient}{outline}. {_e(views)}</p>"
            f"<img src='data:image/png;base64,{b64}' alt='{_e(alt)}' title='{_e(name)}'>"
            f"<ul class='reasons'>{items}</ul>{robust}</section>")
