"""Map tf.data element structures (dicts, tuples, tuples of dicts, bare tensors) to schema names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

from datacheck.data import merge_parts
from datacheck.errors import DataError
from datacheck.schema.model import Schema


def namer(schema: Schema, spec: Any) -> Callable[[Any], dict[str, Any]]:
    """A function from an element (same structure as ``spec``) to {schema name: component}."""
    names = schema.names()
    if isinstance(spec, Mapping):
        return lambda element: dict(element)
    if isinstance(spec, tuple):
        if spec and all(isinstance(part, Mapping) for part in spec):
            return merge_parts
        if len(spec) > len(names):
            raise DataError(
                f"dataset elements have {len(spec)} parts but schema {schema.name!r} declares "
                f"{len(names)} ({', '.join(names)}). Map elements to a dict keyed by feature name.")
        if any(not isinstance(part, tf.TensorSpec) for part in spec):
            raise DataError("dataset elements must be tensors, tuples or dicts of tensors "
                            f"(got {spec}); ragged/sparse components are not supported yet.")
        return lambda element: dict(zip(names, element, strict=False))
    if isinstance(spec, tf.TensorSpec):
        return lambda element: {names[0]: element}
    raise DataError(f"unsupported dataset element structure {spec}; use a tensor, a tuple or "
                    "a dict of tensors")


def specs_by_name(schema: Schema, spec: Any) -> dict[str, tf.TensorSpec]:
    return namer(schema, spec)(spec)


def detect_batched(schema: Schema, specs: dict[str, tf.TensorSpec]) -> bool:
    """Guess whether elements are batches: an unknown leading dim, or label/feature ranks."""
    for spec in specs.values():
        if spec.shape.rank and spec.shape[0] is None:
            return True
    for name, label in schema.labels.items():
        spec = specs.get(name)
        if spec is None or spec.shape.rank is None:
            continue
        element_rank = 0 if label.encoding in ("sparse", "string") else 1
        return bool(spec.shape.rank > element_rank)
    for name, feature in schema.features.items():
        spec = specs.get(name)
        rank = feature.element_rank
        if spec is not None and rank is not None and spec.shape.rank is not None:
            return bool(spec.shape.rank != rank)
    return True
