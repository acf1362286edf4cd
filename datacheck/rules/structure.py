"""Structure rules: rank, shape, layout and dtype of tensor features.

They read only ``view.shape`` (batched; dims may be ints, None for unknown,
or tensors) and ``view.dtype``, so the same code checks a numpy array, a
static ``element_spec`` at ``validate()`` time and dynamic shapes in graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from datacheck.rules.base import (
    WHERE,
    Check,
    Finding,
    all_of,
    dim_eq,
    esc,
    fmt_shape,
    static_template,
)
from datacheck.rules.violation import Violation
from datacheck.schema.dtypes import concrete_dtype, dtype_matches
from datacheck.schema.layout import alternative_layout, channel_axis, permutation
from datacheck.schema.model import Feature


def rank_checks(name: str, feature: Feature, shape: tuple[Any, ...]) -> list[Check]:
    expected = feature.element_rank
    observed = len(shape) - 1
    if expected is None or observed == expected:
        return []
    element = fmt_shape(shape[1:])
    layout = feature.layout
    if observed == expected - 1 and layout is not None and "C" in layout \
            and feature.expected_channels in (1, None):
        axis = "-1" if layout.endswith("C") else "1"
        message = (f"{name}: rank: element shape {element} has rank {observed} but layout "
                   f"{layout} needs rank {expected} in {WHERE}; the channel axis is missing. "
                   f"Add it with x[..., None] (np.expand_dims(x, {axis}) or "
                   f"tf.expand_dims(x, {axis})).")
    elif observed == expected + 1 and observed >= 1 and shape[-1] == 1:
        message = (f"{name}: rank: element shape {element} has rank {observed}, expected "
                   f"{expected} in {WHERE}; there is an extra axis of size 1. Remove it with "
                   "np.squeeze(x, -1) or fix the schema's layout/shape.")
    else:
        message = (f"{name}: rank: element shape {element} has rank {observed}, expected "
                   f"{expected}{f' ({layout})' if layout else ''} in {WHERE}. Reshape the data "
                   "(was it batched twice, or not batched?) or fix the schema.")
    finding = Finding("rank", np.True_, static_template(message), observed=element,
                      expected=expected)
    return [Check(name, np.False_, lambda: [finding], static=True)]


def shape_checks(name: str, feature: Feature, shape: tuple[Any, ...]) -> list[Check]:
    """Shape and layout, once the rank is right."""
    rank = feature.element_rank
    if rank is not None and len(shape) - 1 != rank:
        return []
    element = shape[1:]
    expected: list[int | None] = (list(feature.shape) if feature.shape is not None
                                  else [None] * len(element))
    layout = feature.layout
    channels = feature.expected_channels
    checks: list[Check] = []
    c_axis = channel_axis(layout) if layout else None
    if c_axis is not None and channels is not None:
        expected[c_axis] = channels
    dims_ok = [dim_eq(d, e) for d, e in zip(element, expected, strict=True)]
    ok = all_of(*dims_ok)
    if isinstance(ok, np.bool_) and ok:
        return []
    exp_text = fmt_shape(tuple(expected)).replace("?", "*")

    def diagnose() -> list[Finding]:
        findings = []
        looks_transposed: Any = np.False_
        if c_axis is not None and channels is not None and layout is not None:
            alt = alternative_layout(layout)
            assert alt is not None
            alt_axis = channel_axis(alt)
            assert alt_axis is not None
            looks_transposed = dim_eq(element[alt_axis], channels) & ~dims_ok[c_axis]
            perm = permutation(alt, layout)
            findings.append(Finding(
                "layout", looks_transposed,
                esc(f"{name}: layout: element shape ") + "{shape}" + esc(
                    f" looks like {alt} but the schema says {layout} (channels={channels}) "
                    f"in ") + WHERE + esc(
                    f". Transpose with tf.transpose(x, {list(perm)}) / "
                    f"np.transpose(x, {perm}), or declare layout {alt}."),
                values={"shape": _shape_value(element)}, observed="{shape}",
                expected=layout))
        findings.append(Finding(
            "shape", ~looks_transposed,
            esc(f"{name}: shape: element shape ") + "{shape}" + esc(
                f" does not match {exp_text} in ") + WHERE + esc(
                ". " + _shape_fix(element, expected, c_axis, layout)),
            values={"shape": _shape_value(element)}, observed="{shape}", expected=exp_text))
        return findings

    checks.append(Check(name, ok, diagnose, static=isinstance(ok, np.bool_)))
    return checks


def _shape_fix(element: tuple[Any, ...], expected: list[int | None], c_axis: int | None,
               layout: str | None) -> str:
    """Channel count mismatches get a colour conversion, not a resize."""
    resize = ("Resize or crop the data (e.g. tf.image.resize), or fix the schema's shape "
              "(use null for any size).")
    if c_axis is None or layout is None:
        return resize
    seen, want = element[c_axis], expected[c_axis]
    if not isinstance(seen, (int, np.integer)) or want is None or int(seen) == want:
        return resize
    # Other dims off too (or unknown until run time): the resize advice still applies.
    others_ok = all(e is None or (isinstance(d, (int, np.integer)) and int(d) == e)
                    for i, (d, e) in enumerate(zip(element, expected, strict=True))
                    if i != c_axis)
    moved = "" if layout.endswith("C") else " on channels-last data (transpose first)"
    pair = (int(seen), want)
    if pair == (1, 3):
        fix = (f"Grayscale given, RGB expected: convert with tf.image.grayscale_to_rgb(x){moved} "
               "(or np.repeat(x, 3, axis=-1)), or declare channels: 1.")
    elif pair == (3, 1):
        fix = (f"RGB given, grayscale expected: convert with tf.image.rgb_to_grayscale(x){moved}, "
               "or declare channels: 3.")
    elif pair == (4, 3):
        fix = ("RGBA given, RGB expected: drop the alpha channel (x[..., :3]), or declare "
               "channels: 4.")
    else:
        return resize
    return fix if others_ok else f"{fix} {resize}"


def _shape_value(element: tuple[Any, ...]) -> Any:
    """Static shapes become text now; dynamic ones stay tensors for the backend to format."""
    if all(isinstance(d, (int, np.integer)) or d is None for d in element):
        return fmt_shape(element)
    return ("shape", element)


def complex_checks(name: str, dtype: str) -> list[Check]:
    """Complex values have no order: range and finite rules cannot judge them, so refuse them."""
    if not dtype.startswith("complex"):
        return []
    message = (f"{name}: dtype: got {dtype}, but range, NaN and constant checks need real values "
               f"in {WHERE}. Pass the magnitude (np.abs(x) / tf.math.abs(x)) or the real and "
               "imaginary parts as channels (tf.stack([tf.math.real(x), tf.math.imag(x)], -1)).")
    finding = Finding("dtype", np.True_, static_template(message), observed=dtype,
                      expected="a real dtype")
    return [Check(name, np.False_, lambda: [finding], static=True)]


def dtype_checks(name: str, allowed: list[str] | None, dtype: str, what: str = "") -> list[Check]:
    if not allowed or dtype_matches(dtype, allowed):
        return []
    fix = _dtype_fix(dtype, allowed)
    message = (f"{name}: dtype: got {dtype}, expected {' or '.join(allowed)}{what} in {WHERE}. "
               f"{fix}")
    finding = Finding("dtype", np.True_, static_template(message), observed=dtype, expected=allowed)
    return [Check(name, np.False_, lambda: [finding], static=True)]


def _dtype_fix(dtype: str, allowed: list[str]) -> str:
    target = allowed[0]
    if target in ("floating", "float32") and dtype == "uint8":
        return "Cast and scale: tf.cast(x, tf.float32) / 255.0."
    target = concrete_dtype(target)
    return f"Cast with tf.cast(x, tf.{target}) / x.astype('{target}'), or fix the schema's dtype."


def missing_feature(name: str, present: list[str], where: str, *, elements: str = "the data"
                    ) -> Violation:
    """missing_feature: a required feature is absent (numpy batches and tf.data element specs)."""
    return Violation(
        "missing_feature", name,
        f"{name}: missing_feature: {elements} has no {name!r} (it has {present or 'nothing'}). "
        f"Map elements to a dict with key {name!r}, or mark the feature optional.",
        observed=present, expected=name, where=where)


def unequal_batch_sizes(sizes: dict[str, int], batch_index: int) -> Violation:
    """shape: the features of one batch disagree on its first dimension."""
    return Violation(
        "shape", "*",
        f"batch sizes differ between features {sizes} in batch {batch_index}. "
        "Every feature must have one entry per example; check how they were zipped.",
        observed=sizes, expected="equal first dimensions", where=f"batch {batch_index}")
