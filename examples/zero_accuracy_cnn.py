"""The seven ways a Keras CNN trains to ~0% accuracy, reproduced on real data, caught by datacheck.

Data: scikit-learn's 1,797 real 8x8 handwritten digits (shipped with the package,
no download). Each failure mode builds the tf.data pipeline a person would
write with that bug, wraps it in ``dc.validate`` and shows what datacheck says.

    python examples/zero_accuracy_cnn.py            # catch every bug (about 20 s)
    python examples/zero_accuracy_cnn.py --train    # also train a small CNN on each broken
                                                    # pipeline, to show the damage (minutes)
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from sklearn.datasets import load_digits

import datacheck as dc


def clean_digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    order = np.random.default_rng(0).permutation(len(bunch.target))
    images = (bunch.images[order, :, :, None] / 16.0).astype("float32")
    return images, bunch.target[order].astype("int64")


def failure_modes() -> dict[str, Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, object]]]:
    """Each entry turns clean (x, y) into what the buggy pipeline delivers."""
    return {
        "string labels": lambda x, y: (x, np.array([f"digit_{v}" for v in y])),
        "0-255 pixels (forgot to scale)": lambda x, y: (np.round(x * 255), y),
        "one-hot labels with a sparse loss": lambda x, y: (x, np.eye(10, dtype="float32")[y]),
        "missing channel axis": lambda x, y: (x[..., 0], y),
        "NCHW fed to an NHWC model": lambda x, y: (np.transpose(x, (0, 3, 1, 2)), y),
        "labels out of range (1-based)": lambda x, y: (x, y + 1),
        "unshuffled classes": lambda x, y: (x[np.argsort(y, kind="stable")],
                                            np.sort(y, kind="stable")),
    }


def pipeline(x: np.ndarray, y: object, batch: int = 32):  # type: ignore[no-untyped-def]
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)


def catch(name: str, x: np.ndarray, y: object) -> dc.ValidationError | None:
    try:
        for _ in dc.validate(pipeline(x, y), "digits"):
            pass
    except dc.ValidationError as exc:
        return exc
    return None


def train_accuracy(x: np.ndarray, y: object, epochs: int = 5) -> float:
    """Validation accuracy of a small CNN trained on the (possibly broken) pipeline."""
    import keras

    n = len(x)
    split = int(n * 0.8)
    model = keras.Sequential([
        keras.Input(x.shape[1:] if x.ndim == 4 else (8, 8, 1)),
        keras.layers.Conv2D(16, 3, activation="relu", padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    try:
        model.fit(x[:split], np.asarray(y)[:split], epochs=epochs, verbose=0)
        return float(model.evaluate(x[split:], np.asarray(y)[split:], verbose=0)[1])
    except Exception as exc:  # the bug may also crash training: that is the point
        print(f"    training failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
        return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="also train a CNN on each")
    args = parser.parse_args()
    x, y = clean_digits()
    assert catch("clean", x, y) is None, "the clean pipeline must pass"
    print("clean digits pipeline: OK\n")
    missed = 0
    for name, breaker in failure_modes().items():
        bx, by = breaker(x, y)
        error = catch(name, bx, by)
        if error is None:
            missed += 1
            print(f"[MISSED] {name}")
            continue
        first = error.violations[0]
        print(f"[caught] {name}: code={first.code}\n    {first.message}")
        if args.train and first.code not in ("rank", "layout", "label_encoding"):
            print(f"    CNN validation accuracy when trained anyway: {train_accuracy(bx, by):.1%}")
    print(f"\n{len(failure_modes()) - missed} of {len(failure_modes())} failure modes caught.")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
