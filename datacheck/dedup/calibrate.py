"""Confirming near copies against the data's own spread, per class.

A hash match is only a candidate. It is confirmed when the two 8x8
thumbnails, each z-scored (so contrast and brightness changes do not count),
differ by at most a threshold in their largest pixel difference (L-inf).
The threshold is ``NN_SHARE`` times the median distance from an element to
its nearest other element of the same class, measured on the data itself:
a copy with a little noise sits much closer to its source than two distinct
images of one class do to each other.

Why these choices (scikit-learn digits, 1,797 8x8 images, clean vs copies
with Gaussian noise sigma=0.03): the mean absolute difference of min-max
scaled thumbnails (the old test) put the closest distinct pair of 1s (raw L1
16/1024) closer than typical noisy copies and flagged 51 cross-split pairs
on a clean 900/897 split; noise spreads small changes over every pixel while
a distinct image differs by whole strokes, so L-inf separates them. With
z-scored thumbnails no clean element lay closer than 0.45 of its class's
median NN distance, and every noisy copy (clipped to [0, 1] or not) within
0.37 of it: 0.4 sits between.
"""

from __future__ import annotations

import numpy as np

from datacheck.dedup.hashing import HASH_BITS

#: A near copy lies within this share of its class's median nearest-neighbour distance.
NN_SHARE = 0.4
#: Elements per class whose NN distance is measured, and the reference they search; with
#: many classes, fewer queries each (at least ``MIN_QUERIES``), so the cost stays bounded.
QUERIES, REFERENCE, MIN_QUERIES, TOTAL_QUERIES = 400, 4000, 50, 20000
#: Classes with fewer elements use the threshold of all elements pooled.
MIN_CLASS = 8
#: Thresholds never exceed this (z units): a few wildly different images in a class
#: must not make "near" mean anything.
MAX_THRESHOLD = 1.0
_BLOCK = 32  # rows x REFERENCE x 64 floats per step: ~33 MB


def zscore(grid: np.ndarray) -> np.ndarray:
    """Per row (n, bytes) uint8 thumbnails -> float32 z-scores (a flat row is all 0)."""
    t = grid.astype(np.float32)
    t -= t.mean(axis=1, keepdims=True)
    std = t.std(axis=1, keepdims=True)
    return t / np.where(std > 0, std, 1.0)


def flipped(grid: np.ndarray) -> np.ndarray:
    """Thumbnails (n, k*64) mirrored left-right, each 8x8 slice on its own."""
    n, width = grid.shape
    side = int(np.sqrt(HASH_BITS))
    return grid.reshape(n, width // HASH_BITS, side, side)[..., ::-1].reshape(n, width)


def thumb_hashes(grid: np.ndarray) -> np.ndarray:
    """aHash bits (packed) of thumbnails: a pixel brighter than its slice's mean."""
    n, width = grid.shape
    slices = grid.reshape(n, width // HASH_BITS, HASH_BITS).astype(np.float32)
    bits = slices > slices.mean(axis=2, keepdims=True)
    return np.packbits(bits.reshape(n, -1), axis=1)


def linf(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest absolute difference per row of two (n, d) arrays."""
    return np.abs(a - b).max(axis=1) if len(a) else np.zeros(0, np.float32)


def thresholds(z: np.ndarray, classes: list[str], seed: int = 0) -> np.ndarray:
    """Per element: ``NN_SHARE`` x the median NN distance of its class (capped)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(classes, dtype=object)
    pooled = _median_nn(z, np.arange(len(z)), rng, QUERIES)
    out = np.full(len(z), pooled, np.float32)
    names = sorted(set(classes))
    queries = max(MIN_QUERIES, min(QUERIES, TOTAL_QUERIES // max(len(names), 1)))
    for cls in names:
        members = np.flatnonzero(labels == cls)
        if len(members) >= MIN_CLASS and len(members) < len(z):
            out[members] = _median_nn(z, members, rng, queries)
    return np.minimum(out * NN_SHARE, MAX_THRESHOLD)


def _median_nn(z: np.ndarray, members: np.ndarray, rng: np.random.Generator,
               count: int) -> float:
    if len(members) < 2:
        return 0.0
    ref = members if len(members) <= REFERENCE else rng.choice(members, REFERENCE, False)
    queries = members if len(members) <= count else rng.choice(members, count, False)
    nearest = []
    for start in range(0, len(queries), _BLOCK):
        rows = queries[start:start + _BLOCK]
        dist = np.abs(z[rows][:, None, :] - z[ref][None, :, :]).max(axis=2)
        dist[dist == 0] = np.inf  # itself, and exact copies, are not neighbours
        nearest.append(dist.min(axis=1))
    found = np.concatenate(nearest)
    found = found[np.isfinite(found)]
    return float(np.median(found)) if len(found) else 0.0
