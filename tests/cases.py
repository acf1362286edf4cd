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


def _planted(**faults: list[int]) -> np.ndarray:
    """Images with per-element faults: blank (all 0), nan, inf, scaled (x255), negative."""
    x = _images()
    for index in faults.get("blank", []):
        x[index] = 0.0
    for index in faults.get("nan", []):
        x[index, 5, 6, 0] = np.nan
    for index in faults.get("inf", []):
        x[index, 27, 27, 0] = -np.inf
    for index in faults.get("scaled", []):
        x[index] *= 255
    for index in faults.get("negative", []):
        x[index, 0, 0, 0] = -0.5
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
    ("blank image among good ones", lambda: (_planted(blank=[13]), _labels()), "mnist",
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

#: Per-element faults: (name, make, schema, code, indices of the elements that break it).
#: Both backends must name exactly these elements (numpy in the report's totals, graph by
#: dropping them in drop mode).
ElementCase = tuple[str, Callable[[], tuple[np.ndarray, np.ndarray]], str, str, list[int]]

ELEMENT_CASES: list[ElementCase] = [
    ("one blank image", lambda: (_planted(blank=[13]), _labels()), "mnist", "constant", [13]),
    ("blank images in two batches", lambda: (_planted(blank=[3, 50, 51]), _labels()), "mnist",
     "constant", [3, 50, 51]),
    ("NaN in one image", lambda: (_planted(nan=[5]), _labels()), "mnist", "nonfinite", [5]),
    ("NaN and -Inf in a batch", lambda: (_planted(nan=[9], inf=[14]), _labels()), "mnist",
     "nonfinite", [9, 14]),
    ("mixed scaling", lambda: (_planted(scaled=[2, 17, 18, 33, 60]), _labels()), "mnist",
     "range", [2, 17, 18, 33, 60]),
    ("one negative pixel", lambda: (_planted(negative=[41]), _labels()), "mnist", "range",
     [41]),
    ("blank next to scaled", lambda: (_planted(blank=[8], scaled=[9]), _labels()),
     "mnist_no_range", "constant", [8]),
]

EXTRA_SCHEMAS = {
    "mnist_float_labels": {
        "name": "mnist_float_labels",
        "features": {"image": {"layout": "HWC", "shape": [28, 28, 1], "normalization": "unit"}},
        "labels": {"label": {"encoding": "sparse", "num_classes": 10, "dtype": "floating"}},
    },
    "mnist_no_range": {
        "name": "mnist_no_range",
        "features": {"image": {"layout": "HWC", "shape": [28, 28, 1]}},
        "labels": {"label": {"encoding": "sparse", "num_classes": 10}},
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
