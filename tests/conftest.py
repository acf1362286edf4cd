"""Shared fixtures: real data shipped by packages, and small generators."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.nifti_files import nibabel_data, patch, write_nifti  # noqa: F401  (fixtures)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 real 8x8 digits as a Keras CNN wants them: (N, 8, 8, 1) in [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images[..., None] / 16.0).astype("float32")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(images))
    return images[order], bunch.target[order].astype("int64")


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
