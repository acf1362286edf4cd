"""Helpers for unit-testing data loaders against a schema.

>>> from datacheck.testing import assert_matches
>>> import numpy as np
>>> x = np.random.default_rng(0).random((10, 28, 28, 1)); y = np.arange(10)
>>> assert_matches((x, y), "mnist").ok
True

``batches``, ``violations`` and ``schemas`` (hypothesis strategies) load
hypothesis on first use, ``ValidationCallback`` loads Keras; importing this
package, and the pytest plugin, stays light.
"""

from __future__ import annotations

from typing import Any

from datacheck.testing.assertions import assert_matches, assert_violates

__all__ = ["ValidationCallback", "assert_matches", "assert_violates", "batches", "schemas",
           "violations"]


def __getattr__(name: str) -> Any:
    if name in ("batches", "violations", "schemas"):
        from datacheck.testing import strategies

        return getattr(strategies, name)
    if name == "ValidationCallback":
        from datacheck.testing.keras_callback import ValidationCallback

        return ValidationCallback
    raise AttributeError(f"module 'datacheck.testing' has no attribute {name!r}")
