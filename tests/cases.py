"""Seed failure modes of zero-accuracy CNNs, as (data, schema, expected code) cases.

Shared by the numpy and TF backend tests: the same rule must fire on both.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Case = tuple[str, Callable[[], tuple[np.ndarray, np.ndarray]], str, str]


def _images(n: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 28, 28, 1)).astype("float32")


def _labels(n: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 10, n).astype("int64")


def _with(index: int, value: float) -> np.ndarray:
    x = _images()
    x[index, 3, 4, 0] = value
    return x


CASES: list[Case] = [
    ("pixels 0-255", lambda: (_images() * 255, _labels()), "mnist", "range"),
    ("uint8 pixels", lambda: ((_images() * 255).astype("uint8"), _labels()), "mnist", "dtype"),
    ("NaN pixel", lambda: (_with(5, np.nan), _labels()), "mnist", "nonfinite"),
    ("Inf pixel", lambda: (_with(9, np.inf), _labels()), "mnist", "nonfinite"),
    ("negative pixel", lambda: (_with(2, -0.5), _labels()), "mnist", "range"),
    ("missing channel", lambda: (_images()[..., 0], _labels()), "mnist", "rank"),
    ("NCHW", lambda: (np.transpose(_images(), (0, 3, 1, 2)), _labels()), "mnist", "layout"),
    ("wrong size", lambda: (_images()[:, :20, :20], _labels()), "mnist", "shape"),
    ("blank batch", lambda: (np.zeros((64, 28, 28, 1), "float32"), _labels()), "mnist",
     "constant"),
    ("string labels", lambda: (_images(), _labels().astype(str)), "mnist", "label_encoding"),
    ("one-hot labels", lambda: (_images(), np.eye(10)[_labels()].astype("float32")), "mnist",
     "label_encoding"),
    ("labels out of range", lambda: (_images(), _labels() + 1), "mnist", "label_range"),
    ("negative label", lambda: (_images(), np.where(_labels() == 3, -1, _labels())), "mnist",
     "label_range"),
    ("fractional labels", lambda: (_images(), _labels() / 2.0), "mnist_float_labels",
     "label_encoding"),
    ("unshuffled", lambda: (_images(256), np.sort(_labels(256))), "mnist_small_batches",
     "unshuffled"),
]

EXTRA_SCHEMAS = {
    "mnist_float_labels": {
        "name": "mnist_float_labels",
        "features": {"image": {"layout": "HWC", "shape": [28, 28, 1], "normalization": "unit"}},
        "labels": {"label": {"encoding": "sparse", "num_classes": 10, "dtype": "floating"}},
    },
    "mnist_small_batches": {
        "name": "mnist_small_batches",
        "features": {"image": {"layout": "HWC", "shape": [28, 28, 1], "normalization": "unit"}},
        "labels": {"label": {"encoding": "sparse", "num_classes": 10, "shuffle_window": 3}},
    },
}


def schema_for(name: str):  # type: ignore[no-untyped-def]
    import datacheck as dc

    return dc.load_schema(EXTRA_SCHEMAS.get(name, name))


#: Batch size the cases are meant to be checked with (unshuffled needs several batches).
BATCH = 8
