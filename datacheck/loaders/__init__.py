"""Loaders that turn validated files into training input. TensorFlow loads only when used."""

from __future__ import annotations

from typing import Any


def manifest_dataset(*args: Any, **kwargs: Any) -> Any:
    """See :func:`datacheck.loaders.tf_manifest.manifest_dataset`."""
    from datacheck.loaders.tf_manifest import manifest_dataset as build

    return build(*args, **kwargs)


__all__ = ["manifest_dataset"]
