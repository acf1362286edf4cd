"""ValidatedDataset: what `validate()` returns — a tf.data.Dataset that also explains itself.

Iterating it directly turns datacheck's graph assertion into
``datacheck.ValidationError``; after further transformations TF raises its
own ``InvalidArgumentError`` whose message carries the same text (see
``datacheck.backends.tf.errors.from_tf_error``). ``report()`` returns what
was found: the collected report in collect mode, every dropped element with
its index in drop mode.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import tensorflow as tf

from datacheck.backends.numpy.check import Collector
from datacheck.backends.tf.errors import from_tf_error, parse_record
from datacheck.report.report import Report
from datacheck.report.violation import Violation
from datacheck.schema.model import Schema

DROP_TAG = "datacheck-drop"


class ValidatedDataset(tf.data.Dataset):
    """A validated pipeline. Same elements (or fewer, in drop mode) as its input."""

    def __init__(self, inner: tf.data.Dataset, schema: Schema, mode: str,
                 static: list[Violation], collector: Collector | None,
                 log_path: str | None) -> None:
        self._inner = inner
        self.schema = schema
        self.mode = mode
        self.static_violations = list(static)
        self.collector = collector
        self.log_path = log_path
        self.kept = 0
        super().__init__(inner._variant_tensor)

    def _inputs(self) -> list[tf.data.Dataset]:
        return [self._inner]

    @property
    def element_spec(self) -> Any:
        return self._inner.element_spec

    def __iter__(self) -> _TranslatingIterator:
        return _TranslatingIterator(super().__iter__(), self)

    def report(self) -> Report:
        """What the pipeline found so far (collect: everything; drop: every dropped element)."""
        if self.collector is not None:
            report = copy.deepcopy(self.collector).finish()
            report.mark_input("<dataset>", "ok" if report.ok else "violating")
            return report
        report = Report(schema=self.schema.name, violations=list(self.static_violations),
                        kind="validate")
        if self.mode == "drop" and self.log_path:
            dropped, violations = read_drop_log(self.log_path)
            report.violations += violations
            report.stats["dropped"] = len(dropped)
            report.stats["dropped_indices"] = dropped
            report.stats["kept"] = self.kept
            report.stats["elements"] = self.kept + len(dropped)
        report.mark_input("<dataset>", "ok" if report.ok else "violating")
        return report


class _TranslatingIterator:
    """Iterator that raises ValidationError instead of TF's InvalidArgumentError."""

    def __init__(self, inner: Any, owner: ValidatedDataset) -> None:
        self._inner = inner
        self._owner = owner

    def __iter__(self) -> _TranslatingIterator:
        return self

    def __next__(self) -> Any:
        try:
            element = next(self._inner)
        except tf.errors.InvalidArgumentError as exc:
            translated = from_tf_error(exc, self._owner.schema.name)
            if translated is None:
                raise
            raise translated from None
        first = tf.nest.flatten(element)[0]
        self._owner.kept += int(first.shape[0]) if first.shape.rank else 1
        return element

    @property
    def element_spec(self) -> Any:
        return self._inner.element_spec


def read_drop_log(path: str) -> tuple[list[int], list[Violation]]:
    """Dropped element indices and the violations that caused them, from a drop log."""
    dropped: list[int] = []
    violations: list[Violation] = []
    if not os.path.exists(path):
        return dropped, violations
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith(DROP_TAG):
                parts = line.split("\t")
                if len(parts) >= 4 and parts[3]:
                    dropped += [int(i) for i in parts[3].split(",")]
                continue
            violation = parse_record(line)
            if violation is not None:
                violations.append(violation)
    return sorted(dropped), violations
