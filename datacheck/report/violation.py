"""The Violation record, where reports have always imported it from.

It is built by the rules (``datacheck.rules.violation``); reports, the CLI and
users read it here or as ``datacheck.Violation``.
"""

from datacheck.rules.violation import CODES, SEVERITY, Violation, _jsonable

__all__ = ["CODES", "SEVERITY", "Violation", "_jsonable"]
