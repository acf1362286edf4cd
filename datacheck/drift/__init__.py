"""Drift between datasets: mergeable histograms, distances, profiles and ``diff``.

Only ``config`` is imported eagerly (the schema model needs it); the rest
loads on first use.
"""

from __future__ import annotations

from typing import Any

from datacheck.schema.drift import DriftConfig, FeatureDrift

__all__ = ["DriftConfig", "FeatureDrift", "Profile", "build_profile", "compare_profiles", "diff"]


def __getattr__(name: str) -> Any:
    if name == "diff":
        from datacheck.drift.api import diff

        return diff
    if name in ("Profile", "build_profile"):
        from datacheck.drift import profile

        return getattr(profile, name)
    if name == "compare_profiles":
        from datacheck.rules.drift import compare_profiles

        return compare_profiles
    raise AttributeError(f"module 'datacheck.drift' has no attribute {name!r}")
