"""Judge the few scalars a Normalize layer keeps about its own output.

The layer measures (on the device) count, non-finite count, finite min/max,
mean and M2 of what it produced. Here they become a
:class:`~datacheck.summary.TensorSummary`, and the core judge decides
(``value_checks`` for ``nonfinite``/``range``/``constant``,
``dataset_violations`` for ``unnormalized``): no rule is written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from datacheck.backends.numpy.evaluate import evaluate
from datacheck.backends.numpy.views import SummaryView
from datacheck.report.violation import Violation
from datacheck.rules.judge import dataset_violations, value_checks
from datacheck.schema.model import Feature, Schema
from datacheck.summary import Moments, TensorSummary

#: Layout of the check vector the layer keeps (one float32 each). The names are
#: TensorSummary's (``mean``/``m2`` are its moments'); the layer packs and reads the vector
#: only by these names (``pack_state``, ``STATE_INDEX``), never by position.
STATE_FIELDS = ("values", "nonfinite", "min", "max", "mean", "m2", "batches", "elements")
STATE_SIZE = len(STATE_FIELDS)
#: Position of each named field in the vector.
STATE_INDEX: dict[str, int] = {name: i for i, name in enumerate(STATE_FIELDS)}


def pack_state(stack: Callable[[list[Any]], Any], **fields: Any) -> Any:
    """The check vector of named fields (all of STATE_FIELDS, by name), stacked by ``stack``.

    >>> pack_state(list, values=4, nonfinite=0, min=-1, max=1, mean=0, m2=4, batches=1,
    ...            elements=2)
    [4, 0, -1, 1, 0, 4, 1, 2]
    """
    if set(fields) != set(STATE_FIELDS):
        raise ValueError(f"a check vector needs exactly {STATE_FIELDS}, got {sorted(fields)}")
    return stack([fields[name] for name in STATE_FIELDS])


def state_dict(state: Any) -> dict[str, float]:
    """Name the entries of a check vector; adds ``std``.

    >>> state_dict([4, 0, -1, 1, 0, 4, 1, 2])["std"]
    1.0
    """
    values = np.asarray(state, dtype=np.float64).reshape(-1)
    out = dict(zip(STATE_FIELDS, (float(v) for v in values), strict=True))
    finite = out["values"] - out["nonfinite"]
    out["std"] = float(np.sqrt(out["m2"] / finite)) if finite > 0 else float("nan")
    return out


def summary_from_state(state: Any, dtype: str = "float32") -> TensorSummary:
    """A TensorSummary holding what the check vector says (no shapes: the layer keeps none)."""
    s = state_dict(state)
    finite = s["values"] - s["nonfinite"]
    summary = TensorSummary(
        elements=int(s["elements"]), values=int(s["values"]), nonfinite=int(s["nonfinite"]),
        min=s["min"] if finite > 0 else float("inf"),
        max=s["max"] if finite > 0 else float("-inf"),
        moments=Moments(np.asarray(finite), np.asarray(s["mean"] if finite > 0 else 0.0),
                        np.asarray(max(s["m2"], 0.0) if finite > 0 else 0.0)),
        batches=int(s["batches"]),
    )
    summary.dtypes[dtype] += max(summary.batches, 1)
    return summary


def judge_state(state: Any, feature: Feature, name: str, where: str,
                hint: str | None = None, dtype: str = "float32") -> list[Violation]:
    """Violations (core codes) for one check vector against the expected output feature.

    >>> v = judge_state([4, 1, 0, 1, .5, .2, 1, 1], Feature(normalization="unit"), "x", "batch 0")
    >>> [x.code for x in v]
    ['nonfinite']
    """
    summary = summary_from_state(state, dtype)
    schema = Schema.model_validate({"name": "normalize", "features": {name: feature}})
    found, _ = evaluate(value_checks(schema, name, SummaryView(summary)), None, source=where)
    found += dataset_violations(schema, {name: summary}, where)
    if hint:
        found = [replace(v, message=f"{v.message} {hint}", extra={**v.extra, "layer": name})
                 for v in found]
    return found
