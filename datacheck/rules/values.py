"""Value rules for tensor features: range, finiteness and constant batches.

The fast predicate needs only the batch's min and max (NaN propagates through
both, Inf lands in one of them), so in graph it costs two read-only
reductions; everything else is computed only when it fails.
"""

from __future__ import annotations

from typing import Any

from datacheck.rules.base import WHERE, Check, Finding, all_of, esc, fmt_num
from datacheck.schema.model import Feature


def value_checks(name: str, feature: Feature, view: Any) -> list[Check]:
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
        if bounds is not None:
            return view.element_within(*bounds)
        return view.element_finite() if feature.finite else None

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
                    "replace them: tf.where(tf.math.is_finite(x), x, 0.)."),
                values=values, observed="{n} non-finite", expected="finite",
                element_ok=view.element_finite()))
        if bounds is not None:
            lo, hi = bounds
            fix = _range_fix(feature, lo, hi)
            expected = f"[{fmt_num(lo)}, {fmt_num(hi)}]"
            findings.append(Finding(
                "range", hi_seen > hi,
                esc(f"{name}: range: max ") + "{max}" + esc(f" > {fmt_num(hi)} in ") + WHERE +
                esc(f". {fix}"),
                values=values, observed="[{min}, {max}]", expected=expected,
                element_ok=element_ok()))
            findings.append(Finding(
                "range", (lo_seen < lo) & ~(hi_seen > hi),
                esc(f"{name}: range: min ") + "{min}" + esc(f" < {fmt_num(lo)} in ") + WHERE +
                esc(f". {fix}"),
                values=values, observed="[{min}, {max}]", expected=expected,
                element_ok=element_ok()))
        if feature.not_constant:
            findings.append(Finding(
                "constant", view.constant() & ~(nonfinite > 0),
                esc(f"{name}: constant: every value equals ") + "{min}" + esc(" in ") + WHERE +
                esc(". Check the loader: blank images, the wrong file, or values zeroed by an "
                    "integer cast or division."),
                values=values, observed="constant {min}", expected="varying values"))
        return findings

    return [Check(name, ok, diagnose, element_ok=element_ok)]


def _range_fix(feature: Feature, lo: float, hi: float) -> str:
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
