"""Independent numpy references for every normalization method (tests only)."""

from __future__ import annotations

import numpy as np


def reference(x: np.ndarray, method: str, train: np.ndarray | None = None,
              percentiles: tuple[float, float] = (0.5, 99.5),
              window: tuple[float, float] | None = None, eps: float = 1e-6) -> np.ndarray:
    """Channels-last normalization computed directly from the training data."""
    x = x.astype(np.float64)
    channels = x.shape[-1]
    flat = None if train is None else train.reshape(-1, channels).astype(np.float64)
    if method == "zscore":
        assert flat is not None
        return (x - flat.mean(0)) / np.maximum(flat.std(0), eps)
    if method == "zscore_per_sample":
        axes = tuple(range(1, x.ndim - 1))
        mean = x.mean(axis=axes, keepdims=True)
        return (x - mean) / np.maximum(x.std(axis=axes, keepdims=True), eps)
    if method == "minmax":
        assert flat is not None
        lo, hi = flat.min(0), flat.max(0)
        return (x - lo) / (hi - lo)
    if method == "percentile":
        assert flat is not None
        lo, hi = np.percentile(flat, percentiles, axis=0)
        return (np.clip(x, lo, hi) - lo) / (hi - lo)
    if method == "window":
        assert window is not None
        lo = window[0] - window[1] / 2
        return (np.clip(x, lo, lo + window[1]) - lo) / window[1]
    raise ValueError(method)
