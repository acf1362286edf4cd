"""A Keras callback that checks batches during ``fit`` and writes a report per epoch.

Two sources of batches (``batches=``):

- ``"trained"``: the batches ``fit`` trains on, judged inside the train step by
  ``validate()``'s graph judge (``backends.tf.step_judge``). The data is read
  once, and the step pays only for the judge's ops. TensorFlow backend only,
  with the step not XLA-compiled and no ``tf.distribute`` strategy.
- ``"copy"``: Keras does not hand callbacks its batches, so the callback reads
  its own copy of the data (the same arrays or the same tf.data pipeline,
  augmentation included) and checks one batch of it after a random fraction
  ``rate`` of training steps. Where TensorFlow is installed, a batch is judged
  by the graph judge (``backends.tf.batch_judge``); the numpy engine judges
  instead with ``dataset_rules=True`` (the dataset rules need every sampled
  batch's summary) or without TensorFlow.

``"auto"`` (the default) takes ``"trained"`` where ``rate=1.0`` and the model
allows it, else ``"copy"``. Importing this module imports Keras.
"""

from __future__ import annotations

import importlib.util
import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np

from datacheck.data import DEFAULT_BATCH_SIZE, bind, iter_batches
from datacheck.engine.collector import Collector
from datacheck.errors import DatacheckError, ValidationError
from datacheck.report.report import Report
from datacheck.schema.io import load_schema
from datacheck.schema.model import Schema

log = logging.getLogger("datacheck")
ON_VIOLATION = ("warn", "stop", "raise")
BATCHES = ("auto", "trained", "copy")
#: Seconds between two reads of the trained batches' findings (and always at an epoch's end):
#: a read is a device-to-host copy each step would pay, and a warning late by this is on time.
READ_EVERY_S = 0.5
#: ``where`` of dataset-scope findings judged on the sample.
SAMPLE = "sampled batches"


def _is_dataset(data: Any) -> bool:
    from datacheck.api import is_tf_dataset

    return is_tf_dataset(data)


class _Source:
    """Endless batches ({name: ndarray}) from arrays, a tf.data.Dataset or an iterable."""

    def __init__(self, schema: Schema, data: Any, batch_size: int) -> None:
        self.schema = schema
        self.data = data
        self.batch_size = batch_size
        self.index = 0
        self.offset = 0
        self._it: Iterator[Any] | None = None

    def _fresh(self) -> Iterator[dict[str, np.ndarray]]:
        if _is_dataset(self.data):
            from datacheck.backends.tf.structure import detect_batched, namer, specs_by_name

            dataset = self.data
            specs = specs_by_name(self.schema, dataset.element_spec)
            if not detect_batched(self.schema, specs):
                dataset = dataset.batch(self.batch_size)
            to_named = namer(self.schema, dataset.element_spec)
            return ({k: np.asarray(v) for k, v in to_named(e).items()}
                    for e in dataset.as_numpy_iterator())
        if isinstance(self.data, (dict, tuple, list, np.ndarray)):
            return iter_batches(bind(self.schema, self.data), self.batch_size)
        return (bind(self.schema, element) for element in self.data)

    def next(self) -> tuple[int, int, dict[str, np.ndarray]]:
        """(batch index, element offset, batch) of the next batch; starts over at the end."""
        for attempt in range(2):
            if self._it is None:
                self._it = self._fresh()
            try:
                batch = next(self._it)
                break
            except StopIteration:
                self._it = None
                self.index = self.offset = 0
                if attempt:
                    raise DatacheckError("ValidationCallback: the data to sample is empty") \
                        from None
        index, offset = self.index, self.offset
        self.index += 1
        self.offset += max((a.shape[0] if a.ndim else 1 for a in batch.values()), default=0)
        return index, offset, batch


class ValidationCallback(keras.callbacks.Callback):
    """Check the batches of ``model.fit`` against a schema while the model trains.

    ``batches``: ``"trained"`` judges every batch the model trains on, inside
    its train step (``data`` is not read and may be None); ``"copy"`` samples
    batches of ``data``; ``"auto"`` is ``"trained"`` where ``rate=1.0`` and the
    model allows it (TensorFlow backend, no ``jit_compile``, no distribution
    strategy), else ``"copy"``. ``data``: arrays (dict/tuple), a tf.data.Dataset
    or an iterable of batches, the same data ``fit`` trains on; ``rate``:
    fraction of training steps after which one batch of the copy is checked (at
    least ``min_batches`` per epoch); ``report_path``: where each
    epoch's JSON report goes (``{epoch}`` is filled in); ``on_violation``:
    ``"warn"`` (log), ``"stop"`` (finish the epoch, then stop training) or
    ``"raise"`` (ValidationError at once). Dataset-scope rules (class balance,
    mean/std) are judged on the sample only with ``dataset_rules=True``: a
    few batches are not the dataset. Reports are kept in ``.reports``, and
    ``logs["datacheck_violating_batches"]`` (hence the History) counts the
    judged batches with a finding (an error or a warning).

    >>> cb = ValidationCallback("digits", (x, y), rate=0.1,
    ...                         report_path="reports/epoch{epoch}.json")  # doctest: +SKIP
    >>> model.fit(x, y, epochs=3, callbacks=[cb])  # doctest: +SKIP
    """

    def __init__(self, schema: str | Path | dict[str, Any] | Schema, data: Any, *,
                 rate: float = 0.1, batch_size: int = DEFAULT_BATCH_SIZE,
                 report_path: str | Path | None = None, on_violation: str = "warn",
                 min_batches: int = 1, seed: int = 0, dataset_rules: bool = False,
                 batches: str = "auto") -> None:
        super().__init__()
        if not 0.0 <= rate <= 1.0:
            raise DatacheckError(f"ValidationCallback: rate must be in [0, 1], got {rate}")
        if on_violation not in ON_VIOLATION:
            raise DatacheckError(f"ValidationCallback: on_violation must be one of "
                                 f"{', '.join(ON_VIOLATION)}; got {on_violation!r}")
        if batches not in BATCHES:
            raise DatacheckError(f"ValidationCallback: batches must be one of "
                                 f"{', '.join(BATCHES)}; got {batches!r}")
        if batches == "trained" and (rate != 1.0 or dataset_rules):
            raise DatacheckError("ValidationCallback: batches='trained' judges every batch "
                                 "without summaries; leave rate=1.0 and dataset_rules=False, "
                                 "or sample a copy with batches='copy'")
        if data is None and batches == "copy":
            raise DatacheckError("ValidationCallback: batches='copy' needs the data to sample")
        self.batches = batches
        self._trained: Any = None  # the StepJudge while fit's batches are judged in its step
        self._read_at = 0.0
        self.schema = load_schema(schema)
        self.rate = rate
        self.report_path = None if report_path is None else str(report_path)
        self.on_violation = on_violation
        self.min_batches = min_batches
        self.dataset_rules = dataset_rules
        self.reports: list[Report] = []
        self._source = _Source(self.schema, data, batch_size)
        self._graph_judge: Any = None
        self._pipeline_judge: Any = None
        if data is not None and not dataset_rules \
                and importlib.util.find_spec("tensorflow") is not None:
            from datacheck.backends.tf.batch_judge import BatchJudge, PipelineJudge

            if _is_dataset(data):
                self._pipeline_judge = PipelineJudge(self.schema, data, batch_size)
            else:
                self._graph_judge = BatchJudge(self.schema)
        self._random = random.Random(seed)
        self._collector = Collector(self.schema, input="<fit>")
        self._sampled = 0
        self._bad = 0
        self._errors_found = False
        self._steps = 0
        self._warned: set[tuple[str, str]] = set()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.batches == "copy" or (self.batches == "auto" and (
                self.rate != 1.0 or self.dataset_rules)):
            return
        if keras.backend.backend() != "tensorflow":  # and TensorFlow may not be installed
            why_not: str | None = f"the {keras.backend.backend()} backend runs its own step"
        else:
            from datacheck.backends.tf.step_judge import step_judging_possible

            why_not = step_judging_possible(self.model)
        if why_not is not None:
            if self.batches == "trained" or self._source.data is None:
                raise DatacheckError(f"ValidationCallback: cannot judge the batches fit trains "
                                     f"on: {why_not}; pass the training data and "
                                     f"batches='copy' to sample a copy of it")
            return
        from datacheck.backends.tf.step_judge import StepJudge, attach

        self._trained = StepJudge(self.schema, raising=self.on_violation == "raise")
        attach(self.model, self._trained, self._unwrap, fit=self.params)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._unwrap()

    def _unwrap(self) -> None:
        """The model's own train step again (after fit, or when an error leaves fit)."""
        if self._trained is None:
            return
        from datacheck.backends.tf.step_judge import detach

        detach(self.model, self._trained)
        self._trained = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._collector = Collector(self.schema, input="<fit>")
        if self._graph_judge is not None:
            self._graph_judge.runs.clear()  # as the new collector's: runs start per epoch
        if self._trained is not None:
            self._trained.start_epoch()
            self._read_at = time.monotonic()
        self._sampled = 0
        self._bad = 0
        self._errors_found = False
        self._steps = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._steps += 1
        if self._trained is not None:
            now = time.monotonic()
            if now - self._read_at >= READ_EVERY_S:
                self._read_at = now
                self._take_trained_findings()
        elif self._random.random() < self.rate:
            self._check_one()

    def _take_trained_findings(self) -> None:
        assert self._trained is not None
        bad, found = self._trained.take_findings()
        if bad:
            self._collector.add_judged(found, 0, batches=0)
            self._verdict(found, bad)

    def _check_one(self) -> None:
        if self._pipeline_judge is not None:
            judged = self._pipeline_judge.next()
            if judged is None:
                raise DatacheckError("ValidationCallback: the data to sample is empty")
            found, elements = judged
            self._collector.add_judged(found, elements)
        else:
            index, offset, arrays = self._source.next()
            found = self._judge(arrays, index, offset)
        self._sampled += 1
        self._verdict(found, 1)

    def _verdict(self, found: list[Any], batches: int) -> None:
        """Count, raise, stop or warn for the violations of ``batches`` judged batches."""
        errors = [v for v in found if v.severity == "error"]
        self._bad += batches if found else 0  # batches with a finding, warnings included
        self._errors_found = self._errors_found or bool(errors)
        if errors and self.on_violation == "raise":
            self._unwrap()
            raise ValidationError(errors, self.schema.name)
        for v in found:
            if (v.feature, v.code) not in self._warned:
                self._warned.add((v.feature, v.code))
                log.warning("datacheck: %s", v.message)

    def _judge(self, arrays: dict[str, np.ndarray], index: int,
               offset: int) -> list[Any]:
        missing = [name for name in self.schema.names() if name not in arrays
                   and not (self.schema.features.get(name) or self.schema.labels[name]).optional]
        if self._graph_judge is None or missing:  # the numpy engine names what is missing
            return self._collector.add_batch(arrays, index, offset)
        found = self._graph_judge(arrays, index, offset)
        rows = max((np.shape(a)[0] if np.ndim(a) else 1 for a in arrays.values()), default=0)
        self._collector.add_judged(found, rows)
        return found

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._trained is not None:
            self._take_trained_findings()
            self._sampled, elements = self._trained.totals()
            self._collector.add_judged([], elements, batches=self._sampled)
        while self._trained is None and self._sampled < self.min_batches:
            self._check_one()
        report = self._collector.finish(where=SAMPLE)
        if not self.dataset_rules:
            report.violations = [v for v in report.violations if v.where != SAMPLE]
        if self.on_violation == "raise" and not report.ok:
            self._unwrap()
            raise ValidationError(report.errors, self.schema.name)
        report.kind = "fit"
        report.stats.update({"epoch": epoch, "steps": self._steps,
                             "judged_batches": "trained" if self._trained is not None else "copy",
                             "sampled_batches": self._sampled, "violating_batches": self._bad,
                             "rate": self.rate})
        report.mark_input("<fit>", "ok" if report.ok else "violating")
        self.reports.append(report)
        # Set here, not per batch: Keras leaves the epoch at once when a batch sets it.
        if self.on_violation == "stop" and self._errors_found and self.model is not None:
            self.model.stop_training = True
        if self.report_path is not None:
            path = Path(self.report_path.format(epoch=epoch))
            path.parent.mkdir(parents=True, exist_ok=True)
            report.write_json(path)
        if logs is not None:
            logs["datacheck_violating_batches"] = self._bad
