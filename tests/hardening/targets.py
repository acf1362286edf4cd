"""Fuzz targets shared by the CI fuzz tests (hypothesis) and benchmarks/fuzz_long.py (atheris).

A target feeds one input to a public entry point. The oracle: it returns, or
raises a DatacheckError whose message is non-empty and bounded; anything else
(another exception type, an empty or runaway message) is a crash.
"""

from __future__ import annotations

import re
from collections import Counter
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


#: Inputs fed to each target in this process (printed in the pytest summary).
CASES: Counter[str] = Counter()
#: Open crash classes seen while fuzzing (each has an xfail(strict=True) reproducer).
KNOWN: Counter[str] = Counter()


#: Open crash classes: (name, matcher of the exception and its message). Each one needs an
#: xfail(strict=True) reproducer; fuzzing then tallies it in KNOWN and keeps looking for new
#: ones. Empty: every class found so far (schema parser, NIfTI/HDF5/.npz readers, manifest
#: rows) is fixed and has a regression test in test_bombs.py or tests/readers.
OPEN_CLASSES: list[tuple[str, Callable[[BaseException, str | None], bool]]] = []
#: Open reader findings: (name, pattern of a raw 'unreadable' reason). Empty, as above.
OPEN_READER_CLASSES: list[tuple[str, str]] = []


def known_class(exc: BaseException, message: str | None = None) -> str | None:
    """Name of the open, already-routed crash class ``exc`` belongs to, or None if new."""
    return next((name for name, matches in OPEN_CLASSES if matches(exc, message)), None)


class Crash(AssertionError):
    """The target broke the contract; the message names the input class and what happened."""


def expect_clean(run: Callable[[], Any], what: str, strict: bool = False) -> Any:
    """Run ``run``; return its result, or None when it raised a proper DatacheckError.

    A known crash class is tallied in KNOWN (or raised as Crash when ``strict``),
    so fuzzing keeps looking for new ones; anything else raises Crash.
    """
    CASES[what.split("(")[0]] += 1
    try:
        return run()
    except DatacheckError as exc:
        message = str(exc)
        if not message.strip():
            raise Crash(f"{what}: {type(exc).__name__} with an empty message") from exc
        if len(message) > MAX_MESSAGE:
            known = known_class(exc, message)
            if known and not strict:
                KNOWN[known] += 1
                return None
            raise Crash(f"{what}: {type(exc).__name__} message of {len(message)} characters "
                        f"(starts {message[:120]!r})") from exc
        return None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # every other escape is the finding
        known = known_class(exc)
        if known and not strict:
            KNOWN[known] += 1
            return None
        raise Crash(f"{what}: {type(exc).__name__}: {str(exc)[:300]}") from exc


def schema_text(text: str, fmt: str = "yaml", strict: bool = False) -> dc.Schema | None:
    """Parse schema text (YAML or JSON) the way load_schema parses a file."""
    return expect_clean(lambda: schema_from_text(text, origin="fuzz.yaml", fmt=fmt),
                        f"schema_from_text({fmt})", strict)


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


def schema_file(path: Path, strict: bool = False) -> dc.Schema | None:
    """load_schema on a path (suffix decides YAML/JSON)."""
    return expect_clean(lambda: dc.load_schema(path), f"load_schema({path.suffix or 'path'})",
                        strict)


#: An 'unreadable' reason that is a raw exception from a dependency, not a datacheck reason.
RAW_REASON = re.compile(r"unreadable: [A-Za-z_.]*(Error|Exception|error)\b")


def known_reader_class(message: str) -> str | None:
    """Open, routed reader findings (each has an xfail(strict=True) reproducer)."""
    return next((name for name, pattern in OPEN_READER_CLASSES if re.search(pattern, message)),
                None)


def reader_file(path: Path, schema: Any, strict: bool = False) -> dc.Report | None:
    """dc.check on one file: a hostile file must end as a report entry with a datacheck reason."""
    report = expect_clean(lambda: dc.check(path, schema), f"dc.check({path.suffix})", strict)
    if report is None:
        return None
    status = report.inputs.get(str(path))
    if status is None:
        raise Crash(f"dc.check({path.suffix}): the report does not account for {path.name}")
    codes = {v.code for v in report.violations}
    if status == "unreadable" and not codes & READER_CODES:
        raise Crash(f"dc.check({path.suffix}): unreadable without a reason code ({codes})")
    for v in report.violations:
        if not v.message.strip() or len(v.message) > MAX_MESSAGE:
            raise Crash(f"dc.check({path.suffix}): bad message {v.message[:120]!r}")
        if RAW_REASON.search(v.message):
            known = known_reader_class(v.message)
            if known is None or strict:
                raise Crash(f"dc.check({path.suffix}): raw exception as the reason: "
                            f"{v.message[:200]}")
            KNOWN[known] += 1
    return report
