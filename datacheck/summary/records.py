"""The JSON forms of summaries that reports carry (``Report.summaries``), as typed records.

A summary object (``TensorSummary``, ``LabelSummary``, a drift comparison)
is written into a report by its ``to_dict``; these types say what such a
record holds, so the report writers, the HTML page and readers of saved
reports agree on the keys. ``kind`` tells them apart.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class TensorSummaryRecord(TypedDict, total=False):
    """``TensorSummary.to_dict()``: a feature's values merged over the run."""

    kind: Literal["tensor"]
    elements: int
    values: int
    nonfinite: int
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    moments: dict[str, float]
    shapes: dict[str, int]
    dtypes: dict[str, int]
    batches: int
    constant_batches: int
    histogram: dict[str, Any]


class LabelSummaryRecord(TypedDict, total=False):
    """``LabelSummary.to_dict()``: a label's values and class counts merged over the run."""

    kind: Literal["label"]
    elements: int
    nonfinite: int
    non_integer: int
    min: float | None
    max: float | None
    one_hot_rows: int
    histogram: dict[str, int]
    dtypes: dict[str, int]
    shapes: dict[str, int]
    longest_single_class_run: int
    batches: int


class DriftSummaryRecord(TypedDict, total=False):
    """One compared name of a ``diff``: each side's profile entry and their distances."""

    kind: Literal["drift"]
    a: dict[str, Any] | None
    b: dict[str, Any] | None
    distances: dict[str, Any]


SummaryRecord = TensorSummaryRecord | LabelSummaryRecord | DriftSummaryRecord
