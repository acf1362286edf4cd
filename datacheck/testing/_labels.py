"""Labels that satisfy one schema label: encoding, dtype, allowed classes and class balance.

Like ``_values``, built from the schema's declarations alone (never by asking
the judge), and hypothesis-free.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from datacheck.schema.model import Label
from datacheck.testing._values import FLOATS, INTEGERS, Infeasible, concrete_dtypes

#: Stand-ins when the schema names no classes (any such values are allowed).
SYNTHETIC_IDS: list[Any] = [0, 1, 2, 3, 4]
SYNTHETIC_NAMES: list[Any] = ["cat", "dog", "bird"]
#: Largest integer each float dtype stores exactly.
EXACT_INT = {"float16": 2 ** 11, "float32": 2 ** 24, "float64": 2 ** 53}


def domain(label: Label) -> tuple[list[Any], bool]:
    """(class values in the encoding's own terms, whether the schema pins them down)."""
    n = label.n_classes
    if label.encoding == "string":
        if label.classes is not None:
            return [str(c) for c in label.classes], True
        return list(SYNTHETIC_NAMES), False
    if label.encoding == "sparse":
        allowed = label.integer_classes()
        if allowed is not None:
            return allowed, True
        if n is not None:
            return list(range(n)), True
        return list(SYNTHETIC_IDS), False
    assert n is not None  # the schema model requires num_classes for one_hot/multi_hot
    return list(range(n)), True


def holds(dtype: str, values: list[Any]) -> bool:
    """True when every value is stored exactly in ``dtype``."""
    ints = [int(v) for v in values]
    if dtype == "bool":
        return set(ints) <= {0, 1}
    if dtype in INTEGERS:
        info = np.iinfo(np.dtype(dtype))
        return min(ints) >= int(info.min) and max(ints) <= int(info.max)
    if dtype in FLOATS:
        return max(abs(v) for v in ints) <= EXACT_INT[dtype]
    return False


def label_dtypes(label: Label, name: str, values: list[Any]) -> list[str]:
    """Allowed dtypes that can carry this label's values (raises Infeasible if none)."""
    if label.encoding == "string":
        allowed = concrete_dtypes(label.dtypes(), default=("string",))
        usable = ["string"] if "string" in allowed else []
    elif label.encoding == "sparse":
        allowed = concrete_dtypes(label.dtypes(), default=("int64", "int32"))
        usable = [d for d in allowed if d != "string" and holds(d, values)]
    else:
        allowed = concrete_dtypes(label.dtypes(), default=("float32",))
        usable = [d for d in allowed if d != "string"]
    if not usable:
        raise Infeasible(f"{name}: no allowed dtype ({', '.join(allowed)}) can carry "
                         f"{label.encoding} labels {values[:5]}; fix the schema's dtype.")
    return usable


def balanced_counts(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Per-class counts as even as possible; every class present when size >= n."""
    base, extra = divmod(size, n)
    counts = np.full(n, base, dtype=np.int64)
    counts[rng.choice(n, size=extra, replace=False)] += 1
    return counts


def assignment(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Class index per element, shuffled."""
    idx = np.repeat(np.arange(counts.size), counts)
    return rng.permutation(idx)


def fractions_ok(label: Label, counts: np.ndarray) -> bool:
    """True when every class meets min_class_fraction (in float, as fractions are reported)."""
    total = int(counts.sum())
    if label.min_class_fraction is None or total == 0:
        return True
    return all(int(c) / total >= label.min_class_fraction for c in counts)


def min_count_for_imbalance(label: Label, n: int) -> int | None:
    """Copies per other class so that one class with a single element is below the fraction."""
    f = label.min_class_fraction
    if f is None or f <= 0 or n < 2:
        return None
    # need 1 / (1 + (n - 1) k) < f  <=>  k > (1/f - 1) / (n - 1); then settle it in float.
    k = max(int((1 / Fraction(f) - 1) / (n - 1)), 1)
    while not 1 / (1 + (n - 1) * k) < f and k < 10 ** 12:
        k += max(1, k // 1000)  # big steps where +1 no longer moves the float
    return k


def encode(label: Label, values: list[Any], idx: np.ndarray, dtype: str, *,
           column: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
    """Labels for class indices ``idx`` (``-1`` marks a slot a violation will fill)."""
    safe = np.where(idx < 0, 0, idx)
    if label.encoding in ("sparse", "string"):
        chosen = [values[int(i)] for i in safe]
        if label.encoding == "string":
            out = np.array(chosen, dtype=str).reshape(len(chosen))
        else:
            out = np.array(chosen, dtype=np.int64).astype(dtype)
        return out[:, None] if column else out
    n = len(values)
    rows = np.eye(n, dtype=np.float64)[safe] if len(safe) else np.zeros((0, n))
    if label.encoding == "multi_hot" and rng is not None and len(safe):
        # Extra ones only after the class bit, so argmax (the histogram's class) is unchanged.
        after = np.arange(n)[None, :] > safe[:, None]
        rows = np.where(after & (rng.random(rows.shape) < 0.3), 1.0, rows)
    return rows.astype(dtype if dtype != "bool" else bool)
