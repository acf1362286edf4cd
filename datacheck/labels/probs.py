"""Predicted class probabilities per element: an out-of-fold probe, a Keras model or a file.

Confident learning needs probabilities from a model that did not train on
the element it scores, or it just repeats the given label back. The probe
does that with k-fold: a scikit-learn logistic regression on downsampled,
flattened pixels (or on embeddings the user passes), each fold predicted by a
model fitted on the other folds. On scikit-learn's digits with 5% flipped
labels, raw pixels scaled to [0, 1] with C=1 and 5 folds found 81-88% of the
flips at 82-87% precision over five seeds; standardized pixels or C=0.01-0.1
lost recall or precision, 10 folds cost 10x the time for +1-2% (measured
2026-12, benchmarks/bench_labels.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from datacheck.dedup.hashing import box_resize
from datacheck.errors import DatacheckError, DataError

#: Longest side of the images the probe sees (8x8 digits pass as they are).
PROBE_SIDE = 16
#: Folds of the out-of-fold probe.
FOLDS = 5


def probe_features(x: np.ndarray, layout: str | None) -> np.ndarray:
    """Flattened features for the probe: images box-downsampled to at most 16x16 per channel,
    everything scaled by the largest magnitude so the regularization means the same on any
    intensity range."""
    arr = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if layout and "C" in layout and arr.ndim == len(layout) + 1:
        arr = np.moveaxis(arr, layout.index("C") + 1, 1)  # channels first: resize each one
    elif arr.ndim >= 3:
        arr = arr[:, None]
    if arr.ndim == 4:
        n, c, h, w = arr.shape
        if max(h, w) > PROBE_SIDE:
            scale = PROBE_SIDE / max(h, w)
            nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
            arr = box_resize(arr.reshape(n * c, h, w), nh, nw).reshape(n, c, nh, nw)
    flat = arr.reshape(len(arr), -1)
    peak = float(np.abs(flat).max()) if flat.size else 0.0
    return flat / peak if peak > 0 else flat


def probe_probabilities(features: np.ndarray, labels: np.ndarray, n_classes: int,
                        folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """Out-of-fold probabilities (n, n_classes) of a logistic regression on ``features``.

    Classes that no element carries get probability 0. Every class present
    needs at least 2 elements (k-fold needs it in a training fold).
    """
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
    except ImportError:
        raise DatacheckError("the label probe needs scikit-learn: pip install "
                             "'datacheck[labels]'") from None
    present, counts = np.unique(labels, return_counts=True)
    if len(present) < 2:
        raise DataError(f"labels hold only class {present.tolist()}: label errors need at least "
                        "2 classes.")
    if counts.min() < 2:
        lonely = present[counts < 2].tolist()
        raise DataError(f"classes {lonely[:10]} have a single element: the k-fold probe needs at "
                        "least 2 per class; drop them or pass --predictions from your model.")
    k = int(min(folds, counts.min()))
    cv = StratifiedKFold(k, shuffle=True, random_state=seed)
    model = LogisticRegression(max_iter=1000, C=1.0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the probabilities are usable
        local = cross_val_predict(model, features, labels, cv=cv, method="predict_proba")
    out = np.zeros((len(labels), n_classes))
    out[:, present] = local  # predict_proba columns follow the sorted classes present
    return out


def to_probabilities(raw: Any, n: int, n_classes: int, origin: str) -> np.ndarray:
    """Validate predictions (n, k): probabilities, logits (softmaxed) or one sigmoid column."""
    arr = np.asarray(raw, dtype=np.float64)
    if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1):
        p = arr.reshape(-1)
        if np.all((p >= 0) & (p <= 1)):
            arr = np.stack([1 - p, p], axis=1)  # binary sigmoid output
    if arr.ndim != 2 or arr.shape[0] != n:
        raise DataError(f"{origin}: predictions of shape {arr.shape} for {n} elements; expected "
                        f"({n}, classes), one row per element in data order.")
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{origin}: predictions hold NaN or Inf; fix the model's output first.")
    if arr.shape[1] < n_classes:
        raise DataError(f"{origin}: {arr.shape[1]} prediction columns but labels reach class "
                        f"{n_classes - 1}; the model must score every class.")
    sums = arr.sum(axis=1)
    if arr.min() < 0 or not np.allclose(sums, 1.0, atol=1e-3):
        shifted = np.exp(arr - arr.max(axis=1, keepdims=True))  # logits: softmax them
        arr = shifted / shifted.sum(axis=1, keepdims=True)
    return arr


def load_predictions(path: str | Path, n: int, n_classes: int) -> np.ndarray:
    """Probabilities from a saved ``.npy`` (no pickles), validated by :func:`to_probabilities`."""
    from datacheck.readers.npy import read_npy

    p = Path(path)
    if not p.exists():
        raise DatacheckError(f"{p}: no such predictions file.")
    try:  # through the gate: one checked descriptor, never unpickled
        raw = np.asarray(read_npy(p))
    except DatacheckError as exc:
        raise DatacheckError(f"{exc} Save predictions with np.save('p.npy', "
                             "model.predict(x)).") from None
    return to_probabilities(raw, n, n_classes, str(p))


def model_probabilities(model: Any, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities from a Keras model (object or .keras path) on ``x``."""
    from datacheck.doctor.model_info import load_model

    keras_model = load_model(model)
    try:
        raw = keras_model.predict(np.asarray(x, dtype=np.float32), verbose=0, batch_size=256)
    except Exception as exc:  # any failure inside Keras becomes one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise DatacheckError(f"the model cannot predict on this data ({type(exc).__name__}: "
                             f"{first}). Run `datacheck doctor` to see why.") from None
    if isinstance(raw, (list, tuple)):
        raw = raw[0]
    return to_probabilities(raw, len(x), n_classes, "model output")
