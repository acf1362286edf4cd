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
from datacheck.rules.model.smoke import MUST_FALL_TO, judge_smoke

#: Training steps on the one batch, per learning rate tried.
SMOKE_STEPS = 30
#: Examples in the batch.
SMOKE_BATCH = 32
#: Adam learning rates tried in turn, each on a fresh clone for ``steps`` steps: a healthy
#: model with batch norm, dropout or global pooling can need another rate to overfit one
#: batch in time, and one slow rate is no evidence of a bug.
SMOKE_RATES = (3e-3, 1e-2, 1e-3)
SMOKE_LR = SMOKE_RATES[0]


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:240]}"


def _ordered(arrays: dict[str, np.ndarray], targets: list[Any], n: int) -> Any:
    """One array, or a list in the order of the model's inputs/outputs (as fit() takes them)."""
    from datacheck.rules.model.judge import pair

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
    return judge_smoke(stats, losses, n, len(losses), next(iter(data.labels)),
                       SMOKE_RATES), stats


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
