"""Read a labelled dataset once into memory: features, class indices, where each element is.

Label checks need every element at once (k-fold probes, confident learning,
duplicate search), so the data is gathered from the same sources ``dc.check``
reads (arrays, tuples/dicts, tf.data, files) and the element hashes for
duplicate search are computed in the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datacheck.dedup.hashing import content_hashes, perceptual_hashes
from datacheck.dedup.index import HashIndex
from datacheck.errors import DataError
from datacheck.infer.sources import LABEL_NAMES, guess_layout, looks_like_label, open_source
from datacheck.schema.model import Schema

#: Batch size of the gathering pass (any value gives the same result).
GATHER_BATCH = 1024


@dataclass
class LabelledData:
    """Everything label checks need, aligned by element index.

    ``labels`` holds class indices into ``classes`` (names as text).
    ``where`` names each element as reports do ("a.npz element 3");
    ``inputs`` names the input (file) each element came from.
    """

    feature: str
    label: str
    x: np.ndarray
    labels: np.ndarray
    classes: list[str]
    where: list[str]
    inputs: list[str]
    description: str
    index: HashIndex
    layout: str | None = None
    problems: dict[str, Any] = field(default_factory=dict)
    read: dict[str, str] = field(default_factory=dict)


def gather(data: Any, schema: Schema | None = None, feature: str | None = None,
           label: str | None = None) -> LabelledData:
    """Read ``data`` (anything ``dc.check`` reads) into a :class:`LabelledData`."""
    source = open_source(data, batch_size=GATHER_BATCH)
    rename: dict[str, str] = {}
    if schema is not None and source.positional and not set(source.names) <= set(schema.names()):
        rename = dict(zip(source.names, schema.names(), strict=False))
    names = [rename.get(n, n) for n in source.names]
    parts: dict[str, list[np.ndarray]] = {}
    where: list[str] = []
    inputs: list[str] = []
    for batch in source.batches:
        arrays = {rename.get(k, k): np.asarray(v) for k, v in batch.arrays.items()}
        n = max((a.shape[0] if a.ndim else 1) for a in arrays.values())
        for key, arr in arrays.items():
            parts.setdefault(key, []).append(arr if arr.ndim else arr.reshape(1))
        where += [batch.source if batch.single else f"{batch.source} element {batch.offset + i}"
                  for i in range(n)]
        inputs += [batch.source] * n
    if not parts:
        why = "; ".join(v.message for v in source.problems.values()) or "empty input"
        raise DataError(f"{source.description}: no data to check labels on ({why})")
    try:
        arrays = {k: np.concatenate(v) for k, v in parts.items()}
    except ValueError as exc:
        raise DataError(f"{source.description}: elements differ in shape ({exc}); label checks "
                        "need one shape per feature: resize or pad first.") from None
    names = [n for n in names if n in arrays] + [n for n in arrays if n not in names]
    label = label or _pick_label(names, arrays, schema)
    feature = feature or next((n for n in names if n != label), None)
    if feature is None or feature not in arrays:
        raise DataError(f"{source.description}: no feature beside the label {label!r} to learn "
                        "labels from; pass (x, y) or name the feature.")
    if label not in arrays:
        raise DataError(f"{source.description}: no label {label!r} (found {', '.join(names)}).")
    x = arrays[feature]
    labels, classes = class_indices(arrays[label], label, schema)
    if len(labels) != len(x):
        raise DataError(f"{source.description}: {feature} has {len(x)} elements but {label} "
                        f"has {len(labels)}; they must be aligned.")
    feat = schema.features.get(feature) if schema is not None else None
    layout = feat.layout if feat is not None and feat.layout else guess_layout(x.shape[1:])
    index = element_index(source.description, x, labels, classes, where, layout)
    return LabelledData(feature, label, x, labels, classes, where, inputs, source.description,
                        index, layout, dict(source.problems), dict(source.inputs))


def _pick_label(names: list[str], arrays: dict[str, np.ndarray], schema: Schema | None) -> str:
    if schema is not None and schema.labels:
        present = [n for n in schema.labels if n in arrays]
        if present:
            return present[0]
    named = [n for n in names if n.lower() in LABEL_NAMES or n.lower().startswith("label")]
    if named:
        return named[0]
    for name in reversed(names[1:]):
        if looks_like_label(arrays[name]):
            return name
    raise DataError(f"found no labels among {', '.join(names)}: pass (x, y), a dict with a "
                    "'label' key, or a schema that declares the label.")


def class_indices(raw: np.ndarray, name: str,
                  schema: Schema | None = None) -> tuple[np.ndarray, list[str]]:
    """Class indices and class names of a label array (sparse integers, one-hot or strings).

    Integer labels keep their values as indices (class k is column k of
    predicted probabilities); strings follow the schema's ``classes`` when
    declared, else sorted order.

    >>> class_indices(np.array([2, 0, 2]), "y")[0].tolist()
    [2, 0, 2]
    """
    arr = np.asarray(raw)
    if arr.ndim == 2 and arr.shape[1] > 1 and arr.dtype.kind in "biuf":
        arr = arr.argmax(axis=1)  # one-hot rows (looks_like_label checked them)
    arr = arr.reshape(len(arr), -1)[:, 0] if arr.ndim > 1 else arr
    if arr.dtype.kind in "USO":
        declared = schema.labels.get(name) if schema is not None else None
        classes = [str(c) for c in (declared.classes or [])] if declared is not None else []
        values = arr.astype(str)
        classes = classes or sorted(set(values.tolist()))
        lookup = {c: i for i, c in enumerate(classes)}
        unknown = sorted(set(values.tolist()) - set(lookup))
        if unknown:
            raise DataError(f"{name}: labels {unknown[:5]} are not among the schema's classes.")
        return np.array([lookup[v] for v in values], np.int64), classes
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (np.floor(arr) == arr)):
        raise DataError(f"{name}: labels must be class indices, found non-integer values; run "
                        "`datacheck check` for the label_encoding finding.")
    ints = arr.astype(np.int64)
    if len(ints) and ints.min() < 0:
        raise DataError(f"{name}: negative label {int(ints.min())}; class indices start at 0.")
    k = int(ints.max()) + 1 if len(ints) else 0
    declared = schema.labels.get(name) if schema is not None else None
    if declared is not None and declared.n_classes is not None:
        k = max(k, declared.n_classes)  # a class with no element still has its column
    return ints, [str(c) for c in range(k)]


def element_index(name: str, x: np.ndarray, labels: np.ndarray, classes: list[str],
                  where: list[str], layout: str | None) -> HashIndex:
    """Content and perceptual hashes of every element, labels attached (for label_conflict)."""
    index = HashIndex(name)
    for start in range(0, len(x), GATHER_BATCH):
        chunk = x[start:start + GATHER_BATCH]
        exact = content_hashes([chunk])
        perceptual = perceptual_hashes(chunk, layout)
        for i, digest in enumerate(exact):
            bits, thumb = (None, None) if perceptual is None else (
                perceptual[0][i].tobytes(), perceptual[1][i].tobytes())
            k = start + i
            index.add(where[k], digest, bits, classes[labels[k]], thumb)
    return index
