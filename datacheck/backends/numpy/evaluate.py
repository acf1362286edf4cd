"""Turn checks into violations eagerly: the numpy twin of the TF graph evaluator."""

from __future__ import annotations

from typing import Any

import numpy as np

from datacheck.report.violation import Violation
from datacheck.rules.base import Check, fmt_shape


def format_value(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "shape":
        return fmt_shape(tuple(value[1]))
    if isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if value in (float("inf"), float("-inf")):
            return "none (no finite values)" if value == float("inf") else "none"
        return f"{value:g}"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def where_text(batch: int | None, element: int | None, offset: int | None = None,
               source: str | None = None) -> str:
    parts = []
    if source:
        parts.append(source)
    if batch is not None:
        parts.append(f"batch {batch}")
    if element is not None:
        index = f" (index {offset + element})" if offset is not None and offset else ""
        parts.append(f"element {element}{index}")
    return ", ".join(parts) or "dataset"


def first_false(mask: Any) -> int | None:
    if mask is None:
        return None
    arr = np.asarray(mask).reshape(-1)
    bad = np.flatnonzero(~arr.astype(bool))
    return int(bad[0]) if bad.size else None


def evaluate(checks: list[Check], batch: int | None, offset: int | None = None,
             source: str | None = None) -> tuple[list[Violation], bool]:
    """Evaluate checks on one batch. Returns (violations, all_static_ok)."""
    out: list[Violation] = []
    for check in checks:
        if bool(check.ok):
            continue
        for finding in check.diagnose():
            if not bool(finding.fired):
                continue
            mask = finding.element_ok
            if mask is None and check.element_ok is not None:
                mask = check.element_ok()
            element = first_false(mask)
            where = where_text(batch, element, offset, source)
            values = {k: format_value(v) for k, v in finding.values.items()}
            values["where"] = where
            message = finding.template.format_map(values)
            observed: object = finding.observed
            if isinstance(observed, str):
                observed = observed.format_map(values) if observed else None
            out.append(Violation(finding.code, check.feature, message, observed=observed,
                                 expected=finding.expected, where=where,
                                 severity=finding.severity))
    return out, all(bool(c.ok) for c in checks)


def bad_elements(checks: list[Check], size: int) -> np.ndarray:
    """Per-element mask of elements that break an element-level check (for drop mode)."""
    keep = np.ones(size, dtype=bool)
    for check in checks:
        if bool(check.ok) or check.element_ok is None:
            continue
        mask = check.element_ok()
        if mask is None:
            keep[:] = False
        else:
            keep &= np.asarray(mask, dtype=bool).reshape(-1)[:size]
    return ~keep
