"""Schema language: what the data is expected to be."""

from datacheck.schema.io import bundled_names, json_schema, load_schema
from datacheck.schema.model import Feature, Label, Schema

__all__ = ["Feature", "Label", "Schema", "bundled_names", "json_schema", "load_schema"]
