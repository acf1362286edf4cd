"""Class balance and label order: one class dominating, or labels in class order.

Keras' ``fit(validation_split=0.2)`` takes the last 20% of the arrays
*before* shuffling, and ``fit`` never shuffles a ``tf.data.Dataset``: data
in class order trains on some classes and validates on others.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from datacheck.rules.registry import RULES, SeverityName
from datacheck.rules.violation import Violation

if TYPE_CHECKING:
    from datacheck.doctor.data_info import LabelFacts

_BALANCE = RULES["class_balance"].params
_ORDER = RULES["unshuffled"].params
#: Fraction fit(validation_split=...) commonly takes from the end of the arrays.
VALIDATION_SPLIT = _ORDER["doctor_validation_split"]
#: Consecutive single-class batches that count as "in class order".
RUN_BATCHES = int(_ORDER["doctor_run_batches"])


def balance_violations(f: LabelFacts, n_expected: int | None) -> list[Violation]:
    """class_balance: a class dominates (warning), or only one class occurs (error)."""
    hist = f.histogram
    total = sum(hist.values())
    if total == 0 or (n_expected is not None and n_expected < 2):
        return []
    if len(hist) == 1:
        (only,) = hist
        return [Violation(
            "class_balance", f.name,
            f"{f.name}: class_balance: every one of the {total} labels is class {only}; there is "
            "nothing to tell apart and predicting that class scores 100%. Check how the labels "
            "were loaded or filtered.", observed={str(only): 1.0}, expected="at least 2 classes",
            where="data")]
    fractions = {c: k / total for c, k in hist.items()}
    top, p = max(fractions.items(), key=lambda kv: kv[1])
    rare, q = min(fractions.items(), key=lambda kv: kv[1])
    if not (p >= _BALANCE["doctor_max_fraction"]
            or (len(hist) >= 3 and p >= _BALANCE["doctor_max_fraction_3_classes"])
            or p / q >= _BALANCE["doctor_max_ratio"]):
        return []
    return [Violation(
        "class_balance", f.name,
        f"{f.name}: class_balance: class {top} makes up {p:.1%} of the labels (rarest: class "
        f"{rare} at {q:.1%}); a model that always predicts class {top} scores {p:.0%} accuracy. "
        "Pass class_weight= to fit, oversample the rare classes, or use tf.data "
        "rejection_resample.",
        observed={str(c): round(v, 4)
                  for c, v in sorted(fractions.items(), key=lambda kv: str(kv[0]))},
        expected="no class far above the others", where="data", severity="warning")]


def _classes(values: np.ndarray, limit: int = 5) -> str:
    uniq = [int(c) for c in np.unique(values)]
    shown = ", ".join(map(str, uniq[:limit])) + (" ..." if len(uniq) > limit else "")
    return f"class{'es' if len(uniq) > 1 else ''} {shown}"


def order_violations(f: LabelFacts, *, from_dataset: bool, exhausted: bool,
                     sampled_batches: int | None, batch_size: int,
                     n_expected: int | None) -> list[Violation]:
    """unshuffled: labels in class order, judged the way fit() would consume them."""
    seq = f.sequence
    if seq is None or len(seq) < 2:
        return []
    n_classes = len(np.unique(seq))
    runs = f.summary.runs
    if from_dataset:
        if n_classes == 1 and not exhausted and (n_expected is None or n_expected > 1):
            return [Violation(
                "unshuffled", f.name,
                f"{f.name}: unshuffled: the first {sampled_batches} batches ({len(seq)} "
                f"examples) all hold class {int(seq[0])}: the dataset is in class order, and "
                "fit() does not shuffle a tf.data.Dataset. Add ds.shuffle(buffer_size) with a "
                "buffer larger than one class's run (ideally the dataset size) before .batch().",
                observed=f"{sampled_batches} batches of class {int(seq[0])}",
                expected="mixed classes", where=f"batches 0..{(sampled_batches or 1) - 1}")]
        if runs.longest >= RUN_BATCHES:
            return [_run_violation(f, runs.longest, runs.longest_class, runs.longest_end,
                                   batch_size, "error", "fit() does not shuffle a "
                                   "tf.data.Dataset, so the model trains class by class. Add "
                                   "ds.shuffle(buffer_size) before .batch().")]
        return []
    if n_classes < 2:
        return []
    tail_len = max(1, math.ceil(VALIDATION_SPLIT * len(seq)))
    head, tail = seq[:-tail_len], seq[-tail_len:]
    tail_classes = np.unique(tail)
    diffs = np.diff(seq)
    ordered = bool(np.all(diffs >= 0) or np.all(diffs <= 0))
    grouped = len(tail_classes) == 1 or (n_classes >= 4 and len(tail_classes) <= n_classes // 2)
    if ordered or grouped:
        never = sorted(set(np.unique(seq).tolist()) - set(np.unique(head).tolist()))
        unseen = (f"; {_classes(np.array(never))} never occur in the first 80%, so the model "
                  "would never train on them" if never else "")
        start = len(seq) - tail_len
        how = "sorted by class" if ordered else "grouped by class"
        return [Violation(
            "unshuffled", f.name,
            f"{f.name}: unshuffled: the labels are {how}: the last 20% (rows "
            f"{start}..{len(seq) - 1}, what fit(validation_split=0.2) takes "
            f"before any shuffling) hold only {_classes(tail_classes)} of {n_classes}{unseen}. "
            "Shuffle once before fit: p = np.random.default_rng(0).permutation(len(y)); "
            "x, y = x[p], y[p].",
            observed=f"last 20% holds {len(tail_classes)} of {n_classes} classes",
            expected="every class in every part", where=f"rows {start}..{len(seq) - 1}")]
    if runs.longest >= RUN_BATCHES:
        return [_run_violation(f, runs.longest, runs.longest_class, runs.longest_end, batch_size,
                               "warning", "fit(shuffle=True) mixes them, but fit(shuffle=False) "
                               "or a tf.data pipeline built from these arrays trains class by "
                               "class. Shuffle once before fit.")]
    return []


def _run_violation(f: LabelFacts, longest: int, cls: object, end: int, batch_size: int,
                   severity: SeverityName, why: str) -> Violation:
    start = end - longest + 1
    return Violation(
        "unshuffled", f.name,
        f"{f.name}: unshuffled: {longest} consecutive batches of {batch_size} (batches "
        f"{start}..{end}) hold only class {cls}; {why}",
        observed=f"{longest} single-class batches", expected=f"fewer than {RUN_BATCHES}",
        where=f"batches {start}..{end}", severity=severity)
