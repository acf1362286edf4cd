"""Exceptions. Every error a user can cause is a DatacheckError with one clear line.

The CLI maps DatacheckError (and its subclasses other than ValidationError) to
exit code 2, ValidationError to exit code 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datacheck.report.violation import Violation


class DatacheckError(Exception):
    """Base class: a usage, schema or configuration problem a person can fix."""


class SchemaError(DatacheckError):
    """The schema itself is invalid (unknown key, impossible range, bad layout...)."""


class DataError(DatacheckError):
    """The data cannot be read or interpreted at all (not an array, unreadable file)."""


class MissingDependencyError(DatacheckError):
    """An optional dependency is needed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs {package}, which is not installed. "
            f"Install it with: pip install 'datacheck[{extra}]'"
        )
        self.package = package
        self.extra = extra


class ValidationError(DatacheckError):
    """Data violated the schema (raised by ``on_error="raise"``).

    ``.violations`` holds the :class:`~datacheck.Violation` objects.
    """

    def __init__(self, violations: list[Violation], schema_name: str | None = None) -> None:
        self.violations = list(violations)
        self.schema_name = schema_name
        head = self.violations[0].message if self.violations else "validation failed"
        more = f" (+{len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
        prefix = f"schema {schema_name!r}: " if schema_name else ""
        super().__init__(f"{prefix}{head}{more}")


class DropLimitError(DatacheckError):
    """Drop mode removed more than ``max_drop_fraction`` of the elements of one pass.

    Raised instead of letting training go on with (almost) no data, where Keras
    would fail later with ``KeyError: 'loss'`` or train on a biased remainder.
    """


def require(module: str, extra: str, purpose: str):  # type: ignore[no-untyped-def]
    """Import an optional dependency or raise MissingDependencyError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without extras
        raise MissingDependencyError(module.split(".")[0], extra, purpose) from exc


class ScanInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a scan; ``.report`` holds what was checked, the rest ``not_checked``.

    A KeyboardInterrupt, so code that does not know it still stops as on any Ctrl-C.
    """

    def __init__(self, report: object) -> None:
        super().__init__("the scan was interrupted")
        self.report = report
