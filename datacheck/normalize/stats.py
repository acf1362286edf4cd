"""NormStats: per-channel normalization statistics fitted in one mergeable pass.

Like TFDV's accumulators, a batch, a file, a worker and a dataset give the same
kind of object, and ``merge`` is associative: per-channel count/mean/M2
(:class:`datacheck.summary.Moments`, Chan's merge), min/max, non-finite counts
and a :class:`~datacheck.normalize.histogram.Histogram` for percentiles
(within ``error_bound()``, no sort). Statistics can cover only foreground
voxels: ``"nonzero"`` (voxels where any channel is non-zero, the usual MRI
practice) or an explicit mask.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from datacheck.errors import DatacheckError, DataError
from datacheck.normalize.histogram import BINS, Histogram
from datacheck.normalize.sources import iter_parts
from datacheck.summary import Moments

#: What the statistics were computed over.
FOREGROUNDS = ("all", "nonzero", "mask")


def _channels_last(arr: np.ndarray, channel_axis: int | None, where: str) -> np.ndarray:
    """Reshape a batch to (values, channels)."""
    if channel_axis is None:
        return arr.reshape(-1, 1)
    if arr.ndim < 2:
        raise DataError(f"{where}: rank: batch shape {arr.shape} has no channel axis; pass "
                        "channel_axis=None to pool every value, or add the axis (x[..., None]).")
    axis = channel_axis % arr.ndim
    if axis == 0:
        raise DataError(f"{where}: channel_axis={channel_axis} is the batch axis; use -1 for "
                        "channels-last or 1 for channels-first.")
    return np.moveaxis(arr, axis, -1).reshape(-1, arr.shape[axis])


def _mask_values(mask: np.ndarray, arr: np.ndarray, channel_axis: int | None,
                 where: str) -> np.ndarray:
    """Flatten a foreground mask given without (or with a size-1) channel axis."""
    mask = np.asarray(mask).astype(bool)
    if channel_axis is not None and mask.ndim == arr.ndim:
        mask = np.take(mask, 0, axis=channel_axis % arr.ndim)
    spatial = arr.shape if channel_axis is None else tuple(
        d for i, d in enumerate(arr.shape) if i != channel_axis % arr.ndim)
    if mask.shape != spatial:
        raise DataError(f"{where}: mask_mismatch: mask shape {mask.shape} does not match the "
                        f"data's {spatial} (data shape {arr.shape} without channels). Pass a "
                        "mask with the same batch and spatial shape.")
    return mask.reshape(-1)


def _moments(good: np.ndarray) -> Moments:
    """Moments of finite float64 values; two passes, no masks (they are already filtered)."""
    count = good.size
    if count == 0:
        return Moments.empty()
    mean = float(good.sum()) / count
    centred = good - mean
    centred *= centred
    return Moments(np.asarray(float(count)), np.asarray(mean), np.asarray(float(centred.sum())))


@dataclass(frozen=True)
class NormStats:
    """Per-channel normalization statistics; ``merge`` is associative.

    >>> s = NormStats.of(np.arange(8.0).reshape(2, 4, 1))
    >>> float(s.mean[0]), float(s.max[0]), s.channels
    (3.5, 7.0, 1)
    """

    moments: Moments
    min: np.ndarray
    max: np.ndarray
    nonfinite: np.ndarray
    values: np.ndarray  # every value seen, background and non-finite included
    histograms: tuple[Histogram, ...] = field(default_factory=tuple)
    foreground: str = "all"
    batches: int = 0
    elements: int = 0

    @property
    def channels(self) -> int:
        return int(self.min.shape[0])

    @property
    def count(self) -> np.ndarray:
        """Finite foreground values per channel (what mean/std/percentiles cover)."""
        return self.moments.count

    @property
    def mean(self) -> np.ndarray:
        return np.where(self.count > 0, self.moments.mean, np.nan)

    @property
    def std(self) -> np.ndarray:
        return self.moments.std

    @classmethod
    def of(cls, batch: Any, channel_axis: int | None = -1, foreground: Any = None,
           bins: int = BINS, where: str = "<array>") -> NormStats:
        """Statistics of one batch (first axis indexes elements).

        ``foreground``: None (every value), ``"nonzero"`` or a boolean mask
        shaped like the batch without its channel axis.
        """
        arr = np.asarray(batch)
        if arr.dtype.kind not in "biuf":
            raise DataError(f"{where}: dtype: cannot fit normalization statistics on "
                            f"{arr.dtype} data; pass numeric arrays.")
        flat = _channels_last(arr, channel_axis, where)
        kind = "all"
        keep: np.ndarray | None = None
        if isinstance(foreground, str):
            if foreground != "nonzero":
                raise DatacheckError(f"foreground={foreground!r} is not supported; use None, "
                                     "'nonzero' or a boolean mask array.")
            kind, keep = "nonzero", (flat != 0).any(axis=1)
        elif foreground is not None:
            kind, keep = "mask", _mask_values(foreground, arr, channel_axis, where)
        moments, histograms = [], []
        lows, highs, bad = [], [], []
        for c in range(flat.shape[1]):
            column = flat[:, c] if keep is None else flat[keep, c]
            column = column.astype(np.float64, copy=False)
            finite = np.isfinite(column)
            good = column if finite.all() else column[finite]
            bad.append(column.size - good.size)
            moments.append(_moments(good))
            histograms.append(Histogram.of(good, bins))
            lows.append(good.min() if good.size else math.inf)
            highs.append(good.max() if good.size else -math.inf)
        stacked = Moments(*(np.array([getattr(m, k) for m in moments], np.float64)
                            for k in ("count", "mean", "m2")))
        return cls(stacked, np.array(lows, np.float64), np.array(highs, np.float64),
                   np.array(bad, np.int64), np.full(flat.shape[1], flat.shape[0], np.int64),
                   tuple(histograms), kind, 1, int(arr.shape[0]) if arr.ndim else 1)

    def merge(self, other: NormStats) -> NormStats:
        if self.channels != other.channels:
            raise DataError(f"cannot merge statistics of {self.channels} and {other.channels} "
                            "channels; was channel_axis the same for every batch?")
        if self.foreground != other.foreground:
            raise DataError(f"cannot merge statistics over foreground {self.foreground!r} with "
                            f"{other.foreground!r}; fit every part the same way.")
        return NormStats(
            self.moments.merge(other.moments),
            np.minimum(self.min, other.min), np.maximum(self.max, other.max),
            self.nonfinite + other.nonfinite, self.values + other.values,
            tuple(a.merge(b) for a, b in zip(self.histograms, other.histograms, strict=True)),
            self.foreground, self.batches + other.batches, self.elements + other.elements)

    def percentile(self, q: float) -> np.ndarray:
        """Per-channel estimate of ``np.percentile(channel_values, q)`` within ``error_bound()``."""
        if not self.histograms:
            raise DataError("these statistics hold no histograms (loaded without them?); "
                            "refit with fit_stats() to get percentiles.")
        return np.array([float(h.percentile(q)) for h in self.histograms])

    def error_bound(self) -> np.ndarray:
        """Per-channel bound on the absolute error of ``percentile``."""
        return np.array([h.error_bound() for h in self.histograms])

    def to_dict(self, histograms: bool = True) -> dict[str, Any]:
        """Plain lists and numbers (JSON/YAML-ready); derived mean/std/percentiles included."""
        def floats(a: np.ndarray) -> list[float | None]:
            return [float(v) if math.isfinite(v) else None for v in np.asarray(a, np.float64)]

        data: dict[str, Any] = {
            "kind": "norm_stats", "version": 1, "channels": self.channels,
            "foreground": self.foreground, "batches": self.batches, "elements": self.elements,
            "count": floats(self.count), "mean": floats(self.mean), "std": floats(self.std),
            "m2": floats(self.moments.m2), "min": floats(self.min), "max": floats(self.max),
            "nonfinite": [int(v) for v in self.nonfinite], "values": [int(v) for v in self.values],
        }
        if self.histograms and all(h.total for h in self.histograms):
            data["percentiles"] = {f"{q:g}": floats(self.percentile(q))
                                   for q in (0.5, 1, 5, 50, 95, 99, 99.5)}
            data["percentile_error"] = floats(self.error_bound())
        if histograms:
            data["histograms"] = [h.to_dict() for h in self.histograms]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "statistics") -> NormStats:
        """Inverse of ``to_dict``; ``{"mean": [...], "std": [...]}`` alone is enough too."""
        if not isinstance(data, dict) or "mean" not in data:
            raise DataError(f"{source}: not normalization statistics (need at least 'mean' and "
                            "'std' lists); write them with NormStats.save().")

        def arr(key: str, default: float) -> np.ndarray:
            value = data.get(key)
            if value is None:
                return np.full(len(data["mean"]), default, np.float64)
            values = np.atleast_1d(np.asarray(value, dtype=object))
            return np.array([default if v is None else float(v) for v in values], np.float64)

        mean = arr("mean", math.nan)
        count = arr("count", 1.0)
        m2 = arr("m2", math.nan)
        if np.isnan(m2).any():
            if "std" not in data:
                raise DataError(f"{source}: has 'mean' but neither 'std' nor 'm2'.")
            m2 = arr("std", math.nan) ** 2 * count
        channels = mean.shape[0]
        lists = {k: arr(k, d) for k, d in (("min", math.inf), ("max", -math.inf),
                                          ("nonfinite", 0), ("values", 0))}
        if any(a.shape[0] != channels for a in (count, m2, *lists.values())):
            raise DataError(f"{source}: per-channel lists have different lengths; expected "
                            f"{channels} values each.")
        hists = tuple(Histogram.from_dict(h) for h in data.get("histograms", []))
        if hists and len(hists) != channels:
            raise DataError(f"{source}: {len(hists)} histograms for {channels} channels.")
        foreground = str(data.get("foreground", "all"))
        if foreground not in FOREGROUNDS:
            raise DataError(f"{source}: foreground {foreground!r} is not one of {FOREGROUNDS}.")
        return cls(Moments(count, np.nan_to_num(mean), m2), lists["min"], lists["max"],
                   lists["nonfinite"].astype(np.int64), lists["values"].astype(np.int64),
                   hists, foreground, int(data.get("batches", 0)), int(data.get("elements", 0)))

    def save(self, path: str | Path) -> Path:
        """Write to ``.json`` or ``.yaml``/``.yml`` (e.g. beside the schema; see ``stats_path``)."""
        path = Path(path)
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False,
                                           default_flow_style=None, width=100), encoding="utf-8")
        else:
            raise DatacheckError(f"{path}: cannot save statistics as {path.suffix or 'no suffix'}"
                                 "; use .json, .yaml or .yml.")
        return path

    @classmethod
    def load(cls, path: str | Path) -> NormStats:
        """Read statistics written by ``save``.

        >>> NormStats.load("missing.yaml")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        datacheck.errors.DataError: missing.yaml: missing_file: ...
        """
        path = Path(path)
        if not path.exists():
            raise DataError(f"{path}: missing_file: no statistics file here. Fit them with "
                            "fit_stats(...).save(path).")
        import yaml  # YAML is a superset of JSON, so one parser reads both

        from datacheck.readers.gate import read_text
        from datacheck.schema.yamlsafe import load_yaml

        try:
            data = load_yaml(read_text(path))
        except yaml.YAMLError as exc:
            raise DataError(f"{path}: unreadable: not valid YAML/JSON ({exc}).") from None
        return cls.from_dict(data, source=str(path))


def stats_path(schema_path: str | Path, feature: str) -> Path:
    """Where the statistics of ``feature`` live beside a schema file.

    >>> stats_path("schemas/brats.yaml", "image").name
    'brats.image.norm.yaml'
    """
    schema_path = Path(schema_path)
    return schema_path.with_name(f"{schema_path.name.split('.')[0]}.{feature}.norm.yaml")


def fit_stats(data: Any, channel_axis: int | None = -1, foreground: Any = None, *,
              feature: str | int | None = None, key: str | None = None,
              bins: int = BINS) -> NormStats:
    """Fit normalization statistics in one streaming pass.

    ``data``: a numpy array (first axis = elements), a dict of arrays, an
    iterable of batches (arrays, tuples, dicts), a tf.data.Dataset, a file path
    or a list of paths (NIfTI volumes are read channels-last, one element per
    file, through the guarded reader). ``foreground``: None, ``"nonzero"``, a
    mask array (for array data) or ``"mask"``: every batch comes as ``(batch,
    mask)``, and NIfTI paths use their mask pair (``NAME_mask.nii[.gz]`` beside
    the image, or ``(image, mask)`` path pairs). On raw MRI ``"nonzero"`` keeps
    the background noise around the head; a brain mask does not. A file of a
    list of paths that cannot be read is skipped with a ``UserWarning`` naming
    it and why (the fit goes on with the rest; with none left it raises).

    >>> s = fit_stats(np.random.default_rng(0).normal(5, 2, (64, 8, 8, 1)))
    >>> round(float(s.mean[0])), round(float(s.std[0]))
    (5, 2)
    """
    named = foreground if isinstance(foreground, str) else None
    if named not in (None, "nonzero", "mask"):
        raise DatacheckError(f"foreground={named!r} is not supported; use None, 'nonzero', "
                             "'mask' (batches come as (batch, mask)) or a mask array.")
    array_mask = None if named is not None or foreground is None else foreground
    if array_mask is not None and not isinstance(data, np.ndarray):
        raise DatacheckError("a foreground mask array needs array data; for batches pass "
                             "(batch, mask) pairs with foreground='mask'.")
    paired = named == "mask"
    mode = "nonzero" if named == "nonzero" else None
    total: NormStats | None = None
    unreadable: dict[str, str] = {}
    for batch, mask, where in iter_parts(data, feature=feature, mask=array_mask, paired=paired,
                                         key=key, unreadable=unreadable):
        fg = mask if mask is not None else mode
        axis = -1 if where.endswith(".nii") or where.endswith(".nii.gz") else channel_axis
        part = NormStats.of(batch, axis, fg, bins, where)
        if total is not None and part.channels != total.channels:
            raise DataError(f"{where}: {part.channels} channels, but earlier batches had "
                            f"{total.channels}. Check channel_axis and the data's layout.")
        total = part if total is None else total.merge(part)
    if unreadable:
        # One bad file does not stop the fit; each is named, and none is silently left out.
        import warnings

        for reason in unreadable.values():
            warnings.warn(f"fit_stats: not used: {reason}", UserWarning, stacklevel=2)
    if total is None:
        why = "; ".join(unreadable.values()) or "the data holds no batches"
        raise DataError(f"fit_stats: nothing to fit ({why}).")
    return total
