"""Scans of files and folders: every input is accounted for in the report."""

from datacheck.scan.paths import check_paths

__all__ = ["check_paths"]
