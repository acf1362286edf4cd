"""Rules for handing checked volumes to training: casts that keep values, shapes that fit.

The manifest loader casts every element to the training dtype and gives it
the pipeline's static shape. Both can silently change data (a [0, 1] float
volume cast to int32 is 0s and 1s) or end an epoch in a raw TF error, so
both are judged here, per element, naming the file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from datacheck.rules.base import fmt_num, fmt_shape
from datacheck.rules.violation import Violation


def cast_violations(feature: str, source: str, data: np.ndarray,
                    dtype: Any) -> list[Violation]:
    """A ``dtype`` violation when casting ``data`` to ``dtype`` would change stored values.

    Float to a narrower float only rounds (allowed) unless values overflow;
    anything to an integer dtype must be whole and in range; integers to a
    float must fit its mantissa.

    >>> cast_violations("volume", "a.nii", np.array([0.25, 1.0]), "int32")[0].code
    'dtype'
    """
    target = np.dtype(dtype)
    data = np.asarray(data)
    if data.dtype == target or data.size == 0 or data.dtype.kind not in "biuf":
        return []
    changed, why = _changed(data, target)
    if not changed:
        return []
    return [Violation(
        "dtype", feature, f"{feature}: dtype: casting {data.dtype} voxels of {source} to "
        f"{target.name} would change {changed:,} of them ({why}); the model would train on "
        "other values than the file holds. Load with dtype='float32' (manifest_dataset(..., "
        "dtype=...)), or declare a feature dtype that holds them.",
        observed=data.dtype.name, expected=target.name, where=source,
        extra={"changed": changed})]


def _changed(data: np.ndarray, target: np.dtype[Any]) -> tuple[int, str]:
    """How many values the cast changes, and why (0 when it is exact or only rounds floats)."""
    if target.kind == "f":
        if data.dtype.kind == "f":
            limit = float(np.finfo(target).max)
            with np.errstate(invalid="ignore"):
                over = int(np.count_nonzero(np.isfinite(data) & (np.abs(data) > limit)))
            return over, f"beyond ±{limit:g}, they would become Inf"
        exact = 2 ** (np.finfo(target).nmant + 1)
        wide = int(np.count_nonzero(np.abs(data.astype(np.float64)) > exact))
        return wide, f"integers beyond ±{exact:,} are rounded"
    if target.kind == "b":
        odd = int(np.count_nonzero((data != 0) & (data != 1)))
        return odd, "values other than 0 and 1"
    info = np.iinfo(target)
    if data.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(data) & (np.floor(data) == data)
        fractional = int(data.size - np.count_nonzero(whole))
        if fractional:
            shown = data[~whole].ravel()[:3]
            return fractional, "fractional or non-finite, e.g. " + ", ".join(
                fmt_num(float(v)) for v in shown)
    lo, hi = float(np.min(data)), float(np.max(data))
    if lo < info.min or hi > info.max:
        out = int(np.count_nonzero((data < info.min) | (data > info.max)))
        return out, f"outside [{info.min}, {info.max}]"
    return 0, ""


def fits_pipeline(errors: list[Violation], where: str,
                  *pairs: tuple[tuple[int, ...], list[int | None] | None]) -> list[Violation]:
    """Violations that end a warn-mode epoch: an element whose shape the pipeline cannot take.

    ``pairs`` are (element shape, pipeline shape with None for any size).
    Returns [] when every element fits, else a ``shape`` violation naming the
    element first, then the element's own errors.
    """
    for seen, want in pairs:
        if want is None:
            continue
        if len(seen) == len(want) and all(w is None or s == w
                                          for s, w in zip(seen, want, strict=True)):
            continue
        feature = errors[0].feature if errors else "*"
        expected = fmt_shape(tuple(want))
        return [Violation(
            "shape", feature, f"{feature}: shape: element {fmt_shape(seen)} from {where} cannot "
            f"take the pipeline's shape {expected}; warn mode keeps violating elements but cannot "
            "feed one of another shape. Fix or remove the file, or use on_error='drop'.",
            observed=list(seen), expected=expected, where=where), *errors]
    return []
