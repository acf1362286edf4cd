"""Resolve a normalization method and statistics into per-channel constants.

Every dataset-level method is ``clip(x, lo, hi)`` (optional) followed by
``(x - center) / scale``; only ``zscore_per_sample`` computes its center and
scale from each sample. The Keras layer and the tf.data function both read a
:class:`NormParams`, so the two paths run the same math, and the expected
output (a schema :class:`~datacheck.schema.Feature`) comes from the same place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from datacheck.errors import DatacheckError
from datacheck.normalize.stats import NormStats
from datacheck.schema.model import Feature

METHODS = ("zscore", "zscore_per_sample", "minmax", "percentile", "window")

#: CT windows as (level/center, width) in Hounsfield units.
WINDOWS: dict[str, tuple[float, float]] = {
    "brain": (40.0, 80.0),
    "soft_tissue": (40.0, 400.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
}

Floats = tuple[float, ...]


@dataclass(frozen=True)
class NormParams:
    """Constants of one normalization; ``None`` bounds mean "no clipping".

    >>> NormParams("window", center=(0.0,), scale=(80.0,), lo=(0.0,), hi=(80.0,)).channels
    1
    """

    method: str
    center: Floats | None = None
    scale: Floats | None = None
    lo: Floats | None = None
    hi: Floats | None = None
    shift: Floats | None = None  # per-sample only: known dataset mean, keeps one-pass var exact
    foreground: str | None = None
    epsilon: float = 1e-6
    check_moments: bool = True

    @property
    def channels(self) -> int | None:
        for values in (self.center, self.shift):
            if values is not None:
                return len(values)
        return None

    def inverse_scale(self) -> np.ndarray | None:
        """float32 ``1 / scale``, rounded down where needed so ``scale * inv <= 1``.

        Both paths multiply by it (XLA would turn a division into this multiply
        anyway), so a clipped input never maps above 1.0 by rounding.
        """
        if self.scale is None:
            return None
        scale = np.asarray(self.scale, np.float32)
        inv = np.float32(1.0) / scale
        over = scale * inv > np.float32(1.0)
        return np.where(over, np.nextafter(inv, np.float32(0.0)), inv).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NormParams:
        known: dict[str, Any] = {k: tuple(float(x) for x in v) if isinstance(v, list) else v
                                 for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def expected_feature(self, tolerance: float = 0.1) -> Feature:
        """What the normalized output must look like, as a schema feature."""
        if self.method in ("zscore", "zscore_per_sample"):
            if not self.check_moments:
                return Feature.model_validate({"finite": True})
            return Feature.model_validate({"normalization": "zscore", "mean": 0.0, "std": 1.0,
                                           "tolerance": tolerance})
        return Feature.model_validate({"normalization": "unit"})


def _floats(values: Any) -> Floats:
    return tuple(float(v) for v in np.atleast_1d(np.asarray(values, np.float64)))


def _stats(stats: Any) -> NormStats | None:
    if stats is None or isinstance(stats, NormStats):
        return stats
    if isinstance(stats, (str, Path)):
        return NormStats.load(stats)
    if isinstance(stats, dict):
        return NormStats.from_dict(stats)
    raise DatacheckError(f"stats must be NormStats, a dict, a path or None; got "
                         f"{type(stats).__name__}.")


def _need(stats: NormStats | None, method: str) -> NormStats:
    if stats is None:
        raise DatacheckError(f"method {method!r} needs statistics: pass fit_stats(train_data) "
                             "(or a dict/path of saved statistics) as stats.")
    if (stats.count == 0).any():
        empty = [int(c) for c in np.flatnonzero(stats.count == 0)]
        raise DatacheckError(f"statistics have no finite values for channels {empty}; refit on "
                             "data that holds them (or check the foreground mask).")
    return stats


def _window(window: Any) -> tuple[float, float]:
    if isinstance(window, str):
        if window not in WINDOWS:
            raise DatacheckError(f"unknown window {window!r}; use one of {sorted(WINDOWS)} or "
                                 "(center, width).")
        return WINDOWS[window]
    if not (isinstance(window, Sequence) and len(window) == 2):
        raise DatacheckError(f"window must be (center, width) or a name, got {window!r}. "
                             "Example: window=(40, 400) for soft tissue in HU.")
    center, width = float(window[0]), float(window[1])
    if not width > 0:
        raise DatacheckError(f"window width must be > 0, got {width}.")
    return center, width


def resolve_params(stats: Any = None, method: str = "zscore", *,
                   percentiles: tuple[float, float] = (0.5, 99.5), window: Any = None,
                   clip: bool = False, foreground: str | None = None,
                   epsilon: float = 1e-6) -> NormParams:
    """Constants for ``method`` from fitted statistics.

    >>> p = resolve_params({"mean": [10.0], "std": [2.0]}, "zscore")
    >>> p.center, p.scale
    ((10.0,), (2.0,))
    """
    if method not in METHODS:
        raise DatacheckError(f"unknown normalization method {method!r}; use one of {METHODS}.")
    if foreground not in (None, "nonzero"):
        raise DatacheckError(f"foreground={foreground!r}: the layer can only restrict to "
                             "'nonzero' voxels (or None).")
    fitted = _stats(stats)
    if foreground is None and fitted is not None and fitted.foreground == "nonzero":
        foreground = "nonzero"
    common: dict[str, Any] = {"foreground": foreground, "epsilon": float(epsilon)}
    if method == "zscore":
        s = _need(fitted, method)
        # Moments of a masked fit describe masked voxels only; the layer cannot see that mask.
        same_voxels = s.foreground == "all" or foreground == "nonzero"
        return NormParams(method, _floats(s.mean), _floats(np.maximum(s.std, epsilon)),
                          check_moments=same_voxels, **common)
    if method == "zscore_per_sample":
        shift = None if fitted is None else _floats(np.nan_to_num(fitted.mean))
        return NormParams(method, shift=shift, **common)
    if method == "window":
        if window is None:
            raise DatacheckError("method 'window' needs window=(center, width) or a name such "
                                 f"as {sorted(WINDOWS)}.")
        center, width = _window(window)
        lo, hi = np.float32(center - width / 2), np.float32(center + width / 2)
        return NormParams(method, _floats(lo), _floats(hi - lo), _floats(lo), _floats(hi),
                          **common)
    s = _need(fitted, method)
    if method == "minmax":
        lo_v, hi_v = s.min, s.max
        bounds = (_floats(lo_v), _floats(hi_v)) if clip else (None, None)
    else:
        p_lo, p_hi = (float(p) for p in percentiles)
        if not 0 <= p_lo < p_hi <= 100:
            raise DatacheckError(f"percentiles {percentiles} must satisfy 0 <= low < high <= "
                                 "100, e.g. (0.5, 99.5).")
        lo_v, hi_v = s.percentile(p_lo), s.percentile(p_hi)
        bounds = (_floats(lo_v), _floats(hi_v))
    if not all(math.isfinite(v) for v in (*lo_v, *hi_v)):
        raise DatacheckError(f"method {method!r}: statistics have no finite min/max; refit.")
    lo32, hi32 = np.asarray(lo_v, np.float32), np.asarray(hi_v, np.float32)
    # Scale is the float32 difference of the float32 bounds, so hi maps to exactly 1.0.
    scale = np.maximum(hi32 - lo32, np.float32(epsilon))
    bounds = (_floats(lo32), _floats(hi32)) if bounds[0] is not None else bounds
    return NormParams(method, _floats(lo32), _floats(scale), *bounds, **common)
