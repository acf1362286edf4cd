"""Evaluate the judge's checks as graph ops: one fused verdict, diagnostics only on failure.

A failing batch yields *records*, one per violation, in the format that
``errors.py`` defines and reads: seven tab-separated fields
``code \t feature \t where \t observed \t expected \t message \t severity``
(``expected`` as JSON), joined by newlines. ``validate.py`` puts them into the
assertion message as web-safe base64 between ``[datacheck-records:`` and ``]``,
after the readable sentences; ``errors.parse_records`` turns them back into
Violations.
"""

from __future__ import annotations

import functools
import json
import string
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from datacheck.backends.tf.errors import RECORDS
from datacheck.backends.tf.lazy import lazy_cond
from datacheck.backends.tf.views import TFLabelView, TFTensorView
from datacheck.excerpt import MAX_LINE, MAX_NAME, bounded
from datacheck.rules.base import (
    SHOWN_INDICES,
    Check,
    Finding,
    is_static_false,
    is_static_true,
)
from datacheck.rules.judge import pair_checks, static_checks, value_checks
from datacheck.schema.model import Schema


def batch_checks(schema: Schema, tensors: dict[str, tf.Tensor],
                 runs: dict[str, tuple[tf.Tensor, tf.Tensor]], exact: bool = True) -> list[Check]:
    """All checks for one batch; value checks only where the static ones can pass.

    ``exact=False`` builds one-pass predicates whose verdict is only sufficient
    (see ``views``): re-judge with ``exact=True`` when it fails.
    """
    checks: list[Check] = []
    shapes: dict[str, tuple[Any, ...]] = {}
    for name in schema.names():
        if name not in tensors:
            continue
        x = tensors[name]
        view: TFTensorView
        if name in schema.labels:
            run, cls = runs.get(name, (None, None))
            view = TFLabelView(x, run, cls, exact=exact)
        else:
            view = TFTensorView(x, exact=exact)
        shapes[name] = view.shape
        static = static_checks(schema, name, view.shape, view.dtype)
        checks += static
        if any(is_static_false(c.ok) for c in static):
            continue
        checks += value_checks(schema, name, view)
    checks += pair_checks(schema, shapes)
    return [c for c in checks if not is_static_true(c.ok)]


def judge(make_checks: Callable[[bool], list[Check]], schema_name: str, index: tf.Tensor,
          offset: tf.Tensor, batched: bool = True,
          message: bool = False) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(ok, records, assertion message) of one batch, from ``make_checks(exact)``.

    The one-pass verdict decides; only when it fails are the exact checks built and
    run, with the records (and, with ``message``, the text an assertion carries).
    """
    fast = verdict(make_checks(False))

    def describe() -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        checks = make_checks(True)
        if not message:
            return verdict(checks), records(checks, index, offset, batched=batched), \
                tf.constant("")
        texts = record_texts(checks, index, offset, batched)
        said = assertion_message(schema_name, checks, index, offset, batched, texts)
        return verdict(checks), texts[0], said

    passed = (tf.constant(True), tf.constant(""), tf.constant(""))
    return lazy_cond(fast, lambda: passed, describe)


def verdict(checks: list[Check]) -> tf.Tensor:
    preds = [tf.convert_to_tensor(c.ok) for c in checks]
    if not preds:
        return tf.constant(True)
    return tf.reduce_all(tf.stack(preds))


def _to_text(value: Any) -> tf.Tensor:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "shape":
        dims = [tf.constant(str(int(d))) if isinstance(d, (int, np.integer))
                else tf.strings.as_string(tf.cast(d, tf.int64)) for d in value[1]]
        body = tf.strings.join(dims, ", ") if dims else tf.constant("")
        tail = "," if len(dims) == 1 else ""
        return tf.strings.join(["(", body, tail + ")"])
    if isinstance(value, str):
        return tf.constant(value)
    tensor = tf.convert_to_tensor(value)
    if tensor.dtype == tf.string:
        return tensor
    if tensor.dtype.is_floating:
        return tf.strings.as_string(tf.cast(tensor, tf.float32), shortest=True)
    if tensor.dtype == tf.bool:
        return tf.where(tensor, "True", "False")
    return tf.strings.as_string(tensor)


def fill(template: str, values: dict[str, Any], where: tf.Tensor,
         elements: tf.Tensor | str = "") -> tf.Tensor:
    """Python-format template -> string tensor (no tf.strings.format brace rules involved)."""
    parts: list[Any] = []
    for literal, field, _, _ in string.Formatter().parse(template):
        if literal:
            # A name with a tab or newline would split the record (tab-separated lines).
            parts.append(literal if literal.isprintable() else bounded(literal, len(literal) * 4))
        if field is None:
            continue
        if field == "where":
            parts.append(where)
        elif field == "elements":
            parts.append(elements)
        else:
            parts.append(_to_text(values[field]))
    return tf.strings.join(parts) if parts else tf.constant("")


def bounded_text(text: tf.Tensor, limit: int) -> tf.Tensor:
    """In-graph :func:`datacheck.excerpt.bounded` (length only; the failure branch).

    One call of a shared function: every fresh iterator copies the diagnostics'
    graph, where a dozen copies of these ops were a fifth of it.
    """
    return _bounded_function()(text, tf.constant(limit, tf.int32))


@functools.cache
def _bounded_function() -> Any:
    @tf.function(autograph=False, input_signature=[tf.TensorSpec([], tf.string),
                                                   tf.TensorSpec([], tf.int32)])
    def bounded_in_graph(text: tf.Tensor, limit: tf.Tensor) -> tf.Tensor:
        length = tf.strings.length(text, unit="UTF8_CHAR")
        keep = tf.maximum(limit - 24, 8)
        head = keep * 2 // 3
        tail = keep - head
        cut = tf.strings.join([tf.strings.substr(text, 0, head, unit="UTF8_CHAR"), "...",
                               tf.strings.substr(text, tf.maximum(length - tail, 0), tail,
                                                 unit="UTF8_CHAR"),
                               " (", tf.strings.as_string(length), " characters)"])
        return tf.where(length > limit, cut, text)

    return bounded_in_graph


def first_bad(mask: Any) -> tf.Tensor:
    """Index of the first False in a per-element mask, or -1."""
    bad = tf.logical_not(tf.reshape(tf.convert_to_tensor(mask), [-1]))
    return tf.cond(tf.reduce_any(bad),
                   lambda: tf.cast(tf.argmax(tf.cast(bad, tf.int32)), tf.int64),
                   lambda: tf.constant(-1, tf.int64))


def elements_text(mask: Any, offset: tf.Tensor) -> tf.Tensor:
    """``rules.base.elements_text`` in graph: " Affected: K of N elements (indices ...)."."""
    bad = tf.logical_not(tf.reshape(tf.convert_to_tensor(mask), [-1]))
    count = tf.reduce_sum(tf.cast(bad, tf.int64))
    total = tf.size(bad, out_type=tf.int64)
    first = tf.reshape(tf.where(bad), [-1])[:SHOWN_INDICES] + tf.cast(offset, tf.int64)
    shown = tf.strings.reduce_join(tf.strings.as_string(first), separator=", ")
    noun = tf.where(count == 1, "index", "indices")
    more = tf.where(count > SHOWN_INDICES, ", ...", "")
    text = tf.strings.join([" Affected: ", tf.strings.as_string(count), " of ",
                            tf.strings.as_string(total), " elements (", noun, " ", shown, more,
                            ")."])
    return tf.where(count > 0, text, "")


def where_text(index: tf.Tensor, offset: tf.Tensor, element: tf.Tensor | None,
               batched: bool = True) -> tf.Tensor:
    if not batched:  # one element per step: its index, never "batch 15"
        return tf.strings.join(["element ", tf.strings.as_string(index)])
    batch = tf.strings.join(["batch ", tf.strings.as_string(index)])
    if element is None:
        return batch
    # As the numpy backend: the dataset index only where it differs from the element's.
    with_index = tf.strings.join([batch, ", element ", tf.strings.as_string(element),
                                  " (index ", tf.strings.as_string(offset + element), ")"])
    plain = tf.strings.join([batch, ", element ", tf.strings.as_string(element)])
    with_element = tf.where(offset > 0, with_index, plain)
    return tf.where(element >= 0, with_element, batch)


def records(checks: list[Check], index: tf.Tensor, offset: tf.Tensor,
            human: bool = False, batched: bool = True) -> tf.Tensor:
    """Newline-joined violation records of a failed batch (build inside the failure branch).

    ``human=True`` gives only the messages, for logs people read. ``batched=False``:
    each step is one element, named by its index.
    """
    fired, messages, lines = _texts(checks, index, offset, batched, exact=not human)
    return _joined(fired, messages) if human else _joined(fired, _exact(lines))


def record_texts(checks: list[Check], index: tf.Tensor, offset: tf.Tensor,
                 batched: bool = True) -> tuple[tf.Tensor, tf.Tensor]:
    """``(records, messages)``: both texts of :func:`records`, each finding built once.

    Every fresh iterator copies the diagnostics' graph (Keras makes one per epoch):
    building a finding's sentence once for both texts keeps that graph small.
    """
    fired, messages, lines = _texts(checks, index, offset, batched, exact=True)
    return _joined(fired, _exact(lines)), _joined(fired, messages)


def _exact(lines: list[tf.Tensor | None]) -> list[tf.Tensor]:
    return [line for line in lines if line is not None]


def _texts(checks: list[Check], index: tf.Tensor, offset: tf.Tensor, batched: bool,
           exact: bool) -> tuple[list[tf.Tensor], list[tf.Tensor], list[tf.Tensor | None]]:
    """Per finding: whether it fired, its message, and (``exact``) its record line."""
    fired: list[tf.Tensor] = []
    messages: list[tf.Tensor] = []
    lines: list[tf.Tensor | None] = []
    places: dict[int, tuple[Any, tf.Tensor, tf.Tensor | str]] = {}

    def place(mask: Any) -> tuple[tf.Tensor, tf.Tensor | str]:
        """(where, affected elements) of a mask, built once for the findings sharing it."""
        if id(mask) not in places:
            element = first_bad(mask) if mask is not None else None
            where = where_text(index, offset, element, batched)
            elements = elements_text(mask, offset) if mask is not None and batched else ""
            places[id(mask)] = (mask, where, elements)  # the mask too: its id stays unique
        return places[id(mask)][1:]

    for check in checks:
        check_ok = tf.convert_to_tensor(check.ok)
        check_mask = None
        for finding in check.diagnose():
            mask = finding.element_ok
            if mask is None and check.element_ok is not None:
                if check_mask is None:
                    check_mask = check.element_ok()
                mask = check_mask
            did, message, line = _record(check, finding, check_ok, *place(mask), exact)
            fired.append(did)
            messages.append(message)
            lines.append(line)
    return fired, messages, lines


def _joined(fired: list[tf.Tensor], texts: list[tf.Tensor]) -> tf.Tensor:
    if not texts:
        return tf.constant("")
    kept = tf.gather(tf.stack(texts), tf.reshape(tf.where(tf.stack(fired)), [-1]))
    return tf.strings.reduce_join(kept, separator="\n")


def _record(check: Check, finding: Finding, check_ok: tf.Tensor, where: tf.Tensor,
            elements: tf.Tensor | str,
            exact: bool) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None]:
    """(fired, message, record line or None unless ``exact``) of one finding."""
    fired = tf.logical_and(tf.logical_not(check_ok), tf.convert_to_tensor(finding.fired))
    message = bounded_text(fill(finding.template, finding.values, where, elements), MAX_LINE)
    if not exact:
        return fired, message, None
    observed = (bounded_text(fill(finding.observed, finding.values, where, elements),
                             MAX_LINE // 4)
                if isinstance(finding.observed, str) and finding.observed
                else bounded(str(finding.observed or ""), MAX_LINE // 4))
    expected = bounded(json.dumps(finding.expected, default=str), MAX_LINE // 4)
    line = tf.strings.join([finding.code, bounded(check.feature, MAX_NAME), where, observed,
                            expected, message, finding.severity], "\t")
    return fired, message, line


def keep_mask(checks: list[Check], size: tf.Tensor) -> tf.Tensor:
    """Per-element keep mask for drop mode (build inside the failure branch)."""
    keep = tf.ones([size], tf.bool)
    for check in checks:
        check_ok = tf.convert_to_tensor(check.ok)
        mask = check.element_ok() if check.element_ok is not None else None
        if mask is None:
            elem = tf.fill([size], check_ok)
        else:
            elem = tf.logical_or(check_ok, tf.reshape(tf.convert_to_tensor(mask), [-1]))
        keep = tf.logical_and(keep, elem)
    return keep


def assertion_message(schema_name: str, checks: list[Any], index: tf.Tensor,
                      offset: tf.Tensor, batched: bool = True,
                      texts: tuple[tf.Tensor, tf.Tensor] | None = None) -> tf.Tensor:
    """A message that reads well inside TF's C-escaped assertion text, with exact records.

    TF escapes newlines, tabs, quotes and backslashes of an assertion's data; the
    readable part has none of them, the exact records travel base64-encoded.
    ``texts``: the batch's :func:`record_texts`, when they are already built.
    """
    exact, readable = texts if texts is not None else record_texts(checks, index, offset,
                                                                     batched)
    for pattern, replacement in (("\\\\", "/"), ("['\"]", "`"), ("\t", " "), ("\n", " | ")):
        readable = tf.strings.regex_replace(readable, pattern, replacement)
    name = "".join(c if c.isprintable() and c not in "'\"\\" else "`" for c in schema_name)
    return tf.strings.join([f"datacheck: schema `{name}`: ", readable, " ", RECORDS,
                            tf.io.encode_base64(exact), "]"])
