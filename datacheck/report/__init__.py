"""Violations and reports: what the judge found, in JSON, text and HTML."""

from datacheck.report.report import Report
from datacheck.report.violation import CODES, Violation

__all__ = ["CODES", "Report", "Violation"]
