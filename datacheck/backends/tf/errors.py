"""Turn graph records (inside a TF error message or a log file) back into Violations."""

from __future__ import annotations

import codecs
import json

from datacheck.errors import ValidationError
from datacheck.report.violation import CODES, Violation

#: Marks the records of a datacheck assertion inside an InvalidArgumentError message.
MARKER = "datacheck-violations-begin"
END = "datacheck-violations-end"


def parse_record(line: str) -> Violation | None:
    parts = line.split("\t")
    if len(parts) != 7 or parts[0] not in CODES:
        return None
    code, feature, where, observed, expected, message, severity = parts
    try:
        expected_value = json.loads(expected)
    except ValueError:
        expected_value = expected
    return Violation(code, feature, message, observed=observed or None, expected=expected_value,
                     where=where, severity=severity)


def parse_records(text: str) -> list[Violation]:
    return [v for v in (parse_record(line) for line in text.splitlines() if line) if v]


def _unescape(text: str) -> str:
    """tf.debugging.Assert C-escapes tabs, newlines and quotes in its message."""
    raw = codecs.escape_decode(text.encode("utf-8"))[0]
    return raw.decode("utf-8", "replace")  # type: ignore[union-attr]


def from_tf_error(exc: BaseException, schema_name: str | None = None) -> ValidationError | None:
    """The ValidationError inside a TF InvalidArgumentError raised by a validated pipeline.

    >>> try: next(iter(validated))  # doctest: +SKIP
    ... except tf.errors.InvalidArgumentError as e: raise from_tf_error(e) from e
    """
    message = getattr(exc, "message", None) or str(exc)
    if MARKER not in message:
        return None
    body = message.split(MARKER, 1)[1].split(END, 1)[0]
    violations = parse_records(_unescape(body).lstrip("\n"))
    if not violations:
        return None
    return ValidationError(violations, schema_name)
