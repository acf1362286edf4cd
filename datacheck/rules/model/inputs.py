"""Model input <-> feature rules: input_shape, unnormalized, double_normalized, dtype, nonfinite.

Each rule returns Violations whose message says what, where, observed,
expected and the one-line fix.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np

from datacheck.rules.registry import SeverityName
from datacheck.rules.violation import Violation
from datacheck.summary import TensorSummary

if TYPE_CHECKING:
    from datacheck.doctor.model_info import InputInfo, ModelInfo, ScalingInfo


#: After the model's own scaling, inputs whose std or |mean| exceed this are "raw".
RAW_SCALE = 3.0
#: After the model's own scaling, inputs whose std is below this have been squashed flat.
SQUASHED_STD = 0.02


def _fmt(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _same(element: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    return len(element) == len(expected) and all(
        e is None or d == e for d, e in zip(element, expected, strict=True))


def _best_permutation(element: tuple[int, ...], expected: tuple[int | None, ...]
                      ) -> tuple[int, ...] | None:
    """Element-axis permutation p with element[p[i]] == expected[i]; fewest inversions wins."""
    if len(element) > 6:
        return None
    fits = [p for p in itertools.permutations(range(len(element)))
            if p != tuple(range(len(element))) and _same(tuple(element[i] for i in p), expected)]
    if not fits:
        return None

    def inversions(p: tuple[int, ...]) -> int:
        return sum(1 for i in range(len(p)) for j in range(i + 1, len(p)) if p[i] > p[j])

    return min(fits, key=inversions)


def shape_fix(element: tuple[int, ...], expected: tuple[int | None, ...],
              channels_first: bool) -> str:
    """The diagnosis and one-line fix for data of shape ``element`` fed to ``expected``."""
    if len(element) == len(expected) - 1:
        order = [0, len(element)] if channels_first else [len(element), 0]
        for axis in order + [a for a in range(len(element) + 1) if a not in order]:
            grown = (*element[:axis], 1, *element[axis:])
            if _same(grown, expected):
                at = -1 if axis == len(element) else axis + 1
                call = "x[..., None]" if at == -1 else "x[:, None]" if at == 1 else \
                    f"np.expand_dims(x, {at})"
                what = "channel axis" if axis in (0, len(element)) else "axis of size 1"
                return (f"The {what} is missing: add it with {call} "
                        f"(np.expand_dims(x, {at}) / tf.expand_dims(x, {at})).")
    if len(element) == len(expected) + 1:
        for axis, size in enumerate(element):
            if size == 1 and _same(element[:axis] + element[axis + 1:], expected):
                return (f"The data has an extra axis of size 1: remove it with "
                        f"np.squeeze(x, axis={axis + 1}).")
    if len(element) == len(expected):
        perm = _best_permutation(element, expected)
        if perm is not None:
            full = (0, *(p + 1 for p in perm))
            layouts = {(0, 2, 3, 1): " The data is channels-first (NCHW) and the model "
                       "channels-last (NHWC).", (0, 3, 1, 2): " The data is channels-last "
                       "(NHWC) and the model channels-first (NCHW).", (0, 2, 3, 4, 1):
                       " The data is NCDHW and the model NDHWC.", (0, 4, 1, 2, 3):
                       " The data is NDHWC and the model NCDHW."}
            return (f"{layouts.get(full, ' The axes are in a different order.').strip()} "
                    f"Transpose with np.transpose(x, {full}) (tf.transpose(x, {list(full)})).")
    known = all(d is not None for d in expected)
    if known and math.prod(element) == math.prod(d for d in expected if d is not None):
        if len(expected) == 1:
            return ("Flatten it with x.reshape(len(x), -1), or start the model with "
                    "keras.layers.Flatten().")
        dims = ", ".join(map(str, expected))
        return f"Same number of values: reshape with x.reshape(-1, {dims})."
    if len(element) == len(expected) and len(expected) >= 2:
        return (f"Resize the data (keras.layers.Resizing({expected[0]}, {expected[1]}) for "
                f"images), or build the model with keras.Input(shape={_fmt(element)}).")
    return f"Reshape the data, or build the model with keras.Input(shape={_fmt(element)})."


def _trailing_one(element: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    """The data lacks, or has an extra, trailing axis of size 1 (Keras 3 functional fixes it)."""
    if len(element) == len(expected) - 1 and expected and expected[-1] == 1:
        return _same((*element, 1), expected)
    if len(element) == len(expected) + 1 and element and element[-1] == 1:
        return _same(element[:-1], expected)
    return False


def input_shape_violations(name: str, summary: TensorSummary, inp: InputInfo,
                           channels_first: bool, adjusts_rank: bool = False) -> list[Violation]:
    if not summary.shapes:
        return []
    element = max(summary.shapes.items(), key=lambda kv: kv[1])[0]
    if _same(element, inp.shape):
        return []
    fix = shape_fix(element, inp.shape, channels_first)
    # Keras names unnamed inputs keras_tensor_N: no help to a reader.
    if inp.name.startswith(("keras_tensor", "input_layer")):
        label = "the model input"
    elif inp.name.startswith("first layer"):
        label = f"the model's {inp.name}"
    else:
        label = f"model input '{inp.name}'"
    severity: SeverityName = "error"
    note = ""
    if adjusts_rank and _trailing_one(element, inp.shape):
        # Keras 3 Functional._adjust_input_rank expands/squeezes this axis on every call.
        severity = "warning"
        note = (" Keras 3 adjusts this axis itself when a functional model is called, so fit "
                "works, but exported models (SavedModel, TFLite), subclassed models and "
                "schema checks see the real shape.")
    expects = f"needs elements of rank {len(inp.shape)}" if all(d is None for d in inp.shape) \
        else f"expects {_fmt(inp.shape)}"
    return [Violation(
        "input_shape", name,
        f"{name}: input_shape: data elements have shape {_fmt(element)} but {label} "
        f"{expects} (batch axis excluded). {fix}{note}",
        observed=_fmt(element), expected=_fmt(inp.shape), where=label, severity=severity)]


def effective_stats(summary: TensorSummary, scaling: list[ScalingInfo]
                    ) -> tuple[float, float, float, float] | None:
    """(min, max, mean, std) as the first weighted layer sees them.

    None when the model standardizes (Batch/LayerNormalization): nothing to judge.
    """
    lo, hi, mean, std = summary.min, summary.max, summary.mean, summary.std
    for layer in scaling:
        if math.isnan(layer.scale):  # Batch/LayerNormalization: standardized, can't judge
            return None
        a, b = layer.scale, layer.offset
        lo, hi = sorted((lo * a + b, hi * a + b))
        mean, std = mean * a + b, std * abs(a)
    return lo, hi, mean, std


def _scale_fix(lo: float, hi: float) -> str:
    if lo >= 0 and 16 < hi <= 255:
        return ("Add keras.layers.Rescaling(1/255) as the model's first layer (or feed "
                "x / 255.0).")
    if lo >= 0 and hi <= 65535 and hi > 255:
        return "Add keras.layers.Rescaling(1/65535) first (16-bit data), or feed x / 65535.0."
    if lo >= 0:
        return (f"Add keras.layers.Rescaling(1/{hi:g}) as the first layer (or feed "
                f"x / {hi:g}).")
    return ("Add a keras.layers.Normalization() layer first and call layer.adapt(x_train), "
            "or standardize x with the training mean and std.")


def scale_violations(name: str, summary: TensorSummary, model: ModelInfo) -> list[Violation]:
    """unnormalized / double_normalized from the data range and the model's scaling layers."""
    if summary.moments.count == 0 or not np.isfinite(summary.std):
        return []
    stats = effective_stats(summary, model.scaling)
    if stats is None:
        return []
    lo, hi, mean, std = stats
    raw = f"[{summary.min:.4g}, {summary.max:.4g}] (mean {summary.mean:.4g}, std {summary.std:.4g})"
    layers = ", ".join(s.describe() for s in model.scaling)
    if std > RAW_SCALE or abs(mean) > RAW_SCALE:
        unadapted = [s for s in model.scaling if s.kind == "Normalization" and not s.adapted]
        if unadapted:
            why = (f"the model's Normalization layer '{unadapted[0].layer}' was never adapted "
                   "(mean 0, variance 1), so it passes them through. Call "
                   f"model.get_layer('{unadapted[0].layer}').adapt(x_train) before fit.")
        elif model.scaling:
            why = (f"after the model's {layers} they still span [{lo:.4g}, {hi:.4g}] (std "
                   f"{std:.4g}). Fix the scale: {_scale_fix(summary.min, summary.max)}")
        else:
            why = (f"the model has no Rescaling or Normalization layer in front, so the first "
                   f"layer sees raw magnitudes. {_scale_fix(summary.min, summary.max)}")
        opaque = model.opaque_front and not model.scaling
        note = (f" (If {model.opaque_front[0]} scales the input, ignore this.)" if opaque else "")
        return [Violation(
            "unnormalized", name, f"{name}: unnormalized: values span {raw}; {why}{note}",
            observed={"min": summary.min, "max": summary.max, "mean": summary.mean,
                      "std": summary.std},
            expected="values scaled to about [0, 1] or mean 0 / std 1 by the first layer",
            where="data", severity="warning" if opaque else "error")]
    if model.scaling and summary.std > 0 and std < SQUASHED_STD and \
            summary.std >= 10 * std:
        fix = ("Remove the Rescaling layer (the data is already scaled), or feed the raw "
               "values." if any(s.kind == "Rescaling" for s in model.scaling) else
               "Adapt the Normalization layer on data scaled the same way as this data.")
        return [Violation(
            "double_normalized", name,
            f"{name}: double_normalized: values already span {raw}, and the model's {layers} "
            f"scales them again to [{lo:.4g}, {hi:.4g}] (std {std:.2g}): the network sees an "
            f"almost constant input. {fix}",
            observed={"data": [summary.min, summary.max], "after_model_scaling": [lo, hi]},
            expected="one scaling step, not two", where="data")]
    return []


def value_violations(name: str, summary: TensorSummary) -> list[Violation]:
    """Strings, NaN/Inf and constant inputs: each makes training impossible."""
    if "string" in summary.dtypes:
        return [Violation(
            "dtype", name,
            f"{name}: dtype: the input holds strings; a model needs numbers. Map them in the "
            "pipeline with keras.layers.StringLookup / TextVectorization, or encode them first.",
            observed="string", expected="numeric", where="data")]
    out: list[Violation] = []
    if summary.nonfinite:
        out.append(Violation(
            "nonfinite", name,
            f"{name}: nonfinite: {summary.nonfinite} NaN/Inf values among {summary.values}; the "
            "loss becomes NaN at the first batch holding one. Impute or drop them "
            "(np.nan_to_num, or filter the rows) before fit.",
            observed=summary.nonfinite, expected=0, where="data"))
    if summary.values > 1 and summary.min == summary.max and summary.nonfinite == 0:
        out.append(Violation(
            "constant", name,
            f"{name}: constant: every value is {summary.min:g}; the model cannot learn from a "
            "constant input. Check the loading code (all-black images? a wrong key?).",
            observed=summary.min, expected="varying values", where="data"))
    return out
