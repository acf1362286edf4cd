"""Turn a validated pipeline's graph assertion (or a log line) back into datacheck errors.

TensorFlow prints an assertion's message C-escaped (newlines become ``\\n``,
quotes ``\\'``), so the graph writes a message that has neither: the findings
as readable sentences separated by `` | ``, then the exact records in web-safe
base64 between ``[datacheck-records:`` and ``]``. An ``InvalidArgumentError``
that reaches ``model.fit`` through any number of transformations therefore
reads well as it is, and ``from_tf_error`` / ``translate_errors`` recover the
Violations from it exactly.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from types import TracebackType
from typing import Literal

from datacheck.errors import DatacheckError, DropLimitError, ValidationError
from datacheck.report.violation import CODES, Violation

#: Opens the base64 records inside an assertion message; ``]`` closes them.
RECORDS = "[datacheck-records:"
#: Starts the message of the max_drop_fraction assertion.
DROP_LIMIT = "datacheck drop limit:"
_RECORDS_RE = re.compile(re.escape(RECORDS) + r"([A-Za-z0-9_\-=]*)\]")
_DROP_LIMIT_RE = re.compile(re.escape(DROP_LIMIT) + r" ([^\]\n]*?)(?:\]|\n|$)")


def parse_record(line: str) -> Violation | None:
    parts = line.split("\t")
    if len(parts) != 7 or parts[0] not in CODES:
        return None
    code, feature, where, observed, expected, message, severity = parts
    try:
        expected_value = json.loads(expected)
    except ValueError:
        expected_value = expected
    return Violation.from_dict({"code": code, "feature": feature, "message": message,
                                "observed": observed or None, "expected": expected_value,
                                "where": where, "severity": severity})


def format_record(violation: Violation) -> str:
    """The record line of a violation known before the graph runs (``parse_record`` reads it)."""
    fields = [violation.code, violation.feature, str(violation.where or ""),
              "" if violation.observed is None else str(violation.observed),
              json.dumps(violation.expected, default=str), violation.message,
              violation.severity]
    return "\t".join(f.replace("\t", " ").replace("\n", " ") for f in fields)


def parse_records(text: str) -> list[Violation]:
    return [v for v in (parse_record(line) for line in text.splitlines() if line) if v]


def _decode(encoded: str) -> str:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        return base64.urlsafe_b64decode(padded).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def from_tf_error(exc: BaseException, schema_name: str | None = None) -> DatacheckError | None:
    """The datacheck error inside an error raised by a validated pipeline, else None.

    ``ValidationError`` for a violating batch (raise mode), ``DropLimitError``
    when drop mode removed more than ``max_drop_fraction`` of a pass.

    >>> try: model.fit(validated)  # doctest: +SKIP
    ... except tf.errors.InvalidArgumentError as e: raise from_tf_error(e) from e
    """
    message = getattr(exc, "message", None) or str(exc)
    if not isinstance(message, str):
        return None
    found = _RECORDS_RE.search(message)
    if found:
        violations = parse_records(_decode(found.group(1)))
        if violations:
            return ValidationError(violations, schema_name)
    limit = _DROP_LIMIT_RE.search(message)
    if limit:
        return DropLimitError(limit.group(1).strip())
    return None


class translate_errors:
    """Re-raise a validated pipeline's TensorFlow error as the datacheck error it carries.

    Wrap ``model.fit`` / ``evaluate`` / ``predict`` (or any loop over a dataset
    built on ``dc.validate``): however many transformations sit between the
    validated stage and the consumer, a violation surfaces as
    ``dc.ValidationError`` (``.violations``) and a drop limit as
    ``dc.DropLimitError``. Other exceptions pass through untouched. Works as a
    decorator too.

    >>> with dc.translate_errors():  # doctest: +SKIP
    ...     model.fit(dc.validate(ds, "cifar10").prefetch(2), epochs=3)
    """

    def __init__(self, schema_name: str | None = None) -> None:
        self.schema_name = schema_name

    def __enter__(self) -> translate_errors:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> Literal[False]:
        if exc is None or not isinstance(exc, Exception) or isinstance(exc, DatacheckError):
            return False
        translated = from_tf_error(exc, self.schema_name)
        if translated is None:
            return False
        raise translated from exc

    def __call__(self, function):  # type: ignore[no-untyped-def]
        import functools

        @functools.wraps(function)
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            with translate_errors(self.schema_name):
                return function(*args, **kwargs)

        return wrapped
