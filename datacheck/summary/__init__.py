"""Mergeable summaries: what was seen. A batch, a file and a dataset are the same kind of object."""

from datacheck.summary.labels import LabelSummary, RunState
from datacheck.summary.moments import Moments
from datacheck.summary.tensor import TensorSummary

__all__ = ["LabelSummary", "Moments", "RunState", "TensorSummary"]
