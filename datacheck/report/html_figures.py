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


def montage_png(rows: Sequence[tuple[str, Sequence[np.ndarray]]]) -> str:
    """One row per volume: its middle slices (axial, coronal, sagittal), titled by file name."""
    cols = max((len(s) for _, s in rows), default=1)
    with _figure(2.0 * cols, 2.1 * len(rows)) as fig:
        for r, (name, slices) in enumerate(rows):
            for c, image in enumerate(slices):
                ax = fig.add_subplot(len(rows), cols, r * cols + c + 1)
                finite = np.nan_to_num(np.asarray(image, dtype=float))
                lo, hi = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
                ax.imshow(np.rot90(finite), cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1,
                          interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_title(_short(name, 40), loc="left")
        return _png(fig)


def middle_slices(volume: np.ndarray) -> list[np.ndarray]:
    """Middle slice along each of the first three axes (first channel/time point of 4D+)."""
    arr = np.asarray(volume)
    while arr.ndim > 3:
        arr = arr[..., 0]
    if arr.ndim == 2:
        return [arr]
    i, j, k = (d // 2 for d in arr.shape)
    return [arr[:, :, k], arr[:, j, :], arr[i, :, :]]
