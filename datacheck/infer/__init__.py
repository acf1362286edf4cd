"""Schema inference: the schema a dataset satisfies, as a starting point a person edits."""

from datacheck.infer.schema import Inference, infer, infer_schema

__all__ = ["Inference", "infer", "infer_schema"]
