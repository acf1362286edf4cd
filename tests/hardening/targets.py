"""Fuzz targets shared by the CI fuzz tests (hypothesis) and benchmarks/fuzz_long.py (atheris).

A target feeds one input to a public entry point. The oracle: it returns, or
raises a DatacheckError whose message is non-empty and bounded; anything else
(another exception type, an empty or runaway message) is a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import datacheck as dc
from datacheck.errors import DatacheckError
from datacheck.schema.io import schema_from_text

#: A message longer than this is not "one clear line" (it echoes the input).
MAX_MESSAGE = 10_000
#: Codes a reader may report for a hostile file (the file is then 'unreadable' or 'too_large').
READER_CODES = {"unreadable", "too_large", "missing_file"}


class Crash(AssertionError):
    """The target broke the contract; the message names the input class and what happened."""


def expect_clean(run: Callable[[], Any], what: str) -> Any:
    """Run ``run``; return its result, or None when it raised a proper DatacheckError."""
    try:
        return run()
    except DatacheckError as exc:
        message = str(exc)
        if not message.strip():
            raise Crash(f"{what}: {type(exc).__name__} with an empty message") from exc
        if len(message) > MAX_MESSAGE:
            raise Crash(f"{what}: {type(exc).__name__} message of {len(message)} characters "
                        f"(starts {message[:120]!r})") from exc
        return None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # every other escape is the finding
        raise Crash(f"{what}: {type(exc).__name__}: {str(exc)[:300]}") from exc


def schema_text(text: str, fmt: str = "yaml") -> dc.Schema | None:
    """Parse schema text (YAML or JSON) the way load_schema parses a file."""
    return expect_clean(lambda: schema_from_text(text, origin="fuzz.yaml", fmt=fmt),
                        f"schema_from_text({fmt})")


def schema_object(data: Any) -> dc.Schema | None:
    """Validate an already-parsed object (a dict from YAML/JSON, or anything else)."""
    return expect_clean(lambda: dc.load_schema(data) if isinstance(data, dict)
                        else schema_from_text_value(data), "load_schema(dict)")


def schema_from_text_value(data: Any) -> dc.Schema:
    import json

    return schema_from_text(json.dumps(data, default=str), origin="fuzz.json", fmt="json")


def schema_bytes(data: bytes) -> None:
    """atheris entry: the first byte picks YAML or JSON, the rest is decoded leniently."""
    if not data:
        return
    fmt = "json" if data[0] & 1 else "yaml"
    schema_text(data[1:].decode("utf-8", errors="replace"), fmt)


def schema_file(path: Path) -> dc.Schema | None:
    """load_schema on a path (suffix decides YAML/JSON)."""
    return expect_clean(lambda: dc.load_schema(path), f"load_schema({path.suffix or 'path'})")


def reader_file(path: Path, schema: Any) -> dc.Report | None:
    """dc.check on one file: a hostile file must end as a report entry, never an escape."""
    report = expect_clean(lambda: dc.check(path, schema), f"dc.check({path.suffix})")
    if report is None:
        return None
    status = report.inputs.get(str(path))
    if status is None:
        raise Crash(f"dc.check({path.suffix}): the report does not account for {path.name}")
    if status == "unreadable":
        codes = {v.code for v in report.violations}
        if not codes & READER_CODES:
            raise Crash(f"dc.check({path.suffix}): unreadable without a reason code ({codes})")
        for v in report.violations:
            if not v.message.strip() or len(v.message) > MAX_MESSAGE:
                raise Crash(f"dc.check({path.suffix}): bad message {v.message[:120]!r}")
    return report
