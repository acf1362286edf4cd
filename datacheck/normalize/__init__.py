"""Normalization stage: fit statistics in one mergeable pass, apply them on the device.

>>> from datacheck.normalize import fit_stats
>>> stats = fit_stats(np.ones((4, 8, 8, 1)))  # doctest: +SKIP
>>> layer = Normalize(stats, method="zscore")  # doctest: +SKIP

``Normalize`` (Keras) and ``normalize_dataset`` (tf.data) load on first use,
so importing this package does not import Keras or TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datacheck.normalize.histogram import Histogram
from datacheck.normalize.params import METHODS, WINDOWS, NormParams, resolve_params
from datacheck.normalize.stats import NormStats, fit_stats, stats_path

if TYPE_CHECKING:  # for type checkers and the API docs; at run time __getattr__ loads them
    from datacheck.normalize.layer import Normalize
    from datacheck.normalize.tfdata import normalize_dataset

__all__ = [
    "METHODS", "WINDOWS", "Histogram", "NormParams", "NormStats", "Normalize", "fit_stats",
    "normalize_dataset", "resolve_params", "stats_path",
]


def __getattr__(name: str) -> Any:
    if name == "Normalize":
        from datacheck.normalize.layer import Normalize

        return Normalize
    if name == "normalize_dataset":
        from datacheck.normalize.tfdata import normalize_dataset

        return normalize_dataset
    raise AttributeError(f"module 'datacheck.normalize' has no attribute {name!r}")
