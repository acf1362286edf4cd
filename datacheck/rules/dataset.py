"""Dataset-scope rules: judged on merged summaries (a file, a worker, a whole dataset)."""

from __future__ import annotations

import math

from datacheck.rules.base import fmt_num
from datacheck.rules.violation import Violation
from datacheck.schema.model import Feature, Label, Schema
from datacheck.summary import LabelSummary, TensorSummary


def feature_dataset_violations(name: str, feature: Feature, summary: TensorSummary,
                               where: str = "dataset") -> list[Violation]:
    mean_expected, std_expected = feature.expected_moments()
    out: list[Violation] = []
    if summary.moments.count == 0 or (mean_expected is None and std_expected is None):
        return out
    mean, std, tol = summary.mean, summary.std, feature.tolerance
    bad_mean = mean_expected is not None and not abs(mean - mean_expected) <= tol
    bad_std = std_expected is not None and not abs(std - std_expected) <= tol
    if bad_mean or bad_std:
        expected = {"mean": mean_expected, "std": std_expected, "tolerance": tol}
        if feature.normalization == "zscore":
            fix = ("Standardize with (x - mean) / std using training-set statistics "
                   "(keras.layers.Normalization().adapt(ds), or datacheck.normalize.Normalize).")
        else:
            fix = "Rescale the data or fix the schema's mean/std."
        out.append(Violation(
            "unnormalized", name,
            f"{name}: unnormalized: {where} mean {mean:.4g}, std {std:.4g}; expected "
            f"mean {_fmt(mean_expected)} and std {_fmt(std_expected)} within {fmt_num(tol)}. "
            f"{fix}",
            observed={"mean": mean, "std": std}, expected=expected, where=where))
    return out


def label_dataset_violations(name: str, label: Label, summary: LabelSummary,
                             where: str = "dataset") -> list[Violation]:
    out: list[Violation] = []
    n = label.n_classes
    if n is None or summary.elements == 0 or summary.nonfinite or summary.non_integer:
        return out
    if label.encoding == "string":
        domain: list[object] = [str(c) for c in label.classes or []]
    else:
        domain = list(label.integer_classes() or range(n))
    total = sum(summary.histogram[c] for c in domain)
    if total == 0:
        return out
    counts = {c: summary.histogram.get(c, 0) for c in domain}
    missing = [c for c, k in counts.items() if k == 0]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        out.append(Violation(
            "num_classes", name,
            f"{name}: num_classes: only {n - len(missing)} of {n} classes occur in {where} "
            f"(missing: {shown}). Check the label mapping and the split, or lower num_classes.",
            observed=n - len(missing), expected=n, where=where, severity="warning",
            extra={"missing": missing[:100]}))
    if label.min_class_fraction is not None:
        fractions = {c: k / total for c, k in counts.items()}
        rare = sorted((f, str(c)) for c, f in fractions.items()
                      if f < label.min_class_fraction)
        if rare:
            worst_fraction, worst = rare[0]
            top_class, top = max(fractions.items(), key=lambda kv: kv[1])
            out.append(Violation(
                "class_balance", name,
                f"{name}: class_balance: class {worst} makes up {worst_fraction:.2%} of {where} "
                f"(< min_class_fraction {label.min_class_fraction:.2%}; {len(rare)} classes "
                f"below; largest is class {top_class} at {top:.2%}). Rebalance (class_weight= "
                "in fit, oversampling, or tf.data rejection_resample) or lower "
                "min_class_fraction.",
                observed={str(c): round(f, 6) for c, f in fractions.items()},
                expected=label.min_class_fraction, where=where))
    return out


def _fmt(value: float | None) -> str:
    return "any" if value is None or math.isnan(value) else f"{value:g}"


#: Codes that already explain why no element arrived (unreadable inputs, skipped manifest
#: rows, an empty file, a file refused as no image volume): the data is unknown or
#: accounted for, not silently empty.
_EXPLAINED = frozenset({"unreadable", "too_large", "missing_file", "manifest", "empty", "intent"})


def empty_violation(schema: Schema, elements: int, where: str,
                    found: list[Violation] | None = None,
                    present: bool = True) -> Violation | None:
    """``empty``: a dataset, file or split with zero elements passes every other rule.

    None when there are elements, when the schema says ``allow_empty: true``, when it
    declares no features or labels to count, or when ``found`` already explains the
    missing data (unreadable inputs, an ``empty`` finding of a file). ``present=False``
    (no schema name was in the data): empty only when some name is required.
    """
    if elements > 0 or schema.allow_empty or not schema.names():
        return None
    entries: list[Feature | Label] = [*schema.features.values(), *schema.labels.values()]
    if not present and all(entry.optional for entry in entries):
        return None
    if any(v.code in _EXPLAINED and v.severity == "error" for v in found or []):
        return None
    return Violation(
        "empty", "*",
        f"*: empty: {where} has no elements, so no rule could judge it. Check the path, "
        "the split or the filter that emptied it, or declare allow_empty: true in the schema.",
        observed=0, expected="at least 1 element", where=where)
