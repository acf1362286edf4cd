"""datacheck: prove the data going into a model is what the model expects.

>>> import datacheck as dc
>>> schema = dc.load_schema("cifar10")
>>> schema.features["image"].layout
'HWC'

Importing datacheck never imports TensorFlow; TF, Keras, Dask and matplotlib
load in the modules that need them.
"""

from __future__ import annotations

from typing import Any

from datacheck.api import check, validate
from datacheck.backends.tf.errors import from_tf_error, translate_errors

# Eager on purpose: the package datacheck.doctor would otherwise shadow the function once
# imported. It imports no TensorFlow or Keras until it runs.
from datacheck.doctor import doctor
from datacheck.errors import (
    DatacheckError,
    DataError,
    DropLimitError,
    SchemaError,
    ValidationError,
)
from datacheck.report import Report, Violation
from datacheck.schema import Feature, Label, Schema, load_schema

__version__ = "0.1.0"

__all__ = [
    "DataError", "DatacheckError", "DropLimitError", "Feature", "Label", "Report", "Schema",
    "SchemaError",
    "ValidationError", "Violation", "__version__", "check", "doctor", "find_label_issues",
    "from_tf_error", "infer_schema", "load_schema", "translate_errors", "validate",
]


def __getattr__(name: str) -> Any:
    # Heavier entry points load on first use so `import datacheck` stays light.
    if name == "infer_schema":
        from datacheck.infer import infer_schema

        return infer_schema
    if name == "find_label_issues":
        from datacheck.labels.api import find_label_issues

        return find_label_issues
    if name in ("fit_stats", "Normalize", "NormStats"):
        import datacheck.normalize as normalize

        return getattr(normalize, name)
    raise AttributeError(f"module 'datacheck' has no attribute {name!r}")
