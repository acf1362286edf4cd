"""not_learning: the verdict on the doctor's smoke test (fit one batch on fresh clones)."""

from __future__ import annotations

import math
from typing import Any

from datacheck.rules.registry import RULES
from datacheck.rules.violation import Violation

#: The loss must fall to this fraction of its first value for the model to count as learning.
MUST_FALL_TO = RULES["not_learning"].params["must_fall_to"]


def judge_smoke(stats: dict[str, Any], losses: list[float], n: int, steps: int, name: str,
                rates: tuple[float, ...]) -> list[Violation]:
    """not_learning: the verdict on one-batch fits (Keras' error, a non-finite or flat loss)."""
    where = f"smoke test ({steps} steps on {n} examples)"
    if "error" in stats:
        return [Violation(
            "not_learning", name,
            f"{name}: not_learning: fitting one batch of {n} failed after {len(losses)} steps: "
            f"{stats['error']}. Fix the other findings first; this is Keras' own error.",
            observed=stats["error"], expected="fit runs", where=where)]
    if not losses:
        return []
    first, last = losses[0], losses[-1]
    if not math.isfinite(last):
        return [Violation(
            "not_learning", name,
            f"{name}: not_learning: the loss became {last} at step {len(losses)} while fitting "
            f"one batch of {n} (first loss {first:.4g}). Look for NaN/Inf in the data, labels "
            "out of range, or a loss that does not fit the head.",
            observed=str(last), expected="a finite, falling loss", where=where)]
    stats["ratio"] = round(last / first, 4) if first else None
    if first > 0 and last <= MUST_FALL_TO * first:
        return []
    if min(first, last) < 0:
        return [Violation(
            "not_learning", name,
            f"{name}: not_learning: the loss went {first:.4g} -> {last:.4g} while fitting one "
            f"batch of {n}: a crossentropy below zero means targets outside what the loss "
            "accepts (class ids fed to binary_crossentropy?).",
            observed={"first": first, "last": last}, expected="a loss >= 0", where=where)]
    return [Violation(
        "not_learning", name,
        f"{name}: not_learning: the loss went {first:.4g} -> {last:.4g} in {steps} steps on one "
        f"batch of {n}, and no learning rate tried ({', '.join(f'{r:g}' for r in rates)}) "
        "did better; a model that cannot overfit one batch has a bug in the data or the "
        "wiring (labels, loss, final activation, input scale).",
        observed={"first": first, "last": last}, expected=f"last <= {MUST_FALL_TO} x first",
        where=where)]
