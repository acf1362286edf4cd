"""Eager numpy backend: views of in-memory batches and evaluation of checks."""

from datacheck.backends.numpy.check import check_batches
from datacheck.backends.numpy.views import NumpyLabelView, NumpyTensorView, dtype_name

__all__ = ["NumpyLabelView", "NumpyTensorView", "check_batches", "dtype_name"]
