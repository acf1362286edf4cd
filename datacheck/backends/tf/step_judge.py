"""The batches a Keras model trains on, judged inside its train step (ValidationCallback).

``ValidationCallback`` otherwise reads its own copy of the training data: Keras
does not hand callbacks its batches. On the TensorFlow backend the callback can
put ``validate()``'s judge (JUDGE mode of ``validate._Builder``) in front of
``model.train_step`` instead: every batch is judged where it is trained on, the
data is read once, and the step pays for the judge's ops only.

The judge keeps its state in variables the callback reads between steps: the
batch index, element offset and single-class runs (what the scan of
``validate()`` carries), how many batches broke a rule and their records. It
runs as ``tf.function`` calls inside the step's graph. Its text ops have no XLA
kernels, so it is used only where ``model.jit_compile`` is off, and only without
a ``tf.distribute`` strategy, whose replicas would share its variables
(``step_judging_possible``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from datacheck.backends.tf.errors import from_tf_error, parse_records
from datacheck.backends.tf.runs import class_dtype
from datacheck.backends.tf.structure import specs_by_name
from datacheck.backends.tf.validate import judge_builder
from datacheck.report.violation import Violation
from datacheck.schema.model import Schema

#: Records kept between two reads of the callback; the count of bad batches stays exact.
RECORDS_BYTES = 1 << 20


def step_judging_possible(model: Any) -> str | None:
    """Why the batches of ``model.fit`` (TensorFlow backend) cannot be judged inside its
    train step; None if they can."""
    if getattr(model, "jit_compile", False):
        return "the train step is XLA-compiled (jit_compile), and the judge's text ops are not"
    strategy = getattr(model, "distribute_strategy", None)
    if tf.distribute.has_strategy() or (
            strategy is not None and strategy is not tf.distribute.get_strategy()):
        return "the model trains under a tf.distribute strategy"
    return None


def _judges(train_step: Any) -> list[StepJudge]:
    """The judges wrapped around a step, outermost first."""
    found = []
    while hasattr(train_step, "judge"):
        found.append(train_step.judge)
        train_step = train_step.unjudged
    return found


def _unjudged(train_step: Any) -> Any:
    while hasattr(train_step, "unjudged"):
        train_step = train_step.unjudged
    return train_step


def attach(model: Any, judge: StepJudge, on_error: Callable[[], None], fit: object) -> None:
    """Judge every batch ``model.fit`` trains on from now (call in ``on_train_begin``: fit
    made its train function before, so it is made again around the judged step).

    ``fit`` identifies the fit call: its callbacks share one ``params`` dict. Judges of
    another call are left over from a fit that failed outside its steps: removed first.
    """
    if not any(j.fit is fit for j in _judges(model.__dict__.get("train_step"))):
        _give_back(model, None)
    judge.saved = {"train_function": model.train_function,
                   "train_step": model.__dict__.get("train_step")}
    judge.fit = fit
    model.train_step = judge.wrap(model.train_step)
    model.make_train_function(force=True)
    model.train_function = judge.guarded(model.train_function, on_error)


def detach(model: Any, judge: StepJudge) -> None:
    """The model's own step and train function again, once no other judge is attached
    (several ValidationCallbacks may judge one fit, and end in any order)."""
    judge.fit = None
    judges = _judges(model.__dict__.get("train_step"))
    if judge in judges and all(j.fit is None for j in judges):
        _give_back(model, judges[-1].saved["train_function"])


def _give_back(model: Any, train_function: Any) -> None:
    own = model.__dict__.get("train_step")
    if own is None or not hasattr(own, "judge"):
        return
    base = _unjudged(own)
    del model.__dict__["train_step"]
    if getattr(base, "__func__", None) is not getattr(type(model), "train_step", None):
        model.train_step = base  # the user's own step, set on the instance
    model.train_function = train_function
    if train_function is None:
        model.make_train_function(force=True)


def _spec_of(data: Any) -> Any:
    return tf.nest.map_structure(
        lambda t: None if t is None else tf.type_spec_from_value(t), data)


class StepJudge:
    """Judges each batch a train step receives; the callback reads ``take_findings``."""

    def __init__(self, schema: Schema, raising: bool = False) -> None:
        self.schema = schema
        #: Stop before a violating batch trains (``guarded`` makes the error a ValidationError).
        self.raising = raising
        self._builder: Any = None
        self._judge: Any = None
        self._commit: Any = None
        with tf.init_scope():
            self.next_index = tf.Variable(0, dtype=tf.int64, trainable=False)
            self.next_offset = tf.Variable(0, dtype=tf.int64, trainable=False)
            self.bad_batches = tf.Variable(0, dtype=tf.int64, trainable=False)
            self.records = tf.Variable("", dtype=tf.string, trainable=False)
        self.runs: dict[str, tuple[tf.Variable, tf.Variable]] = {}
        self._bad_read = 0
        #: The fit call using it (``attach`` / ``detach``), None once it is done.
        self.fit: object = None
        self.saved: dict[str, Any] = {}

    def wrap(self, train_step: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``train_step`` with every batch it trains on judged."""
        def judged_step(data: Any) -> Any:
            judge, commit = self._functions_for(data)
            verdict = judge(data)
            if self.raising:  # the batch never trains: fail first, with datacheck's message
                ok, message = verdict[0], verdict[-1]
                with tf.control_dependencies([tf.debugging.Assert(ok, [message], summarize=1)]):
                    data = tf.nest.map_structure(tf.identity, data)
            # Otherwise the verdict may run beside the step. It is committed only after the
            # step: a batch the step never trained on (the empty one tf.distribute's iterator
            # hands out at the end of a pass of unknown size, before it raises OutOfRange)
            # is not counted.
            logs = train_step(data)
            trained = [t for t in tf.nest.flatten(logs) if tf.is_tensor(t)]
            with tf.control_dependencies(trained):
                commit(*verdict[:4])
            return logs

        judged_step.unjudged = train_step  # type: ignore[attr-defined]
        judged_step.judge = self  # type: ignore[attr-defined]
        return judged_step

    def _functions_for(self, data: Any) -> tuple[Any, Any]:
        if self._judge is None:  # the first trace: the structure Keras hands the step
            spec = _spec_of(data)
            self._builder = judge_builder(self.schema, spec)
            specs = specs_by_name(self.schema, spec)
            with tf.init_scope():
                self.runs = {name: (tf.Variable(tf.zeros([], class_dtype(specs[name], True)),
                                                trainable=False),
                                    tf.Variable(0, dtype=tf.int64, trainable=False))
                             for name in self._builder.run_labels(specs)}
            self._judge = tf.function(self._verdict, autograph=False, reduce_retracing=True)
            self._commit = tf.function(self._commit_verdict, autograph=False)
        return self._judge, self._commit

    def _verdict(self, data: Any) -> tuple[Any, ...]:
        """(ok, records, size, runs, assertion message) of one batch; changes nothing."""
        runs = {name: (last.read_value(), run.read_value())
                for name, (last, run) in self.runs.items()}
        size, runs = self._builder.measure(self._builder.named(data), runs)
        meta = {"index": self.next_index.read_value(), "offset": self.next_offset.read_value(),
                "size": size, "runs": runs}
        ok, text, message = self._builder.verdict_and_records(meta, data, message=self.raising)
        return ok, text, size, runs, message

    def _commit_verdict(self, ok: tf.Tensor, text: tf.Tensor, size: tf.Tensor,
                        runs: dict[str, tuple[tf.Tensor, tf.Tensor]]) -> None:
        self.next_index.assign_add(1)
        self.next_offset.assign_add(size)
        for name, (key, run) in runs.items():
            self.runs[name][0].assign(key)
            self.runs[name][1].assign(run)
        self.bad_batches.assign_add(tf.cast(tf.logical_not(ok), tf.int64))
        # Records only for a bad batch, and bounded: a step left wrapped after fit failed
        # (on_train_end never ran) must not grow them while nobody reads them.
        room = tf.strings.length(self.records) < RECORDS_BYTES
        self.records.assign(tf.strings.join(
            [self.records, tf.where(tf.logical_and(room, tf.logical_not(ok)), text + "\n",
                                    tf.constant(""))]))

    def guarded(self, inner: Callable[[Any], Any],
                on_error: Callable[[], None]) -> Callable[[Any], Any]:
        """``inner`` (fit's train function) calling ``on_error`` when an error leaves fit
        (Keras calls no callback then), and raising the ValidationError that the judge's
        assertion carries instead of TensorFlow's InvalidArgumentError."""
        def train_function(iterator: Any) -> Any:
            try:
                return inner(iterator)
            except (StopIteration, tf.errors.OutOfRangeError):
                raise  # the end of a pass: Keras ends the epoch
            except tf.errors.InvalidArgumentError as exc:
                on_error()
                error = from_tf_error(exc, self.schema.name)
                if error is None:
                    raise
                raise error from None
            except BaseException:
                on_error()
                raise

        return train_function

    def start_epoch(self) -> None:
        """Batch indices and offsets start over, as a pass of the data does."""
        self.next_index.assign(0)
        self.next_offset.assign(0)
        self.bad_batches.assign(0)
        self.records.assign("")
        self._bad_read = 0
        for last, run in self.runs.values():
            last.assign(tf.zeros([], last.dtype))
            run.assign(0)

    def take_findings(self) -> tuple[int, list[Violation]]:
        """(batches that broke a rule since the last call, their violations)."""
        bad = int(self.bad_batches.numpy())
        if bad == self._bad_read:
            return 0, []
        text = self.records.numpy().decode("utf-8", "replace")
        self.records.assign("")
        new, self._bad_read = bad - self._bad_read, bad
        return new, parse_records(text)

    def totals(self) -> tuple[int, int]:
        """(batches, elements) judged this epoch."""
        return int(self.next_index.numpy()), int(self.next_offset.numpy())
