"""Figures for the HTML report, drawn with matplotlib (Agg) and returned as base64 PNG.

Text drawn into figures (file names, class names) is plain text: mathtext is
off, so a ``$`` in a file name cannot break or alter the figure.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

#: Shared look: small figures, readable on a laptop screen.
_RC: dict[str, Any] = {"text.parse_math": False, "font.size": 8, "axes.titlesize": 9,
                       "figure.dpi": 96, "axes.spines.top": False, "axes.spines.right": False}
CHANNEL_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")


@contextmanager
def _figure(width: float, height: float) -> Iterator[Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = plt.figure(figsize=(width, height))
        try:
            yield fig
        finally:
            plt.close(fig)


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _short(text: str, limit: int = 48) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return text if len(text) <= limit else "..." + text[-(limit - 3):]


def histogram_png(edges: Sequence[float], channels: Sequence[Sequence[float]], title: str,
                  labels: Sequence[str] | None = None) -> str:
    """Step histogram, one line per channel (fractions of values per bin)."""
    with _figure(5.2, 2.4) as fig:
        ax = fig.add_subplot(1, 1, 1)
        x = np.asarray(edges, dtype=float)
        for c, counts in enumerate(channels):
            y = np.asarray(counts, dtype=float)
            total = y.sum()
            frac = y / total if total else y
            name = labels[c] if labels else (f"channel {c}" if len(channels) > 1 else "values")
            ax.stairs(frac, x, label=_short(name, 24), color=CHANNEL_COLOURS[c % 6], linewidth=1.2)
        ax.set_title(_short(title, 80))
        ax.set_xlabel("value")
        ax.set_ylabel("fraction of values")
        if len(channels) > 1 or labels:
            ax.legend(frameon=False, fontsize=7)
        return _png(fig)


def drift_png(edges: Sequence[float], a: Sequence[Sequence[float]], b: Sequence[Sequence[float]],
              title: str, names: tuple[str, str]) -> str:
    """A and B histograms overlaid, one panel per channel (at most 4)."""
    n = min(len(a), 4)
    with _figure(5.2, 1.9 * n + 0.4) as fig:
        x = np.asarray(edges, dtype=float)
        for c in range(n):
            ax = fig.add_subplot(n, 1, c + 1)
            ax.stairs(np.asarray(a[c]), x, label=_short(names[0], 30), color="#4c72b0",
                      linewidth=1.2)
            ax.stairs(np.asarray(b[c]), x, label=_short(names[1], 30), color="#dd8452",
                      linewidth=1.2, linestyle="--")
            ax.set_ylabel("fraction")
            ax.set_title(_short(title if n == 1 else f"{title}: channel {c}", 80))
            ax.legend(frameon=False, fontsize=7)
        return _png(fig)


def volume_png(panels: Sequence[dict[str, Any]], histogram: dict[str, Any] | None) -> str:
    """One volume's card figure: its slices with edge letters and mask outline, then its
    foreground histogram over the stored robust range.

    Each panel: ``image`` (2D uint8), ``mask`` (2D bool or None), ``edges`` (letters at the
    left, right, top, bottom), ``aspect`` (pixel height / width), ``view`` (title).
    """
    cols = len(panels) + (1 if histogram else 0)
    with _figure(2.1 * cols, 2.3) as fig:
        for c, panel in enumerate(panels):
            ax = fig.add_subplot(1, cols, c + 1)
            image = np.asarray(panel["image"], dtype=float)
            ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest",
                      aspect=float(panel.get("aspect") or 1.0))
            mask = panel.get("mask")
            if mask is not None and np.any(mask) and not np.all(mask):
                # The outline is the 0.5 level of the binary mask: the voxels stay visible.
                ax.contour(np.asarray(mask, dtype=float), levels=[0.5], colors="#ff3030",
                           linewidths=0.9)
            left, right, top, bottom = (str(e) for e in panel["edges"])
            style = {"color": "#ffd400", "fontsize": 9, "fontweight": "bold"}
            ax.text(0.02, 0.5, left, transform=ax.transAxes, ha="left", va="center", **style)
            ax.text(0.98, 0.5, right, transform=ax.transAxes, ha="right", va="center", **style)
            ax.text(0.5, 0.98, top, transform=ax.transAxes, ha="center", va="top", **style)
            ax.text(0.5, 0.02, bottom, transform=ax.transAxes, ha="center", va="bottom", **style)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(_short(str(panel.get("view", "")), 20))
        if histogram:
            ax = fig.add_subplot(1, cols, cols)
            lo, hi = histogram["range"]
            counts = np.asarray(histogram["counts"], dtype=float)
            edges = np.linspace(lo, hi, counts.size + 1)
            total = counts.sum()
            ax.stairs(counts / total if total else counts, edges, color=CHANNEL_COLOURS[0],
                      fill=True, alpha=0.8)
            ax.set_title("foreground, p1-p99")
            ax.set_xlabel("intensity")
            ax.set_yticks([])
        return _png(fig)
