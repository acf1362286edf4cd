"""`validate()`: a tf.data.Dataset whose batches are checked in graph as they flow.

raise, warn and drop are pure graph (no py_function), so the pipeline still
works with tf.data service, tf.distribute and Dataset.save; collect hands
batches to the numpy Collector through ``tf.numpy_function``.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import uuid
from typing import Any

import tensorflow as tf

from datacheck.backends.tf import graph, passes
from datacheck.backends.tf.droplog import DROP_TAG, start_log
from datacheck.backends.tf.exitguard import exit_guard
from datacheck.backends.tf.lazy import lazy_cond
from datacheck.backends.tf.runs import advance_run, class_dtype
from datacheck.backends.tf.spec_judge import static_violations
from datacheck.backends.tf.stages import filter_stage, map_stage, read_ahead, scan_stage
from datacheck.backends.tf.structure import detect_batched, namer, specs_by_name
from datacheck.backends.tf.validated import ValidatedDataset
from datacheck.engine.collector import Collector
from datacheck.errors import DatacheckError, ValidationError
from datacheck.report.violation import Violation
from datacheck.rules.dataset import empty_violation
from datacheck.schema.model import Schema

MODES = ("raise", "warn", "drop", "collect")
#: Not a mode of ``validate()``: ``judged_batches`` (what ValidationCallback reads).
JUDGE = "judge"
log = logging.getLogger("datacheck")


def validate(dataset: tf.data.Dataset, schema: Schema, *, on_error: str = "raise",
             batched: bool | None = None, log: str | None = None,
             warn_first: int = 10, max_drop_fraction: float = 0.5) -> ValidatedDataset:
    if on_error not in MODES:
        raise DatacheckError(f"on_error must be one of {', '.join(MODES)}; got {on_error!r}")
    if not 0.0 <= max_drop_fraction <= 1.0:
        raise DatacheckError("max_drop_fraction must be between 0 and 1; "
                             f"got {max_drop_fraction!r}")
    if not isinstance(dataset, tf.data.Dataset):
        raise DatacheckError(f"validate() needs a tf.data.Dataset, got {type(dataset).__name__}; "
                             "use dc.check() for arrays and files")
    spec = dataset.element_spec
    to_named = namer(schema, spec)
    specs = specs_by_name(schema, spec)
    is_batched = detect_batched(schema, specs) if batched is None else batched
    static = static_violations(schema, specs, is_batched)
    if int(dataset.cardinality()) == 0:  # known now; unknown sizes are judged per pass (drop)
        empty = empty_violation(schema, 0, "the dataset (cardinality 0)")
        static += [empty] if empty is not None else []
    collector = Collector(schema, input="<dataset>", batched=is_batched) \
        if on_error == "collect" else None
    if static:
        if on_error in ("raise", "drop"):
            raise ValidationError(static, schema.name)
        if on_error == "warn":
            for v in static:
                log_warning(v.message)
        if collector is not None:
            collector.add(static)
    log_path = log
    temporary = on_error == "drop" and log_path is None
    if temporary:
        handle = tempfile.NamedTemporaryFile(prefix="datacheck-drop-", suffix=".log", delete=False)
        handle.close()
        log_path = handle.name
    elif log_path is not None and on_error in ("drop", "warn"):
        start_log(log_path)
    run_id = uuid.uuid4().hex[:12]
    # Raise and warn mode learn that a pass was empty at its end marker; only a pipeline whose
    # size is unknown needs one (drop and collect mark every pass anyway).
    guard = None
    if on_error in ("raise", "warn") and \
            int(dataset.cardinality()) == tf.data.UNKNOWN_CARDINALITY:
        guard = empty_violation(schema, 0, "one pass over the dataset")
    builder = _Builder(schema, to_named, is_batched, on_error, log_path, warn_first, collector,
                       run_id, max_drop_fraction, guard)

    def as_drop() -> ValidatedDataset:
        return validate(dataset, schema, on_error="drop", batched=is_batched,
                        max_drop_fraction=1.0)

    return ValidatedDataset(builder.build(dataset), schema, on_error, static, collector, log_path,
                            run_id, temporary_log=temporary, as_drop=as_drop,
                            collect_passes=builder.collect_passes)


def judged_batches(dataset: tf.data.Dataset, schema: Schema) -> tf.data.Dataset:
    """``(ok, records, elements)`` per batch of a batched ``dataset``: the verdicts
    ``validate()`` reaches, as data (``errors.parse_records`` reads the records)."""
    return judge_builder(schema, dataset.element_spec).build(dataset)


def judge_builder(schema: Schema, spec: Any) -> _Builder:
    """The builder of ``JUDGE`` mode for batches of this structure: its ``checks`` and
    ``run_labels`` also judge batches outside a pipeline (``step_judge``)."""
    return _Builder(schema, namer(schema, spec), True, JUDGE, None, 0, None)


def log_warning(message: str) -> None:
    log.warning("datacheck: %s", message)


class _Builder:
    """Builds the scan (batch index, element offset, single-class runs) and the check map."""

    def __init__(self, schema: Schema, to_named: Any, batched: bool, mode: str,
                 log_path: str | None, warn_first: int, collector: Collector | None,
                 run_id: str = "", max_drop_fraction: float = 0.5,
                 empty_guard: Violation | None = None) -> None:
        self.schema = schema
        self.to_named = to_named
        self.batched = batched
        self.mode = mode
        self.log_path = log_path
        self.warn_first = warn_first
        self.collector = collector
        self.run_id = run_id
        self.max_drop_fraction = max_drop_fraction
        #: The violation a pass of raise/warn mode with no element raises at its end marker.
        self.empty_guard = empty_guard
        self.collect_passes = {"started": 0, "complete": 0}
        self.stream: Any = f"file://{log_path}" if log_path and mode == "warn" else sys.stderr

    def named(self, element: Any) -> dict[str, tf.Tensor]:
        tensors = self.to_named(element)
        known = {k: v for k, v in tensors.items() if k in self.schema.names()}
        if not self.batched:
            known = {k: tf.expand_dims(v, 0) for k, v in known.items()}
        return known

    def run_labels(self, specs: dict[str, tf.TensorSpec]) -> list[str]:
        # Runs of single-class batches mean nothing when every "batch" is one element.
        if not self.batched:
            return []
        return [name for name, label in self.schema.labels.items()
                if label.shuffle_window is not None and name in specs]

    def build(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        specs = specs_by_name(self.schema, dataset.element_spec)
        if self.mode != "collect":  # Python judges collect mode's batches: it gains nothing
            dataset = read_ahead(dataset)
        run_labels = self.run_labels(specs)
        init = {"index": tf.constant(-1, tf.int64), "offset": tf.constant(0, tf.int64),
                "size": tf.constant(0, tf.int64),
                "runs": {n: (tf.zeros([], class_dtype(specs[n], self.batched)),
                             tf.constant(0, tf.int64))
                         for n in run_labels}}
        # Drop mode counts per pass in graph: a pass id, and an end marker after the data.
        counting = self.mode in ("drop", "collect")
        marking = counting or self.empty_guard is not None
        if counting:
            init.update(passes.initial_state())
        elif marking:
            init["end"] = tf.constant(False)
        if marking:
            dataset = passes.with_end_marker(dataset)

        @tf.autograph.experimental.do_not_convert
        def scan_fn(state: dict[str, Any], marked: Any) -> tuple[Any, Any]:
            end, element = marked if marking else (None, marked)
            size, runs = self.measure(self.named(element), state["runs"])
            if end is not None:
                size = tf.where(end, tf.constant(0, tf.int64), size)
            meta = {"index": state["index"] + 1, "offset": state["offset"] + state["size"],
                    "size": size, "runs": runs}
            if counting:
                meta.update(passes.advance(state, end))
            elif end is not None:
                meta["end"] = end
            return meta, (meta, element)

        if self.mode == "drop":
            return self.drop_stages(dataset, init, scan_fn)
        scanned = scan_stage(dataset, init, scan_fn)
        if self.mode == JUDGE:
            return map_stage(scanned, self.judge_fn, parallel=True)
        if self.mode == "collect":
            # Sequential: the end marker leaves the filter after every batch was pushed.
            return map_stage(filter_stage(scanned, self.collect_end), self.collect_fn)
        if self.empty_guard is not None:
            scanned = filter_stage(scanned, self.guard_end)
        return map_stage(scanned, self.check_fn, parallel=True)

    def drop_stages(self, marked: tf.data.Dataset, init: dict[str, Any],
                    scan_fn: Any) -> tf.data.Dataset:
        """drop mode: one scan numbers, judges and counts each batch; a filter drops what
        is left empty (and the end marker).

        Judged inside the scan, sequentially: every function that runs per batch costs
        tf.data thread hand-offs (2-3x its wall time in CPU, docs/performance.md), and
        a parallel judge would need a second, counting scan after it.
        """
        empty = empty_violation(self.schema, 0, "one pass over the dataset")
        count = passes.drop_counter(self.schema.name, self.log_path or "", self.run_id,
                                    self.max_drop_fraction, empty, self.batched)

        @tf.autograph.experimental.do_not_convert
        def step(state: dict[str, Any], item: Any) -> tuple[Any, Any]:
            meta_state, (meta, element) = scan_fn(state["meta"], item)
            dropped, out = count(state["dropped"], self.drop_fn(meta, element))
            return {"meta": meta_state, "dropped": dropped}, out

        counted = scan_stage(marked, {"meta": init, "dropped": tf.constant(0, tf.int64)}, step)
        # A predicate that returns one of its inputs, and a map that only leaves one out, run
        # no function at all (tf.data short-circuits them): a predicate that computed
        # whether a batch is empty cost every batch about 55 µs of CPU (bench_batch_cost).
        return map_stage(filter_stage(counted, _kept), _element)

    def checks(self, meta: dict[str, Any], element: Any, exact: bool = True) -> list[Any]:
        runs = {name: (run, key) for name, (key, run) in meta["runs"].items()}
        return graph.batch_checks(self.schema, self.named(element), runs, exact)

    @tf.autograph.experimental.do_not_convert
    def check_fn(self, meta: dict[str, Any], element: Any) -> Any:
        """raise and warn. Every batch gets the one-pass verdict; True proves it holds.

        Only when it is False are the exact checks and the diagnostics built and
        run (lazy_cond). Drop mode is ``drop_fn``.
        """
        if self.mode == "raise":
            ok, _, message = self.verdict_and_records(meta, element, message=True)
            with tf.control_dependencies([tf.debugging.Assert(ok, [message], summarize=1)]):
                return tf.nest.map_structure(tf.identity, element)
        return self.warned(graph.verdict(self.checks(meta, element, exact=False)), meta, element)

    @tf.autograph.experimental.do_not_convert
    def guard_end(self, meta: dict[str, Any], element: Any) -> tf.Tensor:
        """raise and warn, size unknown: the end marker (not data, nothing to judge in it)
        leaves here, and says whether its pass was empty."""
        assert self.empty_guard is not None
        end = meta["end"]
        said = passes.empty_pass(tf.logical_and(end, meta["offset"] <= 0), self.empty_guard,
                                 self.schema.name, self.mode == "raise", self.stream)
        with tf.control_dependencies([said]):
            return tf.logical_not(end)

    def warned(self, fast: tf.Tensor, meta: dict[str, Any], element: Any) -> Any:
        """warn: the element, after the exact checks that run only when ``fast`` is False
        and the batch is one whose warning is printed (``loud``)."""
        index, offset = meta["index"], meta["offset"]
        loud = self.loud(index)

        def warn() -> tf.Tensor:
            checks = self.checks(meta, element)

            def say() -> tf.Tensor:
                text = graph.records(checks, index, offset, human=True, batched=self.batched)
                line = tf.strings.join(["datacheck warning: ", text])
                with tf.control_dependencies([tf.print(line, output_stream=self.stream)]):
                    return tf.constant(True)

            return tf.cond(graph.verdict(checks), lambda: tf.constant(True), say)

        done = lazy_cond(tf.logical_or(fast, tf.logical_not(loud)),
                               lambda: tf.constant(True), warn)
        with tf.control_dependencies([done]):
            return tf.nest.map_structure(tf.identity, element)

    @tf.autograph.experimental.do_not_convert
    def measure(self, named: dict[str, tf.Tensor],
                runs: dict[str, tuple[tf.Tensor, tf.Tensor]]) -> tuple[tf.Tensor, Any]:
        """(elements in the batch, the single-class runs after it), from ``runs`` so far."""
        size = tf.cast(tf.shape(next(iter(named.values())))[0], tf.int64) if named \
            else tf.constant(0, tf.int64)
        return size, {name: advance_run(last, run, named[name])
                      for name, (last, run) in runs.items()}

    @tf.autograph.experimental.do_not_convert
    def judge_fn(self, meta: dict[str, Any], element: Any) -> Any:
        """``JUDGE``: ``(ok, records, elements)`` of each batch; nothing raises or drops."""
        ok, text, _ = self.verdict_and_records(meta, element)
        return ok, text, meta["size"]

    def verdict_and_records(self, meta: dict[str, Any], element: Any,
                            message: bool = False) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """(ok, records, assertion message or "") of a batch (``graph.judge``)."""
        return graph.judge(lambda exact: self.checks(meta, element, exact), self.schema.name,
                           meta["index"], meta["offset"], self.batched, message)

    def loud(self, index: tf.Tensor) -> tf.Tensor:
        """Rate limit of printed messages: the first ``warn_first`` batches, then powers of 2."""
        return tf.logical_or(index < self.warn_first,
                             tf.equal(tf.bitwise.bitwise_and(index, index - 1), 0))

    @tf.autograph.experimental.do_not_convert
    def drop_fn(self, meta: dict[str, Any], element: Any) -> Any:
        """drop mode: ``(keep, meta, element)``, ``keep`` a mask over the batch's elements."""
        end = meta["end"]
        rows = passes.rows(element, self.batched)
        # The end marker is never described (its zeros could break a declared range) nor
        # kept. No tf.cond here: every branch function is instantiated again per iterator.
        fast = tf.logical_or(graph.verdict(self.checks(meta, element, exact=False)), end)

        def drop() -> tf.Tensor:
            index, offset = meta["index"], meta["offset"]
            loud = self.loud(index)
            size = tf.cast(meta["size"], tf.int32)
            checks = self.checks(meta, element)

            def drop_failing() -> tf.Tensor:
                keep = graph.keep_mask(checks, size)
                dropped = tf.cast(tf.reshape(tf.where(tf.logical_not(keep)), [-1]), tf.int64)
                indices = tf.strings.reduce_join(tf.strings.as_string(dropped + offset),
                                                 separator=",")
                text, human = graph.record_texts(checks, index, offset, self.batched)
                line = tf.strings.join([DROP_TAG, self.run_id, passes.pass_id(meta),
                                        tf.strings.as_string(index),
                                        tf.strings.as_string(meta["size"]), indices], "\t")
                # A single string tensor is printed verbatim (several would be quoted).
                ops = [tf.print(tf.strings.join([line, text], "\n"),
                                output_stream=f"file://{self.log_path}")]

                def shout() -> tf.Tensor:
                    note = tf.strings.join(["datacheck: dropped element(s) ", indices,
                                            " of batch ", tf.strings.as_string(index), ": ",
                                            human])
                    with tf.control_dependencies([tf.print(note, output_stream=sys.stderr)]):
                        return tf.constant(True)

                ops.append(tf.cond(loud, shout, lambda: tf.constant(True)))
                with tf.control_dependencies(ops):
                    return tf.identity(keep)

            return tf.cond(graph.verdict(checks), lambda: tf.ones([size], tf.bool),
                           drop_failing)

        failed = lazy_cond(fast, lambda: tf.ones([0], tf.bool), drop)
        # A batch that passed keeps everything: ``failed`` is then empty, padded with True.
        keep = tf.concat([failed, tf.ones([rows - tf.size(failed)], tf.bool)], 0)
        return tf.logical_and(keep, tf.logical_not(end)), meta, element

    @tf.autograph.experimental.do_not_convert
    def collect_end(self, meta: dict[str, Any], element: Any) -> tf.Tensor:
        """collect mode: the end marker leaves here; a pass that reaches it is complete."""
        def count() -> bool:
            with exit_guard.call():
                if not exit_guard.exiting:
                    self.collect_passes["complete"] += 1
            return True

        def completed() -> tf.Tensor:
            return tf.numpy_function(count, [], tf.bool, stateful=True)

        # Python is called once per pass, at its end, not for every batch; the call starts
        # with the iterator (see lazy_cond's every_pass).
        done = lazy_cond(tf.logical_not(meta["end"]), lambda: tf.constant(True), completed,
                               every_pass=True)
        with tf.control_dependencies([done]):
            return tf.logical_not(meta["end"])

    @tf.autograph.experimental.do_not_convert
    def collect_fn(self, meta: dict[str, Any], element: Any) -> Any:
        collector = self.collector
        assert collector is not None
        named = self.named(element)
        names = list(named)

        def push(index: Any, offset: Any, *arrays: Any) -> bool:
            with exit_guard.call():
                if exit_guard.exiting:
                    return True
                return self.push(collector, names, index, offset, arrays)

        done = tf.numpy_function(push, [meta["index"], meta["offset"], *named.values()],
                                 tf.bool, stateful=True)
        with tf.control_dependencies([done]):
            return tf.nest.map_structure(tf.identity, element)

    def push(self, collector: Collector, names: list[str], index: Any, offset: Any,
             arrays: Any) -> bool:
        """collect mode's callback: judge one batch with the numpy backend."""
        # Passes are counted so report() can say whether the last one was partial.
        if int(index) == 0:
            self.collect_passes["started"] += 1
        collector.add_batch(dict(zip(names, arrays, strict=True)), int(index), int(offset))
        return True


@tf.autograph.experimental.do_not_convert
def _kept(kept: tf.Tensor, element: Any) -> tf.Tensor:
    return kept


@tf.autograph.experimental.do_not_convert
def _element(kept: tf.Tensor, element: Any) -> Any:
    return element
