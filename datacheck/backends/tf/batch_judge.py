"""Batches judged by the graph judge, as ``validate()`` judges them, for ValidationCallback.

``ValidationCallback`` samples batches of its own copy of the training data. The
numpy engine (``Collector.add_batch``) also builds each batch's summary, about
8 ms for a CIFAR batch of 128. Here ``validate()``'s one-pass verdict decides,
and the findings are built only when it fails:

- ``PipelineJudge``: a tf.data copy is judged inside its own pipeline
  (``validate.judged_batches``), in tf.data's threads, with the scan's
  single-class runs; the callback reads one small verdict per batch.
- ``BatchJudge``: arrays and other batches, judged one at a time by a compiled
  function; single-class runs (``shuffle_window``) are followed across the
  batches judged, as the scan of ``validate()`` follows them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from datacheck.backends.tf import graph
from datacheck.backends.tf.errors import parse_records
from datacheck.backends.tf.lazy import lazy_cond
from datacheck.backends.tf.structure import detect_batched, specs_by_name
from datacheck.backends.tf.validate import judged_batches
from datacheck.report.violation import Violation
from datacheck.schema.model import Schema
from datacheck.summary.labels import RunState, single_class


def _classes(y: np.ndarray) -> np.ndarray:
    """The class of each element: argmax of one-hot rows, else the label (``runs.classes_of``)."""
    if y.ndim >= 2 and y.shape[-1] > 1:
        return np.argmax(y.reshape(y.shape[0], -1), axis=1)
    return y.reshape(-1)


def _class_tensor(key: Any, y: np.ndarray) -> tf.Tensor:
    if y.dtype.kind in "iub" or (y.ndim >= 2 and y.shape[-1] > 1):
        return tf.constant(0 if key is None else key, tf.int64)
    if y.dtype.kind == "f":
        return tf.constant(0.0 if key is None else key, tf.as_dtype(y.dtype))
    return tf.constant("" if key is None else str(key))


class BatchJudge:
    """Judge named numpy batches in graph; returns each batch's violations (``[]`` if none)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        #: Single-class runs per label, as the numpy engine's label summaries keep them.
        self.runs: dict[str, RunState] = {}
        self._judge = tf.function(self._verdict, reduce_retracing=True, autograph=False)

    def run_labels(self, batch: dict[str, np.ndarray]) -> list[str]:
        return [name for name, label in self.schema.labels.items()
                if label.shuffle_window is not None and name in batch]

    def __call__(self, batch: dict[str, np.ndarray], index: int,
                 offset: int) -> list[Violation]:
        runs: dict[str, tuple[tf.Tensor, tf.Tensor]] = {}
        for name in self.run_labels(batch):
            y = np.asarray(batch[name])
            state = self.runs.get(name, RunState()).merge(
                RunState.of_batch(single_class(_classes(y)), index))
            self.runs[name] = state
            runs[name] = (tf.constant(state.suffix, tf.int64), _class_tensor(state.last, y))
        tensors = {name: tf.convert_to_tensor(value) for name, value in batch.items()
                   if name in self.schema.names()}
        ok, text = self._judge(tensors, runs, tf.constant(index, tf.int64),
                               tf.constant(offset, tf.int64))
        return [] if bool(ok) else parse_records(text.numpy().decode("utf-8", "replace"))

    def _verdict(self, tensors: dict[str, tf.Tensor], runs: dict[str, Any], index: tf.Tensor,
                 offset: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        fast = graph.verdict(graph.batch_checks(self.schema, tensors, runs, exact=False))

        def describe() -> tuple[tf.Tensor, tf.Tensor]:
            checks = graph.batch_checks(self.schema, tensors, runs)
            return graph.verdict(checks), graph.records(checks, index, offset)

        ok, text = lazy_cond(fast, lambda: (tf.constant(True), tf.constant("")), describe)
        return ok, text


class PipelineJudge:
    """Endless judged batches of a tf.data pipeline: ``(violations, elements)`` per batch.

    Starts over at the end of the data (a new pass, batch indices from 0), as
    the callback's sampling does; ``None`` when a pass holds no batch at all.
    """

    def __init__(self, schema: Schema, dataset: tf.data.Dataset, batch_size: int) -> None:
        if not detect_batched(schema, specs_by_name(schema, dataset.element_spec)):
            dataset = dataset.batch(batch_size)
        self.judged = judged_batches(dataset, schema).prefetch(2)
        self._iterator: Any = None

    def next(self) -> tuple[list[Violation], int] | None:
        for _ in range(2):
            if self._iterator is None:
                self._iterator = iter(self.judged)
            try:
                ok, text, elements = next(self._iterator)
            except StopIteration:
                self._iterator = None
                continue
            found = [] if bool(ok) else parse_records(text.numpy().decode("utf-8", "replace"))
            return found, int(elements)
        return None
