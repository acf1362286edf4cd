"""The model <-> data rules: pair data with model inputs and outputs, run every rule, dedupe.

Input rules live in ``inputs``, label/loss/head rules in ``labels``,
balance and order in ``balance``, the smoke-test verdict in ``smoke``; this module decides
which apply to which pair and merges the doctor's findings with the core
schema check's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from datacheck.rules.model.balance import balance_violations, order_violations
from datacheck.rules.model.inputs import (
    input_shape_violations,
    scale_violations,
    value_violations,
)
from datacheck.rules.model.labels import Pairing, pairing_violations
from datacheck.rules.violation import SEVERITY, Violation
from datacheck.schema.model import Schema

if TYPE_CHECKING:
    from datacheck.doctor.data_info import DataInfo
    from datacheck.doctor.model_info import ModelInfo


#: A doctor finding makes the core check's findings of these codes (same feature) redundant.
SUPERSEDES: dict[str, frozenset[str]] = {
    "input_shape": frozenset({"rank", "shape", "layout"}),
    "unnormalized": frozenset({"range"}),
    "double_normalized": frozenset({"range"}),
    "loss_mismatch": frozenset({"label_encoding"}),
}


def pair(names: Sequence[str], targets: Sequence[Any]) -> dict[str, int]:
    """Data name -> index of the model input/output it feeds: by name, then in order."""
    target_names = [str(getattr(t, "name", "")) for t in targets]
    out = {n: target_names.index(n) for n in names if n in target_names}
    free = [i for i in range(len(targets)) if i not in out.values()]
    for name in names:
        if name not in out and free:
            out[name] = free.pop(0)
    return out


def find_violations(model: ModelInfo, data: DataInfo, schema: Schema | None) -> list[Violation]:
    """Every model <-> data incompatibility the doctor can see without training."""
    out: list[Violation] = []
    inputs = pair(list(data.feature_summaries), model.inputs)
    for name, summary in data.feature_summaries.items():
        found = value_violations(name, summary)
        out += found
        if any(v.code == "dtype" for v in found):
            continue
        if name in inputs:
            out += input_shape_violations(name, summary, model.inputs[inputs[name]],
                                          model.channels_first, model.adjusts_rank)
        out += scale_violations(name, summary, model)
    outputs = pair(list(data.label_facts), model.outputs)
    for name, facts in data.label_facts.items():
        index = outputs.get(name)
        output = model.outputs[index] if index is not None else None
        loss = model.losses[index] if index is not None and index < len(model.losses) else (
            model.losses[0] if len(model.losses) == 1 else None)
        label = schema.labels.get(name) if schema is not None else None
        pairing = Pairing(facts, output, loss, label, complete=data.exhausted)
        found = pairing_violations(pairing)
        out += found
        regression_head = pairing.family is None and output is not None and \
            output.units == 1 and output.activation == "linear"
        if facts.kind not in ("sparse", "one_hot", "soft") or pairing.family == "regression" or \
                regression_head or any(v.code == "nonfinite" for v in found):
            continue
        n_expected = label.n_classes if label is not None and label.n_classes else (
            None if output is None or output.units is None else max(output.units, 2))
        out += balance_violations(facts, n_expected)
        out += order_violations(facts, from_dataset=data.sampled_batches is not None,
                                exhausted=data.exhausted, sampled_batches=data.sampled_batches,
                                batch_size=data.batch_size, n_expected=n_expected)
    return out


def merge_core(doctor: list[Violation], core: list[Violation]) -> list[Violation]:
    """Doctor findings plus the core check's, without saying the same thing twice.

    Same (feature, code): the doctor's finding stays (it knows the model) unless the
    core's is more severe. Core findings superseded by a doctor code are dropped.
    """
    keyed = {(v.feature, v.code): i for i, v in enumerate(doctor)}
    merged = list(doctor)
    covered = {(v.feature, c) for v in doctor for c in SUPERSEDES.get(v.code, ())}
    for v in core:
        key = (v.feature, v.code)
        if key in covered:
            continue
        if key in keyed:
            mine = merged[keyed[key]]
            if SEVERITY.get(v.severity, 9) < SEVERITY.get(mine.severity, 9):
                merged[keyed[key]] = v
            continue
        keyed[key] = len(merged)
        merged.append(v)
    return merged
