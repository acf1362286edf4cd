"""The judge: every rule is written once and runs on numpy views, TF views and summaries."""

from datacheck.rules.base import Check, Finding
from datacheck.rules.judge import dataset_violations, static_checks, value_checks

__all__ = ["Check", "Finding", "dataset_violations", "static_checks", "value_checks"]
