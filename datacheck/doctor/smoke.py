"""Smoke test: can a fresh copy of the model overfit one small batch?

A model that cannot drive the loss down on 32 examples it sees over and over
has a bug in the data or the wiring. The user's model is never touched: a
clone (same architecture, fresh weights) is compiled with the same loss.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from datacheck.doctor.data_info import DataInfo
from datacheck.doctor.model_info import ModelInfo
from datacheck.report.violation import Violation

#: Training steps on the one batch, per learning rate tried.
SMOKE_STEPS = 30
#: Examples in the batch.
SMOKE_BATCH = 32
#: Adam learning rates tried in turn, each on a fresh clone for ``steps`` steps: a healthy
#: model with batch norm, dropout or global pooling can need another rate to overfit one
#: batch in time, and one slow rate is no evidence of a bug.
SMOKE_RATES = (3e-3, 1e-2, 1e-3)
SMOKE_LR = SMOKE_RATES[0]
#: The loss must end below this fraction of where it started.
MUST_FALL_TO = 0.7


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:240]}"


def _ordered(arrays: dict[str, np.ndarray], targets: list[Any], n: int) -> Any:
    """One array, or a list in the order of the model's inputs/outputs (as fit() takes them)."""
    from datacheck.doctor.checks import pair

    if len(arrays) == 1 or len(targets) <= 1:
        return next(iter(arrays.values()))[:n]
    index = pair(list(arrays), targets)
    return [arrays[name][:n] for name in sorted(arrays, key=lambda k: index.get(k, len(index)))]


def smoke_test(keras_model: Any, model: ModelInfo, data: DataInfo, *, loss: Any = None,
               steps: int = SMOKE_STEPS, batch: int = SMOKE_BATCH
               ) -> tuple[list[Violation], dict[str, Any]]:
    """Train a clone on one batch for ``steps`` steps; a ``not_learning`` violation if it can't.

    >>> found, stats = smoke_test(model, read_model(model), data_info)  # doctest: +SKIP
    >>> stats["losses"][0] > stats["losses"][-1]  # doctest: +SKIP
    True
    """
    import keras

    chosen = loss if loss is not None else (
        getattr(keras_model, "loss", None) if getattr(keras_model, "compiled", False) else None)
    if chosen is None:
        return [], {"skipped": "the model is not compiled and no loss was given (loss=...)"}
    if not data.features or not data.labels:
        return [], {"skipped": "the data has no labels to fit"}
    try:
        keras.models.clone_model(keras_model)
    except Exception as exc:  # subclassed models cannot always be cloned
        return [], {"skipped": f"cannot clone the model ({_first_line(exc)})"}
    n = min(batch, data.elements)
    x, y = _ordered(data.features, model.inputs, n), _ordered(data.labels, model.outputs, n)
    stats: dict[str, Any] = {"steps": steps, "batch": n, "learning_rate": SMOKE_RATES[0]}
    losses: list[float] = []
    attempts: list[dict[str, Any]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for rate in SMOKE_RATES:
            losses, error = _fit_one_batch(keras_model, chosen, rate, x, y, steps)
            attempts.append({"learning_rate": rate, "steps": len(losses),
                             "ratio": _ratio(losses)})
            stats["learning_rate"] = rate
            if error is not None:
                stats["error"] = error
                break
            if _fell(losses):
                break
    stats["attempts"] = attempts
    stats["losses"] = [round(v, 6) if math.isfinite(v) else str(v) for v in losses]
    keras_warnings = list(dict.fromkeys(str(w.message).splitlines()[0][:200] for w in caught
                                        if "keras" in str(w.filename)))
    if keras_warnings:
        stats["keras_warnings"] = keras_warnings[:5]
    return _judge(stats, losses, n, len(losses), next(iter(data.labels))), stats


def _fell(losses: list[float]) -> bool:
    return bool(losses) and math.isfinite(losses[-1]) and losses[0] > 0 \
        and losses[-1] <= MUST_FALL_TO * losses[0]


def _ratio(losses: list[float]) -> float | None:
    if not losses or not losses[0] or not math.isfinite(losses[-1]):
        return None
    return round(losses[-1] / losses[0], 4)


def _fit_one_batch(keras_model: Any, loss: Any, rate: float, x: Any, y: Any,
                   steps: int) -> tuple[list[float], str | None]:
    """Losses of a fresh clone trained ``steps`` steps on (x, y) (fewer if the loss turns
    non-finite). Returns Keras' error as one line, if any."""
    import keras

    losses: list[float] = []
    try:
        clone = keras.models.clone_model(keras_model)
        clone.compile(optimizer=keras.optimizers.Adam(rate), loss=loss)
        for _ in range(steps):
            value = clone.train_on_batch(x, y)
            losses.append(float(np.ravel(np.asarray(value, dtype=np.float64))[0]))
            if not math.isfinite(losses[-1]):
                break
    except Exception as exc:  # whatever Keras raises is the finding: one line of it
        return losses, _first_line(exc)
    return losses, None


def _judge(stats: dict[str, Any], losses: list[float], n: int, steps: int,
           name: str) -> list[Violation]:
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
        f"batch of {n}, and no learning rate tried ({', '.join(f'{r:g}' for r in SMOKE_RATES)}) "
        "did better; a model that cannot overfit one batch has a bug in the data or the "
        "wiring (labels, loss, final activation, input scale).",
        observed={"first": first, "last": last}, expected=f"last <= {MUST_FALL_TO} x first",
        where=where)]
