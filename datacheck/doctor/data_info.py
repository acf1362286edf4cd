"""Read and summarize the data a model will be fit on: arrays, .npz files or a tf.data sample.

Data splits into features (model inputs) and labels (model targets), bound
by schema names when a schema is given (``datacheck.data.bind``), else by
Keras' own conventions: ``(x, y[, sample_weight])`` tuples, or dict keys.
Summaries are the core mergeable ``TensorSummary`` / ``LabelSummary``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from datacheck.data import DEFAULT_BATCH_SIZE, as_array, bind, iter_batches
from datacheck.errors import DataError
from datacheck.rules.label_kind import LabelKind, label_kind
from datacheck.schema.model import Schema
from datacheck.summary import LabelSummary, TensorSummary

#: tf.data batches read by default: enough for statistics, bounded for speed and memory.
MAX_BATCHES = 50
#: Dict keys taken as labels when no schema says otherwise.
LABEL_KEYS = frozenset({"y", "label", "labels", "target", "targets", "class", "classes",
                        "y_true", "mask"})
#: Rows summarized at once for features (bounded memory for the float64 copy).
FEATURE_CHUNK = 1024


@dataclass
class LabelFacts:
    """What a label array is: its encoding kind, classes and order.

    ``kind``: string, sparse (integer class ids), float (fractional scalars),
    one_hot, multi_hot, soft (rows of probabilities), dense (per-pixel or
    other maps) or empty. ``sequence`` holds the class of each element in
    order (class ids, or argmax of one-hot rows) for the shuffle checks.
    """

    name: str
    kind: LabelKind
    element_shape: tuple[int, ...]
    dtype: str
    summary: LabelSummary
    width: int | None = None
    sequence: np.ndarray | None = None
    examples: list[str] = field(default_factory=list)

    @property
    def histogram(self) -> Counter[Any]:
        return self.summary.histogram

    @property
    def classes(self) -> list[Any]:
        return sorted(self.summary.histogram, key=str)

    @property
    def min(self) -> float:
        return self.summary.min

    @property
    def max(self) -> float:
        return self.summary.max


@dataclass
class DataInfo:
    """The data (or a bounded sample of it) split into features and labels, summarized."""

    source: str
    features: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    feature_summaries: dict[str, TensorSummary]
    label_facts: dict[str, LabelFacts]
    sampled_batches: int | None = None  # tf.data only
    exhausted: bool = True  # False when only a prefix of a dataset was read
    batch_size: int = DEFAULT_BATCH_SIZE
    raw: list[dict[str, np.ndarray]] | None = None  # tf.data: the sampled batches

    @property
    def elements(self) -> int:
        sizes = [len(a) for a in (*self.features.values(), *self.labels.values()) if a.ndim]
        return max(sizes, default=0)

    def describe(self) -> str:
        parts = [f"{n} {_shape(a)} {_dtype(a)}" for n, a in self.features.items()]
        parts += [f"{n} {_shape(a)} {_dtype(a)}" for n, a in self.labels.items()]
        sampled = ""
        if self.sampled_batches is not None:
            sampled = (f", first {self.sampled_batches} batches sampled" if not self.exhausted
                       else f", all {self.sampled_batches} batches read")
        return f"data {self.source}: {self.elements} examples ({'; '.join(parts)}{sampled})"


def _shape(arr: np.ndarray) -> str:
    return "(" + ", ".join(str(d) for d in arr.shape[1:]) + ("," if arr.ndim == 2 else "") + ")"


def _dtype(arr: np.ndarray) -> str:
    return "string" if arr.dtype.kind in "USO" else arr.dtype.name


def _array(value: Any, name: str) -> np.ndarray:
    arr = np.asarray(value) if isinstance(value, np.ndarray) else as_array(value, name)
    if arr.dtype.kind == "O":
        arr = as_array(arr, name)
    if arr.dtype.kind == "S":  # tf.data gives bytes; compare as text
        arr = np.char.decode(arr, "utf-8", errors="replace")
    return arr


def _named(part: Any, base: str, names: list[str]) -> dict[str, np.ndarray]:
    """One side of an (x, y) pair as {name: array}: a dict, a tuple of arrays, or an array."""
    if isinstance(part, Mapping):
        return {str(k): _array(v, str(k)) for k, v in part.items()}
    if isinstance(part, (tuple, list)) and len(part) > 1 and \
            all(isinstance(p, np.ndarray) for p in part):
        # Keras reads a list of arrays as one array per model input.
        return {(names[i] if i < len(names) else f"{base}{i}"): _array(p, f"{base}{i}")
                for i, p in enumerate(part)}
    return {base: _array(part, base)}


def _label_like(key: str) -> bool:
    low = key.lower()
    return low in LABEL_KEYS or low.startswith(("y_", "label"))


def split(data: Any, schema: Schema | None, input_names: list[str],
          output_names: list[str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Split user data into (features, labels) dicts of numpy arrays."""
    features: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    if schema is not None:
        if isinstance(data, (tuple, list)) and len(data) >= 2 and isinstance(data[0], Mapping) \
                and not isinstance(data[1], Mapping):
            features = _named(data[0], "x", [])
            label_name = next(iter(schema.labels), "y")
            return features, {label_name: _array(data[1], label_name)}
        parts = data[:len(schema.names())] if isinstance(data, (tuple, list)) else data
        arrays = {k: _array(v, k) for k, v in bind(schema, parts).items()}
        features = {k: v for k, v in arrays.items() if k not in schema.labels}
        return features, {k: v for k, v in arrays.items() if k in schema.labels}
    if isinstance(data, Mapping):
        features, labels = {}, {}
        for key, value in data.items():
            k = str(key)
            is_label = k in output_names or (k not in input_names and _label_like(k))
            (labels if is_label else features)[k] = _array(value, k)
        return features, labels
    if isinstance(data, (tuple, list)):
        if not data:
            raise DataError("doctor: data is an empty tuple; pass (x, y).")
        features = _named(data[0], "x", input_names)
        labels = _named(data[1], "y", output_names) if len(data) > 1 else {}
        return features, labels
    if isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        return {"x": _array(data, "x")}, {}
    raise DataError(f"doctor: cannot read data of type {type(data).__name__}: pass (x, y) numpy "
                    "arrays, a dict of arrays, a path to an .npz file, or a tf.data.Dataset.")


def read_npz(path: Path, schema: Schema | None) -> dict[str, np.ndarray]:
    """Arrays of an .npz in file order (bound to schema names when a schema is given)."""
    from datacheck.readers.npz import open_npz
    from datacheck.readers.npz import read_npz as read_bound

    # Through datacheck's own reader: headers checked against the size limits before
    # anything is inflated, never unpickled; the doctor needs whole arrays.
    members = read_bound(path, schema) if schema is not None else open_npz(path)
    return {key: np.asarray(value) for key, value in members.items()}


def npz_as_data(arrays: dict[str, np.ndarray]) -> Any:
    """Unnamed archives (``np.savez(f, x, y)``) read as (x, y); named ones as a dict."""
    if all(k.startswith("arr_") for k in arrays):
        return tuple(arrays.values())
    return arrays


def _is_batched(ds: Any, model_rank: int | None) -> bool:
    import tensorflow as tf

    leaves = tf.nest.flatten(ds.element_spec)
    shapes = [leaf.shape for leaf in leaves if hasattr(leaf, "shape")]
    if not shapes or any(s.rank is None or s.rank == 0 for s in shapes):
        return False
    firsts = {s[0] for s in shapes}
    if firsts == {None}:
        return True
    if len(firsts) > 1:
        return False
    return model_rank is not None and shapes[0].rank == model_rank + 1


def sample_dataset(ds: Any, max_batches: int, model_rank: int | None
                   ) -> tuple[list[Any], bool, int | None]:
    """Read at most ``max_batches`` batches; returns (batches, exhausted, cardinality)."""
    batched = _is_batched(ds, model_rank)
    if not batched:
        ds = ds.batch(DEFAULT_BATCH_SIZE)
    try:
        cardinality = int(ds.cardinality().numpy())
    except Exception:  # some datasets cannot say; -2 is TF's "unknown"
        cardinality = -2
    batches: list[Any] = []
    try:
        for batch in ds.take(max_batches + 1).as_numpy_iterator():
            batches.append(batch)
    except Exception as exc:  # an error inside the user's pipeline: one line, no traceback
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise DataError(f"doctor: reading the tf.data pipeline failed after {len(batches)} "
                        f"batches ({type(exc).__name__}: {first}).") from None
    exhausted = len(batches) <= max_batches
    return batches[:max_batches], exhausted, cardinality if cardinality >= 0 else None


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join per-batch dicts along the batch axis (batches of different shapes stay listed)."""
    out: dict[str, np.ndarray] = {}
    for name in parts[0] if parts else {}:
        arrays = [p[name] for p in parts if name in p]
        try:
            out[name] = np.concatenate([a if a.ndim else a.reshape(1) for a in arrays])
        except ValueError:  # ragged across batches: keep the first batch's shape group
            shape = arrays[0].shape[1:]
            out[name] = np.concatenate([a for a in arrays if a.shape[1:] == shape])
    return out


def summarize_features(features: dict[str, np.ndarray]) -> dict[str, TensorSummary]:
    out: dict[str, TensorSummary] = {}
    for name, arr in features.items():
        summary: TensorSummary | None = None
        if arr.ndim == 0:
            arr = arr.reshape(1)
        for start in range(0, max(len(arr), 1), FEATURE_CHUNK):
            part = TensorSummary.from_array(arr[start:start + FEATURE_CHUNK])
            summary = part if summary is None else summary.merge(part)
        assert summary is not None
        out[name] = summary
    return out


def label_facts(name: str, arr: np.ndarray, batch_size: int) -> LabelFacts:
    """Summarize labels batch by batch (so shuffle runs are per batch) and name their kind."""
    if arr.ndim == 0:
        arr = arr.reshape(1)
    summary = LabelSummary()
    for index, start in enumerate(range(0, max(len(arr), 1), batch_size)):
        summary = summary.merge(LabelSummary.from_array(arr[start:start + batch_size], index))
    element = tuple(int(d) for d in arr.shape[1:])
    facts = LabelFacts(name, "empty", element, _dtype(arr), summary)
    if arr.size == 0:
        return facts
    values = None if arr.dtype.kind in "USO" else arr.reshape(len(arr), -1).astype(
        np.float64, copy=False)
    soft = (values is not None and len(element) == 1 and bool(np.isfinite(values).all())
            and values.min() >= 0 and np.allclose(values.sum(axis=1), 1.0, atol=1e-3))
    facts.kind = label_kind(summary, element, is_string=values is None, rows_sum_to_one=soft)
    if values is None:
        facts.examples = [str(v) for v in list(dict.fromkeys(arr.reshape(-1)[:1000].tolist()))[:3]]
        return facts
    if element in ((), (1,)):
        flat = values[:, 0]
        if facts.kind == "sparse" and summary.nonfinite == 0:
            facts.sequence = flat.astype(np.int64)
        facts.examples = [f"{v:g}" for v in list(dict.fromkeys(flat[:1000].tolist()))[:3]]
        return facts
    if len(element) == 1:
        facts.width = element[0]
        if facts.kind in ("one_hot", "soft"):
            facts.sequence = np.argmax(values, axis=1)
    return facts


def read_data(data: Any, schema: Schema | None, input_names: list[str],
              output_names: list[str], model_rank: int | None = None,
              max_batches: int = MAX_BATCHES) -> DataInfo:
    """Read arrays, an .npz path or (a bounded sample of) a tf.data.Dataset.

    >>> info = read_data((np.zeros((4, 8, 8, 1)), np.arange(4)), None, [], [])
    >>> info.elements, info.label_facts["y"].kind
    (4, 'sparse')
    """
    from datacheck.api import is_tf_dataset

    source, sampled, exhausted, batch_size = "<array>", None, True, DEFAULT_BATCH_SIZE
    tf_batches: list[dict[str, np.ndarray]] | None = None
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise DataError(f"{path}: no such file. The doctor reads .npz files, arrays or "
                            "a tf.data.Dataset.")
        if path.suffix.lower() != ".npz":
            raise DataError(f"{path}: the doctor reads .npz files (np.savez(f, x=x, y=y)), "
                            "arrays or a tf.data.Dataset; use `datacheck check` for other files.")
        source = str(path)
        arrays = read_npz(path, schema)
        data = arrays if schema is not None else npz_as_data(arrays)
    if is_tf_dataset(data):
        source = "<tf.data>"
        raw, exhausted, _ = sample_dataset(data, max_batches, model_rank)
        if not raw:
            raise DataError("doctor: the tf.data.Dataset is empty; nothing to check.")
        parts = [split(b, schema, input_names, output_names) for b in raw]
        tf_batches = [{**f, **lab} for f, lab in parts]
        features = concat([f for f, _ in parts])
        labels = concat([lab for _, lab in parts])
        sampled = len(raw)
        first = next(iter(parts[0][1].values()), next(iter(parts[0][0].values()), None))
        batch_size = len(first) if first is not None and first.ndim else DEFAULT_BATCH_SIZE
    else:
        features, labels = split(data, schema, input_names, output_names)
    if not features and not labels:
        raise DataError("doctor: the data holds no arrays.")
    return DataInfo(
        source=source, features=features, labels=labels,
        feature_summaries=summarize_features(features),
        label_facts={n: label_facts(n, a, batch_size) for n, a in labels.items()},
        sampled_batches=sampled, exhausted=exhausted, batch_size=max(batch_size, 1),
        raw=tf_batches)


def iter_data_batches(info: DataInfo) -> Iterator[dict[str, np.ndarray]]:
    """The data as the batches fit() would see (tf.data: the sampled batches)."""
    if info.raw is not None:
        yield from info.raw
    else:
        yield from iter_batches({**info.features, **info.labels}, info.batch_size)
