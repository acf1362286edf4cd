"""Eager numpy backend: views of in-memory batches and evaluation of checks.

The run engine that drives it (``Collector``, ``check_batches``) lives in
``datacheck.engine``.
"""

from datacheck.backends.numpy.views import NumpyLabelView, NumpyTensorView, dtype_name

__all__ = ["NumpyLabelView", "NumpyTensorView", "dtype_name"]
