"""Turn checks into violations eagerly: the numpy twin of the TF graph evaluator."""

from __future__ import annotations

from typing import Any

import numpy as np

from datacheck.report.violation import Violation
from datacheck.rules.base import SHOWN_INDICES, Check, elements_text, fmt_shape


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
               source: str | None = None, batched: bool = True) -> str:
    parts = []
    if source:
        parts.append(source)
    if not batched and batch is not None:  # one element per step: never "batch 15"
        parts.append(f"element {batch}")
        return ", ".join(parts)
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


def bad_indices(mask: Any, offset: int | None) -> tuple[int, int, list[int]]:
    """(bad count, elements, first bad indices in the dataset) of a per-element mask."""
    if mask is None:
        return 0, 0, []
    arr = np.asarray(mask, dtype=bool).reshape(-1)
    bad = np.flatnonzero(~arr)
    start = offset or 0
    return int(bad.size), int(arr.size), [start + int(i) for i in bad[:SHOWN_INDICES]]


def evaluate(checks: list[Check], batch: int | None, offset: int | None = None,
             source: str | None = None, batched: bool = True) -> tuple[list[Violation], bool]:
    """Evaluate checks on one batch. Returns (violations, all_static_ok).

    A violation with a per-element mask carries ``extra["elements"]`` (how many
    elements broke it) and ``extra["indices"]`` (the first of them, dataset-wide).
    """
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
            where = where_text(batch, element, offset, source, batched)
            count, total, indices = bad_indices(mask, offset)
            values = {k: format_value(v) for k, v in finding.values.items()}
            values["where"] = where
            values["elements"] = elements_text(count, total, indices) if batched else ""
            extra = {"elements": count, "indices": indices} if count else {}
            message = finding.template.format_map(values)
            observed: object = finding.observed
            if isinstance(observed, str):
                observed = observed.format_map(values) if observed else None
            out.append(finding.violation(check.feature, message, observed, where, extra))
    return out, all(bool(c.ok) for c in checks)
