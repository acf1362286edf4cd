"""ValidatedDataset: what `validate()` returns — a real tf.data.Dataset that also explains itself.

It stays a ``tf.data.Dataset`` end to end: iterating it gives TensorFlow's own
iterator (Keras' epoch loop, tf.distribute and tf.data service need one, see
FINDINGS.md), a subclass that only turns the graph assertion into
``datacheck.ValidationError`` when *this* object is iterated eagerly. After
further transformations the ``InvalidArgumentError`` reads well on its own and
``dc.translate_errors()`` turns it back into the datacheck error.

``report()`` returns what was found: the collected report in collect mode,
every pass with its dropped elements in drop mode (read from the drop log,
which the graph writes wherever it runs).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import weakref
from collections.abc import Callable
from typing import Any

import tensorflow as tf
from tensorflow.python.data.ops import iterator_ops
from tensorflow.python.framework import ops

from datacheck.backends.tf.droplog import drop_stats, read_passes
from datacheck.backends.tf.errors import from_tf_error
from datacheck.engine.collector import Collector
from datacheck.errors import DatacheckError, ValidationError
from datacheck.report.report import Report
from datacheck.report.violation import Violation
from datacheck.schema.model import Schema


class ValidatedDataset(tf.data.Dataset):
    """A validated pipeline. Same elements (or fewer, in drop mode) as its input."""

    def __init__(self, inner: tf.data.Dataset, schema: Schema, mode: str,
                 static: list[Violation], collector: Collector | None,
                 log_path: str | None, run_id: str = "", temporary_log: bool = False,
                 as_drop: Callable[[], ValidatedDataset] | None = None,
                 collect_passes: dict[str, int] | None = None) -> None:
        self._inner = inner
        self.schema = schema
        self.mode = mode
        self.static_violations = list(static)
        self.collector = collector
        self.log_path = log_path
        self.run_id = run_id
        self._as_drop = as_drop
        # Counted by collect mode's callback as passes start and end (shared, not copied).
        self.collect_passes = collect_passes if collect_passes is not None else \
            {"started": 0, "complete": 0}
        super().__init__(inner._variant_tensor)
        if temporary_log and log_path:
            # The temporary log goes with the object that can read it.
            weakref.finalize(self, _remove_quietly, log_path)

    def _inputs(self) -> list[tf.data.Dataset]:
        return [self._inner]

    @property
    def element_spec(self) -> Any:
        return self._inner.element_spec

    def __iter__(self) -> Any:
        if not tf.executing_eagerly():
            return super().__iter__()
        with ops.colocate_with(self._variant_tensor):
            return _TranslatingIterator(self)

    def apply(self, transformation_func: Any) -> tf.data.Dataset:
        module = getattr(transformation_func, "__module__", "") or ""
        if self.mode == "collect" and module.endswith("data_service_ops"):
            raise DatacheckError(
                "on_error='collect' cannot run under tf.data service: it gathers batches in "
                "this Python process, which a remote worker cannot call. Use raise, warn or "
                "drop (pure graph) with the service, or dc.check() on the data.")
        return super().apply(transformation_func)

    def save(self, path: str, compression: str | None = None, shard_func: Any = None,
             checkpoint_args: Any = None) -> None:
        """``Dataset.save``; in raise mode nothing is left saved when a batch violates.

        TensorFlow's save hangs when its input raises, so raise mode saves through
        the drop-mode pipeline of the same input and, if anything was dropped,
        removes what was written and raises ``ValidationError`` with every finding.
        (A save on a *transformation* of a raise-mode dataset still hangs in TF.)
        """
        if self.mode != "raise" or self._as_drop is None:
            return super().save(path, compression, shard_func, checkpoint_args)
        guarded = self._as_drop()
        super(ValidatedDataset, guarded).save(path, compression, shard_func, checkpoint_args)
        found = guarded.report()
        if found.violations:
            if tf.io.gfile.exists(path):
                tf.io.gfile.rmtree(path)
            raise ValidationError(found.violations, self.schema.name)
        return None

    def report(self) -> Report:
        """What the pipeline found so far (collect: everything; drop: every dropped element)."""
        if self.collector is not None:
            report = copy.deepcopy(self.collector).finish()
            started, complete = self.collect_passes["started"], self.collect_passes["complete"]
            report.stats["complete_passes"] = complete
            report.stats["partial_passes"] = max(started - complete, 0)
            report.stats["partial"] = started > complete
            report.mark_input("<dataset>", "ok" if report.ok else "violating")
            return report
        report = Report(schema=self.schema.name, violations=list(self.static_violations),
                        kind="validate")
        if self.mode == "drop" and self.log_path:
            passes = read_passes(self.log_path, self.run_id)
            numbered = len(passes) > 1
            for number, entry in enumerate(passes, 1):
                for violation in entry.violations:
                    if numbered:
                        violation = dataclasses.replace(
                            violation, where=f"pass {number}, {violation.where}")
                    report.violations.append(violation)
            report.stats.update(drop_stats(passes))
            report.stats["drop_log"] = self.log_path
        report.mark_input("<dataset>", "ok" if report.ok else "violating")
        return report


class _TranslatingIterator(iterator_ops.OwnedIterator):
    """TensorFlow's own iterator, raising ValidationError instead of InvalidArgumentError."""

    def __init__(self, dataset: ValidatedDataset) -> None:
        self._schema_name = dataset.schema.name
        super().__init__(dataset)

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except tf.errors.InvalidArgumentError as exc:
            translated = from_tf_error(exc, self._schema_name)
            if translated is None:
                raise
            raise translated from None


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
