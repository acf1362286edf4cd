"""A draft of one generated batch (sizes, shapes, dtypes, classes), then its arrays.

Violations edit the draft before the arrays exist (a wrong shape, a planted
value that must count in the moments, sorted classes) and may edit the arrays
afterwards (string labels, a transposed layout).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datacheck.schema.layout import channel_axis
from datacheck.schema.model import Feature, Schema
from datacheck.testing import _labels as lab
from datacheck.testing._values import (
    Infeasible,
    ValueSpec,
    feasible_specs,
    spread_elements,
    valid_values,
)

#: Guard against schemas whose valid batches would not fit in memory.
DEFAULT_MAX_VALUES = 2 ** 22


class Batch(dict[str, np.ndarray]):
    """Arrays keyed by schema name, plus how to judge them.

    ``batch_size``: cut the arrays into batches of this size (it equals the
    number of elements except for violations that need several batches, such
    as ``unshuffled``). ``code``/``feature``: the violation planted, or None.

    >>> b = Batch({"x": np.zeros((2, 3))}, batch_size=2); b.batch_size, len(b["x"])
    (2, 2)
    """

    def __init__(self, arrays: dict[str, np.ndarray], batch_size: int, code: str | None = None,
                 feature: str | None = None) -> None:
        super().__init__(arrays)
        self.batch_size = batch_size
        self.code = code
        self.feature = feature

    @property
    def size(self) -> int:
        return max((len(a) for a in self.values()), default=0)

    def batches(self) -> list[dict[str, np.ndarray]]:
        """The arrays cut into the batches they are meant to be judged as."""
        step = max(self.batch_size, 1)
        return [{k: a[i:i + step] for k, a in self.items()}
                for i in range(0, max(self.size, 1), step)]

    def __repr__(self) -> str:
        arrays = ", ".join(f"{k}={a.dtype.name}{tuple(a.shape)}" for k, a in self.items())
        planted = f", code={self.code!r}, feature={self.feature!r}" if self.code else ""
        return f"Batch({arrays}, batch_size={self.batch_size}{planted})"


@dataclass
class Draft:
    """Everything about a batch except its values."""

    schema: Schema
    rng: np.random.Generator
    style: str
    scale: float
    max_values: int = DEFAULT_MAX_VALUES
    size: int = 0
    batch_size: int = 0
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    specs: dict[str, ValueSpec] = field(default_factory=dict)
    label_values: dict[str, list[Any]] = field(default_factory=dict)
    label_dtypes: dict[str, str] = field(default_factory=dict)
    classes: dict[str, np.ndarray] = field(default_factory=dict)
    column: dict[str, bool] = field(default_factory=dict)
    omit: set[str] = field(default_factory=set)
    #: name -> [(flat position, value)] planted in a feature; finite ones count in the moments.
    fixed: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    constant: dict[str, float] = field(default_factory=dict)
    post: list[Callable[[dict[str, np.ndarray]], None]] = field(default_factory=list)

    def pick(self, options: list[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    def values_per_element(self, name: str) -> int:
        return math.prod(self.shapes[name])


def element_shape(feature: Feature, rng: np.random.Generator,
                  avoid: int | None = None) -> tuple[int, ...]:
    """A concrete element shape: fixed dims kept, wildcards drawn small (never ``avoid``)."""
    rank = feature.element_rank
    if rank is None:
        rank = int(rng.integers(0, 3))
    dims: list[int | None] = list(feature.shape) if feature.shape is not None else [None] * rank
    channels = feature.expected_channels
    if feature.layout is not None and channels is not None:
        axis = channel_axis(feature.layout)
        if axis is not None:
            dims[axis] = channels
    choices = [d for d in range(1, 6) if d != avoid]
    return tuple(int(d) if d is not None else int(rng.choice(choices)) for d in dims)


def new_draft(schema: Schema, rng: np.random.Generator, *, batch: int, style: str, scale: float,
              max_values: int = DEFAULT_MAX_VALUES, min_size: int = 1,
              dtypes: Mapping[str, str] | None = None,
              label_shapes: Mapping[str, str] | None = None) -> Draft:
    """A valid draft: shapes, dtypes, a batch size that fits every class, balanced classes.

    ``dtypes`` pins the dtype of some names and ``label_shapes`` a sparse label's
    shape (``"flat"`` or ``"column"``); values are generated in that dtype.
    """
    dtypes, label_shapes = dtypes or {}, label_shapes or {}
    draft = Draft(schema, rng, style, scale, max_values)
    for name, feature in schema.features.items():
        draft.specs[name] = draft.pick(_pinned(feasible_specs(feature, name), name, dtypes,
                                               lambda spec: spec.dtype))
        draft.shapes[name] = element_shape(feature, rng)
        if feature.optional and rng.random() < 0.2:
            draft.omit.add(name)
    multiple, fewest = 1, min_size
    for name, label in schema.labels.items():
        values, known = lab.domain(label)
        draft.label_values[name] = values
        draft.label_dtypes[name] = draft.pick(_pinned(lab.label_dtypes(label, name, values),
                                                      name, dtypes, str))
        draft.column[name] = label.encoding == "sparse" and bool(rng.random() < 0.3)
        if name in label_shapes:
            draft.column[name] = label_shapes[name] == "column"
        if known:
            fewest = max(fewest, len(values))
            if label.min_class_fraction is not None:
                multiple = math.lcm(multiple, len(values))
    size = max(batch, fewest)
    size = -(-size // multiple) * multiple
    widest = _widest(draft)
    if size * widest > max_values:
        if multiple > 1 or widest > max_values:
            raise Infeasible(f"schema {schema.name!r}: a valid batch needs {size} elements of "
                             f"{widest} values, more than max_values={max_values}; raise "
                             "max_values.")
        size = max(min_size, max_values // widest)
    draft.size = draft.batch_size = size
    for name in schema.labels:
        assign_labels(draft, name)
    return draft


def _pinned(options: list[Any], name: str, dtypes: Mapping[str, str],
            dtype_of: Callable[[Any], str]) -> list[Any]:
    """The options whose dtype is the pinned one for ``name`` (all of them if none is pinned)."""
    if name not in dtypes:
        return options
    wanted = np.dtype(dtypes[name])
    kept = [o for o in options if dtype_of(o) != "string" and np.dtype(dtype_of(o)) == wanted]
    if not kept:
        allowed = ", ".join(dtype_of(o) for o in options)
        raise Infeasible(f"{name}: pinned dtype {wanted.name} is not one the schema allows for "
                         f"valid values ({allowed})")
    return kept


def assign_labels(draft: Draft, name: str, counts: np.ndarray | None = None,
                  extra: int = 0) -> None:
    """Shuffled near-balanced classes for ``draft.size - extra`` elements, ``-1`` for the rest."""
    label = draft.schema.labels[name]
    n = len(draft.label_values[name])
    if counts is None:
        counts = lab.balanced_counts(n, draft.size - extra, draft.rng)
        if not lab.fractions_ok(label, counts):
            raise Infeasible(f"{name}: {draft.size - extra} elements cannot meet "
                             f"min_class_fraction {label.min_class_fraction} over {n} classes")
    idx = lab.assignment(counts, draft.rng)
    draft.classes[name] = draft.rng.permutation(np.concatenate([idx, np.full(extra, -1)]))


def _widest(draft: Draft) -> int:
    """Values per element of the widest feature or label (at least 1: labels count too)."""
    labels = [max(len(v), 1) for v in draft.label_values.values()]
    return max([1, *labels, *(draft.values_per_element(n) for n in draft.schema.features)])


def resize(draft: Draft, size: int, skip: str | None = None) -> None:
    """Change the element count (re-balancing every label but ``skip``) within the guard."""
    widest = _widest(draft)
    if size * widest > draft.max_values:
        raise Infeasible(f"schema {draft.schema.name!r}: this violation needs {size} elements "
                         f"of {widest} values, more than max_values={draft.max_values}")
    draft.size = draft.batch_size = size
    for name in draft.schema.labels:
        if name != skip:
            assign_labels(draft, name)


def feature_values(draft: Draft, name: str) -> np.ndarray:
    spec = draft.specs[name]
    shape = (draft.size, *draft.shapes[name])
    total = math.prod(shape)
    if name in draft.constant:
        return np.full(shape, draft.constant[name], dtype=spec.dtype)
    step = draft.batch_size
    if step < draft.size and name not in draft.fixed:
        # Each batch on its own must hold (a batch is judged alone for constancy).
        per = step * math.prod(draft.shapes[name])
        parts = [valid_values(spec, min(per, total - start), draft.rng, style=draft.style,
                              scale=draft.scale) for start in range(0, total, per)]
        flat = np.concatenate(parts) if parts else np.zeros(0, spec.dtype)
        return spread_elements(flat.reshape(shape), spec, draft.rng, regroup=step)
    planted = draft.fixed.get(name, [])
    positions = np.array([p for p, _ in planted], dtype=np.int64)
    values = np.array([v for _, v in planted], dtype=np.float64)
    free = valid_values(spec, total - len(planted), draft.rng, style=draft.style,
                        scale=draft.scale, fixed=values)
    if not planted:
        return spread_elements(free.reshape(shape), spec, draft.rng, regroup=shape[0])
    out = np.empty(total, dtype=free.dtype)
    mask = np.ones(total, dtype=bool)
    mask[positions] = False
    out[mask] = free
    out[positions] = values.astype(free.dtype)
    return spread_elements(out.reshape(shape), spec, draft.rng)


def materialize(draft: Draft, code: str | None = None, feature: str | None = None) -> Batch:
    arrays: dict[str, np.ndarray] = {}
    for name in draft.schema.features:
        if name not in draft.omit:
            arrays[name] = feature_values(draft, name)
    for name, label in draft.schema.labels.items():
        if name in draft.omit:
            continue
        arrays[name] = lab.encode(label, draft.label_values[name], draft.classes[name],
                                  draft.label_dtypes[name], column=draft.column[name],
                                  rng=draft.rng)
    for edit in draft.post:
        edit(arrays)
    return Batch(arrays, draft.batch_size, code, feature)
