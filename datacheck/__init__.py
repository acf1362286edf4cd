"""datacheck: prove the data going into a model is what the model expects.

>>> import datacheck as dc
>>> schema = dc.load_schema("cifar10")
>>> schema.features["image"].layout
'HWC'

Every public name is listed in ``__all__`` and loads on first use, so
``import datacheck`` stays light: it never imports TensorFlow, Keras, Dask,
pydantic or matplotlib until a function that needs them runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from datacheck.errors import (
    DatacheckError,
    DataError,
    DropLimitError,
    SchemaError,
    ValidationError,
)

if TYPE_CHECKING:
    from datacheck.api import check, validate
    from datacheck.backends.tf.errors import from_tf_error, translate_errors
    from datacheck.doctor import doctor
    from datacheck.infer import infer_schema
    from datacheck.labels.api import find_label_issues
    from datacheck.normalize import Normalize, NormStats, fit_stats
    from datacheck.readers.guards import Limits
    from datacheck.report import Report, Violation
    from datacheck.report.html import write_html
    from datacheck.rules.registry import RULES, Code
    from datacheck.schema import Feature, Label, Schema, load_schema
    from datacheck.testing.keras_callback import ValidationCallback

__version__ = "0.1.0"

#: Where each public name lives; ``datacheck.<name>`` imports it on first use.
_HOMES: dict[str, str] = {
    "check": "datacheck.api", "validate": "datacheck.api",
    "from_tf_error": "datacheck.backends.tf.errors",
    "translate_errors": "datacheck.backends.tf.errors",
    "doctor": "datacheck.doctor", "infer_schema": "datacheck.infer",
    "find_label_issues": "datacheck.labels.api",
    "fit_stats": "datacheck.normalize", "Normalize": "datacheck.normalize",
    "NormStats": "datacheck.normalize", "Limits": "datacheck.readers.guards",
    "Report": "datacheck.report", "Violation": "datacheck.report",
    "write_html": "datacheck.report.html", "RULES": "datacheck.rules.registry",
    "Code": "datacheck.rules.registry", "Feature": "datacheck.schema",
    "Label": "datacheck.schema", "Schema": "datacheck.schema",
    "load_schema": "datacheck.schema",
    "ValidationCallback": "datacheck.testing.keras_callback",
}

__all__ = [  # noqa: RUF022  (grouped: errors, data types, functions)
    "DataError", "DatacheckError", "DropLimitError", "SchemaError", "ValidationError",
    "Code", "Feature", "Label", "Limits", "NormStats", "Normalize", "RULES", "Report",
    "Schema", "ValidationCallback", "Violation", "__version__",
    "check", "doctor", "find_label_issues", "fit_stats", "from_tf_error", "infer_schema",
    "load_schema", "translate_errors", "validate", "write_html",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'datacheck' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    # Cached after the import: importing the subpackage datacheck.doctor set the attribute
    # ``doctor`` to the module, and the function must win.
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
