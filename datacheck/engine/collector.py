"""The run engine: judge numpy batches (arrays, .npz files, consumed datasets) and collect."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from datacheck.backends.numpy.evaluate import evaluate
from datacheck.backends.numpy.views import NumpyLabelView, NumpyTensorView, dtype_name
from datacheck.report.report import Report
from datacheck.report.violation import Violation
from datacheck.rules.base import ELEMENTS_RE, SHOWN_INDICES
from datacheck.rules.dataset import empty_violation
from datacheck.rules.judge import dataset_violations, pair_checks, static_checks, value_checks
from datacheck.rules.quality import SharpnessRecord, blurry_violations, sharpness
from datacheck.rules.structure import missing_feature, unequal_batch_sizes
from datacheck.rules.values import with_element_totals
from datacheck.schema.model import Schema
from datacheck.summary import LabelSummary, TensorSummary

#: Violations kept per (input, feature, code); the rest are counted, not listed.
MAX_PER_CODE = 3

#: A capping key: (input or None for dataset scope, feature, code).
Key = tuple[str | None, str, str]


class Collector:
    """Accumulates one run: capped violations, merged summaries, every batch counted.

    Capping is per (input, feature, code), never across inputs, so every
    violating input keeps its own listed reason; ``input`` names the input
    whose findings this collector records unless :meth:`add` is told another.
    Used by ``check()`` on arrays, by the TF backend's collect mode and by file scans.
    """

    def __init__(self, schema: Schema, report: Report | None = None,
                 max_per_code: int = MAX_PER_CODE, input: str | None = None,
                 batched: bool = True) -> None:
        self.schema = schema
        self.batched = batched  # False: every batch is one element of unbatched data
        self.report = report if report is not None else Report(schema=schema.name)
        self.summaries: dict[str, Any] = {}
        self.max_per_code = max_per_code
        self.input = input
        self.occurrences: Counter[Key] = Counter()
        self.listed: Counter[Key] = Counter()
        self.first: dict[Key, Violation] = {}
        self.batches = 0
        self.elements = 0
        self.missing_reported: set[str] = set()
        self.seen: set[tuple[str | None, str, str, str]] = set()
        # Per-element findings over the whole input: (feature, code) -> count, first indices.
        self.element_counts: Counter[tuple[str, str]] = Counter()
        self.element_indices: dict[tuple[str, str], list[int]] = {}
        self.element_inputs: Counter[tuple[str, str]] = Counter()  # files with such elements
        self.present = False  # whether any schema name was in the data
        # Per-image sharpness for the dataset-relative blurry rule (quality: on a feature).
        self.sharpness: dict[str, list[SharpnessRecord]] = {}

    def add(self, violations: list[Violation], input: str | None = None) -> None:
        """Record ``violations`` of ``input`` (default: this collector's input), capped."""
        owner = input if input is not None else self.input
        for v in violations:
            if v.input is None and owner is not None:
                v = replace(v, input=owner)
            self.record(v)

    def record(self, v: Violation) -> bool:
        """Count ``v`` (already attributed) and list it unless capped; True when listed."""
        key = (v.input, v.feature, v.code)
        self.occurrences[key] += 1
        # The same finding in every batch (a wrong dtype, say) is listed once per input.
        generic = (v.input, v.feature, v.code,
                   ELEMENTS_RE.sub("", v.message.replace(str(v.where), "")))
        if generic in self.seen or self.listed[key] >= self.max_per_code:
            return False
        self.seen.add(generic)
        self.listed[key] += 1
        self.report.add(v)
        self.first.setdefault(key, v)
        return True

    def add_batch(self, batch: dict[str, np.ndarray], batch_index: int, offset: int = 0,
                  source: str | None = None) -> list[Violation]:
        """Judge one batch; returns its violations (also recorded, capped)."""
        found: list[Violation] = []
        sizes = {name: (arr.shape[0] if arr.ndim else 1) for name, arr in batch.items()}
        for name in self.schema.names():
            optional = (self.schema.features.get(name) or self.schema.labels[name]).optional
            if name not in batch:
                if not optional and name not in self.missing_reported:
                    self.missing_reported.add(name)
                    found.append(missing_feature(name, sorted(batch), source or "data"))
                continue
            self.present = True
            arr = np.asarray(batch[name])
            if arr.ndim == 0:
                arr = arr.reshape(1)
            found += self._add_feature(name, arr, batch_index, offset, source)
        shapes = {name: np.shape(batch[name]) for name in self.schema.names() if name in batch}
        paired, _ = evaluate(pair_checks(self.schema, shapes), batch_index, offset, source,
                             self.batched)
        found += paired
        self.count_elements(found)
        if len(set(sizes.values())) > 1:
            found.append(unequal_batch_sizes(sizes, batch_index))
        self.batches += 1
        self.elements += max(sizes.values(), default=0)
        self.add(found)
        return found

    def add_judged(self, found: list[Violation], elements: int, batches: int = 1) -> None:
        """Record ``batches`` batches that another judge judged (the graph, for
        ValidationCallback), holding ``elements`` elements and the ``found`` violations.

        Counts them like ``add_batch`` but builds no summary: the dataset-scope rules
        do not see them.
        """
        self.present = True
        self.count_elements(found)
        self.batches += batches
        self.elements += elements
        self.add(found)

    def count_elements(self, violations: list[Violation]) -> None:
        """Add per-element findings (``extra["elements"]``) to the input's totals."""
        for v in violations:
            count = v.extra.get("elements") if not v.extra.get("of") else None
            if not count:
                continue
            key = (v.feature, v.code)
            self.element_counts[key] += int(count)
            shown = self.element_indices.setdefault(key, [])
            shown += [i for i in v.extra.get("indices", []) if i not in shown]
            del shown[SHOWN_INDICES:]

    def _add_feature(self, name: str, arr: np.ndarray, batch_index: int, offset: int,
                     source: str | None) -> list[Violation]:
        shape = tuple(int(d) for d in arr.shape)
        static = static_checks(self.schema, name, shape, dtype_name(arr))
        violations, static_ok = evaluate(static, batch_index, offset, source, self.batched)
        summary: TensorSummary | LabelSummary
        if name in self.schema.labels:
            per_value = self.schema.labels[name].encoding == "label_map"
            summary = LabelSummary.from_array(arr, batch_index, per_value=per_value)
        else:
            summary = TensorSummary.from_array(arr)
        merged = self.summaries.get(name)
        self.summaries[name] = summary if merged is None else merged.merge(summary)
        if not static_ok:
            return violations
        if isinstance(summary, LabelSummary):
            run = self.summaries[name].runs.suffix
            view: NumpyTensorView = NumpyLabelView(arr, summary, run)
        else:
            view = NumpyTensorView(arr, summary)
        more, _ = evaluate(value_checks(self.schema, name, view), batch_index, offset, source,
                           self.batched)
        feature = self.schema.features.get(name)
        if feature is not None and feature.quality is not None:
            values = sharpness(feature, view)
            if values is not None:
                self.sharpness.setdefault(name, []).append(SharpnessRecord(
                    self.input, source, batch_index, offset, values, self.batched))
        return violations + more

    def finish(self, where: str = "dataset", dataset: bool = True,
               complete: bool = True) -> Report:
        """Run the dataset-scope rules (unless ``dataset`` is False) and close the report.

        ``complete=False`` (an interrupted scan) runs no rule about the whole: part of
        the data would be judged as if it were all of it (balance, emptiness).
        """
        if dataset and complete:
            self.add_dataset(dataset_violations(self.schema, self.summaries, where))
        self._judge_blurry()
        empty = empty_violation(self.schema, self.elements, where, self.report.violations,
                                present=self.present) if complete else None
        if empty is not None:
            self.add([empty])
        self._restate_element_totals()
        self.report.summaries.update({k: v.to_dict() for k, v in self.summaries.items()})
        self.report.stats.update({"batches": self.batches, "elements": self.elements})
        return self.close()

    def _judge_blurry(self) -> None:
        """Dataset-relative blurry: judged once every image's sharpness is known."""
        for name, records in self.sharpness.items():
            for v in blurry_violations(name, self.schema.features[name], records):
                self.add([v])
                if v.input is not None:
                    self.report.mark_input(v.input, "violating")

    def add_dataset(self, violations: list[Violation]) -> None:
        """Record dataset-scope findings: they belong to no one input."""
        for v in violations:
            self.record(replace(v, input=None) if v.input is not None else v)

    def close(self) -> Report:
        """Write exact counts of what was found but not listed, per input."""
        suppressed = []
        for key, count in self.occurrences.items():
            if key in self.first and count > self.listed[key]:
                self.first[key].extra["occurrences"] = count
            if count > self.listed[key]:
                suppressed.append({"input": key[0], "feature": key[1], "code": key[2],
                                   "occurrences": count, "not_listed": count - self.listed[key]})
        if suppressed:
            self.report.stats["suppressed_violations"] = suppressed
        return self.report

    def _restate_element_totals(self) -> None:
        """The first listed per-element violation of each kind names the input-wide totals."""
        for key, count in self.element_counts.items():
            # The first listed violation of this (feature, code), whichever input it names.
            owner = next((k for k, v in self.first.items() if k[1:] == key), None)
            first = None if owner is None else self.first[owner]
            if owner is None or first is None or first.extra.get("of"):
                continue
            files = self.element_inputs[key]
            scope = (f" of the input in {files} files; indices within the first" if files > 1
                     else " of the input")
            restated = with_element_totals(first, self.schema.features.get(key[0]), count,
                                           self.elements, self.element_indices.get(key, []),
                                           scope)
            self.report.violations = [restated if v is first else v
                                      for v in self.report.violations]
            self.first[owner] = restated


def check_batches(schema: Schema, batches: Iterable[dict[str, np.ndarray]],
                  source: str = "<array>", report: Report | None = None,
                  progress: Any = None) -> Report:
    """Judge a stream of numpy batches and return the report."""
    collector = Collector(schema, report, input=source)
    offset = 0
    for index, batch in enumerate(batches):
        found = collector.add_batch(batch, index, offset,
                                    source=None if source.startswith("<") else source)
        offset += max((np.asarray(a).shape[0] if np.ndim(a) else 1 for a in batch.values()),
                      default=0)
        if progress is not None:
            progress(1)
        collector.report.mark_input(
            source, "violating" if any(v.severity == "error" for v in found) else "ok")
    if collector.batches == 0:
        collector.report.mark_input(source, "ok")
    report = collector.finish(where="dataset" if source.startswith("<") else source)
    if not report.ok:
        report.mark_input(source, "violating")
    return report
