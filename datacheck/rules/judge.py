"""The judge: the one place that decides which rules apply to which feature.

Backends give it views of a batch (numpy or TF) and evaluate the checks it
returns; file readers and scans give it merged summaries.
"""

from __future__ import annotations

from typing import Any, cast

from datacheck.rules.base import Check
from datacheck.rules.dataset import feature_dataset_violations, label_dataset_violations
from datacheck.rules.labels import label_static_checks, label_value_checks
from datacheck.rules.structure import complex_checks, dtype_checks, rank_checks, shape_checks
from datacheck.rules.views import LabelView, TensorView
from datacheck.rules.violation import Violation
from datacheck.schema.model import Schema
from datacheck.summary import LabelSummary, TensorSummary


def static_checks(schema: Schema, name: str, shape: tuple[Any, ...], dtype: str) -> list[Check]:
    """Checks decided by shape and dtype alone (rank, shape, layout, dtype, label encoding)."""
    if name in schema.features:
        feature = schema.features[name]
        checks = rank_checks(name, feature, shape)
        if checks:
            return checks
        dtype_found = complex_checks(name, dtype) or dtype_checks(name, feature.dtypes(), dtype)
        return dtype_found + shape_checks(name, feature, shape)
    return label_static_checks(name, schema.labels[name], shape, dtype)


def value_checks(schema: Schema, name: str, view: TensorView) -> list[Check]:
    """Per-batch checks on values; call only when the static checks of ``name`` can pass."""
    from datacheck.rules.values import value_checks as tensor_value_checks

    if name in schema.features:
        if view.is_string:
            return []
        feature = schema.features[name]
        checks = tensor_value_checks(name, feature, view)
        if feature.quality is not None:  # opt-in: only schemas with a quality: section
            from datacheck.rules.quality import quality_checks

            checks += quality_checks(name, feature, view)
        return checks
    return label_value_checks(name, schema.labels[name], cast(LabelView, view))


def pair_checks(schema: Schema, shapes: dict[str, tuple[Any, ...]]) -> list[Check]:
    """Checks between names of one batch: a label map's spatial shape against its image."""
    from datacheck.rules.segmentation import label_map_pair_checks

    return label_map_pair_checks(schema, shapes)


def dataset_violations(schema: Schema, summaries: dict[str, Any],
                       where: str = "dataset") -> list[Violation]:
    """Rules that need the whole dataset: z-score moments, class coverage and balance."""
    out: list[Violation] = []
    for name, summary in summaries.items():
        if name in schema.features and isinstance(summary, TensorSummary):
            out += feature_dataset_violations(name, schema.features[name], summary, where)
        elif name in schema.labels and isinstance(summary, LabelSummary):
            out += label_dataset_violations(name, schema.labels[name], summary, where)
    return out
