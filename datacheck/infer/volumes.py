"""Readers for volume files (NIfTI, HDF5, manifests), filled in from datacheck.readers."""

from __future__ import annotations

from typing import Any


def volume_readers() -> dict[str, Any]:
    return {}
