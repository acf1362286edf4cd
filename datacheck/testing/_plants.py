"""Plant exactly one broken rule in a valid draft.

``APPLIES[code](schema, name)`` says, from the schema alone, whether ``name``
can break ``code`` without breaking anything else; ``PLANTS[code](draft, name)``
edits a valid draft so that it does. A plant that a particular draw cannot
satisfy raises ``Infeasible`` (the strategy then rejects the draw).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from datacheck.schema.dtypes import dtype_matches
from datacheck.schema.layout import alternative_layout, channel_axis, permutation
from datacheck.schema.model import Schema
from datacheck.testing import _labels as lab
from datacheck.testing._build import Draft, element_shape
from datacheck.testing._label_plants import (
    WRONG_NUMERIC,
    _encoding_options,
    _plant_label_dtype,
    _plant_label_rank,
    _range_values,
    _wrong_label_dtypes,
    plant_class_balance,
    plant_label_encoding,
    plant_label_range,
    plant_num_classes,
    plant_unshuffled,
)
from datacheck.testing._values import (
    FLOATS,
    Infeasible,
    ValueSpec,
    feasible_specs,
    outside_values,
    shifted,
    value_spec,
)


# -- features ----------------------------------------------------------------------------
def _specs(schema: Schema, name: str) -> list[ValueSpec]:
    try:
        return [s for s in feasible_specs(schema.features[name], name) if s.dtype != "string"]
    except Infeasible:
        return []


def _use(draft: Draft, name: str, spec: ValueSpec) -> None:
    draft.specs[name] = spec
    draft.omit.discard(name)


def _flat_position(draft: Draft, name: str) -> int:
    total = draft.size * draft.values_per_element(name)
    if total == 0:
        raise Infeasible(f"{name}: the drawn batch holds no values")
    return int(draft.rng.integers(total))


def plant_rank(draft: Draft, name: str) -> None:
    shape = draft.shapes[name]
    draft.shapes[name] = (*shape, 2) if not shape or draft.rng.random() < 0.5 else shape[:-1]
    draft.omit.discard(name)


def _expected_dims(schema: Schema, name: str) -> list[int | None]:
    feature = schema.features[name]
    dims: list[int | None] = list(feature.shape) if feature.shape is not None else [None] * (
        feature.element_rank or 0)
    axis = channel_axis(feature.layout) if feature.layout else None
    if axis is not None and feature.expected_channels is not None:
        dims[axis] = feature.expected_channels
    return dims


def plant_shape(draft: Draft, name: str) -> None:
    feature = draft.schema.features[name]
    dims = _expected_dims(draft.schema, name)
    c_axis = channel_axis(feature.layout) if feature.layout else None
    fixed = [i for i, d in enumerate(dims) if d is not None]
    axis = draft.pick([i for i in fixed if i != c_axis] or fixed)
    shape = list(draft.shapes[name])
    old = shape[axis]
    shape[axis] = old - 1 if old >= 2 and draft.rng.random() < 0.5 else old + 1
    if axis == c_axis and feature.layout is not None:
        # Keep it a plain shape error: the C dim must not also look like the other layout.
        alt_axis = channel_axis(alternative_layout(feature.layout) or "")
        if alt_axis is not None and shape[alt_axis] == feature.expected_channels:
            if dims[alt_axis] is not None:
                raise Infeasible(f"{name}: every wrong channel count looks transposed")
            shape[alt_axis] = feature.expected_channels + 1  # type: ignore[operator]
    draft.shapes[name] = tuple(shape)
    draft.omit.discard(name)


def _layout_perm(schema: Schema, name: str) -> tuple[int, ...] | None:
    feature = schema.features[name]
    layout = feature.layout
    if layout is None or "C" not in layout or len(layout) < 2 or \
            feature.expected_channels is None:
        return None
    return permutation(layout, alternative_layout(layout) or layout)


def plant_layout(draft: Draft, name: str) -> None:
    feature = draft.schema.features[name]
    perm = _layout_perm(draft.schema, name)
    assert perm is not None and feature.layout is not None
    channels = feature.expected_channels
    c_axis = channel_axis(feature.layout)
    shape = element_shape(feature, draft.rng, avoid=channels)
    moved = tuple(shape[p - 1] for p in perm[1:])
    if c_axis is None or moved[c_axis] == channels:
        raise Infeasible(f"{name}: the transposed shape still has {channels} on the C axis")
    draft.shapes[name] = shape
    draft.omit.discard(name)
    draft.post.append(lambda arrays: arrays.__setitem__(name, np.transpose(arrays[name], perm)))


def _wrong_feature_dtypes(schema: Schema, name: str) -> list[str]:
    feature = schema.features[name]
    allowed = feature.dtypes()
    if allowed is None:
        return []
    moments = any(m is not None for m in feature.expected_moments())
    options = [d for d in (*WRONG_NUMERIC, "string") if not dtype_matches(d, allowed)]
    # Integers would break a declared mean/std too; strings carry no moments at all.
    return [d for d in options if not moments or d in FLOATS or d == "string"]


def plant_dtype(draft: Draft, name: str) -> None:
    if name in draft.schema.labels:
        return _plant_label_dtype(draft, name)
    feature = draft.schema.features[name]
    dtype = draft.pick(_wrong_feature_dtypes(draft.schema, name))
    mean, std = feature.expected_moments()
    spec = value_spec(feature, dtype) or ValueSpec(dtype, None, None, mean, std,
                                                  feature.tolerance, False)
    _use(draft, name, spec)


def _outside(schema: Schema, name: str) -> list[tuple[ValueSpec, float]]:
    if schema.features[name].value_range() is None:
        return []
    return [(s, v) for s in _specs(schema, name) for v in outside_values(s)]


def plant_range(draft: Draft, name: str) -> None:
    spec, value = draft.pick(_outside(draft.schema, name))
    _use(draft, name, spec)
    draft.fixed[name] = [(_flat_position(draft, name), value)]


def _float_specs(schema: Schema, name: str) -> list[ValueSpec]:
    feature = schema.features[name]
    if not (feature.finite or feature.value_range() is not None):
        return []
    return [s for s in _specs(schema, name) if s.dtype in FLOATS]


def plant_nonfinite(draft: Draft, name: str) -> None:
    _use(draft, name, draft.pick(_float_specs(draft.schema, name)))
    draft.fixed[name] = [(_flat_position(draft, name), draft.pick([np.nan, np.inf, -np.inf]))]


def _constant_options(schema: Schema, name: str) -> list[tuple[ValueSpec, float]]:
    feature = schema.features[name]
    if not feature.not_constant or feature.expected_moments()[1] is not None:
        return []
    if any(d == 0 for d in feature.shape or []) or _multi_value_shape(feature, ()) is None:
        return []
    out = []
    for spec in _specs(schema, name):
        lo = spec.lo if spec.lo is not None else (spec.hi - 1 if spec.hi is not None else 0.0)
        hi = spec.hi if spec.hi is not None else lo + 1
        target = spec.mean if spec.mean is not None else lo / 2 + hi / 2
        value = float(np.asarray(np.clip(target, lo, hi)).astype(
            spec.dtype if spec.dtype != "bool" else "uint8"))
        close = spec.mean is None or abs(value - spec.mean) <= spec.tolerance / 2
        if lo <= value <= hi and close:
            out.append((spec, value))
    return out


def _multi_value_shape(feature: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """An element shape holding at least two values (constancy is judged per element).

    ``shape`` if it already does; else a wildcard dim set to 2; None if the schema fixes
    every dim to a one-value element.
    """
    if shape and int(np.prod(shape)) >= 2:
        return shape
    rank = feature.element_rank
    if rank is None:
        return (2,)
    dims = list(feature.shape) if feature.shape is not None else [None] * rank
    axis = channel_axis(feature.layout) if feature.layout is not None else None
    if axis is not None and feature.expected_channels is not None:
        dims[axis] = feature.expected_channels
    if any(d is not None and d >= 2 for d in dims):
        return tuple(d if d is not None else 1 for d in dims)
    for i, d in enumerate(dims):
        if d is None:
            return tuple(2 if j == i else (e if e is not None else 1) for j, e in enumerate(dims))
    return None


def plant_constant(draft: Draft, name: str) -> None:
    spec, value = draft.pick(_constant_options(draft.schema, name))
    _use(draft, name, spec)
    shape = _multi_value_shape(draft.schema.features[name], draft.shapes[name])
    if shape is None:  # pragma: no cover - _constant_options refuses such features
        raise Infeasible(f"{name}: elements hold one value; none can be constant")
    draft.shapes[name] = shape
    draft.constant[name] = value


def plant_unnormalized(draft: Draft, name: str) -> None:
    _use(draft, name, shifted(draft.pick(_specs(draft.schema, name)), draft.rng))


def plant_missing_feature(draft: Draft, name: str) -> None:
    # Keep one other array: with no arrays at all there is no batch to report it in.
    others = [n for n in draft.schema.names() if n != name]
    draft.omit = {n for n in draft.omit if n != others[0]} | {name}


def _feature(test: Callable[[Schema, str], Any]) -> Callable[[Schema, str], bool]:
    return lambda schema, name: name in schema.features and bool(test(schema, name))


def _label(test: Callable[[Schema, str], Any]) -> Callable[[Schema, str], bool]:
    return lambda schema, name: name in schema.labels and bool(test(schema, name))


def _either(feature: Callable[[Schema, str], Any],
            label: Callable[[Schema, str], Any]) -> Callable[[Schema, str], bool]:
    return lambda schema, name: _feature(feature)(schema, name) or _label(label)(schema, name)


def _rank_plant(draft: Draft, name: str) -> None:
    if name in draft.schema.labels:
        return _plant_label_rank(draft, name)
    plant_rank(draft, name)


def _optional(schema: Schema, name: str) -> bool:
    return (schema.features.get(name) or schema.labels[name]).optional


def _fixed_dims(schema: Schema, name: str) -> bool:
    return any(d is not None for d in _expected_dims(schema, name))


def _labels_with_balance(schema: Schema, name: str) -> bool:
    label = schema.labels[name]
    values, known = lab.domain(label)
    return known and len(values) >= 2 and bool(label.min_class_fraction)


def _missing_class(schema: Schema, name: str) -> bool:
    label = schema.labels[name]
    values, known = lab.domain(label)
    if label.encoding in ("one_hot", "multi_hot"):
        return True
    return known and len(values) >= 2 and label.min_class_fraction is None


APPLIES: dict[str, Callable[[Schema, str], bool]] = {
    "rank": _either(lambda s, n: s.features[n].element_rank is not None,
                    lambda s, n: s.labels[n].encoding == "sparse"),
    "shape": _feature(_fixed_dims),
    "layout": _feature(_layout_perm),
    "dtype": _either(_wrong_feature_dtypes, _wrong_label_dtypes),
    "range": _feature(_outside),
    "nonfinite": _feature(_float_specs),
    "constant": _feature(_constant_options),
    "unnormalized": _feature(lambda s, n: _specs(s, n) and any(
        m is not None for m in s.features[n].expected_moments())),
    "missing_feature": lambda s, n: not _optional(s, n) and len(s.names()) >= 2,
    "label_encoding": _label(lambda s, n: _encoding_options(s, n)),
    "label_range": _label(_range_values),
    "num_classes": _label(_missing_class),
    "class_balance": _label(_labels_with_balance),
    "unshuffled": _label(lambda s, n: s.labels[n].shuffle_window is not None),
}

PLANTS: dict[str, Callable[[Draft, str], None]] = {
    "rank": _rank_plant, "shape": plant_shape, "layout": plant_layout, "dtype": plant_dtype,
    "range": plant_range, "nonfinite": plant_nonfinite, "constant": plant_constant,
    "unnormalized": plant_unnormalized, "missing_feature": plant_missing_feature,
    "label_encoding": plant_label_encoding, "label_range": plant_label_range,
    "num_classes": plant_num_classes, "class_balance": plant_class_balance,
    "unshuffled": plant_unshuffled,
}

#: Codes that are warnings when planted this way (the data still passes).
WARNING_CODES = {"num_classes": lambda schema, name: schema.labels[name].encoding in (
    "sparse", "string")}
