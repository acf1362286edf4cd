"""Per-image quality statistics in numpy (the twin of ``backends/tf/quality.py``).

One pass over a batch of images gives, per element: the 5th and 95th
intensity percentiles and the entropy (from one 128-bin histogram of the
gray image scaled to [0, 1]), the sharpness (variance of the 4-neighbour
Laplacian over the variance of the image) and the fraction of values at the
top of the range. Rules in ``rules/quality.py`` compare them with the schema.
"""

from __future__ import annotations

import numpy as np

#: Histogram bins for percentiles; entropy merges them 4 by 4 into 32 bins.
BINS = 128
ENTROPY_BINS = 32
#: Added to the image variance so a near-blank image cannot divide by zero.
VAR_EPS = 1e-4


def image_stats(batch: np.ndarray, lo: float, hi: float, channel_axis: int | None,
                min_contrast: float) -> dict[str, np.ndarray]:
    """Per-element statistics of a batch [N, ...] of 2D images (see the module docstring).

    ``channel_axis`` indexes the element (0 for CHW, 2 for HWC, None for HW).

    >>> image_stats(np.zeros((2, 8, 8, 1), np.uint8), 0, 255, 2, 0.02)["entropy"]
    array([0., 0.])
    """
    if channel_axis is not None and batch.shape[channel_axis + 1] in (2, 4):
        # Alpha is opacity, not light: judge the colour (or gray) channels only.
        batch = np.delete(batch, -1, axis=channel_axis + 1)
    x = (batch.astype(np.float32) - np.float32(lo)) / np.float32(hi - lo)
    n = x.shape[0]
    gray = x.mean(axis=channel_axis + 1) if channel_axis is not None else x
    flat = gray.reshape(n, -1)
    pixels = max(flat.shape[1], 1)
    bins = np.clip(np.nan_to_num(flat * BINS, nan=0.0), 0, BINS - 1).astype(np.int64)
    counts = np.bincount((bins + np.arange(n)[:, None] * BINS).reshape(-1),
                         minlength=n * BINS).reshape(n, BINS)
    cum = counts.cumsum(axis=1) / pixels
    # Conservative edges: the upper edge of the 95th's bin, the lower edge of the 5th's.
    p95 = (np.argmax(cum >= 0.95, axis=1) + 1) / BINS
    p05 = np.argmax(cum >= 0.05, axis=1) / BINS
    prob = counts.reshape(n, ENTROPY_BINS, -1).sum(axis=2) / pixels
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = np.maximum(-np.where(prob > 0, prob * np.log2(prob), 0.0).sum(axis=1), 0.0)
    var = flat.var(axis=1) if flat.shape[1] else np.zeros(n)
    if gray.shape[1] >= 3 and gray.shape[2] >= 3:
        lap = (gray[:, 1:-1, :-2] + gray[:, 1:-1, 2:] + gray[:, :-2, 1:-1] + gray[:, 2:, 1:-1]
               - 4 * gray[:, 1:-1, 1:-1])
        sharp = lap.reshape(n, -1).var(axis=1) / (var + VAR_EPS)
    else:
        sharp = np.full(n, np.inf)
    # Blank images are not "blurry": low_information and constant speak for them.
    sharp = np.where(var >= min_contrast ** 2, sharp, np.inf)
    top = (x >= 1.0).reshape(n, -1).mean(axis=1) if x[0].size else np.zeros(n)
    return {"p95": p95.astype(np.float64), "p05": p05.astype(np.float64),
            "entropy": entropy.astype(np.float64), "sharpness": sharp.astype(np.float64),
            "saturated": top.astype(np.float64)}
