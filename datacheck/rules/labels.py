"""Label rules: encoding, dtype, range/allowed values and shuffling, per batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from datacheck.rules.base import WHERE, Check, Finding, all_of, esc, fmt_shape, static_template
from datacheck.rules.structure import dtype_checks
from datacheck.rules.views import LabelView
from datacheck.rules.violation import Violation
from datacheck.schema.dtypes import dtype_matches
from datacheck.schema.model import Label

STRING_FIX = ("Map strings to class ids with keras.layers.StringLookup (num_oov_indices=0) or "
              "sklearn.preprocessing.LabelEncoder, or declare encoding: string.")


def _static(name: str, code: str, message: str, observed: Any, expected: Any) -> Check:
    finding = Finding(code, np.True_, static_template(message), observed=observed,
                      expected=expected)
    return Check(name, np.False_, lambda: [finding], static=True)


def label_static_checks(name: str, label: Label, shape: tuple[Any, ...], dtype: str) -> list[Check]:
    """Encoding and dtype from the shape and dtype alone (known before any data is read)."""
    if label.encoding == "label_map":
        from datacheck.rules.segmentation import label_map_static_checks

        return label_map_static_checks(name, label, shape, dtype)
    element = shape[1:]
    n = label.n_classes
    is_string = dtype_matches(dtype, ["string"])
    if is_string and label.encoding != "string":
        return [_static(name, "label_encoding",
                        f"{name}: label_encoding: labels are strings but the schema expects "
                        f"{label.encoding} integer labels in {WHERE}. {STRING_FIX}",
                        dtype, label.encoding)]
    if not is_string and label.encoding == "string":
        return [_static(name, "label_encoding",
                        f"{name}: label_encoding: labels are {dtype} but the schema declares "
                        f"string labels in {WHERE}. Declare encoding: sparse with num_classes, "
                        "or feed the raw strings.", dtype, "string")]
    checks: list[Check] = []
    width = element[-1] if element else None
    width_known = isinstance(width, (int, np.integer))
    if label.encoding == "sparse":
        if len(element) == 1 and width_known and int(width) > 1:  # type: ignore[arg-type]
            hint = (f" (width {int(width)} = num_classes)" if n == width else "")  # type: ignore[arg-type]
            checks.append(_static(
                name, "label_encoding",
                f"{name}: label_encoding: labels have element shape {fmt_shape(element)}: they "
                f"look one-hot{hint}, but the schema expects sparse class ids in {WHERE}. Use "
                "tf.argmax(y, -1) for sparse_categorical_crossentropy, or declare encoding: "
                "one_hot and use categorical_crossentropy.", fmt_shape(element), "()"))
        elif len(element) > 1:
            checks.append(_static(
                name, "rank", f"{name}: rank: sparse labels must have element shape () or (1,), "
                f"got {fmt_shape(element)} in {WHERE}. Reshape with tf.reshape(y, [-1]).",
                fmt_shape(element), "()"))
    elif label.encoding in ("one_hot", "multi_hot"):
        if len(element) == 0 or (len(element) == 1 and width == 1):
            checks.append(_static(
                name, "label_encoding",
                f"{name}: label_encoding: labels are class ids (element shape "
                f"{fmt_shape(element)}) but the schema expects {label.encoding} vectors of "
                f"width {n} in {WHERE}. Convert with keras.utils.to_categorical(y, {n}) / "
                f"tf.one_hot(y, {n}), or use sparse_categorical_crossentropy and declare "
                "encoding: sparse.", fmt_shape(element), f"({n},)"))
        elif len(element) == 1 and width_known and n is not None and int(width) != n:  # type: ignore[arg-type]
            checks.append(_static(
                name, "num_classes",
                f"{name}: num_classes: {label.encoding} labels have width {int(width)} but "  # type: ignore[arg-type]
                f"num_classes is {n} in {WHERE}. Re-encode with tf.one_hot(y, {n}) or fix the "
                "schema's num_classes.", int(width), n))  # type: ignore[arg-type]
    return checks or dtype_checks(name, label.dtypes(), dtype, " for labels")


def label_value_checks(name: str, label: Label, view: LabelView) -> list[Check]:
    """Per-batch value checks; run only when the static checks passed."""
    n = label.n_classes
    checks: list[Check] = []
    if label.encoding in ("sparse", "label_map"):  # a label map: a sparse id per pixel
        allowed = label.integer_classes()
        if allowed is not None:
            ok = view.all_in_set(allowed)
            elem = view.element_in_set(allowed)
            expected = f"one of {allowed}"
        elif n is not None:
            ok = view.all_within(0, n - 1)
            elem = None
            expected = f"[0, {n - 1}]"
        else:
            ok, elem, expected = None, None, ""
        integral = view.all_integral()
        preds = [p for p in (ok, integral) if p is not None]
        if preds:
            checks.append(_sparse_check(name, n, view, all_of(*preds), ok, elem, expected))
    elif label.encoding in ("one_hot", "multi_hot"):
        ok = view.rows_one_hot() if label.encoding == "one_hot" else view.all_binary()
        kind = "exactly one 1 per row" if label.encoding == "one_hot" else "only 0 and 1"

        def diagnose_rows() -> list[Finding]:
            values = {"min": view.finite_min(), "max": view.finite_max(),
                      "value": view.non_binary_value()}
            if label.encoding == "multi_hot":
                # Name what was seen: a count (2), a probability (0.7), a -1 "absent" marker.
                template = (esc(f"{name}: label_encoding: multi_hot labels must hold {kind}; "
                                "found ") + "{value}" + esc(" (values in [") + "{min}, {max}" +
                            esc("]) in ") + WHERE + esc(
                    ". Counts of a class listed twice? Clip with tf.minimum(y, 1). "
                    "Probabilities or smoothed targets? Threshold them "
                    "(tf.cast(y > 0.5, y.dtype)). -1 for 'absent'? Map it to 0."))
                observed = "{value}"
            else:
                template = (esc(f"{name}: label_encoding: {label.encoding} labels must hold "
                                f"{kind}; found values in [") + "{min}, {max}" + esc("] in ") +
                            WHERE + esc(
                    ". Soft or smoothed labels? Apply label smoothing in the loss "
                    "(label_smoothing=...) instead, or declare multi_hot for multi-label data."))
                observed = "[{min}, {max}]"
            return [Finding(
                "label_encoding", np.True_, template, values=values,
                observed=observed, expected=kind,
                element_ok=view.element_rows_one_hot() if label.encoding == "one_hot"
                else view.element_binary())]

        checks.append(Check(name, ok, diagnose_rows,
                            element_ok=view.element_rows_one_hot if label.encoding == "one_hot"
                            else view.element_binary))
    elif label.encoding == "string" and label.classes is not None:
        allowed_strings = [str(c) for c in label.classes]
        ok = view.all_in_set(allowed_strings)

        def diagnose_strings() -> list[Finding]:
            return [Finding(
                "label_range", np.True_,
                esc(f"{name}: label_range: a label is not one of the {len(allowed_strings)} "
                    "declared classes in ") + WHERE + esc(
                    ". Fix the spelling in the data or add the class to the schema."),
                observed="unknown class", expected=allowed_strings,
                element_ok=view.element_in_set(allowed_strings))]

        checks.append(Check(name, ok, diagnose_strings,
                            element_ok=lambda: view.element_in_set(allowed_strings)))
    if label.encoding == "label_map":
        from datacheck.rules.segmentation import foreground_check

        checks += foreground_check(name, label, view)
    if label.shuffle_window is not None:
        checks.append(_shuffle_check(name, label.shuffle_window, view))
    return checks


def _sparse_check(name: str, n: int | None, view: LabelView, ok: Any, range_ok: Any, elem: Any,
                  expected: str) -> Check:
    def element_ok() -> Any:
        if elem is not None:
            return elem
        if n is not None:
            return view.element_within(0, n - 1)
        return None

    def diagnose() -> list[Finding]:
        values = {"min": view.finite_min(), "max": view.finite_max(),
                  "n": view.nonfinite_count()}
        findings = []
        integral = view.all_integral()
        if integral is not None:
            findings.append(Finding(
                "label_encoding", ~integral,
                esc(f"{name}: label_encoding: sparse labels must be whole class ids, found "
                    "fractional values in [") + "{min}, {max}" + esc("] in ") + WHERE + esc(
                    ". Were the labels normalized or averaged? Use the integer class ids "
                    "(tf.cast(tf.round(y), tf.int64) if they are ids stored as floats)."),
                values=values, observed="non-integer", expected="integer class ids"))
        if range_ok is not None:
            fix = (f"Labels must be {expected}: remap them (e.g. y - 1 for 1-based labels) or "
                   "raise num_classes (and the model's output units).")
            findings.append(Finding(
                "label_range", ~range_ok,
                esc(f"{name}: label_range: labels span [") + "{min}, {max}" + esc(
                    f"], expected {expected}, in ") + WHERE + esc(f". {fix}"),
                values=values, observed="[{min}, {max}]", expected=expected,
                element_ok=element_ok()))
        return findings

    return Check(name, ok, diagnose, element_ok=element_ok)


def _shuffle_check(name: str, window: int, view: LabelView) -> Check:
    run = view.single_class_run()

    def diagnose() -> list[Finding]:
        return [Finding(
            "unshuffled", np.True_,
            esc(f"{name}: unshuffled: {window} consecutive batches each hold a single class "
                "(class ") + "{cls}" + esc(") ending at ") + WHERE + esc(
                ". Shuffle before batching (ds.shuffle(buffer) with a buffer larger than one "
                "class's run, or shuffle the file list) - validation_split would take one "
                "class only."),
            values={"cls": view.batch_class()}, observed=f"{window} single-class batches",
            expected=f"fewer than {window} single-class batches in a row")]

    reached = run == window
    # A Python bool would turn ~ into integer negation; keep numpy/TF booleans.
    ok = np.bool_(not reached) if isinstance(reached, (bool, np.bool_)) else ~reached
    return Check(name, ok, diagnose)


def empty_label(where: str) -> Violation:
    """label_range: a manifest row with no label at all (a label of 0 would be a lie)."""
    return Violation("label_range", "label", f"label: label_range: empty label in {where}. "
                     "Fill it in or drop the row.", where=where)
