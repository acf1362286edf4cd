"""Assertions for tests: pass quietly, or fail with every violation spelled out.

pytest hides these frames from tracebacks (``__tracebackhide__``), so a
failure points at the test line and prints the datacheck messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from datacheck.report.report import Report
from datacheck.report.violation import Violation
from datacheck.schema.io import load_schema
from datacheck.schema.model import Schema

SchemaLike = str | Path | dict[str, Any] | Schema
#: Violations listed in a failure message; the rest are counted.
SHOWN = 20


def _check(data: Any, schema: SchemaLike, batch_size: int | None) -> Report:
    from datacheck.api import check

    if isinstance(data, Report):
        return data
    size = batch_size if batch_size is not None else getattr(data, "batch_size", None)
    if size is not None and isinstance(data, dict):
        return check(dict(data), schema, batch_size=max(int(size), 1))
    if size is not None:
        return check(data, schema, batch_size=max(int(size), 1))
    return check(data, schema)


def describe(violations: Iterable[Violation], limit: int = SHOWN) -> str:
    """Indented lines, one block per violation: code, feature, where, then the message."""
    items = list(violations)
    lines = []
    for v in items[:limit]:
        seen = v.extra.get("occurrences") if isinstance(v.extra, dict) else None
        times = f" (x{seen})" if seen else ""
        lines.append(f"  - {v.code} [{v.severity}] {v.feature} @ {v.where or 'dataset'}{times}")
        lines.append(f"      {v.message}")
    if len(items) > limit:
        lines.append(f"  ... and {len(items) - limit} more")
    return "\n".join(lines)


def assert_matches(data: Any, schema: SchemaLike, *, ignore: Iterable[str] = (),
                   strict: bool = False, batch_size: int | None = None) -> Report:
    """Assert that ``data`` satisfies ``schema``; return the Report when it does.

    ``data`` is anything ``dc.check`` takes (arrays, a tf.data.Dataset, paths)
    or a Report. ``ignore``: codes to tolerate. ``strict``: warnings fail too.
    ``batch_size`` defaults to ``data.batch_size`` when present (generated batches).

    >>> import numpy as np
    >>> assert_matches((np.full((10, 28, 28, 1), 0.5), np.arange(10)), "mnist")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    AssertionError: data does not match schema 'mnist': 1 violation (constant)
    ...
    """
    __tracebackhide__ = True
    resolved = load_schema(schema)
    report = _check(data, resolved, batch_size)
    skip = set(ignore)
    bad = [v for v in report.sorted_violations()
           if v.code not in skip and (v.severity == "error" or strict)]
    if bad:
        codes = ", ".join(dict.fromkeys(v.code for v in bad))
        plural = "s" if len(bad) != 1 else ""
        raise AssertionError(f"data does not match schema {resolved.name!r}: {len(bad)} "
                             f"violation{plural} ({codes})\n{describe(bad)}\n{report.verdict()}")
    return report


def assert_violates(data: Any, schema: SchemaLike, code: str, *, feature: str | None = None,
                    only: bool = True, batch_size: int | None = None) -> list[Violation]:
    """Assert that checking ``data`` reports ``code`` (in ``feature``); return those violations.

    ``only``: no other code may be reported (warnings of other codes included),
    which is how you prove a rule catches what it should and nothing else.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((10, 28, 28, 1)) * 255
    >>> [v.code for v in assert_violates((x, np.arange(10)), "mnist", "range")]
    ['range']
    """
    __tracebackhide__ = True
    resolved = load_schema(schema)
    report = _check(data, resolved, batch_size)
    found = [v for v in report.violations
             if v.code == code and (feature is None or v.feature == feature)]
    where = f" in {feature!r}" if feature else ""
    if not found:
        seen = describe(report.violations) or "  (none: the data passes)"
        raise AssertionError(f"expected a {code!r} violation{where} against schema "
                             f"{resolved.name!r}, but found:\n{seen}")
    others = [v for v in report.violations if v.code != code]
    if only and others:
        raise AssertionError(f"expected only {code!r}{where} against schema {resolved.name!r}, "
                             f"but also found:\n{describe(others)}")
    return found
