"""Segmentation label maps: one class id per pixel (voxel), shaped like its image.

A label map (``encoding: label_map``) is judged like sparse labels on every
pixel (whole numbers in the declared class set, per element), plus its own
structure (its rank, one channel at most) and the pair rule that its spatial
shape equals its image's. An all-background mask is not an error unless the
schema opts in with ``min_foreground_fraction``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from datacheck.rules.base import (
    ELEMENTS,
    WHERE,
    Check,
    Finding,
    all_of,
    esc,
    fmt_shape,
    static_template,
)
from datacheck.rules.structure import dtype_checks
from datacheck.rules.views import LabelView
from datacheck.schema.dtypes import dtype_matches
from datacheck.schema.layout import channel_axis
from datacheck.schema.model import Label, Schema


def _static(name: str, code: str, message: str, observed: Any, expected: Any) -> Check:
    finding = Finding(code, np.True_, static_template(message), observed=observed,
                      expected=expected)
    return Check(name, np.False_, lambda: [finding], static=True)


def label_map_static_checks(name: str, label: Label, shape: tuple[Any, ...],
                            dtype: str) -> list[Check]:
    """Rank, channel axis and dtype of a label map, from shape and dtype alone."""
    element = shape[1:]
    if dtype_matches(dtype, ["string"]):
        return [_static(name, "label_encoding",
                        f"{name}: label_encoding: a label map holds integer class ids, got "
                        f"strings in {WHERE}. Map names to ids (keras.layers.StringLookup).",
                        dtype, "integer class ids")]
    layout = label.layout
    if layout is not None and len(element) != len(layout):
        hint = ("a one-hot mask? Take tf.argmax(y, -1)" if len(element) == len(layout) + 1
                else "was it batched twice, or not batched?")
        return [_static(name, "rank",
                        f"{name}: rank: label map element shape {fmt_shape(element)} has rank "
                        f"{len(element)} but layout {layout} needs {len(layout)} in {WHERE}; "
                        f"{hint}", fmt_shape(element), len(layout))]
    axis = channel_axis(layout) if layout is not None else None
    if axis is not None and isinstance(element[axis], (int, np.integer)) and element[axis] != 1:
        return [_static(name, "shape",
                        f"{name}: shape: a label map holds one class id per pixel, but its C "
                        f"axis has {int(element[axis])} channels in {WHERE}. One-hot masks: "
                        "tf.argmax(y, -1); or declare encoding: multi_hot per pixel elsewhere.",
                        fmt_shape(element), "C = 1")]
    return dtype_checks(name, label.dtypes(), dtype, " for a label map")


def _spatial(shape: tuple[Any, ...], layout: str | None, rank: int | None) -> tuple[Any, ...]:
    """Spatial dims of an element: drop its C axis (per layout, else a trailing 1)."""
    if layout is not None:
        axis = channel_axis(layout)
        return tuple(d for i, d in enumerate(shape) if i != axis)
    if rank is not None and len(shape) == rank + 1 and shape[-1] == 1:
        return tuple(shape[:-1])
    return tuple(shape)


def _image_of(schema: Schema, label: Label) -> str | None:
    return label.image or next(iter(schema.features), None)


def label_map_pair_checks(schema: Schema, shapes: dict[str, tuple[Any, ...]]) -> list[Check]:
    """Each label map's spatial shape must equal its image's (dims may be tensors)."""
    checks: list[Check] = []
    for name, label in schema.labels.items():
        image = _image_of(schema, label)
        if label.encoding != "label_map" or image is None or name not in shapes \
                or image not in shapes:
            continue
        feature = schema.features[image]
        seen = _spatial(shapes[image][1:], feature.layout, None)
        mine = _spatial(shapes[name][1:], label.layout, len(seen))
        if len(seen) != len(mine):
            checks.append(_static(
                name, "shape",
                f"{name}: shape: label map {fmt_shape(mine)} and image {image!r} "
                f"{fmt_shape(seen)} have different spatial ranks in {WHERE}. A label map needs "
                "one class id per pixel of its image.", fmt_shape(mine), fmt_shape(seen)))
            continue
        ok = all_of(*(_same(a, b) for a, b in zip(mine, seen, strict=True)))
        if isinstance(ok, np.bool_) and ok:
            continue
        finding = Finding(
            "shape", np.True_,
            esc(f"{name}: shape: label map spatial shape ") + "{mine}" + esc(
                f" does not match image {image!r} ") + "{seen}" + esc(" in ") + WHERE + esc(
                ". Resize masks with their images, nearest-neighbour only "
                "(tf.image.resize(y, size, method='nearest')), or crop both the same way."),
            values={"mine": ("shape", mine), "seen": ("shape", seen)}, observed="{mine}",
            expected="{seen}")
        checks.append(Check(name, ok, _findings(finding), static=isinstance(ok, np.bool_)))
    return checks


def _findings(finding: Finding) -> Callable[[], list[Finding]]:
    return lambda: [finding]


def _same(a: Any, b: Any) -> Any:
    """Two dims agree: ints now, run-time dims as a tensor; None (unknown) always agrees."""
    if a is None or b is None:
        return np.True_
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        return np.bool_(int(a) == int(b))
    return a == b


def foreground_check(name: str, label: Label, view: LabelView) -> list[Check]:
    """``empty_mask``: opt-in minimum fraction of non-background pixels per element."""
    minimum = label.min_foreground_fraction
    if minimum is None:
        return []
    fractions = view.element_fraction_not(label.background)
    element_ok = fractions >= minimum
    ok = view.every(element_ok)

    def diagnose() -> list[Finding]:
        return [Finding(
            "empty_mask", np.True_,
            esc(f"{name}: empty_mask: a mask holds less than {minimum:g} foreground (classes "
                f"other than {label.background}) in ") + WHERE + esc(
                ". Masks that lost their labels (a wrong file, a thresholded or resized "
                "mask)? Fix the loader, drop them, or lower min_foreground_fraction.") + ELEMENTS,
            observed=f"< {minimum:g} foreground", expected=f">= {minimum:g}",
            element_ok=element_ok)]

    return [Check(name, ok, diagnose, element_ok=lambda: element_ok)]
