"""Bind user data (dicts, tuples, arrays) to schema names and cut it into batches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from datacheck.errors import DataError
from datacheck.schema.model import Schema

#: Batch size used when arrays are checked eagerly (Keras' default fit batch size).
DEFAULT_BATCH_SIZE = 32


def as_array(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists, objects numpy refuses
        raise DataError(f"{name}: cannot be read as an array ({exc}). Pad or stack the "
                        "elements to one shape first.") from None
    if arr.dtype == object:
        flat = arr.reshape(-1)
        if all(isinstance(v, (str, bytes)) for v in flat[:1000]):
            return arr.astype(str)
        raise DataError(f"{name}: holds Python objects (dtype=object), not numbers or strings. "
                        "Convert it to a numeric array (are the elements of different shapes?).")
    return arr


def merge_parts(parts: Any) -> dict[str, Any]:
    """Merge a tuple of dicts (e.g. ``({"image": x}, {"label": y})``) into one dict."""
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


def bind(schema: Schema, data: Any) -> dict[str, np.ndarray]:
    """Map data onto schema names.

    Dicts bind by key; tuples/lists bind positionally, features first, then
    labels; a tuple of dicts is merged; a bare array binds to the only feature.

    >>> from datacheck.schema import load_schema
    >>> sorted(bind(load_schema("mnist"), (np.zeros((1, 28, 28, 1)), np.zeros(1))))
    ['image', 'label']
    """
    if isinstance(data, Mapping):
        return {str(k): as_array(v, str(k)) for k, v in data.items()}
    if isinstance(data, (tuple, list)):
        if data and all(isinstance(part, Mapping) for part in data):
            return bind(schema, merge_parts(data))
        names = schema.names()
        if len(data) > len(names):
            raise DataError(
                f"data has {len(data)} parts but schema {schema.name!r} declares {len(names)} "
                f"({', '.join(names)}). Pass a dict keyed by feature name, or fix the schema.")
        return {name: as_array(part, name) for name, part in zip(names, data, strict=False)}
    if isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        names = schema.names()
        return {names[0]: as_array(data, names[0])}
    raise DataError(
        f"cannot check data of type {type(data).__name__}: pass a dict or tuple of numpy "
        "arrays, a tf.data.Dataset, or a path (.npz, .nii/.nii.gz, .h5, .csv, a folder).")


def iter_batches(arrays: dict[str, np.ndarray], batch_size: int) -> Iterator[dict[str, np.ndarray]]:
    """Slice aligned arrays along their first axis."""
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1, got {batch_size}")
    if not arrays:
        return
    length = max((a.shape[0] if a.ndim else 1) for a in arrays.values())
    if length == 0:
        yield arrays
        return
    for start in range(0, length, batch_size):
        yield {k: (a[start:start + batch_size] if a.ndim else a.reshape(1))
               for k, a in arrays.items()}
