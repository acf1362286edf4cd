"""Judge a dataset's ``element_spec`` before any data is read: what ``validate()`` raises at
once and what ``check()`` on a dataset reports first."""

from __future__ import annotations

import tensorflow as tf

from datacheck.backends.numpy.evaluate import evaluate
from datacheck.backends.tf.views import tf_dtype_name
from datacheck.report.violation import Violation
from datacheck.rules.judge import static_checks
from datacheck.rules.structure import missing_feature
from datacheck.schema.model import Schema


def static_violations(schema: Schema, specs: dict[str, tf.TensorSpec],
                      batched: bool) -> list[Violation]:
    """Judge the element_spec before any data is read (unknown dims are left to run time)."""
    found: list[Violation] = []
    for name in schema.names():
        entry = schema.features.get(name) or schema.labels[name]
        if name not in specs:
            if not entry.optional:
                found.append(missing_feature(name, sorted(specs), "element_spec",
                                             elements="dataset elements"))
            continue
        spec = specs[name]
        if spec.shape.rank is None:
            continue
        shape = tuple(spec.shape.as_list())
        shape = shape if batched else (1, *shape)
        checks = static_checks(schema, name, shape, tf_dtype_name(spec.dtype))
        violations, _ = evaluate([c for c in checks if c.static], None,
                                 source="the element_spec (before reading data)")
        found += violations
    return found
