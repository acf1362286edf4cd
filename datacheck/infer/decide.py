"""Decisions: from observations to Feature/Label entries a person can read and edit.

Every rule here errs toward a schema that passes on the data it came from;
what was seen is kept in ``notes`` so the YAML can show it as comments.
"""

from __future__ import annotations

import math

from datacheck.infer.observe import Observation
from datacheck.infer.sources import LABEL_NAMES, guess_layout
from datacheck.rules.label_kind import label_kind
from datacheck.schema.model import Feature, Label

#: Distinct string/integer classes beyond this many are not listed in the schema.
MAX_LISTED_CLASSES = 1000
#: Single-class batches in a row that an inferred schema calls unshuffled, at least.
SHUFFLE_WINDOW = 3
#: Chance, over the whole dataset, that shuffled data trips the inferred shuffle_window.
SHUFFLE_FALSE_ALARM = 0.01
#: z-score is inferred when |mean| and |std - 1| are within this margin (checked with 0.1).
ZSCORE_MARGIN = 0.05


def is_label(name: str, obs: Observation, positional_label: bool) -> bool:
    """A name is a label when its values look like classes (or it is named like one)."""
    lab = obs.label
    if lab is None or len(obs.ranks) != 1:
        return False
    rank = next(iter(obs.ranks))
    if lab.is_string:
        return rank <= 1
    if lab.nonfinite or rank > 1:
        return False
    named = name.lower() in LABEL_NAMES or positional_label
    if rank == 0 or obs.dims == [1]:
        return lab.non_integer == 0 and (named or obs.tensor.dtypes.keys() <= _INT_DTYPES)
    kind = label_kind(lab, tuple(d or 0 for d in obs.dims or []))
    return kind == "one_hot" or (named and kind == "multi_hot")


_INT_DTYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"}


def _dtype(obs: Observation) -> str | list[str] | None:
    names = sorted(obs.tensor.dtypes)
    if not names:
        return None
    return names[0] if len(names) == 1 else names


def infer_label(name: str, obs: Observation) -> tuple[Label, list[str]]:
    """The Label entry for ``obs``; classification labels also get a ``shuffle_window``."""
    label, notes = _infer_label(obs)
    if label.encoding != "multi_hot":
        label.shuffle_window = _shuffle_window(obs, notes)
    return label, notes


def _infer_label(obs: Observation) -> tuple[Label, list[str]]:
    lab = obs.label
    assert lab is not None
    notes = [f"{lab.elements} labels, {len(lab.histogram)} distinct values"]
    dtype = _dtype(obs)
    if lab.is_string:
        classes = sorted(str(c) for c in lab.histogram)
        if len(classes) > MAX_LISTED_CLASSES:
            notes.append(f"{len(classes)} distinct strings: classes not listed")
            return Label(encoding="string", dtype=dtype), notes
        return Label(encoding="string", classes=list(classes), dtype=dtype,
                     **_balance(lab.class_fractions(), len(classes))), notes
    width = obs.dims[-1] if obs.dims else None
    if obs.ranks == {1} and width not in (None, 1):
        one_hot = label_kind(lab, (int(width),)) == "one_hot"
        encoding = "one_hot" if one_hot else "multi_hot"
        extra = _balance(lab.class_fractions(), int(width)) if one_hot else {}
        return Label(encoding=encoding, num_classes=int(width), dtype=dtype, **extra), notes
    values = sorted(int(k) for k in lab.histogram)
    notes.append(f"values {values[0]}..{values[-1]}" if values else "no values")
    if not values:
        return Label(encoding="sparse", dtype=dtype), notes
    if len(values) == 1:  # a schema may not declare fewer than 2 sparse classes
        notes.append(f"only class {values[0]} occurs: num_classes not inferred")
        return Label(encoding="sparse", dtype=dtype), notes
    span = values[-1] + 1
    if values[0] >= 0 and len(values) * 2 >= span:
        missing = span - len(values)
        if missing:
            notes.append(f"{missing} class ids below the largest never occur")
        return Label(encoding="sparse", num_classes=span, dtype=dtype,
                     **_balance(lab.class_fractions(), span, missing)), notes
    if len(values) > MAX_LISTED_CLASSES:
        notes.append(f"{len(values)} distinct ids: classes not listed")
        return Label(encoding="sparse", dtype=dtype), notes
    notes.append("ids are not 0..n-1: listed as classes (remap them for a sparse loss)")
    return Label(encoding="sparse", classes=list(values), dtype=dtype,
                 **_balance(lab.class_fractions(), len(values))), notes


def _shuffle_window(obs: Observation, notes: list[str]) -> int | None:
    """Single-class batches in a row that mean "sorted by class", for shuffled data like this.

    With class fractions f and batches of B elements, a shuffled batch holds one
    class with chance p = sum(f**B); the window is the smallest run that n such
    batches reach with chance below SHUFFLE_FALSE_ALARM (at least SHUFFLE_WINDOW),
    and always longer than the longest run seen, so the data it came from passes.
    None when batches hold one element (no evidence of order) or one class.
    """
    lab = obs.label
    assert lab is not None
    total = sum(lab.histogram.values())
    if lab.batches == 0 or total == 0 or len(lab.histogram) < 2:
        return None
    size = lab.elements / lab.batches
    if size < 2:
        return None
    single = sum((k / total) ** size for k in lab.histogram.values())
    window = SHUFFLE_WINDOW
    if 0 < single < 1:
        window = max(window, math.ceil(math.log(SHUFFLE_FALSE_ALARM / lab.batches)
                                       / math.log(single)))
    seen = lab.runs.longest
    if seen >= window:
        notes.append(f"WARNING labels arrive sorted: {seen} single-class batches in a row "
                     f"(class {lab.runs.longest_class}): inferred shuffle_window {seen + 1} so "
                     f"this schema passes; shuffle the data and set {window}")
        return seen + 1
    notes.append(f"shuffle_window {window}: {window} single-class batches in a row (batches "
                 f"of {size:.0f}) would mean the data is sorted by class")
    return window


def _balance(fractions: dict[object, float], n: int, missing: int = 0) -> dict[str, float]:
    """min_class_fraction at half the rarest class, so the data it came from passes."""
    if missing or not fractions or n > 100 or len(fractions) < n:
        return {}
    bound = math.floor(min(fractions.values()) / 2 * 1000) / 1000
    return {"min_class_fraction": bound} if bound > 0 else {}


def infer_feature(name: str, obs: Observation) -> tuple[Feature, list[str]]:
    ts = obs.tensor
    notes = [f"{ts.elements} elements"]
    fields: dict[str, object] = {"dtype": _dtype(obs)}
    if len(obs.ranks) == 1 and obs.dims is not None:
        dims = obs.dims
        layout = guess_layout(dims)
        if layout is not None:
            fields["layout"] = layout
        fields["shape"] = list(dims)
        if any(d is None for d in dims):
            notes.append(f"{len(ts.shapes)} distinct shapes, e.g. "
                         + ", ".join("x".join(map(str, s)) for s, _ in ts.shapes.most_common(3)))
    else:
        notes.append(f"element ranks differ: {sorted(obs.ranks)}; no shape inferred")
    if "string" in ts.dtypes or ts.moments.count == 0:
        return Feature(**fields), notes  # type: ignore[arg-type]
    lo, hi, mean, std = ts.min, ts.max, ts.mean, ts.std
    notes.append(f"values {lo:g}..{hi:g}, mean {mean:.4g}, std {std:.4g}"
                 + (", integer-valued" if obs.integer_like else ""))
    if ts.nonfinite:
        notes.append(f"WARNING {ts.nonfinite} NaN/Inf values: inferred finite: false so this "
                     "schema passes; fix the data and set finite: true")
        fields["finite"] = False
    else:
        fields.update(_value_state(lo, hi, mean, std, obs.integer_like, notes))
    if ts.constant_batches:
        notes.append(f"{ts.constant_batches} batches hold a single value: not_constant: false")
        fields["not_constant"] = False
    return Feature(**fields), notes  # type: ignore[arg-type]


def _value_state(lo: float, hi: float, mean: float, std: float, integers: bool,
                 notes: list[str]) -> dict[str, object]:
    """Normalization state from the observed range, else the range itself."""
    if lo >= 0 and hi <= 1:
        return {"normalization": "unit"}
    if lo >= -1 and hi <= 1:
        return {"normalization": "symmetric"}
    if integers and lo >= 0 and hi <= 255:
        if hi < 128:
            notes.append(f"raw integers but max {hi:g} < 128: declare range [0, {hi:g}] if "
                         "that is the real scale")
        return {"normalization": "raw_uint8"}
    if abs(mean) <= ZSCORE_MARGIN and abs(std - 1) <= ZSCORE_MARGIN:
        return {"normalization": "zscore"}
    if integers:
        return {"range": [float(math.floor(lo)), float(math.ceil(hi))]}
    bounds = [_round_out(lo, down=True), _round_out(hi, down=False)]
    if not all(math.isfinite(b) for b in bounds):  # rounded past the float range: no bound
        notes.append("values reach the float limits: no range declared")
        return {}
    return {"range": bounds}


def _round_out(value: float, down: bool, digits: int = 4) -> float:
    """Round to ``digits`` significant digits, away from the data (never tightens the range).

    >>> _round_out(3071.2, down=False), _round_out(-0.123456, down=True)
    (3072.0, -0.1235)
    """
    if value == 0 or not math.isfinite(value):
        return float(value)
    scale = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
    step = -scale if down else scale
    rounded = float(f"{(math.floor if down else math.ceil)(value / scale) * scale:.{digits + 2}g}")
    # Float error in the scaling must not move the bound inside the data.
    while (rounded > value) if down else (rounded < value):
        rounded = float(f"{rounded + step:.{digits + 2}g}")
    return rounded
