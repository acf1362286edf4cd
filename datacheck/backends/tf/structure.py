"""Map tf.data element structures to schema names, the way Keras binds them.

Keras reads an element as ``x``, ``(x, y)`` or ``(x, y, sample_weight)``,
where ``x`` and ``y`` are each a tensor, a tuple or a dict. A dict binds by
key, a tuple positionally within its group (features for ``x``, labels for
``y``), a tensor to the group's only name; sample weights are not judged.
Schemas without labels bind a flat tuple positionally, as ``check()`` binds
arrays; a single dict or a tuple of dicts binds by key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

from datacheck.data import merge_parts
from datacheck.errors import DataError
from datacheck.excerpt import MAX_NAME, bounded
from datacheck.schema.model import Schema


def _bind_group(part: Any, group: list[str], role: str) -> dict[str, Any]:
    if isinstance(part, Mapping):
        return dict(part)
    if isinstance(part, tuple):
        if len(part) > len(group):
            raise DataError(f"{role} has {len(part)} parts but the schema declares "
                            f"{len(group)} ({', '.join(group) or 'none'}); make {role} a dict "
                            "keyed by schema name.")
        return dict(zip(group, part, strict=False))
    if len(group) != 1:
        raise DataError(f"{role} is one tensor but the schema declares {len(group)} "
                        f"({', '.join(group) or 'none'}); make {role} a dict keyed by schema "
                        "name.")
    return {group[0]: part}


def namer(schema: Schema, spec: Any) -> Callable[[Any], dict[str, Any]]:
    """A function from an element (same structure as ``spec``) to {schema name: component}."""
    names = schema.names()
    features, labels = list(schema.features), list(schema.labels)
    if isinstance(spec, Mapping):
        bind: Callable[[Any], dict[str, Any]] = dict
    elif isinstance(spec, tuple) and spec and all(isinstance(p, Mapping) for p in spec):
        bind = merge_parts
    elif isinstance(spec, tuple) and len(spec) in (2, 3) and labels and features:
        def bind(element: Any) -> dict[str, Any]:  # Keras: (x, y) or (x, y, sample_weight)
            return {**_bind_group(element[0], features, "x (the first part of each element)"),
                    **_bind_group(element[1], labels, "y (the second part of each element)")}
    elif isinstance(spec, tuple) and all(_is_leaf(p) for p in spec) and len(spec) <= len(names):
        def bind(element: Any) -> dict[str, Any]:
            return dict(zip(names, element, strict=False))
    elif _is_leaf(spec):
        def bind(element: Any) -> dict[str, Any]:
            return {names[0]: element}
    else:
        raise DataError(_unbindable(schema, spec))
    _refuse_unsupported(bind(spec), names)
    return bind


def _unbindable(schema: Schema, spec: Any) -> str:
    """One line for an element structure no binding above takes: what it is and what binds."""
    names = schema.names()
    declared = f"schema {schema.name!r} declares {len(names)} ({', '.join(names)})"
    if isinstance(spec, (tuple, list)) and all(_is_leaf(p) for p in spec):
        found = f"dataset elements have {len(spec)} parts but {declared}."
    else:  # a part nests tuples or dicts: counting parts would not say what is wrong
        found = (f"dataset elements are {bounded(_structure(spec), MAX_NAME)}, which nests "
                 f"tuples or dicts; {declared}" + (
                     ", and only Keras' (x, y) or (x, y, sample_weight) may nest"
                     if schema.features and schema.labels
                     else " and no labels, so no part is Keras' x or y") + ".")
    return (f"{found} Give elements as x, (x, y) or (x, y, sample_weight) (x and y each a "
            "tensor, a tuple or a dict), or one dict keyed by name.")


def _structure(spec: Any) -> str:
    """An element's structure in Python's notation, a tensor as ``tensor``."""
    if isinstance(spec, Mapping):
        return "{" + ", ".join(f"{k!r}: {_structure(v)}" for k, v in spec.items()) + "}"
    if isinstance(spec, (tuple, list)):
        inner = ", ".join(_structure(p) for p in spec)
        return f"({inner},)" if len(spec) == 1 else f"({inner})"
    return "tensor"


def _is_leaf(spec: Any) -> bool:
    return not isinstance(spec, (Mapping, tuple, list))


def _refuse_unsupported(specs: dict[str, Any], names: list[str]) -> None:
    for name in names:
        spec = specs.get(name)
        if spec is None or isinstance(spec, tf.TensorSpec):
            continue
        kind = {"RaggedTensorSpec": "a tf.RaggedTensor", "SparseTensorSpec": "a tf.SparseTensor"
                }.get(type(spec).__name__, type(spec).__name__)
        raise DataError(
            f"{name}: is {kind}; validate() judges dense tensors. Pad it before validate() "
            "(padded_batch, or .to_tensor() in a map) or leave it out of the schema.")


def specs_by_name(schema: Schema, spec: Any) -> dict[str, tf.TensorSpec]:
    return namer(schema, spec)(spec)


def detect_batched(schema: Schema, specs: dict[str, tf.TensorSpec]) -> bool:
    """Guess whether elements are batches.

    Labels decide first (a sparse label is a scalar per element), then an unknown
    leading dimension, then feature ranks: so an unbatched dataset of variable-size
    images (``[None, None, 3]``) with its labels is seen as unbatched.
    """
    for name, label in schema.labels.items():
        spec = specs.get(name)
        if spec is None or spec.shape.rank is None:
            continue
        element_rank = 0 if label.encoding in ("sparse", "string") else 1
        return bool(spec.shape.rank > element_rank)
    for spec in specs.values():
        if spec.shape.rank and spec.shape[0] is None:
            return True
    for name, feature in schema.features.items():
        spec = specs.get(name)
        rank = feature.element_rank
        if spec is not None and rank is not None and spec.shape.rank is not None:
            return bool(spec.shape.rank != rank)
    return True
