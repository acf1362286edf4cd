"""Plant exactly one broken rule in a label (the label half of ``_plants``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from datacheck.schema.dtypes import dtype_matches
from datacheck.schema.model import Schema
from datacheck.testing import _labels as lab
from datacheck.testing._build import Draft, assign_labels, resize
from datacheck.testing._values import FLOATS, Infeasible, concrete_dtypes

WRONG_NUMERIC = ("float64", "float32", "int64", "int32", "uint8", "int16", "float16", "bool")


def _floats_allowed(schema: Schema, name: str) -> list[str]:
    allowed = schema.labels[name].dtypes()
    return [d for d in concrete_dtypes(allowed, default=FLOATS) if d in FLOATS]


def _encoding_options(schema: Schema, name: str) -> list[str]:
    label = schema.labels[name]
    values, _ = lab.domain(label)
    spread = len(values) >= 2
    if label.encoding == "string":
        return ["ids"]
    if label.encoding == "sparse":
        # With classes like [3, 7] one-hot rows would read as ids 0..n-1 in the histogram.
        ranged = label.integer_classes() is None
        fraction = _floats_allowed(schema, name) and ranged and spread
        return ["strings"] + (["one_hot"] if ranged else []) + (["fraction"] if fraction else [])
    options = ["ids"] + (["soft"] if _floats_allowed(schema, name) and spread else [])
    if label.encoding == "one_hot":
        return options + (["double"] if spread else [])
    return options + (["two"] if spread and draft_dtypes_nonbool(schema, name) else [])


def draft_dtypes_nonbool(schema: Schema, name: str) -> list[str]:
    allowed = concrete_dtypes(schema.labels[name].dtypes(), default=("float32",))
    return [d for d in allowed if d not in ("bool", "string")]


def _row_below_top(draft: Draft, name: str) -> int:
    top = len(draft.label_values[name]) - 1
    rows = np.flatnonzero((draft.classes[name] >= 0) & (draft.classes[name] < top))
    if rows.size == 0:
        raise Infeasible(f"{name}: no element whose class is below the last one")
    return int(draft.pick(list(rows)))


def plant_label_encoding(draft: Draft, name: str) -> None:
    option = draft.pick(_encoding_options(draft.schema, name))
    draft.omit.discard(name)
    idx = draft.classes[name]
    width = max(len(draft.label_values[name]), 2)
    edit: Callable[[np.ndarray], np.ndarray]
    if option in ("soft", "fraction"):
        draft.label_dtypes[name] = draft.pick(_floats_allowed(draft.schema, name))
    if option == "two":
        draft.label_dtypes[name] = draft.pick(draft_dtypes_nonbool(draft.schema, name))
    if option == "strings":
        edit = lambda y: y.astype(str)
    elif option == "one_hot":
        edit = lambda y: np.eye(width, dtype=np.float32)[np.where(idx < 0, 0, idx)]
    elif option == "ids":
        edit = lambda y: np.where(idx < 0, 0, idx).astype(np.int64)
    else:
        row = _row_below_top(draft, name)
        cls = int(idx[row])

        def edit(y: np.ndarray) -> np.ndarray:
            y = y.copy()
            if option == "fraction":
                y[row] = y[row] + 0.5
            elif option == "soft" and draft.schema.labels[name].encoding == "one_hot":
                y[row] = y[row] * 0.9 + 0.1 / y.shape[1]
            elif option == "soft":
                y[row, cls + 1] = 0.5  # after the class bit, so argmax keeps the class
            elif option == "double":
                y[row, cls + 1] = 1
            else:
                y[row, cls] = 2
            return y
    draft.post.append(lambda arrays: arrays.__setitem__(name, edit(arrays[name])))


def _range_values(schema: Schema, name: str) -> list[tuple[Any, str]]:
    label = schema.labels[name]
    values, known = lab.domain(label)
    if not known or label.encoding not in ("sparse", "string"):
        return []
    if label.encoding == "string":
        allowed = concrete_dtypes(label.dtypes(), default=("string",))
        return [("zz-not-a-class", "string")] if "string" in allowed else []
    ints = [int(v) for v in values]
    bad = [max(ints) + 1, min(ints) - 1]
    bad += [v for v in range(min(ints) + 1, max(ints)) if v not in ints][:1]
    dtypes = concrete_dtypes(label.dtypes(), default=("int64", "int32"))
    return [(v, d) for v in bad for d in dtypes if d != "string" and lab.holds(d, [*ints, v])]


def _others_need(draft: Draft, name: str) -> int:
    """Elements the other labels need so that each of their classes occurs."""
    return max([1, *(len(v) for other, v in draft.label_values.items()
                     if other != name and lab.domain(draft.schema.labels[other])[1])])


def _grow(draft: Draft, name: str, size: int) -> None:
    """Resize for a plant on label ``name`` (the other labels are re-balanced)."""
    resize(draft, size, skip=name)


def plant_label_range(draft: Draft, name: str) -> None:
    value, dtype = draft.pick(_range_values(draft.schema, name))
    draft.label_dtypes[name] = dtype
    draft.omit.discard(name)
    _grow(draft, name, draft.size + 1)
    assign_labels(draft, name, extra=1)
    slot = draft.classes[name] < 0

    def edit(arrays: dict[str, np.ndarray]) -> None:
        y = arrays[name].astype(object)
        y[slot] = value
        arrays[name] = y.astype(str) if dtype == "string" else y.astype(dtype)

    draft.post.append(edit)


def plant_num_classes(draft: Draft, name: str) -> None:
    label = draft.schema.labels[name]
    draft.omit.discard(name)
    if label.encoding in ("one_hot", "multi_hot"):
        draft.post.append(lambda arrays: arrays.__setitem__(name, np.concatenate(
            [arrays[name], np.zeros((len(arrays[name]), 1), arrays[name].dtype)], axis=1)))
        return
    n = len(draft.label_values[name])
    counts = lab.balanced_counts(n - 1, draft.size, draft.rng)
    missing = int(draft.rng.integers(n))
    assign_labels(draft, name, counts=np.insert(counts, missing, 0))


def plant_class_balance(draft: Draft, name: str) -> None:
    label = draft.schema.labels[name]
    n = len(draft.label_values[name])
    k = lab.min_count_for_imbalance(label, n)
    assert k is not None
    # More copies of the common classes keep the rare one rare and let other labels fit.
    k = max(k, -(-(_others_need(draft, name) - 1) // (n - 1)))
    _grow(draft, name, 1 + (n - 1) * k)
    counts = np.full(n, k, dtype=np.int64)
    counts[int(draft.rng.integers(n))] = 1
    assign_labels(draft, name, counts=counts)
    draft.omit.discard(name)


def plant_unshuffled(draft: Draft, name: str) -> None:
    window = draft.schema.labels[name].shuffle_window
    assert window is not None
    n = len(draft.label_values[name])
    per_batch = int(draft.rng.integers(2, 5))  # a batch of one element proves no order
    per_batch = max(per_batch, -(-_others_need(draft, name) // (n * window)))
    _grow(draft, name, n * window * per_batch)
    draft.classes[name] = np.repeat(np.arange(n), window * per_batch)
    draft.batch_size = per_batch
    draft.omit.discard(name)


def _wrong_label_dtypes(schema: Schema, name: str) -> list[str]:
    label = schema.labels[name]
    allowed = label.dtypes()
    if allowed is None or label.encoding == "string":
        return []
    values, _ = lab.domain(label)
    wrong = [d for d in WRONG_NUMERIC if not dtype_matches(d, allowed)]
    if label.encoding == "sparse":
        return [d for d in wrong if lab.holds(d, values)]
    return wrong


def _plant_label_dtype(draft: Draft, name: str) -> None:
    draft.label_dtypes[name] = draft.pick(_wrong_label_dtypes(draft.schema, name))
    draft.omit.discard(name)


def _plant_label_rank(draft: Draft, name: str) -> None:
    draft.omit.discard(name)
    draft.post.append(lambda arrays: arrays.__setitem__(
        name, arrays[name].reshape(len(arrays[name]), 1, 1)))
