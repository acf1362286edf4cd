"""Scans of files, folders and manifests: every input is accounted for in the report."""

from datacheck.scan.paths import CHECKERS, check_paths

__all__ = ["CHECKERS", "check_paths"]
