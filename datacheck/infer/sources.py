"""Turn data (arrays, tuples, dicts, tf.data, files, folders) into named batches without a schema.

Inference, drift and duplicate detection all read data before any schema
exists, so they share this module. Names come from dict keys; positional
parts (tuples, ``np.savez(f, x, y)``) are named by what they look like:
``image``/``volume``/``x`` for features, ``label`` for the trailing parts
that look like class labels (so ``dc.check`` binds them the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from datacheck.data import DEFAULT_BATCH_SIZE, as_array, iter_batches, merge_parts
from datacheck.errors import DataError

if TYPE_CHECKING:
    from datacheck.report.report import InputStatus

#: Names that mark a dict entry as a label whatever its values look like.
LABEL_NAMES = frozenset({"label", "labels", "y", "target", "targets", "class", "classes",
                         "category", "categories", "diagnosis", "class_id"})
#: Channel axis sizes we recognize (grey, RGB, RGBA; 2 for dual-echo/multi-modal volumes).
CHANNEL_SIZES = (1, 2, 3, 4)


@dataclass
class Batch:
    """Aligned arrays of one batch, where they came from and the index of the first element.

    ``headers`` maps a name to ``{(field, value): count}`` read from file headers
    (orientation, spacing); ``single`` says the source file is this one element.
    """

    arrays: dict[str, np.ndarray]
    source: str
    offset: int = 0
    headers: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    single: bool = False


@dataclass
class Source:
    """Named batches of one dataset. ``positional``: names were given by position."""

    names: list[str]
    positional: bool
    batches: Iterator[Batch]
    description: str
    #: Schema sections the reader knows (e.g. ``hdf5`` dataset paths), for inference.
    sections: dict[str, Any] = field(default_factory=dict)
    #: Each input file -> "ok" or "unreadable", filled in as ``batches`` is consumed.
    inputs: dict[str, InputStatus] = field(default_factory=dict)
    #: Each unreadable input -> the violation that says why (the read went on without it).
    problems: dict[str, Any] = field(default_factory=dict)


def integer_like(arr: np.ndarray) -> bool:
    if arr.dtype.kind in "biu":
        return True
    if arr.dtype.kind != "f":
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isfinite(arr) & (np.floor(arr) == arr)))


def looks_like_label(batch: np.ndarray) -> bool:
    """Decide from one batch whether a positional part holds class labels."""
    element = batch.shape[1:]
    if batch.dtype.kind in "USO":
        return len(element) <= 1
    if batch.dtype.kind not in "biuf" or len(element) > 1:
        return False
    if len(element) == 0 or element == (1,):
        return integer_like(batch)
    rows = batch.reshape(batch.shape[0], -1)
    # A vector per element is a label only when every row is one-hot (0/1, one 1).
    return bool(rows.size and np.all((rows == 0) | (rows == 1)) and np.all(rows.sum(axis=1) == 1))


def guess_layout(dims: Sequence[int | None]) -> str | None:
    """Layout from an element shape: a channel axis of size 1-4 last (preferred) or first.

    >>> guess_layout([32, 32, 3]), guess_layout([3, 32, 32]), guess_layout([33, 41, 25])
    ('HWC', 'CHW', 'DHW')
    """
    rank = len(dims)
    if rank == 2:
        return "HW"
    if rank not in (3, 4):
        return None
    last, first = dims[-1] in CHANNEL_SIZES, dims[0] in CHANNEL_SIZES
    spatial = "HW" if rank == 3 else "DHW"
    if last:
        return spatial + "C"
    if first:
        return "C" + spatial
    return "DHW" if rank == 3 else None


def feature_name(element: tuple[int, ...]) -> str:
    layout = guess_layout(element)
    if layout is None:
        return "volume" if len(element) >= 4 else "x"
    return "volume" if "D" in layout else "image"


def positional_names(parts: Sequence[np.ndarray]) -> list[str]:
    """Names for positional parts: features first, then the trailing label-like parts."""
    n_labels = 0
    for part in reversed(parts[1:]):
        if not looks_like_label(part):
            break
        n_labels += 1
    names: list[str] = []
    for index, part in enumerate(parts):
        base = "label" if index >= len(parts) - n_labels else feature_name(part.shape[1:])
        name, k = base, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


def open_source(data: Any, *, batch_size: int = DEFAULT_BATCH_SIZE,
                batched: bool | None = None) -> Source:
    """Named batches of ``data``: arrays, tuples/dicts of arrays, a tf.data.Dataset or paths.

    >>> src = open_source((np.zeros((4, 8, 8)), np.arange(4)))
    >>> src.names
    ['image', 'label']
    """
    from datacheck.api import is_tf_dataset
    from datacheck.infer.manifest import ManifestSplit, open_manifest

    if isinstance(data, ManifestSplit):
        return open_manifest(data.path, None, batch_size, split=data.split)
    if isinstance(data, (str, Path)) or (
            isinstance(data, Sequence) and not isinstance(data, (str, bytes)) and data
            and all(isinstance(p, (str, Path)) for p in data)):
        from datacheck.infer.files import open_paths

        return open_paths([data] if isinstance(data, (str, Path)) else list(data), batch_size)
    if is_tf_dataset(data):
        return _open_dataset(data, batch_size, batched)
    names, positional, arrays = _bind_arrays(data)
    return Source(names, positional, (Batch(b, "<array>", i * batch_size) for i, b in
                                      enumerate(iter_batches(arrays, batch_size))), "<array>")


def _bind_arrays(data: Any) -> tuple[list[str], bool, dict[str, np.ndarray]]:
    if isinstance(data, Mapping):
        arrays = {str(k): as_array(v, str(k)) for k, v in data.items()}
        return list(arrays), False, arrays
    if isinstance(data, (tuple, list)):
        if data and all(isinstance(p, Mapping) for p in data):
            merged: dict[str, np.ndarray] = {}
            for part in data:
                merged.update(_bind_arrays(part)[2])
            return list(merged), False, merged
        parts = [as_array(p, f"part {i}") for i, p in enumerate(data)]
        if not parts:
            raise DataError("data is an empty tuple: pass arrays, e.g. (x, y)")
        names = positional_names([p if p.ndim else p.reshape(1) for p in parts])
        return names, True, dict(zip(names, parts, strict=True))
    if isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        arr = as_array(data, "data")
        name = feature_name(arr.shape[1:])
        return [name], True, {name: arr}
    raise DataError(
        f"cannot read data of type {type(data).__name__}: pass a dict or tuple of numpy "
        "arrays, a tf.data.Dataset, or paths (.npz, .nii/.nii.gz, .h5, a manifest .csv, a folder).")


def _open_dataset(dataset: Any, batch_size: int, batched: bool | None) -> Source:
    import tensorflow as tf

    spec = dataset.element_spec
    leaves = tf.nest.flatten(spec)
    if any(not isinstance(s, tf.TensorSpec) for s in leaves):
        raise DataError(f"dataset elements must be tensors, tuples or dicts of tensors (got "
                        f"{spec}); ragged/sparse components are not supported yet.")
    if batched is None:
        batched = _detect_batched(leaves)
    if not batched:
        dataset = dataset.batch(batch_size)
    iterator = dataset.as_numpy_iterator()
    try:
        first = next(iterator, None)
    except tf.errors.OpError as exc:
        raise DataError(f"the dataset failed on its first element: "
                        f"{exc.message.splitlines()[0]}") from None
    if first is None:
        raise DataError("the dataset is empty: nothing to infer from")
    to_named, names, positional = _dataset_namer(spec, first)

    def batches() -> Iterator[Batch]:
        offset, element = 0, first
        while element is not None:
            arrays = {k: np.asarray(v) for k, v in to_named(element).items()}
            yield Batch(arrays, "<dataset>", offset)
            offset += max((a.shape[0] if a.ndim else 1 for a in arrays.values()), default=0)
            try:
                element = next(iterator, None)
            except tf.errors.OpError as exc:
                raise DataError(f"the dataset failed while being read at element {offset}: "
                                f"{exc.message.splitlines()[0]}") from None

    return Source(names, positional, batches(), "<dataset>")


def _detect_batched(leaves: list[Any]) -> bool:
    # An unknown leading dim means batches; a scalar component means single elements.
    if any(s.shape.rank and s.shape[0] is None for s in leaves):
        return True
    if any(s.shape.rank == 0 for s in leaves):
        return False
    leading = {s.shape[0] for s in leaves}
    return len(leaves) > 1 and len(leading) == 1


def _dataset_namer(spec: Any, first: Any) -> tuple[Callable[[Any], dict[str, Any]], list[str],
                                                       bool]:
    if isinstance(spec, Mapping):
        return (lambda e: dict(e)), [str(k) for k in spec], False
    if isinstance(spec, tuple):
        if spec and all(isinstance(p, Mapping) for p in spec):
            return merge_parts, list(merge_parts(spec)), False
        names = positional_names([np.asarray(p) for p in first])
        return (lambda e: dict(zip(names, e, strict=True))), names, True
    name = feature_name(np.asarray(first).shape[1:])
    return (lambda e: {name: e}), [name], True
