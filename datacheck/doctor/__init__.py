"""Doctor: find why a Keras model would not learn from this data, before training.

``doctor(model, data)`` reads the model (input shapes, output heads,
scaling layers, loss), summarizes the data, and reports every
incompatibility as a Violation with a stable code and a one-line fix.
Keras and TensorFlow are imported only when it runs.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from datacheck.doctor.data_info import MAX_BATCHES, DataInfo, iter_data_batches, read_data
from datacheck.doctor.smoke import SMOKE_STEPS
from datacheck.report.report import Report
from datacheck.report.violation import SEVERITY
from datacheck.rules.model.judge import find_violations, merge_core
from datacheck.schema.model import Schema

__all__ = ["MAX_BATCHES", "SMOKE_STEPS", "doctor"]


def doctor(model: Any, data: Any, schema: str | Path | dict[str, Any] | Schema | None = None,
           *, smoke: bool = False, loss: Any = None, max_batches: int = MAX_BATCHES,
           smoke_steps: int = SMOKE_STEPS) -> Report:
    """Check that ``model`` can learn from ``data``; returns a Report of kind "doctor".

    ``model``: a keras.Model (compiled or not) or a path to a .keras file.
    ``data``: ``(x, y)`` numpy arrays, a dict of arrays, a path to an .npz, or a
    tf.data.Dataset (only the first ``max_batches`` batches are read).
    ``schema``: also run the schema check on the data. ``loss``: the loss to
    assume when the model is not compiled (or to override its loss).
    ``smoke``: also fit a copy of the model on one batch and check the loss falls.

    >>> report = dc.doctor(model, (x, y))  # doctest: +SKIP
    >>> report.codes()  # doctest: +SKIP
    ['loss_mismatch']
    """
    from datacheck.doctor.model_info import load_model, read_model
    from datacheck.errors import DatacheckError
    from datacheck.schema.io import load_schema

    if smoke_steps < 1 or max_batches < 1:
        raise DatacheckError(f"doctor: smoke_steps and max_batches must be >= 1, got "
                             f"{smoke_steps} and {max_batches}")
    resolved = load_schema(schema) if schema is not None else None
    keras_model = load_model(model)
    info = read_model(keras_model, loss)
    rank = len(info.inputs[0].shape) if len(info.inputs) == 1 else None
    data_info = read_data(data, resolved, [i.name for i in info.inputs],
                          [o.name for o in info.outputs], model_rank=rank,
                          max_batches=max_batches)
    found = find_violations(info, data_info, resolved)
    report = Report(schema=resolved.name if resolved else None, kind="doctor")
    if resolved is not None:
        core = _core_check(data_info, resolved)
        found = merge_core(found, core.violations)
        report.summaries = core.summaries
    else:
        report.summaries = {**{k: s.to_dict() for k, s in data_info.feature_summaries.items()},
                            **{k: f.summary.to_dict() for k, f in data_info.label_facts.items()}}
    notes = _notes(info, data_info)
    if smoke:
        from datacheck.doctor.smoke import smoke_test

        smoke_found, smoke_stats = smoke_test(keras_model, info, data_info, loss=loss,
                                              steps=smoke_steps)
        found += smoke_found
        report.stats["smoke"] = smoke_stats
        notes.append(_smoke_note(smoke_stats))
    report.extend(sorted(found, key=lambda v: SEVERITY.get(v.severity, 9)))
    report.mark_input(data_info.source, "ok" if report.ok else "violating")
    report.stats.update({
        "title": f"datacheck doctor: {info.describe()}",
        "model": info.name, "data": data_info.describe(), "elements": data_info.elements,
        "losses": [loss_info.describe() if loss_info else None for loss_info in info.losses],
        "sampled_batches": data_info.sampled_batches, "exhausted": data_info.exhausted,
        "notes": notes,
    })
    return report


def _core_check(data: DataInfo, schema: Schema) -> Report:
    from datacheck.engine.collector import check_batches

    return check_batches(schema, iter_data_batches(data), source=data.source)


def _notes(info: Any, data: DataInfo) -> list[str]:
    notes = [data.describe()]
    if data.sampled_batches is not None and not data.exhausted:
        notes.append(f"Only the first {data.sampled_batches} batches were read "
                     "(max_batches=...); class balance and order are judged on them.")
    if not info.inputs:
        notes.append("The model is not built (no Input): input shape checks were skipped.")
    elif info.inputs[0].name.startswith("first layer"):
        notes.append("The model is not built (no Input): only the input rank its first layer "
                     "needs was checked.")
    if not any(info.losses):
        notes.append("The model is not compiled and no loss was given: loss checks were "
                     "skipped (pass loss=... or --loss).")
    return notes


def _smoke_note(stats: dict[str, Any]) -> str:
    if "skipped" in stats:
        return f"Smoke test skipped: {stats['skipped']}."
    losses = stats.get("losses", [])
    if "error" in stats or not losses:
        return "Smoke test: fit on one batch failed (see not_learning)."
    return (f"Smoke test: loss {losses[0]} -> {losses[-1]} in {len(losses)} steps on one batch "
            f"of {stats['batch']}.")


class _CallableModule(types.ModuleType):
    """``import datacheck.doctor`` before ``dc.doctor`` leaves the package bound as
    ``datacheck.doctor``; calling it still runs the doctor."""

    def __call__(self, *args: Any, **kwargs: Any) -> Report:
        return doctor(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
