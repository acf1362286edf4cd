"""Distances between distributions, as TFDV uses them: Jensen-Shannon and L-infinity."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def normalize(counts: np.ndarray) -> np.ndarray:
    """Counts to fractions along the last axis (all-zero rows stay zero)."""
    arr = np.asarray(counts, dtype=np.float64)
    total = arr.sum(axis=-1, keepdims=True)
    return np.divide(arr, total, out=np.zeros_like(arr), where=total > 0)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits (0 = same, 1 = disjoint), along the last axis.

    >>> float(js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])))
    1.0
    """
    p, q = normalize(p), normalize(q)
    m = (p + q) / 2

    def kl(a: np.ndarray) -> np.ndarray:
        ratio = np.divide(a, m, out=np.ones_like(a), where=(a > 0) & (m > 0))
        return (a * np.log2(ratio)).sum(axis=-1)

    return np.clip((kl(p) + kl(q)) / 2, 0.0, 1.0)


def linf(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Largest absolute difference of one bin's fraction, along the last axis.

    >>> float(linf(np.array([3, 1]), np.array([1, 1])))
    0.25
    """
    return np.abs(normalize(p) - normalize(q)).max(axis=-1, initial=0.0)


def class_distance(a: Mapping[Any, int], b: Mapping[Any, int]) -> dict[str, Any]:
    """Distances between two class histograms keyed by class (compared as text).

    Returns js, linf, the class that moved most with both fractions, and the
    classes seen in only one of them.
    """
    ka = {str(k): int(v) for k, v in a.items()}
    kb = {str(k): int(v) for k, v in b.items()}
    keys = sorted(set(ka) | set(kb), key=_class_order)
    p = np.array([ka.get(k, 0) for k in keys], dtype=np.float64)
    q = np.array([kb.get(k, 0) for k in keys], dtype=np.float64)
    fp, fq = normalize(p), normalize(q)
    worst = int(np.argmax(np.abs(fp - fq))) if keys else 0
    return {
        "p_value": homogeneity_p(p, q),
        "counts": [int(p.sum()), int(q.sum())],
        "js_divergence": float(js_divergence(p, q)) if keys else 0.0,
        "linf": float(linf(p, q)) if keys else 0.0,
        "worst_class": keys[worst] if keys else None,
        "fraction_a": float(fp[worst]) if keys else 0.0,
        "fraction_b": float(fq[worst]) if keys else 0.0,
        "only_a": [k for k in keys if k not in kb],
        "only_b": [k for k in keys if k not in ka],
    }


def homogeneity_p(p: np.ndarray, q: np.ndarray) -> float:
    """p-value of Pearson's chi-square test that two class histograms share one distribution.

    The chi-square tail uses the Wilson-Hilferty approximation (no SciPy
    needed; within ~0.01 of the exact p for the usual alpha levels). Small
    samples give large p-values: a shift there may be chance.

    >>> homogeneity_p(np.array([50.0, 50.0]), np.array([50.0, 50.0]))
    1.0
    >>> homogeneity_p(np.array([90.0, 10.0]), np.array([10.0, 90.0])) < 1e-6
    True
    """
    table = np.vstack([p, q]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    rows, total = table.sum(axis=1), table.sum()
    if table.shape[1] < 2 or (rows == 0).any():
        return 1.0
    expected = np.outer(rows, table.sum(axis=0)) / total
    stat = float(((table - expected) ** 2 / expected).sum())
    dof = table.shape[1] - 1
    if stat <= 0:
        return 1.0
    z = ((stat / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / math.sqrt(2 / (9 * dof))
    return float(min(1.0, 0.5 * math.erfc(z / math.sqrt(2))))


def _class_order(key: str) -> tuple[int, float, str]:
    try:
        return (0, float(key), key)
    except ValueError:
        return (1, 0.0, key)
