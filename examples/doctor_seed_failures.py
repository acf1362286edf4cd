"""The doctor on the six seed failure modes: a Keras model and data that do not fit together.

Data: scikit-learn's 1,797 real 8x8 handwritten digits (shipped with the package,
no download). Each case builds the model and data a person would write with
that bug and prints what ``dc.doctor(model, data)`` says, before any training.

    python examples/doctor_seed_failures.py              # all cases (about 15 s)
    python examples/doctor_seed_failures.py two_units    # one case
    python examples/doctor_seed_failures.py --train      # also fit 3 epochs and show the damage
    python examples/doctor_seed_failures.py --smoke      # also run the one-batch smoke test
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from sklearn.datasets import load_digits

import datacheck as dc
from datacheck.report.render import print_report


def digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    order = np.random.default_rng(0).permutation(len(bunch.target))
    return (bunch.images[order, :, :, None] / 16.0).astype("float32"), bunch.target[order]


def cnn(units: int = 10, activation: str | None = "softmax",
        loss: str = "sparse_categorical_crossentropy", with_input: bool = True) -> Any:
    import keras

    layers = [keras.Input((8, 8, 1))] if with_input else []
    layers += [keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.Flatten(),
               keras.layers.Dense(units, activation=activation)]
    model = keras.Sequential(layers, name="digits_cnn")
    accuracy = "accuracy" if loss != "sparse_categorical_crossentropy" else \
        "sparse_categorical_accuracy"
    model.compile(optimizer="adam", loss=loss, metrics=[accuracy])
    return model


Case = Callable[[np.ndarray, np.ndarray], tuple[Any, tuple[np.ndarray, np.ndarray]]]


def string_labels(x: np.ndarray, y: np.ndarray) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    """Labels read from a CSV as class names."""
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    return cnn(), (x, names[y])


def one_hot_for_sparse_loss(x: np.ndarray, y: np.ndarray
                            ) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    """to_categorical() labels, but the model was compiled with the sparse loss."""
    return cnn(), (x, np.eye(10, dtype="float32")[y])


def pixels_0_255(x: np.ndarray, y: np.ndarray) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    """Raw 8-bit pixels and no Rescaling layer."""
    return cnn(), ((x * 255).round().astype("uint8"), y)


def no_channel_axis(x: np.ndarray, y: np.ndarray) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    """(N, 8, 8) images for a Conv2D model built without an Input: Keras fails at fit."""
    return cnn(with_input=False), (x[..., 0], y)


def sigmoid_for_10_classes(x: np.ndarray, y: np.ndarray
                           ) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    """Dense(10, sigmoid) + binary_crossentropy for single-label digits: 'accuracy' lies."""
    return cnn(activation="sigmoid", loss="binary_crossentropy"), (x, np.eye(10)[y])


def two_units(x: np.ndarray, y: np.ndarray) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    """A head copied from a binary model: Dense(2) for 10 classes."""
    return cnn(units=2), (x, y)


CASES: dict[str, tuple[Case, set[str]]] = {
    "string_labels": (string_labels, {"label_encoding"}),
    "one_hot_for_sparse_loss": (one_hot_for_sparse_loss, {"loss_mismatch"}),
    "pixels_0_255": (pixels_0_255, {"unnormalized"}),
    "no_channel_axis": (no_channel_axis, {"input_shape"}),
    "sigmoid_for_10_classes": (sigmoid_for_10_classes, {"output_activation"}),
    "two_units": (two_units, {"output_units"}),
}


def train(model: Any, data: tuple[np.ndarray, np.ndarray]) -> str:
    """Fit 3 epochs and return the validation accuracy, or Keras' error."""
    try:
        history = model.fit(*data, epochs=3, batch_size=32, validation_split=0.2, verbose=0)
    except Exception as exc:  # the point is to show what Keras does
        return f"fit raised {type(exc).__name__}: {str(exc).strip().splitlines()[0][:120]}"
    key = next(k for k in history.history if k.startswith("val_") and "accuracy" in k)
    line = f"validation {key[4:]} after 3 epochs: {history.history[key][-1]:.3f}"
    x, y = data
    if y.ndim == 2:  # one-hot rows: what fraction of digits does argmax get right?
        cut = int(len(y) * 0.8)
        hits = model.predict(x[cut:], verbose=0).argmax(-1) == y[cut:].argmax(-1)
        line += f" (argmax accuracy {hits.mean():.3f})"
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", choices=[*CASES, []], metavar="CASE",
                        help=f"cases to run (default all): {', '.join(CASES)}")
    parser.add_argument("--train", action="store_true", help="also fit each broken setup")
    parser.add_argument("--smoke", action="store_true", help="also run the smoke test")
    args = parser.parse_args()
    x, y = digits()
    missed = []
    for name in args.cases or list(CASES):
        build, expected = CASES[name]
        model, data = build(x, y)
        print(f"\n=== {name}: {build.__doc__}")
        report = dc.doctor(model, data, smoke=args.smoke)
        print_report(report)
        codes = report.codes()
        print(f"codes: {', '.join(codes)}")
        if args.train:
            print(train(model, data))
        if not expected <= set(codes):
            missed.append(name)
    if missed:
        print(f"\nNOT caught: {', '.join(missed)}")
        return 1
    print(f"\ncaught before training: {len(args.cases or CASES)} of {len(args.cases or CASES)}"
          " cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
