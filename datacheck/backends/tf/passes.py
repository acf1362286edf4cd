"""Per-pass accounting of drop mode, in graph: a pass id, an end marker, exact counts.

Each iterator over the validated stage is one *pass*. The scan gives it an id
when its first element arrives; an end marker (an all-zero element flagged as
the end) follows the data, so the graph knows when a pass is complete and
writes how many elements it saw and dropped to the drop log (see ``droplog``).
Nothing depends on who consumes the dataset: prefetch, repeat, Keras,
tf.distribute and tf.data service workers all run this same graph.
"""

from __future__ import annotations

import base64
from typing import Any

import tensorflow as tf

from datacheck.backends.tf.droplog import PASS_TAG
from datacheck.backends.tf.errors import DROP_LIMIT, RECORDS, format_record
from datacheck.backends.tf.lazy import lazy_cond
from datacheck.backends.tf.stages import map_stage
from datacheck.errors import DataError
from datacheck.report.violation import Violation


def initial_state() -> dict[str, tf.Tensor]:
    return {"started": tf.constant(0.0, tf.float64), "salt": tf.constant(0, tf.int64),
            "end": tf.constant(False)}


def advance(state: dict[str, Any], end: tf.Tensor) -> dict[str, tf.Tensor]:
    """The pass's start time and salt (drawn at the first element of an iterator), and
    the end flag. ``pass_id`` makes them the pass id where a record needs one."""
    # Numbers, not the id's text: formatting it cost every batch about 30 µs of CPU
    # (bench_batch_cost), and only a failing batch and a pass's end write it. tf.where,
    # not tf.cond: a cond's branches are instantiated again by every iterator.
    first = state["index"] < 0
    started = tf.where(first, tf.timestamp(), state["started"])
    salt = tf.where(first, tf.random.uniform([], 0, 2**31 - 1, tf.int64), state["salt"])
    return {"started": started, "salt": salt, "end": end}


def pass_id(meta: dict[str, Any]) -> tf.Tensor:
    """The id of the pass ``meta`` belongs to, as the drop log writes it: start time first,
    so ids sort by pass; the random part separates passes that start in the same
    microsecond (a fixed global seed repeats it, the time does not)."""
    return tf.strings.join([tf.strings.as_string(meta["started"], precision=6),
                            tf.strings.as_string(meta["salt"])], "-")


def _zeros(spec: Any) -> Any:
    if isinstance(spec, tf.TensorSpec):
        shape = [0 if d is None else d for d in spec.shape.as_list()] \
            if spec.shape.rank is not None else [0]
        if spec.dtype == tf.string:
            return tf.fill(shape, "")
        return tf.zeros(shape, spec.dtype)
    raise DataError(f"drop mode cannot count passes of elements holding {type(spec).__name__} "
                    "components; convert them to dense tensors before validate().")


#: Largest end marker (bytes of zeros) built as a constant; a larger one is made at run time.
CONSTANT_MARKER_BYTES = 1 << 16


def with_end_marker(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``(False, element)`` for every element, then one ``(True, zeros)`` end marker.

    Built without functions of its own where it can (every function is instantiated
    again by each iterator): the flag is zipped on, and a marker whose batch size is
    unknown is a tiny constant of zero rows.
    """
    spec = dataset.element_spec
    zeros = tf.nest.map_structure(_zeros, spec)  # refuse unsupported components now
    flags = tf.data.Dataset.from_tensors(tf.constant(False)).repeat()
    marked = tf.data.Dataset.zip((flags, dataset))
    size = sum(int(t.shape.num_elements()) * t.dtype.size for t in tf.nest.flatten(zeros)
               if t.dtype != tf.string)
    if size <= CONSTANT_MARKER_BYTES:
        marker = tf.data.Dataset.from_tensors((tf.constant(True), zeros))
    else:
        # A constant would put a whole batch of zeros into the serialized graph (tf.data
        # service, Dataset.save) when the batch size is static: made at run time instead.
        marker = map_stage(tf.data.Dataset.range(1),
                           lambda _: (tf.constant(True), tf.nest.map_structure(_zeros, spec)))
    try:
        return marked.concatenate(marker)
    except (TypeError, ValueError) as exc:
        raise DataError(f"drop mode cannot build an end marker for elements {spec}: {exc}. "
                        "Give the dataset dense tensors of fixed rank.") from None


def rows(element: Any, batched: bool) -> tf.Tensor:
    """Number of elements in a batch (1 for an unbatched element)."""
    if not batched:
        return tf.constant(1)
    first = tf.nest.flatten(element)[0]
    return tf.shape(first)[0]


def drop_counter(schema_name: str, log_path: str, run_id: str, max_fraction: float,
                 empty: Violation | None = None, batched: bool = True) -> Any:
    """The step that counts kept and dropped per pass: ``step(dropped, (keep, meta,
    element)) -> (dropped, out)``, for a scan whose state holds ``dropped``. At the end
    marker it logs the totals and applies the limit.

    ``empty``: the violation a pass with no elements at all raises (None: allowed).
    ``out`` is ``(kept, element)``: ``kept`` says whether anything of it is left (False
    for the end marker), batches come with their dropped elements removed (``batched``).
    """
    zero = tf.constant(0, tf.int64)

    @tf.autograph.experimental.do_not_convert
    def step(dropped: tf.Tensor, item: Any) -> tuple[tf.Tensor, Any]:
        keep, meta, element = item
        in_batch = meta["size"] - tf.math.count_nonzero(keep, dtype=tf.int64)
        total = tf.where(meta["index"] == 0, zero, dropped) + in_batch
        elements = meta["offset"]  # the end marker's offset is the pass's element count

        def finish() -> tf.Tensor:
            record = tf.strings.join([PASS_TAG, run_id, pass_id(meta),
                                      tf.strings.as_string(elements),
                                      tf.strings.as_string(total)], "\t")
            over = tf.cast(total, tf.float64) > max_fraction * tf.cast(elements, tf.float64)
            over = tf.logical_and(over, elements > 0)
            message = tf.strings.join([
                DROP_LIMIT, " drop mode removed ", tf.strings.as_string(total), " of ",
                tf.strings.as_string(elements), f" elements of one pass (schema `{schema_name}`), "
                f"more than max_drop_fraction={max_fraction:g}. Fix the data (the drop log "
                f"{log_path} names every element and its reason) or raise max_drop_fraction."])
            printed = tf.print(record, output_stream=f"file://{log_path}")
            with tf.control_dependencies([printed]):
                checked = tf.debugging.Assert(tf.logical_not(over), [message], summarize=1)
            if empty is not None:
                encoded = base64.urlsafe_b64encode(format_record(empty).encode()).decode()
                text = f"datacheck: schema `{schema_name}`: {empty.message} {RECORDS}{encoded}]"
                with tf.control_dependencies([checked]):
                    checked = tf.debugging.Assert(elements > 0, [text], summarize=1)
            with tf.control_dependencies([checked]):
                return tf.constant(True)

        # Runs once per pass, so it starts with the iterator (see lazy_cond's every_pass).
        done = lazy_cond(tf.logical_not(meta["end"]), lambda: tf.constant(True), finish,
                         every_pass=True)
        with tf.control_dependencies([done]):
            keep = tf.identity(keep)
        return total, (tf.reduce_any(keep), apply_keep(keep, element) if batched else element)

    return step


def apply_keep(keep: tf.Tensor, element: Any) -> Any:
    """The batch without the elements ``keep`` marks False.

    A batch that keeps everything passes as it is (a gather would copy it); one
    gather per component otherwise (``boolean_mask`` builds a dozen ops per
    component), behind ``lazy_cond``: a ``tf.cond`` would call a branch function
    per batch.
    """
    def gathered() -> Any:
        kept = tf.reshape(tf.where(keep), [-1])
        return tf.nest.map_structure(lambda t: tf.gather(t, kept), element)

    return lazy_cond(tf.reduce_all(keep), lambda: element, gathered)


def empty_pass(empty: tf.Tensor, violation: Violation, schema_name: str, raise_it: bool,
               stream: Any) -> tf.Tensor:
    """At a pass's end: raise (``raise_it``) or print ``violation`` when ``empty`` holds."""
    if raise_it:
        encoded = base64.urlsafe_b64encode(format_record(violation).encode()).decode()
        text = f"datacheck: schema `{schema_name}`: {violation.message} {RECORDS}{encoded}]"
        return tf.debugging.Assert(tf.logical_not(empty), [text], summarize=1)

    def say() -> tf.Tensor:
        line = f"datacheck warning: {violation.message}"
        with tf.control_dependencies([tf.print(line, output_stream=stream)]):
            return tf.constant(True)

    return lazy_cond(tf.logical_not(empty), lambda: tf.constant(True), say)
