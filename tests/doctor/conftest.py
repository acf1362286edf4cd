"""Real, small Keras models on scikit-learn's digits, built once per session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="session")
def keras() -> Any:
    return pytest.importorskip("keras")


@pytest.fixture(scope="session")
def make_cnn(keras: Any) -> Callable[..., Any]:
    """A small digits CNN: ``make_cnn(units=10, activation="softmax", loss=..., front=[])``."""

    def build(units: int = 10, activation: str | None = "softmax",
              loss: Any = "sparse_categorical_crossentropy", front: list[Any] | None = None,
              input_shape: tuple[int, ...] = (8, 8, 1), name: str = "digits_cnn") -> Any:
        layers = [keras.Input(input_shape), *(front or []),
                  keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.Flatten(),
                  keras.layers.Dense(units, activation=activation)]
        model = keras.Sequential(layers, name=name)
        if loss is not None:
            model.compile(optimizer="adam", loss=loss)
        return model

    return build


@pytest.fixture(scope="session")
def cnn(make_cnn: Callable[..., Any]) -> Any:
    """The healthy model: Conv2D -> Dense(10, softmax), sparse categorical crossentropy."""
    return make_cnn()


@pytest.fixture(scope="session")
def one_hot(digits: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.eye(10, dtype="float32")[digits[1]]
