"""Duplicates and leakage: exact content hashes and perceptual hashes of images and volumes."""

from datacheck.dedup.findings import duplicate_violations
from datacheck.dedup.hashing import content_hash, perceptual_hashes
from datacheck.dedup.index import HashIndex

__all__ = ["HashIndex", "content_hash", "duplicate_violations", "find_duplicates",
           "perceptual_hashes"]


def find_duplicates(*datasets, **kwargs):  # type: ignore[no-untyped-def]
    raise NotImplementedError
