"""The judge: every rule is written once and runs on numpy views, TF views and summaries.

The names are loaded on first use so that ``datacheck.rules.registry`` (which the
Violation record reads) can be imported without pulling in the judge.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datacheck.rules.base import Check, Finding
    from datacheck.rules.judge import dataset_violations, static_checks, value_checks

__all__ = ["Check", "Finding", "dataset_violations", "static_checks", "value_checks"]

_HOMES = {"Check": "datacheck.rules.base", "Finding": "datacheck.rules.base",
          "dataset_violations": "datacheck.rules.judge", "static_checks": "datacheck.rules.judge",
          "value_checks": "datacheck.rules.judge"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'datacheck.rules' has no attribute {name!r}")
