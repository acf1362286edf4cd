"""Per-scan intensity outliers across a dataset: robust z-scores of foreground percentiles.

Each scan contributes its foreground median and 99th percentile
(``scan.volume.foreground_percentiles``); a scan whose statistic lies more
than ``nifti.outlier_z`` robust standard deviations (median/MAD, Iglewicz
and Hoaglin) from the other scans is named. Scale errors are
multiplicative, so positive statistics are compared on a log scale. A
warning: per-scan normalization (nnU-Net, TorchIO ZNormalization) makes a
differently scaled scan harmless, a model on raw intensities is not.
"""

from __future__ import annotations

import math

import numpy as np

from datacheck.rules.violation import Violation

#: Fewer scans than this give no meaningful median/MAD.
MIN_SCANS = 5
#: Spread floor (log units, ~5%): scans that differ by less are never outliers.
MIN_MAD = 0.05


def scan_outlier_violations(stats: dict[str, dict[str, float]], threshold: float | None,
                            feature: str = "volume") -> list[Violation]:
    """One ``outlier`` warning per scan whose foreground statistic is far from the others.

    >>> scan_outlier_violations({f"s{i}": {"median": 100.0} for i in range(5)}, 5.0)
    []
    """
    if threshold is None or len(stats) < MIN_SCANS:
        return []
    names = sorted(stats)
    worst: dict[str, tuple[float, str, float, float, bool]] = {}
    for key in sorted({k for s in stats.values() for k in s}):
        have = [n for n in names if key in stats[n] and math.isfinite(stats[n][key])]
        if len(have) < MIN_SCANS:
            continue
        raw = np.array([stats[n][key] for n in have])
        logged = bool((raw > 0).all())
        values = np.log(raw) if logged else raw
        centre = float(np.median(values))
        mad = float(np.median(np.abs(values - centre)))
        floor = MIN_MAD if logged else MIN_MAD * max(abs(centre), 1e-12)
        z = 0.6745 * (values - centre) / max(mad, floor)
        typical = float(math.exp(centre) if logged else centre)
        for name, score, value in zip(have, z, raw, strict=True):
            if abs(score) > threshold and abs(score) > abs(worst.get(name, (0.0,))[0]):
                worst[name] = (float(score), key, float(value), typical, logged)
    out = []
    for name, (score, key, value, typical, logged) in worst.items():
        ratio = f" ({value / typical:.3g}× the typical scan)" if logged else ""
        out.append(Violation(
            "outlier", feature,
            f"{feature}: outlier: foreground {key} {value:.4g} in {name} against {typical:.4g} "
            f"over {len(stats)} scans{ratio}, robust z {score:.1f} (> {threshold:g}); a scan "
            "scaled or converted differently (×1000 units, a missing rescale slope, another "
            "contrast). Check how it was exported, normalize per scan, or raise "
            "nifti.outlier_z.", observed={"statistic": key, "value": value, "z": round(score, 2)},
            expected={"typical": typical, "max_z": threshold}, where=name, severity="warning"))
    return out
