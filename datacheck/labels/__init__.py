"""Label quality: suspected label errors (confident learning via cleanlab) and copies whose
labels disagree. Needs the ``labels`` extra (scikit-learn, cleanlab), loaded on use."""

from __future__ import annotations

from typing import Any

__all__ = ["find_label_issues"]


def __getattr__(name: str) -> Any:
    if name == "find_label_issues":
        from datacheck.labels.api import find_label_issues

        return find_label_issues
    raise AttributeError(f"module 'datacheck.labels' has no attribute {name!r}")
