"""Value rules for tensor features: range, finiteness and constant (blank) elements.

Every verdict is per element (axis 0 indexes elements): the views reduce over
the non-batch axes once and the batch verdict is "every element passes", so a
blank or unscaled image inside a good batch is found by its index and drop
mode removes exactly it. The fast predicate is one read-only pass in graph;
the diagnostics (finite min/max, counts, per-element masks) are computed only
when it fails.
"""

from __future__ import annotations

from dataclasses import replace
from functools import reduce
from typing import Any

from datacheck.rules.base import (
    ELEMENTS,
    ELEMENTS_RE,
    WHERE,
    Check,
    Finding,
    all_of,
    elements_text,
    esc,
    fmt_num,
)
from datacheck.rules.views import TensorView
from datacheck.rules.violation import Violation
from datacheck.schema.model import Feature


def _and(masks: list[Any]) -> Any:
    """Elementwise AND of per-element masks; None when any mask is unknown."""
    if not masks or any(m is None for m in masks):
        return None
    return reduce(lambda a, b: a & b, masks)


def value_checks(name: str, feature: Feature, view: TensorView) -> list[Check]:
    bounds = feature.value_range()
    preds = []
    if bounds is not None:
        preds.append(view.all_within(*bounds))
    elif feature.finite:
        preds.append(view.all_finite())
    if feature.not_constant:
        preds.append(~view.constant())
    if not preds:
        return []
    ok = all_of(*preds)

    def element_ok() -> Any:
        masks = []
        if bounds is not None:
            masks.append(view.element_within(*bounds))
        elif feature.finite:
            masks.append(view.element_finite())
        if feature.not_constant:
            blank = view.element_constant()
            masks.append(None if blank is None else ~blank)
        return _and(masks)

    def diagnose() -> list[Finding]:
        findings = []
        nonfinite = view.nonfinite_count()
        lo_seen, hi_seen = view.finite_min(), view.finite_max()
        values = {"min": lo_seen, "max": hi_seen, "n": nonfinite}
        if feature.finite or bounds is not None:
            findings.append(Finding(
                "nonfinite", nonfinite > 0,
                esc(f"{name}: nonfinite: ") + "{n}" + esc(" NaN/Inf values in ") + WHERE + esc(
                    ". Find the source (division by zero, log of 0, a corrupt file) or "
                    "replace them: tf.where(tf.math.is_finite(x), x, 0.).") + ELEMENTS,
                values=values, observed="{n} non-finite", expected="finite",
                element_ok=view.element_finite()))
        if bounds is not None:
            findings += _range_findings(name, feature, view, bounds, values)
        if feature.not_constant:
            blank = view.element_constant()
            findings.append(Finding(
                "constant", view.constant(),
                esc(f"{name}: constant: an element holds one value everywhere (") + "{value}" +
                esc(") in ") + WHERE + esc(
                    ". Blank or never-written images/volumes, the wrong file, or values zeroed "
                    "by an integer cast or division: fix the loader or drop them "
                    "(validate(on_error='drop')); declare not_constant: false if legitimate.")
                + ELEMENTS,
                values={"value": view.constant_value()}, observed="constant {value}",
                expected="varying values", element_ok=None if blank is None else ~blank))
        return findings

    return [Check(name, ok, diagnose, element_ok=element_ok)]


def _range_findings(name: str, feature: Feature, view: TensorView, bounds: tuple[float, float],
                    values: dict[str, Any]) -> list[Finding]:
    """One range finding per batch (max first); its mask marks every out-of-range element."""
    lo, hi = bounds
    lo_seen, hi_seen = values["min"], values["max"]
    e_lo, e_hi = view.element_finite_min(), view.element_finite_max()
    inside = None if e_lo is None else ~(e_hi > hi) & ~(e_lo < lo)
    # Mixed scaling: only some elements break the range -> fix those, not the whole dataset.
    fix = view.select(view.partial(inside), range_fix_some(feature, lo, hi),
                      range_fix(feature, lo, hi))
    found = dict(values, fix=fix)
    expected = f"[{fmt_num(lo)}, {fmt_num(hi)}]"
    tail = ". {fix}" + ELEMENTS
    return [
        Finding("range", hi_seen > hi,
                esc(f"{name}: range: max ") + "{max}" + esc(f" > {fmt_num(hi)} in ") + WHERE +
                tail, values=found, observed="[{min}, {max}]", expected=expected,
                element_ok=inside),
        Finding("range", (lo_seen < lo) & ~(hi_seen > hi),
                esc(f"{name}: range: min ") + "{min}" + esc(f" < {fmt_num(lo)} in ") + WHERE +
                tail, values=found, observed="[{min}, {max}]", expected=expected,
                element_ok=inside),
    ]


def range_fix(feature: Feature, lo: float, hi: float) -> str:
    """The fix when the whole batch (or dataset) is out of range."""
    state = feature.normalization
    if state == "unit" or (lo, hi) == (0.0, 1.0):
        return ("If these are 0-255 pixels, divide by 255 (keras.layers.Rescaling(1/255)); "
                "otherwise declare the real range.")
    if state == "symmetric":
        return ("Scale 0-255 pixels with x / 127.5 - 1 (keras.layers.Rescaling(1/127.5, "
                "offset=-1)), or declare the real range.")
    if state == "raw_uint8":
        return ("Raw pixels must lie in 0-255; were they already scaled or z-scored? "
                "Declare normalization unit/zscore instead.")
    return (f"Clip or rescale the data into [{fmt_num(lo)}, {fmt_num(hi)}], "
            "or fix the schema's range.")


def range_fix_some(feature: Feature, lo: float, hi: float) -> str:
    """The fix when only some elements are out of range (mixed scaling)."""
    state = feature.normalization
    why = ("only these elements are out of range while the others are not, so a loader path "
           "skipped the scaling for them (a second file format, decoder or augmentation "
           "branch)")
    if state == "unit" or (lo, hi) == (0.0, 1.0):
        return (f"Mixed scaling: {why}; if they are 0-255 pixels, divide by 255 on that path "
                "only - dividing everything would break the rest.")
    if state == "symmetric":
        return (f"Mixed scaling: {why}; apply x / 127.5 - 1 on that path only.")
    if state == "raw_uint8":
        return ("Mixed scaling: only these elements are outside 0-255, so a loader path "
                "scaled or z-scored them; load them raw like the others.")
    return (f"Mixed scaling: {why}; fix that path (or drop these elements) instead of "
            "rescaling everything.")


def with_element_totals(violation: Violation, feature: Feature | None, count: int, total: int,
                        indices: list[int], scope: str = " of the input") -> Violation:
    """The first listed per-element violation, restated with dataset-wide element totals.

    Its batch message named the elements of one batch; a report names how many
    elements of the whole input broke the rule and the first of them. A range
    broken by only some elements is mixed scaling: the fix addresses those.
    """
    if count <= 0:
        return violation
    message = ELEMENTS_RE.sub("", violation.message)
    if violation.code == "range" and feature is not None and 0 < count < total:
        bounds = feature.value_range()
        if bounds is not None:
            message = message.replace(range_fix(feature, *bounds),
                                      range_fix_some(feature, *bounds))
    message += elements_text(count, total, indices, scope)
    extra = dict(violation.extra, elements=count, indices=list(indices), of=total)
    return replace(violation, message=message, extra=extra)
