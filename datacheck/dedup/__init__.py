"""Duplicates and leakage: exact content hashes and perceptual hashes of images and volumes."""

from __future__ import annotations

from typing import Any

from datacheck.dedup.hashing import content_hash, perceptual_hashes
from datacheck.dedup.index import HashIndex
from datacheck.rules.dedup import duplicate_violations

__all__ = ["HashIndex", "content_hash", "duplicate_violations", "find_duplicates",
           "perceptual_hashes"]


def __getattr__(name: str) -> Any:
    # Loaded on use: the profile builder imports this package's hashing module.
    if name == "find_duplicates":
        from datacheck.dedup.api import find_duplicates

        return find_duplicates
    raise AttributeError(f"module 'datacheck.dedup' has no attribute {name!r}")
